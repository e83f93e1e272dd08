"""Shared fixtures. Tests that need a real service carry a marker (postgres, redis,
browser): without the service they skip with the reason, and with REQUIRE_SERVICES=1 a
missing service fails them instead, so CI cannot pass by skipping."""

import importlib
import os
import shutil
from unittest import mock

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.utils import translation
from pytest_django.fixtures import SettingsWrapper

from bureau import ratelimit, services

CHROMIUM = "/usr/bin/chromium"


def _missing_service(marker: str) -> str | None:
    if marker == "postgres" and connection.vendor != "postgresql":
        return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    if marker == "redis" and not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL=redis://..."
    if marker == "browser" and not shutil.which(CHROMIUM):
        return f"needs Debian's chromium at {CHROMIUM}"
    return None


@pytest.fixture(autouse=True)
def _require_services(request: pytest.FixtureRequest) -> None:
    for marker in ("postgres", "redis", "browser"):
        if request.node.get_closest_marker(marker) is None:
            continue
        reason = _missing_service(marker)
        if reason is None:
            continue
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}")
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fast_and_eager(settings: SettingsWrapper) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Celery reads its configuration from Django's settings as they are at each access.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # Tests move clocks and settings under the same queue: every figure is computed afresh
    # (tests/walkins/test_display_figures.py tests the reuse).
    settings.DISPLAY_FIGURES_REUSE_SECONDS = 0


@pytest.fixture(autouse=True)
def _default_language() -> None:
    """A request or test that switched language leaves it active in the thread: each test
    starts in the site's default language."""
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Rate-limit counters, cached availability and configuration do not leak from one test
    to the next."""
    for each in caches.all():
        each.clear()
    ratelimit.forget_local_counts()


@pytest.fixture
def official_calendar(db: None) -> None:
    """The holiday calendar of every year the chinesecalendar package knows (2004-2026), as
    data only: nothing follows the change (each test makes its slots for the day it calls
    today, and there are no deadlines to recompute yet)."""
    with mock.patch.object(services, "_calendar_changed"):
        services.calendar_seed_from_package()


@pytest.fixture
def issuance_rules(transactional_db: None) -> None:
    """The default issuance rules from the data migration. Transactional tests flush the
    database afterwards, which also removes migration-seeded rows, so they are put back."""
    migration = importlib.import_module("bureau.migrations.0002_default_issuance_rules")
    migration.create_rules(django_apps, None)
