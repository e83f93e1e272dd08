"""Slots follow the calendar when it changes after they were made (SPEC 3): through the
calendar service, so every writer (the admin, the shell, the package seed) gets it."""

import threading
from datetime import date, datetime, time, timedelta
from unittest import mock

import pytest
from django.db import connection

from appointments import selectors, services
from appointments.models import Booking, BookingPolicy, Slot, SlotTemplate
from appointments.services import SlotFull
from bureau import services as core_services
from bureau.models import CalendarDay, CalendarYear, OutboxMessage
from bureau.services import DomainError
from tests.appointments.conftest import NOW, SHANGHAI, at
from tests.appointments.test_concurrency import id_number

WEDNESDAY = date(2026, 12, 2)
SATURDAY = date(2026, 12, 12)


@pytest.fixture(autouse=True)
def now_is_tuesday_1_december():
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield


@pytest.fixture
def weekend_template(office, service, template) -> SlotTemplate:
    """Weekends 09:00-10:00, 2 general places a slot (the weekday template has 3)."""
    weekend = SlotTemplate.objects.create(
        office=office, day_kind="weekend", starts_at=time(9), ends_at=time(10), general_quota=2, emergency_quota=0
    )
    weekend.services.set([service])
    return weekend


def book(office, service, start: datetime, n: int = 0) -> Booking:
    return services.booking_create(
        office=office, service=service, start=start, name="王小晶", id_number=id_number(n), phone="13812345678"
    )


def slots_on(day: date) -> list[Slot]:
    start = datetime.combine(day, time.min, tzinfo=SHANGHAI)
    return list(Slot.objects.filter(starts_at__gte=start, starts_at__lt=start + timedelta(days=1)).order_by("pk"))


def holiday(day: date, name: str = "测试假日") -> CalendarDay:
    return CalendarDay(year_id=day.year, date=day, kind=CalendarDay.Kind.HOLIDAY, name=name)


def open_times(office, service, day: date) -> list[str]:
    return [s.start for s in selectors.availability(office_code=office.code, service_code=service.code, day=day)]


@pytest.mark.django_db
def test_a_day_that_becomes_a_holiday_closes_and_its_applicants_are_told(
    office, service, slots, django_capture_on_commit_callbacks
) -> None:
    booked = book(office, service, at(2, 9))
    assert open_times(office, service, WEDNESDAY)  # cached as open
    with django_capture_on_commit_callbacks(execute=True):
        run = core_services.calendar_update(reason="test", days=[holiday(WEDNESDAY)])
    booked.refresh_from_db()
    assert booked.status == Booking.Status.OFFICE_CLOSED
    kept = slots_on(WEDNESDAY)
    assert [(s.starts_at, s.closed, s.general_booked) for s in kept] == [(at(2, 9), True, 0)]  # the 09:30 went
    assert open_times(office, service, WEDNESDAY) == []  # the cached day was dropped at once
    message = OutboxMessage.objects.get(kind=OutboxMessage.Kind.CLOSURE)
    assert (message.reference, message.phone) == (booked.reference, "13812345678")
    assert f"/book/{office.code}/?service={service.pk}" in message.text
    assert run is not None  # deadlines are recomputed too
    with pytest.raises(DomainError) as refused:
        book(office, service, at(2, 9), n=1)
    assert refused.value.code == "no_such_slot"


@pytest.mark.django_db
def test_entering_2027_closes_1_january_that_had_opened_by_weekday(
    office, service, template, official_calendar
) -> None:
    """The installed calendar ends with 2026: from 18 December the window reaches 1 January
    2027, which opens as an ordinary Friday until the year is entered."""
    december_18 = datetime(2026, 12, 18, 10, tzinfo=SHANGHAI)
    with mock.patch("django.utils.timezone.now", return_value=december_18):
        BookingPolicy.objects.get_or_create(pk=1)
        services.slots_generate()
        new_year = datetime(2027, 1, 1, 9, tzinfo=SHANGHAI)
        assert [s.starts_at for s in slots_on(date(2027, 1, 1))] == [new_year, new_year + timedelta(minutes=30)]
        early = book(office, service, new_year)
        core_services.calendar_update(
            reason="2027 entered",
            years=[CalendarYear(year=2027)],
            days=[holiday(date(2027, 1, 1), "元旦"), holiday(date(2027, 1, 4), "元旦")],
        )
        early.refresh_from_db()
        assert early.status == Booking.Status.OFFICE_CLOSED
        assert [s.closed for s in slots_on(date(2027, 1, 1))] == [True]
        with pytest.raises(DomainError):
            book(office, service, new_year, n=1)
        # When 4 January comes into the window, it gets no slots.
        with mock.patch("django.utils.timezone.now", return_value=december_18 + timedelta(days=4)):
            services.slots_generate()
        assert slots_on(date(2027, 1, 4)) == []
        assert len(slots_on(date(2027, 1, 5))) == 2
    assert CalendarYear.objects.get(year=2027).source == CalendarYear.Source.SUPERVISOR


@pytest.mark.django_db
def test_a_make_up_saturday_gets_the_weekday_slots_instead_of_the_weekend_ones(
    office, service, template, weekend_template, slots, django_capture_on_commit_callbacks
) -> None:
    weekend_times = [s.starts_at for s in slots_on(SATURDAY)]
    assert {s.template_id for s in slots_on(SATURDAY)} == {weekend_template.pk}
    kept = book(office, service, at(12, 9))
    with django_capture_on_commit_callbacks(execute=True):
        core_services.calendar_update(
            reason="make-up day",
            days=[CalendarDay(year_id=2026, date=SATURDAY, kind=CalendarDay.Kind.WORKDAY, name="调休")],
        )
    kept.refresh_from_db()
    assert kept.status == Booking.Status.BOOKED  # booked weekend slots are kept, with their bookings
    by_template = {(s.template_id, s.starts_at): s.closed for s in slots_on(SATURDAY)}
    assert by_template == {
        (weekend_template.pk, weekend_times[0]): True,  # booked: kept, closed to new bookings
        (template.pk, at(12, 9)): False,
        (template.pk, at(12, 9, 30)): False,
    }
    # Never both: what is offered is the weekday slots, with their places.
    rows = selectors.availability(office_code=office.code, service_code=service.code, day=SATURDAY)
    assert [(r.start, r.remaining) for r in rows] == [
        ("2026-12-12T09:00:00+08:00", 3),
        ("2026-12-12T09:30:00+08:00", 3),
    ]


@pytest.mark.django_db
def test_a_holiday_taken_back_opens_the_day_again_with_true_counts(office, service, slots) -> None:
    booked = book(office, service, at(2, 9))
    core_services.calendar_update(reason="holiday", days=[holiday(WEDNESDAY)])
    booked.refresh_from_db()
    assert booked.status == Booking.Status.OFFICE_CLOSED
    day = CalendarDay.objects.get(date=WEDNESDAY)
    core_services.calendar_update(reason="taken back", deleted_days=[day])
    assert [(s.starts_at, s.closed, s.general_booked) for s in slots_on(WEDNESDAY)] == [
        (at(2, 9), False, 0),  # reopened: the cancelled booking's place came back
        (at(2, 9, 30), False, 0),
    ]
    assert book(office, service, at(2, 9), n=1).status == Booking.Status.BOOKED


@pytest.mark.django_db
def test_moving_a_holiday_to_another_date_opens_the_old_and_closes_the_new(office, service, slots) -> None:
    core_services.calendar_update(reason="holiday", days=[holiday(WEDNESDAY)])
    day = CalendarDay.objects.get(date=WEDNESDAY)
    day.date = date(2026, 12, 3)
    core_services.calendar_update(reason="moved", days=[day])
    assert [s.closed for s in slots_on(WEDNESDAY)] == [False, False]
    assert slots_on(date(2026, 12, 3)) == []


@pytest.mark.django_db
def test_past_and_today_s_slots_do_not_change(office, service, slots) -> None:
    Slot.objects.filter(starts_at=at(2, 9)).update(starts_at=at(1, 15))  # a slot today
    core_services.calendar_update(reason="today", days=[holiday(date(2026, 12, 1))])
    assert [s.closed for s in slots_on(date(2026, 12, 1))] == [False]


@pytest.mark.django_db
def test_the_package_seed_is_a_calendar_writer_too(office, service, template) -> None:
    """Days the seed adds are followed like any other change (here: no calendar at all,
    so 1 January 2026, a holiday, opened as a Thursday)."""
    with mock.patch("django.utils.timezone.now", return_value=datetime(2025, 12, 25, 10, tzinfo=SHANGHAI)):
        BookingPolicy.objects.get_or_create(pk=1)
        services.slots_generate()
        assert len(slots_on(date(2026, 1, 1))) == 2
        core_services.calendar_seed_from_package()
    assert slots_on(date(2026, 1, 1)) == []


def race_once(office, service, day: date, n: int) -> list[str]:
    """A calendar change making `day` a holiday and a booking on it, started together."""
    start = datetime.combine(day, time(9), tzinfo=SHANGHAI)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def change() -> None:
        barrier.wait()
        try:
            with mock.patch("django.utils.timezone.now", return_value=NOW):
                core_services.calendar_update(reason="race", days=[holiday(day)])
            outcomes.append("closed")
        finally:
            connection.close()

    def booking() -> None:
        barrier.wait()
        try:
            with mock.patch("django.utils.timezone.now", return_value=NOW):
                book(office, service, start, n=n)
            outcomes.append("booked")
        except (DomainError, SlotFull) as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=change), threading.Thread(target=booking)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_booking_racing_the_change_is_either_refused_or_cancelled(office, service, slots) -> None:
    """Whichever commits first, no active booking is left on the new holiday."""
    weekdays = [WEDNESDAY, date(2026, 12, 3), date(2026, 12, 4), date(2026, 12, 7), date(2026, 12, 8)]
    for n, day in enumerate(weekdays):
        outcomes = race_once(office, service, day, n)
        assert "closed" in outcomes
        on_day = Booking.objects.filter(starts_at=datetime.combine(day, time(9), tzinfo=SHANGHAI))
        assert not on_day.filter(status=Booking.Status.BOOKED).exists(), outcomes
        if "booked" in outcomes:
            assert on_day.get().status == Booking.Status.OFFICE_CLOSED
            assert OutboxMessage.objects.filter(kind=OutboxMessage.Kind.CLOSURE, reference=on_day.get().reference)
        assert all(not s.general_booked for s in slots_on(day))
