"""The enterprise window's pages (register, the private page, requests with an invitation
letter), the student session booking page (a student alone or with a parent, places for both
or neither), opening student sessions in the admin, and a race for the last student places
on PostgreSQL."""

import io
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from pypdf import PdfWriter
from pytest_django.fixtures import SettingsWrapper
from stdnum.cn import ric, uscc

from appointments import selectors as booking_selectors
from appointments.models import Booking, BookingPolicy, Slot, SlotTemplate
from appointments.services import slots_generate
from bureau.models import Office, OutboxMessage, Service
from bureau.services import DomainError, NotAllowed
from priority import selectors, services
from priority.models import Case, Enterprise, EvidenceFile, StudentProof, StudentSession
from tests.factories import OfficeFactory, ServiceFactory, clerk, supervisor

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 12, 1)  # a Tuesday
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)
EN = {"accept-language": "en"}
PHONE = "13812345678"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of December 2026 in Hangzhou."""
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


def id_number(n: int) -> str:
    """A distinct valid resident ID number for each n below 1000."""
    base = f"330106{1950 + n % 50}0101{n % 1000:03d}"
    return base + ric.calc_check_digit(base + "0")


def credit_code(n: int) -> str:
    base = f"91330106MA27Y{n:04d}"
    return base + uscc.calc_check_digit(base)


def pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def frozen_now() -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield


@pytest.fixture(autouse=True)
def evidence_root(settings: SettingsWrapper, tmp_path: Path) -> None:
    settings.EVIDENCE_ROOT = tmp_path / "evidence"


@pytest.fixture
def office(db: None) -> Office:
    return OfficeFactory.create(code="XH")


@pytest.fixture
def service(db: None) -> Service:
    return ServiceFactory.create(code="passport-first")


@pytest.fixture
def template(office: Office, service: Service) -> SlotTemplate:
    """Weekdays 09:00 and 09:30, 3 general places each; student places come from sessions."""
    made = SlotTemplate.objects.create(
        office=office,
        day_kind="weekday",
        starts_at=time(9),
        ends_at=time(10),
        slot_minutes=30,
        general_quota=3,
        enterprise_quota=0,
        emergency_quota=0,
    )
    made.services.set([service])
    return made


@pytest.fixture
def slots(template: SlotTemplate, official_calendar: None) -> None:
    """Slots from 2 to 15 December (the 14 days' window from 1 December)."""
    BookingPolicy.objects.get_or_create(pk=1, defaults={"hold_minutes": 0})
    slots_generate(today=TODAY)


def open_session(office: Office, *, places: int, first: date = date(2026, 12, 2), last: date = date(2026, 12, 31)):
    return services.student_session_open(
        name="寒假学生专场", first_day=first, last_day=last, offices=[office], places=places, by=supervisor(office)
    )


@pytest.fixture
def session(office: Office, slots: None) -> StudentSession:
    return open_session(office, places=2)


# --- enterprise registration --------------------------------------------------------------------


def registration(office: Office, **change: str) -> dict[str, str]:
    form = {
        "name": "杭州示例贸易有限公司",
        "credit_code": credit_code(1),
        "office": str(office.pk),
        "contacts-TOTAL_FORMS": "5",
        "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "5",
        "contacts-0-name": "王小晶",
        "contacts-0-id_number": id_number(1),
        "contacts-0-phone": PHONE,
        "contacts-1-name": "李明",
        "contacts-1-id_number": id_number(2),
        "contacts-1-phone": "13900001111",
    }
    return {**form, **change}


def approved_enterprise(office: Office) -> Enterprise:
    enterprise = services.enterprise_register(
        office=office,
        name="杭州示例贸易有限公司",
        credit_code=credit_code(1),
        contacts=[{"name": "王小晶", "id_number": id_number(1), "phone": PHONE}],
    )
    return services.enterprise_decide(enterprise=enterprise, approve=True, reason="", by=supervisor(office))


def page_of(enterprise: Enterprise) -> str:
    return f"/enterprise/{enterprise.reference}/{selectors.enterprise_token(enterprise)}/"


def test_register_page_offers_five_contact_rows(client: Client, office: Office) -> None:
    page = client.get("/enterprise/", headers=EN).content.decode()
    assert page.count('name="contacts-') == 5 * 3 + 4  # three fields a row, and the management form
    assert "<details" in page  # rows three to five are folded away, without a script


def test_register_valid_enterprise_awaits_approval_and_shows_no_link(client: Client, office: Office) -> None:
    response = client.post("/enterprise/", registration(office), headers=EN)
    assert response.status_code == 200
    enterprise = Enterprise.objects.get()
    assert (enterprise.status, enterprise.credit_code, enterprise.office) == ("pending", credit_code(1), office)
    assert [(c.name, c.phone) for c in enterprise.contacts.all()] == [("王小晶", PHONE), ("李明", "13900001111")]
    page = response.content.decode()
    assert "awaits the approval of a supervisor" in page
    assert "138****5678" in page and "139****1111" in page
    assert selectors.enterprise_token(enterprise) not in page
    assert PHONE not in page and id_number(1) not in page
    assert not OutboxMessage.objects.exists()  # nothing is sent before the approval


@pytest.mark.parametrize("code", ["91330106MA27Y00010", "12345", "9133010６MA27Y0001G"])
def test_register_invalid_credit_code_is_a_field_error(client: Client, office: Office, code: str) -> None:
    response = client.post("/enterprise/", registration(office, credit_code=code), headers=EN)
    assert response.status_code == 400
    assert response.context["form"].errors["credit_code"] == [
        "This is not a valid Unified Social Credit Code: 18 characters, the last one a check character."
    ]
    assert not Enterprise.objects.exists()


def test_register_a_code_twice_is_409(client: Client, office: Office) -> None:
    assert client.post("/enterprise/", registration(office), headers=EN).status_code == 200
    again = client.post("/enterprise/", registration(office, **{"contacts-0-name": "赵六"}), headers=EN)
    assert again.status_code == 409
    assert "This credit code is already registered" in again.content.decode()
    assert Enterprise.objects.count() == 1


def test_register_contact_errors_are_on_their_row(client: Client, office: Office) -> None:
    change = {"contacts-1-phone": "12345", "contacts-1-id_number": "330106195001010010"}
    response = client.post("/enterprise/", registration(office, **change), headers=EN)
    assert response.status_code == 400
    rows = response.context["contacts"].forms
    assert rows[0].errors == {}
    assert set(rows[1].errors) == {"phone", "id_number"}
    assert "Contact 2, Mobile number:" in response.content.decode()  # in the error summary
    assert not Enterprise.objects.exists()


def test_register_without_any_contact_is_refused(client: Client, office: Office) -> None:
    empty = {f"contacts-{i}-{f}": "" for i in (0, 1) for f in ("name", "id_number", "phone")}
    response = client.post("/enterprise/", registration(office, **empty), headers=EN)
    assert response.status_code == 400
    assert response.context["contact_errors"] == ["Register 1 to 5 contacts."]


def test_register_is_rate_limited_per_address(client: Client, office: Office, settings: SettingsWrapper) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "enterprise-address": "2/minute"}
    bad = registration(office, credit_code="x")
    assert [client.post("/enterprise/", bad).status_code for _ in range(3)] == [400, 400, 429]
    assert client.post("/enterprise/", bad).headers["Retry-After"].isdigit()


def test_supervisor_approval_sends_each_contact_the_link(client: Client, office: Office) -> None:
    client.post("/enterprise/", registration(office), headers=EN)
    enterprise = Enterprise.objects.get()
    services.enterprise_decide(enterprise=enterprise, approve=True, reason="", by=supervisor(office))
    sent = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.ENTERPRISE, reference=enterprise.reference)
    assert sorted(sent.values_list("phone", flat=True)) == sorted([PHONE, "13900001111"])
    link = services.enterprise_link(enterprise)
    assert all(link in text for text in sent.values_list("text", flat=True))
    assert link.endswith(page_of(enterprise))


# --- the enterprise's page ----------------------------------------------------------------------


def test_enterprise_page_files_a_request_with_an_invitation_letter(client: Client, office: Office) -> None:
    enterprise = approved_enterprise(office)
    contact = enterprise.contacts.get()
    page = client.get(page_of(enterprise), headers=EN)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "strict-origin"  # see enterprise_views._private
    assert "no-store" in page.headers["Cache-Control"]
    assert "王*晶" in page.content.decode() and "王小晶" not in page.content.decode()
    form = {
        "contact": str(contact.pk),
        "destination": "德国 汉诺威",
        "trip_date": "2026-12-20",
        "return_date": "2027-01-05",
        "purpose": "参加汉诺威工业博览会筹备会议",
        "invitation_letter": SimpleUploadedFile("letter.pdf", pdf(), content_type="application/pdf"),
    }
    response = client.post(page_of(enterprise), form, headers=EN)
    case = Case.objects.get()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/emergency/{case.reference}/{selectors.case_token(case)}/"
    assert (case.kind, case.enterprise, case.office, case.status) == ("enterprise", enterprise, office, "submitted")
    assert (case.name, case.id_number, case.phone) == ("王小晶", id_number(1), PHONE)
    assert (case.trip_date, case.return_date, case.destination) == (date(2026, 12, 20), date(2027, 1, 5), "德国 汉诺威")
    assert list(EvidenceFile.objects.values_list("code", "content_type")) == [("invitation_letter", "application/pdf")]
    listed = client.get(page_of(enterprise), headers=EN).content.decode()
    assert case.reference in listed and "Awaiting verification" in listed


def test_enterprise_request_without_letter_and_with_bad_dates_names_each_field(client: Client, office: Office) -> None:
    enterprise = approved_enterprise(office)
    form = {"contact": "", "destination": "", "trip_date": "2026-11-20", "return_date": "", "purpose": ""}
    response = client.post(page_of(enterprise), form, headers=EN)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"contact", "destination", "trip_date", "purpose", "invitation_letter"}
    assert errors["trip_date"] == ["The date cannot be in the past."]
    assert not Case.objects.exists()


def test_enterprise_request_with_a_file_that_is_not_a_pdf_is_refused(client: Client, office: Office) -> None:
    enterprise = approved_enterprise(office)
    form = {
        "contact": str(enterprise.contacts.get().pk),
        "destination": "德国",
        "trip_date": "2026-12-20",
        "purpose": "会议",
        "invitation_letter": SimpleUploadedFile("letter.pdf", b"MZ not a pdf at all", content_type="application/pdf"),
    }
    response = client.post(page_of(enterprise), form, headers=EN)
    assert response.status_code == 400
    assert "not a PDF, JPEG or PNG" in response.context["form"].errors["invitation_letter"][0]
    assert not Case.objects.exists() and not EvidenceFile.objects.exists()


def test_unapproved_enterprise_page_shows_status_and_no_request_form(client: Client, office: Office) -> None:
    client.post("/enterprise/", registration(office), headers=EN)
    enterprise = Enterprise.objects.get()
    page = client.get(page_of(enterprise), headers=EN)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Awaiting approval" in text
    assert 'name="invitation_letter"' not in text and '<form method="post" enctype' not in text
    post = client.post(page_of(enterprise), {"destination": "德国"}, headers=EN)
    assert post.status_code == 403
    assert not Case.objects.exists()


def test_rejected_enterprise_page_gives_the_reason_and_the_way_to_register_again(
    client: Client, office: Office
) -> None:
    enterprise = services.enterprise_register(
        office=office,
        name="杭州示例贸易有限公司",
        credit_code=credit_code(1),
        contacts=[{"name": "王小晶", "id_number": id_number(1), "phone": PHONE}],
    )
    reason = "营业执照名称与信用代码不符"
    services.enterprise_decide(enterprise=enterprise, approve=False, reason=reason, by=supervisor(office))
    text = client.get(page_of(enterprise), headers=EN).content.decode()
    assert reason in text and 'href="/enterprise/"' in text and 'name="invitation_letter"' not in text


def test_enterprise_request_with_a_letter_too_large_is_413(
    client: Client, office: Office, settings: SettingsWrapper
) -> None:
    settings.EVIDENCE_MAX_BYTES = 100
    enterprise = approved_enterprise(office)
    form = {
        "contact": str(enterprise.contacts.get().pk),
        "destination": "德国",
        "trip_date": "2026-12-20",
        "purpose": "会议",
        "invitation_letter": SimpleUploadedFile("letter.pdf", pdf(), content_type="application/pdf"),
    }
    response = client.post(page_of(enterprise), form, headers=EN)
    assert response.status_code == 413
    assert "is larger than" in response.context["form"].errors["invitation_letter"][0]
    assert not Case.objects.exists()


@pytest.mark.parametrize("token", ["0" * 32, "short"])
def test_enterprise_page_with_a_wrong_token_is_404(client: Client, office: Office, token: str) -> None:
    enterprise = approved_enterprise(office)
    response = client.get(f"/enterprise/{enterprise.reference}/{token}/", headers=EN)
    assert response.status_code == 404
    assert enterprise.name not in response.content.decode()


# --- the student page ---------------------------------------------------------------------------


STUDENT = {
    "date": "2026-12-02",
    "start": "2026-12-02T09:00:00+08:00",
    "name": "王小晶",
    "phone": PHONE,
    "school": "杭州第二中学",
    "proof": "ZJ2026-00817",
}


def student_form(service: Service, *, parent: bool = False, **change: str) -> dict[str, str]:
    form = {**STUDENT, "service": str(service.pk), "id_number": id_number(11)}
    if parent:
        form |= {"with_parent": "on", "parent_name": "王大明", "parent_id_number": id_number(12)}
        form["parent_phone"] = "13900002222"
    return {**form, **change}


def test_student_page_shows_student_places_on_session_days_only(
    client: Client, office: Office, service: Service, slots: None
) -> None:
    open_session(office, places=2, first=date(2026, 12, 3), last=date(2026, 12, 4))
    page = client.get(f"/book/XH/student/?service={service.pk}&date=2026-12-03", headers=EN)
    assert page.status_code == 200
    days = [value for value, _label in page.context["choice"].fields["date"].choices if value]
    assert days == ["2026-12-03", "2026-12-04"]
    assert [row["remaining"] for row in page.context["slots"]] == [2, 2]
    outside = client.get(f"/book/XH/student/?service={service.pk}&date=2026-12-07", headers=EN)
    assert outside.context["slots"] is None
    assert "is not a day of a student session here" in outside.content.decode()


def test_student_page_without_a_session_says_so_and_links_to_booking(
    client: Client, office: Office, slots: None
) -> None:
    open_session(office, places=2, first=date(2027, 1, 20), last=date(2027, 2, 20))  # after the window
    response = client.get("/book/XH/student/", headers=EN)
    assert response.status_code == 200
    text = response.content.decode()
    assert "No student session at this office now" in text
    assert 'href="/book/XH/"' in text


def test_offices_page_links_each_booking_office_to_its_student_page(client: Client, office: Office) -> None:
    assert 'href="/book/XH/student/"' in client.get("/book/").content.decode()


def test_student_alone_books_a_student_place(client: Client, service: Service, session: StudentSession) -> None:
    response = client.post("/book/XH/student/", student_form(service), headers=EN)
    booking = Booking.objects.get()
    token = booking_selectors.booking_token(booking.reference)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/book/manage/{booking.reference}/{token}/?new=1"
    assert (booking.channel, booking.name, booking.id_number) == ("student", "王小晶", id_number(11))
    proof = StudentProof.objects.get()
    assert (proof.booking, proof.school, proof.proof, proof.parent_booking) == (
        booking,
        "杭州第二中学",
        "ZJ2026-00817",
        None,
    )
    slot = Slot.objects.get(starts_at=at(2, 9))
    assert (slot.student_booked, slot.general_booked) == (1, 0)


def test_student_with_parent_books_two_places_together(
    client: Client, service: Service, session: StudentSession
) -> None:
    response = client.post("/book/XH/student/", student_form(service, parent=True), headers=EN)
    assert response.status_code == 302
    child, parent = Booking.objects.order_by("pk")
    assert (child.id_number, parent.id_number) == (id_number(11), id_number(12))
    assert child.slot_id == parent.slot_id and {child.channel, parent.channel} == {"student"}
    proof = StudentProof.objects.get()
    assert (proof.booking, proof.parent_booking) == (child, parent)
    assert Slot.objects.get(starts_at=at(2, 9)).student_booked == 2
    assert response.headers["Location"].startswith(f"/book/manage/{child.reference}/")


def test_parent_fields_are_ignored_without_the_checkbox(
    client: Client, service: Service, session: StudentSession
) -> None:
    form = student_form(service, parent=True)
    del form["with_parent"]
    assert client.post("/book/XH/student/", form, headers=EN).status_code == 302
    assert Booking.objects.count() == 1 and StudentProof.objects.get().parent_booking is None


def test_one_student_place_left_and_a_parent_is_409_and_writes_nothing(
    client: Client, service: Service, office: Office, session: StudentSession
) -> None:
    services.student_booking_create(
        office=office,
        service=service,
        start=at(2, 9),
        school="杭州第二中学",
        proof="ZJ1",
        student={"name": "李明", "id_number": id_number(20), "phone": PHONE},
        now=NOW,
    )
    response = client.post("/book/XH/student/", student_form(service, parent=True), headers=EN)
    assert response.status_code == 409
    assert response.context["applicant"].errors["start"] == ["This slot is fully booked. Please choose another time."]
    assert Booking.objects.count() == 1 and StudentProof.objects.count() == 1
    assert Slot.objects.get(starts_at=at(2, 9)).student_booked == 1


def test_student_page_errors_name_the_parent_and_the_proof(
    client: Client, service: Service, session: StudentSession
) -> None:
    form = student_form(service, parent=True, proof="", parent_phone="123")
    response = client.post("/book/XH/student/", form, headers=EN)
    assert response.status_code == 400
    errors = response.context["applicant"].errors
    assert set(errors) == {"proof", "parent_phone"}
    assert not Booking.objects.exists()


def test_student_page_same_person_twice_is_named_on_the_parent(
    client: Client, service: Service, session: StudentSession
) -> None:
    form = student_form(service, parent=True, parent_id_number=id_number(11))
    response = client.post("/book/XH/student/", form, headers=EN)
    assert response.status_code == 400
    assert response.context["applicant"].errors["parent_id_number"] == ["Each person needs their own booking."]


def test_student_page_never_echoes_an_id_number(client: Client, service: Service, session: StudentSession) -> None:
    response = client.post("/book/XH/student/", student_form(service, parent=True, school=""), headers=EN)
    assert response.status_code == 400
    text = response.content.decode()
    assert id_number(11) not in text and id_number(12) not in text


# --- opening student sessions in the admin ------------------------------------------------------


def session_form(office: Office, **change: str) -> dict[str, object]:
    form: dict[str, object] = {
        "name": "寒假学生专场",
        "first_day": "2026-12-03",
        "last_day": "2026-12-31",
        "offices": [str(office.pk)],
        "places": "2",
        "_save": "Save",
    }
    return {**form, **change}


def test_supervisor_opens_a_session_and_slots_get_student_places(
    client: Client, office: Office, service: Service, slots: None
) -> None:
    client.force_login(supervisor(office))
    response = client.post("/admin/priority/studentsession/add/", session_form(office))
    assert response.status_code == 302, response.context["adminform"].form.errors
    session = StudentSession.objects.get()
    assert (session.first_day, session.last_day, session.places) == (date(2026, 12, 3), date(2026, 12, 31), 2)
    assert list(session.offices.all()) == [office]
    quotas = {s.starts_at.astimezone(SHANGHAI).date(): s.student_quota for s in Slot.objects.all()}
    assert quotas[date(2026, 12, 2)] == 0  # before the session
    assert {quotas[day] for day in quotas if day >= date(2026, 12, 3)} == {2}
    # Slots made later, on the session's days, get its places too.
    assert max(quotas) == date(2026, 12, 15)
    slots_generate(today=date(2026, 12, 10))
    later = Slot.objects.filter(starts_at__gte=at(16, 0))
    assert later.count() == 14  # 16 to 24 December: seven weekdays, two slots each
    assert {slot.student_quota for slot in later} == {2}


def test_session_after_the_last_day_leaves_later_slots_alone(office: Office, slots: None) -> None:
    open_session(office, places=3, first=date(2026, 12, 3), last=date(2026, 12, 4))
    slots_generate(today=date(2026, 12, 10))
    quotas = dict(Slot.objects.values_list("starts_at", "student_quota"))
    assert {quota for start, quota in quotas.items() if start.astimezone(SHANGHAI).day in (3, 4)} == {3}
    assert {quota for start, quota in quotas.items() if start.astimezone(SHANGHAI).day not in (3, 4)} == {0}


def test_an_overlapping_session_is_refused_on_the_form_and_writes_nothing(
    client: Client, office: Office, session: StudentSession
) -> None:
    client.force_login(supervisor(office))
    response = client.post(
        "/admin/priority/studentsession/add/", session_form(office, places="5"), headers={"accept-language": "en"}
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "already covers some of these days" in errors["first_day"][0]
    assert StudentSession.objects.count() == 1
    assert {slot.student_quota for slot in Slot.objects.all()} == {2}


def test_a_session_with_days_out_of_order_is_a_form_error(client: Client, office: Office, slots: None) -> None:
    client.force_login(supervisor(office))
    response = client.post("/admin/priority/studentsession/add/", session_form(office, last_day="2026-12-01"))
    assert response.status_code == 200
    assert not StudentSession.objects.exists()
    assert {slot.student_quota for slot in Slot.objects.all()} == {0}


def test_a_supervisor_cannot_open_a_session_at_another_office(client: Client, office: Office, slots: None) -> None:
    other = OfficeFactory.create(code="SC")
    client.force_login(supervisor(other))
    response = client.post("/admin/priority/studentsession/add/", session_form(office))
    assert response.status_code == 200
    assert "offices" in response.context["adminform"].form.errors
    assert not StudentSession.objects.exists()


def test_a_clerk_cannot_open_a_session(client: Client, office: Office, slots: None) -> None:
    user = clerk(office)
    client.force_login(user)
    assert client.post("/admin/priority/studentsession/add/", session_form(office)).status_code == 302  # to login
    with pytest.raises(NotAllowed):
        services.student_session_open(
            name="x", first_day=date(2026, 12, 3), last_day=date(2026, 12, 4), offices=[office], places=1, by=user
        )
    assert not StudentSession.objects.exists()


def test_an_opened_session_is_read_only_in_the_admin(client: Client, office: Office, session: StudentSession) -> None:
    client.force_login(supervisor(office))
    page = client.get(f"/admin/priority/studentsession/{session.pk}/change/")
    assert page.status_code == 200 and not page.context["has_change_permission"]
    assert client.post(f"/admin/priority/studentsession/{session.pk}/delete/", {"post": "yes"}).status_code == 403
    assert StudentSession.objects.count() == 1


def test_case_admin_masks_people_and_searches_by_exact_reference(client: Client, office: Office) -> None:
    enterprise = approved_enterprise(office)
    case = services.enterprise_request_file(
        enterprise=enterprise,
        contact_id=enterprise.contacts.get().pk,
        destination="德国",
        trip_date=date(2026, 12, 20),
        return_date=None,
        purpose="会议",
        files={"invitation_letter": SimpleUploadedFile("l.pdf", pdf(), content_type="application/pdf")},
    )
    client.force_login(supervisor(office))
    listing = client.get(f"/admin/priority/case/?q={case.reference}")
    assert listing.context["cl"].result_count == 1
    assert client.get(f"/admin/priority/case/?q={case.reference[:4]}").context["cl"].result_count == 0
    text = client.get(f"/admin/priority/case/{case.pk}/change/").content.decode()
    assert "王*晶" in text and "138****5678" in text
    assert id_number(1) not in text and PHONE not in text
    contacts = client.get(f"/admin/priority/enterprise/{enterprise.pk}/change/").content.decode()
    assert "王*晶" in contacts and id_number(1) not in contacts and PHONE not in contacts


# --- the race for the last student places (PostgreSQL) ------------------------------------------


def race(workers: list[Callable[[], str]]) -> Counter[str]:
    """Start every worker at the same moment; count what each one says."""
    barrier = threading.Barrier(len(workers))
    outcomes: list[str] = []

    def run(work: Callable[[], str]) -> None:
        try:
            barrier.wait()
            outcomes.append(work())
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Counter(outcomes)


def student_booking(office: Office, service: Service, start: datetime, n: int, *, parent: bool) -> Callable[[], str]:
    def work() -> str:
        services.student_booking_create(
            office=office,
            service=service,
            start=start,
            school="杭州第二中学",
            proof=f"ZJ{n}",
            student={"name": "王小晶", "id_number": id_number(n), "phone": PHONE},
            parent={"name": "王大明", "id_number": id_number(n + 1), "phone": PHONE} if parent else None,
            now=NOW,
        )
        return "pair" if parent else "single"

    return work


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_pair_and_a_single_student_racing_for_the_last_two_places_never_oversell(
    office: Office, service: Service, slots: None
) -> None:
    open_session(office, places=3)
    starts = list(
        Slot.objects.filter(starts_at__gte=at(2, 0)).order_by("starts_at").values_list("starts_at", flat=True)
    )
    assert len(starts) == 20
    n = 100
    for start in starts:
        # One place taken already: the pair and the single student race for the last two.
        student_booking(office, service, start, n, parent=False)()
        outcomes = race(
            [
                student_booking(office, service, start, n + 1, parent=True),
                student_booking(office, service, start, n + 3, parent=False),
            ]
        )
        n += 5
        assert outcomes in (Counter(pair=1, slot_full=1), Counter(single=1, slot_full=1)), outcomes
        slot = Slot.objects.get(starts_at=start)
        active = Booking.objects.filter(slot=slot, status="booked", channel="student").count()
        assert slot.student_booked == active == (3 if outcomes["pair"] else 2)
        assert slot.student_booked <= slot.student_quota == 3
    pairs = StudentProof.objects.exclude(parent_booking=None).select_related("booking", "parent_booking")
    assert all(p.parent_booking is not None and p.booking.slot_id == p.parent_booking.slot_id for p in pairs)
    # Both or neither: every booking of the race belongs to a proof, and a pair is two bookings.
    assert Booking.objects.count() == StudentProof.objects.count() + pairs.count()


def test_the_registration_form_names_every_bad_field_at_once(client, office: Office) -> None:
    """With no office chosen, the bad credit code, the empty name and a contact's bad ID
    number are named too, and nothing is written."""
    response = client.post(
        "/enterprise/",
        {
            "name": "",
            "credit_code": "91110000600037341M",
            "office": "",
            "contacts-TOTAL_FORMS": "1",
            "contacts-INITIAL_FORMS": "0",
            "contacts-0-name": "李四",
            "contacts-0-id_number": "330106199001011234",
            "contacts-0-phone": "13812345678",
        },
        headers={"accept-language": "en"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Choose the office that will serve you." in page
    assert "This is not a valid Unified Social Credit Code" in page
    assert "The enterprise name is required." in page
    assert "does not match" in page  # the contact's ID number's check character
    assert not Enterprise.objects.exists()
