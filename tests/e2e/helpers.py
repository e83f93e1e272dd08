"""Small page actions shared by the journeys."""

from playwright.sync_api import Page, expect


def switch_language(page: Page, code: str) -> None:
    """Press the header's language button and wait for the page to come back in `code`."""
    page.locator(f'header form.lang button[name="language"][value="{code}"]').click()
    expect(page.locator("html")).to_have_attribute("lang", code)
    expect(page.locator(f'header form.lang button[value="{code}"]')).to_have_attribute("aria-current", "true")


def submit_main_form(page: Page) -> None:
    """The page's own form, not the header's log-out or language forms."""
    page.locator("main form button[type=submit]").click()
