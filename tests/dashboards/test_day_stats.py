"""`GET offices/{code}/day-stats/` (SPEC 9): the figures of a fixed day, computed by hand;
who may read them; bad dates; a constant number of queries however busy the day."""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from appointments import services as bookings
from appointments.models import BookingPolicy
from bureau.dashboards import selectors
from bureau.models import Counter, Office, Service
from tests.factories import OfficeFactory, ServiceFactory, clerk, nine_to_ten, staff, supervisor, walk_in_ticket
from walkins import services as walkins

pytestmark = pytest.mark.django_db

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
    p50 15, p90 20. And a ticket of the next day, counted there only.
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


EXPECTED = {
    "date": "2026-12-02",
    "tickets_issued": 6,
    "tickets_served": 2,
    "tickets_missed": 1,
    "waiting_now": 3,
    "appointments_booked": 3,
    "appointments_checked_in": 1,
    "appointments_no_show": 1,
    "wait_minutes_p50": 15.0,
    "wait_minutes_p90": 20.0,
}


def api(user: Any) -> Client:
    return Client(headers={"authorization": f"Token {Token.objects.get_or_create(user=user)[0].key}"})


def test_the_figures_of_a_day_are_those_computed_by_hand(office: Office, day: None) -> None:
    answer = api(clerk(office, username="reader")).get("/api/v1/offices/XH/day-stats/", {"date": "2026-12-02"})
    assert answer.status_code == 200, answer.json()
    assert answer.json() == EXPECTED
    next_day = api(clerk(office, username="reader-2")).get("/api/v1/offices/XH/day-stats/", {"date": "2026-12-03"})
    assert {k: next_day.json()[k] for k in ("tickets_issued", "waiting_now", "wait_minutes_p50")} == {
        "tickets_issued": 1,
        "waiting_now": 1,
        "wait_minutes_p50": None,
    }


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [([], 0.5, None), ([7.0], 0.9, 7.0), ([6, 15, 16, 20], 0.5, 15), ([6, 15, 16, 20], 0.9, 20), ([3, 1, 2], 0.5, 2)],
)
def test_percentiles_take_the_nearest_rank(values: list[float], share: float, expected: float | None) -> None:
    assert selectors.nearest_rank(values, share) == expected


def test_the_figures_cost_the_same_queries_however_busy_the_day(office: Office, passport: Service) -> None:
    desk = clerk(office, username="desk")
    Counter.objects.create(office=office, number=1).services.set([passport])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            selectors.day_stats(office, DAY.date())
        return len(captured.captured_queries)

    walk_in_ticket(office=office, service=passport, channel="general", by=desk, now=at(9))
    one = queries()
    for _ in range(3):
        walk_in_ticket(office=office, service=passport, channel="general", by=desk, now=at(9))
    assert one == queries() == 3


def test_only_the_office_s_staff_and_supervisors_read_its_figures(office: Office) -> None:
    other = OfficeFactory.create(code="GS")
    url = "/api/v1/offices/XH/day-stats/"
    assert api(clerk(office, username="own")).get(url).status_code == 200
    assert api(supervisor(office, username="boss")).get(url).status_code == 200
    assert api(clerk(other, username="other")).get(url).status_code == 403
    assert api(supervisor(other, username="other-boss")).get(url).status_code == 403
    assert api(staff("kiosk", office, username="kiosk-xh")).get(url).status_code == 403
    assert Client().get(url).status_code == 401
    assert api(clerk(office, username="own-2")).get("/api/v1/offices/NOPE/day-stats/").status_code == 404


@pytest.mark.parametrize("value", ["2026-13-01", "9999-12-31", "0001-01-01", "tomorrow", "2026-12-01T00:00"])
def test_a_bad_date_is_400_naming_it(office: Office, value: str) -> None:
    answer = api(clerk(office, username="own")).get(
        "/api/v1/offices/XH/day-stats/", {"date": value}, headers={"accept-language": "en"}
    )
    assert answer.status_code == 400
    assert list(answer.json()["fields"]) == ["date"]
