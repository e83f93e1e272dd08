"""Redis stops while supervisors watch (SPEC 8): the Today pages, the day-stats API, the
service level and the nightly roll-up read PostgreSQL only; the queue figures the Today
page borrows from the hall's cache are read through, and nothing waits for Redis."""

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from bureau.dashboards import tasks
from bureau.dashboards.models import DayFigures
from bureau.models import Counter, Office, Service
from tests.appointments.conftest import at
from tests.factories import clerk, supervisor, walk_in_ticket
from tests.faults.conftest import RedisServer
from walkins import services

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

# Seconds: the cache's own timeout is 0.5 s and a request pays it at most once; a page that
# waited for Redis at every read (the queue lines, the configuration) would take several.
WELL_UNDER = 2.0


def test_with_redis_stopped_the_dashboards_and_the_roll_up_work_from_postgresql(
    own_redis_cache: RedisServer, clock: Callable, office: Office, service: Service, issuance_rules: None
) -> None:
    window = Counter.objects.create(office=office, number=1)
    window.services.set([service])
    desk = clerk(office)
    clock(at(2, 9))
    for _ in range(3):
        walk_in_ticket(office=office, service=service, channel="general", by=desk, now=at(2, 9))
    services.counter_open(counter=window, by=desk, now=at(2, 9, 5))
    services.ticket_call_next(counter=window, by=desk, now=at(2, 9, 10))
    boss = Client(headers={"accept-language": "en"})
    boss.force_login(supervisor(office))
    api = Client(headers={"authorization": f"Token {Token.objects.create(user=desk).key}"})

    pages = ("/dashboard/", "/dashboard/today/XH/", "/dashboard/today/XH/report/", "/dashboard/service/")
    for url in pages:  # the templates are compiled once per process: not what is measured
        assert boss.get(url).status_code == 200

    own_redis_cache.stop()
    clock(at(2, 9, 20))
    for url in pages:
        began = time.perf_counter()
        answer = boss.get(url)
        assert answer.status_code == 200, url
        assert time.perf_counter() - began < WELL_UNDER, url
    assert "Waiting now: 2 (the longest for 20 min)." in boss.get("/dashboard/").content.decode()
    stats = api.get("/api/v1/offices/XH/day-stats/").json()
    assert (stats["tickets_issued"], stats["waiting_now"], stats["wait_minutes_p50"]) == (3, 2, 10.0)

    clock(at(2, 9) + timedelta(days=1))  # the nightly job, Redis still down
    assert tasks.roll_up_finished_days() > 0
    assert DayFigures.objects.get(office=office, day=at(2, 9).date()).tickets_issued == 3
