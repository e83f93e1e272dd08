"""The v1 API of the core: shapes fixed by SPEC 9, every bad parameter, the error format."""

from datetime import date
from unittest import mock

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from bureau.models import Application, ApplicationEvent, OpeningSession
from tests.factories import ApplicationFactory, OfficeFactory, ServiceFactory, clerk, supervisor

pytestmark = pytest.mark.django_db

PREVIEW = "/api/v1/deadlines/preview/"


def _token_client(user) -> Client:
    token, _ = Token.objects.get_or_create(user=user)
    return Client(headers={"authorization": f"Token {token.key}"})


def test_offices_list_has_the_fixed_fields_in_both_languages(client: Client) -> None:
    OfficeFactory.create(
        code="HZ", name_zh="杭州市出入境管理局", name_en="Hangzhou Exit-Entry", address_zh="解放东路8号"
    )
    response = client.get("/api/v1/offices/")
    assert response.status_code == 200
    assert response.json() == [
        {"code": "HZ", "name": "杭州市出入境管理局", "mode": "dual_track", "address": "解放东路8号"}
    ]
    english = client.get("/api/v1/offices/", headers={"accept-language": "en"}).json()
    assert english[0]["name"] == "Hangzhou Exit-Entry"


@pytest.mark.parametrize("rows", [1, 3])
def test_offices_list_query_count_does_not_grow(client: Client, django_assert_num_queries, rows: int) -> None:
    for _ in range(rows):
        office = OfficeFactory.create()
        OpeningSession.objects.create(office=office, day_kind="weekday", opens_at="09:00", closes_at="12:00")
    with django_assert_num_queries(1):
        assert len(client.get("/api/v1/offices/").json()) == rows


def test_services_list_has_the_fixed_fields(client: Client) -> None:
    ServiceFactory.create(code="passport-first")
    assert client.get("/api/v1/services/", headers={"accept-language": "en"}).json() == [
        {"code": "passport-first", "name": "Ordinary passport · First application", "weekend_service": True}
    ]


def test_auth_token_for_good_credentials_and_error_shape_for_bad(client: Client) -> None:
    user = clerk(OfficeFactory.create(), username="demo-clerk")
    response = client.post("/api/v1/auth/token/", {"username": "demo-clerk", "password": "pw"})
    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=user).key}
    bad = client.post("/api/v1/auth/token/", {"username": "demo-clerk", "password": "nope"})
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid"
    assert set(bad.json()) == {"code", "detail", "fields"}
    missing = client.post("/api/v1/auth/token/", {})
    assert set(missing.json()["fields"]) == {"username", "password"}


@pytest.mark.usefixtures("official_calendar")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "accepted_on=2026-09-30&residency=in_province&expedited=false",
            {"due_on": "2026-10-15", "provisional": False},
        ),
        ("accepted_on=2026-09-30&residency=in_province", {"due_on": "2026-10-15", "provisional": False}),
        (
            "accepted_on=2026-09-30&residency=out_of_province&expedited=false",
            {"due_on": "2026-10-20", "provisional": False},
        ),
        (
            "accepted_on=2026-09-30&residency=out_of_province&expedited=true",
            {"due_on": "2026-10-13", "provisional": False},
        ),
        ("accepted_on=2026-12-28&residency=in_province&expedited=false", {"due_on": "2027-01-06", "provisional": True}),
    ],
)
def test_deadline_preview_answers_due_on_and_provisional(client: Client, query: str, expected: dict) -> None:
    response = client.get(f"{PREVIEW}?{query}")
    assert response.status_code == 200
    assert response.json() == expected


@pytest.mark.usefixtures("official_calendar")
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "accepted_on"),
        ("residency=in_province", "accepted_on"),
        ("accepted_on=2026-02-30&residency=in_province", "accepted_on"),
        ("accepted_on=30/09/2026&residency=in_province", "accepted_on"),
        ("accepted_on=9999-12-31&residency=in_province", "accepted_on"),
        ("accepted_on=1900-01-01&residency=in_province", "accepted_on"),
        ("accepted_on=2026-09-30", "residency"),
        ("accepted_on=2026-09-30&residency=zhejiang", "residency"),
        ("accepted_on=2026-09-30&residency=in_province&expedited=maybe", "expedited"),
        ("accepted_on=%00&residency=in_province", "accepted_on"),
    ],
)
def test_deadline_preview_bad_parameters_are_400_naming_the_field(client: Client, query: str, field: str) -> None:
    response = client.get(f"{PREVIEW}?{query}", headers={"accept-language": "en"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["fields"]
    assert all(isinstance(m, str) and m for m in body["fields"][field])


def test_deadline_preview_error_is_translated(client: Client) -> None:
    zh = client.get(f"{PREVIEW}?accepted_on=2026-09-30").json()
    en = client.get(f"{PREVIEW}?accepted_on=2026-09-30", headers={"accept-language": "en"}).json()
    assert en["fields"]["residency"] == ["This field is required."]
    assert zh["fields"]["residency"] == ["该字段是必填项。"]


@pytest.fixture
def office_and_clerk():
    office = OfficeFactory.create(code="HZ")
    ServiceFactory.create(code="passport-first")
    return office, clerk(office)


@pytest.mark.usefixtures("official_calendar")
def test_accept_application_by_api_then_its_due_date(office_and_clerk, django_capture_on_commit_callbacks) -> None:
    _, user = office_and_clerk
    api = _token_client(user)
    with (
        mock.patch("bureau.selectors.office_today", return_value=date(2026, 9, 30)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = api.post(
            "/api/v1/applications/",
            {
                "office": "HZ",
                "service": "passport-first",
                "applicant_name": "王小晶",
                "id_number": "33010619900101123x",
            },
            content_type="application/json",
        )
    assert response.status_code == 201
    body = response.json()
    assert body["id_number"] == "330***********123X"
    assert (body["status"], body["accepted_on"]) == ("accepted", "2026-09-30")
    assert Application.objects.get().reference == body["reference"]
    detail = api.get(f"/api/v1/applications/{body['reference']}/").json()
    assert (detail["due_on"], detail["provisional"]) == ("2026-10-15", False)


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"id_number": "330106199001011234"}, "id_number", "id_number_checksum"),
        ({"id_number": "330106900101123"}, "id_number", "id_number_legacy"),
        ({"id_number": "33010619901301123X"}, "id_number", "id_number_birth_date"),
        ({"id_number": ""}, "id_number", "invalid"),
        ({"id_number": "3" * 40}, "id_number", "invalid"),
        ({"applicant_name": ""}, "applicant_name", "invalid"),
        ({"applicant_name": " "}, "applicant_name", "invalid"),
        ({"applicant_name": "名" * 61}, "applicant_name", "invalid"),
        ({"office": "NOPE"}, "office", "invalid"),
        ({"service": "rocket"}, "service", "invalid"),
        ({"expedited": "perhaps"}, "expedited", "invalid"),
        ({"residency_override": "mars"}, "residency_override", "invalid"),
        ({"id_number": "11010519491231002X", "residency_override": "in_province"}, "override_reason", "invalid"),
        ({"office": None}, "office", "invalid"),
    ],
)
def test_accept_application_bad_values_are_400_and_write_nothing(office_and_clerk, payload, field, code) -> None:
    _, user = office_and_clerk
    good = {"office": "HZ", "service": "passport-first", "applicant_name": "王小晶", "id_number": "33010619900101123X"}
    response = _token_client(user).post(
        "/api/v1/applications/", {**good, **payload}, content_type="application/json", headers={"accept-language": "en"}
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert field in response.json()["fields"]
    assert Application.objects.count() == 0
    assert ApplicationEvent.objects.count() == 0


def test_accept_application_malformed_json_is_400_not_500(office_and_clerk) -> None:
    _, user = office_and_clerk
    response = _token_client(user).post("/api/v1/applications/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_accept_application_needs_a_token_and_the_right_office(client: Client, office_and_clerk) -> None:
    payload = {
        "office": "HZ",
        "service": "passport-first",
        "applicant_name": "王小晶",
        "id_number": "33010619900101123X",
    }
    anonymous = client.post("/api/v1/applications/", payload, content_type="application/json")
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"
    stranger = clerk(OfficeFactory.create(code="FY"))
    response = _token_client(stranger).post("/api/v1/applications/", payload, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    bad_token = Client(headers={"authorization": "Token nonsense"}).post("/api/v1/applications/", payload)
    assert bad_token.status_code == 401
    assert Application.objects.count() == 0


def test_application_status_change_by_api_and_bad_transition(office_and_clerk) -> None:
    office, user = office_and_clerk
    application = ApplicationFactory.create(office=office, reference="ABCDEFGHJK")
    api = _token_client(user)
    url = "/api/v1/applications/ABCDEFGHJK/"
    assert api.post(url, {"status": "in_production"}, content_type="application/json").json()["status"] == (
        "in_production"
    )
    bad = api.post(url, {"status": "collected"}, content_type="application/json")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_transition")
    unknown = api.post(url, {"status": "lost"}, content_type="application/json")
    assert (unknown.status_code, list(unknown.json()["fields"])) == (400, ["status"])
    application.refresh_from_db()
    assert application.status == "in_production"
    other_office = ApplicationFactory.create(office=OfficeFactory.create(code="FY"), reference="OTHER00000")
    assert api.get(f"/api/v1/applications/{other_office.reference}/").status_code == 404


@pytest.mark.usefixtures("official_calendar")
def test_applications_due_soon_and_overdue_for_supervisor(office_and_clerk) -> None:
    office, _ = office_and_clerk
    boss = supervisor(office)
    ApplicationFactory.create(office=office, reference="OVERDUE001", due_on=date(2026, 11, 20))
    ApplicationFactory.create(office=office, reference="SOON000001", due_on=date(2026, 11, 30))
    ApplicationFactory.create(office=office, reference="SOON000002", due_on=date(2026, 12, 1))
    ApplicationFactory.create(office=office, reference="LATER00001", due_on=date(2026, 12, 2))
    ApplicationFactory.create(office=office, reference="READY00001", due_on=date(2026, 11, 20), status="ready")
    ApplicationFactory.create(office=OfficeFactory.create(code="FY"), reference="ELSEWHERE1", due_on=date(2026, 11, 20))
    api = _token_client(boss)
    with mock.patch("bureau.selectors.office_today", return_value=date(2026, 11, 27)):  # a Friday
        soon = api.get("/api/v1/applications/?due=soon").json()
        overdue = api.get("/api/v1/applications/?due=overdue").json()
        bad = api.get("/api/v1/applications/?due=yesterday")
    assert [a["reference"] for a in soon] == ["SOON000001", "SOON000002"]
    assert [a["reference"] for a in overdue] == ["OVERDUE001"]
    assert (bad.status_code, list(bad.json()["fields"])) == (400, ["due"])


@pytest.mark.parametrize("rows", [1, 3])
def test_applications_list_query_count_does_not_grow(office_and_clerk, django_assert_num_queries, rows) -> None:
    office, user = office_and_clerk
    ApplicationFactory.create_batch(rows, office=office)
    api = _token_client(user)
    # token user, the caller's staff role (a kiosk is refused), staff offices subquery with
    # the list (select_related office + service)
    with django_assert_num_queries(3):
        assert len(api.get("/api/v1/applications/").json()) == rows


def test_applicant_status_lookup_needs_reference_and_id_number(client: Client) -> None:
    ApplicationFactory.create(reference="ABCDEFGHJK", applicant_name="王小晶", due_on=date(2026, 10, 15))
    found = client.post(
        "/api/v1/applications/status/",
        {"reference": "abcdefghjk", "id_number": "33010619900101123x"},
        content_type="application/json",
    )
    assert found.status_code == 200
    assert found.json()["applicant_name"] == "王*晶"
    assert found.json()["due_on"] == "2026-10-15"
    assert "id_number" not in found.json()
    wrong = client.post(
        "/api/v1/applications/status/",
        {"reference": "ABCDEFGHJK", "id_number": "11010519491231002X"},
        content_type="application/json",
    )
    assert (wrong.status_code, wrong.json()["code"]) == (404, "not_found")
    empty = client.post("/api/v1/applications/status/", {}, content_type="application/json")
    assert set(empty.json()["fields"]) == {"reference", "id_number"}


def test_openapi_schema_and_offline_docs(client: Client) -> None:
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/deadlines/preview/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs.content


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/applications/AB%00CD/",
        "/api/v1/bookings/AB%00CD/",
        "/api/v1/offices/H%00Z/availability/",
        "/applications/AB%00CD/",
    ],
)
def test_odd_characters_in_path_are_404_not_500(client: Client, url: str) -> None:
    assert client.get(url).status_code == 404


def test_token_endpoint_is_throttled_with_retry_after(client: Client) -> None:
    for _ in range(10):
        client.post("/api/v1/auth/token/", {"username": "x", "password": "y"})
    response = client.post("/api/v1/auth/token/", {"username": "x", "password": "y"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["code"] == "throttled"
