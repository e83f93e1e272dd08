"""Benchmark: the dashboards over a year of history.

On a throw-away PostgreSQL test database: the demo offices (load_demo, load_demo_bookings,
load_demo_queues for a live today), then a year of synthetic history for the 16 offices
(bureau.dashboards.history, scale 1.0: about 600,000 tickets and 250,000 applications),
then:

- the nightly roll-up of every day of that year: one day's time, p50 and max (target < 5 s);
- the supervisor's pages, signed in over all offices, through Django's test client (no
  server): Today of all offices, one office's Today, the Documents of the year to date;
  100 requests each, p50 and p99 (target p99 < 300 ms); a page that answers 404 is "not
  built yet";
- the what-if replay of the busiest office day (bureau.dashboards.whatif), read and replayed
  with the real counters and with one counter more (target < 2 s).

    DATABASE_URL=postgres://... python -W ignore -m tests.bench.dashboards

BENCH_HISTORY_DAYS (365), BENCH_HISTORY_SCALE (1.0) and BENCH_ROUNDS (100) make it smaller.
"""

import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from datetime import time as clock
from io import StringIO
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bureau.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from bureau import selectors as core  # noqa: E402
from bureau.dashboards import services, whatif  # noqa: E402
from bureau.dashboards.history import history_generate  # noqa: E402
from bureau.dashboards.models import DayFigures  # noqa: E402
from bureau.models import Application, Office  # noqa: E402
from walkins.models import Ticket, TicketEvent  # noqa: E402

DAYS = int(os.environ.get("BENCH_HISTORY_DAYS", "365"))
SCALE = float(os.environ.get("BENCH_HISTORY_SCALE", "1.0"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "100"))
ROLL_UP_TARGET, PAGE_TARGET, REPLAY_TARGET = 5.0, 0.300, 2.0


def p(times: list[float], share: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed(work: Callable[[], object], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return times


def verdict(value: float, target: float) -> str:
    return "within" if value < target else "OVER"


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("make bench needs PostgreSQL: set DATABASE_URL=postgres://...")
    setup_test_environment()
    logging.getLogger("celery").setLevel(logging.WARNING)  # a line per SMS sent otherwise
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.SMS_BACKEND = "bureau.sms.FileBackend"  # the console's would fill the report
    settings.RATE_LIMITS = dict.fromkeys(settings.RATE_LIMITS, "100000/minute")
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    scratch = tempfile.TemporaryDirectory()
    settings.SMS_FILE_DIR = str(Path(scratch.name) / "sms")
    try:
        run()
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)
        scratch.cleanup()


def run() -> None:
    for command in ("seed_calendar", "load_demo", "load_demo_bookings", "load_demo_queues"):
        call_command(command, stdout=StringIO())
    today = core.office_today()
    first, last = today - timedelta(days=DAYS), today - timedelta(days=1)
    offices = list(Office.objects.order_by("position"))

    began = time.perf_counter()
    counts = history_generate(offices=offices, first=first, last=last, scale=SCALE, seed=0)
    generated = time.perf_counter() - began
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    history = Application.objects.filter(accepted_on__gte=first, accepted_on__lte=last, tickets__isnull=False)
    print(
        f"History: {len(offices)} offices, {first} to {last} ({DAYS} days, {len(counts.days)} with an office open), "
        f"scale {SCALE:g}"
    )
    print(
        f"  {counts.tickets:,} tickets ({Ticket.objects.filter(day__lte=last).count():,} in the database), "
        f"{counts.applications:,} applications ({history.distinct().count():,} linked to a ticket), "
        f"{counts.bookings:,} bookings, {counts.ticket_events:,} ticket events "
        f"({TicketEvent.objects.count():,}), {counts.application_events:,} application events, "
        f"{counts.shifts:,} counter shifts"
    )
    rows = (
        counts.tickets
        + counts.ticket_events
        + counts.applications
        + counts.application_events
        + counts.bookings
        + counts.slots
        + counts.shifts
    )
    print(f"  generated in {generated:.0f} s ({rows / generated:,.0f} rows/s, one transaction a day)")

    days = [first + timedelta(days=n) for n in range(DAYS)]
    rolled = timed_each(days, lambda day: services.day_roll_up(day=day))
    print(
        f"Roll-up of one day (all offices), {len(days)} days: p50 {p(rolled, 0.5) * 1000:.0f} ms, "
        f"max {max(rolled) * 1000:.0f} ms ({verdict(max(rolled), ROLL_UP_TARGET)} the {ROLL_UP_TARGET:.0f} s target)"
    )

    client = Client()
    client.force_login(User.objects.get(username="demo-supervisor"))
    busiest = DayFigures.objects.order_by("-tickets_issued", "day").select_related("office").first()
    pages = [
        ("Today, all offices", "/dashboard/"),
        ("Today, one office (HZ)", "/dashboard/today/HZ/"),
        ("Documents, year to date", "/dashboard/documents/?period=year"),
    ]
    print(f"Pages as demo-supervisor (all offices), {ROUNDS} requests each (in-process client):")
    for label, url in pages:
        page(client, label, url)

    if busiest is None:
        print("What-if: no day rolled up")
        return
    replayed(client, busiest.office, busiest.day, busiest.tickets_issued)


def timed_each(days: list[date], work: Callable[[date], object]) -> list[float]:
    times = []
    for day in days:
        began = time.perf_counter()
        work(day)
        times.append(time.perf_counter() - began)
    return times


def queries_of(work: Callable[[], object]) -> tuple[object, int]:
    """What `work` returns and the queries it ran (counted as they run: a request clears
    Django's own log when it starts)."""
    ran = 0

    def count(execute: Callable[..., object], *args: object) -> object:
        nonlocal ran
        ran += 1
        return execute(*args)

    with connection.execute_wrapper(count):
        answer = work()
    return answer, ran


def minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} min"


def page(client: Client, label: str, url: str) -> None:
    first, queries = queries_of(lambda: client.get(url))
    assert isinstance(first, HttpResponse)
    if first.status_code == 404:
        print(f"  {label} ({url}): not built yet")
        return
    if first.status_code != 200:
        print(f"  {label} ({url}): answered {first.status_code}")
        return
    times = timed(lambda: client.get(url), ROUNDS)
    p99 = p(times, 0.99)
    print(
        f"  {label} ({url}): p50 {p(times, 0.5) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms "
        f"({verdict(p99, PAGE_TARGET)} the {PAGE_TARGET * 1000:.0f} ms target), "
        f"{queries} queries, {len(first.content) / 1024:.0f} KiB"
    )


def replayed(client: Client, office: Office, day: date, tickets: int) -> None:
    def replay() -> "tuple[whatif.Comparison, whatif.Comparison]":
        real = whatif.real_day(office, day)
        as_was = whatif.compare(real, whatif.real_plan(real))
        extra = whatif.Changes(extra=1, extra_opens=clock(9), extra_closes=clock(12))
        return as_was, whatif.compare(real, whatif.plan_with_changes(real, extra))

    rounds = 5
    times = timed(replay, rounds)
    as_was, changed = replay()
    print(
        f"What-if of the busiest office day ({office.code} {day}, {tickets} tickets), read and replayed "
        f"as it was and with one counter more, {rounds} rounds: p50 {p(times, 0.5) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms ({verdict(max(times), REPLAY_TARGET)} the {REPLAY_TARGET:.0f} s target)"
    )
    print(
        f"  mean wait: real {minutes(as_was.real.mean)}, replayed as it was {minutes(as_was.as_was.mean)} "
        f"(mean error per ticket {minutes(as_was.mean_abs_error)}), with one counter more from 9:00 to 12:00 "
        f"{minutes(changed.changed.mean)}"
    )
    url = f"/dashboard/what-if/?office={office.code}&day={day}"
    answer = client.get(url)
    if answer.status_code == 404:
        print(f"  the page ({url}): not built yet")
        return
    times = timed(lambda: client.get(url), rounds)
    print(f"  the page ({url}): answered {answer.status_code}, p50 {p(times, 0.5) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
