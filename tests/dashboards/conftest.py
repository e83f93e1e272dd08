"""The dashboards' fixed day, computed by hand (see `day`), shared by the API, the pages
and the roll-up."""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from appointments import services as bookings
from appointments.models import BookingPolicy
from bureau.models import Application, ApplicationEvent, Counter, Office, Residency, Service
from tests.factories import (
    ApplicationFactory,
    OfficeFactory,
    ServiceFactory,
    clerk,
    nine_to_ten,
    supervisor,
    walk_in_ticket,
)
from walkins import services as walkins

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 12, 2, tzinfo=SHANGHAI)  # a Wednesday
IDS = ["33010619900101123X", "11010519491231002X", "440300198511105416", "330102200002290015"]


def at(hour: int, minute: int = 0, days: int = 0) -> datetime:
    return DAY.replace(hour=hour, minute=minute) + timedelta(days=days)


@pytest.fixture
def office(db: None) -> Office:
    return OfficeFactory.create(code="XH")


@pytest.fixture
def passport(db: None) -> Service:
    return ServiceFactory.create(code="passport-first")


@pytest.fixture
def day(office: Office, passport: Service) -> None:
    """The day, by hand:
    tickets B001 09:00, B002 09:00, B003 09:05, B004 09:10, B005 09:20, B006 09:30; one
    counter calls B001 at 09:06 (wait 6), B002 at 09:16 (16; B001 served; B002 then not
    come), B003 at 09:20 (15; served at 09:25), B004 at 09:30 (20; parked at 09:31). So: 6
    issued, 2 served, 1 missed, 3 waiting (B004 parked, B005, B006); waits 6, 15, 16, 20:
    p50 15, p90 20, mean 57 / 4 = 14.25 (14.2 to one decimal), all 4 within the 30-minute
    target; served B001 in 10 minutes (09:06 to 09:16), B003 in 5: mean 7.5, p90 10. And a ticket of the next day, counted there only.
    Bookings (made the day before): 09:00 checked in; 09:00 no-show (the sweep at 09:20);
    09:30 booked; 09:30 cancelled: 3 booked, 1 checked in, 1 no-show."""
    desk = clerk(office, username="desk")
    window = Counter.objects.create(office=office, number=1)
    window.services.set([passport])
    nine_to_ten(office, passport)
    BookingPolicy.objects.get_or_create(pk=1, defaults={"hold_minutes": 0})
    bookings.slots_generate(today=at(0, days=-1).date())

    def book(number: str, hour: int, minute: int) -> Any:
        return bookings.booking_create(
            office=office,
            service=passport,
            start=at(hour, minute),
            name="王小晶",
            id_number=number,
            phone="13812345678",
            now=at(10, days=-1),
        )

    first, _missed, _later, cancelled = book(IDS[0], 9, 0), book(IDS[1], 9, 0), book(IDS[2], 9, 30), book(IDS[3], 9, 30)
    bookings.booking_check_in(code=first.reference, office=office, by=desk, now=at(8, 45))
    bookings.booking_cancel(booking=cancelled, now=at(8, 50))
    for hour, minute in ((9, 0), (9, 0), (9, 5), (9, 10), (9, 20), (9, 30)):
        walk_in_ticket(office=office, service=passport, channel="general", by=desk, now=at(hour, minute))
    walkins.counter_open(counter=window, by=desk, now=at(9, 1))
    walkins.ticket_call_next(counter=window, by=desk, now=at(9, 6))
    walkins.ticket_call_next(counter=window, by=desk, now=at(9, 16))
    walkins.ticket_no_show(counter=window, by=desk, now=at(9, 17))
    walkins.ticket_call_next(counter=window, by=desk, now=at(9, 20))
    walkins.ticket_complete(counter=window, by=desk, now=at(9, 25))
    bookings.no_shows_sweep(now=at(9, 20))
    walkins.ticket_call_next(counter=window, by=desk, now=at(9, 30))
    walkins.ticket_park(counter=window, by=desk, now=at(9, 31))
    walk_in_ticket(office=office, service=passport, channel="general", by=desk, now=at(9, 0, days=1))


@pytest.fixture
def applications(office: Office, passport: Service) -> None:
    """Applications around the day. Accepted that day: 2 passports here, 1 at another office. Due that day: one ready at
    17:00 that day (on time), one ready the next morning (late), one still open (late), an
    out-of-province one ready the day before (on time)."""
    by = supervisor(office, username="boss")
    ApplicationFactory.create_batch(2, office=office, service=passport, accepted_on=DAY.date())
    ApplicationFactory.create(office=OfficeFactory.create(code="GS"), service=passport, accepted_on=DAY.date())

    def due(ready_at: datetime | None, residency: str = Residency.IN_PROVINCE) -> None:
        application = ApplicationFactory.create(
            office=office,
            service=passport,
            accepted_on=DAY.date() - timedelta(days=9),
            due_on=DAY.date(),
            residency=residency,
        )
        if ready_at is not None:
            ApplicationEvent.objects.create(
                application=application, status=Application.Status.READY, at=ready_at, by=by
            )

    due(at(17))
    due(at(9, days=1))
    due(None)
    due(at(11, days=-1), Residency.OUT_OF_PROVINCE)
