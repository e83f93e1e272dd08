"""Small page actions shared by the journeys."""

from pathlib import Path

from playwright.sync_api import Page, expect

SHOTS = Path("/tmp/shots")  # the lead reviews these; tests never assert on them


def switch_language(page: Page, code: str) -> None:
    """Press the header's language button and wait for the page to come back in `code`."""
    page.locator(f'header form.lang button[name="language"][value="{code}"]').click()
    expect(page.locator("html")).to_have_attribute("lang", code)
    expect(page.locator(f'header form.lang button[value="{code}"]')).to_have_attribute("aria-current", "true")


def save_shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)
