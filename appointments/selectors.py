"""Reads of bookings: availability (cached for at most a second and dropped on every
change), bookable days, a booking by its secret."""

import hmac
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac

from appointments import rules
from appointments.models import Booking, BookingPolicy, Channel, Slot
from bureau.models import Office, OpeningSession, Service

# Readers may see a cached count this long at most; every change also drops the entry.
AVAILABILITY_TTL_SECONDS = 1
OFFICE_TZ = ZoneInfo(settings.OFFICE_TIME_ZONE)


def policy() -> BookingPolicy:
    return BookingPolicy.objects.get_or_create(pk=1)[0]


def booking_token(reference: str) -> str:
    """The secret of a booking's manage link, derived from the reference and SECRET_KEY so
    a retried request can be answered with it again without storing it."""
    return salted_hmac("appointments.booking-token", reference, algorithm="sha256").hexdigest()[:32]


def token_matches(booking: Booking, token: str) -> bool:
    return hmac.compare_digest(booking_token(booking.reference), token or "")


def availability_key(office_code: str, day: date) -> str:
    """Keyed by the office code, which a request carries, so a full slot can be answered
    before anything is looked up in the database."""
    return f"availability:{office_code}:{day.isoformat()}"


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


DayRows = list[tuple[str, int, bool, list[int]]]


def day_rows_refresh(office_code: str, day: date) -> DayRows:
    """(start ISO, template id, weekend, [remaining per channel]) of an office's day, read
    from the database and put in the cache."""
    start = datetime.combine(day, time.min, tzinfo=OFFICE_TZ)
    fields = ["starts_at", "template_id", "template__day_kind"]
    for channel in Channel.values:
        fields += [f"{channel}_quota", f"{channel}_booked"]
    slots = Slot.objects.filter(office__code=office_code, starts_at__gte=start, starts_at__lt=start + timedelta(days=1))
    rows = [
        (
            timezone.localtime(starts_at, OFFICE_TZ).isoformat(),
            template_id,
            day_kind == OpeningSession.DayKind.WEEKEND,
            [quota - booked for quota, booked in zip(counts[::2], counts[1::2], strict=True)],
        )
        for starts_at, template_id, day_kind, *counts in slots.order_by("starts_at").values_list(*fields)
    ]
    cache.set(availability_key(office_code, day), rows, AVAILABILITY_TTL_SECONDS)
    return rows


def _day_rows(office_code: str, day: date) -> DayRows:
    rows = cache.get(availability_key(office_code, day))
    return day_rows_refresh(office_code, day) if rows is None else rows


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
        for start, template_id, weekend, remaining in _day_rows(office.code, day)
        if template_id in templates and (service.weekend_service or not weekend)
    ]


def known_full(*, office_code: str, start: datetime, channel: str) -> bool:
    """True when the cached day says every slot at `start` has no `channel` place left: the
    cheap answer most requests get in a rush. It may lag a returned place by a second; the
    conditional UPDATE of a booking is what guarantees capacity, not this."""
    index = Channel.values.index(channel) if channel in Channel.values else None
    if index is None:
        return False
    local = timezone.localtime(start, OFFICE_TZ)
    rows = [row for row in _day_rows(office_code, local.date()) if row[0] == local.isoformat()]
    return bool(rows) and all(remaining[index] <= 0 for *_, remaining in rows)


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
