"""Supervisors' configuration screens: scoped to their offices; calendar and rule edits
recompute open deadlines."""

from datetime import date

import pytest
from django.core.management import call_command
from django.test import Client

from bureau import selectors, services
from bureau.models import (
    Application,
    CalendarDay,
    CalendarYear,
    DeadlineRecompute,
    IssuanceRule,
    Office,
    StaffMember,
)
from tests.factories import ApplicationFactory, OfficeFactory, bureau_wide_supervisor, clerk, supervisor

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
def test_bureau_wide_supervisor_corrects_a_day_and_open_deadlines_follow(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    application = ApplicationFactory.create(accepted_on=date(2026, 9, 30), due_on=date(2026, 10, 15))
    client.force_login(bureau_wide_supervisor())
    makeup = CalendarDay.objects.get(date=date(2026, 10, 10))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/bureau/calendarday/{makeup.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.due_on == date(2026, 10, 16)
    run = DeadlineRecompute.objects.get()
    assert (run.examined, run.changed) == (1, 1)


@pytest.mark.usefixtures("official_calendar")
def test_bureau_wide_supervisor_adds_a_whole_year_and_provisional_deadlines_become_final(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    application = ApplicationFactory.create(accepted_on=date(2026, 12, 28), due_on=date(2027, 1, 6), provisional=True)
    client.force_login(bureau_wide_supervisor())
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
    client.force_login(bureau_wide_supervisor())
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
def test_bureau_wide_supervisor_changes_a_rule_and_open_deadlines_follow(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    application = ApplicationFactory.create(accepted_on=date(2026, 3, 2), due_on=date(2026, 3, 11))
    client.force_login(bureau_wide_supervisor())
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
    client.force_login(bureau_wide_supervisor())
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
    assert User.objects.get(username="demo-supervisor").staff.bureau_wide


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
    client.force_login(bureau_wide_supervisor())
    rule = IssuanceRule.objects.get(kind="expedited")
    assert client.get("/admin/bureau/issuancerule/add/").status_code == 403
    assert client.post(f"/admin/bureau/issuancerule/{rule.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post(
        f"/admin/bureau/issuancerule/{rule.pk}/change/", {"kind": "in_province", "count": "5", "unit": "working_days"}
    )
    assert IssuanceRule.objects.filter(kind="expedited").count() == 1


@pytest.mark.parametrize("year", ["1999", "2101", "32767"])
def test_calendar_year_out_of_range_is_refused(client: Client, year: str) -> None:
    client.force_login(bureau_wide_supervisor())
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
    client.force_login(bureau_wide_supervisor())
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


# --- personal fields: no lookup but an exact match (issue 7) ---------------------------------

ID_NUMBER = "33010619900101123X"
OTHER_ID_NUMBER = "110101199003077774"


@pytest.mark.parametrize(
    "query",
    [
        "id_number__startswith=3301",
        "id_number__istartswith=3301",
        "id_number__endswith=123X",
        "id_number__contains=1990",
        "id_number__icontains=1990",
        "id_number__regex=^33",
        "id_number__gt=3301",
        "id_number__lte=3302",
        "id_number__range=3301,3302",
        "id_number__in=33010619900101123X,110101199003077774",
        "id_number__isnull=False",
        "id_number__iexact=33010619900101123x",
        "id_number__exact__startswith=33",
        f"id_number={ID_NUMBER}&id_number={OTHER_ID_NUMBER}",  # an exact match, but a list of them
        "office__applications__id_number__startswith=33",
        "events__application__id_number__startswith=33",
    ],
)
def test_application_list_refuses_lookups_on_the_id_number(client: Client, query: str) -> None:
    application = ApplicationFactory.create(id_number=ID_NUMBER)
    client.force_login(supervisor(application.office))
    assert client.get(f"/admin/bureau/application/?{query}").status_code == 400


def test_application_list_refuses_a_prefix_lookup_to_a_superuser_too(client: Client, admin_user) -> None:
    ApplicationFactory.create(id_number=ID_NUMBER)
    client.force_login(admin_user)
    assert client.get("/admin/bureau/application/?id_number__startswith=3301").status_code == 400


@pytest.mark.parametrize("lookup", ["id_number", "id_number__exact"])
def test_application_list_finds_one_person_by_the_exact_id_number(client: Client, lookup: str) -> None:
    office = OfficeFactory.create()
    ApplicationFactory.create(office=office, reference="MINE000001", id_number=ID_NUMBER)
    ApplicationFactory.create(office=office, reference="OTHER00001", id_number=OTHER_ID_NUMBER)
    client.force_login(supervisor(office))
    response = client.get(f"/admin/bureau/application/?{lookup}={ID_NUMBER}")
    assert response.status_code == 200
    assert [a.reference for a in response.context["cl"].result_list] == ["MINE000001"]
    page = response.content.decode()
    assert "330***********123X" in page
    assert "110***********7774" not in page


def test_a_relation_path_to_a_personal_field_is_refused_even_where_django_would_allow_it(rf) -> None:
    """Django lets a lookup through a relation pass when list_filter names it; the guard does not."""
    from django.contrib import admin

    from bureau.admin import SupervisorAccess

    class Unguarded(admin.ModelAdmin[Office]):
        list_filter = ["applications__id_number"]

    class Guarded(SupervisorAccess, admin.ModelAdmin[Office]):
        list_filter = ["applications__id_number"]

    request = rf.get("/", {"applications__id_number__startswith": "33"})
    lookup = "applications__id_number__startswith"
    assert Unguarded(Office, admin.site).lookup_allowed(lookup, "33", request) is True
    assert Guarded(Office, admin.site).lookup_allowed(lookup, "33", request) is False
    exact = rf.get("/", {"applications__id_number": ID_NUMBER})
    assert Guarded(Office, admin.site).lookup_allowed("applications__id_number", ID_NUMBER, exact) is True


def test_a_list_cannot_be_sorted_by_a_personal_field(rf, admin_user) -> None:
    from django.contrib import admin

    from bureau.admin import SupervisorAccess

    class Careless(SupervisorAccess, admin.ModelAdmin[Application]):
        list_display = ["reference", "id_number"]

    ApplicationFactory.create()
    careless = Careless(Application, admin.site)
    assert careless.get_sortable_by(rf.get("/")) == ["reference"]
    request = rf.get("/", {"o": "2"})
    request.user = admin_user
    changelist = careless.get_changelist_instance(request)
    assert not any("id_number" in str(order) for order in changelist.get_ordering(request, changelist.root_queryset))
    assert {error.id for error in careless.check()} == {"bureau.E001"}


@pytest.mark.parametrize(
    ("option", "value", "refused"),
    [
        ("list_display", ["reference", "id_number"], True),
        ("list_display", ["reference", "office__applications__id_number"], True),
        ("list_filter", ["id_number"], True),
        ("search_fields", ["id_number"], True),
        ("search_fields", ["^id_number"], True),
        ("search_fields", ["@events__application__id_number"], True),
        ("search_fields", ["=id_number"], False),
        ("ordering", ["-id_number"], True),
        ("list_display", ["reference", "masked_id"], False),
    ],
)
def test_the_admin_check_refuses_lists_that_reach_personal_fields(option: str, value: list[str], refused: bool) -> None:
    from django.contrib import admin

    from bureau.admin import ApplicationAdmin

    Probe = type("Probe", (ApplicationAdmin,), {option: value})
    assert ("bureau.E001" in {error.id for error in Probe(Application, admin.site).check()}) is refused


# --- the staff-member screen (issue 7) ---------------------------------------------------------


def test_staff_member_screen_opens_for_a_superuser_and_is_closed_to_supervisors(client: Client, admin_user) -> None:
    office = OfficeFactory.create()
    member = supervisor(office).staff
    client.force_login(admin_user)
    assert client.get("/admin/bureau/staffmember/").status_code == 200
    assert client.get(f"/admin/bureau/staffmember/{member.pk}/change/").status_code == 200
    client.force_login(supervisor(office))
    assert client.get("/admin/bureau/staffmember/").status_code == 403
    assert client.get(f"/admin/bureau/staffmember/{member.pk}/change/").status_code == 403


def test_only_a_supervisor_can_cover_the_whole_bureau() -> None:
    from django.db import IntegrityError, transaction

    member = clerk(OfficeFactory.create()).staff
    with pytest.raises(IntegrityError), transaction.atomic():
        StaffMember.objects.filter(pk=member.pk).update(bureau_wide=True)


# --- bureau-wide configuration is for bureau-wide supervisors (issue 7) ------------------------


def test_a_bureau_wide_supervisor_covers_every_office_also_ones_added_later(django_assert_num_queries) -> None:
    mine = OfficeFactory.create()
    office_supervisor, whole_bureau = supervisor(mine), bureau_wide_supervisor()
    later = OfficeFactory.create()
    ApplicationFactory.create(office=mine)
    ApplicationFactory.create(office=later)
    assert set(selectors.staff_offices(whole_bureau)) == {mine, later}
    assert list(selectors.staff_offices(office_supervisor)) == [mine]
    with django_assert_num_queries(1):
        assert Application.objects.filter(office__in=selectors.staff_offices(whole_bureau)).count() == 2
    assert (selectors.staff_covers_bureau(whole_bureau), selectors.staff_covers_bureau(office_supervisor)) == (
        True,
        False,
    )


def test_an_office_supervisor_sees_bureau_wide_configuration_read_only(client: Client) -> None:
    services.calendar_seed_from_package()
    client.force_login(supervisor(OfficeFactory.create()))
    rule = IssuanceRule.objects.get(kind="in_province")
    day = CalendarDay.objects.get(date=date(2026, 10, 10))
    for url in (
        f"/admin/bureau/issuancerule/{rule.pk}/change/",
        f"/admin/bureau/calendarday/{day.pk}/change/",
        "/admin/bureau/calendaryear/2026/change/",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert page.context["has_change_permission"] is False, url
        assert 'name="_save"' not in page.content.decode(), url


def test_an_office_supervisor_cannot_change_the_calendar_or_the_rules(client: Client) -> None:
    services.calendar_seed_from_package()
    runs = DeadlineRecompute.objects.count()
    client.force_login(supervisor(OfficeFactory.create()))
    rule = IssuanceRule.objects.get(kind="in_province")
    day = CalendarDay.objects.get(date=date(2026, 10, 10))
    rule_form = {"kind": "in_province", "count": "10", "unit": "working_days"}
    assert client.post(f"/admin/bureau/issuancerule/{rule.pk}/change/", rule_form).status_code == 403
    assert client.post(f"/admin/bureau/calendarday/{day.pk}/delete/", {"post": "yes"}).status_code == 403
    day_form = {"year": "2026", "date": "2026-10-10", "kind": "holiday", "name": "x"}
    assert client.post(f"/admin/bureau/calendarday/{day.pk}/change/", day_form).status_code == 403
    assert client.get("/admin/bureau/calendarday/add/").status_code == 403
    assert client.get("/admin/bureau/calendaryear/add/").status_code == 403
    assert IssuanceRule.objects.get(kind="in_province").count == 7
    assert CalendarDay.objects.get(date=date(2026, 10, 10)).kind == "workday"
    assert DeadlineRecompute.objects.count() == runs


@pytest.mark.parametrize("bureau_wide", [False, True])
def test_only_a_bureau_wide_supervisor_loads_the_calendar_package(client: Client, bureau_wide: bool) -> None:
    year = CalendarYear.objects.create(year=2099)
    CalendarDay.objects.create(year=year, date=date(2099, 1, 1), kind="holiday", name="元旦")
    client.force_login(bureau_wide_supervisor() if bureau_wide else supervisor(OfficeFactory.create()))
    client.post("/admin/bureau/calendaryear/", {"action": "seed_from_package", "_selected_action": ["2099"]})
    assert (CalendarYear.objects.count() > 1) is bureau_wide
