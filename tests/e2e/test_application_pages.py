"""Journeys: a clerk accepts an application brought by a ticket, reads the "accepted" message,
prints the receipt, finds the application again by ID number, and marks another one mailed
through the confirmation step; in zh-Hans and English, at phone size. No request the browser
sends carries the ID number in its address. And from the counter workstation (tablet size):
a booked applicant's ticket served, the application accepted from it, the ticket and the
booking named on the application, and back to the counter."""

import re
from collections.abc import Iterator, Mapping
from datetime import time, timedelta
from typing import Any
from unittest import mock

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import pgettext
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from appointments.models import Booking, Slot, SlotTemplate
from bureau import selectors, services
from bureau.models import Application, Counter, Office, OpeningSession, Service
from bureau.selectors import ArrivalLink
from tests.e2e.helpers import save_shot
from tests.factories import ApplicationFactory, OfficeFactory, ServiceFactory, clerk
from walkins import services as walkins
from walkins.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ID_NUMBER = "33010619900101123X"
MASKED = "330***********123X"


@pytest.fixture
def hooks() -> Iterator[list[dict[str, Any]]]:
    """A stand-in for walkins: an acceptance follower that records the ticket, and an arrival
    describer that names it (the live server runs in this process, so it sees them)."""
    linked: list[dict[str, Any]] = []

    def follower(*, application: Application, by: User, arrival: Mapping[str, str]) -> None:
        linked.append({"reference": application.reference, **arrival})

    def describer(application: Application) -> list[ArrivalLink]:
        return [
            ArrivalLink(label="Ticket", text=f"B0{entry['ticket']}")
            for entry in linked
            if entry["reference"] == application.reference and "ticket" in entry
        ]

    with (
        mock.patch.object(services, "application_accepted_followers", [follower]),
        mock.patch.object(selectors, "application_arrival_describers", [describer]),
    ):
        yield linked


def _sign_in(page: Page, live_server: LiveServer, user: User, language: str) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url},
            {"name": "django_language", "value": language, "url": live_server.url},
        ]
    )


def _no_violations(page: Page, where: str) -> None:
    violations = Axe().run(page).response["violations"]
    assert violations == [], f"{where}: {[(v['id'], [n['target'] for n in v['nodes']]) for v in violations]}"


TEXT = {
    "zh-hans": {"mark_mailed": "标记为：已邮寄…", "mailed": "已邮寄"},
    "en": {"mark_mailed": "Mark as: Mailed…", "mailed": "Mailed"},
}


@pytest.mark.usefixtures("official_calendar", "issuance_rules")
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_clerk_accepts_prints_finds_and_confirms(
    live_server: LiveServer, page: Page, hooks: list[dict[str, Any]], language: str
) -> None:
    office: Office = OfficeFactory.create(code="XH", name_zh="西湖出入境接待大厅", name_en="West Lake Exit-Entry Hall")
    service: Service = ServiceFactory.create()
    made = ApplicationFactory.create(
        office=office, service=service, reference="MADE2345XY", id_number="11010519491231002X", status="in_production"
    )
    _sign_in(page, live_server, clerk(office), language)
    text = TEXT[language]
    addresses: list[str] = []
    page.on("request", lambda request: addresses.append(request.url))

    # Accept, from the counter's ticket 7.
    page.goto(f"{live_server.url}/applications/new/?ticket=7")
    expect(page.locator("#id_ticket")).to_have_value("7")
    page.locator("#id_service").select_option(str(service.pk))
    page.locator("#id_applicant_name").fill("王小晶")
    page.locator("#id_id_number").fill(ID_NUMBER)
    page.locator("main form button.primary").click()
    expect(page.locator("section.accepted")).to_be_visible()
    application = Application.objects.exclude(pk=made.pk).get()
    assert hooks == [{"reference": application.reference, "ticket": "7"}]
    expect(page.locator("section.accepted strong.ref")).to_have_text(application.reference)
    expect(page.locator("#accepted-due strong")).to_have_text(re.compile(r"\d"))  # the date, computed at once here
    with translation.override(language):  # the label as the catalogue joins it (a full-width colon in Chinese)
        label = pgettext("application arrival", "%(label)s: ") % {"label": "Ticket"}
    expect(page.locator("dl.facts ul.arrival")).to_have_text(re.compile(rf"^\s*{re.escape(label.strip())}\s*B07\s*$"))
    _no_violations(page, "accepted")
    save_shot(page, f"applications-accepted-{language}")

    # The receipt: both languages, the masked name and number, on one A5 sheet across.
    page.locator("section.accepted a.button.primary").click()
    expect(page).to_have_url(f"{live_server.url}/applications/{application.reference}/receipt/")
    parts = page.locator("article.receipt section.receipt-part")
    expect(parts).to_have_count(2)
    expect(parts.nth(0)).to_have_attribute("lang", "zh-hans")
    expect(parts.nth(0)).to_contain_text("受理编号")
    expect(parts.nth(1)).to_contain_text("Reference")
    expect(page.locator("article.receipt")).to_contain_text("王*晶")
    expect(page.locator("article.receipt")).to_contain_text(MASKED)
    assert ID_NUMBER not in page.content()
    assert "王小晶" not in page.locator("article.receipt").inner_text()
    _no_violations(page, "receipt")
    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.locator(".receipt-tools")).to_be_hidden()
    pdf = page.pdf(prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    assert re.search(rb"/MediaBox\s*\[0 0 59[0-9.]+ 4(19|20)[0-9.]*\]", pdf)  # A5 across, in points
    page.emulate_media(media="screen")

    # Found again by the ID number, typed in groups: answered in place, the box left empty.
    page.goto(f"{live_server.url}/applications/")
    page.locator("#id_q").fill("330106 19900101 123x")
    page.locator("main form button.primary").click()
    expect(page.locator("p.status")).to_contain_text(MASKED)
    expect(page.locator("td.ref")).to_have_text([application.reference])
    expect(page.locator("#id_q")).to_have_value("")
    assert page.url == f"{live_server.url}/applications/"
    save_shot(page, f"applications-id-search-{language}")

    # Mark the other one mailed: a confirmation first, which names what will happen.
    page.goto(f"{live_server.url}/applications/{made.reference}/")
    page.get_by_role("link", name=text["mark_mailed"]).click()
    expect(page.locator("ul.consequences li")).to_have_count(5)
    assert Application.objects.get(pk=made.pk).status == "in_production"
    _no_violations(page, "confirmation")
    save_shot(page, f"applications-confirm-{language}")
    page.locator("main form button.primary").click()
    expect(page).to_have_url(f"{live_server.url}/applications/{made.reference}/")
    expect(page.locator("dl.facts .state")).to_have_text(text["mailed"])
    assert Application.objects.get(pk=made.pk).status == "mailed"

    spoken = [address for address in addresses if re.search(r"3301|123x|123X", address, re.IGNORECASE)]
    assert spoken == []


def _booked_and_checked_in(office: Office, service: Service, desk: User) -> tuple[Booking, Ticket]:
    """A booking that starts this minute, checked in at the desk: its A ticket waits."""
    start = timezone.now().replace(second=0, microsecond=0)
    template = SlotTemplate.objects.create(
        office=office, day_kind="weekday", starts_at=time(9), ends_at=time(10), general_quota=3
    )
    slot = Slot.objects.create(office=office, template=template, starts_at=start, ends_at=start + timedelta(minutes=30))
    booking = Booking.objects.create(
        reference="BK7Q2M4X",
        office=office,
        service=service,
        slot=slot,
        starts_at=start,
        name="王小晶",
        id_number=ID_NUMBER,
        phone="13812345678",
        created_at=start - timedelta(days=1),
        changed_at=start - timedelta(days=1),
    )
    return booking, walkins.ticket_check_in(code=booking.reference, office=office, by=desk).ticket


@pytest.mark.usefixtures("official_calendar", "issuance_rules")
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_from_the_counter_to_the_application_and_back(live_server: LiveServer, page: Page, language: str) -> None:
    office: Office = OfficeFactory.create(code="XH", name_zh="西湖出入境接待大厅", name_en="West Lake Exit-Entry Hall")
    for kind in (OpeningSession.DayKind.WEEKDAY, OpeningSession.DayKind.WEEKEND):
        OpeningSession.objects.create(office=office, day_kind=kind, opens_at=time(0), closes_at=time(23, 59))
    service: Service = ServiceFactory.create(code="passport-first")
    counter = Counter.objects.create(office=office, number=5)
    counter.services.set([service])
    desk = clerk(office, username="desk-5")
    booking, ticket = _booked_and_checked_in(office, service, desk)
    walkins.counter_open(counter=counter, by=desk)
    page.set_viewport_size({"width": 820, "height": 1180})
    _sign_in(page, live_server, desk, language)

    page.goto(f"{live_server.url}/counter/")
    page.locator("#act-call_next").click()
    expect(page.locator("[data-current]")).to_have_text("A001")
    page.locator("#act-complete").click()
    page.locator("#act-accept").click()
    expect(page).to_have_url(f"{live_server.url}/applications/new/?ticket={ticket.pk}")
    expect(page.locator("#id_ticket")).to_have_value(str(ticket.pk))
    page.locator("#id_service").select_option(str(service.pk))
    page.locator("#id_applicant_name").fill("王小晶")
    page.locator("#id_id_number").fill(ID_NUMBER)
    page.locator("main form button.primary").click()

    expect(page.locator("section.accepted")).to_be_visible()
    application = Application.objects.get()
    assert list(Ticket.objects.get(pk=ticket.pk).applications.all()) == [application]
    came_with = page.locator("dl.facts ul.arrival li")
    expect(came_with).to_have_count(2)
    expect(came_with.nth(0)).to_contain_text("A001")
    expect(came_with.nth(0)).to_contain_text("5")
    expect(came_with.nth(1)).to_contain_text(booking.reference)
    expect(came_with.nth(1)).to_contain_text("王*晶")
    _no_violations(page, "accepted from the counter")
    save_shot(page, f"applications-from-counter-{language}")

    page.locator('section.accepted a.button[href="/counter/"]').click()
    expect(page.locator(f'#workstation a[href="/applications/{application.reference}/"]')).to_be_visible()
