"""The booking page on a phone (issue 7): a slow answer never leaves the slots of another
day on screen, a language switch keeps what was typed, and after a failed submit the error
summary at the top takes the focus.

Slots are generated from the real date in Hangzhou, so the tests pick the days the page
offers rather than fixed dates."""

import contextlib
import re
from collections.abc import Iterator
from datetime import time

import pytest
from playwright.sync_api import Page, Route, expect
from pytest_django.live_server_helper import LiveServer

from appointments.models import Booking, SlotTemplate
from appointments.services import slots_generate
from bureau.models import Office, OpeningSession, Service
from tests.e2e.helpers import save_shot, switch_language
from tests.e2e.test_booking import choose, choose_first_free_slot
from tests.factories import OfficeFactory, ServiceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MOBILE = "13812345678"


@pytest.fixture
def office_with_weekends(official_calendar: None) -> Iterator[tuple[Office, Service, Service]]:
    """Office XH, 09:00-10:00 in half hours every day; the passport service on weekends too,
    the Hong Kong/Macao first application on working days only."""
    office: Office = OfficeFactory.create(
        code="XH", mode=Office.Mode.DUAL_TRACK, name_zh="西湖出入境接待大厅", name_en="West Lake Exit-Entry Hall"
    )
    passport: Service = ServiceFactory.create(code="passport-first")
    permit: Service = ServiceFactory.create(
        code="hk-first", document=Service.Document.HK_MACAO, business=Service.Business.FIRST, weekend_service=False
    )
    for kind in (OpeningSession.DayKind.WEEKDAY, OpeningSession.DayKind.WEEKEND):
        template = SlotTemplate.objects.create(
            office=office, day_kind=kind, starts_at=time(9), ends_at=time(10), slot_minutes=30, general_quota=3
        )
        template.services.set([passport, permit])
    assert slots_generate() > 0
    yield office, passport, permit


def offered_days(page: Page) -> list[str]:
    return [d for d in page.locator("#id_date option").evaluate_all("os => os.map(o => o.value)") if d]


def weekend_day(page: Page) -> str:
    """The first Saturday or Sunday offered (its label names the weekday)."""
    for option in page.locator("#id_date option").all():
        value, label = option.get_attribute("value"), option.inner_text()
        if value and re.search(r"星期[六日]|Saturday|Sunday", label):
            return value
    pytest.fail("no weekend day offered")


def test_slots_of_the_day_before_never_show_while_a_slow_day_loads(
    live_server: LiveServer, page: Page, office_with_weekends: tuple[Office, Service, Service]
) -> None:
    _office, passport, _permit = office_with_weekends
    page.goto(live_server.url + "/book/XH/")
    choose(page, "#id_service", str(passport.pk))
    first, second, third = offered_days(page)[:3]
    choose(page, "#id_date", first)
    expect(page.locator(f'#slots input[name=start][value^="{first}T"]')).to_have_count(2)
    choose_first_free_slot(page)

    # The answer for the second day is held back, as on a slow network.
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route(re.compile(rf"/book/XH/\?.*date={second}"), hold)
    page.locator("#id_date").select_option(second)
    # At once, before any answer: no slot of the first day, nothing to book, a loading status.
    expect(page.locator("#slots input[name=start]")).to_have_count(0)
    expect(page.locator("#slots")).to_be_hidden()
    status = page.locator("#slots-status")
    expect(status).to_be_visible()
    expect(status).to_have_text(status.get_attribute("data-loading") or "?")
    expect(status).to_have_attribute("role", "status")
    for _ in range(50):  # each wait lets Playwright run the route handler
        if held:
            break
        page.wait_for_timeout(20)
    assert held, "the request for the second day was not sent"
    save_shot(page, "test_slots_loading")

    # The person changes their mind before it comes: only the latest choice may win.
    page.locator("#id_date").select_option(third)
    expect(page.locator(f'#slots input[name=start][value^="{third}T"]')).to_have_count(2)
    with contextlib.suppress(Exception):  # htmx aborted it (hx-sync): nothing to continue
        held[0].continue_()  # the late answer for the second day
    page.wait_for_timeout(500)
    expect(page.locator("#id_date")).to_have_value(third)
    expect(page.locator("#slots input[name=start]")).to_have_count(2)
    expect(page.locator(f'#slots input[name=start]:not([value^="{third}T"])')).to_have_count(0)
    announced = page.locator("#slots").get_attribute("data-announce")
    assert announced
    expect(status).to_have_text(announced)  # "2 times with places", for screen readers
    expect(status).to_have_class(re.compile(r"\bvisually-hidden\b"))  # once the times show, for screen readers


def test_weekday_only_service_drops_a_weekend_day_and_says_why(
    live_server: LiveServer, page: Page, office_with_weekends: tuple[Office, Service, Service], request
) -> None:
    _office, passport, permit = office_with_weekends
    page.goto(live_server.url + "/book/XH/")
    switch_language(page, "en")
    choose(page, "#id_service", str(passport.pk))
    saturday = weekend_day(page)
    choose(page, "#id_date", saturday)
    expect(page.locator("#slots input[name=start]")).to_have_count(2)

    choose(page, "#id_service", str(permit.pk))
    notice = page.locator("#day-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(
        "is not offered for Exit-Entry Permit for Travelling to and from Hong Kong and Macao"
    )
    expect(notice).to_contain_text("on weekends only ordinary passports")
    expect(page.locator("#id_date")).to_have_value("")
    expect(page.locator(f'#id_date option[value="{saturday}"]')).to_have_count(0)
    expect(page.locator("#id_date_helptext")).to_contain_text("Weekend days are not offered for this service")
    expect(page.locator("main p.error")).to_have_count(0)
    expect(page.locator("#slots input[name=start]")).to_have_count(0)
    save_shot(page, f"{request.node.name}-en")
    switch_language(page, "zh-hans")
    expect(page.locator("#id_date_helptext")).to_be_visible()


def test_switching_language_keeps_what_was_typed(
    live_server: LiveServer, page: Page, office_with_weekends: tuple[Office, Service, Service], request
) -> None:
    _office, passport, _permit = office_with_weekends
    page.goto(live_server.url + "/book/XH/")
    choose(page, "#id_service", str(passport.pk))
    day = offered_days(page)[1]
    choose(page, "#id_date", day)
    start = choose_first_free_slot(page)
    page.locator("#id_name").fill("王小晶")
    page.locator("#id_id_number").fill("33010619900101123X")
    page.locator("#id_phone").fill(MOBILE)
    save_shot(page, f"{request.node.name}-zh")

    switch_language(page, "en")
    expect(page).to_have_url(f"{live_server.url}/book/XH/?service={passport.pk}&date={day}")
    expect(page.locator("main button.primary")).to_have_text("Book")
    expect(page.locator("#id_service")).to_have_value(str(passport.pk))
    expect(page.locator("#id_date")).to_have_value(day)
    expect(page.locator(f'#slots input[name=start][value="{start}"]')).to_be_checked()
    expect(page.locator("#id_name")).to_have_value("王小晶")
    expect(page.locator("#id_phone")).to_have_value(MOBILE)
    expect(page.locator("#id_id_number")).to_have_value("")  # an ID number is never kept
    kept = page.evaluate("() => sessionStorage.getItem('bureau:kept-form')")
    assert kept is None  # used once, then forgotten
    save_shot(page, f"{request.node.name}-en")

    page.locator("#id_id_number").fill("33010619900101123X")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page).to_have_url(re.compile(r"/book/manage/[A-Z0-9]+/[0-9a-f]{32}/\?new=1$"))
    booking = Booking.objects.get()
    assert (booking.name, booking.phone, booking.language) == ("王小晶", MOBILE, "en")


def test_switching_language_after_an_error_keeps_the_form_without_the_csrf_token(
    live_server: LiveServer, page: Page, office_with_weekends: tuple[Office, Service, Service]
) -> None:
    _office, passport, _permit = office_with_weekends
    page.goto(live_server.url + "/book/XH/")
    choose(page, "#id_service", str(passport.pk))
    day = offered_days(page)[0]
    choose(page, "#id_date", day)
    choose_first_free_slot(page)
    page.locator("#id_name").fill("王小晶")
    page.locator("#id_phone").fill("123")
    page.locator("main form button.primary").click()
    expect(page.locator("[data-error-summary]")).to_be_visible()
    # What was stored, seen from the next page (window.name survives the navigation).
    page.evaluate(
        """() => window.addEventListener("submit", () => {
            window.name = sessionStorage.getItem("bureau:kept-form") || "";
        })"""
    )
    switch_language(page, "en")
    kept = page.evaluate("() => window.name")
    assert "王小晶" in kept
    assert "csrfmiddlewaretoken" not in kept
    assert "33010619900101123X" not in kept
    expect(page).to_have_url(f"{live_server.url}/book/XH/?service={passport.pk}&date={day}")
    expect(page.locator("#id_name")).to_have_value("王小晶")
    expect(page.locator("#id_phone")).to_have_value("123")


def test_after_a_failed_submit_the_error_summary_takes_the_focus(
    live_server: LiveServer, page: Page, office_with_weekends: tuple[Office, Service, Service], request
) -> None:
    _office, passport, _permit = office_with_weekends
    page.goto(live_server.url + "/book/XH/")
    choose(page, "#id_service", str(passport.pk))
    choose(page, "#id_date", offered_days(page)[0])
    page.locator("#id_name").fill("王小晶")
    page.locator("#id_id_number").fill("330106199001011234")
    page.locator("#id_phone").fill("123")
    page.locator("main form button.primary").click()

    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    links = summary.locator("a")
    expect(links).to_have_count(3)  # the time, the ID number, the mobile number
    expect(links.nth(0)).to_have_attribute("href", "#id_start")
    expect(links.nth(1)).to_have_attribute("href", "#id_id_number")
    expect(links.nth(2)).to_have_attribute("href", "#id_phone")
    expect(page.locator("#id_id_number")).to_have_value("")
    expect(page.locator("#id_id_number_entered")).to_contain_text("330***********1234")
    save_shot(page, f"{request.node.name}-zh")
    links.nth(2).click()
    expect(page.locator("#id_phone")).to_be_focused()
    links.nth(0).click()
    expect(page.locator("#slots input[name=start]").first).to_be_focused()
    assert Booking.objects.count() == 0
