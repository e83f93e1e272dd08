"""Reads of bookings: availability (each office's day cached for at most a second, its
counts rewritten from the database after every change), bookable days, a booking by its
secret."""

import hmac
import time as time_module
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache, caches
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac

from appointments import rules
from appointments.models import CHANNELS, Booking, BookingPolicy, Channel, Slot, SlotTemplate
from bureau import selectors as core
from bureau.models import CalendarYear, Office, OpeningSession, Service

# A cached day is read from the database again after this long, whatever corrections it got.
AVAILABILITY_TTL_SECONDS = 1
# Each process also keeps the day it last read for up to this long, never past the entry's
# own expiry: in a rush most requests ask about a slot already full, and this answers them
# without a round trip. A change made in the process drops its copy at once.
AVAILABILITY_LOCAL_SECONDS = 0.2
OFFICE_TZ = ZoneInfo(settings.OFFICE_TIME_ZONE)
POLICY_KEY = "booking-policy"


def policy() -> BookingPolicy:
    """The booking rules, cached like the rest of the configuration: every booking and
    availability read needs them."""
    return core.config_cached(POLICY_KEY, lambda: BookingPolicy.objects.get_or_create(pk=1)[0])


def policy_changed() -> None:
    """Call after the policy row is written, so the next read in this process sees it."""
    core.config_forget(POLICY_KEY)


def booking_token(reference: str) -> str:
    """The secret of a booking's manage link, derived from the reference and SECRET_KEY so
    a retried request can be answered with it again without storing it."""
    return salted_hmac("appointments.booking-token", reference, algorithm="sha256").hexdigest()[:32]


def token_matches(booking: Booking, token: str) -> bool:
    """Compared in constant time, as bytes: a header may carry any character, and
    compare_digest refuses a str that is not ASCII."""
    given = (token or "").encode("utf-8", "surrogatepass")
    return hmac.compare_digest(booking_token(booking.reference).encode(), given)


def availability_key(office_code: str, day: date) -> str:
    """Keyed by the office code, which a request carries, so a full slot can be answered
    before anything is looked up in the database."""
    return f"availability:{office_code}:{day.isoformat()}"


@dataclass(frozen=True)
class OpenSlot:
    start: str  # ISO 8601 in office time, as the API answers it
    remaining: int

    @property
    def starts_at(self) -> datetime:
        return datetime.fromisoformat(self.start)


def bookable_range(now: datetime | None = None, *, rules_: BookingPolicy | None = None) -> tuple[date, date]:
    local = timezone.localtime(now or timezone.now(), OFFICE_TZ)
    rules_ = rules_ or policy()
    return rules.bookable_dates(
        today=local.date(), local_time=local.time(), window_days=rules_.window_days, opens_at=rules_.opens_at
    )


class DayRow(NamedTuple):
    start: str  # ISO 8601 in office time
    slot_id: int
    services: tuple[str, ...]  # codes; weekend slots list weekend services only
    remaining: list[int]  # per channel, in Channel.values order

    @property
    def starts_at(self) -> datetime:
        return datetime.fromisoformat(self.start)


DayRows = list[DayRow]
# Quota and places taken of each channel, in Channel.values order.
_COUNT_FIELDS = [f"{channel}_{part}" for channel in Channel.values for part in ("quota", "booked")]


def _day_rows_refresh(office_code: str, day: date) -> tuple[float, DayRows]:
    """Every slot of an office's day, read from the database and put in the cache, with the
    time the entry expires."""
    start = datetime.combine(day, time.min, tzinfo=OFFICE_TZ)
    fields = ["starts_at", "pk", "template_id", *_COUNT_FIELDS]
    slots = list(
        Slot.objects.filter(
            office__code=office_code, starts_at__gte=start, starts_at__lt=start + timedelta(days=1), closed=False
        )
        .order_by("starts_at")
        .values_list(*fields)
    )
    served: dict[int, list[str]] = {}
    links = SlotTemplate.services.through.objects.filter(slottemplate_id__in={row[2] for row in slots})
    for template_id, code, day_kind, weekend_service in links.values_list(
        "slottemplate_id", "service__code", "slottemplate__day_kind", "service__weekend_service"
    ):
        if weekend_service or day_kind != OpeningSession.DayKind.WEEKEND:
            served.setdefault(template_id, []).append(code)
    rows = [
        DayRow(
            start=timezone.localtime(starts_at, OFFICE_TZ).isoformat(),
            slot_id=pk,
            services=tuple(served.get(template_id, ())),
            remaining=[quota - booked for quota, booked in zip(counts[::2], counts[1::2], strict=True)],
        )
        for starts_at, pk, template_id, *counts in slots
    ]
    entry = (time_module.time() + AVAILABILITY_TTL_SECONDS, rows)
    cache.set(availability_key(office_code, day), entry, AVAILABILITY_TTL_SECONDS)
    return entry


def cached_days_forget(keys: list[str]) -> None:
    """Drop cached days (by availability_key), so the next read goes to the database."""
    cache.delete_many(keys)
    caches["local"].delete_many(keys)


def cached_slot_refresh(*, office_code: str, start: datetime, slot_id: int) -> None:
    """Write one slot's counts, as committed now, into the cached day (called after commit).
    True counts, not +1/-1: a refresh of the day from another process between a change's
    commit and this call is then not counted twice. Two of these racing can leave the older
    counts for at most AVAILABILITY_TTL_SECONDS: a place shows as taken or returned that
    late, and the conditional UPDATE of a booking decides anyway."""
    local = timezone.localtime(start, OFFICE_TZ)
    key = availability_key(office_code, local.date())
    entry = cache.get(key)
    if entry is None:
        return
    counts = Slot.objects.filter(pk=slot_id).values_list(*_COUNT_FIELDS).first()
    expires, rows = entry
    left = expires - time_module.time()
    if left <= 0 or counts is None:
        return
    remaining = [quota - booked for quota, booked in zip(counts[::2], counts[1::2], strict=True)]
    rows = [row._replace(remaining=remaining) if row.slot_id == slot_id else row for row in rows]
    cache.set(key, (expires, rows), left)  # never makes the entry live longer
    caches["local"].delete(key)


def _day_rows(
    office_code: str, day: date, *, process_copy: bool = True, max_age: float = AVAILABILITY_TTL_SECONDS
) -> DayRows:
    """The cached day, read from the database at most `max_age` seconds ago (never more than
    AVAILABILITY_TTL_SECONDS); this process's copy of it unless `process_copy` is False."""
    key = availability_key(office_code, day)
    if process_copy:
        rows: DayRows | None = caches["local"].get(key)
        if rows is not None:
            return rows
    now = time_module.time()
    entry = cache.get(key)
    if entry is None or now >= entry[0] - AVAILABILITY_TTL_SECONDS + max_age:  # entry[0]: read + TTL
        entry = _day_rows_refresh(office_code, day)
    expires, rows = entry
    caches["local"].set(key, rows, min(AVAILABILITY_LOCAL_SECONDS, expires - now))
    return rows


def _rows_at(office_code: str, start: datetime, *, process_copy: bool = True) -> DayRows:
    """The cached rows of the office's slots that start at `start` (usually one), for a
    booking. Bookings read the day again once it is half its lifetime old: in a rush they
    keep it fresh, so that readers of availability, who would wait for the database, seldom
    find it expired."""
    local = timezone.localtime(start, OFFICE_TZ)
    wanted = local.isoformat()
    rows = _day_rows(office_code, local.date(), process_copy=process_copy, max_age=AVAILABILITY_TTL_SECONDS / 2)
    return [row for row in rows if row.start == wanted]


def availability(
    *, office_code: str, service_code: str, day: date, channel: str = Channel.GENERAL, now: datetime | None = None
) -> list[OpenSlot]:
    """Slots of a bookable day that serve the service, with the places left for `channel`.
    Comes from the cache without a database query while the day is cached."""
    first, last = bookable_range(now)
    if not first <= day <= last:
        return []
    index = Channel.values.index(channel)
    return [
        OpenSlot(start=row.start, remaining=row.remaining[index])
        for row in _day_rows(office_code, day)
        if service_code in row.services
    ]


def days_with_slots(*, office: Office, service: Service, first: date, last: date) -> set[date]:
    """The days from `first` to `last` on which the office has slots for the service."""
    start = datetime.combine(first, time.min, tzinfo=OFFICE_TZ)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=OFFICE_TZ)
    slots = Slot.objects.filter(
        office=office, template__services=service, starts_at__gte=start, starts_at__lt=end, closed=False
    )
    if not service.weekend_service:
        slots = slots.exclude(template__day_kind=OpeningSession.DayKind.WEEKEND)
    return {moment.date() for moment in slots.datetimes("starts_at", "day", tzinfo=OFFICE_TZ)}


def slot_serving(*, office_code: str, service_code: str, start: datetime) -> DayRow | None:
    """The cached row of the office's slot at `start` that serves the service (weekend slots
    list weekend services only), or None."""
    return next((row for row in _rows_at(office_code, start) if service_code in row.services), None)


def booking_changeable(booking: Booking, now: datetime | None = None) -> bool:
    """Whether the applicant may still move or cancel the booking: active, not yet started."""
    return booking.status == Booking.Status.BOOKED and (now or timezone.now()) < booking.starts_at


def booking_by_secret(reference: str, token: str) -> Booking | None:
    """The booking whose reference and secret token both match; None otherwise."""
    booking = (
        Booking.objects.select_related("office", "service", "slot").filter(reference=reference.strip().upper()).first()
    )
    if booking is None or not token_matches(booking, token):
        return None
    return booking


def day_overview(office: Office, day: date) -> QuerySet[Slot]:
    """Slots of an office's day with their places and places taken over every channel (the
    emergency reserve too, which the public never sees) and bookings counted by outcome,
    for supervisors."""
    start = datetime.combine(day, time.min, tzinfo=OFFICE_TZ)
    return (
        Slot.objects.filter(office=office, starts_at__gte=start, starts_at__lt=start + timedelta(days=1))
        .annotate(
            places=sum((F(f"{channel}_quota") for channel in CHANNELS[1:]), F(f"{CHANNELS[0]}_quota")),
            taken=sum((F(f"{channel}_booked") for channel in CHANNELS[1:]), F(f"{CHANNELS[0]}_booked")),
            booked=Count("bookings", filter=Q(bookings__status=Booking.Status.BOOKED)),
            checked_in=Count("bookings", filter=Q(bookings__status=Booking.Status.CHECKED_IN)),
            no_shows=Count("bookings", filter=Q(bookings__status=Booking.Status.NO_SHOW)),
            cancelled=Count("bookings", filter=Q(bookings__status=Booking.Status.CANCELLED)),
        )
        .order_by("starts_at")
    )


# Supervisors are warned this long before the booking window reaches a year the calendar
# does not know (its days then open by weekday, subject to the official calendar).
CALENDAR_WARNING_DAYS = 30


@dataclass(frozen=True)
class MissingCalendarYear:
    year: int
    opens_on: date  # the day its first day enters the booking window


def calendar_year_missing_soon(today: date) -> MissingCalendarYear | None:
    """The first year without calendar data that the booking window reaches within
    CALENDAR_WARNING_DAYS, or None."""
    window = policy().window_days
    horizon = today + timedelta(days=window + CALENDAR_WARNING_DAYS)
    years = range(today.year, horizon.year + 1)
    known = set(CalendarYear.objects.filter(year__in=years).values_list("year", flat=True))
    for year in years:
        if year not in known:
            first = max(date(year, 1, 1), today + timedelta(days=1))
            return MissingCalendarYear(year=year, opens_on=first - timedelta(days=window))
    return None


def bookings_to_check_in(*, office: Office, id_number: str, day: date) -> QuerySet[Booking]:
    """The active bookings an ID number holds at an office on a day (a clerk looks them up
    when the applicant has neither the QR code nor the reference)."""
    start = datetime.combine(day, time.min, tzinfo=OFFICE_TZ)
    return (
        Booking.objects.select_related("service")
        .filter(office=office, id_number=id_number, starts_at__gte=start, starts_at__lt=start + timedelta(days=1))
        .filter(status=Booking.Status.BOOKED)
        .order_by("starts_at")
    )
