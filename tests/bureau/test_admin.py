"""Supervisors' configuration screens: scoped to their offices; calendar and rule edits
recompute open deadlines."""

from datetime import date

import pytest
from django.core.management import call_command
from django.test import Client

from bureau.models import Application, CalendarDay, CalendarYear, DeadlineRecompute, IssuanceRule, Office
from tests.factories import ApplicationFactory, OfficeFactory, clerk, supervisor

pytestmark = pytest.mark.django_db


def test_supervisor_sees_and_edits_only_own_offices(client: Client) -> None:
    mine, theirs = OfficeFactory.create(code="MINE"), OfficeFactory.create(code="THEIRS")
    client.force_login(supervisor(mine))
    listing = client.get("/admin/bureau/office/").content.decode()
    assert "MINE" in listing
    assert "THEIRS" not in listing
    assert client.get(f"/admin/bureau/office/{theirs.pk}/change/").status_code == 302  # not found -> index
    assert client.get(f"/admin/bureau/office/{mine.pk}/change/").status_code == 200


def test_clerk_cannot_enter_the_admin(client: Client) -> None:
    client.force_login(clerk(OfficeFactory.create()))
    assert client.get("/admin/bureau/office/").status_code == 302


def test_supervisor_cannot_see_applications_of_other_offices(client: Client) -> None:
    mine = OfficeFactory.create()
    ApplicationFactory.create(office=mine, reference="MINE000001")
    ApplicationFactory.create(office=OfficeFactory.create(), reference="THEIRS0001")
    client.force_login(supervisor(mine))
    page = client.get("/admin/bureau/application/").content.decode()
    assert "MINE000001" in page
    assert "THEIRS0001" not in page
    assert "33010619900101123X" not in page
    assert "330***********123X" in page


@pytest.mark.usefixtures("official_calendar")
def test_supervisor_corrects_a_day_and_open_deadlines_follow(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    application = ApplicationFactory.create(accepted_on=date(2026, 9, 30), due_on=date(2026, 10, 15))
    client.force_login(supervisor(application.office))
    makeup = CalendarDay.objects.get(date=date(2026, 10, 10))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/bureau/calendarday/{makeup.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.due_on == date(2026, 10, 16)
    run = DeadlineRecompute.objects.get()
    assert (run.examined, run.changed) == (1, 1)


@pytest.mark.usefixtures("official_calendar")
def test_supervisor_adds_a_whole_year_and_provisional_deadlines_become_final(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    application = ApplicationFactory.create(accepted_on=date(2026, 12, 28), due_on=date(2027, 1, 6), provisional=True)
    client.force_login(supervisor(application.office))
    form = {
        "year": "2027",
        "days-TOTAL_FORMS": "2",
        "days-INITIAL_FORMS": "0",
        "days-MIN_NUM_FORMS": "0",
        "days-MAX_NUM_FORMS": "1000",
        "days-0-date": "2027-01-01",
        "days-0-kind": "holiday",
        "days-0-name": "元旦",
        "days-1-date": "2027-01-04",
        "days-1-kind": "holiday",
        "days-1-name": "元旦",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/bureau/calendaryear/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert CalendarYear.objects.get(year=2027).source == "supervisor"
    assert CalendarDay.objects.filter(year_id=2027).count() == 2
    application.refresh_from_db()
    assert (application.due_on, application.provisional) == (date(2027, 1, 8), False)


@pytest.mark.usefixtures("official_calendar")
def test_a_day_outside_its_year_is_refused_with_a_message(client: Client) -> None:
    client.force_login(supervisor(OfficeFactory.create()))
    form = {
        "year": "2027",
        "days-TOTAL_FORMS": "1",
        "days-INITIAL_FORMS": "0",
        "days-MIN_NUM_FORMS": "0",
        "days-MAX_NUM_FORMS": "1000",
        "days-0-date": "2028-01-01",
        "days-0-kind": "holiday",
        "days-0-name": "元旦",
    }
    response = client.post("/admin/bureau/calendaryear/add/", form, headers={"accept-language": "en"})
    assert response.status_code == 200
    assert "must lie in the chosen year" in response.content.decode()
    assert not CalendarYear.objects.filter(year=2027).exists()


@pytest.mark.usefixtures("official_calendar")
def test_supervisor_changes_a_rule_and_open_deadlines_follow(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    application = ApplicationFactory.create(accepted_on=date(2026, 3, 2), due_on=date(2026, 3, 11))
    client.force_login(supervisor(application.office))
    rule = IssuanceRule.objects.get(kind="in_province")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/admin/bureau/issuancerule/{rule.pk}/change/",
            {"kind": "in_province", "count": "10", "unit": "working_days"},
        )
    application.refresh_from_db()
    assert application.due_on == date(2026, 3, 16)


@pytest.mark.parametrize("count", ["0", "-1", "400", "ten", ""])
def test_rule_with_a_bad_count_is_refused(client: Client, count: str) -> None:
    client.force_login(supervisor(OfficeFactory.create()))
    rule = IssuanceRule.objects.get(kind="in_province")
    response = client.post(
        f"/admin/bureau/issuancerule/{rule.pk}/change/", {"kind": "in_province", "count": count, "unit": "working_days"}
    )
    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    assert IssuanceRule.objects.get(kind="in_province").count == 7


def test_load_demo_twice_changes_nothing() -> None:
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    counts = (Office.objects.count(), Application.objects.count())
    from django.contrib.auth.models import User

    users = User.objects.count()
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert (Office.objects.count(), Application.objects.count()) == counts
    assert User.objects.count() == users
    assert Office.objects.filter(mode="dual_track").count() == 9
    assert Office.objects.filter(mode="walk_in_only").count() == 7
    assert User.objects.filter(username="demo-clerk-hz-12").exists()
    assert User.objects.get(username="demo-supervisor").staff.offices.count() == 16


def test_opening_session_that_closes_before_it_opens_is_refused(client: Client) -> None:
    office = OfficeFactory.create()
    client.force_login(supervisor(office))
    form = {
        "name_zh": office.name_zh,
        "name_en": office.name_en,
        "address_zh": office.address_zh,
        "address_en": office.address_en,
        "position": "1",
        "sessions-TOTAL_FORMS": "1",
        "sessions-INITIAL_FORMS": "0",
        "sessions-MIN_NUM_FORMS": "0",
        "sessions-MAX_NUM_FORMS": "1000",
        "sessions-0-day_kind": "weekday",
        "sessions-0-opens_at": "17:00",
        "sessions-0-closes_at": "09:00",
        "counters-TOTAL_FORMS": "0",
        "counters-INITIAL_FORMS": "0",
        "counters-MIN_NUM_FORMS": "0",
        "counters-MAX_NUM_FORMS": "1000",
    }
    response = client.post(f"/admin/bureau/office/{office.pk}/change/", form, headers={"accept-language": "en"})
    assert response.status_code == 200
    assert "A session must close after it opens." in response.content.decode()
    assert not office.sessions.exists()


def test_issuance_rules_cannot_be_added_deleted_or_renamed(client: Client) -> None:
    client.force_login(supervisor(OfficeFactory.create()))
    rule = IssuanceRule.objects.get(kind="expedited")
    assert client.get("/admin/bureau/issuancerule/add/").status_code == 403
    assert client.post(f"/admin/bureau/issuancerule/{rule.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post(
        f"/admin/bureau/issuancerule/{rule.pk}/change/", {"kind": "in_province", "count": "5", "unit": "working_days"}
    )
    assert IssuanceRule.objects.filter(kind="expedited").count() == 1


@pytest.mark.parametrize("year", ["1999", "2101", "32767"])
def test_calendar_year_out_of_range_is_refused(client: Client, year: str) -> None:
    client.force_login(supervisor(OfficeFactory.create()))
    form = {
        "year": year,
        "days-TOTAL_FORMS": "1",
        "days-INITIAL_FORMS": "0",
        "days-MIN_NUM_FORMS": "1",
        "days-MAX_NUM_FORMS": "1000",
        "days-0-date": f"{year}-01-01" if year != "32767" else "2030-01-01",
        "days-0-kind": "holiday",
        "days-0-name": "元旦",
    }
    response = client.post("/admin/bureau/calendaryear/add/", form)
    assert response.status_code == 200
    assert not CalendarYear.objects.filter(year=int(year)).exists()


def test_calendar_year_without_days_is_refused(client: Client) -> None:
    client.force_login(supervisor(OfficeFactory.create()))
    form = {
        "year": "2030",
        "days-TOTAL_FORMS": "0",
        "days-INITIAL_FORMS": "0",
        "days-MIN_NUM_FORMS": "1",
        "days-MAX_NUM_FORMS": "1000",
    }
    response = client.post("/admin/bureau/calendaryear/add/", form)
    assert response.status_code == 200
    assert not CalendarYear.objects.filter(year=2030).exists()
