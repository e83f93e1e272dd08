"""The dashboards' demo history: the last days of every demo office (after load_demo and
load_demo_bookings), written by bureau.dashboards.history and rolled up. Never for
production."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from bureau import selectors as core
from bureau.dashboards.history import history_generate
from bureau.dashboards.services import day_roll_up
from bureau.management.commands.load_demo import OFFICES
from bureau.models import Office

DAYS = 90
# Small enough for `make run` on SQLite (about 25 s with the roll-up on a shared 2-core machine),
# large enough for every chart: some 35 tickets a weekday at the municipal hall, 7 at a service point.
SCALE = 0.1


class Command(BaseCommand):
    help = (
        f"Load the dashboards' demo history (after load_demo and load_demo_bookings): the {DAYS} days "
        "before today at every demo office, with bookings, tickets called at counters in shifts and the "
        f"applications accepted, at {SCALE:g} of the real volumes, then roll those days up for the charts. "
        "Idempotent: an office's day that already has tickets or bookings is left alone, so a second run "
        "adds nothing and a run on a later day adds only the days not loaded before. Refused in production."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=DAYS, help=f"Days before today (default {DAYS}).")
        parser.add_argument("--scale", type=float, default=SCALE, help=f"Share of the real volumes (default {SCALE}).")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the random draws (default 0).")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo data is never loaded in production.")
        if options["days"] < 1 or options["scale"] <= 0:
            raise CommandError("--days must be at least 1 and --scale above 0.")
        now = timezone.now()
        today = core.office_today()
        offices = Office.objects.filter(code__in=[code for code, *_ in OFFICES]).order_by("position")
        counts = history_generate(
            offices=offices,
            first=today - timedelta(days=options["days"]),
            last=today - timedelta(days=1),
            scale=options["scale"],
            seed=options["seed"],
            now=now,
        )
        if not counts.days:
            self.stdout.write("Demo history: already loaded, nothing added.")
            return
        # The days written, and the past days their applications fall due on (the deadlines'
        # figures of those changed too).
        days = sorted({*counts.days, *(day for day in counts.due_days if day < today)})
        for day in days:
            day_roll_up(day=day, now=now)
        self.stdout.write(
            f"Demo history added: {len(counts.days)} days, {counts.tickets} tickets, {counts.bookings} bookings, "
            f"{counts.applications} applications; {len(days)} days rolled up."
        )
