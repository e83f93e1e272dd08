"""Journey 1: the public home page lists the offices and their hours, in both languages."""

from datetime import time

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from bureau.models import Office, OpeningSession
from tests.e2e.helpers import switch_language
from tests.factories import OfficeFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_home_lists_offices_and_switches_language(live_server: LiveServer, page: Page) -> None:
    office: Office = OfficeFactory.create(
        code="wulin",
        name_zh="杭州市公安局出入境管理局武林接待大厅",
        name_en="Wulin Exit-Entry Reception Hall",
        address_zh="解放东路8号",
        address_en="8 Jiefang East Road",
    )
    OpeningSession.objects.create(
        office=office, day_kind=OpeningSession.DayKind.WEEKDAY, opens_at=time(9), closes_at=time(17)
    )
    OpeningSession.objects.create(
        office=office, day_kind=OpeningSession.DayKind.WEEKEND, opens_at=time(9), closes_at=time(12)
    )
    card = page.locator('li.card[data-office="wulin"]')

    page.goto(live_server.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator('header form.lang button[value="zh-hans"]')).to_have_attribute("aria-current", "true")
    expect(page.locator("header .brand")).to_have_text("出入境服务")
    expect(page.locator("main h1")).to_have_text("在杭州办理护照及往来港澳台通行证")
    expect(page.locator("main h2")).to_have_text(["预约及现场办理"])
    expect(card.locator("h3")).to_have_text("杭州市公安局出入境管理局武林接待大厅")
    expect(card.locator("p.muted")).to_have_text("解放东路8号")
    expect(card.locator("dl.hours dt")).to_have_text(["工作日", "周末"])
    expect(card.locator("dl.hours dd")).to_have_text(["09:00–17:00", "09:00–12:00"])

    switch_language(page, "en")
    expect(page).to_have_url(live_server.url + "/")
    expect(page.locator("header .brand")).to_have_text("Exit-Entry Services")
    expect(page.locator("main h1")).to_have_text("Passports and travel permits in Hangzhou")
    expect(page.locator("main h2")).to_have_text(["Appointments and walk-ins"])
    expect(card.locator("h3")).to_have_text("Wulin Exit-Entry Reception Hall")
    expect(card.locator("p.muted")).to_have_text("8 Jiefang East Road")
    expect(card.locator("dl.hours dt")).to_have_text(["Working days", "Weekends"])
    expect(card.locator("dl.hours dd")).to_have_text(["09:00–17:00", "09:00–12:00"])

    switch_language(page, "zh-hans")
    expect(page).to_have_url(live_server.url + "/")
    expect(page.locator("main h1")).to_have_text("在杭州办理护照及往来港澳台通行证")
    expect(card.locator("h3")).to_have_text("杭州市公安局出入境管理局武林接待大厅")
    expect(card.locator("dl.hours dt")).to_have_text(["工作日", "周末"])
