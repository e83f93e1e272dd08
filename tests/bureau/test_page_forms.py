"""Page forms of the core (issue 7): date inputs the browser accepts in every language, no
full ID number echoed after an error, and a 429 that says when to try again."""

import re
from datetime import date
from unittest import mock

import pytest
from django.test import Client
from pytest_django.fixtures import SettingsWrapper

from bureau.models import Application
from tests.factories import ApplicationFactory, OfficeFactory, ServiceFactory, clerk

pytestmark = pytest.mark.django_db

ID_NUMBER = "33010619900101123X"
MASKED_ID = "330***********123X"
DATE_INPUT = re.compile(r'<input type="date"[^>]*>')


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_deadline_page_date_input_starts_with_today_in_iso(client: Client, language: str) -> None:
    """A date input takes only ISO 8601: 2026/11/29 (the Chinese format) leaves it empty."""
    with mock.patch("bureau.selectors.office_today", return_value=date(2026, 11, 29)):
        page = client.get("/deadlines/", headers={"accept-language": language}).content.decode()
    assert f'lang="{language}"' in page
    inputs = DATE_INPUT.findall(page)
    assert len(inputs) == 1
    assert 'value="2026-11-29"' in inputs[0]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_deadline_page_date_input_keeps_the_asked_date_in_iso(client: Client, language: str) -> None:
    page = client.get(
        "/deadlines/?accepted_on=2026-09-30&residency=in_province", headers={"accept-language": language}
    ).content.decode()
    assert re.search(r'<input type="date" name="accepted_on" value="2026-09-30"', page)


def _no_full_id(page: str) -> None:
    assert ID_NUMBER not in page
    assert ID_NUMBER.lower() not in page
    assert re.search(r'<input type="text" name="id_number"(?![^>]*value=)[^>]*>', page)
    assert f"You entered {MASKED_ID}; please enter it again." in page


@pytest.mark.parametrize(
    "form",
    [
        {"reference": "X" * 33, "id_number": ID_NUMBER},
        {"reference": "", "id_number": ID_NUMBER.lower()},
        {"reference": "NOSUCHREF1", "id_number": ID_NUMBER},  # nothing found: the form comes back
    ],
)
def test_status_page_never_shows_the_id_number_again(client: Client, form: dict[str, str]) -> None:
    ApplicationFactory.create(reference="ABCDEFGHJK")
    response = client.post("/status/", form, headers={"accept-language": "en"})
    assert response.status_code == 200
    _no_full_id(response.content.decode())


def test_status_page_found_shows_no_id_number_note(client: Client) -> None:
    ApplicationFactory.create(reference="ABCDEFGHJK", applicant_name="王小晶")
    page = client.post("/status/", {"reference": "ABCDEFGHJK", "id_number": ID_NUMBER}).content.decode()
    assert "王*晶" in page
    assert ID_NUMBER not in page
    assert "_entered" not in page


def test_status_page_429_carries_retry_after(client: Client, settings: SettingsWrapper) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "lookup-address": "1/minute"}
    form = {"reference": "ABCDEFGHJK", "id_number": ID_NUMBER}
    assert client.post("/status/", form).status_code == 200
    response = client.post("/status/", form, headers={"accept-language": "en"})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    page = response.content.decode()
    assert "Too many look-ups" in page
    _no_full_id(page)


@pytest.mark.parametrize(
    "change",
    [
        {"applicant_name": ""},  # the form refuses
        {"service": "999"},
        {"id_number": "330106199001011234"},  # the service refuses: check character
        {"applicant_name": "王\u202e晶"},  # the service refuses: hidden characters
    ],
)
def test_accept_page_never_shows_the_id_number_again(client: Client, change: dict[str, str]) -> None:
    office = OfficeFactory.create()
    client.force_login(clerk(office))
    form = {
        "office": office.pk,
        "service": ServiceFactory.create().pk,
        "applicant_name": "王小晶",
        "id_number": ID_NUMBER,
    }
    response = client.post("/applications/new/", {**form, **change}, headers={"accept-language": "en"})
    page = response.content.decode()
    assert response.status_code == 200
    assert Application.objects.count() == 0
    assert ID_NUMBER not in page
    assert "330106199001011234" not in page
    assert re.search(r'<input type="text" name="id_number"(?![^>]*value=)[^>]*>', page)
    assert "please enter it again." in page
