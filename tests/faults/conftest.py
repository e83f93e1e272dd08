"""Fault injection: a Redis server of the tests' own that they stop and start, and the
server processes started the way `make run` starts them.

The Redis server runs on a free port, started once for the session; a test stops and starts
it as it needs, and every test finds it running and empty.
"""

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, cast
from unittest import mock

import pytest
import redis
from django.conf import settings
from pytest_django.fixtures import SettingsWrapper

from bureau import ratelimit
from bureau.celery import app as celery_app
from tests.appointments.conftest import NOW, office, service, slot, slots, template  # noqa: F401 - fixtures

BASE_DIR = Path(settings.BASE_DIR)
REDIS_SERVER = shutil.which("redis-server")
# What the fallback waits before asking Redis again, in these tests (5 s in production).
RETRY_SECONDS = 0.2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def skip_or_fail(reason: str) -> None:
    """Skip without a service, or fail under REQUIRE_SERVICES=1, as tests/conftest.py does."""
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}")
    pytest.skip(reason)


class RedisServer:
    """`redis-server` on a port of its own, without persistence: stop() loses everything,
    as a crash of a cache without a disk would."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.process is None, "already running"
        command = [str(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--loglevel", "warning"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        assert self.process is not None, "not running"
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, socket_connect_timeout=2)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        skip_or_fail("needs the redis-server binary on PATH")
    server = RedisServer(free_port())
    server.start()
    yield server
    if server.running:
        server.stop()


def forget_celery_producers() -> None:
    """Celery makes its producer pool for the broker of the first task sent in the process
    (an eager task makes it too) and keeps it; it has no public way to make it again. Forget
    it as Celery itself does in a forked process, so the next task goes to the broker the
    settings name now."""
    celery_app._after_fork()  # type: ignore[attr-defined]


@pytest.fixture
def own_redis(
    redis_server: RedisServer, settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RedisServer]:
    """The test's Redis, running and empty, as the Celery broker (not eager). The rate
    limiter asks Redis again RETRY_SECONDS after a failure instead of 5 s."""
    if not redis_server.running:
        redis_server.start()
    redis_server.client().flushall()
    settings.CELERY_BROKER_URL = redis_server.url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    forget_celery_producers()
    bound = cast(Any, celery_app.pool).connection.as_uri()  # kombu's pool; the stubs say otherwise
    assert bound == redis_server.url
    monkeypatch.setattr(ratelimit, "REDIS_RETRY_SECONDS", RETRY_SECONDS)
    yield redis_server
    forget_celery_producers()  # the next test's tasks go where its settings say


@pytest.fixture
def own_redis_cache(own_redis: RedisServer, settings: SettingsWrapper) -> RedisServer:
    """The test's Redis as the cache too, with the project's own django-redis options (so
    REDIS_URL must be set: the settings module builds them only then)."""
    default = settings.CACHES["default"]
    assert default["BACKEND"] == "django_redis.cache.RedisCache", "needs REDIS_URL for the django-redis settings"
    # Changing CACHES sends setting_changed: Django closes and forgets its cache connections.
    settings.CACHES = {**settings.CACHES, "default": {**default, "LOCATION": own_redis.url}}
    settings.REDIS_URL = own_redis.url
    return own_redis


@pytest.fixture
def clock() -> Iterator[Callable[[datetime], None]]:
    """django.utils.timezone.now() frozen at NOW; call the fixture's value to move it."""
    moment = [NOW]
    with mock.patch("django.utils.timezone.now", side_effect=lambda: moment[0]):
        yield lambda new: moment.__setitem__(0, new)


# --- servers as `make run` starts them ------------------------------------------------------

# What `make data` runs before `make run` serves, in one process (the commands, in order).
PREPARE = (
    "import django; django.setup(); from django.core.management import call_command; "
    "call_command('migrate', interactive=False); call_command('seed_calendar'); "
    "call_command('load_demo'); call_command('load_demo_bookings')"
)


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a server process: this one's, with its own database and no Redis
    unless `extra` names one."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "RATE_LIMITS"}}
    env.update(DATABASE_URL=database_url, LOG_LEVEL="WARNING", DJANGO_LOG_LEVEL="ERROR", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def prepare_database(database_url: str, log: Path) -> None:
    """Migrate, seed the calendar, load the demo data and today's demo bookings."""
    with log.open("ab") as out:
        subprocess.run(  # noqa: S603
            [sys.executable, "-c", PREPARE],
            cwd=BASE_DIR,
            env={**server_env(database_url), "DJANGO_SETTINGS_MODULE": "bureau.settings"},
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=120,
        )


@pytest.fixture(scope="session")
def prepared_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database prepared like `make run` does, made once; tests copy it."""
    folder = tmp_path_factory.mktemp("prepared")
    path = folder / "bureau.sqlite3"
    prepare_database(f"sqlite:///{path}", folder / "prepare.log")
    with sqlite3.connect(path) as db:  # one file to copy: WAL folded in
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def sqlite_copy(template_path: Path, folder: Path) -> str:
    path = folder / "bureau.sqlite3"
    shutil.copyfile(template_path, path)
    return f"sqlite:///{path}"


def wait_for_http(url: str, process: subprocess.Popen[bytes], timeout: float = 45) -> None:
    """Until `url` answers anything over HTTP; fails if the process ends first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own server
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"the server ended with {process.returncode} before answering")
            if time.monotonic() > deadline:
                pytest.fail(f"nothing answered at {url} within {timeout} s")
            time.sleep(0.2)


# --- processes ---------------------------------------------------------------------------------

Identity = tuple[int, str]  # pid and its start time: a pid alone may be reused


def process_table() -> dict[int, int]:
    """Every process's parent, from `ps`."""
    output = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True, check=True).stdout  # noqa: S607
    return {int(pid): int(ppid) for pid, ppid in (line.split() for line in output.splitlines())}


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # after the command name, which may hold spaces


def identity(pid: int) -> Identity | None:
    fields = _stat(pid)
    return None if fields is None else (pid, fields[19])  # field 22 of stat: start time


def descendants(root: int) -> set[Identity]:
    """The process and everything below it, as it is now."""
    children: dict[int, list[int]] = {}
    for pid, ppid in process_table().items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if (ident := identity(pid)) is not None:
            found.add(ident)
        todo += children.get(pid, [])
    return found


def alive(ident: Identity) -> bool:
    """Still running: the same process (same start time), and not a zombie waiting to be reaped."""
    fields = _stat(ident[0])
    return fields is not None and fields[19] == ident[1] and fields[0] != "Z"


def kill_leftovers(idents: set[Identity]) -> None:
    """After a failed test: end what it started and left, each by its own id."""
    for ident in idents:
        if alive(ident):
            os.kill(ident[0], signal.SIGKILL)
