"""Journey 2: a clerk signs in, is refused a bad ID number, then accepts an application and
sees its reference and the promised issuance date."""

import re

import pytest
from django.utils import formats, translation
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from bureau import selectors
from bureau.models import Application, Office, Service
from tests.e2e.helpers import save_shot
from tests.factories import OfficeFactory, ServiceFactory, clerk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GOOD_ID = "33010619900101123X"
BAD_ID = "330106199001011234"  # wrong check character


@pytest.mark.usefixtures("official_calendar", "issuance_rules")
def test_clerk_accepts_application(live_server: LiveServer, page: Page, request: pytest.FixtureRequest) -> None:
    office: Office = OfficeFactory.create(name_zh="武林接待大厅", name_en="Wulin Hall")
    service: Service = ServiceFactory.create()
    clerk(office, username="clerk1")

    page.goto(live_server.url + "/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("main h1")).to_have_text("工作人员登录")
    page.get_by_label("用户名", exact=True).fill("clerk1")
    page.get_by_label("密码", exact=True).fill("pw")
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(live_server.url + "/applications/")
    expect(page.locator("main h1")).to_have_text("申请列表")

    page.get_by_role("link", name="受理申请", exact=True).click()
    expect(page).to_have_url(live_server.url + "/applications/new/")
    expect(page.locator("main h1")).to_have_text("受理申请")
    expect(page.locator("#id_office")).to_have_value(str(office.pk))
    page.locator("#id_service").select_option(str(service.pk))
    page.locator("#id_applicant_name").fill("王小晶")
    page.locator("#id_id_number").fill(BAD_ID)
    expect(page.locator("#id_residency_override")).to_have_value("")  # from the ID number
    page.locator("main form button[type=submit]").click()

    id_field = page.locator(".field", has=page.locator("#id_id_number"))
    expect(id_field).to_have_class(re.compile(r"\bhas-error\b"))
    expect(id_field.locator("p.error")).to_have_text("该身份证号码校验位不符，请检查是否输入有误。")
    expect(page.locator("main p.error")).to_have_count(1)
    expect(page).to_have_url(live_server.url + "/applications/new/")
    expect(page.locator("#id_applicant_name")).to_have_value("王小晶")
    expect(page.locator("#id_service")).to_have_value(str(service.pk))
    save_shot(page, f"{request.node.name}-bad-id")
    assert Application.objects.count() == 0

    page.locator("#id_id_number").fill(GOOD_ID)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/applications/[A-Z2-9]{10}/$"))

    application = Application.objects.get()
    expected = selectors.deadline_preview(
        accepted_on=selectors.office_today(), residency="in_province", expedited=False
    ).due_on
    with translation.override("zh-hans"):
        expected_text = formats.date_format(expected, "DATE_FORMAT")  # e.g. 2026年12月8日
    assert page.url == f"{live_server.url}/applications/{application.reference}/"
    expect(page.locator("main h1")).to_have_text(f"申请 {application.reference}")
    expect(page.locator("#due")).to_have_attribute("data-due-on", expected.isoformat())
    expect(page.locator("#due")).to_have_text(expected_text)
    expect(page.locator("dl.facts dt:has-text('预计出证日期') + dd")).to_have_text(expected_text)
    assert (application.id_number, application.residency, application.due_on) == (GOOD_ID, "in_province", expected)
