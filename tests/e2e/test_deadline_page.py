"""Journey 3: the public deadline page, in English, across the 2026 National Day holiday."""

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from bureau import selectors
from tests.e2e.helpers import switch_language

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.usefixtures("official_calendar", "issuance_rules")
def test_deadline_preview_over_national_day(live_server: LiveServer, page: Page) -> None:
    page.goto(live_server.url + "/deadlines/")
    switch_language(page, "en")
    expect(page).to_have_url(live_server.url + "/deadlines/")
    expect(page.locator("main h1")).to_have_text("When will my documents be ready?")

    page.locator("#id_accepted_on").fill("2026-09-30")
    page.locator("#id_residency").select_option("in_province")
    page.locator("main form button[type=submit]").click()

    # Oct 1-7 are holidays and Sat Oct 10 a make-up working day: Oct 8, 9, 10, 12, 13, 14, 15.
    result = page.locator("#deadline-result .result")
    expect(result).to_have_attribute("data-due-on", "2026-10-15")
    expect(result.locator("p").first).to_have_text("Your documents will be ready by")
    expect(result.locator("p.big")).to_have_text("15 October 2026 (Thursday)")
    expect(result.locator(".warn")).to_have_count(0)
    expect(page).to_have_url(live_server.url + "/deadlines/?accepted_on=2026-09-30&residency=in_province")


@pytest.mark.usefixtures("official_calendar", "issuance_rules")
def test_date_input_starts_with_today_in_both_languages(live_server: LiveServer, page: Page) -> None:
    """The browser takes a date input's value only in ISO 8601: rendered as 2026/11/29 (the
    Chinese format) it would start empty."""
    today = selectors.office_today().isoformat()
    page.goto(live_server.url + "/deadlines/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#id_accepted_on")).to_have_value(today)
    switch_language(page, "en")
    expect(page.locator("#id_accepted_on")).to_have_value(today)
