"""Reads of bookings: availability (cached for at most a second and dropped on every
change), bookable days, a booking by its secret."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from appointments import rules
from appointments.models import Booking, Channel, Slot
from appointments.services import OFFICE_TZ, availability_key, policy, token_matches
from bureau.models import Office, OpeningSession, Service

# Readers may see a cached count this long at most; every change also drops the entry.
AVAILABILITY_TTL_SECONDS = 1


@dataclass(frozen=True)
class OpenSlot:
    starts_at: datetime
    remaining: int


def bookable_range(now: datetime | None = None) -> tuple[date, date]:
    local = timezone.localtime(now or timezone.now(), ZoneInfo(settings.OFFICE_TIME_ZONE))
    rules_ = policy()
    return rules.bookable_dates(
        today=local.date(), local_time=local.time(), window_days=rules_.window_days, opens_at=rules_.opens_at
    )


def _day_rows(office: Office, day: date) -> list[tuple[str, int, bool, list[int]]]:
    """(start ISO, template id, weekend, [remaining per channel]) for an office's day; cached."""
    key = availability_key(office.pk, day)
    rows = cache.get(key)
    if rows is None:
        start = datetime.combine(day, time.min, tzinfo=OFFICE_TZ)
        slots = Slot.objects.filter(office=office, starts_at__gte=start, starts_at__lt=start + timedelta(days=1))
        rows = [
            (
                slot.starts_at.isoformat(),
                slot.template_id,
                slot.template.day_kind == OpeningSession.DayKind.WEEKEND,
                [slot.remaining(c) for c in Channel.values],
            )
            for slot in slots.select_related("template").order_by("starts_at")
        ]
        cache.set(key, rows, AVAILABILITY_TTL_SECONDS)
    return rows


def availability(
    *, office: Office, service: Service, day: date, channel: str = Channel.GENERAL, now: datetime | None = None
) -> list[OpenSlot]:
    """Slots of a bookable day that serve `service`, with the places left for `channel`."""
    first, last = bookable_range(now)
    if office.mode != Office.Mode.DUAL_TRACK or not first <= day <= last:
        return []
    templates = set(service.slot_templates.filter(office=office).values_list("pk", flat=True))
    index = Channel.values.index(channel)
    return [
        OpenSlot(starts_at=datetime.fromisoformat(start), remaining=remaining[index])
        for start, template_id, weekend, remaining in _day_rows(office, day)
        if template_id in templates and (service.weekend_service or not weekend)
    ]


def booking_by_secret(reference: str, token: str) -> Booking | None:
    """The booking whose reference and secret token both match; None otherwise."""
    booking = (
        Booking.objects.select_related("office", "service", "slot").filter(reference=reference.strip().upper()).first()
    )
    if booking is None or not token_matches(booking, token):
        return None
    return booking


def day_overview(office: Office, day: date) -> QuerySet[Slot]:
    """Slots of an office's day with bookings counted by outcome, for supervisors."""
    start = datetime.combine(day, time.min, tzinfo=OFFICE_TZ)
    return (
        Slot.objects.filter(office=office, starts_at__gte=start, starts_at__lt=start + timedelta(days=1))
        .annotate(
            places=F("general_quota") + F("student_quota") + F("enterprise_quota"),
            booked=Count("bookings", filter=Q(bookings__status=Booking.Status.BOOKED)),
            checked_in=Count("bookings", filter=Q(bookings__status=Booking.Status.CHECKED_IN)),
            no_shows=Count("bookings", filter=Q(bookings__status=Booking.Status.NO_SHOW)),
            cancelled=Count("bookings", filter=Q(bookings__status=Booking.Status.CANCELLED)),
        )
        .order_by("starts_at")
    )
