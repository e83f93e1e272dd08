"""Benchmark: recompute deadlines of 100,000 open applications after a rule change, on
PostgreSQL, against a plain bulk UPDATE writing the same rows in the same run.

    make bench            (DATABASE_URL must point at PostgreSQL; a throw-away test
                           database is created beside it and dropped afterwards)
"""

import os
import statistics
import sys
import time
from datetime import date, timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bureau.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402

from bureau import services  # noqa: E402
from bureau.models import Application, IssuanceRule, Office, Service  # noqa: E402

APPLICATIONS = int(os.environ.get("BENCH_APPLICATIONS", "100000"))
ROUNDS = 3
DAYS = 90  # open applications accepted over the last three months


def _seed() -> None:
    services.calendar_seed_from_package()
    office = Office.objects.create(code="B", name_zh="基准", name_en="Bench", mode="dual_track")
    service = Service.objects.create(code="passport-first", document="passport", business="first")
    first = date(2026, 12, 31) - timedelta(days=DAYS)
    rows = [
        Application(
            reference=f"B{i:09d}",
            office=office,
            service=service,
            applicant_name="王小晶",
            id_number="33010619900101123X",
            residency="in_province" if i % 3 else "out_of_province",
            expedited=i % 10 == 0,
            accepted_on=first + timedelta(days=i % DAYS),
        )
        for i in range(APPLICATIONS)
    ]
    Application.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE bureau_application")


def _toggle_rules(step: int) -> None:
    """Every rule one day longer or shorter: every open deadline moves."""
    for kind, base in (("in_province", 7), ("out_of_province", 20), ("expedited", 5)):
        IssuanceRule.objects.filter(kind=kind).update(count=base + step % 2)


def _timed(fn) -> tuple[float, int]:
    start = time.perf_counter()
    rows = fn()
    return time.perf_counter() - start, rows


def _plain_update() -> int:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE bureau_application SET due_on = due_on + 1, provisional = NOT provisional "
            "WHERE status IN ('accepted', 'in_production')"
        )
        return cursor.rowcount


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("make bench needs PostgreSQL: set DATABASE_URL=postgres://...")
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        _seed()
        fill_seconds, filled = _timed(services.deadlines_recompute)
        recompute, plain = [], []
        for step in range(1, ROUNDS + 1):
            _toggle_rules(step)
            seconds, changed = _timed(services.deadlines_recompute)
            assert changed == APPLICATIONS, changed
            assert services.deadlines_recompute() == 0  # idempotent: nothing left to change
            recompute.append(seconds)
            seconds, written = _timed(_plain_update)
            assert written == APPLICATIONS, written
            plain.append(seconds)
            services.deadlines_recompute()  # put the rows back in line for the next round
        groups = Application.objects.values("accepted_on", "residency", "expedited").distinct().count()
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)
    r, p = statistics.median(recompute), statistics.median(plain)
    print(f"open applications:        {APPLICATIONS:,} in {groups} (acceptance date, rule) groups")
    print(f"first fill (all null):    {fill_seconds:.2f} s, {filled / fill_seconds:,.0f} applications/s")
    print(f"recompute after a change: median {r:.2f} s of {ROUNDS}, {APPLICATIONS / r:,.0f} applications/s")
    print(f"plain bulk UPDATE:        median {p:.2f} s of {ROUNDS}, {APPLICATIONS / p:,.0f} rows/s")
    print(f"ratio recompute / plain:  {p / r:.2f}  (target >= 0.2)")


if __name__ == "__main__":
    main()
