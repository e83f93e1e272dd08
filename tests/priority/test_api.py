"""The priority channels' API (SPEC 5, 8, 9): grounds, emergency cases with their evidence,
decisions, priority tickets, enterprise registration and student bookings, with every bad
input named, nothing half written and no full ID number or mobile number in any answer."""

import json
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation
from pytest_django.fixtures import SettingsWrapper
from rest_framework.authtoken.models import Token

from appointments.models import Booking, BookingPolicy, Slot, SlotTemplate
from appointments.services import slots_generate
from bureau.models import Counter, Office, OutboxMessage, Service
from priority import grounds, selectors, services
from priority.models import Case, Enterprise, EnterpriseContact, EvidenceFile, StudentProof
from tests.factories import OfficeFactory, clerk, staff, supervisor
from tests.hostile.conftest import wsgi_call
from tests.priority.conftest import PDF, PNG
from walkins.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("evidence_root")]

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 12, 1)  # a Tuesday
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)
SLOT = "2026-12-02T09:00:00+08:00"
ID_NUMBER = "33010619900101123X"  # born 1990
ELDER_ID_NUMBER = "11010519491231002X"  # born 1949
PARENT_ID_NUMBER = "440300198511105416"
PHONE = "13812345678"
CREDIT_CODE = "91110000600037341L"
CREDIT_CODE_WITH_LETTERS = "91330106MA27XL0X1K"


def upload(name: str, content: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


# --- the world -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def frozen_now() -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield


@pytest.fixture
def office(db: None) -> Office:
    return OfficeFactory.create(code="XH")


@pytest.fixture
def other_office(db: None) -> Office:
    return OfficeFactory.create(code="GS")


@pytest.fixture
def slots(office: Office, passport: Service) -> None:
    """Weekdays 09:00 and 09:30: 3 general places, 1 emergency place; student places only
    where a session opens them."""
    template = SlotTemplate.objects.create(
        office=office,
        day_kind="weekday",
        starts_at=time(9),
        ends_at=time(10),
        slot_minutes=30,
        general_quota=3,
        enterprise_quota=0,
        emergency_quota=1,
    )
    template.services.set([passport])
    BookingPolicy.objects.get_or_create(pk=1, defaults={"hold_minutes": 30})
    slots_generate(today=TODAY)


@pytest.fixture
def office_clerk(office: Office) -> User:
    return clerk(office, username="clerk-xh")


@pytest.fixture
def office_supervisor(office: Office) -> User:
    return supervisor(office, username="supervisor-xh")


def student_session(office: Office, by: User, places: int, first: date = TODAY, last: date = date(2026, 12, 4)) -> None:
    services.student_session_open(
        name="暑期学生专场", first_day=first, last_day=last, offices=[office], places=places, by=by
    )


def api(user: User | None = None, /, **headers: str) -> Client:
    if user is not None:
        headers["authorization"] = f"Token {Token.objects.get_or_create(user=user)[0].key}"
    return Client(headers=headers)


def error(response: Any, status: int) -> dict[str, Any]:
    """The answer's JSON, after checking its status and that it is the error shape."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"code", "detail", "fields"}, body
    assert isinstance(body["detail"], str) and body["detail"]
    for messages in body["fields"].values():
        assert isinstance(messages, list) and all(isinstance(m, str) and m for m in messages), body
    return body


def no_personal_data(response: Any, *numbers: str) -> None:
    text = response.content.decode()
    for number in (ID_NUMBER, ELDER_ID_NUMBER, PARENT_ID_NUMBER, PHONE, *numbers):
        assert number not in text


# --- grounds -----------------------------------------------------------------------------------


def test_grounds_are_listed_with_their_evidence_in_the_callers_language(db: None) -> None:
    chinese = api().get("/api/v1/emergency-grounds/")
    english = api(**{"accept-language": "en"}).get("/api/v1/emergency-grounds/")
    assert chinese.status_code == english.status_code == 200
    codes = [(g["code"], [e["code"] for e in g["evidence"]]) for g in english.json()]
    assert codes == [
        ("funeral_wedding", ["event_notice", "kinship_proof"]),
        ("critical_illness", ["hospital_certificate", "kinship_proof"]),
        ("study_start", ["admission_notice"]),
        ("visa_expiry", ["visa"]),
        ("other", ["supporting_document"]),
    ]
    assert set(english.json()[0]) == {"code", "name", "evidence"}
    assert english.json()[3]["name"] == "Destination visa or entry permit about to expire"
    assert english.json()[3]["evidence"] == [{"code": "visa", "name": "Visa or entry permit"}]
    # Names as each language's catalogue has them (whether it has Chinese for them is
    # tests/test_translations.py's business).
    for response, language in ((chinese, "zh-hans"), (english, "en")):
        assert response["Content-Language"] == language
        with translation.override(language):
            expected = [{"code": g.code, "name": str(g.name)} for g in grounds.GROUNDS]
        assert [{"code": g["code"], "name": g["name"]} for g in response.json()] == expected


# --- emergency cases: filing -------------------------------------------------------------------


def case_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "office": "XH",
        "ground": "visa_expiry",
        "trip_date": "2026-12-20",
        "name": "王小晶",
        "id_number": ID_NUMBER,
        "phone": PHONE,
        "description": "签证12月25日到期，需尽快出行。",
        "visa": upload("visa.pdf", PDF),
    }
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def file_case(client: Client | None = None, /, **changes: Any) -> Any:
    return (client or api()).post("/api/v1/emergency-cases/", case_form(**changes))


def test_a_case_is_filed_then_read_with_its_token(office: Office, evidence_root: Path) -> None:
    response = file_case()
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"reference", "token", "status"}
    assert body["status"] == "submitted"
    case = Case.objects.get()
    assert (case.reference, case.kind, case.ground, case.office) == (
        body["reference"],
        "emergency",
        "visa_expiry",
        office,
    )
    assert body["token"] == selectors.case_token(case)
    stored = EvidenceFile.objects.get()
    assert (stored.case, stored.code, stored.content_type, stored.original_name) == (
        case,
        "visa",
        "application/pdf",
        "visa.pdf",
    )
    assert (evidence_root / stored.stored_name).read_bytes() == PDF
    assert OutboxMessage.objects.filter(reference=case.reference).count() == 1
    no_personal_data(response)

    read = api(**{"x-case-token": body["token"]}).get(f"/api/v1/emergency-cases/{case.reference}/")
    assert read.status_code == 200
    assert read.json() == {
        "reference": case.reference,
        "kind": "emergency",
        "office": "XH",
        "status": "submitted",
        "ground": "visa_expiry",
        "trip_date": "2026-12-20",
        "reason": "",
        "documents": ["visa"],
        "ticket": None,
        "booking": None,
        "expedited": False,
        "name": "王小晶",
        "id_number": "330***********123X",
        "phone": "138****5678",
    }
    no_personal_data(read)


def test_a_ground_with_two_documents_needs_both(office: Office) -> None:
    response = file_case(ground="funeral_wedding", visa=None, event_notice=upload("notice.png", PNG, "image/png"))
    body = error(response, 400)
    assert list(body["fields"]) == ["kinship_proof"]
    both = file_case(
        ground="funeral_wedding",
        visa=None,
        event_notice=upload("notice.png", PNG, "image/png"),
        kinship_proof=upload("hukou.pdf", PDF),
    )
    assert both.status_code == 201
    assert sorted(EvidenceFile.objects.values_list("code", flat=True)) == ["event_notice", "kinship_proof"]


def test_every_bad_field_of_a_case_is_named_at_once(office: Office) -> None:
    response = file_case(
        trip_date="2026-11-30",
        name="",
        id_number="330106199001011230",
        phone="123",
        description="",
        visa=upload("visa.pdf", b"not a pdf at all"),
    )
    body = error(response, 400)
    assert set(body["fields"]) == {"trip_date", "name", "id_number", "phone", "description", "visa"}
    assert Case.objects.count() == EvidenceFile.objects.count() == 0


def test_a_bad_office_is_named_with_the_applicants_faults(office: Office) -> None:
    body = error(file_case(office="NOPE", phone="123", ground="nope"), 400)
    assert set(body["fields"]) == {"office", "ground", "phone"}
    assert Case.objects.count() == 0


def test_a_document_the_ground_does_not_need_is_named(office: Office) -> None:
    body = error(file_case(kinship_proof=upload("hukou.pdf", PDF)), 400)
    assert list(body["fields"]) == ["kinship_proof"]
    assert Case.objects.count() == 0


def test_a_png_named_pdf_is_taken_as_a_png(office: Office) -> None:
    response = file_case(visa=upload("visa.pdf", PNG, "application/pdf"))
    assert response.status_code == 201, response.content
    assert EvidenceFile.objects.get().content_type == "image/png"
    assert EvidenceFile.objects.get().stored_name.endswith(".png")


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"%PDF-1.7 but really just text\n", None),
        (b"hello, this is text named visa.pdf\n", None),
        (b"", None),
    ],
    ids=["fake-pdf-header", "text", "empty"],
)
def test_a_file_that_is_not_really_a_document_is_400_naming_its_field(
    office: Office, content: bytes, code: str | None
) -> None:
    for language in ("zh-hans", "en"):
        response = api(**{"accept-language": language}).post(
            "/api/v1/emergency-cases/", case_form(visa=upload("visa.pdf", content))
        )
        body = error(response, 400)
        assert list(body["fields"]) == ["visa"]
    assert Case.objects.count() == EvidenceFile.objects.count() == 0


def test_an_oversized_file_is_413_naming_its_field(office: Office, settings: SettingsWrapper) -> None:
    settings.EVIDENCE_MAX_BYTES = len(PDF) - 1
    body = error(file_case(), 413)
    assert body["code"] == "file_too_large"
    assert list(body["fields"]) == ["visa"]
    assert Case.objects.count() == EvidenceFile.objects.count() == 0


def test_an_oversized_request_is_413_unread(office: Office, settings: SettingsWrapper) -> None:
    settings.EVIDENCE_MAX_BYTES = 1000
    big = upload("visa.pdf", PDF + b"\0" * 400_000)
    body = error(file_case(visa=big), 413)
    assert body["code"] == "request_too_large"
    assert body["fields"] == {}
    assert Case.objects.count() == 0


def test_form_fields_over_the_memory_limit_are_400_not_500(office: Office, settings: SettingsWrapper) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = error(file_case(description="急" * 20_000), 400)
    assert body["code"] == "bad_request"
    assert Case.objects.count() == 0


def test_a_case_is_multipart_a_json_one_is_400(office: Office) -> None:
    fields = {k: v for k, v in case_form().items() if k != "visa"}
    as_json = api().post("/api/v1/emergency-cases/", fields, content_type="application/json")
    assert error(as_json, 400)["fields"] == {}
    deep = api().post("/api/v1/emergency-cases/", "[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert error(deep, 400)["code"] == "parse_error"
    form = api().post("/api/v1/emergency-cases/", urlencode(fields), content_type="application/x-www-form-urlencoded")
    assert list(error(form, 400)["fields"]) == ["visa"]  # read as multipart without its file
    xml = api().post("/api/v1/emergency-cases/", "<case/>", content_type="application/xml")
    assert error(xml, 415)["code"] == "unsupported_media_type"
    assert Case.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "王\u202e小晶"),
        ("name", "王\x00小晶"),
        ("name", "王\x1b小晶"),
        ("description", "急\u2028事"),
        ("description", "急" * 4001),
        ("name", "王" * 1000),
        ("trip_date", "9999-12-31"),
        ("trip_date", "0001-01-01"),
        ("trip_date", "2027-12-31"),
        ("office", "X" * 100),
        ("ground", "\x00"),
        ("id_number", "3301061990010112" + "\u0660\u0661"),
    ],
)
def test_hostile_case_fields_are_400_naming_the_field(office: Office, field: str, value: str) -> None:
    body = error(file_case(**{field: value}), 400)
    assert field in body["fields"], body
    assert Case.objects.count() == 0


def test_bytes_that_are_not_utf_8_in_a_case_field_are_400(office: Office) -> None:
    """Django decodes multipart fields with the replacement character: refused as hidden."""
    boundary = "xx"
    parts = [(k, v) for k, v in case_form().items() if k != "visa"]
    body = b""
    for key, value in parts:
        raw = b"\xff\xfe" if key == "name" else str(value).encode()
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode() + raw + b"\r\n"
    body += (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="visa"; filename="v.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + PDF
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = api().generic("POST", "/api/v1/emergency-cases/", body, f"multipart/form-data; boundary={boundary}")
    assert list(error(response, 400)["fields"]) == ["name"]
    assert Case.objects.count() == 0


def test_filing_cases_is_rate_limited_per_client_address(office: Office, settings: SettingsWrapper) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "case-address": "2/minute"}
    assert file_case(phone="1").status_code == 400
    assert file_case(phone="2").status_code == 400
    refused = file_case()
    assert error(refused, 429)["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    assert Case.objects.count() == 0


# --- emergency cases: reading with the token -----------------------------------------------------


def filed(office: Office, ground: str = "visa_expiry") -> Case:
    files = {"visa": upload("visa.pdf", PDF)} if ground == "visa_expiry" else {}
    if ground == "other":
        files = {"supporting_document": upload("doc.pdf", PDF)}
    return services.case_file(
        office=office,
        ground=ground,
        trip_date=date(2026, 12, 20),
        description="签证即将到期",
        name="王小晶",
        id_number=ID_NUMBER,
        phone=PHONE,
        files=files,
    )


@pytest.mark.parametrize(
    "token",
    ["", "wrong", "令牌", "\u00e9" * 32, "a" * 10_000, "\x1b[31m", "@real@x", "@REAL@"],
    ids=["empty", "wrong", "chinese", "latin-1", "10000", "control", "longer", "upper-case"],
)
def test_a_wrong_case_token_is_404_in_the_error_shape(office: Office, token: str) -> None:
    case = filed(office)
    real = selectors.case_token(case)
    token = token.replace("@real@", real).replace("@REAL@", real.upper())
    headers = {"x-case-token": token} if token else {}
    for language in ("zh-hans", "en"):
        response = api(**headers, **{"accept-language": language}).get(f"/api/v1/emergency-cases/{case.reference}/")
        assert error(response, 404)["code"] == "not_found"


def test_case_token_bytes_that_are_not_utf_8_are_404_through_wsgi(office: Office) -> None:
    case = filed(office)
    for token in (b"\xff\xfe\x80", "令牌".encode("gb18030"), selectors.case_token(case).encode() + b"\xff"):
        response = wsgi_call(
            "GET", f"/api/v1/emergency-cases/{case.reference}/".encode(), headers={"x-case-token": token}
        )
        assert error(response, 404)["code"] == "not_found"


def test_a_case_is_not_found_under_another_cases_token(office: Office) -> None:
    first, second = filed(office), filed(office)
    response = api(**{"x-case-token": selectors.case_token(first)}).get(f"/api/v1/emergency-cases/{second.reference}/")
    assert error(response, 404)["code"] == "not_found"


# --- decisions -----------------------------------------------------------------------------------


def decide(user: User | None, case: Case, **body: Any) -> Any:
    return api(user).post(f"/api/v1/cases/{case.reference}/decisions/", body, content_type="application/json")


def test_a_clerk_approves_a_case_of_the_office(office: Office, office_clerk: User) -> None:
    case = filed(office)
    response = decide(office_clerk, case, decision="approve", reason="")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["expedited"], body["id_number"], body["phone"]) == (
        "approved",
        True,
        "330***********123X",
        "138****5678",
    )
    no_personal_data(response)
    again = decide(office_clerk, case, decision="reject", reason="重复")
    assert error(again, 409)["code"] == "not_pending"


def test_reject_and_more_need_a_reason(office: Office, office_clerk: User) -> None:
    case = filed(office)
    for decision in ("reject", "more"):
        body = error(decide(office_clerk, case, decision=decision, reason=""), 400)
        assert list(body["fields"]) == ["reason"]
    rejected = decide(office_clerk, case, decision="reject", reason="签证页不清晰")
    assert (rejected.status_code, rejected.json()["reason"]) == (200, "签证页不清晰")
    read = api(**{"x-case-token": selectors.case_token(case)}).get(f"/api/v1/emergency-cases/{case.reference}/")
    assert (read.json()["status"], read.json()["reason"]) == ("rejected", "签证页不清晰")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "maybe"}, "decision"),
        ({}, "decision"),
        ({"decision": ["approve"]}, "decision"),
        ({"decision": "reject", "reason": "理由\u202e"}, "reason"),
        ({"decision": "reject", "reason": "\ud800"}, "reason"),
        ({"decision": "reject", "reason": "长" * 301}, "reason"),
        ({"decision": "approve", "expedited": "perhaps"}, "expedited"),
    ],
)
def test_bad_decisions_are_400_naming_the_field(office: Office, office_clerk: User, body: dict, field: str) -> None:
    case = filed(office)
    assert field in error(decide(office_clerk, case, **body), 400)["fields"]
    assert Case.objects.get().status == "submitted"


def test_other_staff_cannot_decide(office: Office, other_office: Office, office_clerk: User) -> None:
    case = filed(office)
    assert error(decide(clerk(other_office), case, decision="approve"), 403)["code"] == "permission_denied"
    assert error(decide(supervisor(other_office), case, decision="approve"), 403)["code"] == "permission_denied"
    assert error(decide(staff("kiosk", office, username="kiosk-xh"), case, decision="approve"), 403)
    assert error(decide(None, case, decision="approve"), 401)["code"] == "not_authenticated"
    assert Case.objects.get().status == "submitted"


def test_a_ground_that_needs_a_supervisor_waits_for_one(
    office: Office, office_clerk: User, office_supervisor: User
) -> None:
    case = filed(office, ground="other")
    assert decide(office_clerk, case, decision="approve").json()["status"] == "awaiting_supervisor"
    assert error(decide(office_clerk, case, decision="approve"), 403)["code"] == "permission_denied"
    approved = decide(office_supervisor, case, decision="approve")
    assert (approved.status_code, approved.json()["status"]) == (200, "approved")


# --- priority tickets ----------------------------------------------------------------------------


def ticket(user: User | None, office: Office, **body: Any) -> Any:
    return api(user).post(f"/api/v1/offices/{office.code}/priority-tickets/", body, content_type="application/json")


def approved(office: Office, by: User) -> Case:
    case = filed(office)
    return services.case_decide(case=case, decision="approve", reason="", by=by)


def test_an_approved_case_gets_one_e_ticket(office: Office, counter: Counter, office_clerk: User) -> None:
    case = approved(office, office_clerk)
    response = ticket(office_clerk, office, service="passport-first", channel="emergency", case=case.reference)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["number"], body["channel"], body["service"], body["status"]) == (
        "E001",
        "emergency",
        "passport-first",
        "waiting",
    )
    assert set(body) == {
        "id",
        "number",
        "service",
        "channel",
        "status",
        "issued_at",
        "counter",
        "ahead",
        "estimated_wait_minutes",
    }
    again = ticket(office_clerk, office, service="passport-first", channel="emergency", case=case.reference)
    assert error(again, 409)["code"] == "already_served"
    assert Ticket.objects.count() == 1
    read = api(**{"x-case-token": selectors.case_token(case)}).get(f"/api/v1/emergency-cases/{case.reference}/")
    assert read.json()["ticket"] == "E001"


def test_a_case_not_approved_gets_no_ticket(office: Office, counter: Counter, office_clerk: User) -> None:
    case = filed(office)
    response = ticket(office_clerk, office, service="passport-first", channel="emergency", case=case.reference)
    assert error(response, 409)["code"] == "not_approved"
    assert Ticket.objects.count() == 0


def test_a_case_ticket_names_a_wrong_case_or_channel(
    office: Office, other_office: Office, counter: Counter, office_clerk: User
) -> None:
    case = approved(office, office_clerk)
    elsewhere = approved(other_office, clerk(other_office))
    missing = ticket(office_clerk, office, service="passport-first", channel="emergency")
    assert list(error(missing, 400)["fields"]) == ["case"]
    unknown = ticket(office_clerk, office, service="passport-first", channel="emergency", case="NOPE")
    assert list(error(unknown, 400)["fields"]) == ["case"]
    other = ticket(office_clerk, office, service="passport-first", channel="emergency", case=elsewhere.reference)
    assert list(error(other, 400)["fields"]) == ["case"]
    wrong_channel = ticket(office_clerk, office, service="passport-first", channel="enterprise", case=case.reference)
    assert list(error(wrong_channel, 400)["fields"]) == ["channel"]
    assert Ticket.objects.count() == 0


def test_green_channel_by_age(office: Office, counter: Counter, office_clerk: User) -> None:
    young = ticket(office_clerk, office, service="passport-first", channel="green", id_number=ID_NUMBER)
    body = error(young, 400)
    assert (body["code"], list(body["fields"])) == ("too_young", ["id_number"])
    missing = ticket(office_clerk, office, service="passport-first", channel="green")
    assert list(error(missing, 400)["fields"]) == ["id_number"]
    invalid = ticket(office_clerk, office, service="passport-first", channel="green", id_number="110105194912310021")
    assert list(error(invalid, 400)["fields"]) == ["id_number"]
    assert Ticket.objects.count() == 0
    elder = ticket(office_clerk, office, service="passport-first", channel="green", id_number=ELDER_ID_NUMBER)
    assert elder.status_code == 201, elder.content
    assert (elder.json()["number"], elder.json()["channel"]) == ("G001", "green")
    no_personal_data(elder)


def test_student_ticket_on_a_session_day_with_proof(
    office: Office, counter: Counter, office_clerk: User, office_supervisor: User, slots: None
) -> None:
    missing = ticket(office_clerk, office, service="passport-first", channel="student")
    assert set(error(missing, 400)["fields"]) == {"school", "proof"}
    no_session = ticket(office_clerk, office, service="passport-first", channel="student", school="浙大", proof="Z1")
    assert error(no_session, 400)["code"] == "no_session"
    student_session(office, office_supervisor, places=2)
    made = ticket(office_clerk, office, service="passport-first", channel="student", school="浙江大学", proof="ZJU1")
    assert made.status_code == 201, made.content
    assert made.json()["channel"] == "student"
    hidden = ticket(office_clerk, office, service="passport-first", channel="student", school="浙\u202e大", proof="Z")
    assert list(error(hidden, 400)["fields"]) == ["school"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "green", "id_number": ELDER_ID_NUMBER}, "service"),
        ({"service": "nope", "channel": "green", "id_number": ELDER_ID_NUMBER}, "service"),
        ({"service": "passport-first", "channel": "general"}, "channel"),
        ({"service": "passport-first", "channel": "green", "id_number": ["x"]}, "id_number"),
        ({"service": "passport-first", "channel": "emergency", "case": "\ud800"}, "case"),
        ({"service": "passport-first", "channel": "emergency", "case": None}, "case"),
    ],
)
def test_bad_priority_ticket_requests_are_400_naming_the_field(
    office: Office, counter: Counter, office_clerk: User, body: dict, field: str
) -> None:
    assert field in error(ticket(office_clerk, office, **body), 400)["fields"]
    assert Ticket.objects.count() == 0


def test_priority_tickets_are_for_the_offices_desk_staff_only(
    office: Office, other_office: Office, counter: Counter, office_clerk: User
) -> None:
    body = {"service": "passport-first", "channel": "green", "id_number": ELDER_ID_NUMBER}
    assert error(ticket(clerk(other_office), office, **body), 403)["code"] == "permission_denied"
    assert error(ticket(supervisor(other_office), office, **body), 403)["code"] == "permission_denied"
    assert error(ticket(staff("kiosk", office, username="kiosk-xh"), office, **body), 403)
    assert error(ticket(None, office, **body), 401)
    assert error(api(office_clerk).post("/api/v1/offices/NOPE/priority-tickets/", body), 404)
    assert Ticket.objects.count() == 0


def test_another_offices_supervisor_cannot_ticket_a_case(
    office: Office, other_office: Office, counter: Counter, office_clerk: User
) -> None:
    case = approved(office, office_clerk)
    response = ticket(
        supervisor(other_office), office, service="passport-first", channel="emergency", case=case.reference
    )
    error(response, 403)
    assert Ticket.objects.count() == 0


# --- enterprises ---------------------------------------------------------------------------------


def contact(**changes: Any) -> dict[str, Any]:
    return {"name": "李经理", "id_number": ID_NUMBER, "phone": PHONE, **changes}


def register(**changes: Any) -> Any:
    body = {"office": "XH", "name": "杭州某某科技有限公司", "credit_code": CREDIT_CODE, "contacts": [contact()]}
    body.update(changes)
    return api().post("/api/v1/enterprises/", json.dumps(body), content_type="application/json")


def test_an_enterprise_registers_for_approval(office: Office) -> None:
    response = register(contacts=[contact(), contact(name="张三", id_number=ELDER_ID_NUMBER)])
    assert response.status_code == 201, response.content
    enterprise = Enterprise.objects.get()
    assert response.json() == {"reference": enterprise.reference, "status": "pending"}
    assert (enterprise.credit_code, enterprise.office, enterprise.status) == (CREDIT_CODE, office, "pending")
    assert EnterpriseContact.objects.filter(enterprise=enterprise).count() == 2
    no_personal_data(response)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        (" " + CREDIT_CODE_WITH_LETTERS.lower() + " ", CREDIT_CODE_WITH_LETTERS),
        ("91330106-MA27XL0X1k", CREDIT_CODE_WITH_LETTERS),
        ("９１１１００００６０００３７３４１Ｌ", CREDIT_CODE),  # full-width, as a phone's keyboard may type it
    ],
)
def test_a_credit_code_is_kept_in_canonical_form(office: Office, sent: str, kept: str) -> None:
    response = register(credit_code=sent)
    assert response.status_code == 201, response.content
    assert Enterprise.objects.get().credit_code == kept


@pytest.mark.parametrize(
    "code",
    [
        CREDIT_CODE[:-1] + "M",  # wrong check character
        CREDIT_CODE[:-1],  # 17 characters
        CREDIT_CODE + "1",  # 19 characters
        *[CREDIT_CODE_WITH_LETTERS[:9] + letter + CREDIT_CODE_WITH_LETTERS[10:] for letter in "IOZSV"],
        "",
        "9111000060003734\u200b1L",
    ],
)
def test_an_invalid_credit_code_is_400_naming_it(office: Office, code: str) -> None:
    body = error(register(credit_code=code), 400)
    assert list(body["fields"]) == ["credit_code"]
    assert Enterprise.objects.count() == 0


def test_a_second_live_registration_of_a_code_is_409(office: Office, office_supervisor: User) -> None:
    assert register().status_code == 201
    assert error(register(name="另一家公司"), 409)["code"] == "already_registered"
    services.enterprise_decide(
        enterprise=Enterprise.objects.get(), approve=False, reason="材料不符", by=office_supervisor
    )
    assert register(name="重新登记").status_code == 201
    assert Enterprise.objects.count() == 2


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"contacts": []}, {"contacts"}),
        ({"contacts": [contact() for _ in range(6)]}, {"contacts"}),
        ({"contacts": "李经理"}, {"contacts"}),
        ({"contacts": [contact(id_number="330106199001011230")]}, {"contacts.0.id_number"}),
        ({"contacts": [contact(), contact(phone="1", name="")]}, {"contacts.1.phone", "contacts.1.name"}),
        ({"contacts": [contact(), contact()]}, {"contacts"}),
        ({"contacts": ["x"]}, {"contacts.0"}),
        ({"contacts": [contact(name="李\u202e经理")]}, {"contacts.0.name"}),
        (
            {"office": "NOPE", "credit_code": "X", "contacts": [contact(phone="1")]},
            {"office", "credit_code", "contacts.0.phone"},
        ),
        ({"name": "", "credit_code": "X"}, {"name", "credit_code"}),
        ({"name": "公司\x00"}, {"name"}),
        ({"name": "\ud800"}, {"name"}),
    ],
)
def test_bad_enterprise_registrations_name_every_field(office: Office, changes: dict, fields: set[str]) -> None:
    body = error(register(**changes), 400)
    assert set(body["fields"]) == fields
    assert Enterprise.objects.count() == EnterpriseContact.objects.count() == 0


def test_deep_contacts_are_400_naming_them(office: Office) -> None:
    for deep in ("[" * 500 + "]" * 500, '{"a":' * 500 + "1" + "}" * 500):
        body = json.dumps({"office": "XH", "name": "公司", "credit_code": CREDIT_CODE, "contacts": "@@"})
        response = api().post("/api/v1/enterprises/", body.replace('"@@"', deep), content_type="application/json")
        assert any(name.startswith("contacts") for name in error(response, 400)["fields"])
    assert Enterprise.objects.count() == 0


def test_enterprise_registration_is_rate_limited(office: Office, settings: SettingsWrapper) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "enterprise-address": "1/minute"}
    assert register(credit_code="X").status_code == 400
    assert error(register(), 429)["code"] == "throttled"
    assert Enterprise.objects.count() == 0


# --- student bookings ----------------------------------------------------------------------------


def book_students(**changes: Any) -> Any:
    body: dict[str, Any] = {
        "office": "XH",
        "service": "passport-first",
        "start": SLOT,
        "school": "浙江大学",
        "proof": "ZJU2026001",
        "student": {"name": "王小晶", "id_number": ID_NUMBER, "phone": PHONE},
        "parent": {"name": "王大明", "id_number": PARENT_ID_NUMBER, "phone": "13912345678"},
    }
    body.update(changes)
    body = {key: value for key, value in body.items() if value is not None}
    return api().post("/api/v1/student-bookings/", json.dumps(body), content_type="application/json")


def test_a_student_and_a_parent_book_two_places_together(office: Office, slots: None, office_supervisor: User) -> None:
    student_session(office, office_supervisor, places=2)
    response = book_students()
    assert response.status_code == 201, response.content
    answer = response.json()["bookings"]
    assert [(b["office"], b["service"], b["start"], b["status"]) for b in answer] == [
        ("XH", "passport-first", SLOT, "booked")
    ] * 2
    student, parent = Booking.objects.order_by("pk")
    assert [b["reference"] for b in answer] == [student.reference, parent.reference]
    assert all(b["token"] for b in answer)
    assert (student.channel, student.id_number, parent.id_number) == ("student", ID_NUMBER, PARENT_ID_NUMBER)
    proof = StudentProof.objects.get()
    assert (proof.booking, proof.parent_booking, proof.school, proof.proof) == (
        student,
        parent,
        "浙江大学",
        "ZJU2026001",
    )
    assert Slot.objects.get(starts_at=datetime(2026, 12, 2, 9, tzinfo=SHANGHAI)).student_booked == 2
    no_personal_data(response)


def test_a_student_alone_takes_one_place(office: Office, slots: None, office_supervisor: User) -> None:
    student_session(office, office_supervisor, places=1)
    response = book_students(parent=None)
    assert response.status_code == 201, response.content
    assert len(response.json()["bookings"]) == 1


def test_a_slot_with_one_student_place_left_takes_neither_parent_nor_child(
    office: Office, slots: None, office_supervisor: User
) -> None:
    student_session(office, office_supervisor, places=1)
    body = error(book_students(), 409)
    assert body["code"] == "slot_full"
    assert Booking.objects.count() == StudentProof.objects.count() == 0
    assert Slot.objects.get(starts_at=datetime(2026, 12, 2, 9, tzinfo=SHANGHAI)).student_booked == 0


def test_no_student_session_no_student_place(office: Office, slots: None) -> None:
    assert list(error(book_students(parent=None), 400)["fields"]) == ["start"]
    assert Booking.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"school": "", "proof": ""}, {"school", "proof"}),
        (
            {"school": "", "student": {"name": "王小晶", "id_number": "1", "phone": PHONE}},
            {"school", "student.id_number"},
        ),
        ({"parent": {"name": "王大明", "id_number": "1", "phone": "1"}}, {"parent.id_number", "parent.phone"}),
        (
            {"parent": {"name": "王大明", "id_number": ID_NUMBER, "phone": PHONE}},
            {"parent.id_number"},
        ),
        ({"student": {"name": "王\u202e晶", "id_number": ID_NUMBER, "phone": PHONE}}, {"student.name"}),
        ({"student": "王小晶"}, {"student"}),
        ({"student": {}}, {"student.name", "student.id_number", "student.phone"}),
        ({"student": None}, {"student"}),
        ({"parent": []}, {"parent"}),
        ({"start": "9999-12-31T23:59:59+08:00"}, {"start"}),
        (
            {"office": "NOPE", "student": {"name": "王小晶", "id_number": ID_NUMBER, "phone": "1"}},
            {"office", "student.phone"},
        ),
        ({"proof": "证\ud800"}, {"proof"}),
    ],
)
def test_bad_student_bookings_name_every_field(
    office: Office, slots: None, office_supervisor: User, changes: dict, fields: set[str]
) -> None:
    student_session(office, office_supervisor, places=2)
    body = error(book_students(**changes), 400)
    assert set(body["fields"]) == fields
    assert Booking.objects.count() == 0


def test_student_bookings_are_rate_limited(office: Office, slots: None, settings: SettingsWrapper) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "booking-address": "1/minute"}
    assert book_students(school="").status_code == 400
    assert error(book_students(), 429)["code"] == "throttled"
