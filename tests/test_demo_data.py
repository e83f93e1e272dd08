"""The demo data of `make run`: a month of applications in every status, today's bookings in
every state, true slot counters, idempotent commands, never in production."""

from collections import Counter as Tally
from datetime import datetime, timedelta
from io import StringIO
from itertools import pairwise
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Q
from django.test import Client
from pytest_django.fixtures import SettingsWrapper

from appointments.models import Booking, Channel, PlaceHold, Slot
from bureau import selectors
from bureau.identity import normalize_id_number, residency_of
from bureau.models import Application, Office
from bureau.services import STATUS_FLOW

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Wednesday at 11:00: the morning's first slots are over, the afternoon's to come. The
# month before it holds the Labour Day holidays (1-5 May) and a make-up working Saturday (9 May).
NOW = datetime(2026, 5, 13, 11, 0, tzinfo=SHANGHAI)
TODAY = NOW.date()


def load(now: datetime) -> None:
    with mock.patch("django.utils.timezone.now", return_value=now):
        call_command("load_demo", stdout=StringIO())
        call_command("load_demo_bookings", stdout=StringIO())


@pytest.fixture
def demo(official_calendar: None) -> None:
    load(NOW)


def supervisor() -> User:
    return User.objects.get(username="demo-supervisor")


def bookings_on(day_start: datetime) -> "list[Booking]":
    return list(
        Booking.objects.filter(starts_at__gte=day_start, starts_at__lt=day_start + timedelta(days=1)).select_related(
            "office", "checked_in_by__staff"
        )
    )


def test_demo_applications_are_in_every_status(demo: None) -> None:
    assert set(Application.objects.values_list("status", flat=True)) == set(Application.Status.values)


def test_demo_applications_overdue_and_due_soon_show_for_the_supervisor(demo: None, client: Client) -> None:
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        overdue = list(selectors.applications_overdue(supervisor()))
        due_soon = list(selectors.applications_due_soon(supervisor()))
        client.force_login(supervisor())
        page = client.get("/dashboard/deadlines/").content.decode()
    assert overdue and due_soon
    assert {a.status for a in overdue + due_soon} <= set(Application.OPEN_STATUSES)
    assert all(a.due_on is not None and a.due_on < TODAY for a in overdue)
    assert all(a.due_on is not None and a.due_on >= TODAY for a in due_soon)
    assert overdue[0].reference in page
    assert due_soon[0].reference in page


def test_demo_applications_are_consistent(demo: None) -> None:
    calendar = selectors.work_calendar()
    rules = selectors.issuance_rules()
    applications = list(Application.objects.select_related("office").prefetch_related("events__by"))
    assert len(applications) >= 100
    for application in applications:
        assert application.reference.startswith("DEMO")
        assert TODAY - timedelta(days=30) <= application.accepted_on < TODAY
        assert normalize_id_number(application.id_number, today=TODAY) == application.id_number
        assert 2 <= len(application.applicant_name) <= 4
        if not application.residency_override_reason:
            assert application.residency == residency_of(application.id_number, home_province="33")
        rule = rules[selectors.rule_kind(residency=application.residency, expedited=application.expedited)]
        deadline = selectors.deadline_for(calendar=calendar, rule=rule, accepted_on=application.accepted_on)
        assert (application.due_on, application.provisional) == (deadline.due_on, deadline.provisional)
        events = list(application.events.all())
        assert events[0].status == Application.Status.ACCEPTED
        assert events[0].at.astimezone(SHANGHAI).date() == application.accepted_on
        for before, after in pairwise(events):
            assert after.status in STATUS_FLOW[before.status]
            assert before.at < after.at
        assert events[-1].status == application.status
        assert events[-1].at < NOW
        clerk_prefix = f"demo-clerk-{application.office.code.lower()}-"
        assert all(event.by.username.startswith(clerk_prefix) for event in events)
    mix = Tally((a.residency, a.expedited) for a in applications)
    assert mix[("in_province", False)] and mix[("out_of_province", False)]
    assert sum(n for (_, expedited), n in mix.items() if expedited)
    assert len({a.office_id for a in applications}) >= 5
    # Nothing is accepted on a public holiday (the Labour Day days of 2026).
    assert not [a for a in applications if a.accepted_on.month == 5 and 1 <= a.accepted_on.day <= 5]


def test_demo_bookings_today_at_each_dual_track_office(demo: None) -> None:
    rules_ = {"before": timedelta(minutes=30), "after": timedelta(minutes=15)}
    today = bookings_on(datetime(2026, 5, 13, tzinfo=SHANGHAI))
    for office in Office.objects.filter(mode=Office.Mode.DUAL_TRACK):
        mine = [b for b in today if b.office_id == office.pk]
        statuses = {b.status for b in mine}
        assert {Booking.Status.CHECKED_IN, Booking.Status.NO_SHOW, Booking.Status.BOOKED} <= statuses, office.code
        for booking in mine:
            assert booking.reference.startswith(f"DEMO{office.code}260513")
            if booking.status == Booking.Status.CHECKED_IN:
                assert booking.checked_in_at is not None and booking.checked_in_by is not None
                assert booking.starts_at - rules_["before"] <= booking.checked_in_at <= NOW
                assert booking.checked_in_at <= booking.starts_at + rules_["after"]
                assert booking.checked_in_by.username.startswith(f"demo-clerk-{office.code.lower()}-")
                assert list(booking.checked_in_by.staff.offices.all()) == [office]
            else:
                assert booking.checked_in_at is None and booking.checked_in_by is None
            if booking.status == Booking.Status.NO_SHOW:
                assert booking.starts_at + rules_["after"] < NOW
            if booking.status == Booking.Status.BOOKED:
                assert booking.starts_at + rules_["after"] >= NOW
            assert booking.created_at < booking.starts_at
    # Bookings on the coming days, made through the booking service.
    ahead = Booking.objects.filter(starts_at__gte=datetime(2026, 5, 14, tzinfo=SHANGHAI))
    assert ahead.filter(idempotency_key__startswith="demo-", status=Booking.Status.BOOKED).count() >= 9


def assert_counters_true() -> None:
    """Each channel's counter equals its bookings that hold a place plus its held places."""
    holding = ~Q(bookings__status=Booking.Status.CANCELLED)
    slots = Slot.objects.annotate(
        **{
            f"{c}_bookings": Count("bookings", filter=holding & Q(bookings__channel=c), distinct=True)
            for c in Channel.values
        }
    )
    holds = Tally(PlaceHold.objects.filter(released=False).values_list("slot_id", "channel"))
    wrong = [
        (slot.pk, channel)
        for slot in slots
        for channel in Channel.values
        if getattr(slot, f"{channel}_booked") != getattr(slot, f"{channel}_bookings") + holds[(slot.pk, channel)]
    ]
    assert wrong == []


def test_demo_slot_counters_equal_the_bookings(demo: None) -> None:
    assert Slot.objects.filter(general_booked__gt=0).count() > 100
    assert_counters_true()


def snapshot() -> dict[str, object]:
    counts: dict[str, object] = {model._meta.label: model._default_manager.count() for model in apps.get_models()}
    counts["applications"] = sorted(Application.objects.values_list("reference", "status", "due_on"))
    counts["bookings"] = sorted(Booking.objects.values_list("reference", "status", "checked_in_at", "changed_at"))
    counts["slots"] = sorted(Slot.objects.values_list("pk", *(f"{c}_booked" for c in Channel.values)))
    return counts


def test_demo_commands_twice_change_nothing(demo: None) -> None:
    before = snapshot()
    load(NOW)
    assert snapshot() == before
    load(NOW + timedelta(hours=3))  # later the same day: still nothing new
    assert snapshot() == before


def test_demo_commands_on_the_next_day_add_that_day_only(demo: None) -> None:
    applications = Application.objects.count()
    load(NOW + timedelta(days=1))
    # Only the day that became history is added; the month before is not repeated.
    assert Application.objects.filter(accepted_on__lt=TODAY).count() == applications
    assert Application.objects.filter(accepted_on=TODAY).exists()
    tomorrow = bookings_on(datetime(2026, 5, 14, tzinfo=SHANGHAI))
    assert {b.status for b in tomorrow if b.reference.startswith("DEMO")} >= {"checked_in", "no_show", "booked"}
    assert_counters_true()
    before = snapshot()
    load(NOW + timedelta(days=1))
    assert snapshot() == before


@pytest.mark.parametrize("hour_minute", [(0, 30), (23, 50)])
def test_demo_bookings_follow_the_time_of_day(official_calendar: None, hour_minute: tuple[int, int]) -> None:
    now = NOW.replace(hour=hour_minute[0], minute=hour_minute[1])
    load(now)
    today = [b for b in bookings_on(datetime(2026, 5, 13, tzinfo=SHANGHAI)) if b.status != Booking.Status.CANCELLED]
    assert today
    statuses = {b.status for b in today}
    if now.hour == 0:
        assert statuses == {Booking.Status.BOOKED}  # nobody has come yet
    else:
        assert statuses == {Booking.Status.CHECKED_IN, Booking.Status.NO_SHOW}  # every window has closed
    assert_counters_true()
    assert all(event_at < now for event_at in Application.objects.values_list("events__at", flat=True))


def test_demo_data_is_refused_in_production(settings: SettingsWrapper) -> None:
    settings.PRODUCTION = True
    for command in ("load_demo", "load_demo_bookings", "load_demo_priority"):
        with pytest.raises(CommandError, match="never loaded in production"):
            call_command(command, stdout=StringIO())
    assert not Office.objects.exists()
    assert not Application.objects.exists()
    assert not Booking.objects.exists()


def test_demo_priority_channels_show_every_step_and_load_once(
    demo: None, settings: SettingsWrapper, tmp_path: Path
) -> None:
    from priority.models import Case, Enterprise, StudentSession

    settings.EVIDENCE_ROOT = tmp_path / "evidence"
    for _ in range(2):
        with mock.patch("django.utils.timezone.now", return_value=NOW):
            call_command("load_demo_priority", stdout=StringIO())
    statuses = sorted(Case.objects.filter(kind="emergency").values_list("status", flat=True))
    assert statuses == ["approved", "awaiting_supervisor", "rejected", "submitted", "submitted"]
    assert Case.objects.filter(kind="enterprise", status="submitted").count() == 1
    assert sorted(Enterprise.objects.values_list("status", flat=True)) == ["approved", "pending"]
    session = StudentSession.objects.get()
    window = Slot.objects.filter(office__code="HZ", starts_at__date__gt=TODAY)
    assert window.exists() and not window.exclude(student_quota=session.places).exists()
    assert all(case.evidence.count() == len(case.required_evidence) for case in Case.objects.all())
