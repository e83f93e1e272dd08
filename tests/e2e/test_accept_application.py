"""Journey 2: a clerk signs in, is refused a bad ID number, then accepts an application and
sees its reference and the promised issuance date."""

import re

import pytest
from django.utils import formats, translation
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from bureau import selectors
from bureau.models import Application
from tests.e2e.conftest import SHOTS
from tests.factories import OfficeFactory, ServiceFactory, clerk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GOOD_ID = "33010619900101123X"
BAD_ID = "330106199001011234"  # wrong check character


@pytest.mark.usefixtures("official_calendar", "issuance_rules")
def test_clerk_accepts_application(live_server: LiveServer, page: Page, request: pytest.FixtureRequest) -> None:
    office = OfficeFactory(name_zh="武林接待大厅", name_en="Wulin Hall")
    service = ServiceFactory()
    clerk(office, username="clerk1")
    with translation.override("zh-hans"):
        username_label = str(translation.gettext("Username"))
        password_label = str(translation.gettext("Password"))
        checksum_error = str(
            translation.gettext("The last character of this ID number does not match; please check for a typo.")
        )

    page.goto(live_server.url + "/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.get_by_label(username_label).fill("clerk1")
    page.get_by_label(password_label).fill("pw")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(live_server.url + "/applications/")

    page.locator('main a[href="/applications/new/"]').click()
    expect(page).to_have_url(live_server.url + "/applications/new/")
    expect(page.locator("#id_office")).to_have_value(str(office.pk))
    page.locator("#id_service").select_option(str(service.pk))
    page.locator("#id_applicant_name").fill("王小晶")
    page.locator("#id_id_number").fill(BAD_ID)
    expect(page.locator("#id_residency_override")).to_have_value("")
    page.locator("main form button[type=submit]").click()

    id_field = page.locator(".field", has=page.locator("#id_id_number"))
    expect(id_field).to_have_class(re.compile(r"\bhas-error\b"))
    expect(id_field.locator("p.error")).to_have_text(checksum_error)
    expect(page.locator("main p.error")).to_have_count(1)
    expect(page).to_have_url(live_server.url + "/applications/new/")
    expect(page.locator("#id_applicant_name")).to_have_value("王小晶")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{request.node.name}-bad-id.png", full_page=True)
    assert Application.objects.count() == 0

    page.locator("#id_id_number").fill(GOOD_ID)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/applications/[A-Z2-9]{10}/$"))

    application = Application.objects.get()
    expected = selectors.deadline_preview(
        accepted_on=selectors.office_today(), residency="in_province", expedited=False
    ).due_on
    with translation.override("zh-hans"):
        expected_text = formats.date_format(expected, "DATE_FORMAT")
    assert page.url == f"{live_server.url}/applications/{application.reference}/"
    expect(page.locator("main h1")).to_contain_text(application.reference)
    expect(page.locator("#due")).to_have_attribute("data-due-on", expected.isoformat())
    expect(page.locator("#due")).to_have_text(expected_text)
    assert application.due_on == expected
    assert application.id_number == GOOD_ID
    assert application.residency == "in_province"
