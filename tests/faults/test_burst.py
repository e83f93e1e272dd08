"""200 applicants press "book" at the same moment, against the server `make run` starts
(gunicorn with gunicorn.conf.py: 2 workers x 8 threads) on a database prepared as `make run`
prepares it: SQLite (the embedded default) always, PostgreSQL too when DATABASE_URL names
one (a database of the test's own, dropped after)."""

import http.client
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg2
import pytest
from stdnum.cn import ric

from tests.faults.conftest import BASE_DIR, free_port, prepare_database, server_env, sqlite_copy, wait_for_http

CLIENTS = 200
OFFICE = "XH"
SERVICE = "passport-first"
# gunicorn.conf.py's defaults: each thread keeps at most one database connection.
WORKERS, THREADS = 2, 8


@dataclass
class Database:
    url: str
    query: Callable[[str, list[str]], list[tuple[Any, ...]]]  # placeholders: %s
    connections: Callable[[], int] | None = None  # the server's connections now (PostgreSQL)


def _sqlite(url: str) -> Database:
    path = url.removeprefix("sqlite:///")

    def query(sql: str, params: list[str]) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(path, timeout=20)) as db:
            return db.execute(sql.replace("%s", "?"), params).fetchall()

    return Database(url, query)


@contextmanager
def _postgres(tmp_path: Path) -> Iterator[Database]:
    """A database of the test's own on the server DATABASE_URL names, dropped after."""
    server = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    name = f"bureau_faults_burst_{os.getpid()}"
    url = urllib.parse.urlunsplit(server._replace(path=f"/{name}"))
    admin = psycopg2.connect(urllib.parse.urlunsplit(server._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')

    def query(sql: str, params: list[str]) -> list[tuple[Any, ...]]:
        with closing(psycopg2.connect(url)) as db, db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def connections() -> int:
        with admin.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name])
            count: int = cursor.fetchone()[0]
            return count

    try:
        prepare_database(url, tmp_path / "prepare.log")
        yield Database(url, query, connections)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        yield _sqlite(sqlite_copy(request.getfixturevalue("prepared_sqlite"), tmp_path))
    else:
        with _postgres(tmp_path) as db:
            yield db


@contextmanager
def gunicorn(database: Database, log: Path) -> Iterator[int]:
    """The web server as `make run` starts it (manage.py serve's first command), behind a
    proxy at 127.0.0.1 that names the client in X-Forwarded-For; its port."""
    port = free_port()
    env = server_env(database.url, TRUSTED_PROXIES="127.0.0.1")
    command = [sys.executable, "-m", "gunicorn", "bureau.wsgi:application", "--config", "gunicorn.conf.py"]
    with log.open("wb") as out:
        server = subprocess.Popen(  # noqa: S603
            [*command, "--bind", f"127.0.0.1:{port}"], cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", server)
            yield port
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def id_number(n: int) -> str:
    born = date(1950, 1, 1) + timedelta(days=97 * n)
    base = f"330106{born:%Y%m%d}{n % 1000:03d}"
    number = base + ric.calc_check_digit(base + "0")
    assert ric.is_valid(number)
    return number


def open_starts(port: int) -> list[str]:
    """The office's slot times on its first two days with slots, from the server."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    starts: list[str] = []
    days = 0
    for offset in range(1, 16):
        day = (today + timedelta(days=offset)).isoformat()
        url = f"http://127.0.0.1:{port}/api/v1/offices/{OFFICE}/availability/?service={SERVICE}&date={day}"
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - our own server
            slots = json.load(answer)["slots"]
        starts += [slot["start"] for slot in slots]
        days += bool(slots)
        if days == 2:
            return starts
    pytest.fail(f"{OFFICE} has fewer than two days with slots")


@dataclass
class Outcome:
    status: int | None = None
    error: str = ""
    seconds: float = 0.0


def burst(port: int, starts: list[str]) -> list[Outcome]:
    """CLIENTS threads connect, wait for each other, then each POSTs one booking."""
    barrier = threading.Barrier(CLIENTS, timeout=60)
    outcomes = [Outcome() for _ in range(CLIENTS)]

    def client(n: int) -> None:
        body = {
            "office": OFFICE,
            "service": SERVICE,
            "start": starts[n % len(starts)],
            "name": "王小晶",
            "id_number": id_number(n),
            "phone": f"139{n:08d}",
        }
        headers = {"Content-Type": "application/json", "X-Forwarded-For": f"10.{n // 250}.{n % 250}.7"}
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.connect()
            barrier.wait()
            began = time.perf_counter()
            connection.request("POST", "/api/v1/bookings/", json.dumps(body), headers)
            response = connection.getresponse()
            response.read()
            outcomes[n].status, outcomes[n].seconds = response.status, time.perf_counter() - began
        except Exception as exc:  # noqa: BLE001 - every failure is an outcome to report
            outcomes[n].error = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def slot_counts(database: Database) -> dict[int, tuple[int, int, int, int, int, int, int, int]]:
    rows = database.query(
        "SELECT s.id, general_quota, general_booked, student_quota, student_booked, enterprise_quota, "
        "enterprise_booked, emergency_quota, emergency_booked FROM appointments_slot s "
        "JOIN bureau_office o ON o.id = s.office_id WHERE o.code = %s",
        [OFFICE],
    )
    return {row[0]: row[1:] for row in rows}


def test_two_hundred_clients_booking_at_once_get_201_or_409_and_never_overfill_a_slot(
    database: Database, tmp_path: Path
) -> None:
    """Catches: connections reset or refused under a burst (a small backlog, workers that
    die), 5xx from a locked or exhausted database, a place counted twice or lost between
    the 201s and the slot rows, a slot filled past its quota, and more database connections
    than workers x threads."""
    connections, peak = database.connections, [0]
    sampling = threading.Event()

    def sample() -> None:
        while connections is not None and not sampling.is_set():
            peak[0] = max(peak[0], connections())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    with gunicorn(database, tmp_path / "gunicorn.log") as port:
        starts = open_starts(port)
        before = slot_counts(database)
        sampler.start()
        began = time.perf_counter()
        outcomes = burst(port, starts)
        elapsed = time.perf_counter() - began
        sampling.set()
        sampler.join()

    statuses = Counter(o.status for o in outcomes)
    errors = Counter(o.error for o in outcomes if o.error)
    slowest = max(o.seconds for o in outcomes)
    print(
        f"\n{database.url.split(':')[0]}: {dict(statuses)} in {elapsed:.1f} s, slowest answer {slowest:.1f} s, "
        f"peak database connections {peak[0] if connections else 'not measured'}"
    )
    assert errors == {}
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] > 0 and statuses[409] > 0  # both ends of a rush were exercised

    after = slot_counts(database)
    taken = sum(sum(after[pk][1::2]) - sum(before[pk][1::2]) for pk in after)
    assert taken == statuses[201]
    numbers = [id_number(n) for n in range(CLIENTS)]
    marks = ", ".join(["%s"] * CLIENTS)
    booked = database.query(f"SELECT count(*) FROM appointments_booking WHERE id_number IN ({marks})", numbers)  # noqa: S608
    assert booked == [(statuses[201],)]
    overfilled = [
        pk for pk, counts in after.items() if any(b > q for q, b in zip(counts[::2], counts[1::2], strict=True))
    ]
    assert overfilled == []
    if connections is not None:
        assert 0 < peak[0] <= WORKERS * THREADS
