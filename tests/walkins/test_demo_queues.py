"""The demo queues of `make run`: today's hall at every office, played through the real
walk-in services, whatever the time of day the command runs at; idempotent; never in
production."""

from collections import defaultdict
from datetime import datetime, time, timedelta
from io import StringIO
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Q
from pytest_django.fixtures import SettingsWrapper

from appointments.models import Booking
from bureau.models import Office, StaffMember
from walkins import rules, selectors, services
from walkins.models import PREFIXES, CounterShift, Ticket, TicketEvent, TicketSequence

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Wednesday: the offices open 09:00-12:00 and 13:30-17:00.
NOW = datetime(2026, 5, 13, 10, 0, tzinfo=SHANGHAI)


def load(now: datetime) -> str:
    out = StringIO()
    with mock.patch("django.utils.timezone.now", return_value=now):
        call_command("load_demo", stdout=StringIO())
        call_command("load_demo_bookings", stdout=StringIO())
        call_command("load_demo_queues", stdout=out)
    return out.getvalue()


def tickets_of(day: datetime) -> list[Ticket]:
    return list(Ticket.objects.filter(day=day.date()).select_related("office", "counter"))


def assert_nothing_after(now: datetime) -> None:
    late = Q(issued_at__gt=now) | Q(called_at__gt=now) | Q(finished_at__gt=now)
    assert not Ticket.objects.filter(late).exists()
    assert not TicketEvent.objects.filter(at__gt=now).exists()
    assert not CounterShift.objects.filter(Q(opened_at__gt=now) | Q(closed_at__gt=now)).exists()


def assert_the_rule_calls_next(now: datetime) -> None:
    """At every open demo counter, call-next takes the ticket the pure rule names."""
    for shift in CounterShift.objects.filter(closed_at__isnull=True).select_related("counter__office", "clerk"):
        counter = shift.counter
        rule = selectors.calling_rule(selectors.queue_settings(counter.office))
        waiting = [
            selectors.as_waiting(t)
            for t in Ticket.objects.filter(office=counter.office, day=now.date(), status=Ticket.Status.WAITING)
        ]
        expected = rules.next_ticket(
            waiting,
            now,
            rule,
            services=set(counter.services.values_list("pk", flat=True)),
            enterprise_window=counter.enterprise_window,
        )
        called = services.ticket_call_next(counter=counter, by=shift.clerk, now=now)
        assert expected is not None and called is not None, counter
        assert called.pk == expected.id, counter


@pytest.mark.parametrize("at", [time(0, 30), time(10, 0), time(23, 50)])
def test_demo_hall_is_alive_at_every_office_whatever_the_hour(official_calendar: None, at: time) -> None:
    now = datetime.combine(NOW.date(), at, tzinfo=SHANGHAI)
    load(now)
    midnight = datetime.combine(now.date(), time.min, tzinfo=SHANGHAI)
    today = tickets_of(now)
    by_office: dict[str, list[Ticket]] = defaultdict(list)
    for ticket in today:
        by_office[ticket.office.code].append(ticket)
    offices = list(Office.objects.order_by("position"))
    assert len(offices) == 16 and set(by_office) == {office.code for office in offices}
    for office in offices:
        mine = by_office[office.code]
        queues = {t.number[0] for t in mine if t.status == Ticket.Status.WAITING}
        assert len(queues) >= 2, (office.code, queues)
        shifts = list(CounterShift.objects.filter(counter__office=office, closed_at__isnull=True))
        serving = [s for s in shifts if selectors.current_ticket(s.counter) is not None]
        assert len(shifts) >= 2 and serving and len(serving) < len(shifts), office.code  # some serve, one idles
        for shift in shifts:
            assert shift.clerk.username == f"demo-clerk-{office.code.lower()}-{shift.counter.number}"
        assert all(midnight <= t.issued_at <= now for t in mine)
        # Numbers and keys are the services' own: one sequence per queue, counted up to the last.
        last = dict(TicketSequence.objects.filter(office=office, day=now.date()).values_list("prefix", "last"))
        numbers: dict[str, int] = defaultdict(int)
        for t in mine:
            numbers[t.number[0]] += 1
        assert last == numbers
        rule = selectors.calling_rule(selectors.queue_settings(office))
        assert all(t.base_key == pytest.approx(rules.base_key(t.channel, t.issued_at, rule)) for t in mine)
    assert_nothing_after(now)
    # Every booking checked in today holds its appointment ticket, issued at its check-in.
    checked_in = Booking.objects.filter(status=Booking.Status.CHECKED_IN, checked_in_at__gte=midnight)
    for booking in checked_in.select_related("ticket"):
        ticket = booking.ticket
        assert ticket.number.startswith(PREFIXES["appointment"])
        assert (ticket.issued_at, ticket.due_at, ticket.office_id) == (
            booking.checked_in_at,
            booking.starts_at,
            booking.office_id,
        )
    assert Ticket.objects.filter(channel="appointment").count() == checked_in.count()
    if at.hour:  # the day has run a while: tickets served lately, with their times, some missed
        assert checked_in.exists()
        assert {Ticket.Status.COMPLETED, Ticket.Status.NO_SHOW, Ticket.Status.MISSED} <= {t.status for t in today}
        for office in offices:
            served = [(t.called_at, t.finished_at) for t in by_office[office.code] if t.status == "completed"]
            assert all(called and done and called < done for called, done in served)
            assert len([done for _, done in served if done and done >= now - timedelta(hours=2)]) >= 5, office.code
    if at == time(10):
        assert_a_busy_morning(now, by_office)
    assert_the_rule_calls_next(now)
    assert_the_rule_calls_next(now + timedelta(minutes=7))


def assert_a_busy_morning(now: datetime, by_office: dict[str, list[Ticket]]) -> None:
    """In opening hours: dozens wait at the municipal hall, fewer at small ones, some past the
    longest wait; booked applicants checked in just now wait with their appointment tickets;
    most general walk-ins took their ticket at the office's kiosk."""
    waiting = {code: [t for t in mine if t.status == Ticket.Status.WAITING] for code, mine in by_office.items()}
    assert len(waiting["HZ"]) >= 30 and 5 <= len(waiting["WL"]) < len(waiting["HZ"])
    longest = timedelta(minutes=selectors.queue_settings(Office.objects.get(code="HZ")).max_wait_minutes)
    overdue = {code for code, mine in waiting.items() if any(now - t.issued_at >= longest for t in mine)}
    assert len(overdue) >= 8
    dual_track = Office.objects.filter(mode=Office.Mode.DUAL_TRACK).values_list("code", flat=True)
    assert all(any(t.channel == "appointment" for t in waiting[code]) for code in dual_track)
    for office in Office.objects.all():
        kiosk = User.objects.get(username=f"demo-kiosk-{office.code.lower()}")
        assert kiosk.staff.role == StaffMember.Role.KIOSK
        assert list(kiosk.staff.offices.all()) == [office]
    from_kiosks = Ticket.objects.filter(day=now.date(), issued_by__username__startswith="demo-kiosk-")
    assert from_kiosks.count() >= 50
    opens = datetime.combine(now.date(), time(9), tzinfo=SHANGHAI)
    assert all(t.issued_at >= opens and t.channel == "general" for t in from_kiosks)


def snapshot() -> dict[str, object]:
    return {
        "tickets": sorted(
            Ticket.objects.values_list("pk", "number", "status", "issued_at", "called_at", "finished_at", "counter")
        ),
        "events": TicketEvent.objects.count(),
        "shifts": sorted(CounterShift.objects.values_list("pk", "opened_at", "closed_at")),
        "sequences": sorted(TicketSequence.objects.values_list("office", "day", "prefix", "last")),
        "bookings": sorted(Booking.objects.values_list("reference", "status", "checked_in_at")),
    }


def test_demo_queues_twice_change_nothing_and_a_later_day_adds_its_own(official_calendar: None) -> None:
    load(NOW)
    before = snapshot()
    for later in (NOW, NOW + timedelta(hours=3)):  # again, and later the same day: the hall is there
        out = StringIO()
        with mock.patch("django.utils.timezone.now", return_value=later):
            call_command("load_demo_queues", stdout=out)
        assert "Demo tickets added today: 0 " in out.getvalue()
        assert snapshot() == before
    tomorrow = datetime(2026, 5, 14, 0, 30, tzinfo=SHANGHAI)
    load(tomorrow)
    # Yesterday's queues were closed as the end-of-day job closes them, then today's made.
    assert not Ticket.objects.filter(
        day=NOW.date(), status__in=(Ticket.Status.WAITING, Ticket.Status.CALLED, Ticket.Status.PARKED)
    ).exists()
    assert not CounterShift.objects.filter(closed_at__isnull=True, opened_at__lt=tomorrow - timedelta(hours=1)).exists()
    assert Ticket.objects.filter(day=NOW.date()).count() == len(before["tickets"])  # type: ignore[arg-type]
    assert {t.office.code for t in tickets_of(tomorrow) if t.status == Ticket.Status.WAITING} == set(
        Office.objects.values_list("code", flat=True)
    )
    assert_nothing_after(tomorrow)
    again = snapshot()
    load(tomorrow)
    assert snapshot() == again


def test_demo_queues_are_refused_in_production(settings: SettingsWrapper) -> None:
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="never loaded in production"):
        call_command("load_demo_queues", stdout=StringIO())
    assert not Ticket.objects.exists()
    assert not CounterShift.objects.exists()
