"""Reads of the queues: each office's calling figures, the ticket a counter calls next, how
many are ahead of a ticket, the estimated wait, what boards and the queue page show. Counts
are read from the database, never kept as running totals."""

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from appointments.models import Booking
from bureau.models import Counter, Office, Service
from walkins import rules
from walkins.models import PREFIXES, CounterShift, QueueSettings, Ticket, TicketChannel, TicketEvent

OFFICE_TZ = ZoneInfo(settings.OFFICE_TIME_ZONE)
# Service times of the last this long make the estimate; fewer than MIN_SAMPLES fall back to
# the typical time.
SERVICE_TIME_WINDOW = timedelta(hours=2)
MIN_SAMPLES = 5
TYPICAL_SERVICE_MINUTES = 8.0
RECENT_CALLS = 8


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment, OFFICE_TZ).date()


def queue_settings(office: Office) -> QueueSettings:
    found, _created = QueueSettings.objects.get_or_create(office=office)
    return found


def calling_rule(figures: QueueSettings) -> rules.CallingRule:
    return rules.CallingRule(
        weights={channel: figures.weight(channel) for channel in TicketChannel.values},
        ageing_per_minute=float(figures.ageing_per_minute),
        appointment_boost=float(figures.appointment_boost),
        max_wait=figures.max_wait,
    )


def open_shift(counter: Counter) -> CounterShift | None:
    return CounterShift.objects.filter(counter=counter, closed_at__isnull=True).select_related("clerk").first()


def current_ticket(counter: Counter) -> Ticket | None:
    return Ticket.objects.select_related("service").filter(counter=counter, status=Ticket.Status.CALLED).first()


def waiting_for(counter: Counter, day: date) -> QuerySet[Ticket]:
    return Ticket.objects.filter(
        office_id=counter.office_id,
        day=day,
        status=Ticket.Status.WAITING,
        service__in=counter.services.all(),
    )


def next_candidates(counter: Counter, now: datetime, rule: rules.CallingRule) -> list[QuerySet[Ticket]]:
    """The queries that together find the ticket a counter calls next, best tier first; each
    reads one row along the index on the stored key (`ORDER BY base_key DESC LIMIT 1`), so a
    call costs the same with ten tickets waiting as with ten thousand. In a tier, the stored
    key orders as the score does, since every ticket in it has the same boost. Tiers: past
    the max wait (with and without the appointment boost); at the enterprise window the
    enterprise tickets; then everyone (with and without the boost)."""
    waiting = waiting_for(counter, local_day(now))
    overdue = Q(issued_at__lte=now - rule.max_wait)
    due = Q(due_at__lte=now)
    order = (F("base_key").desc(), F("issued_at").asc(), F("id").asc())
    tiers = [waiting.filter(overdue & due), waiting.filter(overdue & ~due)]
    if counter.enterprise_window:
        enterprise = waiting.filter(channel=TicketChannel.ENTERPRISE)
        tiers += [enterprise.filter(due), enterprise.filter(~due)]
    tiers += [waiting.filter(due), waiting.filter(~due)]
    return [tier.order_by(*order) for tier in tiers]


def as_waiting(ticket: Ticket) -> rules.Waiting:
    return rules.Waiting(
        id=ticket.pk,
        channel=ticket.channel,
        service_id=ticket.service_id,
        issued_at=ticket.issued_at,
        due_at=ticket.due_at,
    )


def ahead_of(ticket: Ticket, now: datetime | None = None) -> int:
    """How many waiting tickets of the same service would be called before this one if every
    counter called now, by the rule's tiers (a guide for the applicant: other services share
    counters too). Counted in the database, whatever the length of the queue."""
    now = now or timezone.now()
    rule = calling_rule(queue_settings(ticket.office))
    me = as_waiting(ticket)
    boost = rule.appointment_boost
    mine = ticket.base_key + (boost if rules.is_due(me, now) else 0.0)
    others = Ticket.objects.filter(
        office_id=ticket.office_id, day=ticket.day, status=Ticket.Status.WAITING, service_id=ticket.service_id
    ).exclude(pk=ticket.pk)
    overdue, due = Q(issued_at__lte=now - rule.max_wait), Q(due_at__lte=now)
    earlier = Q(issued_at__lt=ticket.issued_at) | Q(issued_at=ticket.issued_at, pk__lt=ticket.pk)

    def before_me(key: float) -> Q:  # a stored key above `key`, or equal and issued first
        return Q(base_key__gt=key) | (Q(base_key=key) & earlier)

    higher = (due & before_me(mine - boost)) | (~due & before_me(mine))
    if rules.is_overdue(me, now, rule):
        return others.filter(overdue & higher).count()
    return others.filter(overdue | higher).count()


def service_minutes(office: Office, now: datetime) -> float:
    """The median time a counter spent on a ticket lately, or the typical time."""
    recent = Ticket.objects.filter(
        office=office,
        status=Ticket.Status.COMPLETED,
        finished_at__gte=now - SERVICE_TIME_WINDOW,
        called_at__isnull=False,
    ).values_list("called_at", "finished_at")
    minutes = [(done - called).total_seconds() / 60 for called, done in recent if called and done]
    return median(minutes) if len(minutes) >= MIN_SAMPLES else TYPICAL_SERVICE_MINUTES


def staffed_counters(office: Office, service_id: int) -> int:
    return CounterShift.objects.filter(
        counter__office=office, counter__services=service_id, closed_at__isnull=True
    ).count()


def estimated_wait_minutes(*, office: Office, service_id: int, ahead: int, now: datetime | None = None) -> int:
    """From recent service times and the counters staffed for the service: the people ahead
    shared between those counters, each taking the median time. With no counter open, as if
    one were."""
    now = now or timezone.now()
    counters = max(1, staffed_counters(office, service_id))
    return math.ceil(ahead * service_minutes(office, now) / counters)


@dataclass(frozen=True)
class Place:
    ahead: int
    estimated_wait_minutes: int


def place_of(ticket: Ticket, now: datetime | None = None) -> Place:
    """Where a ticket stands: people ahead and the estimated wait; nothing once called."""
    if ticket.status != Ticket.Status.WAITING:
        return Place(0, 0)
    now = now or timezone.now()
    ahead = ahead_of(ticket, now)
    return Place(
        ahead, estimated_wait_minutes(office=ticket.office, service_id=ticket.service_id, ahead=ahead, now=now)
    )


@dataclass(frozen=True)
class QueueLine:
    queue: str  # the letter
    service: str  # the service's code
    count: int
    estimated_wait_minutes: int


def queue_lines(office: Office, now: datetime | None = None) -> list[QueueLine]:
    """Waiting counts per queue and service, with the wait a newcomer there would have."""
    now = now or timezone.now()
    rows = (
        Ticket.objects.filter(office=office, day=local_day(now), status=Ticket.Status.WAITING)
        .values("channel", "service_id", "service__code")
        .annotate(count=Count("id"))
        .order_by("channel", "service__code")
    )
    minutes = service_minutes(office, now)
    staffed = dict(
        CounterShift.objects.filter(counter__office=office, closed_at__isnull=True)
        .values_list("counter__services")
        .annotate(n=Count("id"))
    )
    return [
        QueueLine(
            queue=PREFIXES[row["channel"]],
            service=row["service__code"],
            count=row["count"],
            estimated_wait_minutes=math.ceil(row["count"] * minutes / max(1, staffed.get(row["service_id"], 0))),
        )
        for row in rows
    ]


def recent_calls(office: Office, now: datetime | None = None) -> QuerySet[Ticket]:
    """The latest tickets called today, with their counter: what a board shows."""
    now = now or timezone.now()
    return (
        Ticket.objects.filter(office=office, day=local_day(now), called_at__isnull=False)
        .select_related("counter")
        .order_by("-called_at")[:RECENT_CALLS]
    )


# --- the clerk's pages (check-in, triage, the counter workstation) -------------------------


def services_served(office: Office) -> QuerySet[Service]:
    """The services some counter of the office serves: what triage offers."""
    return Service.objects.filter(counters__office=office).distinct().order_by("document", "business")


def ticket_at_office(office: Office, ticket_id: int) -> Ticket | None:
    return (
        Ticket.objects.select_related("office", "service", "booking", "counter")
        .filter(office=office, pk=ticket_id)
        .first()
    )


def booking_at_office(office: Office, code: str) -> Booking | None:
    """The booking a check-in code names, if it is of this office, with its ticket if it has
    one (checked in already: the page shows that ticket again)."""
    reference = "".join(code.split()).upper()
    if not reference or len(reference) > 16:
        return None
    return Booking.objects.select_related("service").filter(office=office, reference=reference).first()


def ticket_of_booking(booking: Booking) -> Ticket | None:
    return Ticket.objects.select_related("office", "service", "counter").filter(booking=booking).first()


@dataclass(frozen=True)
class CounterRow:
    counter: Counter
    shift: CounterShift | None  # its open shift, if someone staffs it


def office_counters(office: Office) -> list[CounterRow]:
    """The office's counters with their services and who staffs each: three queries."""
    counters = list(Counter.objects.filter(office=office).prefetch_related("services").order_by("number"))
    shifts = {
        shift.counter_id: shift
        for shift in CounterShift.objects.filter(counter__office=office, closed_at__isnull=True).select_related("clerk")
    }
    return [CounterRow(counter, shifts.get(counter.pk)) for counter in counters]


def shift_of(clerk_id: int | None) -> CounterShift | None:
    """The counter a clerk staffs now (at most one), with its office and services."""
    if clerk_id is None:
        return None
    return (
        CounterShift.objects.select_related("counter__office")
        .prefetch_related("counter__services")
        .filter(clerk_id=clerk_id, closed_at__isnull=True)
        .first()
    )


def last_event_at(counter: Counter, since: datetime) -> TicketEvent | None:
    """The latest change of a ticket at this counter since `since` (the shift's start): what
    the workstation says happened last, and whether a ticket was just served."""
    return (
        TicketEvent.objects.select_related("ticket__service", "ticket__booking")
        .filter(counter=counter, at__gte=since)
        .order_by("-at", "-id")
        .first()
    )


def parked_tickets(office: Office, now: datetime | None = None) -> QuerySet[Ticket]:
    """Today's parked tickets of the office, oldest first: any free counter may resume them."""
    now = now or timezone.now()
    return (
        Ticket.objects.select_related("service", "counter", "booking")
        .filter(office=office, day=local_day(now), status=Ticket.Status.PARKED)
        .order_by("issued_at", "id")
    )
