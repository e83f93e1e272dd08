"""Accessibility guard: axe-core (bundled by axe-playwright-python) finds no violation on any
page, in zh-Hans and English, at phone size.

PAGES is the one list of pages: a path (its {placeholders} filled from the demo world below)
and the role to sign in as. A page added to the URL configuration that is neither in PAGES
nor in NOT_PAGES fails test_every_page_is_checked, so it joins the list when it is made.
Every page leaves a screenshot, /tmp/shots/a11y-<language>-<page>.png."""

import io
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.test import Client
from django.urls import URLPattern, get_resolver
from django.utils import timezone
from playwright.sync_api import Page
from pypdf import PdfWriter
from pytest_django.fixtures import SettingsWrapper
from pytest_django.live_server_helper import LiveServer

from appointments import selectors as booking_selectors
from appointments import services as booking_services
from appointments.models import Slot, SlotTemplate
from appointments.services import OFFICE_TZ
from bureau.models import Counter, Office, OpeningSession, Service
from priority import selectors as priority_selectors
from priority import services as priority
from priority.models import Case
from tests.e2e.helpers import save_shot
from tests.factories import ApplicationFactory, OfficeFactory, ServiceFactory, clerk, staff, supervisor, walk_in_ticket
from walkins import selectors as walkin_selectors
from walkins import services as walkin_services


@dataclass(frozen=True)
class Checked:
    name: str  # the URL name in bureau/urls.py
    path: str  # with {placeholders} from the world
    role: str | None = None  # None (anonymous), "clerk" or "supervisor"
    label: str = ""  # when one URL name is checked in more than one state
    # Fields to fill (CSS selector, value with {placeholders}; a <select> gets the option of
    # that value) before pressing the form's main button: the page is then checked as it
    # comes back, with its errors (or as the result it leads to).
    fill: tuple[tuple[str, str], ...] = ()

    @property
    def title(self) -> str:
        return self.label or self.name


PAGES = [
    Checked("home", "/"),
    Checked("book", "/book/"),
    Checked("book-office", "/book/XH/?service={service}&date={day}", label="book-office-slots"),
    Checked("book-office", "/book/FY/", label="book-office-walk-in"),
    Checked(
        "book-office",
        "/book/XH/?service={service}&date={day}",
        label="book-office-errors",
        fill=(("#id_id_number", "330106199001011234"), ("#id_phone", "123")),
    ),
    Checked("booking-manage", "/book/manage/{reference}/{token}/?new=1"),
    Checked("booking-lost-link", "/book/lost-link/"),
    Checked(
        "booking-lost-link",
        "/book/lost-link/",
        label="booking-lost-link-errors",
        fill=(("#id_reference", "预约号"), ("#id_id_number", "33010619900101123X")),
    ),
    Checked("deadlines-page", "/deadlines/"),
    Checked("deadlines-page", "/deadlines/?accepted_on=2026-12-28&residency=in_province", label="deadlines-result"),
    Checked("applicant-status", "/status/"),
    Checked(
        "applicant-status",
        "/status/",
        label="applicant-status-not-found",
        fill=(("#id_reference", "NOSUCHREF1"), ("#id_id_number", "33010619900101123X")),
    ),
    Checked("login", "/accounts/login/"),
    Checked(
        "login", "/accounts/login/", label="login-errors", fill=(("#id_username", "nobody"), ("#id_password", "wrong"))
    ),
    Checked("application-list", "/applications/", "clerk"),
    Checked("application-accept", "/applications/new/", "clerk"),
    Checked(
        "application-accept",
        "/applications/new/",
        "clerk",
        label="application-accept-errors",
        fill=(("#id_id_number", "330106199001011234"),),
    ),
    Checked("application-detail", "/applications/{application}/", "clerk"),
    Checked(
        "application-list",
        "/applications/",
        "clerk",
        label="application-list-id-search",
        fill=(("#id_q", "33010619900101123X"),),
    ),
    Checked("application-list", "/applications/?q=%E7%8E%8B&due=soon", "clerk", label="application-list-filtered"),
    Checked("application-status", "/applications/{in_production}/status/?status=mailed", "clerk"),
    Checked("application-receipt", "/applications/{application}/receipt/", "clerk"),
    Checked("dashboard", "/dashboard/", "supervisor"),
    Checked("office-day-today", "/dashboard/offices/XH/", "supervisor"),
    Checked("office-day", "/dashboard/offices/XH/{day}/", "supervisor"),
    Checked("dashboard-today", "/dashboard/today/XH/", "clerk"),
    Checked("dashboard-report", "/dashboard/today/XH/report/", "supervisor"),
    Checked("dashboard-report-day", "/dashboard/today/XH/report/{day}/", "supervisor"),
    Checked("dashboard-service", "/dashboard/service/", "supervisor"),
    Checked("dashboard-service", "/dashboard/service/?counter=7", "supervisor", label="dashboard-service-errors"),
    Checked("dashboard-deadlines", "/dashboard/deadlines/", "supervisor"),
    Checked("dashboard-documents", "/dashboard/documents/?period=year", "supervisor"),
    Checked("dashboard-what-if", "/dashboard/what-if/", "supervisor"),
    Checked("queues", "/queues/"),
    Checked("board", "/board/XH/"),
    Checked("ticket-page", "/ticket/{ticket}/{ticket_signature}/"),
    Checked("kiosk", "/kiosk/XH/", "kiosk"),
    Checked("kiosk", "/kiosk/XH/", "kiosk", label="kiosk-check-in-errors", fill=(("#id_code", "NOSUCHREF1"),)),
    Checked("kiosk-ticket-screen", "/kiosk/XH/tickets/{ticket}/{ticket_signature}/", "kiosk"),
    Checked("counter", "/counter/", "clerk", label="counter-serving"),
    Checked("counter", "/counter/", "supervisor", label="counter-open-a-window"),
    Checked("counter-check-in", "/counter/XH/check-in/", "clerk"),
    Checked("counter-booking", "/counter/XH/bookings/{reference}/", "clerk"),
    Checked(
        "counter-check-in",
        "/counter/XH/check-in/",
        "clerk",
        label="counter-check-in-refused",
        fill=(("#id_code", "NOSUCHREF1"),),
    ),
    Checked("counter-triage", "/counter/XH/triage/", "clerk"),
    Checked("counter-triage", "/counter/XH/triage/?ticket={desk_ticket}", "clerk", label="counter-triage-ticket"),
    # The priority channels: emergency cases, the enterprise window, student sessions.
    Checked("case-new", "/emergency/"),
    Checked("case-new", "/emergency/?ground=visa_expiry", label="case-new-ground"),
    Checked(
        "case-new",
        "/emergency/?ground=visa_expiry",
        label="case-new-errors",
        fill=(("#id_id_number", "330106199001011234"), ("#id_phone", "123")),
    ),
    Checked("case-page", "/emergency/{case}/{case_token}/?new=1"),
    Checked("case-page", "/emergency/{served_case}/{served_case_token}/", label="case-page-served"),
    Checked("case-page", "/emergency/{case}/" + "0" * 32 + "/", label="case-page-not-found"),
    Checked("enterprise-register", "/enterprise/"),
    Checked(
        "enterprise-register",
        "/enterprise/",
        label="enterprise-register-errors",
        fill=(("#id_credit_code", "91110000600037341M"), ("#id_contacts-0-id_number", "330106199001011234")),
    ),
    Checked(
        "enterprise-register",
        "/enterprise/",
        label="enterprise-registered",
        fill=(
            ("#id_name", "滨江某某软件有限公司"),
            ("#id_credit_code", "91330100MA28XY123P"),
            ("#id_office", "{office}"),
            ("#id_contacts-0-name", "张三"),
            ("#id_contacts-0-id_number", "33010619900101123X"),
            ("#id_contacts-0-phone", "13812345678"),
        ),
    ),
    Checked("enterprise-page", "/enterprise/{enterprise}/{enterprise_token}/"),
    Checked(
        "enterprise-page",
        "/enterprise/{enterprise}/{enterprise_token}/",
        label="enterprise-page-errors",
        fill=(("#id_destination", "德国 法兰克福"),),
    ),
    Checked(
        "enterprise-page",
        "/enterprise/{pending_enterprise}/{pending_enterprise_token}/",
        label="enterprise-page-pending",
    ),
    Checked("enterprise-page", "/enterprise/{enterprise}/" + "0" * 32 + "/", label="enterprise-page-not-found"),
    Checked("book-student", "/book/XH/student/?service={service}&date={day}"),
    Checked(
        "book-student",
        "/book/XH/student/?service={service}&date={day}",
        label="book-student-errors",
        fill=(("#id_id_number", "330106199001011234"), ("#id_phone", "123")),
    ),
    Checked("priority-desk", "/counter/XH/priority/", "clerk"),
    Checked(
        "priority-desk",
        "/counter/XH/priority/",
        "clerk",
        label="priority-desk-green-refused",
        fill=(("#id_green-service", "{service}"), ("#id_green-id_number", "33010619900101123X")),
    ),
    Checked("priority-desk", "/counter/XH/priority/", "supervisor", label="priority-desk-supervisor"),
    Checked("counter-case-new", "/counter/XH/cases/new/?ground=visa_expiry", "clerk"),
    Checked(
        "counter-case-new",
        "/counter/XH/cases/new/?ground=visa_expiry",
        "clerk",
        label="counter-case-new-errors",
        fill=(("#id_id_number", "330106199001011234"),),
    ),
    Checked("counter-case", "/counter/XH/cases/{case}/", "clerk"),
    Checked(
        "counter-case",
        "/counter/XH/cases/{case}/",
        "clerk",
        label="counter-case-confirm",
        fill=(("#id_reason", "材料齐全"),),
    ),
    Checked(
        "counter-case",
        "/counter/XH/cases/{approved_case}/?service={service}&day={day}",
        "clerk",
        label="counter-case-approved-places",
    ),
    Checked("counter-case", "/counter/XH/cases/{served_case}/", "clerk", label="counter-case-served"),
    Checked("counter-case", "/counter/XH/cases/{enterprise_case}/", "clerk", label="counter-case-enterprise"),
    Checked("counter-enterprise", "/counter/XH/enterprises/{pending_enterprise}/", "supervisor"),
    Checked(
        "counter-enterprise",
        "/counter/XH/enterprises/{pending_enterprise}/",
        "supervisor",
        label="counter-enterprise-confirm",
        fill=(("#id_reason", "资料齐全"),),
    ),
    Checked(
        "counter-enterprise", "/counter/XH/enterprises/{enterprise}/", "clerk", label="counter-enterprise-approved"
    ),
    Checked("404", "/no-such-page/"),
]

# URL names that are no page of ours to check, and why.
NOT_PAGES = {
    "staff-home": "redirects to the applications or the dashboard",
    "booking-cancel": "POST only",
    "booking-reschedule": "POST only",
    "booking-ics": "a calendar file",
    "logout": "POST only",
    "healthz": "JSON",
    "kiosk-ticket": "POST only: it leads to kiosk-ticket-screen",
    "kiosk-check-in": "POST only: its refusal is checked as kiosk-check-in-errors",
    "kiosk-sms": "POST only: it leads back to kiosk-ticket-screen",
    "counter-panel": "the part of the counter page that htmx polls (checked there)",
    "counter-act": "POST only: it answers with the counter page",
    "schema": "the OpenAPI schema (YAML)",
    "api-docs": "Swagger UI, a third-party page",
    "counter-case-file": "a case's document, downloaded as an attachment (PDF, JPEG or PNG), not an HTML page",
}
LANGUAGES = ["zh-hans", "en"]


@pytest.fixture
def world(official_calendar: None, issuance_rules: None, settings: SettingsWrapper, tmp_path: Path) -> dict[str, Any]:
    """A dual-track office XH with slots (student places on working days), a walk-in office,
    a booking, an application, a clerk and a supervisor of XH; its emergency cases (with a
    PDF each, stored under tmp_path), enterprises and a student session."""
    settings.EVIDENCE_ROOT = tmp_path / "evidence"
    office: Office = OfficeFactory.create(
        code="XH", mode=Office.Mode.DUAL_TRACK, name_zh="西湖出入境接待大厅", name_en="West Lake Exit-Entry Hall"
    )
    walk_in: Office = OfficeFactory.create(
        code="FY", mode=Office.Mode.WALK_IN_ONLY, name_zh="富阳区出入境接待大厅", name_en="Fuyang District Hall"
    )
    for each in (office, walk_in):
        for kind, closes in ((OpeningSession.DayKind.WEEKDAY, 17), (OpeningSession.DayKind.WEEKEND, 12)):
            OpeningSession.objects.create(office=each, day_kind=kind, opens_at=time(9), closes_at=time(closes))
    service: Service = ServiceFactory.create(code="passport-first")
    for kind in (OpeningSession.DayKind.WEEKDAY, OpeningSession.DayKind.WEEKEND):
        template = SlotTemplate.objects.create(
            office=office,
            day_kind=kind,
            starts_at=time(9),
            ends_at=time(10),
            slot_minutes=30,
            general_quota=3,
        )
        template.services.set([service])
    booking_services.slots_generate()
    Slot.objects.filter(template__day_kind=OpeningSession.DayKind.WEEKDAY).update(student_quota=1)
    slot = Slot.objects.filter(office=office, student_quota__gt=0).order_by("starts_at").first()
    assert slot is not None
    booking = booking_services.booking_create(
        office=office,
        service=service,
        start=slot.starts_at,
        name="王小晶",
        id_number="33010619900101123X",
        phone="13812345678",
    )
    today = timezone.localdate(timezone=OFFICE_TZ)
    application = ApplicationFactory.create(
        office=office, service=service, accepted_on=today, due_on=today + timedelta(days=9)
    )
    in_production = ApplicationFactory.create(
        office=office, service=service, accepted_on=today, due_on=today + timedelta(days=9), status="in_production"
    )
    hall, desk = _hall(office, service), _counter_desk(office)
    last_day = timezone.localtime(Slot.objects.latest("starts_at").starts_at, OFFICE_TZ).date()
    return {
        "office": office.pk,
        "in_production": in_production.reference,
        "service": service.pk,
        "day": timezone.localtime(slot.starts_at, OFFICE_TZ).date().isoformat(),
        "reference": booking.reference,
        "token": booking_selectors.booking_token(booking.reference),
        "application": application.reference,
        **hall,
        **desk,
        **_priority(office, service, desk["users"], today, last_day),
    }


def _hall(office: Office, service: Service) -> dict[str, Any]:
    """XH's walk-in side: a counter, a ticket called and one waiting (for the board, the
    ticket's own page and the kiosk's ticket screen), and its kiosk device."""
    counter = Counter.objects.create(office=office, number=1)
    counter.services.set([service])
    desk = clerk(office, username="a11y-desk")
    walkin_services.counter_open(counter=counter, by=desk)
    for _ in range(2):
        ticket = walkin_services.ticket_issue(office=office, service=service, channel="general", by=desk)
    walkin_services.ticket_call_next(counter=counter, by=desk)
    return {
        "ticket": ticket.pk,
        "ticket_signature": walkin_selectors.ticket_signature(ticket.pk),
        "devices": {"kiosk": staff("kiosk", office)},
    }


def _counter_desk(office: Office) -> dict[str, Any]:
    """The clerk and the supervisor of XH; the clerk staffs window 2, for Hong Kong/Macao
    endorsements, serving a green-channel ticket (its own service and window, so the rest of
    the hall is left as it is)."""
    from bureau.models import Counter
    from walkins import services as walkins

    desk, boss = clerk(office), supervisor(office)
    endorsement = ServiceFactory.create(code="hk-macao-endorsement", document="hk_macao", business="endorsement")
    window = Counter.objects.create(office=office, number=2)
    window.services.set([endorsement])
    walkins.counter_open(counter=window, by=desk)
    ticket = walk_in_ticket(office=office, service=endorsement, channel="green", by=desk)
    walkins.ticket_call_next(counter=window, by=desk)
    return {"users": {"clerk": desk, "supervisor": boss}, "desk_ticket": ticket.pk}


def _visa() -> dict[str, UploadedFile]:
    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=200, height=200)
    writer.write(out)
    return {"visa": SimpleUploadedFile("visa.pdf", out.getvalue(), content_type="application/pdf")}


def _priority(office: Office, service: Service, users: dict[str, Any], today: date, last_day: date) -> dict[str, Any]:
    """XH's priority channels: an emergency case to decide, one approved and one served
    with its E ticket (each with its visa, a real PDF); an approved enterprise with a request
    to decide and one awaiting approval; a student session over every slot."""
    desk, boss = users["clerk"], users["supervisor"]

    def filed() -> Case:
        return priority.case_file(
            office=office,
            ground="visa_expiry",
            trip_date=today + timedelta(days=10),
            description="签证下周到期，需尽快出境",
            name="王小晶",
            id_number="33010619900101123X",
            phone="13812345678",
            files=_visa(),
        )

    case, approved, served = filed(), filed(), filed()
    for each in (approved, served):
        priority.case_decide(case=each, decision="approve", reason="", by=desk)
    priority.case_issue_ticket(case=served, service=service, by=desk)
    contact = {"name": "李四", "id_number": "33010619900101123X", "phone": "13912345678"}
    enterprise = priority.enterprise_register(
        office=office, name="杭州某某科技有限公司", credit_code="91110000600037341L", contacts=[contact]
    )
    priority.enterprise_decide(enterprise=enterprise, approve=True, reason="", by=boss)
    pending = priority.enterprise_register(
        office=office, name="西湖某某贸易有限公司", credit_code="91330106MA27XL0X1K", contacts=[contact]
    )
    request = priority.enterprise_request_file(
        enterprise=enterprise,
        contact_id=enterprise.contacts.get().pk,
        destination="德国 法兰克福",
        trip_date=today + timedelta(days=20),
        return_date=today + timedelta(days=30),
        purpose="参加法兰克福书展并签订合同",
        files={"invitation_letter": _visa()["visa"]},
    )
    priority.student_session_open(
        name="秋季开学", first_day=today, last_day=last_day, offices=[office], places=1, by=boss
    )
    return {
        "case": case.reference,
        "case_token": priority_selectors.case_token(case),
        "approved_case": approved.reference,
        "served_case": served.reference,
        "served_case_token": priority_selectors.case_token(served),
        "enterprise_case": request.reference,
        "enterprise": enterprise.reference,
        "enterprise_token": priority_selectors.enterprise_token(enterprise),
        "pending_enterprise": pending.reference,
        "pending_enterprise_token": priority_selectors.enterprise_token(pending),
    }


def _sign_in(page: Page, live_server: LiveServer, user: Any) -> None:
    client = Client()
    client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def _report(violations: list[tuple[str, str, dict[str, Any]]]) -> str:
    lines = [f"{len(violations)} accessibility violation(s):"]
    for title, language, violation in violations:
        lines.append(f"\n[{language}] {title}: {violation['id']} ({violation['impact']}) {violation['help']}")
        lines.append(f"    {violation['helpUrl']}")
        for node in violation["nodes"]:
            lines.append(f"    - {', '.join(map(str, node['target']))}: {node['html'][:200]}")
            lines.append(f"      {node.get('failureSummary', '')}".replace("\n", " "))
    return "\n".join(lines)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", LANGUAGES)
def test_no_accessibility_violations(live_server: LiveServer, page: Page, world: dict[str, Any], language: str):
    axe = Axe()
    violations: list[tuple[str, str, dict[str, Any]]] = []
    signed_in_as: str | None = "?"
    for checked in sorted(PAGES, key=lambda c: c.role or ""):
        if checked.role != signed_in_as:
            if checked.role is None:
                page.context.clear_cookies()
            else:
                _sign_in(page, live_server, {**world["users"], **world["devices"]}[checked.role])
            page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
            signed_in_as = checked.role
        page.goto(live_server.url + checked.path.format(**world))
        if checked.fill:
            for selector, value in checked.fill:
                field = page.locator(selector)
                if field.evaluate("element => element.tagName") == "SELECT":
                    field.select_option(value.format(**world))
                else:
                    field.fill(value.format(**world))
            with page.expect_navigation():
                page.locator("main form button.primary").click()
        assert page.locator("html").get_attribute("lang") == language, checked.title
        assert page.locator("main h1").count() >= 1, f"{checked.title}: no heading (signed in? {checked.role})"
        results = axe.run(page)
        violations += [(checked.title, language, v) for v in results.response["violations"]]
        save_shot(page, f"a11y-{language}-{checked.title}")
    assert not violations, _report(violations)


def test_every_page_is_checked() -> None:
    """Each named page of the URL configuration is in PAGES or, with a reason, in NOT_PAGES."""
    names = {p.name for p in get_resolver().url_patterns if isinstance(p, URLPattern) and p.name}
    unchecked = sorted(names - {c.name for c in PAGES} - set(NOT_PAGES))
    assert unchecked == [], f"pages missing from PAGES in {__name__} (or, with a reason, NOT_PAGES): {unchecked}"
    assert sorted({c.name for c in PAGES if c.name != "404"} - names) == [], "PAGES names a URL that is gone"
