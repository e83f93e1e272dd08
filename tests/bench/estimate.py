"""Benchmark: how close the estimated wait comes, over whole simulated days.

Each seed plays tests/walkins/simulation.whole_day (a district hall of ten windows, about 520
walk-ins and 80 bookings, lunch in turns) through the real services on a throw-away test
database, each day rolled back after it. For every ticket, the wait told at issue against
the wait it really had until its first call: the share within 5 minutes or 25%, the
90th-percentile error and the mean signed error (positive: told too long), per seed and
over all the tickets of all the seeds.

    make bench      (DATABASE_URL must point at PostgreSQL)
    BENCH_SEEDS=1,2,3,4,5 .venv/bin/python -m tests.bench.estimate
"""

import os
import sys
import time
from datetime import date

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bureau.settings")
django.setup()

from django.core.cache import caches  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from tests.walkins import simulation  # noqa: E402

DAY = date(2026, 12, 2)  # a Wednesday
SEEDS = [int(seed) for seed in os.environ.get("BENCH_SEEDS", "1,2,3").split(",")]


def one_day(seed: int) -> simulation.Figures:
    for cache in caches.all():
        cache.clear()
    with transaction.atomic():
        figures = simulation.simulate(simulation.whole_day(DAY, seed))
        transaction.set_rollback(True)
    return figures


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("make bench needs PostgreSQL: set DATABASE_URL=postgres://...")
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    every: list[simulation.Outcome] = []
    print(f"Estimated wait against the real wait, whole simulated days ({DAY}), seeds {SEEDS}")
    try:
        for seed in SEEDS:
            started = time.perf_counter()
            figures = one_day(seed)
            every += figures.outcomes
            print(f"seed {seed} ({time.perf_counter() - started:.0f} s):")
            print("  " + figures.report().replace("\n", "\n  "))
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)
    overall = simulation.Figures(every)
    signed = overall.mean([o.estimate - o.wait for o in overall.called if o.wait is not None])
    print(
        f"all seeds: {len(overall.called)} tickets; within 5 min or 25%: {overall.share_within():.1%} "
        f"(aim: 80%); 90th-percentile error {overall.p90_error():.1f} min; mean signed error {signed:+.1f} min"
    )


if __name__ == "__main__":
    main()
