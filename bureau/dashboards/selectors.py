"""The figures of an office's day, with one definition for the dashboard's pages and the
`day-stats` API (SPEC 9). On a ticket of that day (its `day`, the office's local date):

- issued: every ticket; served: completed; missed: called but not served (missed after its
  recalls, or marked as not come); waiting now: waiting or parked (0 once the day is
  closed: the end-of-day job records those as not served by closing);
- wait: from issue to first call, in minutes, over the tickets called; p50 and p90 by the
  nearest-rank method (the smallest wait that at least 50% / 90% of them did not exceed);
  None when nobody was called.

On the bookings whose slot starts that day: booked: every booking not cancelled (and not
cancelled by a day that closed); checked in; no-show (the sweep's verdict after the
check-in window)."""

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q

from appointments.models import Booking
from appointments.selectors import OFFICE_TZ
from bureau.models import Office
from walkins.models import Ticket

NOT_BOOKED = (Booking.Status.CANCELLED, Booking.Status.OFFICE_CLOSED)


@dataclass(frozen=True)
class DayStats:
    date: date
    tickets_issued: int
    tickets_served: int
    tickets_missed: int
    waiting_now: int
    appointments_booked: int
    appointments_checked_in: int
    appointments_no_show: int
    wait_minutes_p50: float | None
    wait_minutes_p90: float | None


def nearest_rank(values: list[float], share: float) -> float | None:
    """The smallest value that at least `share` of the values do not exceed; None if none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def day_stats(office: Office, day: date) -> DayStats:
    """The office's figures of `day` (see the module's docstring); three queries."""
    Status = Ticket.Status
    tickets = Ticket.objects.filter(office=office, day=day).aggregate(
        issued=Count("pk"),
        served=Count("pk", filter=Q(status=Status.COMPLETED)),
        missed=Count("pk", filter=Q(status__in=(Status.MISSED, Status.NO_SHOW))),
        waiting=Count("pk", filter=Q(status__in=(Status.WAITING, Status.PARKED))),
    )
    called = Ticket.objects.filter(office=office, day=day, called_at__isnull=False)
    waits = [
        round((called_at - issued_at).total_seconds() / 60, 1)
        for issued_at, called_at in called.values_list("issued_at", "called_at")
        if called_at is not None
    ]
    start = datetime.combine(day, time.min, tzinfo=OFFICE_TZ)
    bookings = (
        Booking.objects.filter(office=office, starts_at__gte=start, starts_at__lt=start + timedelta(days=1))
        .exclude(status__in=NOT_BOOKED)
        .aggregate(
            booked=Count("pk"),
            checked_in=Count("pk", filter=Q(status=Booking.Status.CHECKED_IN)),
            no_show=Count("pk", filter=Q(status=Booking.Status.NO_SHOW)),
        )
    )
    return DayStats(
        date=day,
        tickets_issued=tickets["issued"],
        tickets_served=tickets["served"],
        tickets_missed=tickets["missed"],
        waiting_now=tickets["waiting"],
        appointments_booked=bookings["booked"],
        appointments_checked_in=bookings["checked_in"],
        appointments_no_show=bookings["no_show"],
        wait_minutes_p50=nearest_rank(waits, 0.5),
        wait_minutes_p90=nearest_rank(waits, 0.9),
    )
