"""Demo slot templates for the dual-track offices of `load_demo`, and their slots."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from appointments.models import SlotTemplate
from appointments.services import slots_generate
from bureau.models import Office, OpeningSession, Service


class Command(BaseCommand):
    help = "Load demo slot templates (after load_demo) and open the booking window (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo data is never loaded in production.")
        services = list(Service.objects.all())
        with transaction.atomic():
            for office in Office.objects.filter(mode=Office.Mode.DUAL_TRACK).prefetch_related("sessions", "counters"):
                windows = len(office.counters.all())
                for session in office.sessions.all():
                    self._template(office, session, windows, services)
        self.stdout.write(f"Booking slots created: {slots_generate()}")

    def _template(self, office: Office, session: OpeningSession, windows: int, services: list[Service]) -> None:
        """Half-hour slots with about half the windows' capacity for bookings (the rest is
        for walk-ins); weekend templates carry only the weekend services."""
        template, created = SlotTemplate.objects.get_or_create(
            office=office,
            day_kind=session.day_kind,
            starts_at=session.opens_at,
            ends_at=session.closes_at,
            defaults={
                "slot_minutes": 30,
                "general_quota": max(1, windows // 2),
                "enterprise_quota": 1 if windows >= 6 else 0,
                "emergency_quota": 1,
            },
        )
        if created:
            weekend = session.day_kind == OpeningSession.DayKind.WEEKEND
            template.services.set([s for s in services if s.weekend_service or not weekend])
