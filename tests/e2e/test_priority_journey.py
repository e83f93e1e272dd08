"""An emergency case in Chromium, in zh-Hans and English: from the applicant's phone to the
first call at the window.

Two walk-ins (B001, B002) already wait at the West Lake hall. On a phone, an applicant whose
visa is about to expire files a case at /emergency/ with the visa as a real PDF and lands on
the case's private page, awaiting verification. A clerk of the hall finds the case on the
priority desk, approves it and issues its emergency ticket, E001, each from a confirmation
page. At window 3 the clerk calls next three times: E001 first, then B001 and B002. The
applicant's page then says approved, served with E001. Assertions rest on ids, data attributes,
ticket numbers and the site's own catalogue, never on Chinese written out here.
Screenshots land in /tmp/shots/priority-<language>-*.png."""

from datetime import time, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from django.utils.functional import Promise
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfWriter
from pytest_django.fixtures import SettingsWrapper
from pytest_django.live_server_helper import LiveServer

from bureau import selectors as core
from bureau.models import Counter, Office, OpeningSession, Service
from priority import grounds, selectors
from priority.models import Case
from tests.e2e.helpers import save_shot, switch_language
from tests.e2e.test_counter_desk import DESK, LANGUAGES, open_page
from tests.e2e.test_walkin_journeys import OFFICE_NAMES, shown_in
from tests.factories import OfficeFactory, ServiceFactory, clerk, walk_in_ticket
from walkins.models import Ticket, TicketChannel

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GROUND = "visa_expiry"  # one document: the visa
NAME = "王小晶"
ID_NUMBER = "33010619900101123X"
MOBILE = "13812345678"


@pytest.fixture
def hall(db: None) -> dict[str, Any]:
    """XH, open all day, window 3 serving first passports and its clerk; B001 and B002 wait."""
    office: Office = OfficeFactory.create(code="XH", name_zh=OFFICE_NAMES["zh-hans"], name_en=OFFICE_NAMES["en"])
    for kind in (OpeningSession.DayKind.WEEKDAY, OpeningSession.DayKind.WEEKEND):
        OpeningSession.objects.create(office=office, day_kind=kind, opens_at=time(0), closes_at=time(23, 59))
    passport: Service = ServiceFactory.create(code="passport-first")
    window = Counter.objects.create(office=office, number=3)
    window.services.set([passport])
    desk = clerk(office, username="clerk-3")
    waiting = [walk_in_ticket(office=office, service=passport, channel="general", by=desk) for _ in range(2)]
    assert [ticket.number for ticket in waiting] == ["B001", "B002"]
    return {"office": office, "passport": passport, "window": window, "clerk": desk}


@pytest.fixture
def visa_pdf(tmp_path: Path) -> Path:
    """A real (blank, one-page) PDF, as a phone's scan would be."""
    path = tmp_path / "visa.pdf"
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    with path.open("wb") as out:
        writer.write(out)
    return path


def said(language: str, text: Promise | str) -> str:
    """A lazy string (a status, a document's name) as the page in `language` shows it."""
    with translation.override(language):
        return str(text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_approved_emergency_case_is_called_before_the_walk_ins_waiting(
    live_server: LiveServer,
    browser: Browser,
    page: Page,
    hall: dict[str, Any],
    visa_pdf: Path,
    language: str,
    settings: SettingsWrapper,
    tmp_path: Path,
) -> None:
    url = live_server.url
    settings.EVIDENCE_ROOT = tmp_path / "evidence"
    settings.PUBLIC_BASE_URL = url  # the case's link and the ticket's QR code lead to this server
    office, window = hall["office"], hall["window"]
    shot = f"priority-{language}"
    visa = grounds.BY_CODE[GROUND].evidence[0]
    trip = (core.office_today() + timedelta(days=10)).isoformat()

    # 1. On a phone (Chinese by its locale; English by the header's button): the grounds.
    page.goto(f"{url}/emergency/")
    shown_in(page, "zh-hans")
    if language == "en":
        switch_language(page, "en")
    expect(page.locator("#case-details input[type=file]")).to_have_count(0)  # the ground comes first
    save_shot(page, f"{shot}-01-grounds-phone")

    # 2. The visa ground: its one document is asked for, then the trip and the applicant.
    page.locator(f'#ground-form input[name="ground"][value="{GROUND}"]').check()
    file_input = page.locator(f"#case-details #id_{visa.code}")
    expect(file_input).to_have_attribute("type", "file")  # htmx swapped the details in
    expect(page.locator(f'#case-details label[for="id_{visa.code}"]')).to_contain_text(said(language, visa.name))
    expect(page.locator("#case-details input[type=file]")).to_have_count(1)
    expect(page.locator('#case-details input[name="ground"]')).to_have_value(GROUND)
    page.locator("#id_office").select_option(str(office.pk))
    expect(page.locator("#id_office option:checked")).to_have_text(OFFICE_NAMES[language])
    file_input.set_input_files(visa_pdf)
    page.locator("#id_trip_date").fill(trip)
    page.locator("#id_description").fill("签证下周到期，需尽快出境")
    page.locator("#id_name").fill(NAME)
    page.locator("#id_id_number").fill(ID_NUMBER)
    page.locator("#id_phone").fill(MOBILE)
    save_shot(page, f"{shot}-02-case-form-phone")
    page.locator("#case-submit").click()

    # 3. The case's private page: received, awaiting verification, the visa listed.
    page.wait_for_url(f"{url}/emergency/**")
    case = Case.objects.get()
    case_url = f"{url}/emergency/{case.reference}/{selectors.case_token(case)}/"
    assert page.url == f"{case_url}?new=1"
    assert (case.office, case.ground, case.status, case.language) == (office, GROUND, Case.Status.SUBMITTED, language)
    assert (case.name, case.id_number, case.phone, case.trip_date.isoformat()) == (NAME, ID_NUMBER, MOBILE, trip)
    assert list(case.evidence.values_list("code", "original_name", "content_type")) == [
        (visa.code, "visa.pdf", "application/pdf")
    ]
    shown_in(page, language)
    expect(page.locator("main h1")).to_contain_text(case.reference)
    expect(page.locator(".case-state")).to_have_class("case-state case-submitted")
    expect(page.locator("#state-title .state-submitted")).to_have_text(said(language, Case.Status.SUBMITTED.label))
    expect(page.locator(".docs-received li")).to_have_count(1)
    expect(page.locator(".docs-received li")).to_contain_text("visa.pdf")
    assert ID_NUMBER not in page.locator("main").inner_text()
    save_shot(page, f"{shot}-03-case-received-phone")

    # 4. The clerk of window 3 at the priority desk: the case waits for a decision.
    desk = open_page(browser, live_server, hall["clerk"], DESK, language)
    try:
        desk.goto(f"{url}/counter/XH/priority/")
        shown_in(desk, language)
        row = desk.locator(f'tr[data-case="{case.reference}"]')
        expect(row).to_have_count(1)
        expect(row.locator(".state-submitted")).to_be_visible()
        assert NAME not in row.inner_text()  # masked on the list
        save_shot(desk, f"{shot}-04-priority-desk")
        row.locator("a").click()

        # 5. The case: its document, then Approve and confirm.
        desk.wait_for_url(f"{url}/counter/XH/cases/{case.reference}/")
        expect(desk.locator(".docs-list a")).to_have_count(1)
        expect(desk.locator(".docs-list a")).to_contain_text(said(language, visa.name))
        save_shot(desk, f"{shot}-05-case-to-decide")
        desk.locator('button[name="decision"][value="approve"]').click()
        expect(desk.locator("#confirm-yes")).to_be_visible()
        expect(desk.locator("main h1")).to_contain_text(case.reference)
        save_shot(desk, f"{shot}-06-confirm-approval")
        desk.locator("#confirm-yes").click()
        expect(desk.locator("main h1 .state-approved")).to_have_text(said(language, Case.Status.APPROVED.label))
        case.refresh_from_db()
        assert (case.status, case.expedited, case.ticket_id) == (Case.Status.APPROVED, True, None)

        # 6. Its E ticket for a first passport, confirmed: E001.
        ticket_form = desk.locator('form:has(input[name="action"][value="ticket"])')
        ticket_form.locator('select[name="service"]').select_option(str(hall["passport"].pk))
        save_shot(desk, f"{shot}-07-case-approved")
        ticket_form.locator("#ticket-submit").click()
        desk.locator("#confirm-yes").click()
        expect(desk.locator("#ticket-title")).to_contain_text("E001")
        expect(desk.locator(".printed-ticket-number")).to_contain_text("E001")
        save_shot(desk, f"{shot}-08-e-ticket-issued")
        case.refresh_from_db()
        assert case.ticket is not None
        assert (case.ticket.number, case.ticket.channel) == ("E001", TicketChannel.EMERGENCY)

        # 7. At window 3: E001 is called before B001 and B002, who came first.
        desk.goto(f"{url}/counter/")
        desk.locator(f'form:has(input[name="counter"][value="{window.pk}"]) button').click()
        expect(desk.locator("#workstation")).to_have_attribute("data-state", "idle")
        expect(desk.locator("#queues-title .count")).to_have_text("3")
        called = []
        for left in ("2", "1", "0"):
            desk.locator("#act-call_next").click()
            expect(desk.locator("#queues-title .count")).to_have_text(left)
            called.append(desk.locator("[data-current]").inner_text().strip())
            if left == "2":
                save_shot(desk, f"{shot}-09-window-3-calls-e001")
        assert called == ["E001", "B001", "B002"]
        assert sorted(Ticket.objects.values_list("number", "status")) == [
            ("B001", Ticket.Status.COMPLETED),
            ("B002", Ticket.Status.CALLED),
            ("E001", Ticket.Status.COMPLETED),
        ]
    finally:
        desk.context.close()

    # 8. The applicant's page: approved, and served with its ticket (E001 is done).
    page.goto(case_url)
    shown_in(page, language)
    expect(page.locator(".case-state")).to_have_class("case-state case-approved")
    expect(page.locator("#state-title .state-approved")).to_have_text(said(language, Case.Status.APPROVED.label))
    expect(page.locator("#case-served")).to_contain_text("E001")
    expect(page.locator("form input[type=file]")).to_have_count(0)  # decided: no more documents
    save_shot(page, f"{shot}-10-case-approved-phone")
