from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext_noop

from bureau import services


class Command(BaseCommand):
    help = "Load the official holiday calendar from the chinesecalendar package (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        years, days = services.calendar_seed_from_package()
        if years or days:
            services.deadlines_request_recompute(reason=gettext_noop("calendar loaded from package"))
        self.stdout.write(f"calendar: {years} years and {days} days added")
