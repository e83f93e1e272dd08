from typing import Any

from django.core.management.base import BaseCommand

from bureau import services


class Command(BaseCommand):
    help = "Load the official holiday calendar from the chinesecalendar package (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        years, days = services.calendar_seed_from_package()
        self.stdout.write(f"calendar: {years} years and {days} days added")
