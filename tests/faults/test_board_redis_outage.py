"""The hall's displays with Redis stopped (SPEC 8): the board, the queue page and a ticket's
own page read the database only, so with the cache and the broker down a call made at a
counter still shows, at once, and nothing waits for Redis."""

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client

from bureau.models import Counter, Office
from tests.appointments.conftest import NOW
from tests.factories import ServiceFactory, clerk
from tests.faults.conftest import RedisServer
from walkins import selectors, services

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

WELL_UNDER = 1.0  # seconds: the cache's own timeout is 0.5 s; a display must not wait on it


def test_with_redis_stopped_the_board_shows_a_new_call_from_postgresql(
    own_redis_cache: RedisServer, clock: Callable, office: Office
) -> None:
    passport = ServiceFactory.create(code="passport-first")
    window = Counter.objects.create(office=office, number=5)
    window.services.set([passport])
    desk = clerk(office, username="clerk-xh")
    services.counter_open(counter=window, by=desk)
    tickets = [
        services.ticket_issue(office=office, service=passport, channel="general", by=desk, now=NOW) for _ in range(3)
    ]
    board = Client()
    assert "B001" not in board.get("/board/XH/").content.decode()

    own_redis_cache.stop()
    clock(NOW + timedelta(minutes=1))
    services.ticket_call_next(counter=window, by=desk)  # calling goes on from PostgreSQL
    for path, headers, shows in (
        ("/board/XH/", {"hx-request": "true"}, "B001"),
        ("/board/XH/?part=queues", {"hx-request": "true"}, "data-count>2<"),
        ("/board/XH/", {}, "B001"),
        ("/queues/", {}, 'data-waiting="2"'),
        (f"/ticket/{tickets[1].pk}/{selectors.ticket_signature(tickets[1].pk)}/", {}, 'data-ahead="0"'),
    ):
        began = time.perf_counter()
        answer = board.get(path, headers=headers)
        took = time.perf_counter() - began
        assert answer.status_code == 200, path
        assert shows in answer.content.decode(), path
        assert took < WELL_UNDER, (path, took)
