"""Behaviour that needs the real services: PostgreSQL row-level races, Redis as cache and
Celery broker. Skipped without them, failed under REQUIRE_SERVICES=1."""

import threading
from collections import Counter

import pytest
from django.core.cache import cache, caches
from django.db import connection
from django.test import Client
from django_redis.cache import RedisCache
from pytest_django.fixtures import SettingsWrapper

from bureau import services
from bureau.celery import app as celery_app
from bureau.models import Application, ApplicationEvent
from tests.factories import ApplicationFactory, clerk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_clerks_moving_one_application_at_once_move_it_once() -> None:
    application = ApplicationFactory.create()
    users = [clerk(application.office) for _ in range(8)]
    barrier = threading.Barrier(len(users))
    outcomes: list[str] = []

    def move(user) -> None:
        copy = Application.objects.get(pk=application.pk)
        barrier.wait()
        try:
            services.application_set_status(application=copy, status="in_production", by=user)
            outcomes.append("moved")
        except services.Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=move, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(outcomes) == {"moved": 1, "conflict": 7}
    assert ApplicationEvent.objects.filter(status="in_production").count() == 1


@pytest.mark.redis
def test_cache_is_redis_and_round_trips() -> None:
    assert isinstance(caches["default"], RedisCache)
    cache.delete("bureau-counter")
    assert cache.add("bureau-counter", 1, 5) is True  # the rate limiter's atomic pair
    assert cache.incr("bureau-counter") == 2
    cache.set("bureau-test", {"n": 1}, 5)
    assert cache.get("bureau-test") == {"n": 1}


@pytest.mark.redis
@pytest.mark.django_db
def test_healthz_reports_redis_cache_and_broker_ok(client: Client, settings: SettingsWrapper) -> None:
    assert celery_app.conf.broker_url.startswith("redis://")
    settings.CELERY_TASK_ALWAYS_EAGER = False  # ask the real broker
    body = client.get("/healthz").json()
    assert body == {"status": "ok", "database": "ok", "cache": "ok", "broker": "ok"}
