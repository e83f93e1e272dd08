"""The dashboards' synthetic history (bureau.dashboards.history) and its demo command: the
same seed writes the same rows, every row is one the services could have written, the
selectors read it, volumes are those of the brief, and a second run writes nothing."""

from collections import Counter as Tally
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from io import StringIO
from itertools import pairwise
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Model, Q
from pytest_django.fixtures import SettingsWrapper

from appointments.models import Booking, BookingPolicy, Slot, SlotTemplate
from bureau import selectors as core
from bureau.dashboards import selectors
from bureau.dashboards.history import HistoryCounts, history_generate
from bureau.dashboards.models import DayFigures, RolledUpDay
from bureau.dashboards.services import day_roll_up
from bureau.identity import normalize_id_number
from bureau.management.commands.load_demo import OFFICES, demo_clerk_username, demo_kiosk_username
from bureau.models import Application, ApplicationEvent, Counter, Office, OpeningSession, StaffMember
from bureau.services import STATUS_FLOW
from tests.factories import OfficeFactory, ServiceFactory, clerk, staff
from walkins import rules
from walkins.models import CounterShift, Ticket, TicketEvent, TicketSequence
from walkins.selectors import calling_rule, queue_settings

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A week of March 2026 without holidays (Monday to Sunday), seen from a week later.
FIRST, LAST = date(2026, 3, 2), date(2026, 3, 8)
NOW = datetime(2026, 3, 16, 10, 0, tzinfo=SHANGHAI)
WEEKDAY, WEEKEND = OpeningSession.DayKind.WEEKDAY, OpeningSession.DayKind.WEEKEND


def sessions(office: Office, kind: str, *hours: tuple[time, time]) -> None:
    for opens, closes in hours:
        OpeningSession.objects.create(office=office, day_kind=kind, opens_at=opens, closes_at=closes)


@pytest.fixture
def world(official_calendar: None) -> list[Office]:
    """A dual-track hall (4 windows, the last the enterprise window; weekend sessions; slot
    templates) and a walk-in service point (2 windows, weekdays only), staffed by their demo
    clerks, as load_demo makes them."""
    passport = ServiceFactory.create(code="passport-first")
    permit = ServiceFactory.create(code="hkmo-first", document="hk_macao", weekend_service=False)
    BookingPolicy.objects.get_or_create(pk=1)
    hall = OfficeFactory.create(code="XH", mode=Office.Mode.DUAL_TRACK)
    point = OfficeFactory.create(code="FY", mode=Office.Mode.WALK_IN_ONLY)
    day = ((time(9), time(12)), (time(13, 30), time(17)))
    sessions(hall, WEEKDAY, *day)
    sessions(hall, WEEKEND, (time(9), time(12)))
    sessions(point, WEEKDAY, *day)
    for office, windows in ((hall, 4), (point, 2)):
        for number in range(1, windows + 1):
            counter = Counter.objects.create(
                office=office, number=number, enterprise_window=office == hall and number == windows
            )
            counter.services.set([passport, permit])
            clerk(office, username=demo_clerk_username(office.code, number))
        staff(StaffMember.Role.KIOSK, office, username=demo_kiosk_username(office.code))
    for kind, (starts, ends), served in (
        (WEEKDAY, day[0], [passport, permit]),
        (WEEKDAY, day[1], [passport, permit]),
        (WEEKEND, (time(9), time(12)), [passport]),
    ):
        template = SlotTemplate.objects.create(
            office=hall, day_kind=kind, starts_at=starts, ends_at=ends, slot_minutes=30, general_quota=3
        )
        template.services.set(served)
    return [hall, point]


def generate(
    offices: list[Office],
    *,
    first: date = FIRST,
    last: date = LAST,
    scale: float = 0.5,
    seed: int = 0,
    now: datetime = NOW,
) -> HistoryCounts:
    return history_generate(offices=offices, first=first, last=last, scale=scale, seed=seed, now=now)


# Four weeks of January 2026: applications made ready, collected and (some) late by NOW.
SEASON_FIRST, SEASON_LAST = date(2026, 1, 5), date(2026, 1, 30)


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    return {
        "tickets": list(
            Ticket.objects.order_by("office__code", "day", "number").values_list(
                "office__code",
                "day",
                "number",
                "service__code",
                "issued_at",
                "status",
                "counter__number",
                "called_at",
                "finished_at",
                "booking__reference",
                "base_key",
                "issued_by__username",
            )
        ),
        "events": list(
            TicketEvent.objects.order_by("ticket__office__code", "ticket__number", "at", "action").values_list(
                "ticket__office__code", "ticket__day", "ticket__number", "action", "at", "status", "by__username"
            )
        ),
        "applications": list(
            Application.objects.order_by("reference").values_list(
                "reference",
                "service__code",
                "applicant_name",
                "id_number",
                "residency",
                "due_on",
                "status",
                "tickets__number",
            )
        ),
        "application_events": list(
            ApplicationEvent.objects.order_by("application__reference", "at", "status").values_list(
                "application__reference", "status", "at", "by__username"
            )
        ),
        "bookings": list(
            Booking.objects.order_by("reference").values_list("reference", "status", "starts_at", "checked_in_at")
        ),
        "shifts": list(
            CounterShift.objects.order_by("opened_at", "counter__number").values_list(
                "counter__office__code", "counter__number", "clerk__username", "opened_at", "closed_at"
            )
        ),
    }


def forget_history() -> None:
    for model in (Ticket, Booking, Slot, Application, CounterShift, TicketSequence):
        model.objects.all().delete()


# --- the same seed, the same rows ---------------------------------------------------------------


def test_history_is_the_same_for_the_same_seed(world: list[Office]) -> None:
    counts = generate(world, seed=7)
    first = snapshot()
    forget_history()
    again = generate(world, seed=7)
    assert snapshot() == first
    assert vars(again) == vars(counts)
    forget_history()
    generate(world, seed=8)
    assert snapshot()["tickets"] != first["tickets"]


def test_history_twice_writes_nothing_the_second_time(world: list[Office]) -> None:
    counts = generate(world)
    assert counts.tickets > 0 and counts.applications > 0 and counts.bookings > 0
    tables = (Ticket, TicketEvent, Booking, Slot, Application, ApplicationEvent, CounterShift)
    before = {model.__name__: model.objects.count() for model in tables}
    again = generate(world)
    assert (again.office_days, again.tickets, again.bookings, again.applications, again.days) == (0, 0, 0, 0, [])
    assert {model.__name__: model.objects.count() for model in tables} == before


def test_history_is_for_past_days_only(world: list[Office]) -> None:
    with pytest.raises(ValueError, match="past days"):
        generate(world, first=NOW.date() - timedelta(days=2), last=NOW.date())


# --- every row is one the services could have written ------------------------------------------


def test_every_generated_row_passes_the_models_validation(world: list[Office]) -> None:
    generate(world, first=FIRST, last=FIRST + timedelta(days=1), scale=0.3)
    models: tuple[type[Model], ...] = (
        Ticket,
        TicketEvent,
        TicketSequence,
        CounterShift,
        Booking,
        Slot,
        Application,
        ApplicationEvent,
    )
    for model in models:
        rows = list(model._default_manager.all())
        assert rows, model.__name__
        for row in rows:
            row.full_clean()


def test_tickets_are_numbered_keyed_and_timed_as_the_services_do(world: list[Office]) -> None:
    generate(world)
    rules_of = {office.pk: calling_rule(queue_settings(office)) for office in world}
    numbers: dict[tuple[int, date, str], list[int]] = defaultdict(list)
    for ticket in Ticket.objects.all():
        assert ticket.base_key == rules.base_key(ticket.channel, ticket.issued_at, rules_of[ticket.office_id])
        assert ticket.issued_at.astimezone(SHANGHAI).date() == ticket.day
        numbers[ticket.office_id, ticket.day, ticket.number[0]].append(int(ticket.number[1:]))
        assert ticket.status in (Ticket.Status.COMPLETED, Ticket.Status.NO_SHOW, Ticket.Status.MISSED, "abandoned")
        if ticket.status == Ticket.Status.ABANDONED:
            assert ticket.counter_id is None and ticket.called_at is None
            continue
        assert ticket.counter is not None and ticket.counter.office_id == ticket.office_id
        assert ticket.called_at is not None and ticket.finished_at is not None
        assert ticket.issued_at < ticket.called_at < ticket.finished_at
        assert ticket.recalls == (queue_settings(ticket.office).recall_limit if ticket.status == "missed" else 0)
        if ticket.status == Ticket.Status.COMPLETED:
            assert 5 <= (ticket.finished_at - ticket.called_at).total_seconds() / 60 <= 20
    sequences = {(s.office_id, s.day, s.prefix): s.last for s in TicketSequence.objects.all()}
    assert sequences == {key: len(found) for key, found in numbers.items()}
    assert all(sorted(found) == list(range(1, len(found) + 1)) for found in numbers.values())


def test_a_counter_serves_one_ticket_at_a_time_within_its_shifts(world: list[Office]) -> None:
    generate(world)
    shifts: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for shift in CounterShift.objects.order_by("opened_at"):
        assert shift.closed_at is not None and shift.opened_at < shift.closed_at
        assert shift.clerk.username == demo_clerk_username(shift.counter.office.code, shift.counter.number)
        shifts[shift.counter_id].append((shift.opened_at, shift.closed_at))
    for mine in shifts.values():
        assert all(earlier[1] < later[0] for earlier, later in pairwise(mine))
    first_call = dict(TicketEvent.objects.filter(action="called").values_list("ticket_id", "at"))
    visits: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for ticket in Ticket.objects.exclude(counter=None):
        assert ticket.finished_at is not None and ticket.counter_id is not None
        start = first_call[ticket.pk]
        visits[ticket.counter_id].append((start, ticket.finished_at))
        assert any(opened <= start and ticket.finished_at <= closed for opened, closed in shifts[ticket.counter_id])
    for mine in visits.values():
        mine.sort()
        assert all(earlier[1] <= later[0] for earlier, later in pairwise(mine))


def test_ticket_events_tell_each_tickets_story(world: list[Office]) -> None:
    generate(world)
    stories: dict[int, list[str]] = defaultdict(list)
    for ticket_id, action in TicketEvent.objects.order_by("at", "id").values_list("ticket_id", "action"):
        stories[ticket_id].append(action)
    recalls = ["recalled"] * queue_settings(world[0]).recall_limit
    for ticket in Ticket.objects.annotate(linked=Count("applications")):
        expected = {
            Ticket.Status.COMPLETED: ["issued", "called", *["linked"] * ticket.linked, "completed"],
            Ticket.Status.MISSED: ["issued", "called", *recalls, "missed"],
            Ticket.Status.NO_SHOW: ["issued", "called", "no_show"],
            Ticket.Status.ABANDONED: ["issued", "abandoned"],
        }[Ticket.Status(ticket.status)]
        assert stories[ticket.pk] == expected
    assert {ticket.status for ticket in Ticket.objects.all()} >= {"completed", "missed", "no_show"}


def test_bookings_fill_their_slots_and_bring_appointment_tickets(world: list[Office]) -> None:
    generate(world)
    hall = world[0]
    for slot in Slot.objects.annotate(taken=Count("bookings", filter=~Q(bookings__status=Booking.Status.CANCELLED))):
        assert slot.general_booked == slot.taken <= slot.general_quota
    statuses = Tally(Booking.objects.values_list("status", flat=True))
    assert set(statuses) <= {"checked_in", "no_show", "late", "cancelled"}
    assert statuses["checked_in"] > statuses["no_show"] > 0
    for booking in Booking.objects.select_related("slot"):
        assert booking.office_id == hall.pk and booking.starts_at == booking.slot.starts_at
        normalize_id_number(booking.id_number, today=NOW.date())
        ticket = Ticket.objects.filter(booking=booking).first()
        if booking.status == Booking.Status.CHECKED_IN:
            assert ticket is not None and ticket.channel == "appointment"
            assert ticket.issued_at == booking.checked_in_at and ticket.due_at == booking.starts_at
            assert booking.starts_at - timedelta(minutes=30) <= ticket.issued_at <= booking.starts_at
        else:
            assert ticket is None
    assert not Ticket.objects.filter(office=world[1], channel="appointment").exists()


def test_applications_come_of_served_tickets_with_their_due_dates(world: list[Office]) -> None:
    generate(world, first=SEASON_FIRST, last=SEASON_LAST)
    calendar, rules_ = core.work_calendar(), core.issuance_rules()
    now = NOW
    for application in Application.objects.prefetch_related("tickets", "events"):
        tickets = list(application.tickets.all())
        assert len(tickets) == 1
        ticket = tickets[0]
        assert ticket.status == Ticket.Status.COMPLETED and ticket.office_id == application.office_id
        assert application.accepted_on == ticket.day
        kind = core.rule_kind(residency=application.residency, expedited=application.expedited)
        deadline = core.deadline_for(calendar=calendar, rule=rules_[kind], accepted_on=application.accepted_on)
        assert (application.due_on, application.provisional) == (deadline.due_on, deadline.provisional)
        normalize_id_number(application.id_number, today=NOW.date())
        events = list(application.events.all())
        assert events[0].status == Application.Status.ACCEPTED
        assert ticket.called_at is not None and ticket.finished_at is not None
        assert ticket.called_at < events[0].at < ticket.finished_at
        for before, after in pairwise(events):
            assert after.status in STATUS_FLOW[before.status] and before.at < after.at
        assert events[-1].status == application.status and events[-1].at < now


def test_about_one_in_fifteen_deadlines_is_missed(world: list[Office]) -> None:
    generate(world, first=SEASON_FIRST, last=SEASON_LAST)
    due_days = {day for day in Application.objects.values_list("due_on", flat=True) if day is not None}
    figures = selectors.deadlines_met(Office.objects.all(), due_days).values()
    due, on_time = sum(d for d, _ in figures), sum(o for _, o in figures)
    assert due > 400
    assert 0.03 <= 1 - on_time / due <= 0.10


def test_collected_documents_were_ready_and_collected_at_a_counter(world: list[Office]) -> None:
    generate(world, first=SEASON_FIRST, last=SEASON_LAST)
    collected = ApplicationEvent.objects.filter(status=Application.Status.COLLECTED).select_related("application")
    assert collected.count() > 10
    for event in collected:
        ready = ApplicationEvent.objects.get(application=event.application, status=Application.Status.READY)
        assert ready.at + timedelta(hours=1) <= event.at
        served = Ticket.objects.filter(
            office=event.application.office_id,
            status=Ticket.Status.COMPLETED,
            called_at__lt=event.at,
            finished_at__gt=event.at,
            counter__shifts__clerk=event.by,
        )
        assert served.exists()


# --- days, weekends and holidays ----------------------------------------------------------------


def test_holidays_have_no_history_and_weekends_only_where_the_office_opens(world: list[Office]) -> None:
    # Labour Day 2026: 1-5 May off, Saturday 9 May a make-up working day.
    counts = generate(
        world, first=date(2026, 4, 30), last=date(2026, 5, 10), scale=0.3, now=datetime(2026, 5, 20, tzinfo=SHANGHAI)
    )
    days = {office.code: set(Ticket.objects.filter(office=office).values_list("day", flat=True)) for office in world}
    holidays = {date(2026, 5, d) for d in range(1, 6)}
    assert not (days["XH"] | days["FY"]) & holidays
    assert date(2026, 5, 9) in days["FY"]  # a working day: the weekday sessions
    assert date(2026, 5, 10) in days["XH"] and date(2026, 5, 10) not in days["FY"]
    assert counts.days == sorted(days["XH"] | days["FY"])


# --- volumes ------------------------------------------------------------------------------------


def test_the_demo_offices_take_about_125_tickets_a_working_day_at_scale_one(official_calendar: None) -> None:
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        call_command("load_demo", stdout=StringIO())
    offices = list(Office.objects.filter(code__in=[code for code, *_ in OFFICES]))
    before = Application.objects.count()  # load_demo's own
    counts = history_generate(offices=offices, first=FIRST, last=LAST, scale=0.2, seed=1, now=NOW)
    weekdays = [FIRST + timedelta(days=n) for n in range(5)]
    on_weekdays = Ticket.objects.filter(day__in=weekdays).count()
    assert 100 <= on_weekdays / 0.2 / len(weekdays) / len(offices) <= 150
    assert 0.32 <= (Application.objects.count() - before) / counts.tickets <= 0.52  # 250,000 of 600,000
    weekend = set(Ticket.objects.filter(day__gt=weekdays[-1]).values_list("office__mode", flat=True))
    assert weekend == {Office.Mode.DUAL_TRACK}
    per_office = dict(Ticket.objects.values_list("office__code").annotate(n=Count("pk")))
    assert per_office["HZ"] > per_office["XS"] > per_office["FY"]
    assert counts.tickets == Ticket.objects.count()


# --- the dashboards read it ---------------------------------------------------------------------


def test_the_selectors_and_the_roll_up_read_a_generated_day(world: list[Office]) -> None:
    generate(world)
    day = FIRST + timedelta(days=1)
    hall = world[0]
    stats = selectors.days_stats(Office.objects.all(), day)[hall.pk]
    tickets = Ticket.objects.filter(office=hall, day=day)
    assert stats.tickets_issued == tickets.count() > 0
    assert stats.tickets_served == tickets.filter(status=Ticket.Status.COMPLETED).count() > 0
    assert stats.appointment_tickets == tickets.filter(channel="appointment").count() > 0
    assert stats.wait_minutes_p90 is not None and stats.service_minutes_p90 is not None
    assert (
        stats.appointments_booked
        == stats.appointments_checked_in
        + stats.appointments_no_show
        + Booking.objects.filter(office=hall, status=Booking.Status.LATE, starts_at__date=day).count()
    )
    hours = selectors.hours_stats(Office.objects.all(), day)
    arrivals = {
        hour: figures.arrivals
        for (office, hour, counter), figures in hours.items()
        if office == hall.pk and counter is None
    }
    assert sum(arrivals.values()) == stats.tickets_issued
    assert max(arrivals, key=lambda hour: arrivals[hour]) in (8, 9, 10)  # the morning peak
    day_roll_up(day=day, now=NOW)
    figures = DayFigures.objects.get(office=hall, day=day)
    assert (figures.tickets_issued, figures.waits) == (stats.tickets_issued, len(stats.wait_list))


# --- the demo command ---------------------------------------------------------------------------


def test_the_demo_command_loads_rolls_up_and_loads_once(official_calendar: None) -> None:
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        call_command("load_demo", stdout=StringIO())
        call_command("load_demo_bookings", stdout=StringIO())
        out = StringIO()
        call_command("load_demo_history", "--days", "4", "--scale", "0.05", stdout=out)
        assert "Demo history added" in out.getvalue()
        days = {NOW.date() - timedelta(days=n) for n in range(1, 5)}
        assert set(Ticket.objects.values_list("day", flat=True)) <= days
        tickets = Ticket.objects.count()
        assert tickets > 0
        rolled = set(RolledUpDay.objects.values_list("day", flat=True))
        assert set(Ticket.objects.values_list("day", flat=True)) <= rolled
        assert DayFigures.objects.filter(day__in=days).aggregate(n=Count("pk"))["n"] > 0
        out = StringIO()
        call_command("load_demo_history", "--days", "4", "--scale", "0.05", stdout=out)
        assert "already loaded" in out.getvalue()
        assert Ticket.objects.count() == tickets


def test_the_demo_command_is_refused_in_production(settings: SettingsWrapper) -> None:
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="never loaded in production"):
        call_command("load_demo_history", stdout=StringIO())
    assert not Ticket.objects.exists()
