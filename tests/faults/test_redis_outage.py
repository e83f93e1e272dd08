"""Redis, the cache and Celery broker, stops and starts again under a running app (SPEC 8:
"Redis is a cache and a broker, never a dependency of a decision").

The test's own redis-server is the cache (the project's django-redis options: errors
ignored, 0.5 s timeouts) and the Celery broker (not eager), as REDIS_URL makes them in
production; PostgreSQL is the database.
"""

import time
from collections.abc import Callable
from datetime import date
from typing import TypeVar

import pytest
from django.core.cache import cache
from django.test import Client
from pytest_django.fixtures import SettingsWrapper
from stdnum.cn import ric

from appointments.models import Booking
from appointments.selectors import availability_key
from bureau import ratelimit
from bureau.models import Office, OutboxMessage
from tests.appointments.conftest import NOW, at
from tests.factories import clerk
from tests.faults.conftest import RETRY_SECONDS, RedisServer

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

# A request while Redis is down must not wait for it: the cache's own timeout is 0.5 s.
WELL_UNDER = 1.0
T = TypeVar("T")
AVAILABILITY = "/api/v1/offices/XH/availability/?service=passport-first&date=2026-12-02"


def id_number(n: int) -> str:
    base = f"33010619{80 + n}0101123"
    return base + ric.calc_check_digit(base + "0")


def booking_body(n: int, start: str = "2026-12-02T09:00:00+08:00") -> dict[str, str]:
    return {
        "office": "XH",
        "service": "passport-first",
        "start": start,
        "name": "王小晶",
        "id_number": id_number(n),
        "phone": f"1381234567{n}",
    }


class Stopwatch:
    """Times each request it makes and keeps the slowest."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    def __call__(self, label: str, request: Callable[[], T]) -> T:
        began = time.perf_counter()
        answer = request()
        self.times[label] = time.perf_counter() - began
        return answer


def wrong_logins(client: Client, path: str, address: str, n: int) -> list[int]:
    body = {"username": "clerk-xh", "password": "wrong"}
    return [client.post(path, body, REMOTE_ADDR=address).status_code for _ in range(n)]


def test_with_redis_stopped_every_write_path_answers_from_postgresql_and_all_recovers_when_it_returns(
    own_redis_cache: RedisServer,
    clock: Callable,
    client: Client,
    slots: None,
    office: Office,
    settings: SettingsWrapper,
) -> None:
    """Catches: a write path that needs Redis (a cache read or write that raises, a rate
    limit that fails closed or open, a Celery nudge that raises or waits for the broker after
    commit), a healthz that says ok without Redis, and anything that stays broken after
    Redis returns (a limiter that never asks Redis again, a cache client that does not
    reconnect)."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login-address": "2/minute"}
    clerk(office, username="clerk-xh")  # password "pw"
    redis_down = own_redis_cache
    redis_down.stop()
    timed = Stopwatch()

    # Applicants: availability reads through to the database; book, cancel, reschedule.
    answer = timed("availability", lambda: client.get(AVAILABILITY))
    assert answer.status_code == 200
    assert answer.json()["slots"][0] == {"start": "2026-12-02T09:00:00+08:00", "remaining": 3}
    first = timed("booking", lambda: client.post("/api/v1/bookings/", booking_body(1), "application/json"))
    second = client.post("/api/v1/bookings/", booking_body(2), "application/json")
    assert (first.status_code, second.status_code) == (201, 201), (first.json(), second.json())
    ref, token = first.json()["reference"], first.json()["token"]
    cancelled = timed(
        "cancel",
        lambda: client.delete(
            f"/api/v1/bookings/{second.json()['reference']}/", headers={"x-booking-token": second.json()["token"]}
        ),
    )
    assert cancelled.status_code == 204
    moved = timed(
        "reschedule",
        lambda: client.post(
            f"/api/v1/bookings/{ref}/reschedule/",
            {"start": "2026-12-02T09:30:00+08:00"},
            "application/json",
            headers={"x-booking-token": token},
        ),
    )
    assert (moved.status_code, moved.json()["start"]) == (200, "2026-12-02T09:30:00+08:00")

    # Staff: an API token, then check-in with it; the session login page.
    login = timed("token login", lambda: client.post("/api/v1/auth/token/", {"username": "clerk-xh", "password": "pw"}))
    assert login.status_code == 200
    clock(at(2, 9, 10))
    checked_in = timed(
        "check-in",
        lambda: client.post(
            "/api/v1/offices/XH/check-ins/",
            {"code": ref},
            "application/json",
            headers={"authorization": f"Token {login.json()['token']}"},
        ),
    )
    assert (checked_in.status_code, checked_in.json()["status"]) == (200, "checked_in")
    clock(NOW)
    page = Client()
    signed_in = timed("login page", lambda: page.post("/accounts/login/", {"username": "clerk-xh", "password": "pw"}))
    assert (signed_in.status_code, signed_in["Location"]) == (302, "/staff/")
    assert page.get("/staff/").status_code == 302  # signed in: sent on to the clerk's list

    # Rate limits still hold, counted in this process.
    assert wrong_logins(client, "/api/v1/auth/token/", "10.0.0.1", 3) == [400, 400, 429]
    refused = client.post("/api/v1/auth/token/", {"username": "x", "password": "y"}, REMOTE_ADDR="10.0.0.1")
    assert 1 <= int(refused["Retry-After"]) <= 60

    # Only the health check says that something is wrong, and what.
    health = timed("healthz", lambda: client.get("/healthz"))
    assert health.status_code == 503
    assert health.json()["database"] == "ok"
    assert health.json()["cache"].startswith("error")
    assert health.json()["broker"].startswith("error")
    assert health.json()["down"] == ["Redis"]

    # Nothing hung on Redis; every change is in the database with its SMS in the outbox.
    slow = {label: round(seconds, 2) for label, seconds in timed.times.items() if seconds >= WELL_UNDER}
    assert slow == {}, f"requests that waited for Redis: {slow}"
    assert dict(Booking.objects.values_list("reference", "status")) == {
        ref: "checked_in",
        second.json()["reference"]: "cancelled",
    }
    assert sorted(OutboxMessage.objects.values_list("kind", flat=True)) == sorted(
        ["confirmation", "confirmation", "cancellation", "change"]
    )

    # Redis returns: everything recovers by itself, nobody resets anything.
    redis_down.start()
    time.sleep(RETRY_SECONDS + 0.05)
    health = client.get("/healthz")
    assert (health.status_code, health.json()) == (
        200,
        {"status": "ok", "database": "ok", "cache": "ok", "broker": "ok"},
    )
    # The limits count in Redis again: a process with no counts of its own (this one, after
    # forgetting them) is refused on the third attempt, and Redis holds the window.
    assert wrong_logins(client, "/api/v1/auth/token/", "10.0.0.2", 2) == [400, 400]
    ratelimit.forget_local_counts()
    assert wrong_logins(client, "/api/v1/auth/token/", "10.0.0.2", 1) == [429]
    assert any(redis_down.client().scan_iter(match="LIMITS*"))
    # The cache holds the day again, and a booking's SMS nudge reaches the broker.
    assert client.get(AVAILABILITY).json()["slots"][1] == {"start": "2026-12-02T09:30:00+08:00", "remaining": 2}
    assert cache.get(availability_key("XH", date(2026, 12, 2))) is not None
    assert client.post("/api/v1/bookings/", booking_body(3), "application/json").status_code == 201
    assert redis_down.client().llen("celery") == 1
