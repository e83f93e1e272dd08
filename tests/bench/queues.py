"""Benchmark: the queues on PostgreSQL.

1. call-next with 10,000 tickets waiting against 10, in one run: two offices alike but for
   the length of their queue, called in turn (one call at each, again and again), each call
   followed by a new ticket so the queues keep their length; p50 and p99 of each and their
   ratio (target < 1.2); and the plans of the tier queries (EXPLAIN ANALYZE) on the long
   queue, each of which must read along the waiting indexes (`ticket_waiting_order`, `ticket_waiting_enterprise`).
2. 16 counters calling at once until 2,000 waiting tickets are gone: no ticket called twice,
   none lost, each counter one ticket at a time; calls per second and each call's p50/p99.
3. 100 display boards refreshing at once: the real app under gunicorn as `make run` serves
   it (gunicorn.conf.py), 100 client threads asking for an office's queue
   (GET /api/v1/offices/{code}/queue/) and for the board's two live parts, the calls
   (/board/{code}/, htmx) and the queues (?part=queues), each with something new (200) and
   with nothing new (204), for a while; requests per second, p50/p99, the server's CPU time
   and PostgreSQL's busy time per refresh, and what 100 boards polling as the page does cost.

    make bench      (DATABASE_URL must point at PostgreSQL; a throw-away test database is
                     created beside it and dropped afterwards)
"""

import http.client
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter as Tally
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bureau.settings")
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.utils import timezone  # noqa: E402

from bureau.models import Counter, Office, OpeningSession, Service, StaffMember  # noqa: E402
from tests.bench.client import kept_alive_request  # noqa: E402
from walkins import rules, selectors, services  # noqa: E402
from walkins.models import PREFIXES, Ticket, TicketEvent  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LONG, SHORT = 10_000, 10
CALLS = int(os.environ.get("BENCH_CALLS", "400"))  # timed calls at each office
WARM_CALLS = 40
RACE_TICKETS = 2_000
RACE_COUNTERS = 16
BOARDS = 100
BOARD_SECONDS = float(os.environ.get("BENCH_BOARD_SECONDS", "20"))
PORT = 8767
# A realistic mix: a quarter of the queue has waited past the max wait, appointments are due
# from half an hour ago to an hour from now.
CHANNELS = {"general": 62, "green": 6, "student": 5, "enterprise": 5, "emergency": 2, "appointment": 20}
SERVICES = (("passport", "first"), ("passport", "renewal"), ("hk_macao", "endorsement"), ("taiwan", "first"))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


@dataclass
class Hall:
    office: Office
    counters: list[Counter]
    clerks: list[User]
    numbers: Tally[str] = field(default_factory=Tally)


def make_hall(code: str, counters: int, offered: list[Service], now: datetime) -> Hall:
    office = Office.objects.create(code=code, name_zh=code, name_en=code, mode=Office.Mode.DUAL_TRACK)
    OpeningSession.objects.create(office=office, day_kind="weekday", opens_at="00:00", closes_at="23:59")
    OpeningSession.objects.create(office=office, day_kind="weekend", opens_at="00:00", closes_at="23:59")
    hall = Hall(office, [], [])
    for number in range(1, counters + 1):
        counter = Counter.objects.create(office=office, number=number, enterprise_window=number == 1)
        counter.services.set(offered)
        clerk = User.objects.create(username=f"{code.lower()}-clerk-{number}")
        StaffMember.objects.create(user=clerk, role=StaffMember.Role.CLERK).offices.set([office])
        services.counter_open(counter=counter, by=clerk, now=now - timedelta(hours=3))
        hall.counters.append(counter)
        hall.clerks.append(clerk)
    return hall


def tickets(hall: Hall, count: int, now: datetime, chance: random.Random, *, spread_minutes: float = 80) -> None:
    """`count` waiting tickets issued over the last `spread_minutes` (a quarter of them past
    the default max wait of 60 minutes when spread over 80)."""
    rule = selectors.calling_rule(selectors.queue_settings(hall.office))
    offered = list(hall.counters[0].services.all())
    rows = []
    for _ in range(count):
        channel = chance.choices(list(CHANNELS), weights=list(CHANNELS.values()))[0]
        issued = now - timedelta(minutes=chance.uniform(0, spread_minutes))
        hall.numbers[channel] += 1
        rows.append(
            Ticket(
                office=hall.office,
                day=selectors.local_day(now),
                service=chance.choice(offered),
                channel=channel,
                number=f"{PREFIXES[channel]}{hall.numbers[channel]:05d}",
                issued_at=issued,
                base_key=rules.base_key(channel, issued, rule),
                due_at=now + timedelta(minutes=chance.uniform(-30, 60)) if channel == "appointment" else None,
            )
        )
    Ticket.objects.bulk_create(rows, batch_size=2000)


def arrival(hall: Hall, now: datetime, chance: random.Random) -> None:
    """One more ticket, issued now: keeps the queue at its length."""
    tickets(hall, 1, now, chance, spread_minutes=0)


# --- 1. call-next against the length of the queue ---------------------------------------------


def explain(hall: Hall, now: datetime) -> bool:
    """EXPLAIN ANALYZE each tier query of call-next at the long queue; True when every one
    reads along a waiting index."""
    counter = hall.counters[0]  # the enterprise window: every tier
    rule = selectors.calling_rule(selectors.queue_settings(hall.office))
    names = ["past max wait, due", "past max wait", "enterprise", "due", "everyone"]
    every = True
    for name, tier in zip(names, selectors.next_candidates(counter, now, rule), strict=True):
        plan = tier[:1].explain(analyze=True)
        uses = "ticket_waiting_" in plan
        every &= uses
        removed = sum(int(n) for n in re.findall(r"Rows Removed by Filter: (\d+)", plan))
        took = re.search(r"Execution Time: ([\d.]+) ms", plan)
        print(
            f"  tier {name!r:24} waiting index: {'yes' if uses else 'NO'}; rows skipped {removed:5d}; "
            f"{took.group(1) if took else '?'} ms"
        )
        if os.environ.get("BENCH_PLANS"):
            print("    " + plan.replace("\n", "\n    "))
    return every


def call_next_bench(now: datetime) -> None:
    print(f"1. call-next with {LONG:,} tickets waiting against {SHORT}")
    offered = [Service.objects.get(document=d, business=b) for d, b in SERVICES]
    chance = random.Random(8)
    long_hall = make_hall("LONG", 4, offered, now)
    short_hall = make_hall("SHORT", 4, offered, now)
    tickets(long_hall, LONG, now, chance)
    tickets(short_hall, SHORT, now, chance)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE walkins_ticket")
    uses_index = explain(long_hall, now)
    timings: dict[str, list[float]] = {"LONG": [], "SHORT": []}
    moment = now
    for n in range(WARM_CALLS + CALLS):
        for hall in (long_hall, short_hall):
            moment += timedelta(seconds=1)
            counter, clerk = hall.counters[n % 4], hall.clerks[n % 4]
            started = time.perf_counter()
            called = services.ticket_call_next(counter=counter, by=clerk, now=moment)
            took = (time.perf_counter() - started) * 1000
            assert called is not None
            if n >= WARM_CALLS:
                timings[hall.office.code].append(took)
            arrival(hall, moment, chance)
    waiting = {h.office.code: h.office.tickets.filter(status="waiting").count() for h in (long_hall, short_hall)}
    long_, short = timings["LONG"], timings["SHORT"]
    print(
        f"  {CALLS} calls each, in turn; still waiting afterwards: {waiting}\n"
        f"  {LONG:,} waiting: p50 {statistics.median(long_):.2f} ms, p99 {pct(long_, 99):.2f} ms\n"
        f"  {SHORT:>6} waiting: p50 {statistics.median(short):.2f} ms, p99 {pct(short, 99):.2f} ms\n"
        f"  ratio long / short: p50 {statistics.median(long_) / statistics.median(short):.2f}, "
        f"p99 {pct(long_, 99) / pct(short, 99):.2f}  (target < 1.2); every tier on the index: {uses_index}"
    )


# --- 2. sixteen counters at once ------------------------------------------------------------------


def race_bench(now: datetime) -> None:
    print(f"2. {RACE_COUNTERS} counters calling at once until {RACE_TICKETS:,} tickets are gone")
    offered = [Service.objects.get(document=d, business=b) for d, b in SERVICES]
    hall = make_hall("RACE", RACE_COUNTERS, offered, now)
    tickets(hall, RACE_TICKETS, now, random.Random(16))
    barrier = threading.Barrier(RACE_COUNTERS)
    took: list[float] = []
    held: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(counter: Counter, clerk: User) -> None:
        try:
            barrier.wait()
            step = 0
            while True:
                step += 1
                started = time.perf_counter()
                called = services.ticket_call_next(counter=counter, by=clerk, now=now + timedelta(seconds=step))
                with lock:
                    took.append((time.perf_counter() - started) * 1000)
                if called is None:
                    return
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=pair) for pair in zip(hall.counters, hall.clerks, strict=True)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    events = TicketEvent.objects.filter(ticket__office=hall.office)
    called = Tally(events.filter(action="called").values_list("ticket_id", flat=True))
    completed = Tally(events.filter(action="completed").values_list("ticket_id", flat=True))
    twice = sum(1 for n in called.values() if n > 1)
    lost = RACE_TICKETS - len(called)
    overlaps = 0
    for counter in hall.counters:
        trail = list(events.filter(counter=counter).order_by("id").values_list("action", flat=True))
        overlaps += sum(1 for a, b in pairwise(trail) if a == b == "called")
    held = [s for s in hall.office.tickets.values_list("status", flat=True) if s != "completed"]
    print(
        f"  {len(took):,} calls in {seconds:.1f} s: {len(took) / seconds:.0f} calls/s; each call p50 "
        f"{statistics.median(took):.1f} ms, p99 {pct(took, 99):.1f} ms\n"
        f"  called twice: {twice}; never called: {lost}; completed once each: "
        f"{len(completed) == RACE_TICKETS and set(completed.values()) == {1}}; not completed: {len(held)}; "
        f"a counter holding two: {overlaps}; errors: {errors[:3]}"
    )


# --- 3. boards ----------------------------------------------------------------------------------


def busy_hall(now: datetime) -> Office:
    """An office in the middle of a busy morning, in real time: ten counters open, each with
    a current ticket, 200 tickets served over the last two hours, 80 waiting in several
    queues, appointments checked in, a few due."""
    offered = [Service.objects.get(document=d, business=b) for d, b in SERVICES]
    hall = make_hall("BOARD", 10, offered, now)
    chance = random.Random(100)
    tickets(hall, 290, now - timedelta(minutes=40), chance, spread_minutes=80)
    tickets(hall, 60, now, chance, spread_minutes=40)
    served = list(hall.office.tickets.order_by("issued_at")[:210])
    rows = []
    for n, ticket in enumerate(served):
        counter = hall.counters[n % 10]
        ticket.called_at = ticket.issued_at + timedelta(minutes=chance.uniform(5, 40))
        ticket.counter = counter
        if n < 200:
            ticket.status, ticket.finished_at = "completed", ticket.called_at + timedelta(minutes=chance.uniform(3, 12))
        else:
            ticket.status, ticket.called_at = "called", now - timedelta(minutes=chance.uniform(0, 6))
        rows.append(ticket)
    Ticket.objects.bulk_update(rows, ["status", "counter", "called_at", "finished_at"])
    return hall.office


@dataclass
class Load:
    statuses: Tally[int] = field(default_factory=Tally)
    ms: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def refresh(path: str, headers: dict[str, str], seconds: float, version: str | None) -> Load:
    """BOARDS clients, each on its own kept-alive connection, asking again as soon as answered.
    With a version, each sends back the one it shows, as the page does: the one of the last
    part it swapped in (a 200)."""
    load = Load()
    stop = time.perf_counter() + seconds
    barrier = threading.Barrier(BOARDS)

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        shown = version
        joiner = "&" if "?" in path else "?"
        barrier.wait()
        while time.perf_counter() < stop:
            started = time.perf_counter()
            try:
                status, body = kept_alive_request(
                    conn, "GET", path + (f"{joiner}v={shown}" if shown else ""), extra_headers=headers
                )
                found = re.search(rb'name="v" value="([0-9a-f]+)"', body) if shown and status == 200 else None
                shown = found.group(1).decode() if found else shown
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
                status = 599
            with load.lock:
                load.statuses[status] += 1
                load.ms.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=client) for _ in range(BOARDS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return load


def server_cpu(master: int) -> float:
    """CPU seconds used so far by gunicorn's master and workers."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == master or int(fields[1]) == master:
            used += (int(fields[11]) + int(fields[12])) / ticks
    return used


def postgres_busy(database: str) -> float:
    """Seconds PostgreSQL's backends have spent running statements for `database` so far
    (pg_stat_database.active_time, kept across the connections the server opens and closes;
    each backend reports it about once a second)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT active_time FROM pg_stat_database WHERE datname = %s", [database])
        (milliseconds,) = cursor.fetchone() or (0.0,)
    return float(milliseconds) / 1000


def current_version(path: str, headers: dict[str, str]) -> str | None:
    """The version of what a board part shows now, as the page sends it back (`v`)."""
    status, body = kept_alive_request(
        http.client.HTTPConnection("127.0.0.1", PORT, timeout=10), "GET", path, extra_headers=headers
    )
    found = re.search(rb'name="v" value="([0-9a-f]+)"', body) if status == 200 else None
    return found.group(1).decode() if found else None


def boards_bench(dsn: str) -> None:
    now = timezone.now()
    office = busy_hall(now)
    env = {**os.environ, "DATABASE_URL": dsn, "RATE_LIMITS": "off", "DEBUG": "0", "DJANGO_LOG_LEVEL": "ERROR"}
    server = subprocess.Popen(  # noqa: S603
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "bureau.wsgi:application",
            "--config=gunicorn.conf.py",  # as make run serves: 2 gthread workers x 8 threads
            "--access-logfile=/dev/null",
            f"--bind=127.0.0.1:{PORT}",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        waiting = office.tickets.filter(status="waiting").count()
        print(
            f"3. {BOARDS} boards refreshing at once for {BOARD_SECONDS:.0f} s each (gunicorn.conf.py: "
            f"{os.environ.get('WEB_WORKERS', '2')} workers x {os.environ.get('WEB_THREADS', '8')} threads; "
            f"an office with 10 counters open, {waiting} waiting, 200 served)"
        )
        htmx = {"HX-Request": "true"}
        # (name, path, headers, whether to send the version of what the board shows)
        targets = [("queue API", f"/api/v1/offices/{office.code}/queue/", {"Accept": "application/json"}, False)]
        for part, path in (("calls", f"/board/{office.code}/"), ("queues", f"/board/{office.code}/?part=queues")):
            targets += [(f"board {part}", path, htmx, False), (f"board {part}, nothing new", path, htmx, True)]
        database = dsn.rsplit("/", 1)[1]
        cost: dict[str, float] = {}
        for name, path, headers, unchanged in targets:
            version = current_version(path, headers) if unchanged else None
            refresh(path, headers, 3, version)  # warm every thread up
            version = current_version(path, headers) if unchanged else None  # the calls' changes each minute
            before, pg_before = server_cpu(server.pid), postgres_busy(database)
            started = time.perf_counter()
            load = refresh(path, headers, BOARD_SECONDS, version)
            seconds = time.perf_counter() - started
            cpu, pg = server_cpu(server.pid) - before, postgres_busy(database) - pg_before
            done = len(load.ms)
            cost[name] = (cpu + pg) / done * 1000
            print(
                f"  {name:26} {done / seconds:6.0f} requests/s, p50 {statistics.median(load.ms):6.1f} ms, "
                f"p99 {pct(load.ms, 99):7.1f} ms; server CPU {cpu / done * 1000:5.2f} ms a refresh "
                f"(PostgreSQL busy {pg / done * 1000:4.2f} ms); statuses {dict(load.statuses)}"
            )
        if {"board calls, nothing new", "board queues, nothing new", "board calls", "board queues"} <= set(cost):
            # A board asks for the calls every second and for the queues every 5 seconds.
            quiet = cost["board calls, nothing new"] + cost["board queues, nothing new"] / 5
            busy = cost["board calls"] + cost["board queues"] / 5
            print(
                f"  {BOARDS} boards polling as board.html does (calls every 1 s, queues every 5 s): "
                f"{BOARDS * quiet / 1000:.2f} s a second (web CPU + PostgreSQL busy) when nothing changes, "
                f"{BOARDS * busy / 1000:.2f} when every poll brings something new"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("make bench needs PostgreSQL: set DATABASE_URL=postgres://...")
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    db = connection.settings_dict
    dsn = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{test_db}"
    try:
        for document, business in SERVICES:
            Service.objects.create(code=f"{document}-{business}", document=document, business=business)
        now = timezone.now()
        parts = os.environ.get("BENCH_PARTS", "1,2,3").split(",")
        if "1" in parts:
            call_next_bench(now)
        if "2" in parts:
            race_bench(now)
        if "3" in parts and shutil.which("nice"):
            boards_bench(dsn)
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(test_db, verbosity=0)


if __name__ == "__main__":
    main()
