"""Journeys 4-6: booking an appointment on a phone, then cancelling (in Chinese) or moving
it (in English) through the private manage link; a bad ID number is refused at its field.

Slots are generated from the real date in Hangzhou, so the tests pick the first day the
page offers that has free slots rather than a fixed date."""

import re
from datetime import datetime, time

import pytest
from django.utils import timezone
from playwright.sync_api import Dialog, Page, expect
from pytest_django.live_server_helper import LiveServer

from appointments.models import Booking, Slot, SlotTemplate
from appointments.services import OFFICE_TZ, slots_generate
from bureau.models import Office, OpeningSession, Service
from tests.e2e.helpers import save_shot, switch_language
from tests.factories import OfficeFactory, ServiceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GOOD_ID = "33010619900101123X"
BAD_ID = "330106199001011234"  # wrong check character
MOBILE = "13812345678"
MANAGE = r"/book/manage/([A-Z0-9]+)/([0-9a-f]{32})/"  # reference, token


@pytest.fixture
def bookable(official_calendar: None) -> tuple[Office, Service]:
    """Office XH with half-hour slots 09:00-10:00 every working day and weekend, 3 general
    places each, from tomorrow to the end of the booking window."""
    office: Office = OfficeFactory.create(
        code="XH", mode=Office.Mode.DUAL_TRACK, name_zh="西湖出入境接待大厅", name_en="West Lake Exit-Entry Hall"
    )
    service: Service = ServiceFactory.create(code="passport-first")
    for kind in (OpeningSession.DayKind.WEEKDAY, OpeningSession.DayKind.WEEKEND):
        template = SlotTemplate.objects.create(
            office=office, day_kind=kind, starts_at=time(9), ends_at=time(10), slot_minutes=30, general_quota=3
        )
        template.services.set([service])
    assert slots_generate() > 0
    return office, service


def choose(page: Page, select: str, value: str) -> None:
    """Pick an option of a select that htmx watches and wait until the fresh slot list is in:
    the old #slots is marked, and the swap replaces it with an unmarked one."""
    page.locator("#slots").evaluate("el => { el.dataset.stale = 'true'; }")
    page.locator(select).select_option(value)
    expect(page.locator("#slots:not([data-stale])")).to_be_attached()


def choose_day_with_slots(page: Page, *, other_than: str | None = None) -> str:
    """The first day offered in #id_date (other than `other_than`) that shows a free slot."""
    days = page.locator("#id_date option").evaluate_all("options => options.map(o => o.value)")
    for day in days:
        if day and day != other_than:
            choose(page, "#id_date", day)
            if page.locator("#slots input[name=start]:enabled").count():
                return str(day)
    pytest.fail(f"none of the days offered has a free slot: {days}")


def choose_first_free_slot(page: Page) -> str:
    """Tap the first slot with places; its start (ISO) is returned."""
    label = page.locator("#slots label.slot").filter(has=page.locator("input[name=start]:enabled")).first
    radio = label.locator("input[name=start]")
    start = radio.get_attribute("value")
    assert start
    label.click()
    expect(radio).to_be_checked()
    return start


def fill_applicant(page: Page, id_number: str) -> None:
    page.locator("#id_name").fill("王小晶")
    page.locator("#id_id_number").fill(id_number)
    page.locator("#id_phone").fill(MOBILE)
    # The general page books general places: no session to choose (students have their own page).
    expect(page.locator("input[name=channel]")).to_have_count(0)


def hours(start: datetime, end: datetime) -> str:
    """How the manage page writes a slot's time: local 09:00–09:30."""
    return f"{timezone.localtime(start, OFFICE_TZ):%H:%M}–{timezone.localtime(end, OFFICE_TZ):%H:%M}"


def test_book_then_cancel_in_chinese(
    live_server: LiveServer, page: Page, bookable: tuple[Office, Service], request: pytest.FixtureRequest
) -> None:
    office, service = bookable
    page.goto(live_server.url + "/book/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.locator('li.card[data-office="XH"] a.button.primary').click()
    expect(page).to_have_url(live_server.url + "/book/XH/")
    expect(page.locator("main h1")).to_have_text("西湖出入境接待大厅")

    choose(page, "#id_service", str(service.pk))
    expect(page.locator("#slots input[name=start]")).to_have_count(0)  # no day chosen yet
    day = choose_day_with_slots(page)
    expect(page).to_have_url(f"{live_server.url}/book/XH/?service={service.pk}&date={day}")
    expect(page.locator("#slots label.slot")).to_have_count(2)  # 09:00 and 09:30
    start = choose_first_free_slot(page)
    fill_applicant(page, GOOD_ID)
    save_shot(page, f"{request.node.name}-form")
    page.locator("main form button.primary").click()

    expect(page).to_have_url(re.compile(re.escape(live_server.url) + MANAGE + r"\?new=1$"))
    booking = Booking.objects.select_related("slot").get()
    match = re.search(MANAGE, page.url)
    assert match is not None
    assert match[1] == booking.reference
    assert (booking.status, booking.channel, booking.office, booking.service) == ("booked", "general", office, service)
    assert (booking.id_number, booking.phone, booking.language) == (GOOD_ID, MOBILE, "zh-hans")
    assert booking.slot.starts_at == datetime.fromisoformat(start)
    expect(page.locator("main .result p.big")).to_be_visible()
    expect(page.locator("main h1")).to_contain_text(booking.reference)
    expect(page.locator("dd.status-booked")).to_be_visible()
    when = page.locator("dd[data-start]")
    expect(when).to_have_attribute("data-start", start)
    expect(when).to_contain_text(hours(booking.slot.starts_at, booking.slot.ends_at))
    expect(page.locator("div.qr svg")).to_be_visible()
    manage_url = page.url.removesuffix("?new=1")
    expect(page.locator("main a.break")).to_have_text(manage_url)

    ics_href = page.locator('main a.button[href$="/calendar.ics"]').get_attribute("href")
    assert ics_href == f"/book/manage/{booking.reference}/{match[2]}/calendar.ics"
    ics = page.request.get(live_server.url + ics_href)
    assert ics.status == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in ics.text()
    assert booking.reference in ics.text()
    save_shot(page, f"{request.node.name}-booked")

    cancel = page.locator("main button.danger")
    question = cancel.get_attribute("data-confirm")
    asked: list[str] = []

    def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    cancel.click()
    expect(page).to_have_url(manage_url)
    expect(page.locator("dd.status-cancelled")).to_be_visible()
    expect(page.locator("ul.messages li.success")).to_have_count(1)
    expect(page.locator("div.qr")).to_have_count(0)
    expect(page.locator("main button.danger")).to_have_count(0)
    assert question
    assert asked == [question]
    booking.refresh_from_db()
    assert booking.status == "cancelled"


def test_book_move_and_cancel_in_english(
    live_server: LiveServer, page: Page, bookable: tuple[Office, Service], request: pytest.FixtureRequest
) -> None:
    _office, service = bookable
    page.goto(live_server.url + "/book/XH/")
    switch_language(page, "en")
    expect(page).to_have_url(live_server.url + "/book/XH/")
    expect(page.locator("main h1")).to_have_text("West Lake Exit-Entry Hall")

    choose(page, "#id_service", str(service.pk))
    day = choose_day_with_slots(page)
    start = choose_first_free_slot(page)
    fill_applicant(page, GOOD_ID)
    page.get_by_role("button", name="Book", exact=True).click()

    expect(page).to_have_url(re.compile(re.escape(live_server.url) + MANAGE + r"\?new=1$"))
    booking = Booking.objects.select_related("slot").get()
    assert booking.language == "en"
    expect(page.locator("main .result p.big")).to_have_text("Booking confirmed")
    expect(page.locator("main h1")).to_have_text(f"Appointment {booking.reference}")
    expect(page.locator("dd.status-booked")).to_have_text("Booked")
    expect(page.locator("dd[data-start]")).to_have_attribute("data-start", start)
    expect(page.locator("div.qr svg")).to_be_visible()
    manage_url = page.url.removesuffix("?new=1")

    expect(page.locator("main h2").first).to_have_text("Change the time")
    choose_day_with_slots(page, other_than=day)
    new_start = choose_first_free_slot(page)
    assert new_start != start
    save_shot(page, f"{request.node.name}-change")
    page.get_by_role("button", name="Move my appointment", exact=True).click()

    expect(page).to_have_url(manage_url)
    expect(page.locator("ul.messages li.success")).to_have_text("Your appointment is moved.")
    expect(page.locator("main .result")).to_have_count(0)
    new_time = page.locator("dd[data-start]")
    expect(new_time).to_have_attribute("data-start", new_start)
    booking.refresh_from_db()
    moved_to: Slot = booking.slot
    assert moved_to.starts_at == datetime.fromisoformat(new_start)
    assert booking.status == "booked"
    expect(new_time).to_contain_text(hours(moved_to.starts_at, moved_to.ends_at))

    # and, as in the Chinese journey, cancel through the same private link
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel the appointment", exact=True).click()
    expect(page).to_have_url(manage_url)
    expect(page.locator("ul.messages li.success")).to_have_text("Your appointment is cancelled.")
    expect(page.locator("dd.status-cancelled")).to_have_text("Cancelled")
    booking.refresh_from_db()
    assert booking.status == "cancelled"


def test_bad_id_number_is_refused_at_the_field(
    live_server: LiveServer, page: Page, bookable: tuple[Office, Service], request: pytest.FixtureRequest
) -> None:
    _office, service = bookable
    page.goto(live_server.url + "/book/XH/")
    choose(page, "#id_service", str(service.pk))
    choose_day_with_slots(page)
    start = choose_first_free_slot(page)
    fill_applicant(page, BAD_ID)
    page.locator("main form button.primary").click()

    id_field = page.locator(".field", has=page.locator("#id_id_number"))
    expect(id_field).to_have_class(re.compile(r"\bhas-error\b"))
    expect(id_field.locator("p.error")).to_have_text("该身份证号码校验位不符，请检查是否输入有误。")
    expect(page.locator("main p.error")).to_have_count(1)
    expect(page.locator("#id_name")).to_have_value("王小晶")
    expect(page.locator("#id_phone")).to_have_value(MOBILE)
    expect(page.locator(f'#slots input[name=start][value="{start}"]')).to_be_checked()
    assert "/book/manage/" not in page.url
    assert Booking.objects.count() == 0
    assert not Slot.objects.filter(general_booked__gt=0).exists()
