"""The supervisors' "what if": an office's past day as the replay (bureau.dashboards.replay)
needs it, read from the database in a fixed number of queries, and the supervisor's changes
to its counters.

Read from the day's events: a ticket keeps a counter from its call (or the resumption of a
parked ticket) to its end there (served, not come, missed, parked or transferred). A
counter takes tickets from each shift's opening to its closing that day, but for its
pauses: whenever someone it serves was waiting and its clerk did not call (a form still to
finish, a word with a colleague, a look at the queue a minute late, a closing although
people waited), from the first moment someone was waiting to the clerk's next call (or the
closing). A short pause (under PAUSE_MINUTES) that begins as a ticket ends, someone
waiting, goes with that ticket: the counter that calls it stays busy that long after it
(`replay.Arrival.after`), in the replay of the real counters until its real next call, in a
changed day whenever it is done with that ticket. Other pauses (long ones: a break,
paperwork; or a late look at the queue after a spell with nobody waiting) close the counter
at the hour the clerk took them. So the replay of the real counters calls each ticket when
it really was called, and a changed day keeps the clerks' breaks at their hours without
cutting a busy counter's hours into its real visits (which, counters serving other tickets
for other times, would leave a free counter closed until its next real call, and make more
counters raise the waits). A long pause that begins as a ticket ends is taken to begin
halfway through that ticket (the counter is busy then anyway), so that a replay a moment
ahead of reality does not call in between; a ticket another counter called at the very
moment a counter was done was waiting then too. Counters that called at the same moment
(times to the second) call in the replay, a microsecond apart, in the order that gives each
the ticket it really called, whatever the order of the plan.

Only a ticket's first visit is replayed (a ticket parked and resumed, or transferred to
another queue, comes back later in reality only). A ticket never called, or never
finished, takes the median time of its service that day (of all services, with none of its
own; else the typical time). A shift not closed that day (the end-of-day job closes it
later) counts until the counter's last event of the shift, or the day's last event."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from statistics import median

from django.db.models import Q
from django.utils.translation import gettext as _

from bureau.dashboards import replay
from bureau.models import Counter, Office, Service
from walkins import rules
from walkins.models import CounterShift, QueueSettings, Ticket, TicketEvent
from walkins.selectors import OFFICE_TZ, TYPICAL_SERVICE_MINUTES, calling_rule

STARTS = ("called", "resumed")
ENDS = ("completed", "no_show", "missed", "parked", "transferred")

Interval = tuple[datetime, datetime]
TIE = timedelta(microseconds=1)  # between counters that really called at the same moment
PAUSE_MINUTES = 3  # a shorter gap, from a ticket's end to the next call, goes with the ticket


@dataclass(frozen=True)
class RealCounter:
    """A counter of the office with its services and when it was really open that day."""

    id: int
    number: int
    services: frozenset[int]
    enterprise_window: bool
    shifts: tuple[Interval, ...]  # from opening to closing, as the clerks did
    open: tuple[Interval, ...]  # when it took tickets: the shifts but for the pauses

    @property
    def opens(self) -> datetime | None:
        return self.shifts[0][0] if self.shifts else None

    @property
    def closes(self) -> datetime | None:
        return self.shifts[-1][1] if self.shifts else None


@dataclass(frozen=True)
class RealDay:
    """What the replay needs of an office's day, and the real waits to compare with."""

    office_id: int
    day: date
    rule: rules.CallingRule
    arrivals: tuple[replay.Arrival, ...]
    counters: tuple[RealCounter, ...]  # every counter of the office, open that day or not
    real_waits: dict[int, float | None]  # minutes from issue to first call; None: never called
    service_names: dict[int, str] = field(default_factory=dict)

    @property
    def services(self) -> frozenset[int]:
        """What the office's counters serve: what an extra counter serves."""
        return frozenset(s for counter in self.counters for s in counter.services)


@dataclass(frozen=True)
class CounterChange:
    """A supervisor's change to one real counter: closed all day, or open from / until
    (None: as it really was)."""

    closed: bool = False
    opens: time | None = None
    closes: time | None = None


@dataclass(frozen=True)
class Changes:
    counters: Mapping[int, CounterChange] = field(default_factory=dict)
    extra: int = 0  # counters added, serving every service of the office
    extra_opens: time | None = None
    extra_closes: time | None = None


@dataclass(frozen=True)
class Comparison:
    """The real day beside its replay with the real counters and with the changed ones."""

    real: replay.Summary
    as_was: replay.Summary  # replayed with the real counters: how far to trust the replay
    changed: replay.Summary
    mean_abs_error: float | None  # per ticket called in both, real against replayed as it was


def day_bounds(day: date) -> Interval:
    start = datetime.combine(day, time.min, tzinfo=OFFICE_TZ)
    return start, start + timedelta(days=1)


def at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=OFFICE_TZ)


@dataclass
class _Visit:
    """A ticket at a counter, from its call (or resumption) to its end there, if it ended."""

    ticket_id: int
    counter_id: int
    start: datetime
    end: datetime | None = None
    minutes: float | None = None  # its time at the counter (_time_at_counters)


@dataclass
class _Log:
    """The day as it happened: each ticket's service, issue and first call, and each
    counter's visits in the order they began."""

    service_of: dict[int, int]
    issued_of: dict[int, datetime]
    first_call: dict[int, datetime] = field(default_factory=dict)
    visits: dict[int, list[_Visit]] = field(default_factory=dict)

    def first_waiting(self, services: frozenset[int], since: datetime, until: datetime) -> datetime | None:
        """The first moment in [since, until) at which a ticket of `services` was waiting
        (issued, and first called then, later or never), if any. A ticket another counter
        called at that very moment counts: the counter free then did not take it, so the
        replay, which calls at one moment in the order of the plan, must not either."""
        found = None
        for ticket_id, issued_at in self.issued_of.items():  # in the order of issue
            if issued_at >= until or (found is not None and issued_at >= found):
                break
            if self.service_of[ticket_id] not in services:
                continue
            moment = max(issued_at, since)
            called = self.first_call.get(ticket_id)
            if called is None or called >= moment:
                found = moment
        return found


def real_day(office: Office, day: date) -> RealDay:
    """The office's day as the replay needs it (see the module's docstring): six queries,
    however many tickets (seven the first time the office's queue settings are read)."""
    # Read, never made here: a GET writes nothing (an office without settings has the defaults).
    rule = calling_rule(QueueSettings.objects.filter(office=office).first() or QueueSettings(office=office))
    start, end = day_bounds(day)
    tickets = list(
        Ticket.objects.filter(office=office, day=day)
        .order_by("issued_at", "id")
        .values_list("id", "channel", "service_id", "issued_at", "due_at", "called_at")
    )
    events = list(
        TicketEvent.objects.filter(ticket__office=office, ticket__day=day, action__in=(*STARTS, *ENDS))
        .order_by("at", "id")
        .values_list("ticket_id", "action", "at", "counter_id")
    )
    counters: dict[int, tuple[int, set[int], bool]] = {}
    for counter_id, number, window, service_id in Counter.objects.filter(office=office).values_list(
        "id", "number", "enterprise_window", "services"
    ):
        counters.setdefault(counter_id, (number, set(), window))[1].update([service_id] if service_id else [])
    shifts = list(
        CounterShift.objects.filter(counter__office=office, opened_at__lt=end)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gt=start))
        .order_by("opened_at")
        .values_list("counter_id", "opened_at", "closed_at")
    )
    names = {service.pk: service.name for service in Service.objects.filter(counters__office=office).distinct()}

    log = _Log(
        service_of={ticket_id: service_id for ticket_id, _c, service_id, *_rest in tickets},
        issued_of={ticket_id: issued_at for ticket_id, _c, _s, issued_at, *_rest in tickets},
    )
    visits: list[_Visit] = []
    open_visit: dict[int, _Visit] = {}
    for ticket_id, action, moment, counter_id in events:
        if action in STARTS and counter_id is not None:
            visit = _Visit(ticket_id, counter_id, moment)
            visits.append(visit)
            log.visits.setdefault(counter_id, []).append(visit)
            open_visit[ticket_id] = visit
            if action == "called":
                log.first_call.setdefault(ticket_id, moment)
        elif action in ENDS and ticket_id in open_visit:
            open_visit.pop(ticket_id).end = moment
    for ticket_id, *_rest, called_at in tickets:  # called without a recorded event: its field
        if called_at is not None and ticket_id not in log.first_call:
            log.first_call[ticket_id] = called_at
    served = {counter_id: frozenset(services) for counter_id, (_n, services, _w) in counters.items()}
    last_event = max((moment for _t, _a, moment, _c in events), default=None) or max(
        log.issued_of.values(), default=start
    )
    firsts: dict[int, _Visit] = {}
    for visit in visits:  # in the order of their start
        firsts.setdefault(visit.ticket_id, visit)
    worked, open_at, after = _open_hours(shifts, log, served, firsts, start, end, min(end, last_event))
    waiting = {
        ticket_id: rules.Waiting(ticket_id, channel, service_id, issued_at, due_at)
        for ticket_id, channel, service_id, issued_at, due_at, _called_at in tickets
    }
    _untie(open_at, log, waiting, {c: (number, window) for c, (number, _s, window) in counters.items()}, served, rule)
    for visit in visits:
        if visit.end is not None:
            visit.minutes = replay.minutes_between(visit.start, visit.end)

    first_visit: dict[int, float | None] = {}
    by_service: dict[int, list[float]] = {}
    for visit in visits:  # in the order of their start
        first_visit.setdefault(visit.ticket_id, visit.minutes)
        if visit.minutes is not None:
            by_service.setdefault(log.service_of[visit.ticket_id], []).append(visit.minutes)
    every = [minutes for each in by_service.values() for minutes in each]
    usual = {service: median(each) for service, each in by_service.items()}
    anyone = median(every) if every else TYPICAL_SERVICE_MINUTES

    arrivals = []
    for ticket_id, channel, service_id, issued_at, due_at, _called_at in tickets:
        minutes = first_visit.get(ticket_id)
        if minutes is None:
            minutes = usual.get(service_id, anyone)
        arrivals.append(
            replay.Arrival(ticket_id, channel, service_id, issued_at, minutes, due_at, after.get(ticket_id, 0.0))
        )
    return RealDay(
        office_id=office.pk,
        day=day,
        rule=rule,
        arrivals=tuple(arrivals),
        counters=tuple(
            RealCounter(
                counter_id,
                number,
                frozenset(served),
                window,
                tuple(worked.get(counter_id, ())),
                tuple(open_at.get(counter_id, ())),
            )
            for counter_id, (number, served, window) in sorted(counters.items(), key=lambda item: item[1][0])
        ),
        real_waits={
            ticket_id: replay.minutes_between(issued_at, called) if (called := log.first_call.get(ticket_id)) else None
            for ticket_id, issued_at in log.issued_of.items()
        },
        service_names=names,
    )


def _open_hours(
    shifts: Iterable[tuple[int, datetime, datetime | None]],
    log: _Log,
    served: Mapping[int, frozenset[int]],
    firsts: Mapping[int, _Visit],
    start: datetime,
    end: datetime,
    last_event: datetime,
) -> tuple[dict[int, list[Interval]], dict[int, list[Interval]], dict[int, float]]:
    """Each counter's shifts that day (clipped to the day); when it took tickets: the
    shifts but for its long pauses; and the short pauses, in minutes, by the ticket (first
    visit, `firsts`) they followed (see the module's docstring)."""
    worked: dict[int, list[Interval]] = {}
    taking: dict[int, list[Interval]] = {}
    after: dict[int, float] = {}
    for counter_id, opened_at, closed_at in shifts:
        opens = max(opened_at, start)
        mine = [visit for visit in log.visits.get(counter_id, ()) if opens <= visit.start < end]
        if closed_at is not None and closed_at <= end:
            closes = closed_at
        else:
            moments = [m for visit in mine for m in (visit.start, visit.end) if m is not None and m < end]
            closes = max(moments) if moments else last_event
        if opens >= closes:
            continue
        worked.setdefault(counter_id, []).append((opens, closes))
        mine = [visit for visit in mine if visit.start < closes]
        services = served.get(counter_id, frozenset())
        # Each moment the counter was free, the visit that ended then, and its next call.
        free: list[tuple[datetime, _Visit | None, datetime]] = []
        previous: _Visit | None = None
        for visit in [*mine, None]:
            since = opens if previous is None else previous.end
            if since is not None:
                free.append((since, previous, visit.start if visit is not None else closes))
            previous = visit
        hours, cursor = taking.setdefault(counter_id, []), opens
        for since, ended, until in free:
            waiting = log.first_waiting(services, since, until) if since < until else None
            if waiting is None:
                continue
            if (
                waiting == since
                and ended is not None
                and firsts.get(ended.ticket_id) is ended
                and replay.minutes_between(since, until) < PAUSE_MINUTES
            ):
                after[ended.ticket_id] = replay.minutes_between(since, until)
                continue
            if waiting == since and ended is not None:
                waiting = ended.start + (since - ended.start) / 2
            if waiting > cursor:
                hours.append((cursor, waiting))
            cursor = max(cursor, until)
        if cursor < closes:
            hours.append((cursor, closes))
    return worked, taking, after


def _untie(
    open_at: dict[int, list[Interval]],
    log: _Log,
    waiting: Mapping[int, rules.Waiting],
    desks: Mapping[int, tuple[int, bool]],
    served: Mapping[int, frozenset[int]],
    rule: rules.CallingRule,
) -> None:
    """Counters that really called at the very same moment (times to the second, as on
    synthetic days) call in the replay in the order that gives each its real ticket, not in
    the order of the plan: each after the one before it by a microsecond (TIE)."""
    calls: dict[datetime, dict[int, int]] = {}  # counter -> ticket first called, by moment
    for counter_id, visits in log.visits.items():
        for visit in visits:
            if log.first_call.get(visit.ticket_id) == visit.start and visit.ticket_id in waiting:
                calls.setdefault(visit.start, {})[counter_id] = visit.ticket_id
    for moment, called in calls.items():
        if len(called) < 2:
            continue
        left, order = dict(called), []
        while left:
            plan = sorted(left, key=lambda c: desks[c][0])
            found = next((c for c in plan if _best(left, c, moment, served, desks, waiting, rule) == left[c]), plan[0])
            order.append(found)
            del left[found]
        if order == sorted(order, key=lambda c: desks[c][0]):
            continue
        for n, counter_id in enumerate(order[1:], 1):
            hours = open_at.get(counter_id, [])
            for i, (begin, finish) in enumerate(hours):
                if begin <= moment < finish:
                    later = min(finish, moment + n * TIE)
                    hours[i : i + 1] = [(b, e) for b, e in ((begin, moment), (later, finish)) if b < e]
                    break


def _best(
    left: Mapping[int, int],
    counter_id: int,
    moment: datetime,
    served: Mapping[int, frozenset[int]],
    desks: Mapping[int, tuple[int, bool]],
    waiting: Mapping[int, rules.Waiting],
    rule: rules.CallingRule,
) -> int | None:
    """Of the tickets in `left`, the one the counter would call first at `moment`."""
    found = rules.next_ticket(
        (waiting[t] for t in left.values()),
        moment,
        rule,
        services=served.get(counter_id, frozenset()),
        enterprise_window=desks[counter_id][1],
    )
    return found.id if found is not None else None


def real_plan(day: RealDay) -> list[replay.Desk]:
    return [replay.Desk(str(c.id), str(c.number), c.services, c.enterprise_window, c.open) for c in day.counters]


def _reshaped(real: Sequence[Interval], opens: datetime | None, closes: datetime | None) -> tuple[Interval, ...]:
    """A counter's open times moved to start at `opens` and end at `closes` (None: as they
    were), keeping its breaks in between: earlier than it really opened, the first stretch
    starts earlier; later than it really closed, the last one goes on."""
    if not real:
        return ((opens, closes),) if opens is not None and closes is not None and opens < closes else ()
    first, last = real[0][0], real[-1][1]
    opens, closes = opens or first, closes or last
    pieces = list(real)
    if opens < first:
        pieces.insert(0, (opens, first))
    if closes > last:
        pieces.append((last, closes))
    merged: list[Interval] = []
    for start, end in pieces:
        start, end = max(start, opens), min(end, closes)
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def plan_with_changes(day: RealDay, changes: Changes) -> list[replay.Desk]:
    """The real counters with the supervisor's changes, then the extra counters (each
    serving every service of the office)."""
    desks = []
    for counter in day.counters:
        change = changes.counters.get(counter.id, CounterChange())
        opened: tuple[Interval, ...] = ()
        if not change.closed:
            opened = _reshaped(
                counter.open,
                at(day.day, change.opens) if change.opens else None,
                at(day.day, change.closes) if change.closes else None,
            )
        desks.append(
            replay.Desk(str(counter.id), str(counter.number), counter.services, counter.enterprise_window, opened)
        )
    if changes.extra and changes.extra_opens and changes.extra_closes:
        hours = _reshaped((), at(day.day, changes.extra_opens), at(day.day, changes.extra_closes))
        for n in range(1, changes.extra + 1):
            desks.append(replay.Desk(f"extra-{n}", _("Extra counter %(n)d") % {"n": n}, day.services, False, hours))
    return desks


def compare(day: RealDay, plan: Sequence[replay.Desk]) -> Comparison:
    """The real waits beside the replay with the real counters and with `plan`."""
    as_was = replay.replay(day.arrivals, real_plan(day), day.rule)
    changed = replay.replay(day.arrivals, plan, day.rule)
    issued = {arrival.id: arrival.issued_at for arrival in day.arrivals}
    errors = [
        abs(wait - replayed)
        for ticket_id, wait in day.real_waits.items()
        if wait is not None and (replayed := as_was[ticket_id].wait_minutes) is not None
    ]
    return Comparison(
        real=replay.summarize(((issued[t], wait) for t, wait in day.real_waits.items()), OFFICE_TZ),
        as_was=replay.summarize(((issued[t], call.wait_minutes) for t, call in as_was.items()), OFFICE_TZ),
        changed=replay.summarize(((issued[t], call.wait_minutes) for t, call in changed.items()), OFFICE_TZ),
        mean_abs_error=sum(errors) / len(errors) if errors else None,
    )
