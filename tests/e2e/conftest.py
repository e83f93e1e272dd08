"""Browser fixtures: one headless Debian Chromium per session, a fresh phone-sized context
per test, and a full-page screenshot of where each test ended in /tmp/shots/<test>.png."""

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from tests.conftest import CHROMIUM
from tests.e2e.helpers import save_shot

# Playwright's sync API runs an event loop in the test thread; without this, Django refuses
# ORM calls made from that thread (SynchronousOnlyOperation).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

PHONE: ViewportSize = {"width": 390, "height": 844}
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 5_000


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # Session fixtures are set up before the function-scoped _require_services check in
    # tests/conftest.py, so the same skip/fail rule is applied here before launching.
    if not shutil.which(CHROMIUM):
        reason = f"needs Debian's chromium at {CHROMIUM}"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    # A phone in Hangzhou: Chinese Accept-Language, so Django picks zh-Hans as the site default.
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    try:
        yield tab
    finally:
        try:
            save_shot(tab, request.node.name)
        finally:
            context.close()
