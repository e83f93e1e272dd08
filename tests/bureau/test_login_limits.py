"""Staff logins are held to an attempt limit per client address, on the pages as in the
API: guessing passwords through /accounts/login/ or /admin/login/ is slowed down too."""

import pytest
from django.test import Client

from tests.factories import OfficeFactory, supervisor

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_a_minute(settings) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login-address": "3/minute"}


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/", "/api/v1/auth/token/"])
def test_password_guessing_is_stopped_with_retry_after(client: Client, three_a_minute, url: str) -> None:
    user = supervisor(OfficeFactory.create(), username="chief")
    guesses = [client.post(url, {"username": user.username, "password": f"guess{n}"}) for n in range(3)]
    assert {g.status_code for g in guesses} <= {200, 400}
    response = client.post(url, {"username": user.username, "password": "pw"})  # even the right one, for now
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_another_address_is_not_held_back(three_a_minute, url: str) -> None:
    supervisor(OfficeFactory.create(), username="chief")
    for _ in range(4):
        Client(REMOTE_ADDR="10.0.0.1").post(url, {"username": "chief", "password": "wrong"})
    response = Client(REMOTE_ADDR="10.0.0.2").post(url, {"username": "chief", "password": "pw"})
    assert response.status_code == 302  # signed in


def test_forwarded_for_buys_no_fresh_allowance(client: Client, three_a_minute) -> None:
    for n in range(3):
        client.post("/accounts/login/", {"username": "x", "password": "y"}, headers={"x-forwarded-for": f"10.0.0.{n}"})
    response = client.post(
        "/accounts/login/", {"username": "x", "password": "y"}, headers={"x-forwarded-for": "9.9.9.9"}
    )
    assert response.status_code == 429


@pytest.mark.parametrize(("language", "text"), [("en", "Too many attempts"), ("zh-hans", "尝试次数过多")])
def test_the_429_page_is_the_site_s_own_in_both_languages(client: Client, three_a_minute, language, text) -> None:
    for _ in range(4):
        response = client.post(
            "/accounts/login/", {"username": "x", "password": "y"}, headers={"accept-language": language}
        )
    assert response.status_code == 429
    assert text in response.content.decode()


def test_viewing_the_login_page_is_not_counted(client: Client, three_a_minute) -> None:
    for _ in range(10):
        assert client.get("/accounts/login/").status_code == 200
