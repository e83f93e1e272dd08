"""The site's error pages are its own (templates/400.html, 404.html, 500.html), in Chinese by
default and in English when asked; under /api/ the same errors are the API's error shape;
the 500 page renders whatever broke (even the database); `make run` serves them with DEBUG
off. And every message the hostile tests meet has a Chinese translation."""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import RequestFactory
from django.utils import translation

from bureau import views
from tests.hostile.conftest import World, api_client, error_body, is_chinese, is_english, page_client

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
LANGUAGES = {"zh-hans": {}, "en": {"accept-language": "en"}}


def heading(page: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", page, re.S)
    assert match, page[:300]
    return match.group(1).strip()


def assert_sites_own_page(response: Any, status: int, template: str, language: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    if response.templates:  # rendered by the handler in this process (not by a raw WSGI call)
        assert template in [t.name for t in response.templates]
    assert f'<html lang="{language}">' in page
    assert 'href="/"' in page  # the way home
    check = is_chinese if language == "zh-hans" else is_english
    assert check(heading(page)), heading(page)
    # Not Django's own pages: the debug page, or the bare "Not Found" / "Server Error (500)".
    for django_text in ("Using the URLconf defined in", "<h1>Not Found</h1>", "Server Error (500)", "Traceback"):
        assert django_text not in page


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("path", ["/no-such-page/", "/book/NO-SUCH-OFFICE/", "/book/%E4%BB%A4/", "/book/AB%00CD/"])
def test_404_is_the_sites_own_page(path: str, language: str, world: World) -> None:
    response = page_client().get(path, headers=LANGUAGES[language])
    assert_sites_own_page(response, 404, "404.html", language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_500_is_the_sites_own_page(language: str, world: World) -> None:
    with mock.patch("bureau.selectors.offices_with_sessions", side_effect=RuntimeError("boom")):
        response = page_client().get("/", headers=LANGUAGES[language])
    assert_sites_own_page(response, 500, "500.html", language)
    assert "boom" not in response.content.decode()


@pytest.mark.parametrize("language", LANGUAGES)
def test_500_page_renders_with_the_database_down(language: str) -> None:
    """Called directly, as Django calls handler500, while every query fails."""
    request = RequestFactory().get("/")
    with (
        translation.override(language),
        mock.patch.object(BaseDatabaseWrapper, "cursor", side_effect=RuntimeError("database down")),
    ):
        response = views.server_error(request)
    assert response.status_code == 500
    page = response.content.decode()
    assert f'<html lang="{language}">' in page
    assert (is_chinese if language == "zh-hans" else is_english)(heading(page))


@pytest.mark.parametrize("language", LANGUAGES)
def test_500_under_the_api_is_the_error_shape(language: str, world: World) -> None:
    with mock.patch("bureau.selectors.deadline_preview", side_effect=RuntimeError("boom")):
        response = api_client(**LANGUAGES[language]).get(
            "/api/v1/deadlines/preview/?accepted_on=2026-12-01&residency=in_province"
        )
    answer = error_body(response, 500)
    with translation.override(language):
        expected = translation.gettext("Something went wrong on our side. Please try again later.")
    assert answer == {"code": "server_error", "detail": expected, "fields": {}}


@pytest.mark.parametrize("language", LANGUAGES)
def test_400_is_the_sites_own_page(language: str, world: World) -> None:
    """A page form sent in a charset that cannot be read."""
    body = b'--xx\r\nContent-Disposition: form-data; name="reference"\r\n\r\nAB\r\n--xx--\r\n'
    response = page_client().generic(
        "POST", "/status/", body, "multipart/form-data; boundary=xx; charset=rot13", headers=LANGUAGES[language]
    )
    assert_sites_own_page(response, 400, "400.html", language)


def test_make_run_serves_with_debug_off() -> None:
    """`make run` is `manage.py serve`: gunicorn on bureau.wsgi, with the settings' DEBUG,
    which is off unless the environment asks for it."""
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M)
    assert recipe and "DEBUG" not in recipe.group(1) and "manage.py serve" in recipe.group(1)
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    done = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-c", "import django.conf as c; print(c.settings.DEBUG)"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "bureau.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "False"


# Every message of the project the hostile tests meet, in the error shape or on a page.
MESSAGES = [
    "Nothing was found at this address.",
    "The request body is not valid JSON.",
    "Something went wrong on our side. Please try again later.",
    "The request is not valid.",
    "Some fields are not valid.",
    "%(field)s contains control or invisible characters; please type it again.",
    "No office has this code.",
    "No application of your offices has this reference.",
    "No booking matches this reference and token.",
    "Nothing has this code.",
    "Give a date between %(first)s and %(last)s.",
    "Choose a time.",
    "Choose one of the offered steps.",
    "Use 8 to 64 letters, digits or -_.:",
    "Too many attempts. Please wait and try again.",
    "The name",
    "The school",
    "The admission notice or student card number",
    "The applicant's name",
    "The reason",
    "The note",
]


@pytest.mark.parametrize("msgid", MESSAGES)
def test_message_has_a_chinese_translation(msgid: str) -> None:
    with translation.override("zh-hans"):
        translated = translation.gettext(msgid)
    assert translated != msgid
    assert is_chinese(translated)
