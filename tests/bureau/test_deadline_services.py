"""Accepting applications, computing and recomputing their deadlines."""

from datetime import date
from unittest import mock

import pytest
from django.utils import timezone

from bureau import services
from bureau.models import Application, ApplicationEvent, CalendarDay, CalendarYear, DeadlineRecompute, IssuanceRule
from bureau.services import DomainError, NotAllowed
from tests.factories import ApplicationFactory, OfficeFactory, ServiceFactory, clerk

pytestmark = pytest.mark.django_db


def _accept(office, user, **overrides):
    fields = {
        "office": office,
        "service": ServiceFactory.create(),
        "applicant_name": "王小晶",
        "id_number": "33010619900101123x",
        "expedited": False,
        "by": user,
    }
    return services.application_accept(**{**fields, **overrides})


@pytest.fixture
def accepted_on_sept_30():
    with mock.patch("bureau.selectors.office_today", return_value=date(2026, 9, 30)):
        yield


@pytest.mark.usefixtures("official_calendar", "accepted_on_sept_30")
@pytest.mark.parametrize(
    ("id_number", "expedited", "due_on", "residency"),
    [
        ("33010619900101123X", False, date(2026, 10, 15), "in_province"),  # 7 working days
        ("11010519491231002X", False, date(2026, 10, 20), "out_of_province"),  # 20 calendar days
        ("11010519491231002X", True, date(2026, 10, 13), "out_of_province"),  # expedited: 5 working days
    ],
)
def test_application_accept_computes_due_date_after_commit(
    django_capture_on_commit_callbacks, id_number, expedited, due_on, residency
):
    office = OfficeFactory.create()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        application = _accept(office, clerk(office), id_number=id_number, expedited=expedited)
        assert Application.objects.get().due_on is None  # nothing sent before commit
    application.refresh_from_db()
    assert len(callbacks) == 1
    assert (application.due_on, application.provisional, application.residency) == (due_on, False, residency)
    assert application.id_number == id_number.upper()
    assert list(ApplicationEvent.objects.values_list("status", flat=True)) == ["accepted"]


@pytest.mark.usefixtures("official_calendar")
def test_application_accept_on_a_holiday_counts_from_the_next_working_day(django_capture_on_commit_callbacks):
    office = OfficeFactory.create()
    with (
        mock.patch("bureau.selectors.office_today", return_value=date(2026, 10, 3)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        application = _accept(office, clerk(office))
    application.refresh_from_db()
    assert application.due_on == date(2026, 10, 15)


@pytest.mark.usefixtures("official_calendar")
def test_application_accept_records_residency_override_with_reason(django_capture_on_commit_callbacks):
    office = OfficeFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        application = _accept(
            office,
            clerk(office),
            id_number="11010519491231002X",
            residency_override="in_province",
            override_reason="户籍已迁入浙江",
        )
    assert (application.residency, application.residency_override_reason) == ("in_province", "户籍已迁入浙江")


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"id_number": "330106199001011234"}, "id_number", "id_number_checksum"),
        ({"id_number": "330106900101123"}, "id_number", "id_number_legacy"),
        ({"applicant_name": "   "}, "applicant_name", "invalid"),
        ({"id_number": "11010519491231002X", "residency_override": "in_province"}, "override_reason", "invalid"),
        ({"residency_override": "mars"}, "residency_override", "invalid"),
    ],
)
def test_application_accept_refuses_bad_input_and_writes_nothing(overrides, field, code):
    office = OfficeFactory.create()
    with pytest.raises(DomainError) as caught:
        _accept(office, clerk(office), **overrides)
    assert (caught.value.field, caught.value.code) == (field, code)
    assert Application.objects.count() == 0
    assert ApplicationEvent.objects.count() == 0


def test_application_accept_by_clerk_of_another_office_is_not_allowed() -> None:
    office, other = OfficeFactory.create(), OfficeFactory.create()
    with pytest.raises(NotAllowed):
        _accept(office, clerk(other))
    assert Application.objects.count() == 0


@pytest.mark.usefixtures("official_calendar")
def test_deadline_into_a_missing_year_is_provisional_until_the_year_is_added(django_capture_on_commit_callbacks):
    office = OfficeFactory.create()
    with (
        mock.patch("bureau.selectors.office_today", return_value=date(2026, 12, 28)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        application = _accept(office, clerk(office))
    application.refresh_from_db()
    assert (application.due_on, application.provisional) == (date(2027, 1, 6), True)

    # The State Council publishes 2027: Jan 1 (Friday) is a holiday.
    with django_capture_on_commit_callbacks(execute=True):
        year = CalendarYear.objects.create(year=2027)
        CalendarDay.objects.create(year=year, date=date(2027, 1, 1), kind=CalendarDay.Kind.HOLIDAY, name="元旦")
        run = services.deadlines_request_recompute(reason="2027 added")
    application.refresh_from_db()
    run.refresh_from_db()
    assert (application.due_on, application.provisional) == (date(2027, 1, 7), False)
    assert (run.examined, run.changed) == (1, 1)
    assert run.finished_at is not None


@pytest.mark.usefixtures("official_calendar")
def test_deadlines_recompute_changes_only_open_affected_rows_and_is_idempotent() -> None:
    affected = ApplicationFactory.create(accepted_on=date(2026, 9, 30), due_on=date(2026, 10, 15))
    elsewhere = ApplicationFactory.create(accepted_on=date(2026, 11, 2), due_on=date(2026, 11, 11))
    finished = ApplicationFactory.create(
        accepted_on=date(2026, 9, 30), due_on=date(2026, 10, 15), status=Application.Status.READY
    )
    CalendarDay.objects.filter(date=date(2026, 10, 10)).delete()  # the make-up Saturday is withdrawn

    assert services.deadlines_recompute() == 1
    assert services.deadlines_recompute() == 0
    affected.refresh_from_db()
    elsewhere.refresh_from_db()
    finished.refresh_from_db()
    assert affected.due_on == date(2026, 10, 16)
    assert elsewhere.due_on == date(2026, 11, 11)
    assert finished.due_on == date(2026, 10, 15)


@pytest.mark.usefixtures("official_calendar")
def test_deadlines_recompute_fills_missing_due_dates_and_follows_rule_changes() -> None:
    pending = ApplicationFactory.create(accepted_on=date(2026, 3, 2), due_on=None)
    IssuanceRule.objects.filter(kind="in_province").update(count=10)
    assert services.deadlines_recompute() == 1
    pending.refresh_from_db()
    assert pending.due_on == date(2026, 3, 16)


@pytest.mark.usefixtures("official_calendar")
def test_application_compute_deadline_twice_changes_nothing_the_second_time() -> None:
    application = ApplicationFactory.create(accepted_on=date(2026, 3, 2), due_on=None)
    assert services.application_compute_deadline(application_id=application.pk) is True
    assert services.application_compute_deadline(application_id=application.pk) is False


def test_application_set_status_follows_the_lifecycle_and_records_who() -> None:
    application = ApplicationFactory.create()
    user = clerk(application.office)
    for status in ("in_production", "ready", "collected"):
        services.application_set_status(application=application, status=status, by=user)
    assert application.status == "collected"
    assert list(application.events.values_list("status", "by")) == [
        ("in_production", user.pk),
        ("ready", user.pk),
        ("collected", user.pk),
    ]


@pytest.mark.parametrize(
    ("current", "target"),
    [("accepted", "ready"), ("accepted", "collected"), ("mailed", "collected"), ("collected", "accepted")],
)
def test_application_set_status_refuses_skipping_or_going_back(current: str, target: str) -> None:
    application = ApplicationFactory.create(status=current)
    with pytest.raises(DomainError) as caught:
        services.application_set_status(application=application, status=target, by=clerk(application.office))
    assert caught.value.code == "invalid_transition"
    assert Application.objects.get().status == current


def test_application_set_status_on_a_stale_copy_is_a_conflict() -> None:
    application = ApplicationFactory.create()
    stale = Application.objects.get(pk=application.pk)
    user = clerk(application.office)
    services.application_set_status(application=application, status="in_production", by=user)
    with pytest.raises(services.Conflict):
        services.application_set_status(application=stale, status="in_production", by=user)
    assert application.events.count() == 1


def test_calendar_seed_from_package_is_idempotent_and_keeps_supervisor_days() -> None:
    CalendarYear.objects.create(year=2026)
    CalendarDay.objects.create(
        year_id=2026, date=date(2026, 10, 1), kind=CalendarDay.Kind.HOLIDAY, name="国庆节（手工）"
    )
    years, days = services.calendar_seed_from_package()
    assert years == 22  # 2004-2026 less the one already there
    assert CalendarDay.objects.get(date=date(2026, 10, 1)).name == "国庆节（手工）"
    assert services.calendar_seed_from_package() == (0, 0)
    assert CalendarDay.objects.count() == days + 1
    assert CalendarDay.objects.get(date=date(2026, 2, 17)).name == "春节"


def test_deadlines_request_recompute_sends_nothing_before_commit(django_capture_on_commit_callbacks):
    with (
        mock.patch("bureau.tasks.recompute_deadlines.delay") as delay,
        django_capture_on_commit_callbacks(execute=False) as callbacks,
    ):
        run = services.deadlines_request_recompute(reason="test")
        assert delay.call_count == 0
    assert len(callbacks) == 1
    for callback in callbacks:
        with mock.patch("bureau.tasks.recompute_deadlines.delay") as delay:
            callback()
            delay.assert_called_once_with(run.pk)
    assert DeadlineRecompute.objects.get().requested_at <= timezone.now()


@pytest.mark.usefixtures("official_calendar")
def test_broker_down_at_acceptance_still_accepts_and_the_sweep_fills_the_date(
    django_capture_on_commit_callbacks,
) -> None:
    office = OfficeFactory.create()
    with (
        mock.patch("bureau.tasks.compute_application_deadline.delay", side_effect=ConnectionError("broker down")),
        mock.patch("bureau.selectors.office_today", return_value=date(2026, 9, 30)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        application = _accept(office, clerk(office))
    application.refresh_from_db()
    assert application.due_on is None
    assert services.deadlines_fill_missing() == 1
    application.refresh_from_db()
    assert application.due_on == date(2026, 10, 15)
    assert services.deadlines_fill_missing() == 0
