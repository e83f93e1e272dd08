"""The clerk's priority desk and the staff pages of a case and an enterprise (priority/views.py):
who may open them, the decisions with their audit, the serving of a case, the documents'
downloads, and the green-channel and student tickets."""

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appointments.models import BookingPolicy, SlotTemplate
from appointments.services import slots_generate
from bureau import selectors as core
from bureau.models import Counter, Office, OutboxMessage, Service, StaffMember
from priority import services
from priority.models import Case, CaseEvent, Enterprise, EnterpriseContact, StudentSession
from tests.factories import staff
from tests.priority.conftest import ELDERLY_ID_NUMBER, ID_NUMBER, PDF, PHONE, file_case
from walkins.models import Ticket

# Every test stores its evidence under its own tmp_path.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("evidence_root")]

EN = {"accept-language": "en"}
LONE_SURROGATE = [b"\xed\xa0\x80"]  # see tests/priority/test_case_pages.py


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def field_errors(page: str, field: str) -> list[str]:
    block = re.search(rf'id="id_{field}_error">(.*?)</div>', page, re.S)
    return [html.unescape(m) for m in re.findall(r'<p class="error">(.*?)</p>', block.group(1), re.S)] if block else []


def desk_url(office: Office) -> str:
    return f"/counter/{office.code}/priority/"


def case_url(case: Case) -> str:
    return f"/counter/{case.office.code}/cases/{case.reference}/"


def file_url(case: Case) -> str:
    return f"{case_url(case)}files/{case.evidence.get().public_id}/"


def decide(client: Client, case: Case, decision: str, reason: str = "", **extra: str) -> Any:
    return client.post(
        case_url(case),
        {"action": "decide", "decision": decision, "reason": reason, "current": case.status, **extra},
        headers=EN,
    )


# --- who may open what -------------------------------------------------------------------------


def test_staff_pages_send_anonymous_to_login(case: Case) -> None:
    for url in (desk_url(case.office), case_url(case), file_url(case), f"/counter/{case.office.code}/cases/new/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/") or "login" in response["Location"]


def test_another_offices_clerk_cannot_see_or_decide_a_case(case: Case, other_clerk: User) -> None:
    """403 on the desk, the case, its document and a decision (the case's own office only);
    a reference that is nobody's case is a 404."""
    client = signed_in(other_clerk)
    assert client.get(desk_url(case.office)).status_code == 403
    assert client.get(f"/counter/{case.office.code}/cases/NOSUCHCASE/").status_code == 404
    response = client.get(case_url(case))
    assert response.status_code == 403
    assert case.name not in response.content.decode()
    assert client.get(file_url(case)).status_code == 403
    assert client.post(case_url(case), {"action": "decide", "decision": "approve"}).status_code == 403
    assert not CaseEvent.objects.exclude(action="filed").exists()


def test_case_page_under_another_office_code_is_404(case: Case, desk_clerk: User, other_office: Office) -> None:
    StaffMember.objects.get(user=desk_clerk).offices.add(other_office)
    response = signed_in(desk_clerk).get(f"/counter/{other_office.code}/cases/{case.reference}/")
    assert response.status_code == 404


def test_kiosk_gets_403(case: Case) -> None:
    kiosk = staff(StaffMember.Role.KIOSK, case.office, username="kiosk-xh")
    client = signed_in(kiosk)
    assert client.get(desk_url(case.office)).status_code == 403
    assert client.get(case_url(case)).status_code == 403
    assert client.get(file_url(case)).status_code == 403


# --- the desk ----------------------------------------------------------------------------------


def test_desk_lists_cases_to_decide_with_masked_names(case: Case, desk_clerk: User) -> None:
    page = signed_in(desk_clerk).get(desk_url(case.office), headers=EN).content.decode()
    assert f'href="{case_url(case)}"' in page
    assert "王*晶" in page
    assert "王小晶" not in page
    assert "Destination visa or entry permit about to expire" in page
    assert "Awaiting verification" in page
    assert f'href="/counter/{case.office.code}/cases/new/"' in page
    assert "Enterprise registrations to approve" not in page  # a clerk's desk


def test_desk_moves_an_approved_case_to_be_served_and_drops_it_once_served(
    case: Case, desk_clerk: User, counter: Counter, passport: Service
) -> None:
    client = signed_in(desk_clerk)
    services.case_decide(case=case, decision="approve", reason="", by=desk_clerk)
    page = client.get(desk_url(case.office), headers=EN).content.decode()
    to_serve = page.split("Approved, not yet served", 1)[1]
    assert case.reference in to_serve
    services.case_issue_ticket(case=case, service=passport, by=desk_clerk)
    assert case.reference not in client.get(desk_url(case.office)).content.decode()


def test_desk_shows_supervisors_the_enterprises_to_approve(office: Office, boss: User) -> None:
    enterprise = Enterprise.objects.create(
        reference="ENT0000001",
        name="杭州某外贸公司",
        credit_code="91330106MA2B3C4D5E",
        office=office,
        created_at=timezone.now(),
    )
    page = signed_in(boss).get(desk_url(office), headers=EN).content.decode()
    assert f'href="/counter/{office.code}/enterprises/{enterprise.reference}/"' in page
    assert "杭州某外贸公司" in page


def test_desk_cases_cost_the_same_queries_for_one_and_three(office: Office, desk_clerk: User) -> None:
    client = signed_in(desk_clerk)
    file_case(office)
    client.get(desk_url(office))
    with CaptureQueriesContext(connection) as one:
        client.get(desk_url(office))
    file_case(office, name="李四")
    file_case(office, ground="other", name="张三")
    with CaptureQueriesContext(connection) as three:
        page = client.get(desk_url(office)).content.decode()
    assert page.count('data-case="') == 3
    assert len(three) == len(one)


# --- green-channel and student tickets ----------------------------------------------------------


def green(office: Office, passport: Service, id_number: str) -> dict[str, str]:
    return {"form": "green", "green-service": str(passport.pk), "green-id_number": id_number}


def test_green_ticket_for_sixty_and_over(office: Office, counter: Counter, passport: Service, desk_clerk: User) -> None:
    client = signed_in(desk_clerk)
    response = client.post(desk_url(office), green(office, passport, ELDERLY_ID_NUMBER))
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.number[0], ticket.issued_by) == ("green", "G", desk_clerk)
    assert response["Location"] == f"{desk_url(office)}?ticket={ticket.pk}"
    page = client.get(response["Location"], headers=EN).content.decode()
    assert f"Ticket {ticket.number} issued" in page
    assert ELDERLY_ID_NUMBER not in page


def test_green_ticket_too_young_is_refused_on_the_field(
    office: Office, counter: Counter, passport: Service, desk_clerk: User
) -> None:
    response = signed_in(desk_clerk).post(desk_url(office), green(office, passport, ID_NUMBER), headers=EN)
    assert response.status_code == 400
    errors = field_errors(response.content.decode(), "green-id_number")
    assert errors == ["The green channel is for applicants aged 60 or over; please take an ordinary ticket."]
    assert Ticket.objects.count() == 0
    assert ID_NUMBER not in response.content.decode()


def test_student_ticket_needs_a_session_today(
    office: Office, counter: Counter, passport: Service, desk_clerk: User, boss: User
) -> None:
    client = signed_in(desk_clerk)
    form = {
        "form": "student",
        "student-service": str(passport.pk),
        "student-school": "浙江大学",
        "student-proof": "ZJU1",
    }
    refused = client.post(desk_url(office), form, headers=EN)
    assert refused.status_code == 400
    assert "There is no student session at this office on" in html.unescape(refused.content.decode())
    today = core.office_today()
    session = StudentSession.objects.create(
        name="暑期学生专场", first_day=today, last_day=today, places=2, created_at=timezone.now(), created_by=boss
    )
    session.offices.set([office])
    assert "暑期学生专场" in client.get(desk_url(office)).content.decode()
    response = client.post(desk_url(office), form)
    assert response.status_code == 302
    assert Ticket.objects.get().channel == "student"


@pytest.mark.parametrize(
    ("form", "field", "value"),
    [
        ("green", "id_number", ""),
        ("green", "id_number", "1" * 41),
        ("green", "id_number", "\x00"),
        ("green", "id_number", "\u202e11010519491231002X"),
        ("green", "id_number", LONE_SURROGATE),
        ("green", "service", "9" * 30),
        ("student", "school", ""),
        ("student", "school", "学" * 101),
        ("student", "school", "浙江\x00大学"),
        ("student", "school", "浙江\u202e大学"),
        ("student", "school", LONE_SURROGATE),
        ("student", "proof", "P" * 41),
        ("student", "proof", "\u202eZJU"),
        ("student", "proof", LONE_SURROGATE),
    ],
)
def test_desk_bad_value_is_400_with_the_fields_error(
    office: Office, counter: Counter, passport: Service, desk_clerk: User, form: str, field: str, value: object
) -> None:
    data: dict[str, object] = {
        "form": form,
        f"{form}-service": str(passport.pk),
        "green-id_number": ELDERLY_ID_NUMBER,
        "student-school": "浙江大学",
        "student-proof": "ZJU1",
        f"{form}-{field}": value,
    }
    response = signed_in(desk_clerk).post(desk_url(office), data)
    assert response.status_code == 400
    assert field_errors(response.content.decode(), f"{form}-{field}")
    assert Ticket.objects.count() == 0


# --- a case: documents ---------------------------------------------------------------------------


def test_case_file_downloads_with_safe_headers_and_is_audited(case: Case, desk_clerk: User) -> None:
    response = signed_in(desk_clerk).get(file_url(case))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF  # type: ignore[attr-defined]
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{case.reference}-visa.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert {"private", "no-store"} <= {part.strip() for part in response["Cache-Control"].split(",")}
    assert response["Content-Security-Policy"] == "sandbox"
    event = case.events.get(action="file_opened")
    assert (event.by, event.reason, event.status) == (desk_clerk, "visa", "submitted")


def test_case_file_unknown_is_404(case: Case, desk_clerk: User) -> None:
    client = signed_in(desk_clerk)
    assert client.get(f"{case_url(case)}files/{'0' * 32}/").status_code == 404
    assert client.get(f"/counter/{case.office.code}/cases/NOSUCHCASE/files/{'0' * 32}/").status_code == 404
    assert not case.events.filter(action="file_opened").exists()


def test_case_page_shows_everything_masked_where_it_must(case: Case, desk_clerk: User) -> None:
    page = signed_in(desk_clerk).get(case_url(case), headers=EN).content.decode()
    assert "王小晶" in page
    assert "330***********123X" in page
    assert "138****5678" in page
    assert ID_NUMBER not in page
    assert PHONE not in page
    assert "签证下周到期" in page
    assert f'href="{file_url(case)}"' in page
    assert "Filed" in page


# --- a case: decisions ---------------------------------------------------------------------------


def test_approve_asks_for_confirmation_then_records_who_when_what(case: Case, desk_clerk: User) -> None:
    client = signed_in(desk_clerk)
    asked = decide(client, case, "approve")
    assert asked.status_code == 200
    assert "This cannot be undone." in asked.content.decode()
    assert Case.objects.get(pk=case.pk).status == "submitted"
    before = timezone.now()
    done = decide(client, case, "approve", confirmed="on")
    assert done.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.expedited) == ("approved", True)
    event = case.events.get(action="approved")
    assert (event.by, event.status, event.reason) == (desk_clerk, "approved", "")
    assert before <= event.at <= timezone.now()
    assert OutboxMessage.objects.filter(reference=case.reference).count() == 2  # filed, approved
    page = client.get(case_url(case), headers=EN).content.decode()
    assert f"Case {case.reference} is now: Approved." in page
    assert "clerk-xh · Approved → Approved" in page


def test_reject_needs_a_reason_and_records_it(case: Case, desk_clerk: User) -> None:
    client = signed_in(desk_clerk)
    refused = decide(client, case, "reject", confirmed="on")
    assert refused.status_code == 400
    assert field_errors(refused.content.decode(), "reason") == ["Say why: the applicant is told."]
    assert decide(client, case, "reject", "签证仍有半年有效期").status_code == 200  # the confirmation
    assert decide(client, case, "reject", "签证仍有半年有效期", confirmed="on").status_code == 302
    case.refresh_from_db()
    assert (case.status, case.reason) == ("rejected", "签证仍有半年有效期")
    event = case.events.get(action="rejected")
    assert (event.by, event.reason) == (desk_clerk, "签证仍有半年有效期")
    page = client.get(case_url(case), headers=EN).content.decode()
    assert "签证仍有半年有效期" in page
    assert 'name="decision"' not in page


def test_ask_for_more_needs_no_confirmation(case: Case, desk_clerk: User) -> None:
    response = decide(signed_in(desk_clerk), case, "more", "请上传签证首页")
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.reason) == ("more_requested", "请上传签证首页")
    assert case.events.get(action="more_requested").by == desk_clerk


def test_a_decision_from_a_stale_page_changes_nothing(case: Case, desk_clerk: User, second_clerk: User) -> None:
    services.case_decide(case=case, decision="more", reason="缺页", by=second_clerk)
    response = decide(signed_in(desk_clerk), case, "approve", confirmed="on", current="submitted")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == "more_requested"
    assert not case.events.filter(by=desk_clerk).exists()


@pytest.mark.parametrize(
    "reason",
    ["", "理" * 301, "理由\x00", "理由\u202e", LONE_SURROGATE],
    ids=["empty", "long", "nul", "bidi", "surrogate"],
)
def test_decision_bad_reason_is_400_with_the_fields_error(case: Case, desk_clerk: User, reason: object) -> None:
    response = signed_in(desk_clerk).post(
        case_url(case),
        {"action": "decide", "decision": "reject", "reason": reason, "current": "submitted", "confirmed": "on"},
    )
    assert response.status_code == 400
    assert field_errors(response.content.decode(), "reason")
    assert Case.objects.get(pk=case.pk).status == "submitted"


@pytest.mark.parametrize(
    "data",
    [{"action": "decide", "decision": "maybe", "current": "submitted"}, {"action": "decide"}, {"action": "\x00"}],
)
def test_decision_malformed_form_is_refused_without_a_500(case: Case, desk_clerk: User, data: dict[str, str]) -> None:
    response = signed_in(desk_clerk).post(case_url(case), data)
    assert response.status_code in (302, 400)
    assert Case.objects.get(pk=case.pk).status == "submitted"


def test_other_ground_needs_a_supervisor_after_the_clerk(
    office: Office, desk_clerk: User, boss: User, second_boss: User
) -> None:
    case = file_case(office, ground="other")
    clerk_client = signed_in(desk_clerk)
    assert decide(clerk_client, case, "approve", confirmed="on").status_code == 302
    case.refresh_from_db()
    assert case.status == "awaiting_supervisor"
    clerk_page = clerk_client.get(case_url(case), headers=EN).content.decode()
    assert 'name="decision"' not in clerk_page
    assert "a supervisor must approve it too" in clerk_page
    assert decide(clerk_client, case, "approve", confirmed="on").status_code == 403
    assert signed_in(boss).get(case_url(case)).content.decode().count('name="decision"') == 3
    assert decide(signed_in(boss), case, "approve", confirmed="on").status_code == 302
    case.refresh_from_db()
    assert case.status == "approved"
    assert list(case.events.values_list("action", "by", "status")) == [
        ("filed", None, "submitted"),
        ("approved", desk_clerk.pk, "awaiting_supervisor"),
        ("supervisor_approved", boss.pk, "approved"),
    ]


def test_the_same_person_cannot_approve_twice(office: Office, boss: User, second_boss: User) -> None:
    case = file_case(office, ground="other")
    client = signed_in(boss)
    assert decide(client, case, "approve", confirmed="on").status_code == 302
    case.refresh_from_db()
    assert case.status == "awaiting_supervisor"
    again = decide(client, case, "approve", confirmed="on")
    assert again.status_code == 403
    assert "A second person must approve" in html.unescape(again.content.decode())
    case.refresh_from_db()
    assert case.status == "awaiting_supervisor"
    assert decide(signed_in(second_boss), case, "approve", confirmed="on").status_code == 302
    assert Case.objects.get(pk=case.pk).status == "approved"


# --- a case: serving ---------------------------------------------------------------------------


def test_issue_the_e_ticket_from_the_case_page(
    case: Case, desk_clerk: User, counter: Counter, passport: Service
) -> None:
    services.case_decide(case=case, decision="approve", reason="", by=desk_clerk)
    client = signed_in(desk_clerk)
    form = {"action": "ticket", "service": str(passport.pk)}
    asked = client.post(case_url(case), form, headers=EN)
    assert asked.status_code == 200
    assert "Yes, issue the ticket" in asked.content.decode()
    assert Ticket.objects.count() == 0
    done = client.post(case_url(case), {**form, "confirmed": "on"}, headers=EN)
    assert done.status_code == 302
    case.refresh_from_db()
    ticket = case.ticket
    assert ticket is not None
    assert (ticket.channel, ticket.number[0], ticket.service) == ("emergency", "E", passport)
    event = case.events.get(action="ticket_issued")
    assert (event.by, event.reason) == (desk_clerk, ticket.number)
    page = client.get(case_url(case), headers=EN).content.decode()
    assert f"Served with ticket {ticket.number}" in page
    again = client.post(case_url(case), {**form, "confirmed": "on"}, headers=EN)
    assert again.status_code == 409
    assert Ticket.objects.count() == 1


def test_ticket_for_a_case_not_approved_is_refused(
    case: Case, desk_clerk: User, counter: Counter, passport: Service
) -> None:
    response = signed_in(desk_clerk).post(
        case_url(case), {"action": "ticket", "service": str(passport.pk), "confirmed": "on"}
    )
    assert response.status_code == 409
    assert Ticket.objects.count() == 0


def test_book_a_reserved_place_from_the_case_page(case: Case, desk_clerk: User, passport: Service) -> None:
    BookingPolicy.objects.get_or_create(pk=1)
    for kind in ("weekday", "weekend"):
        template = SlotTemplate.objects.create(
            office=case.office, day_kind=kind, starts_at="09:00", ends_at="10:00", general_quota=2, emergency_quota=1
        )
        template.services.set([passport])
    slots_generate()
    services.case_decide(case=case, decision="approve", reason="", by=desk_clerk)
    client = signed_in(desk_clerk)
    day = core.office_today() + timedelta(days=1)
    query = f"?service={passport.pk}&day={day.isoformat()}"
    page = client.get(case_url(case) + query, headers=EN).content.decode()
    starts = re.findall(r'name="start" value="([^"]+)"', page)
    assert len(starts) == 2
    form = {"action": "book", "service": str(passport.pk), "start": starts[0]}
    assert client.post(case_url(case) + query, form).status_code == 200  # the confirmation
    assert client.post(case_url(case) + query, {**form, "confirmed": "on"}).status_code == 302
    case.refresh_from_db()
    assert case.booking is not None
    assert (case.booking.channel, case.booking.name) == ("emergency", "王小晶")
    assert case.events.get(action="booked").by == desk_clerk


# --- an enterprise ---------------------------------------------------------------------------------


@pytest.fixture
def enterprise(office: Office) -> Enterprise:
    enterprise = Enterprise.objects.create(
        reference="ENT0000001",
        name="杭州某外贸公司",
        credit_code="91330106MA2B3C4D5E",
        office=office,
        created_at=timezone.now(),
    )
    EnterpriseContact.objects.create(enterprise=enterprise, name="赵六", id_number=ID_NUMBER, phone=PHONE)
    return enterprise


def enterprise_url(enterprise: Enterprise) -> str:
    return f"/counter/{enterprise.office.code}/enterprises/{enterprise.reference}/"


def test_enterprise_is_read_only_for_a_clerk(enterprise: Enterprise, desk_clerk: User) -> None:
    client = signed_in(desk_clerk)
    page = client.get(enterprise_url(enterprise), headers=EN).content.decode()
    assert "91330106MA2B3C4D5E" in page
    assert "330***********123X" in page
    assert "138****5678" in page
    assert ID_NUMBER not in page
    assert 'name="decision"' not in page
    assert client.post(enterprise_url(enterprise), {"decision": "approve", "confirmed": "on"}).status_code == 403
    assert Enterprise.objects.get(pk=enterprise.pk).status == "pending"


def test_enterprise_approved_by_a_supervisor_after_confirmation(enterprise: Enterprise, boss: User) -> None:
    client = signed_in(boss)
    assert client.post(enterprise_url(enterprise), {"decision": "approve"}).status_code == 200
    assert Enterprise.objects.get(pk=enterprise.pk).status == "pending"
    assert client.post(enterprise_url(enterprise), {"decision": "approve", "confirmed": "on"}).status_code == 302
    enterprise.refresh_from_db()
    assert (enterprise.status, enterprise.decided_by) == ("approved", boss)
    assert OutboxMessage.objects.filter(reference=enterprise.reference, phone=PHONE).count() == 1


@pytest.mark.parametrize("reason", ["", "理" * 301, "理由\x00", "理由\u202e", LONE_SURROGATE])
def test_enterprise_reject_bad_reason_is_400(enterprise: Enterprise, boss: User, reason: object) -> None:
    response = signed_in(boss).post(
        enterprise_url(enterprise), {"decision": "reject", "reason": reason, "confirmed": "on"}
    )
    assert response.status_code == 400
    assert field_errors(response.content.decode(), "reason")
    assert Enterprise.objects.get(pk=enterprise.pk).status == "pending"


def test_enterprise_of_another_office_is_404(enterprise: Enterprise, other_clerk: User) -> None:
    assert signed_in(other_clerk).get(enterprise_url(enterprise)).status_code == 404
