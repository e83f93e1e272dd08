"""Benchmark: the rush when a new day opens for booking.

gunicorn (gthread) on PostgreSQL and Redis serves the real app; 200 client threads fire
bookings at one office's day until every place is taken and at least 5x more attempts than
places were made, reading availability between attempts. The same clients and server then
run the reference: a minimal DRF endpoint that only runs the booking statement (the
framework's ceiling); three such pairs, back to back. Last, the same transaction as raw SQL
from 200 threads.

    make bench      (needs PostgreSQL and Redis: DATABASE_URL and REDIS_URL)
"""

import http.client
import json
import multiprocessing
import multiprocessing.synchronize
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from queue import Queue

import django

os.environ["DJANGO_SETTINGS_MODULE"] = "tests.bench.settings"
django.setup()

import psycopg2  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from stdnum.cn import ric  # noqa: E402

from appointments import selectors, services  # noqa: E402
from appointments.models import Booking, BookingPolicy, Slot, SlotTemplate  # noqa: E402
from bureau.models import Office, Service  # noqa: E402
from bureau.services import calendar_seed_from_package  # noqa: E402
from tests.bench.client import kept_alive_request  # noqa: E402

CLIENTS = 200
PLACES_PER_SLOT = 20
ATTEMPTS_PER_PLACE = 5
READ_EVERY = 4  # an availability read after every fourth booking attempt
CLIENT_NICE = 10  # Linux: a thread's own nice value
ROUNDS = 3  # pairs of timed runs: the real booking API, then the ceiling
PORT = 8765  # the web pool: bookings and everything else
READ_PORT = 8766  # the read pool: availability only, so reads never queue behind bookings
ROOT = Path(__file__).resolve().parents[2]


def id_numbers() -> "Queue[str]":
    """Distinct valid ID numbers, more than any run uses."""
    numbers: Queue[str] = Queue()
    born = date(1960, 1, 1)
    for n in range(40_000):
        base = f"330106{born + timedelta(days=n // 900):%Y%m%d}{n % 900 + 100:03d}"
        numbers.put(base + ric.calc_check_digit(base + "0"))
    return numbers


@dataclass
class Run:
    places: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    attempts: int = 0
    booked: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    post_ms: list[float] = field(default_factory=list)
    read_ms: list[float] = field(default_factory=list)
    probe_ms: list[float] = field(default_factory=list)
    open_slots: list[str] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0

    def finished(self) -> bool:
        return self.booked >= self.places and self.attempts >= ATTEMPTS_PER_PLACE * self.places


def attempt(
    target: str, office: Office, start: str, slot_ids: dict[str, int], numbers: "Queue[str]"
) -> tuple[str, dict[str, object]]:
    """The path and body of one booking attempt at `start`: the real API or the ceiling."""
    if target == "ceiling":
        return "/bench/ceiling/", {"slot": slot_ids[start]}
    return "/api/v1/bookings/", {
        "office": office.code,
        "service": "passport-first",
        "start": start,
        "name": "王小晶",
        "id_number": numbers.get_nowait(),
        "phone": "13812345678",
    }


def client(run: Run, target: str, office: Office, day: date, slot_ids: dict[str, int], numbers: "Queue[str]") -> None:
    # The rush's clients are people on the internet, not on the server: here they yield the
    # CPU (at the web pool's weight) to the read pool and to the reader that measures it.
    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CLIENT_NICE)
    rng = random.Random()
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    reads = http.client.HTTPConnection("127.0.0.1", READ_PORT, timeout=60)
    availability = f"/api/v1/offices/{office.code}/availability/?service=passport-first&date={day}"
    n = 0
    while not run.finished():
        n += 1
        try:
            if n % READ_EVERY == 0:
                t0 = time.perf_counter()
                status, body = kept_alive_request(reads, "GET", availability)
                elapsed = (time.perf_counter() - t0) * 1000
                open_now = [s["start"] for s in json.loads(body)["slots"] if s["remaining"] > 0]
                with run.lock:
                    run.read_ms.append(elapsed)
                    run.open_slots = open_now
            with run.lock:
                start = rng.choice(run.open_slots or list(slot_ids))
            path, payload = attempt(target, office, start, slot_ids, numbers)
            t0 = time.perf_counter()
            status, _ = kept_alive_request(conn, "POST", path, payload)
            elapsed = (time.perf_counter() - t0) * 1000
        except (OSError, http.client.HTTPException):
            conn.close()
            reads.close()
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
            reads = http.client.HTTPConnection("127.0.0.1", READ_PORT, timeout=60)
            with run.lock:
                run.statuses[599] += 1
            continue
        with run.lock:
            run.attempts += 1
            run.statuses[status] += 1
            run.post_ms.append(elapsed)
            if status == 201:
                run.booked += 1
            elif status == 409 and start in run.open_slots:
                run.open_slots.remove(start)


def reader(path: str, stop: "multiprocessing.synchronize.Event", results: "multiprocessing.Queue[list[float]]") -> None:
    """People refreshing the availability page during the rush: one read every 20 ms on a
    kept-alive connection, as a browser's, from its own process (the 200 client threads' own
    GIL waits would be measured otherwise)."""
    latencies = []
    conn = http.client.HTTPConnection("127.0.0.1", READ_PORT, timeout=60)
    while not stop.is_set():
        t0 = time.perf_counter()
        kept_alive_request(conn, "GET", path)
        latencies.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.02)
    results.put(latencies)


def cpu_seconds(pools: "dict[str, int]") -> dict[tuple[str, int], float]:
    """CPU seconds used so far by each process of each part: the gunicorn pools (master and
    workers), PostgreSQL, Redis, and this process with its children (the load generator)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[tuple[str, int], float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        ppid, seconds = int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks
        pid = int(entry.name)
        part = next((pool for pool, master in pools.items() if master in (pid, ppid)), None)
        if part is None and name.startswith("postgres"):
            part = "postgres"
        elif part is None and name.startswith("redis-server"):
            part = "redis"
        elif part is None and os.getpid() in (pid, ppid):
            part = "load generator"  # the client threads, and the reader's process
        if part:
            used[part, pid] = seconds
    return used


def cpu_used(pools: "dict[str, int]", before: dict[tuple[str, int], float]) -> str:
    """CPU seconds per part since `before`; a process that ended meanwhile is not counted."""
    by_part: dict[str, float] = {}
    for (part, pid), seconds in cpu_seconds(pools).items():
        by_part[part] = by_part.get(part, 0.0) + seconds - before.get((part, pid), 0.0)
    return ", ".join(f"{part} {seconds:.1f}" for part, seconds in sorted(by_part.items()))


def fire(target: str, office: Office, day: date, slot_ids: dict[str, int], numbers: "Queue[str]") -> Run:
    run = Run(places=PLACES_PER_SLOT * len(slot_ids), open_slots=list(slot_ids))
    threads = [
        threading.Thread(target=client, args=(run, target, office, day, slot_ids, numbers)) for _ in range(CLIENTS)
    ]
    stop = multiprocessing.Event()
    results: multiprocessing.Queue[list[float]] = multiprocessing.Queue()
    path = f"/api/v1/offices/{office.code}/availability/?service=passport-first&date={day}"
    probe = multiprocessing.Process(target=reader, args=(path, stop, results))
    probe.start()
    run.started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.ended = time.perf_counter()
    stop.set()
    run.probe_ms = results.get()
    probe.join()
    return run


def warm_up(target: str, office: Office, day: date, slot_ids: dict[str, int], numbers: "Queue[str]") -> None:
    """Every server thread answers a few requests of the kind measured next (on another day)
    before the clock starts: a worker's first request imports views and opens its database
    connection, which a server that has been up before the day opens has long done."""
    availability = f"/api/v1/offices/{office.code}/availability/?service=passport-first&date={day}"

    def one_client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        reads = http.client.HTTPConnection("127.0.0.1", READ_PORT, timeout=60)
        for start in random.sample(sorted(slot_ids), 4):
            kept_alive_request(reads, "GET", availability)
            kept_alive_request(conn, "POST", *attempt(target, office, start, slot_ids, numbers))

    threads = [threading.Thread(target=one_client) for _ in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def raw_sql(dsn: str, slot_pks: list[int], office: Office, service: Service, numbers: "Queue[str]") -> Run:
    """The booking transaction as plain SQL: 200 threads sharing 50 connections, since
    PostgreSQL here allows 100 and gunicorn's threads still hold theirs."""
    run = Run(places=PLACES_PER_SLOT * len(slot_pks), open_slots=[str(pk) for pk in slot_pks])
    pool: Queue[psycopg2.extensions.connection] = Queue()
    for _ in range(50):
        pool.put(psycopg2.connect(dsn))
    insert = (
        "INSERT INTO appointments_booking (reference, office_id, service_id, slot_id, starts_at, channel, name,"
        " id_number, phone, status, created_at, changed_at, language)"
        " VALUES (%s, %s, %s, %s, %s, 'general', '王小晶', %s, '13812345678', 'booked', now(), now(),"
        " 'zh-hans')"
    )

    def worker() -> None:
        rng = random.Random()
        while not run.finished():
            with run.lock:
                pk = int(rng.choice(run.open_slots or [str(p) for p in slot_pks]))
            conn = pool.get()
            t0 = time.perf_counter()
            try:
                with conn, conn.cursor() as cursor:
                    cursor.execute(
                        "UPDATE appointments_slot SET general_booked = general_booked + 1"
                        " WHERE id = %s AND general_booked < general_quota RETURNING starts_at",
                        [pk],
                    )
                    taken = cursor.fetchone()
                    took = taken is not None
                    if taken is not None:
                        reference = f"R{rng.getrandbits(40):011d}"
                        cursor.execute(insert, [reference, office.pk, service.pk, pk, taken[0], numbers.get_nowait()])
            finally:
                pool.put(conn)
            elapsed = (time.perf_counter() - t0) * 1000
            with run.lock:
                run.attempts += 1
                run.post_ms.append(elapsed)
                run.statuses[201 if took else 409] += 1
                if took:
                    run.booked += 1
                elif str(pk) in run.open_slots:
                    run.open_slots.remove(str(pk))

    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    run.started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.ended = time.perf_counter()
    while not pool.empty():
        pool.get().close()
    return run


def start_pool(
    port: int, *, workers: int, threads: int, env: dict[str, str], nice: int = 0
) -> "subprocess.Popen[bytes]":
    """A gunicorn pool of the real app; returns once it answers. `nice` stands for the CPU
    weight the compose file gives the pool."""
    server = subprocess.Popen(  # noqa: S603
        [
            shutil.which("nice") or "/usr/bin/nice",
            f"-n{nice}",
            str(ROOT / ".venv/bin/gunicorn"),
            "bureau.wsgi:application",
            "--config=gunicorn.conf.py",  # as make run and the compose file serve
            "--access-logfile=/dev/null",  # formatted (redacted) as in production, not printed
            f"--bind=127.0.0.1:{port}",
            "--worker-class=gthread",
            f"--workers={workers}",
            f"--threads={threads}",
            "--backlog=2048",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
            break
        except OSError:
            time.sleep(0.2)
    return server


def stop(servers: "list[subprocess.Popen[bytes]]") -> None:
    while servers:
        server = servers.pop()
        server.terminate()
        server.wait(timeout=30)


def seed() -> tuple[Office, Service, date, date]:
    cache.clear()  # this Redis database is the benchmark's own
    calendar_seed_from_package()
    BookingPolicy.objects.update_or_create(pk=1, defaults={"opens_at": "00:00"})
    office = Office.objects.create(code="XH", name_zh="西湖区", name_en="Xihu", mode="dual_track")
    service = Service.objects.create(code="passport-first", document="passport", business="first", weekend_service=True)
    for kind in ("weekday", "weekend"):  # any day that is not a public holiday has the slots
        template = SlotTemplate.objects.create(
            office=office,
            day_kind=kind,
            starts_at="08:00",
            ends_at="21:00",
            slot_minutes=30,
            general_quota=PLACES_PER_SLOT,
            emergency_quota=0,
        )
        template.services.set([service])
    services.slots_generate()
    first, last = selectors.bookable_range()
    open_days = [
        d
        for d in (first + timedelta(days=n) for n in range((last - first).days + 1))
        if selectors.availability(office_code=office.code, service_code=service.code, day=d)
    ]
    return office, service, open_days[-1], open_days[0]


def reset(office: Office) -> None:
    Booking.objects.all().delete()
    Slot.objects.filter(office=office).update(general_booked=0)


def overbooked(office: Office) -> int:
    return sum(
        max(
            0,
            slot.bookings.filter(status="booked").count() - slot.general_quota,
            slot.general_booked - slot.general_quota,
        )
        for slot in Slot.objects.filter(office=office)
    )


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


def report(name: str, run: Run) -> dict[str, float]:
    seconds = run.ended - run.started
    errors = sum(count for status, count in run.statuses.items() if status not in (201, 409))
    row = {
        "attempts": run.attempts,
        "booked": run.booked,
        "seconds": seconds,
        "attempts_per_s": run.attempts / seconds,
        "booked_per_s": run.booked / seconds,
        "p50_ms": statistics.median(run.post_ms),
        "p99_ms": pct(run.post_ms, 99),
        "read_p50_ms": statistics.median(run.read_ms) if run.read_ms else float("nan"),
        "read_p99_ms": pct(run.read_ms, 99),
        "probe_p50_ms": statistics.median(run.probe_ms) if run.probe_ms else float("nan"),
        "probe_p99_ms": pct(run.probe_ms, 99),
        "probe_reads": len(run.probe_ms),
        "errors": errors,
    }
    print(
        f"{name:9} {run.attempts:6d} attempts, {run.booked:4d} booked in {seconds:5.1f} s: "
        f"{row['attempts_per_s']:6.0f} attempts/s, {row['booked_per_s']:5.0f} booked/s, "
        f"POST p50 {row['p50_ms']:5.1f} ms p99 {row['p99_ms']:6.1f} ms, "
        f"clients' reads p50 {row['read_p50_ms']:5.1f} ms p99 {row['read_p99_ms']:6.1f} ms, "
        f"reader p50 {row['probe_p50_ms']:5.1f} ms p99 {row['probe_p99_ms']:6.1f} ms ({len(run.probe_ms)} reads), "
        f"statuses {dict(run.statuses)}"
    )
    return row


def main() -> None:
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        sys.exit("the rush benchmark needs PostgreSQL and Redis: set DATABASE_URL and REDIS_URL")
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    db = settings.DATABASES["default"]
    dsn = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{test_db}"
    servers: list[subprocess.Popen[bytes]] = []
    try:
        office, service, day, warm_day = seed()

        def slots_of(d: date) -> dict[str, int]:
            slots = Slot.objects.filter(office=office, starts_at__date=d).order_by("starts_at")
            return {s.starts_at.astimezone(selectors.OFFICE_TZ).isoformat(): s.pk for s in slots}

        slot_ids, warm_slot_ids = slots_of(day), slots_of(warm_day)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.bench.settings",
            "DATABASE_URL": dsn,
            "RATE_LIMITS": "off",
            "DEBUG": "0",
            "DJANGO_LOG_LEVEL": "ERROR",  # a 409 is the expected answer, not worth a log line
        }
        servers = [
            start_pool(PORT, workers=4, threads=8, env=env, nice=10),
            start_pool(READ_PORT, workers=2, threads=4, env=env),
        ]
        numbers = id_numbers()
        print(
            f"{len(slot_ids)} slots x {PLACES_PER_SLOT} places = {len(slot_ids) * PLACES_PER_SLOT} places on {day}; "
            f"{CLIENTS} clients, >= {ATTEMPTS_PER_PLACE}x attempts"
        )
        pools = {"web": servers[0].pid, "web-read": servers[1].pid}

        def timed(target: str) -> dict[str, float]:
            warm_up(target, office, warm_day, warm_slot_ids, numbers)
            reset(office)
            before = cpu_seconds(pools)
            row = report(target, fire(target, office, day, slot_ids, numbers))
            print(f"  CPU seconds: {cpu_used(pools, before)}")
            row["overbooked"] = overbooked(office)
            reset(office)
            return row

        # The machine is shared: its speed drifts within a minute. Pairs of runs back to back,
        # and the median of their ratios, say more than one pair.
        pairs = []
        for n in range(1, ROUNDS + 1):
            print(f"round {n} of {ROUNDS}")
            booking, ceiling = timed("booking"), timed("ceiling")
            ratio = booking["attempts_per_s"] / ceiling["attempts_per_s"]
            print(f"  booking / ceiling: {ratio:.2f}")
            pairs.append((ratio, booking))
        stop(servers)
        raw = report("raw SQL", raw_sql(dsn, list(slot_ids.values()), office, service, numbers))
        print(f"raw SQL: {raw['attempts_per_s']:.0f} transactions/s (the database's own ceiling)")
        bookings = [booking for _, booking in pairs]
        print(
            f"overbooked places: {sum(b['overbooked'] for b in bookings)} (raw SQL {overbooked(office)}); "
            f"errors other than 409: {sum(b['errors'] for b in bookings)}"
        )
        ratios = sorted(ratio for ratio, _ in pairs)
        print(
            f"booking / DRF ceiling (attempts per second): median {statistics.median(ratios):.2f} of "
            f"{', '.join(f'{r:.2f}' for r in ratios)}  (target >= 0.7)"
        )
        reads = sorted(b["probe_p99_ms"] for b in bookings)
        print(
            f"availability reads during the rush, a reader's p99: median {statistics.median(reads):.1f} ms of "
            f"{', '.join(f'{r:.1f}' for r in reads)}  (target < 50 ms)"
        )
    finally:
        stop(servers)
        connection.close()
        connection.creation.destroy_test_db(test_db, verbosity=0)


if __name__ == "__main__":
    main()
