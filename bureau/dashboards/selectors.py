"""The figures of an office's day, with one definition for the dashboard's pages, the
`day-stats` API (SPEC 9) and the nightly roll-up. On a ticket of that day (its `day`, the
office's local date):

- issued: every ticket; served: completed; missed: called but not served (missed after its
  recalls, or marked as not come); waiting now: waiting or parked (0 once the day is
  closed: the end-of-day job records those as not served by closing); the longest current
  wait: how long the earliest of those has been waiting;
- wait: from issue to first call, in minutes, over the tickets called; within target: those
  called within the office's target wait (QueueSettings.target_wait_minutes);
- service time: from call to the end, in minutes, over the tickets served;
- p50 and p90 by the nearest-rank method (the smallest value that at least 50% / 90% of
  them did not exceed); None when there is none.

On the bookings whose slot starts that day: booked: every booking not cancelled (and not
cancelled by a day that closed); checked in; no-show (the sweep's verdict after the
check-in window)."""

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from appointments.models import Booking
from appointments.selectors import OFFICE_TZ
from bureau.models import Application, ApplicationEvent, Office
from priority.models import Case
from walkins.models import QueueSettings, Ticket, TicketChannel

NOT_BOOKED = (Booking.Status.CANCELLED, Booking.Status.OFFICE_CLOSED)
MISSED = (Ticket.Status.MISSED, Ticket.Status.NO_SHOW)
WAITING = (Ticket.Status.WAITING, Ticket.Status.PARKED)
CASE_PENDING = (Case.Status.SUBMITTED, Case.Status.MORE_REQUESTED, Case.Status.AWAITING_SUPERVISOR)
DEFAULT_TARGET_WAIT = QueueSettings._meta.get_field("target_wait_minutes").get_default()


def nearest_rank(values: list[float], share: float) -> float | None:
    """The smallest value that at least `share` of the values do not exceed; None if none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def minutes(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 60, 1)


def mean(total: float, count: int) -> float | None:
    return round(total / count, 1) if count else None


@dataclass
class DayStats:
    """An office's day (see the module's docstring); sums and counts, so that days add up."""

    date: date
    tickets_issued: int = 0
    appointment_tickets: int = 0
    tickets_served: int = 0
    tickets_missed: int = 0
    waiting_now: int = 0
    longest_wait_minutes: float = 0.0
    appointments_booked: int = 0
    appointments_checked_in: int = 0
    appointments_no_show: int = 0
    within_target: int = 0
    target_wait_minutes: int = DEFAULT_TARGET_WAIT
    wait_list: list[float] = field(default_factory=list)
    service_list: list[float] = field(default_factory=list)

    @property
    def wait_minutes_p50(self) -> float | None:
        return nearest_rank(self.wait_list, 0.5)

    @property
    def wait_minutes_p90(self) -> float | None:
        return nearest_rank(self.wait_list, 0.9)

    @property
    def wait_minutes_mean(self) -> float | None:
        return mean(sum(self.wait_list), len(self.wait_list))

    @property
    def service_minutes_mean(self) -> float | None:
        return mean(sum(self.service_list), len(self.service_list))

    @property
    def service_minutes_p90(self) -> float | None:
        return nearest_rank(self.service_list, 0.9)

    @property
    def within_target_share(self) -> float | None:
        """The share of the tickets called within the target wait (0 to 1)."""
        return round(self.within_target / len(self.wait_list), 3) if self.wait_list else None

    @property
    def walk_in_tickets(self) -> int:
        return self.tickets_issued - self.appointment_tickets


@dataclass
class HourStats:
    """An hour of an office's day: arrivals by the hour of issue, and per counter the
    tickets it called in that hour (counter None: the office's row of arrivals)."""

    arrivals: int = 0
    appointment_arrivals: int = 0
    waits: int = 0
    wait_minutes: float = 0.0
    services: int = 0
    service_minutes: float = 0.0


TICKET_FIELDS = ("office_id", "channel", "status", "issued_at", "called_at", "finished_at", "counter_id")
TicketRow = tuple[int, str, str, datetime, datetime | None, datetime | None, int | None]


def _tickets(offices: QuerySet[Office], day: date) -> list[TicketRow]:
    return list(Ticket.objects.filter(office__in=offices, day=day).values_list(*TICKET_FIELDS))


def _targets(offices: QuerySet[Office]) -> dict[int, int]:
    return dict(QueueSettings.objects.filter(office__in=offices).values_list("office_id", "target_wait_minutes"))


def _add_ticket(stats: DayStats, row: TicketRow, now: datetime | None) -> None:
    _office, channel, status, issued_at, called_at, finished_at, _counter = row
    stats.tickets_issued += 1
    stats.appointment_tickets += channel == TicketChannel.APPOINTMENT
    stats.tickets_served += status == Ticket.Status.COMPLETED
    stats.tickets_missed += status in MISSED
    if status in WAITING:
        stats.waiting_now += 1
        if now is not None:
            stats.longest_wait_minutes = max(stats.longest_wait_minutes, minutes(issued_at, now))
    if called_at is not None:
        wait = minutes(issued_at, called_at)
        stats.wait_list.append(wait)
        stats.within_target += wait <= stats.target_wait_minutes
        if status == Ticket.Status.COMPLETED and finished_at is not None:
            stats.service_list.append(minutes(called_at, finished_at))


def _bookings(offices: QuerySet[Office], day: date) -> dict[int, dict[str, int]]:
    start = datetime.combine(day, time.min, tzinfo=OFFICE_TZ)
    rows = (
        Booking.objects.filter(office__in=offices, starts_at__gte=start, starts_at__lt=start + timedelta(days=1))
        .exclude(status__in=NOT_BOOKED)
        .values("office_id")
        .annotate(
            booked=Count("pk"),
            checked_in=Count("pk", filter=Q(status=Booking.Status.CHECKED_IN)),
            no_show=Count("pk", filter=Q(status=Booking.Status.NO_SHOW)),
        )
        .order_by()
    )
    return {row["office_id"]: row for row in rows}


def days_stats(offices: QuerySet[Office], day: date, *, now: datetime | None = None) -> dict[int, DayStats]:
    """Every office's figures of `day`, by office id; the longest current wait as of `now`
    (none for a finished day). Four queries, however many offices and tickets."""
    targets = _targets(offices)
    stats = {
        office_id: DayStats(date=day, target_wait_minutes=targets.get(office_id, DEFAULT_TARGET_WAIT))
        for office_id in offices.values_list("pk", flat=True)
    }
    for row in _tickets(offices, day):
        _add_ticket(stats[row[0]], row, now)
    for office_id, counts in _bookings(offices, day).items():
        stats[office_id].appointments_booked = counts["booked"]
        stats[office_id].appointments_checked_in = counts["checked_in"]
        stats[office_id].appointments_no_show = counts["no_show"]
    return stats


def day_stats(office: Office, day: date) -> DayStats:
    """One office's figures of `day`; the longest current wait counts up to now when `day`
    is today."""
    now = timezone.now()
    live = now if day == timezone.localtime(now, OFFICE_TZ).date() else None
    return days_stats(Office.objects.filter(pk=office.pk), day, now=live)[office.pk]


def hours_stats(offices: QuerySet[Office], day: date) -> dict[tuple[int, int, int | None], HourStats]:
    """The hours of `day`, keyed by (office id, local hour, counter id or None); one query."""
    hours: dict[tuple[int, int, int | None], HourStats] = defaultdict(HourStats)
    for row in _tickets(offices, day):
        office_id, channel, status, issued_at, called_at, finished_at, counter_id = row
        arrived = hours[office_id, timezone.localtime(issued_at, OFFICE_TZ).hour, None]
        arrived.arrivals += 1
        arrived.appointment_arrivals += channel == TicketChannel.APPOINTMENT
        if called_at is not None and counter_id is not None:
            called = hours[office_id, timezone.localtime(called_at, OFFICE_TZ).hour, counter_id]
            called.waits += 1
            called.wait_minutes += minutes(issued_at, called_at)
            if status == Ticket.Status.COMPLETED and finished_at is not None:
                called.services += 1
                called.service_minutes += minutes(called_at, finished_at)
    return dict(hours)


def pending_cases(offices: Iterable[Office]) -> dict[tuple[int, str], int]:
    """Emergency cases and enterprise requests awaiting a decision, by (office id, kind)."""
    rows = (
        Case.objects.filter(office__in=offices, status__in=CASE_PENDING)
        .values_list("office_id", "kind")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return {(office_id, kind): count for office_id, kind, count in rows}


READY = (Application.Status.READY, Application.Status.MAILED, Application.Status.COLLECTED)


def documents_accepted(offices: QuerySet[Office], days: Iterable[date]) -> dict[tuple[int, date, int], int]:
    """Applications accepted on `days`, by (office id, day, service id); one query."""
    rows = (
        Application.objects.filter(office__in=offices, accepted_on__in=list(days))
        .values_list("office_id", "accepted_on", "service_id")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return {(office_id, day, service_id): count for office_id, day, service_id, count in rows}


def deadlines_met(offices: QuerySet[Office], days: Iterable[date]) -> dict[tuple[int, date, str, str], tuple[int, int]]:
    """Applications due on `days` and how many were ready (or mailed) by the end of their due
    date, by (office id, due date, document, residency); one query."""
    ready_by_due = ApplicationEvent.objects.annotate(local_day=TruncDate("at", tzinfo=OFFICE_TZ)).filter(
        application=OuterRef("pk"), status__in=READY, local_day__lte=OuterRef("due_on")
    )
    rows = (
        Application.objects.filter(office__in=offices, due_on__in=list(days))
        .values_list("office_id", "due_on", "service__document", "residency")
        .annotate(due=Count("pk"), on_time=Count("pk", filter=Exists(ready_by_due)))
        .order_by()
    )
    return {(o, d, doc, res): (due, on_time) for o, d, doc, res, due, on_time in rows}
