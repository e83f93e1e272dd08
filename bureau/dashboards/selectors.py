"""The figures of an office's day, with one definition for the dashboard's pages, the
`day-stats` API (SPEC 9) and the nightly roll-up. On a ticket of that day (its `day`, the
office's local date):

- issued: every ticket; served: completed; missed: called but not served (missed after its
  recalls, or marked as not come); waiting now: waiting or parked (0 once the day is
  closed: the end-of-day job records those as not served by closing); the longest current
  wait: how long the earliest of those has been waiting;
- wait: from issue to the first call (a recall or a resumed ticket does not lengthen it), in
  minutes, over the tickets called; within target: those
  called within the office's target wait (QueueSettings.target_wait_minutes);
- service time: from the last call (the one the applicant answered) to the end, in minutes,
  over the tickets served;
- p50 and p90 by the nearest-rank method (the smallest value that at least 50% / 90% of
  them did not exceed); None when there is none.

On the bookings whose slot starts that day: booked: every booking not cancelled (and not
cancelled by a day that closed); checked in; no-show (the sweep's verdict after the
check-in window)."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from appointments.models import Booking
from appointments.selectors import OFFICE_TZ
from bureau.dashboards.models import DayFigures, DeadlineFigures, DocumentFigures, HourFigures, RolledUpDay
from bureau.dashboards.replay import nearest_rank
from bureau.models import Application, ApplicationEvent, Counter, Office, Service
from priority.models import Case
from walkins.models import CounterShift, QueueSettings, Ticket, TicketChannel, TicketEvent

NOT_BOOKED = (Booking.Status.CANCELLED, Booking.Status.OFFICE_CLOSED)
MISSED = (Ticket.Status.MISSED, Ticket.Status.NO_SHOW)
WAITING = (Ticket.Status.WAITING, Ticket.Status.PARKED)
CASE_PENDING = (Case.Status.SUBMITTED, Case.Status.MORE_REQUESTED, Case.Status.AWAITING_SUPERVISOR)
DEFAULT_TARGET_WAIT = QueueSettings._meta.get_field("target_wait_minutes").get_default()


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
    """An hour of an office's day, by the hour of issue: the arrivals (counter None), and per
    counter those of them it called, so that an hour's wait is that of the people who came
    then."""

    arrivals: int = 0
    appointment_arrivals: int = 0
    waits: int = 0
    wait_minutes: float = 0.0
    services: int = 0
    service_minutes: float = 0.0


class TicketRow(NamedTuple):
    office_id: int
    channel: str
    status: str
    issued_at: datetime
    first_called_at: datetime | None  # the wait ends here (a recall moves `called_at`)
    called_at: datetime | None  # the service starts here: the call the applicant answered
    finished_at: datetime | None
    counter_id: int | None


def _tickets(offices: QuerySet[Office], day: date) -> list[TicketRow]:
    first_call = TicketEvent.objects.filter(ticket=OuterRef("pk"), action="called").order_by("at").values("at")[:1]
    rows = (
        Ticket.objects.filter(office__in=offices, day=day)
        .annotate(first_called_at=Coalesce(Subquery(first_call), F("called_at")))
        .values_list(*TicketRow._fields)
    )
    return [TicketRow(*row) for row in rows]


def _targets(offices: QuerySet[Office]) -> dict[int, int]:
    return dict(QueueSettings.objects.filter(office__in=offices).values_list("office_id", "target_wait_minutes"))


def _add_ticket(stats: DayStats, row: TicketRow, now: datetime | None) -> None:
    stats.tickets_issued += 1
    stats.appointment_tickets += row.channel == TicketChannel.APPOINTMENT
    stats.tickets_served += row.status == Ticket.Status.COMPLETED
    stats.tickets_missed += row.status in MISSED
    if row.status in WAITING:
        stats.waiting_now += 1
        if now is not None:
            stats.longest_wait_minutes = max(stats.longest_wait_minutes, minutes(row.issued_at, now))
    if row.first_called_at is not None:
        wait = minutes(row.issued_at, row.first_called_at)
        stats.wait_list.append(wait)
        stats.within_target += wait <= stats.target_wait_minutes
    if row.status == Ticket.Status.COMPLETED and row.called_at is not None and row.finished_at is not None:
        stats.service_list.append(minutes(row.called_at, row.finished_at))


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
        _add_ticket(stats[row.office_id], row, now)
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
        arrived = hours[row.office_id, timezone.localtime(row.issued_at, OFFICE_TZ).hour, None]
        arrived.arrivals += 1
        arrived.appointment_arrivals += row.channel == TicketChannel.APPOINTMENT
        if row.first_called_at is not None and row.counter_id is not None:
            called = hours[row.office_id, timezone.localtime(row.issued_at, OFFICE_TZ).hour, row.counter_id]
            called.waits += 1
            called.wait_minutes += minutes(row.issued_at, row.first_called_at)
            if row.status == Ticket.Status.COMPLETED and row.called_at is not None and row.finished_at is not None:
                called.services += 1
                called.service_minutes += minutes(row.called_at, row.finished_at)
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


# --- Today: the live day of each office ----------------------------------------------


@dataclass(frozen=True)
class OfficeToday:
    office: Office
    stats: DayStats
    counters_open: int
    emergency_pending: int
    enterprise_pending: int


def today_overview(offices: QuerySet[Office], now: datetime) -> list[OfficeToday]:
    """Each office's day so far, in the offices' order; seven queries however many."""
    day = timezone.localtime(now, OFFICE_TZ).date()
    listed = list(offices.order_by("position", "code"))
    stats = days_stats(offices, day, now=now)
    open_counters = dict(
        CounterShift.objects.filter(counter__office__in=offices, closed_at__isnull=True)
        .values_list("counter__office_id")
        .annotate(count=Count("pk"))
        .order_by()
    )
    cases = pending_cases(offices)
    return [
        OfficeToday(
            office=office,
            stats=stats[office.pk],
            counters_open=open_counters.get(office.pk, 0),
            emergency_pending=cases.get((office.pk, Case.Kind.EMERGENCY), 0),
            enterprise_pending=cases.get((office.pk, Case.Kind.ENTERPRISE), 0),
        )
        for office in listed
    ]


@dataclass(frozen=True)
class CounterNow:
    number: int
    enterprise_window: bool
    open: bool
    ticket: str  # the ticket it serves now, "" if none


def counters_now(office: Office) -> list[CounterNow]:
    """The office's counters, whether each is staffed and the ticket it serves; two queries."""
    serving = dict(
        Ticket.objects.filter(office=office, status=Ticket.Status.CALLED).values_list("counter_id", "number")
    )
    rows = (
        Counter.objects.filter(office=office)
        .annotate(staffed=Exists(CounterShift.objects.filter(counter=OuterRef("pk"), closed_at__isnull=True)))
        .order_by("number")
        .values_list("pk", "number", "enterprise_window", "staffed")
    )
    return [CounterNow(number, window, staffed, serving.get(pk, "")) for pk, number, window, staffed in rows]


# --- Periods over finished days (the summary tables) and the live days not rolled up ------

MAX_PERIOD_DAYS = 366


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def days_not_rolled_up(first: date, last: date) -> list[date]:
    """The days from `first` to `last` whose figures are not in the summary tables (today,
    and any day the nightly job has not reached): read from the operational tables."""
    rolled = set(RolledUpDay.objects.filter(day__gte=first, day__lte=last).values_list("day", flat=True))
    return [day for day in days_between(first, last) if day not in rolled]


@dataclass(frozen=True)
class Level:
    """Service level over some tickets: sums and counts, and the figures made of them."""

    label: date | int | str  # a day, an hour, or a counter
    arrivals: int = 0
    appointment_arrivals: int = 0
    waits: int = 0
    wait_minutes: float = 0.0
    within_target: int | None = None
    services: int = 0
    service_minutes: float = 0.0
    bookings: int | None = None
    no_shows: int | None = None
    wait_minutes_p90: float | None = None  # one office's day only: percentiles do not add

    @property
    def wait_minutes_mean(self) -> float | None:
        return mean(self.wait_minutes, self.waits)

    @property
    def service_minutes_mean(self) -> float | None:
        return mean(self.service_minutes, self.services)

    @property
    def within_target_share(self) -> float | None:
        return None if self.within_target is None or not self.waits else round(self.within_target / self.waits, 3)

    @property
    def appointment_share(self) -> float | None:
        return round(self.appointment_arrivals / self.arrivals, 3) if self.arrivals else None

    @property
    def no_show_rate(self) -> float | None:
        return round(self.no_shows / self.bookings, 3) if self.bookings and self.no_shows is not None else None


def day_rows(offices: QuerySet[Office], day: date) -> list[DayFigures]:
    """The summary rows of `day` (unsaved): what the roll-up writes, and what the pages over
    a period read for a day not rolled up yet."""
    return [
        DayFigures(
            office_id=office_id,
            day=day,
            tickets_issued=stats.tickets_issued,
            appointment_tickets=stats.appointment_tickets,
            tickets_served=stats.tickets_served,
            tickets_missed=stats.tickets_missed,
            waits=len(stats.wait_list),
            wait_minutes=sum(stats.wait_list),
            wait_minutes_p90=stats.wait_minutes_p90,
            within_target=stats.within_target,
            services=len(stats.service_list),
            service_minutes=sum(stats.service_list),
            service_minutes_p90=stats.service_minutes_p90,
            bookings=stats.appointments_booked,
            checked_in=stats.appointments_checked_in,
            no_shows=stats.appointments_no_show,
        )
        for office_id, stats in days_stats(offices, day).items()
        if stats.tickets_issued or stats.appointments_booked
    ]


def hour_rows(offices: QuerySet[Office], day: date) -> list[HourFigures]:
    """The hours' summary rows of `day` (unsaved), as day_rows."""
    return [
        HourFigures(office_id=office_id, day=day, hour=hour, counter_id=counter_id, **vars(figures))
        for (office_id, hour, counter_id), figures in hours_stats(offices, day).items()
    ]


DAY_SUMS = {
    "arrivals": "tickets_issued",
    "appointment_arrivals": "appointment_tickets",
    "within_target": "within_target",
    "bookings": "bookings",
    "no_shows": "no_shows",
    "waits": "waits",
    "wait_minutes": "wait_minutes",
    "services": "services",
    "service_minutes": "service_minutes",
}
CALL_SUMS = {name: name for name in ("waits", "wait_minutes", "services", "service_minutes")}
ARRIVAL_SUMS = {name: name for name in ("arrivals", "appointment_arrivals")}
Totals = dict[tuple[Any, ...], dict[str, Any]]


def _totals(rolled: QuerySet[Any], live: Iterable[Any], keys: tuple[str, ...], sums: dict[str, str]) -> Totals:
    """Summary rows added up by `keys`: the rolled-up ones in the database, the live ones
    (unsaved, of days not rolled up) here."""
    totals: Totals = defaultdict(lambda: dict.fromkeys(sums, 0))
    for row in rolled.values(*keys).annotate(**{name: Sum(column) for name, column in sums.items()}).order_by():
        group = totals[tuple(row[key] for key in keys)]
        for name in sums:
            group[name] += row[name] or 0
    for record in live:
        group = totals[tuple(getattr(record, key) for key in keys)]
        for name, column in sums.items():
            group[name] += getattr(record, column)
    return totals


def _live_days(first: date, last: date, today: date) -> list[date]:
    return days_not_rolled_up(first, min(last, today)) if first <= today else []


def levels_by_day(offices: QuerySet[Office], first: date, last: date, today: date) -> list[Level]:
    """Each day from `first` to `last` over the offices together: rolled-up days from the
    summary tables, the others (today, or a day the nightly job has not reached) live. A
    day's p90 only where one office had tickets (percentiles do not add)."""
    rolled = DayFigures.objects.filter(office__in=offices, day__gte=first, day__lte=last)
    live = [row for day in _live_days(first, last, today) for row in day_rows(offices, day)]
    p90s: dict[date, list[float | None]] = defaultdict(list)
    for day, p90 in [*rolled.values_list("day", "wait_minutes_p90"), *((r.day, r.wait_minutes_p90) for r in live)]:
        p90s[day].append(p90)
    return [
        Level(label=day, wait_minutes_p90=p90s[day][0] if len(p90s[day]) == 1 else None, **sums)
        for (day,), sums in sorted(_totals(rolled, live, ("day",), DAY_SUMS).items())
    ]


def _hours(
    offices: QuerySet[Office], first: date, last: date, today: date
) -> tuple[QuerySet[HourFigures], list[HourFigures]]:
    rolled = HourFigures.objects.filter(office__in=offices, day__gte=first, day__lte=last)
    return rolled, [row for day in _live_days(first, last, today) for row in hour_rows(offices, day)]


def levels_by_counter_day(
    offices: QuerySet[Office], counter: Counter, first: date, last: date, today: date
) -> list[Level]:
    """One counter's days: the tickets it called."""
    rolled, live = _hours(offices, first, last, today)
    mine = [row for row in live if row.counter_id == counter.pk]
    totals = _totals(rolled.filter(counter=counter), mine, ("day",), CALL_SUMS)
    return [Level(label=day, **sums) for (day,), sums in sorted(totals.items())]


def levels_by_hour(
    offices: QuerySet[Office], first: date, last: date, today: date, counter: Counter | None = None
) -> list[Level]:
    """The days' hours added up, by the hour of issue: arrivals (when no counter is chosen),
    and the waits and service times of those called (by the counter, or any)."""
    rolled, live = _hours(offices, first, last, today)
    arrived = (
        _totals(rolled.filter(counter__isnull=True), [r for r in live if r.counter_id is None], ("hour",), ARRIVAL_SUMS)
        if counter is None
        else {}
    )
    if counter is None:
        calls = _totals(rolled.filter(counter__isnull=False), [r for r in live if r.counter_id], ("hour",), CALL_SUMS)
    else:
        calls = _totals(
            rolled.filter(counter=counter), [r for r in live if r.counter_id == counter.pk], ("hour",), CALL_SUMS
        )
    return [
        Level(label=hour, **arrived.get((hour,), {}), **calls.get((hour,), {}))
        for (hour,) in sorted(set(arrived) | set(calls))
    ]


def levels_by_counter(offices: QuerySet[Office], first: date, last: date, today: date) -> list[Level]:
    """Each counter's calls over the days, labelled "office code-number"."""
    rolled, live = _hours(offices, first, last, today)
    totals = _totals(
        rolled.filter(counter__isnull=False), [r for r in live if r.counter_id], ("counter_id",), CALL_SUMS
    )
    labels = {
        pk: (code, number)
        for pk, code, number in Counter.objects.filter(pk__in=[key for (key,) in totals]).values_list(
            "pk", "office__code", "number"
        )
    }
    return [
        Level(label=f"{code}-{number}", **totals[(pk,)])
        for pk, (code, number) in sorted(labels.items(), key=lambda item: item[1])
    ]


# --- Deadlines and documents -----------------------------------------------------------


@dataclass(frozen=True)
class OnTime:
    week: date  # its Monday
    document: str
    residency: str
    due: int
    on_time: int

    @property
    def rate(self) -> float | None:
        return round(self.on_time / self.due, 3) if self.due else None


def on_time_by_week(offices: QuerySet[Office], first: date, today: date) -> list[OnTime]:
    """Applications due from `first` to yesterday and how many were ready by their due
    date, per week (Monday first), document and residency: the finished days from the
    summary tables, the others (not rolled up yet) from the applications; three queries."""
    last = today - timedelta(days=1)
    counts: dict[tuple[date, str, str], list[int]] = defaultdict(lambda: [0, 0])
    rolled = (
        DeadlineFigures.objects.filter(office__in=offices, due_on__gte=first, due_on__lte=last)
        .values_list("due_on", "document", "residency")
        .annotate(Sum("due"), Sum("on_time"))
        .order_by()
    )
    live = [
        (day, doc, res, due, met)
        for (_o, day, doc, res), (due, met) in deadlines_met(offices, days_not_rolled_up(first, last)).items()
    ]
    for day, document, residency, due, met in [*rolled, *live]:
        week = counts[day - timedelta(days=day.weekday()), document, residency]
        week[0] += due
        week[1] += met
    return [OnTime(week, doc, res, due, met) for (week, doc, res), (due, met) in sorted(counts.items())]


@dataclass(frozen=True)
class AtRisk:
    document: str
    residency: str
    due_soon: int
    overdue: int


def at_risk_by_kind(due_soon: QuerySet[Application], overdue: QuerySet[Application]) -> list[AtRisk]:
    """How many of each list there are, by document and residency; two queries."""

    def counted(applications: QuerySet[Application]) -> dict[tuple[str, str], int]:
        rows = applications.values_list("service__document", "residency").annotate(Count("pk")).order_by()
        return {(document, residency): count for document, residency, count in rows}

    soon, late = counted(due_soon), counted(overdue)
    return [AtRisk(doc, res, soon.get((doc, res), 0), late.get((doc, res), 0)) for doc, res in sorted({*soon, *late})]


def documents_accepted_in(offices: QuerySet[Office], first: date, last: date) -> dict[tuple[int, str], int]:
    """Applications accepted from `first` to `last` by (office id, document): the finished
    days from the summary tables, the others (today) from the applications; four queries."""
    totals: dict[tuple[int, str], int] = defaultdict(int)
    for office_id, document, count in (
        DocumentFigures.objects.filter(office__in=offices, day__gte=first, day__lte=last)
        .values_list("office_id", "service__document")
        .annotate(Sum("accepted"))
        .order_by()
    ):
        totals[office_id, document] += count
    documents = dict(Service.objects.values_list("pk", "document"))
    for (office_id, _day, service_id), count in documents_accepted(offices, days_not_rolled_up(first, last)).items():
        totals[office_id, documents[service_id]] += count
    return dict(totals)
