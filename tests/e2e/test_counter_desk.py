"""The clerk's pages in Chromium: the counter workstation driven by its keyboard shortcuts at
desk and tablet sizes, check-in at phone size with a handheld scanner (the camera's fallback)
and with the camera, and walk-in triage to the self-service machines; axe over the states the
page list cannot reach, in zh-Hans and English."""

import re
from collections.abc import Iterator
from datetime import time, timedelta
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Page, ViewportSize, expect
from pytest_django.live_server_helper import LiveServer

from appointments.models import Booking, Slot, SlotTemplate
from bureau.models import Counter, Office, OpeningSession, Service
from tests.e2e.conftest import TIMEOUT_MS
from tests.e2e.helpers import save_shot
from tests.factories import OfficeFactory, ServiceFactory, clerk, walk_in_ticket
from walkins import services
from walkins.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESK: ViewportSize = {"width": 1280, "height": 800}
TABLET: ViewportSize = {"width": 820, "height": 1180}
LANGUAGES = ["zh-hans", "en"]


@pytest.fixture
def hall(db: None) -> dict[str, Any]:
    office: Office = OfficeFactory.create(code="XH", name_zh="西湖出入境接待大厅", name_en="West Lake Exit-Entry Hall")
    for kind in (OpeningSession.DayKind.WEEKDAY, OpeningSession.DayKind.WEEKEND):
        OpeningSession.objects.create(office=office, day_kind=kind, opens_at=time(0), closes_at=time(23, 59))
    passport: Service = ServiceFactory.create(code="passport-first")
    endorsement: Service = ServiceFactory.create(
        code="hk-macao-endorsement", document="hk_macao", business="endorsement"
    )
    counter = Counter.objects.create(office=office, number=5)
    counter.services.set([passport, endorsement])
    return {
        "office": office,
        "passport": passport,
        "endorsement": endorsement,
        "counter": counter,
        "clerk": clerk(office, username="desk-5"),
    }


def booking_now(hall: dict[str, Any], reference: str, name: str = "王小晶") -> Booking:
    """A booking that starts this minute (so it can be checked in now), made directly."""
    start = timezone.now().replace(second=0, microsecond=0)
    template = SlotTemplate.objects.create(
        office=hall["office"], day_kind="weekday", starts_at=time(9), ends_at=time(10), general_quota=3
    )
    slot = Slot.objects.create(
        office=hall["office"], template=template, starts_at=start, ends_at=start + timedelta(minutes=30)
    )
    return Booking.objects.create(
        reference=reference,
        office=hall["office"],
        service=hall["passport"],
        slot=slot,
        starts_at=start,
        name=name,
        id_number="33010619900101123X",
        phone="13812345678",
        created_at=start - timedelta(days=1),
        changed_at=start - timedelta(days=1),
    )


def open_page(browser: Browser, live_server: LiveServer, user: User, size: ViewportSize, language: str) -> Page:
    context = browser.new_context(viewport=size, device_scale_factor=1, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(TIMEOUT_MS)
    client = Client()
    client.force_login(user)
    context.add_cookies(
        [
            {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url},
            {"name": "django_language", "value": language, "url": live_server.url},
        ]
    )
    return context.new_page()


@pytest.fixture
def pages(browser: Browser) -> Iterator[list[Page]]:
    opened: list[Page] = []
    yield opened
    for each in opened:
        each.context.close()


def no_violations(page: Page, what: str) -> None:
    violations = Axe().run(page).response["violations"]
    assert not violations, f"{what}: " + "; ".join(f"{v['id']}: {v['help']}" for v in violations)


def key(page: Page, letter: str) -> None:
    """Press a shortcut with the focus on the page, not in a field, once the page's deferred
    scripts (counter.js, htmx) have run: a key pressed before them does nothing."""
    page.wait_for_load_state("load")
    page.keyboard.press(letter)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_workstation_runs_on_its_keys(
    live_server: LiveServer, browser: Browser, pages: list[Page], hall: dict[str, Any], language: str
) -> None:
    office, passport, endorsement, desk = hall["office"], hall["passport"], hall["endorsement"], hall["clerk"]
    for _ in range(2):
        services.ticket_issue(office=office, service=passport, channel="general", by=desk)
    walk_in_ticket(office=office, service=endorsement, channel="green", by=desk)
    page = open_page(browser, live_server, desk, DESK, language)
    pages.append(page)
    page.goto(live_server.url + "/counter/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    save_shot(page, f"counter-{language}-opener-desk")
    page.locator(f'form:has(input[name="counter"][value="{hall["counter"].pk}"]) button').click()
    station = page.locator("#workstation")
    expect(station).to_have_attribute("data-state", "idle")
    expect(page.locator("#act-call_next")).to_have_class(re.compile(r"\bprimary\b"))
    expect(page.locator("#queues-title .count")).to_have_text("3")

    key(page, "n")  # call next: the green channel first
    expect(page.locator("[data-current]")).to_have_text("G001")
    expect(page.locator("#counter-notice")).to_contain_text("G001")
    expect(page.locator("#act-complete")).to_be_focused()  # the obvious next action has the focus
    expect(page.locator("#queues-title .count")).to_have_text("2")

    key(page, "r")  # recall
    expect(station).to_contain_text("1 / 2")
    key(page, "p")  # park
    expect(station).to_have_attribute("data-state", "idle")
    expect(page.locator(".parked")).to_contain_text("G001")

    key(page, "n")
    expect(page.locator("[data-current]")).to_have_text("B001")
    key(page, "t")  # transfer: the focus goes to the service list; letters there are not shortcuts
    expect(page.locator("#transfer-service")).to_be_focused()
    page.keyboard.press("n")
    page.wait_for_timeout(300)
    expect(page.locator("[data-current]")).to_have_text("B001")
    page.keyboard.press("Escape")
    expect(page.locator("#transfer-service")).not_to_be_focused()

    key(page, "c")  # complete: accepting the application is next, with the focus
    expect(station).to_have_attribute("data-state", "served")
    accept = page.locator("#act-accept")
    expect(accept).to_be_focused()
    b001 = Ticket.objects.get(number="B001")
    expect(accept).to_have_attribute("href", f"/applications/new/?ticket={b001.pk}")
    save_shot(page, f"counter-{language}-served-desk")

    key(page, "1")  # resume the parked G001
    expect(page.locator("[data-current]")).to_have_text("G001")
    page.once("dialog", lambda dialog: dialog.accept())
    key(page, "x")  # no-show, confirmed
    expect(station).to_have_attribute("data-state", "idle")
    assert Ticket.objects.get(number="G001").status == Ticket.Status.NO_SHOW

    key(page, "n")
    expect(page.locator("[data-current]")).to_have_text("B002")
    # The counts come back from the database by themselves (htmx polling).
    services.ticket_issue(office=office, service=passport, channel="general", by=desk)
    expect(page.locator("#queues-title .count")).to_have_text("1", timeout=8_000)
    save_shot(page, f"counter-{language}-serving-desk")
    no_violations(page, f"workstation serving [{language}]")

    page.set_viewport_size(TABLET)
    save_shot(page, f"counter-{language}-serving-tablet")

    key(page, "q")  # close: refused while a ticket is being served, in words
    expect(page.locator("main")).to_contain_text(re.compile("Finish, park or transfer|请先"))
    assert Ticket.objects.get(number="B002").status == Ticket.Status.CALLED


def test_keys_do_nothing_while_typing_or_with_modifiers(
    live_server: LiveServer, browser: Browser, pages: list[Page], hall: dict[str, Any]
) -> None:
    desk = hall["clerk"]
    services.counter_open(counter=hall["counter"], by=desk)
    services.ticket_issue(office=hall["office"], service=hall["passport"], channel="general", by=desk)
    page = open_page(browser, live_server, desk, DESK, "en")
    pages.append(page)
    page.goto(live_server.url + "/counter/")
    page.keyboard.press("Control+n")
    page.keyboard.press("Alt+n")
    page.wait_for_timeout(500)
    assert Ticket.objects.get().status == Ticket.Status.WAITING
    expect(page.locator("#act-call_next")).to_contain_text("N")  # the key is shown on the button
    page.locator("#act-call_next").click()  # the mouse works too
    expect(page.locator("[data-current]")).to_have_text("B001")


@pytest.mark.parametrize("language", LANGUAGES)
def test_check_in_at_phone_size_with_a_handheld_scanner_when_there_is_no_camera_reader(
    live_server: LiveServer, browser: Browser, pages: list[Page], hall: dict[str, Any], language: str
) -> None:
    booking = booking_now(hall, "ABCDEFGH23")
    page = open_page(browser, live_server, hall["clerk"], {"width": 390, "height": 844}, language)
    pages.append(page)
    page.add_init_script("delete window.BarcodeDetector;")
    page.goto(live_server.url + "/counter/XH/check-in/")
    field = page.locator("#id_code")
    expect(field).to_be_focused()  # ready for the scanner
    expect(page.locator("[data-camera-start]")).to_be_hidden()
    expect(page.locator("[data-camera-unavailable]")).to_be_visible()
    save_shot(page, f"check-in-{language}-phone")
    no_violations(page, f"check-in [{language}]")

    page.keyboard.type("abcdefgh23")  # the scanner types the code and presses Enter
    page.keyboard.press("Enter")
    expect(page.locator(".printed-ticket-number")).to_contain_text("A001")
    expect(page.locator(".printed-ticket")).to_contain_text("王*晶")
    expect(page.locator("button[data-print]")).to_be_visible()
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CHECKED_IN
    save_shot(page, f"check-in-{language}-ticket-phone")
    no_violations(page, f"check-in ticket [{language}]")

    page.locator("#id_code").fill(booking.reference)  # twice: refused, with the first ticket
    page.locator("#id_code").press("Enter")
    expect(page.locator(".refusal")).to_contain_text("A001")
    assert Ticket.objects.count() == 1

    page.locator("#id_id_number").fill("33010619900101123X")
    page.locator("form:has(#id_id_number) button[type=submit]").click()
    expect(page.locator(".lookup-result")).to_contain_text("330***********123X")
    assert "33010619900101123X" not in page.content()
    save_shot(page, f"check-in-{language}-lookup-phone")
    no_violations(page, f"check-in look-up [{language}]")


FAKE_CAMERA = """
(() => {
  class FakeDetector {
    static async getSupportedFormats() { return ["qr_code"]; }
    constructor() { this.calls = 0; }
    async detect() { this.calls += 1; return this.calls > 2 ? [{ rawValue: "CAMERA2345" }] : []; }
  }
  window.BarcodeDetector = FakeDetector;
  const canvas = document.createElement("canvas");
  canvas.width = 320; canvas.height = 240;
  navigator.mediaDevices.getUserMedia = async () => {
    const ctx = canvas.getContext("2d"); ctx.fillStyle = "#888"; ctx.fillRect(0, 0, 320, 240);
    return canvas.captureStream(5);
  };
})();
"""


def test_check_in_with_the_camera_where_the_browser_reads_qr_codes(
    live_server: LiveServer, browser: Browser, pages: list[Page], hall: dict[str, Any]
) -> None:
    booking = booking_now(hall, "CAMERA2345")
    page = open_page(browser, live_server, hall["clerk"], {"width": 390, "height": 844}, "en")
    pages.append(page)
    page.add_init_script(FAKE_CAMERA)
    page.goto(live_server.url + "/counter/XH/check-in/")
    expect(page.locator("[data-camera-unavailable]")).to_be_hidden()
    page.locator("[data-camera-start]").click()
    expect(page.locator(".printed-ticket-number")).to_contain_text("A001")
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CHECKED_IN


@pytest.mark.parametrize("language", LANGUAGES)
def test_triage_sends_an_eligible_endorsement_to_the_machines(
    live_server: LiveServer, browser: Browser, pages: list[Page], hall: dict[str, Any], language: str
) -> None:
    page = open_page(browser, live_server, hall["clerk"], {"width": 390, "height": 844}, language)
    pages.append(page)
    page.goto(live_server.url + "/counter/XH/triage/")
    situation = page.locator("[data-situation]")
    expect(situation).to_be_hidden()
    page.locator(f'input[name="service"][value="{hall["passport"].pk}"]').check()
    expect(situation).to_be_hidden()
    page.locator(f'input[name="service"][value="{hall["endorsement"].pk}"]').check()
    expect(situation).to_be_visible()
    for name, value in (("permit", "chip_card"), ("residency", "in_province"), ("endorsement", "individual")):
        page.locator(f'input[name="{name}"][value="{value}"]').check()
    page.locator("#triage-submit").click()
    expect(page.locator("[data-verdict=machine]")).to_be_visible()
    assert Ticket.objects.count() == 0
    save_shot(page, f"triage-{language}-machine-phone")
    no_violations(page, f"triage machine [{language}]")
    page.locator("#counter-anyway").click()
    expect(page.locator(".printed-ticket-number")).to_contain_text("B001")
    assert Ticket.objects.get().service == hall["endorsement"]
    page.goto(live_server.url + "/counter/XH/triage/")
    page.locator(f'input[name="service"][value="{hall["endorsement"].pk}"]').check()
    page.locator("#triage-submit").click()  # the situation is not answered: each question says so
    expect(page.locator("#error-summary")).to_be_visible()
    save_shot(page, f"triage-{language}-errors-phone")
    no_violations(page, f"triage errors [{language}]")
