"""Demo slot templates for the dual-track offices of `load_demo`, their slots (today's too),
and bookings: today's checked in, missed and still to come, and some on the coming days."""

import random
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from appointments.models import Booking, Channel, PlaceHold, Slot, SlotTemplate
from appointments.selectors import OFFICE_TZ, availability_key, bookable_range, cached_days_forget, policy
from appointments.services import booking_create, slots_generate
from bureau.management.commands.load_demo import (
    DEMO_PREFIX,
    OFFICES,
    demo_clerk_username,
    demo_person,
    demo_phone,
    office_local,
)
from bureau.models import Office, OpeningSession, Service
from bureau.services import DomainError

# Bookings are made through booking_create for this many bookable days from tomorrow.
AHEAD_DAYS = 3
# Their idempotency keys start with this: a second run finds them and books nothing.
AHEAD_KEY_PREFIX = "demo-"


class Command(BaseCommand):
    help = (
        "Load demo slot templates (after load_demo), open the booking window and today's slots, and "
        "add demo bookings. Idempotent: templates are matched by office and session, slots by "
        "template and start; today's bookings (references starting with "
        f"{DEMO_PREFIX}<office><date>) are added only when the office has none of them today, "
        "with checked-in, no-show and booked states as the time of day allows and slot counters "
        f"kept true; bookings on the next {AHEAD_DAYS} bookable days go through the booking service "
        f"with an idempotency key '{AHEAD_KEY_PREFIX}<office>-<date>-<n>' and are skipped when "
        "that key exists. A run on a later day adds that day's bookings only. Refused in production."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo data is never loaded in production.")
        services = list(Service.objects.all())
        with transaction.atomic():
            for office in Office.objects.filter(mode=Office.Mode.DUAL_TRACK).prefetch_related("sessions", "counters"):
                windows = len(office.counters.all())
                for session in office.sessions.all():
                    self._template(office, session, windows, services)
        now = timezone.now()
        today = timezone.localtime(now, OFFICE_TZ).date()
        # slots_generate opens the days after the one it is given: from yesterday, today too.
        created = slots_generate(today=today - timedelta(days=1)) + slots_generate(today=today)
        self.stdout.write(f"Booking slots created: {created}")
        offices = list(
            Office.objects.filter(mode=Office.Mode.DUAL_TRACK, code__in=[code for code, *_ in OFFICES]).annotate(
                windows=Count("counters")
            )
        )
        with transaction.atomic():
            added_today = sum(demo_bookings_today(office, now=now) for office in offices)
        cached_days_forget([availability_key(office.code, today) for office in offices])
        added, refused = demo_bookings_ahead(offices, now=now)
        self.stdout.write(f"Demo bookings added: {added_today} today, {added} on the coming days ({refused} refused)")

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


def _day_slots(office: Office, day: date) -> list[tuple[Slot, list[Service]]]:
    """The office's slots of a day with the services each serves (weekend slots: weekend services)."""
    start = datetime.combine(day, time.min, tzinfo=OFFICE_TZ)
    slots = (
        Slot.objects.filter(office=office, starts_at__gte=start, starts_at__lt=start + timedelta(days=1))
        .select_related("template")
        .prefetch_related("template__services")
        .order_by("starts_at")
    )
    return [
        (
            slot,
            [
                s
                for s in slot.template.services.all()
                if s.weekend_service or slot.template.day_kind != OpeningSession.DayKind.WEEKEND
            ],
        )
        for slot in slots
    ]


def demo_bookings_today(office: Office, *, now: datetime) -> int:
    """Today's demo bookings at an office, written directly (no SMS): slots whose check-in
    window has closed get checked-in bookings and no-shows, slots whose window is open some
    of each kind, later slots bookings still to come; one booking cancelled yesterday whose
    held place has returned. Every place is taken with the same conditional UPDATE as a
    booking, so the slot counters stay true. Nothing is added if the office already has
    demo bookings today. Returns how many were added."""
    today = timezone.localtime(now, OFFICE_TZ).date()
    prefix = f"{DEMO_PREFIX}{office.code}{today:%y%m%d}"
    if Booking.objects.filter(office=office, reference__startswith=prefix).exists():
        return 0
    rules_ = policy()
    before = timedelta(minutes=rules_.check_in_before_minutes)
    after = timedelta(minutes=rules_.check_in_after_minutes)
    windows: int = getattr(office, "windows", 0) or office.counters.count()
    clerks = {u.username: u for u in get_user_model().objects.filter(username__startswith="demo-clerk-")}
    rng = random.Random(f"demo-bookings-today:{office.code}:{today.isoformat()}")  # noqa: S311 - demo data
    rows: list[Booking] = []
    closed_seen = 0
    day_slots = _day_slots(office, today)
    for slot, served in day_slots:
        if not served:
            continue
        start = slot.starts_at
        count = rng.randint(1, max(1, min(slot.general_quota, 4) - 1))
        for _ in range(count):
            service = rng.choice(served)
            name, number = demo_person(rng, in_province=rng.random() < 0.8)
            phone = demo_phone(rng)
            booked_days_ago = rng.randint(1, 14)
            created_at = office_local(today - timedelta(days=booked_days_ago), time(8)) + timedelta(
                seconds=rng.randrange(3600)
            )
            arrival = start - timedelta(minutes=rng.randrange(int(before.total_seconds() // 60) + 1))
            clerk = clerks[demo_clerk_username(office.code, rng.randint(1, max(windows, 1)))]
            status, checked_in_at, changed_at = Booking.Status.BOOKED, None, created_at
            if now > start + after:  # the check-in window has closed
                closed_seen += 1
                if closed_seen % 5 == 2:
                    status, changed_at = Booking.Status.NO_SHOW, min(start + after + timedelta(minutes=5), now)
                else:
                    status = Booking.Status.CHECKED_IN
                    checked_in_at = changed_at = min(arrival, now)
            elif now >= start - before and rng.random() < 0.5 and arrival <= now:
                status, checked_in_at, changed_at = Booking.Status.CHECKED_IN, arrival, arrival
            if not _take_general_place(slot):
                break
            rows.append(
                Booking(
                    reference=f"{prefix}{len(rows) + 1:03d}",
                    office=office,
                    service=service,
                    slot=slot,
                    starts_at=start,
                    channel=Channel.GENERAL,
                    name=name,
                    id_number=number,
                    phone=phone,
                    status=status,
                    created_at=created_at,
                    changed_at=changed_at,
                    language="zh-hans" if rng.random() < 0.9 else "en",
                    checked_in_at=checked_in_at,
                    checked_in_by=clerk if checked_in_at else None,
                )
            )
    if day_slots and day_slots[-1][1]:
        rows.append(_cancelled_yesterday(office, day_slots[-1], prefix, len(rows) + 1, rng))
    Booking.objects.bulk_create(rows)
    return len(rows)


def _take_general_place(slot: Slot) -> bool:
    """One general place, only if one is left (as booking_create takes it)."""
    return bool(
        Slot.objects.filter(pk=slot.pk, general_booked__lt=F("general_quota")).update(
            general_booked=F("general_booked") + 1
        )
    )


def _cancelled_yesterday(
    office: Office, slot_served: tuple[Slot, list[Service]], prefix: str, n: int, rng: random.Random
) -> Booking:
    """A booking of today's last slot cancelled yesterday; its held place has gone back to the
    pool (the hold is released), so it takes no place."""
    slot, served = slot_served
    name, number = demo_person(rng)
    today = timezone.localtime(slot.starts_at, OFFICE_TZ).date()
    cancelled_at = office_local(today - timedelta(days=1), time(19, rng.randrange(60)))
    PlaceHold.objects.create(
        slot=slot,
        channel=Channel.GENERAL,
        release_at=cancelled_at + timedelta(minutes=policy().hold_minutes),
        released=True,
    )
    return Booking(
        reference=f"{prefix}{n:03d}",
        office=office,
        service=rng.choice(served),
        slot=slot,
        starts_at=slot.starts_at,
        channel=Channel.GENERAL,
        name=name,
        id_number=number,
        phone=demo_phone(rng),
        status=Booking.Status.CANCELLED,
        created_at=cancelled_at - timedelta(days=rng.randint(2, 6)),
        changed_at=cancelled_at,
    )


def demo_bookings_ahead(offices: Sequence[Office], *, now: datetime) -> tuple[int, int]:
    """Bookings on the first AHEAD_DAYS bookable days, made by booking_create (which queues
    their confirmation SMS) with demo idempotency keys; keys already used are skipped.
    Returns (added, refused by a rule, such as a slot filled meanwhile)."""
    first, last = bookable_range(now)
    days = [first + timedelta(days=n) for n in range(AHEAD_DAYS) if first + timedelta(days=n) <= last]
    used = set(
        Booking.objects.filter(idempotency_key__startswith=AHEAD_KEY_PREFIX).values_list("idempotency_key", flat=True)
    )
    added = refused = 0
    for office in offices:
        windows: int = getattr(office, "windows", 0) or office.counters.count()
        for day in days:
            rng = random.Random(f"demo-bookings-ahead:{office.code}:{day.isoformat()}")  # noqa: S311 - demo data
            day_slots = [(slot, served) for slot, served in _day_slots(office, day) if served]
            count = rng.randint(4, 8) if windows >= 12 else rng.randint(1, 4)
            for n in range(1, count + 1):
                if not day_slots:
                    break
                slot, served = rng.choice(day_slots)
                service = rng.choice(served)
                name, number = demo_person(rng, in_province=rng.random() < 0.8)
                phone = demo_phone(rng)
                key = f"{AHEAD_KEY_PREFIX}{office.code.lower()}-{day.isoformat()}-{n}"
                if key in used:
                    continue
                try:
                    booking_create(
                        office=office,
                        service=service,
                        start=slot.starts_at,
                        name=name,
                        id_number=number,
                        phone=phone,
                        idempotency_key=key,
                        now=now,
                    )
                except DomainError:
                    refused += 1
                else:
                    added += 1
    return added, refused
