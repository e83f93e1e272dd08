"""The one guard: moving windows, the real client's address, Redis shared or per process."""

from unittest import mock

import pytest
from django.test import RequestFactory

from bureau import ratelimit

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_a_minute(settings) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "booking-address": "2/minute"}


def attempts_at(*seconds: float) -> list[int | None]:
    """One attempt at each moment (seconds on the clock), from one address."""
    outcomes = []
    for second in seconds:
        with mock.patch("time.time", return_value=1_800_000_000.0 + second):
            outcomes.append(ratelimit.retry_after("booking-address", "10.0.0.1"))
    return outcomes


def test_no_double_rate_at_a_window_boundary(two_a_minute) -> None:
    """A fixed window let 2 through at 0:59 and 2 more at 1:01: twice the rate in 2 s."""
    assert attempts_at(59.0, 59.5, 61.0, 62.0) == [None, None, 58, 57]


def test_a_place_in_the_window_comes_back_a_window_after_the_oldest_attempt(two_a_minute) -> None:
    assert attempts_at(0, 30, 59, 60.5, 61) == [None, None, 1, None, 29]


def test_refused_attempts_are_not_counted(two_a_minute) -> None:
    assert attempts_at(*range(0, 59, 2), 60.5)[-1] is None


def test_identities_with_characters_utf8_cannot_encode_still_count(two_a_minute) -> None:
    assert ratelimit.retry_after("booking-address", "\ud800") is None


def test_with_redis_failing_each_process_counts_on_its_own(two_a_minute, settings) -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    failing = mock.Mock(hit=mock.Mock(side_effect=RedisConnectionError("refused")))
    with (
        mock.patch.object(ratelimit, "_redis_limiter", return_value=failing),
        mock.patch("django_redis.get_redis_connection"),
    ):
        outcomes = [ratelimit.retry_after("booking-address", "10.0.0.1") for _ in range(3)]
    assert outcomes[:2] == [None, None]
    assert outcomes[2] is not None
    assert failing.hit.call_count == 1  # then it waited REDIS_RETRY_SECONDS before asking Redis again


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "client"),
    [
        ("10.0.0.1", "1.2.3.4", [], "10.0.0.1"),  # nobody is trusted by default
        ("10.0.0.1", "1.2.3.4", ["10.0.0.0/8"], "1.2.3.4"),
        ("10.0.0.1", "6.6.6.6, 1.2.3.4", ["10.0.0.0/8"], "1.2.3.4"),  # what the client wrote is not read
        ("10.0.0.1", "1.2.3.4, 10.0.0.9", ["10.0.0.0/8"], "1.2.3.4"),  # two proxies of ours
        ("10.0.0.1", "not-an-address", ["10.0.0.0/8"], "10.0.0.1"),
        ("10.0.0.1", "", ["10.0.0.0/8"], "10.0.0.1"),
        ("10.0.0.1", "地址", ["10.0.0.0/8"], "10.0.0.1"),
        ("2001:db8::1", "2001:db8::7", ["2001:db8::/32"], "2001:db8::1"),
    ],
)
def test_the_client_address_is_read_from_forwarded_for_only_behind_a_trusted_proxy(
    settings, remote: str, forwarded: str, trusted: list[str], client: str
) -> None:
    settings.TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert ratelimit.client_address(request) == client
