"""Server-rendered pages: home, deadline preview, applicant status, staff pages, health."""

from datetime import date
from unittest import mock

import pytest
from django.test import Client

from appointments.models import BookingPolicy
from bureau.models import Application, OpeningSession
from tests.factories import ApplicationFactory, OfficeFactory, ServiceFactory, UserFactory, clerk, supervisor

pytestmark = pytest.mark.django_db


def test_home_lists_offices_with_mode_and_hours_in_chinese_and_english(client: Client) -> None:
    office = OfficeFactory.create(name_zh="滨江区出入境接待大厅", name_en="Binjiang District Exit-Entry Hall")
    OpeningSession.objects.create(office=office, day_kind="weekday", opens_at="09:00", closes_at="12:00")
    OfficeFactory.create(name_zh="淳安县出入境接待大厅", name_en="Chun'an County Hall", mode="walk_in_only")
    zh = client.get("/").content.decode()
    assert "滨江区出入境接待大厅" in zh
    assert "09:00–12:00" in zh
    assert 'lang="zh-hans"' in zh
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    en = client.get("/").content.decode()
    assert "Binjiang District Exit-Entry Hall" in en
    assert "Walk-in only" in en
    assert 'lang="en"' in en


@pytest.mark.parametrize("rows", [1, 3])
def test_home_query_count_does_not_grow(client: Client, django_assert_num_queries, rows: int) -> None:
    for _ in range(rows):
        office = OfficeFactory.create()
        OpeningSession.objects.create(office=office, day_kind="weekday", opens_at="09:00", closes_at="12:00")
    with django_assert_num_queries(2):
        client.get("/")


@pytest.mark.usefixtures("official_calendar")
def test_deadline_page_shows_the_date_and_htmx_gets_the_fragment(client: Client) -> None:
    page = client.get("/deadlines/?accepted_on=2026-09-30&residency=in_province")
    assert 'data-due-on="2026-10-15"' in page.content.decode()
    fragment = client.get("/deadlines/?accepted_on=2026-12-28&residency=in_province", headers={"hx-request": "true"})
    body = fragment.content.decode()
    assert "<html" not in body
    assert 'data-due-on="2027-01-06"' in body
    assert 'class="warn"' in body  # the provisional notice


@pytest.mark.parametrize(
    "query",
    ["accepted_on=garbage&residency=in_province", "accepted_on=9999-01-01&residency=in_province", "residency=x"],
)
def test_deadline_page_bad_input_shows_errors_not_500(client: Client, query: str) -> None:
    response = client.get(f"/deadlines/?{query}", headers={"accept-language": "en"})
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
    assert "data-due-on" not in response.content.decode()


def test_applicant_status_page_finds_only_with_both_keys(client: Client) -> None:
    ApplicationFactory.create(reference="ABCDEFGHJK", applicant_name="王小晶", due_on=date(2026, 10, 15))
    found = client.post("/status/", {"reference": "ABCDEFGHJK", "id_number": "33010619900101123X"})
    assert "王*晶" in found.content.decode()
    assert "33010619900101123X" not in found.content.decode()
    wrong = client.post("/status/", {"reference": "ABCDEFGHJK", "id_number": "11010519491231002X"})
    assert 'class="error"' in wrong.content.decode()
    assert "王*晶" not in wrong.content.decode()


def test_staff_pages_need_login_and_a_staff_role(client: Client) -> None:
    assert client.get("/applications/new/").status_code == 302
    client.force_login(UserFactory.create())
    assert client.get("/applications/new/").status_code == 403
    assert client.get("/dashboard/").status_code == 403


def test_clerk_logs_in_accepts_and_sees_due_date(
    client: Client, official_calendar, django_capture_on_commit_callbacks
) -> None:
    office = OfficeFactory.create()
    service = ServiceFactory.create()
    clerk(office, username="demo-clerk-x-1")
    login = client.post("/accounts/login/", {"username": "demo-clerk-x-1", "password": "pw"})
    assert login.status_code == 302
    assert client.get(login["Location"])["Location"] == "/applications/"
    form = {"office": office.pk, "service": service.pk, "applicant_name": "王小晶", "id_number": "33010619900101123X"}
    with (
        mock.patch("bureau.selectors.office_today", return_value=date(2026, 9, 30)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post("/applications/new/", form)
    application = Application.objects.get()
    assert response["Location"] == f"/applications/{application.reference}/"
    detail = client.get(response["Location"]).content.decode()
    assert 'data-due-on="2026-10-15"' in detail
    assert "330***********123X" in detail
    assert "33010619900101123X" not in detail


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id_number", "330106199001011234", "does not match"),
        ("id_number", "330106900101123", "no longer valid"),
        ("applicant_name", "", "required"),
        ("service", "999", "valid choice"),
    ],
)
def test_accept_page_shows_field_errors_and_writes_nothing(
    client: Client, field: str, value: str, message: str
) -> None:
    office = OfficeFactory.create()
    service = ServiceFactory.create()
    client.force_login(clerk(office))
    form = {"office": office.pk, "service": service.pk, "applicant_name": "王小晶", "id_number": "33010619900101123X"}
    response = client.post("/applications/new/", {**form, field: value}, headers={"accept-language": "en"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Application.objects.count() == 0


def test_accept_page_offers_only_the_clerks_office(client: Client) -> None:
    office, other = OfficeFactory.create(), OfficeFactory.create()
    client.force_login(clerk(office))
    response = client.post(
        "/applications/new/",
        {
            "office": other.pk,
            "service": ServiceFactory.create().pk,
            "applicant_name": "王",
            "id_number": "33010619900101123X",
        },
        headers={"accept-language": "en"},
    )
    assert "valid choice" in response.content.decode()
    assert Application.objects.count() == 0


def test_status_buttons_move_the_application(client: Client) -> None:
    application = ApplicationFactory.create(reference="ABCDEFGHJK")
    client.force_login(clerk(application.office))
    client.post("/applications/ABCDEFGHJK/status/", {"status": "in_production"})
    assert Application.objects.get().status == "in_production"
    response = client.post("/applications/ABCDEFGHJK/status/", {"status": "collected"}, follow=True)
    assert Application.objects.get().status == "in_production"
    assert "cannot become" in response.content.decode() or "不能" in response.content.decode()


@pytest.mark.usefixtures("official_calendar")
def test_the_deadlines_dashboard_lists_overdue_and_due_soon_of_own_offices(client: Client) -> None:
    office = OfficeFactory.create()
    ApplicationFactory.create(office=office, reference="OVERDUE001", due_on=date(2026, 11, 20))
    ApplicationFactory.create(office=office, reference="SOON000001", due_on=date(2026, 12, 1))
    ApplicationFactory.create(office=OfficeFactory.create(), reference="ELSEWHERE1", due_on=date(2026, 11, 20))
    client.force_login(supervisor(office))
    with mock.patch("bureau.selectors.office_today", return_value=date(2026, 11, 27)):
        page = client.get("/dashboard/deadlines/").content.decode()
    assert "OVERDUE001" in page
    assert "SOON000001" in page
    assert "ELSEWHERE1" not in page


@pytest.mark.usefixtures("official_calendar")
@pytest.mark.parametrize("rows", [1, 3])
def test_the_deadlines_dashboard_query_count_does_not_grow(
    client: Client, django_assert_max_num_queries, rows: int
) -> None:
    office = OfficeFactory.create()
    ApplicationFactory.create_batch(rows, office=office, due_on=date(2026, 11, 20))
    ApplicationFactory.create_batch(rows, office=office, due_on=date(2026, 12, 1))
    client.force_login(supervisor(office))
    BookingPolicy.objects.create(pk=1)  # as in any installation that has booked once
    with (
        mock.patch("bureau.selectors.office_today", return_value=date(2026, 11, 27)),
        django_assert_max_num_queries(14),
    ):
        assert client.get("/dashboard/deadlines/").status_code == 200


def test_clerk_cannot_open_the_dashboard(client: Client) -> None:
    client.force_login(clerk(OfficeFactory.create()))
    assert client.get("/dashboard/").status_code == 403


def test_healthz_reports_each_part(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert set(response.json()) == {"status", "database", "cache", "broker"}
    assert response.json()["database"] == "ok"


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"reference": "", "id_number": ""},
        {"reference": "X" * 33, "id_number": "1"},
        {"reference": "A", "id_number": "\x00"},
    ],
)
def test_applicant_status_page_bad_input_shows_field_errors(client: Client, form: dict[str, str]) -> None:
    response = client.post("/status/", form, headers={"accept-language": "en"})
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()


def test_status_change_page_with_an_unknown_status_changes_nothing(client: Client) -> None:
    application = ApplicationFactory.create(reference="ABCDEFGHJK")
    client.force_login(clerk(application.office))
    response = client.post("/applications/ABCDEFGHJK/status/", {"status": "lost"})
    assert response.status_code == 302
    assert Application.objects.get().status == "accepted"
    assert application.events.count() == 0
