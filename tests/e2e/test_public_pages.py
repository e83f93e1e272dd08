"""The hall's board on a 1920x1080 wall screen, in zh-Hans and English: a call made through
walkins.services shows within 2 seconds, with a chime and the call spoken in Chinese then
English once the operator turned the sound on; a recall is announced again. The kiosk on a
1080x1920 portrait touch screen issues a ticket whose QR code leads to the ticket's own
page, which follows it on a phone.

Speech is recorded, not played: speechSynthesis is replaced before the page loads."""

import re
import time
from collections.abc import Iterator
from datetime import datetime
from datetime import time as clock_time
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import pgettext
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect
from pytest_django.live_server_helper import LiveServer

from bureau.models import Counter, Office, OpeningSession, Service
from tests.e2e.conftest import PHONE, TIMEOUT_MS
from tests.e2e.helpers import save_shot
from tests.factories import OfficeFactory, ServiceFactory, clerk, staff
from walkins import selectors, services
from walkins.models import Ticket
from walkins.public_views import spoken

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WALL: ViewportSize = {"width": 1920, "height": 1080}
PORTRAIT: ViewportSize = {"width": 1080, "height": 1920}
SHOWN_WITHIN = 2.0  # seconds, from the call's commit to the number on the board

RECORD_SPEECH = """
window.__spoken = [];
const fake = {
  speak(u) { window.__spoken.push({ text: u.text, lang: u.lang }); setTimeout(() => u.onend && u.onend(), 20); },
  cancel() {}, pause() {}, resume() {}, getVoices() { return []; },
  speaking: false, pending: false,
};
Object.defineProperty(window, "speechSynthesis", { value: fake, configurable: true });
"""


@pytest.fixture(autouse=True)
def _ten_o_clock() -> Iterator[None]:
    """The clock starts today at 10:00 in Hangzhou, whenever the tests run, and goes on (the
    server's thread reads it too)."""
    real = timezone.now
    started = real()
    ten = datetime.combine(timezone.localdate(timezone=selectors.OFFICE_TZ), clock_time(10), tzinfo=selectors.OFFICE_TZ)
    with mock.patch("django.utils.timezone.now", side_effect=lambda: ten + (real() - started)):
        yield


@pytest.fixture
def hall(db: None) -> dict[str, Any]:
    """XH, open all day every day, windows 3 and 5 serving passports, a clerk at each, and
    four walk-ins waiting."""
    office: Office = OfficeFactory.create(
        code="XH", name_zh="西湖出入境接待大厅", name_en="West Lake Exit-Entry Hall", address_en="388 Wensan Road"
    )
    for kind in (OpeningSession.DayKind.WEEKDAY, OpeningSession.DayKind.WEEKEND):
        OpeningSession.objects.create(office=office, day_kind=kind, opens_at=clock_time(8), closes_at=clock_time(20))
    service: Service = ServiceFactory.create(code="passport-first", weekend_service=True)
    windows, clerks = [], []
    for number in (3, 5):
        window = Counter.objects.create(office=office, number=number)
        window.services.set([service])
        desk = clerk(office, username=f"clerk-{number}")
        services.counter_open(counter=window, by=desk)
        windows.append(window)
        clerks.append(desk)
    for _ in range(4):
        services.ticket_issue(office=office, service=service, channel="general", by=clerks[0])
    return {"office": office, "service": service, "windows": windows, "clerks": clerks}


@pytest.fixture
def wall(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=WALL, device_scale_factor=1, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(RECORD_SPEECH)
    yield context
    context.close()


def said(language: str, number: str, window: int) -> str:
    with translation.override(language):
        return pgettext("spoken call", "Number %(number)s, please go to window %(window)s") % {
            "number": spoken(number),
            "window": window,
        }


def shown(language: str, number: str, window: int) -> str:
    with translation.override(language):
        return pgettext("board call", "%(number)s → window %(window)s") % {"number": number, "window": window}


def wait_for_call(page: Page, number: str, began: float) -> float:
    expect(page.locator(".call-latest .call-number")).to_have_text(number, timeout=int(SHOWN_WITHIN * 1000) + 500)
    return time.monotonic() - began


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_call_shows_on_the_board_within_2_seconds_and_is_spoken_in_chinese_then_english(
    live_server: LiveServer, wall: BrowserContext, hall: dict[str, Any], language: str
) -> None:
    wall.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = wall.new_page()
    page.goto(f"{live_server.url}/board/XH/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator(".board-empty").first).to_be_visible()
    page.locator("button[data-sound]").click()  # the operator's one press
    expect(page.locator("body")).to_have_attribute("data-sound-state", "on")
    assert page.evaluate("localStorage.getItem('board:sound')") == "on"

    windows, clerks = hall["windows"], hall["clerks"]
    delays = []
    for window, desk, number in ((windows[0], clerks[0], "B001"), (windows[1], clerks[1], "B002")):
        began = time.monotonic()
        services.ticket_call_next(counter=window, by=desk)
        delays.append(wait_for_call(page, number, began))
    assert max(delays) < SHOWN_WITHIN, delays
    latest = page.locator(".call-latest").inner_text()
    assert shown(language, "B002", 5) in latest.replace("\n", " ")
    other = "en" if language == "zh-hans" else "zh-hans"
    assert shown(other, "B002", 5) in latest.replace("\n", " ")
    expect(page.locator(".call-list li")).to_have_count(1)
    expect(page.locator('[data-queue="B"] [data-count]')).to_have_text("2", timeout=8000)  # every 5 s

    page.wait_for_function("window.__spoken.length >= 4", timeout=8000)
    spoken_calls = page.evaluate("window.__spoken.filter(u => u.text.trim())")
    assert spoken_calls == [
        {"text": said("zh-hans", "B001", 3), "lang": "zh-CN"},
        {"text": said("en", "B001", 3), "lang": "en-US"},
        {"text": said("zh-hans", "B002", 5), "lang": "zh-CN"},
        {"text": said("en", "B002", 5), "lang": "en-US"},
    ]

    # A recall shows the number on top again, and says it again.
    began = time.monotonic()
    services.ticket_recall(counter=windows[0], by=clerks[0])
    assert wait_for_call(page, "B001", began) < SHOWN_WITHIN
    page.wait_for_function("window.__spoken.filter(u => u.text.trim()).length >= 6", timeout=8000)
    assert page.evaluate("window.__spoken.filter(u => u.text.trim()).slice(-2).map(u => u.lang)") == ["zh-CN", "en-US"]
    save_shot(page, f"board-1920x1080-{language}")


def test_the_board_remembers_the_sound_and_stays_quiet_until_turned_on(
    live_server: LiveServer, wall: BrowserContext, hall: dict[str, Any]
) -> None:
    page = wall.new_page()
    page.goto(f"{live_server.url}/board/XH/")
    expect(page.locator("button[data-sound]")).to_have_attribute("aria-pressed", "false")
    services.ticket_call_next(counter=hall["windows"][0], by=hall["clerks"][0])
    expect(page.locator(".call-latest .call-number")).to_have_text("B001")
    page.wait_for_timeout(1500)
    assert page.evaluate("window.__spoken.length") == 0  # no sound without the operator's press
    page.locator("button[data-sound]").click()
    page.reload()
    # After a reload the choice is remembered; the browser may need a touch to play again.
    assert page.evaluate("localStorage.getItem('board:sound')") == "on"
    page.locator("main").click()
    expect(page.locator("body")).to_have_attribute("data-sound-state", "on")


def test_the_board_keeps_showing_and_says_so_when_the_server_does_not_answer(
    live_server: LiveServer, wall: BrowserContext, hall: dict[str, Any]
) -> None:
    page = wall.new_page()
    page.goto(f"{live_server.url}/board/XH/")
    page.route("**/board/XH/?*", lambda route: route.abort())
    expect(page.locator("[data-offline]")).to_be_visible(timeout=4000)
    expect(page.locator("h1")).to_contain_text("西湖")  # what it showed stays
    page.unroute("**/board/XH/?*")
    services.ticket_call_next(counter=hall["windows"][0], by=hall["clerks"][0])
    expect(page.locator(".call-latest .call-number")).to_have_text("B001", timeout=4000)
    expect(page.locator("[data-offline]")).to_be_hidden()


def _sign_in(context: BrowserContext, live_server: LiveServer, user: User) -> None:
    client = Client()
    client.force_login(user)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_kiosk_gives_a_ticket_that_a_phone_follows(
    live_server: LiveServer, browser: Browser, hall: dict[str, Any], language: str
) -> None:
    kiosk = staff("kiosk", hall["office"], username="kiosk-xh")
    context = browser.new_context(viewport=PORTRAIT, has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(TIMEOUT_MS)
    _sign_in(context, live_server, kiosk)
    page = context.new_page()
    page.goto(f"{live_server.url}/kiosk/XH/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    if language == "en":
        page.locator('.kiosk-lang button[value="en"]').click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    save_shot(page, f"kiosk-1080x1920-{language}-start")
    page.locator('button[name="service"][value="passport-first"]').click()
    expect(page.locator(".kiosk-number")).to_have_text("B005")
    expect(page.locator("[data-ahead]")).to_have_text("4")
    expect(page.locator("[data-countdown]")).to_contain_text("30")
    save_shot(page, f"kiosk-1080x1920-{language}-ticket")
    ticket = Ticket.objects.get(number="B005")
    assert ticket.issued_by_id == kiosk.pk
    # The QR code's address, on a phone: the place, live.
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    phone.set_default_timeout(TIMEOUT_MS)
    phone.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    follow = phone.new_page()
    follow.goto(f"{live_server.url}/ticket/{ticket.pk}/{selectors.ticket_signature(ticket.pk)}/")
    expect(follow.locator("[data-ahead]")).to_have_attribute("data-ahead", "4")
    services.ticket_call_next(counter=hall["windows"][0], by=hall["clerks"][0])
    expect(follow.locator("[data-ahead]")).to_have_attribute("data-ahead", "3", timeout=8000)
    save_shot(follow, f"ticket-phone-{language}")
    # Done: back to the start, in Chinese.
    page.locator("[data-done]").click()
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    assert re.search(r"/kiosk/XH/$", page.url)
    phone.close()
    context.close()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_queue_page_counts_down_on_a_phone(
    live_server: LiveServer, page: Page, hall: dict[str, Any], language: str
) -> None:
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page.goto(f"{live_server.url}/queues/")
    card = page.locator('[data-office="XH"]')
    expect(card).to_have_attribute("data-waiting", "4")
    services.ticket_call_next(counter=hall["windows"][0], by=hall["clerks"][0])
    page.reload()
    expect(card).to_have_attribute("data-waiting", "3")
    save_shot(page, f"queues-phone-{language}")
