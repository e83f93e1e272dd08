"""Reads of the queues: each office's calling figures, the ticket a counter calls next, how
many are ahead of a ticket, the estimated wait, what boards and the queue page show. Counts
are read from the database, never kept as running totals."""

import heapq
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import count
from statistics import median
from typing import TypeVar, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, Max, Min, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from appointments import selectors as booking_rules
from appointments import services as bookings
from appointments.models import Booking
from bureau import selectors as core
from bureau.models import Counter, Office, OpeningSession, Service
from walkins import rules
from walkins.models import PREFIXES, CounterShift, QueueSettings, Ticket, TicketChannel, TicketEvent

OFFICE_TZ = ZoneInfo(settings.OFFICE_TIME_ZONE)
T = TypeVar("T")
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
    enterprise tickets (one weight, never a slot time: the highest key is the earliest, past
    the max wait if any is); then everyone (with and without the boost)."""
    waiting = waiting_for(counter, local_day(now))
    overdue = Q(issued_at__lte=now - rule.max_wait)
    due = Q(due_at__lte=now)
    order = (F("base_key").desc(), F("issued_at").asc(), F("id").asc())
    tiers = [waiting.filter(overdue & due), waiting.filter(overdue & ~due)]
    if counter.enterprise_window:
        tiers.append(waiting.filter(channel=TicketChannel.ENTERPRISE))
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


# --- the estimated wait (docs/rules.md, "Estimated wait") ---------------------------------

# Walk-ins of the last hour give the pace of newcomers; early in the day at least this many
# minutes count, so the first few tickets are not taken for a rush.
ARRIVAL_WINDOW = timedelta(hours=1)
MIN_ARRIVAL_MINUTES = 15.0
# A service's own recent tickets give its time at a counter, weighed against this many at
# the office's time for any ticket.
PACE_PRIOR = 3.0
# A ticket at a counter longer than its service's time is taken to need this share of it again.
RESIDUAL_FLOOR = 0.25
# A counter closed during the day is expected back this long after (a lunch or rest break).
BREAK = timedelta(hours=1)
# Booked applicants check in about this long before their slot; this share of them comes,
# until the day's own bookings say otherwise.
CHECK_IN_LEAD = timedelta(minutes=10)
SHOW_UP = 0.9
# Calls played forward one by one; past them, the rest at the counters' combined pace.
REPLAYED_CALLS = 400
FINISHED = (Ticket.Status.COMPLETED, Ticket.Status.NO_SHOW, Ticket.Status.MISSED)


@dataclass(frozen=True)
class Desk:
    """A counter as the estimate sees it: open now, or expected back from a break."""

    services: frozenset[int]
    enterprise_window: bool
    free_in: float  # minutes until it calls: its current ticket done, or its break over


@dataclass(frozen=True)
class Hall:
    """An office at one moment, as the estimate needs it."""

    office_id: int
    day: date
    now: datetime
    rule: rules.CallingRule
    desks: tuple[Desk, ...]
    minutes: dict[int, float]  # a ticket's time at the counter lately, by service
    typical: float  # the office's, for any ticket
    arrivals: dict[tuple[str, int], float]  # walk-ins a minute lately, by channel and service
    booked: tuple[tuple[int, datetime], ...]  # (service, slot start) of bookings yet to check in
    show_up: float


@dataclass(frozen=True)
class Mine:
    """A ticket whose wait is estimated: a waiting one (pk), or a newcomer to a queue."""

    pk: int | None
    service_id: int
    channel: str
    key: float
    issued_at: datetime
    due_at: datetime | None


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def _minutes_to_opening(office: Office, now: datetime) -> float | None:
    """Minutes until the office's next opening session of the day starts, if one is still to."""
    local = timezone.localtime(now, OFFICE_TZ)
    kind = bookings.day_kind_of(core.work_calendar(), local.date())
    sessions = OpeningSession.objects.filter(office=office, day_kind=kind, opens_at__gt=local.time())
    later = list(sessions.values_list("opens_at", flat=True))
    return _minutes(datetime.combine(local.date(), min(later), tzinfo=OFFICE_TZ) - now) if later else None


def _staffing(office: Office, now: datetime) -> tuple[dict[int, set[int]], dict[int, bool], dict[int, float]]:
    """The counters open now or on a break, with their services, whether each is the
    enterprise window, and the minutes until each calls again (0: open). With none, before
    the day's (or the session's) opening: every counter of the office, from the opening."""
    served: dict[int, set[int]] = {}
    enterprise: dict[int, bool] = {}
    back_in: dict[int, float] = {}
    for counter_id, service_id, window, closed in (
        CounterShift.objects.filter(counter__office=office)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gt=now - BREAK, closed_at__lte=now))
        .values_list("counter_id", "counter__services", "counter__enterprise_window", "closed_at")
    ):
        served.setdefault(counter_id, set()).update([service_id] if service_id else [])
        enterprise[counter_id] = window
        away = 0.0 if closed is None else _minutes(closed + BREAK - now)
        back_in[counter_id] = min(away, back_in.get(counter_id, away))
    if not served:
        opening = _minutes_to_opening(office, now)
        if opening is not None:
            for counter_id, service_id, window in Counter.objects.filter(office=office).values_list(
                "id", "services", "enterprise_window"
            ):
                served.setdefault(counter_id, set()).update([service_id] if service_id else [])
                enterprise[counter_id] = window
                back_in[counter_id] = opening
    return served, enterprise, back_in


def hall_now(office: Office, now: datetime) -> Hall:
    """Who staffs which counter (or is on a break), how long each service's tickets took at
    the counters lately and how long the current ones have been there, the walk-ins of the
    last hour, and the bookings still to check in: five queries."""
    rule = calling_rule(queue_settings(office))
    day = local_day(now)
    served, enterprise, back_in = _staffing(office, now)
    spent: dict[int, list[float]] = {}
    serving: dict[int, tuple[int, float]] = {}
    for counter_id, service_id, status, called, finished in Ticket.objects.filter(
        Q(status=Ticket.Status.CALLED) | Q(status__in=FINISHED, finished_at__gte=now - SERVICE_TIME_WINDOW),
        office=office,
        day=day,
        counter__isnull=False,
        called_at__isnull=False,
    ).values_list("counter_id", "service_id", "status", "called_at", "finished_at"):
        if called is None or counter_id is None:
            continue
        if status == Ticket.Status.CALLED:
            serving[counter_id] = (service_id, max(0.0, _minutes(now - called)))
        elif finished is not None and finished <= now:
            spent.setdefault(service_id, []).append(_minutes(finished - called))
    # A service's time is the counters' time on it over the tickets done, each current ticket
    # counting as half a ticket done with the time it has had so far: without them, the long
    # ones, which finish last, would be missing early in the day.
    samples = [minutes for each in spent.values() for minutes in each]
    typical = TYPICAL_SERVICE_MINUTES
    if len(samples) >= MIN_SAMPLES:  # a ticket left open over a break counts as four ordinary ones
        cap = 4 * median(samples)
        spent = {service: [min(cap, minutes) for minutes in each] for service, each in spent.items()}
        ongoing = sum(min(cap, elapsed) for _, elapsed in serving.values())
        typical = max(0.5, (sum(min(cap, m) for m in samples) + ongoing) / (len(samples) + len(serving) / 2))
    for service_id, _elapsed in serving.values():
        spent.setdefault(service_id, [])
    minutes = {}
    for service, each in spent.items():
        ongoing_here = [min(elapsed, 4 * typical) for s, elapsed in serving.values() if s == service]
        total = sum(each) + sum(ongoing_here) + PACE_PRIOR * typical
        minutes[service] = max(0.5, total / (len(each) + len(ongoing_here) / 2 + PACE_PRIOR))
    desks = []
    for counter_id, services_ in served.items():
        free_in = back_in[counter_id]
        if counter_id in serving and not free_in:
            service_id, elapsed = serving[counter_id]
            usual = minutes.get(service_id, typical)
            free_in = max(usual - elapsed, RESIDUAL_FLOOR * usual)
        desks.append(Desk(frozenset(services_), enterprise[counter_id], free_in))

    counts: dict[tuple[str, int], int] = {}
    first = now
    for channel, service_id, recent, earliest in (
        Ticket.objects.filter(office=office, day=day, issued_at__lte=now)
        .values("channel", "service_id")
        .annotate(recent=Count("id", filter=Q(issued_at__gt=now - ARRIVAL_WINDOW)), earliest=Min("issued_at"))
        .values_list("channel", "service_id", "recent", "earliest")
    ):
        first = min(first, earliest)
        if channel != TicketChannel.APPOINTMENT and recent:
            counts[channel, service_id] = recent
    span = min(_minutes(ARRIVAL_WINDOW), max(MIN_ARRIVAL_MINUTES, _minutes(now - first)))

    closes = timedelta(minutes=booking_rules.policy().check_in_after_minutes)
    start = datetime.combine(day, time(0), tzinfo=OFFICE_TZ)
    booked, came, gone = [], 0, 0
    for service_id, starts_at, status in Booking.objects.filter(
        office=office, starts_at__gte=start, starts_at__lt=start + timedelta(days=1)
    ).values_list("service_id", "starts_at", "status"):
        if starts_at + closes <= now:
            came += status in (Booking.Status.CHECKED_IN, Booking.Status.LATE)
            gone += status in (Booking.Status.BOOKED, Booking.Status.NO_SHOW)
        elif status == Booking.Status.BOOKED:
            booked.append((service_id, starts_at))
    return Hall(
        office_id=office.pk,
        day=day,
        now=now,
        rule=rule,
        desks=tuple(desks),
        minutes=minutes,
        typical=typical,
        arrivals={pair: n / span for pair, n in counts.items()},
        booked=tuple(booked),
        show_up=came / (came + gone) if came + gone >= MIN_SAMPLES else SHOW_UP,
    )


@dataclass(frozen=True)
class _Queued:
    """A ticket in the replay; times are minutes from now."""

    id: int
    service_id: int
    enterprise: bool
    key: float
    issued: float
    due: float | None
    minutes: float  # at the counter; 0 for a newcomer whose wait alone is asked
    target: bool = False


class _Replay:
    """The calling rule played forward from now: counters call as they come free, each the
    best ticket by the rule among its services at that moment (walkins.rules.call_order), the
    ticket takes its service's time; tickets cross the max wait and reach their slot time as
    time goes on, and expected newcomers join. Waiting tickets sit in heaps per service, per
    past-max-wait or not and per enterprise channel or not, ordered by their stored key."""

    def __init__(self, rule: rules.CallingRule) -> None:
        self.rule = rule
        self.max_wait = _minutes(rule.max_wait)
        self.heaps: dict[tuple[int, bool, bool], list[tuple[float, float, int, int]]] = {}
        self.version: dict[int, int] = {}  # of each ticket waiting; gone once called
        self.changes: list[tuple[float, int, int]] = []  # (moment, order, ticket): joins or moves tier
        self.queued: dict[int, _Queued] = {}
        self.called: set[int] = set()
        self.order = 0
        self.clock = 0.0  # the last moment a counter called

    def join(self, ticket: _Queued, moment: float) -> None:
        self.queued[ticket.id] = ticket
        self.order += 1
        heapq.heappush(self.changes, (moment, self.order, ticket.id))

    def _place(self, ticket: _Queued, now: float) -> None:
        """(Re)file a ticket by its tier at `now`, and note when its tier changes next."""
        # The same sum as the moment filed in self.changes below: `now - issued >= max_wait`
        # can round the other way at that very moment, and the ticket would be filed again
        # and again, for ever.
        overdue = now >= ticket.issued + self.max_wait
        due = ticket.due is not None and now >= ticket.due
        version = self.version.get(ticket.id, 0) + 1
        self.version[ticket.id] = version
        key = ticket.key + (self.rule.appointment_boost if due else 0.0)
        heap = self.heaps.setdefault((ticket.service_id, overdue, ticket.enterprise), [])
        heapq.heappush(heap, (-key, ticket.issued, ticket.id, version))
        moves = (None if due else ticket.due, None if overdue else ticket.issued + self.max_wait)
        later = [moment for moment in moves if moment is not None]
        if later:
            self.order += 1
            heapq.heappush(self.changes, (min(later), self.order, ticket.id))

    def advance(self, now: float) -> None:
        while self.changes and self.changes[0][0] <= now:
            _, _, ticket_id = heapq.heappop(self.changes)
            if ticket_id not in self.called:
                self._place(self.queued[ticket_id], now)

    def best(self, desk: Desk) -> tuple[int, bool, bool] | None:
        """The heap whose head the desk calls, by the rule's order."""
        chosen, rank = None, None
        for service_id in desk.services:
            for overdue in (True, False):
                for enterprise in (True, False):
                    heap = self.heaps.get((service_id, overdue, enterprise))
                    while heap and self.version.get(heap[0][2]) != heap[0][3]:
                        heapq.heappop(heap)  # called, or filed again since
                    if not heap:
                        continue
                    minus_key, issued, ticket_id, _ = heap[0]
                    order = (overdue, desk.enterprise_window and enterprise, -minus_key, -issued, -ticket_id)
                    if rank is None or order > rank:
                        chosen, rank = (service_id, overdue, enterprise), order
        return chosen

    def call(self, desk: Desk, now: float) -> _Queued | None:
        self.advance(now)
        found = self.best(desk)
        if found is None:
            return None
        ticket_id = heapq.heappop(self.heaps[found])[2]
        del self.version[ticket_id]
        self.called.add(ticket_id)
        return self.queued[ticket_id]

    def run(self, desks: list[Desk], targets: int) -> dict[int, float]:
        """Minutes from now until each target ticket is called, for those called within
        REPLAYED_CALLS calls."""
        found: dict[int, float] = {}
        free = [(desk.free_in, n) for n, desk in enumerate(desks)]
        heapq.heapify(free)
        for _ in range(REPLAYED_CALLS):
            if len(found) == targets or not free:
                break
            moment, n = heapq.heappop(free)
            self.clock = moment
            ticket = self.call(desks[n], moment)
            if ticket is None:  # nothing for this counter now: it calls again when someone joins
                if self.changes:
                    heapq.heappush(free, (max(moment, self.changes[0][0]), n))
                continue
            if ticket.target:
                found[ticket.id] = moment
            heapq.heappush(free, (moment + ticket.minutes, n))
        return found


NEWCOMER = 10**12  # ids of tickets the replay makes up: after every real one


def estimated_waits(hall: Hall, tickets: list[Mine]) -> list[float]:
    """Minutes until each ticket is called, by playing the calling rule forward (_Replay):
    the counters staffed now and those back from a break, each free once its current ticket
    has had its service's recent time; the tickets waiting now; walk-ins joining at the last
    hour's pace (until the max wait, after which no newcomer goes first); booked applicants
    checking in before their slot. Newcomers whose wait is asked take no counter time."""
    rule, now = hall.rule, hall.now
    replay = _Replay(rule)
    origin = -rule.ageing_per_minute * rules.minutes_since_origin(now)  # the key of weight 0 now
    targets = {mine.pk for mine in tickets if mine.pk is not None}
    for pk, service_id, channel, key, issued_at, due_at in Ticket.objects.filter(
        office_id=hall.office_id, day=hall.day, status=Ticket.Status.WAITING
    ).values_list("pk", "service_id", "channel", "base_key", "issued_at", "due_at"):
        replay.join(
            _Queued(
                id=pk,
                service_id=service_id,
                enterprise=channel == TicketChannel.ENTERPRISE,
                key=key,
                issued=_minutes(issued_at - now),
                due=_minutes(due_at - now) if due_at else None,
                minutes=hall.minutes.get(service_id, hall.typical),
                target=pk in targets,
            ),
            0.0,
        )
    made = count(NEWCOMER)
    ids = [mine.pk if mine.pk is not None else next(made) for mine in tickets]
    for mine, made_id in zip(tickets, ids, strict=True):
        if mine.pk is None:
            replay.join(
                _Queued(
                    id=made_id,
                    service_id=mine.service_id,
                    enterprise=mine.channel == TicketChannel.ENTERPRISE,
                    key=mine.key,
                    issued=_minutes(mine.issued_at - now),
                    due=_minutes(mine.due_at - now) if mine.due_at else None,
                    minutes=0.0,
                    target=True,
                ),
                0.0,
            )
    horizon = _minutes(rule.max_wait)
    for (channel, service_id), per_minute in hall.arrivals.items():
        moment = 0.5 / per_minute
        while moment < horizon:
            replay.join(
                _Queued(
                    id=next(made),
                    service_id=service_id,
                    enterprise=channel == TicketChannel.ENTERPRISE,
                    key=rule.weights[channel] + origin - rule.ageing_per_minute * moment,
                    issued=moment,
                    due=None,
                    minutes=hall.minutes.get(service_id, hall.typical),
                ),
                moment,
            )
            moment += 1 / per_minute
    for service_id, starts_at in hall.booked:
        arrives = max(0.0, _minutes(starts_at - CHECK_IN_LEAD - now))
        replay.join(
            _Queued(
                id=next(made),
                service_id=service_id,
                enterprise=False,
                key=rule.weights[TicketChannel.APPOINTMENT] + origin - rule.ageing_per_minute * arrives,
                issued=arrives,
                due=_minutes(starts_at - now),
                minutes=hall.show_up * hall.minutes.get(service_id, hall.typical),
            ),
            arrives,
        )
    desks = list(hall.desks)
    for service_id in {mine.service_id for mine in tickets} - {s for desk in desks for s in desk.services}:
        desks.append(Desk(frozenset([service_id]), False, 0.0))  # none serves it: as if one did, now
    found = replay.run(desks, len(tickets))
    waits = []
    for mine, ticket_id in zip(tickets, ids, strict=True):
        if ticket_id in found:
            waits.append(found[ticket_id])
            continue
        # Further than the replay went: the rest of its queue at its counters' combined pace.
        left = sum(1 for other in replay.version if replay.queued[other].service_id == mine.service_id)
        pace = sum(1 / hall.minutes.get(mine.service_id, hall.typical) for d in desks if mine.service_id in d.services)
        waits.append(replay.clock + left / pace)
    return waits


def _mine(ticket: Ticket) -> Mine:
    return Mine(ticket.pk, ticket.service_id, ticket.channel, ticket.base_key, ticket.issued_at, ticket.due_at)


class _Reused:
    """An office's figures as last computed in this process, with the state of its queue
    they were computed from (settings.DISPLAY_FIGURES_REUSE_SECONDS)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.figures: dict[tuple[str, int], tuple[tuple[object, ...], datetime, object]] = {}

    def get_or_compute(self, what: str, office: Office, now: datetime, compute: Callable[[], T]) -> T:
        if not settings.DISPLAY_FIGURES_REUSE_SECONDS:
            return compute()
        state = _queue_state(office, local_day(now))
        with self.lock:
            kept = self.figures.get((what, office.pk))
        if kept is not None and kept[0] == state:
            age = (now - kept[1]).total_seconds()
            if 0 <= age < settings.DISPLAY_FIGURES_REUSE_SECONDS:
                return cast(T, kept[2])
        value = compute()
        with self.lock:
            self.figures[(what, office.pk)] = (state, now, value)
        return value


_reused = _Reused()


def _queue_state(office: Office, day: date) -> tuple[object, ...]:
    """What changes whenever a ticket is issued, called, finished or parked, or a counter
    opens or closes (a transfer puts a ticket back to waiting): two aggregate queries over
    the office's day."""
    tickets = Ticket.objects.filter(office=office, day=day).aggregate(
        issued=Count("id"),
        waiting=Count("id", filter=Q(status=Ticket.Status.WAITING)),
        called=Max("called_at"),
        finished=Max("finished_at"),
        parked=Count("id", filter=Q(status=Ticket.Status.PARKED)),
    )
    shifts = CounterShift.objects.filter(counter__office=office).aggregate(
        shifts=Max("id"), open=Count("id", filter=Q(closed_at__isnull=True)), closed=Max("closed_at")
    )
    return (day, *tickets.values(), *shifts.values())


def estimated_wait_minutes(ticket: Ticket, now: datetime | None = None) -> int:
    """Minutes until a waiting ticket is called (estimated_waits)."""
    now = now or timezone.now()
    return round(estimated_waits(hall_now(ticket.office, now), [_mine(ticket)])[0])


@dataclass(frozen=True)
class Place:
    ahead: int
    estimated_wait_minutes: int


def near_front_sms_offered(ticket: Ticket, ahead: int) -> bool:
    """Whether a ticket's screen offers the near-front SMS: the office sends them, the ticket
    waits with more than that many ahead, and no number is kept for it yet."""
    places = queue_settings(ticket.office).notify_places_ahead
    return bool(places) and ticket.status == Ticket.Status.WAITING and ahead > places and not ticket.phone


def _waits_of_waiting(office: Office, now: datetime) -> dict[int, int]:
    """The estimated wait of every ticket waiting at the office: one replay finds them all."""
    waiting = list(Ticket.objects.filter(office=office, day=local_day(now), status=Ticket.Status.WAITING))
    if not waiting:
        return {}
    waits = estimated_waits(hall_now(office, now), [_mine(ticket) for ticket in waiting])
    return {ticket.pk: round(wait) for ticket, wait in zip(waiting, waits, strict=True)}


def place_of(ticket: Ticket, now: datetime | None = None) -> Place:
    """Where a ticket stands: people ahead and the estimated wait; nothing once called. The
    waits of the office's waiting tickets are computed together and reused while its queue
    is as it was (a ticket's page polls)."""
    if ticket.status != Ticket.Status.WAITING:
        return Place(0, 0)
    now = now or timezone.now()
    if not settings.DISPLAY_FIGURES_REUSE_SECONDS:
        return Place(ahead_of(ticket, now), estimated_wait_minutes(ticket, now))
    waits = _reused.get_or_compute("waits", ticket.office, now, lambda: _waits_of_waiting(ticket.office, now))
    wait = waits.get(ticket.pk)
    return Place(ahead_of(ticket, now), wait if wait is not None else estimated_wait_minutes(ticket, now))


@dataclass(frozen=True)
class QueueLine:
    queue: str  # the letter
    service: str  # the service's code
    count: int
    estimated_wait_minutes: int


def queue_lines(office: Office, now: datetime | None = None) -> list[QueueLine]:
    """Waiting counts per queue and service, with the wait of a newcomer there (in the
    appointment queue, one whose slot time has come). Reused while the office's queue is
    as it was (settings.DISPLAY_FIGURES_REUSE_SECONDS)."""
    now = now or timezone.now()
    return _reused.get_or_compute("lines", office, now, lambda: _queue_lines(office, now))


def _queue_lines(office: Office, now: datetime) -> list[QueueLine]:
    rows = list(
        Ticket.objects.filter(office=office, day=local_day(now), status=Ticket.Status.WAITING)
        .values("channel", "service_id", "service__code")
        .annotate(count=Count("id"))
        .order_by("channel", "service__code")
    )
    if not rows:
        return []
    hall = hall_now(office, now)
    newcomers = [
        Mine(
            pk=None,
            service_id=row["service_id"],
            channel=row["channel"],
            key=rules.base_key(row["channel"], now, hall.rule),
            issued_at=now,
            due_at=now if row["channel"] == TicketChannel.APPOINTMENT else None,
        )
        for row in rows
    ]
    return [
        QueueLine(
            queue=PREFIXES[row["channel"]],
            service=row["service__code"],
            count=row["count"],
            estimated_wait_minutes=round(wait),
        )
        for row, wait in zip(rows, estimated_waits(hall, newcomers), strict=True)
    ]


def recent_calls(office: Office, now: datetime | None = None) -> QuerySet[Ticket]:
    """The latest tickets called today, with their counter: what a board shows."""
    now = now or timezone.now()
    return (
        Ticket.objects.filter(office=office, day=local_day(now), called_at__isnull=False)
        .select_related("counter")
        .order_by("-called_at")[:RECENT_CALLS]
    )


# --- public pages and devices: the kiosk, the board, the queue page, a ticket's own page ----

# A ticket's public page is /ticket/<id>/<signature>/: the signature is an HMAC of the id
# with the site's secret, so no address can be guessed or walked from one ticket to the next.
TICKET_PAGE_SALT = "walkins.ticket-page"
TICKET_SIGNATURE_LENGTH = 24  # hex digits: 96 bits


def ticket_signature(ticket_id: int) -> str:
    return salted_hmac(TICKET_PAGE_SALT, str(ticket_id), algorithm="sha256").hexdigest()[:TICKET_SIGNATURE_LENGTH]


def ticket_page_url(ticket_id: int) -> str:
    """The address of a ticket's own page, as its QR code carries it: on the public site,
    whichever device (a kiosk, a clerk's desk on the office network) printed the ticket."""
    return settings.PUBLIC_BASE_URL + reverse("ticket-page", args=[ticket_id, ticket_signature(ticket_id)])


def ticket_by_signature(ticket_id: int, signature: str) -> Ticket | None:
    """The ticket of a public page address, or None when the signature does not match."""
    if not constant_time_compare(ticket_signature(ticket_id), signature):
        return None
    return Ticket.objects.select_related("office", "service", "counter").filter(pk=ticket_id).first()


def _open_at(sessions: Iterable[OpeningSession], kind: str | None, moment: time) -> bool:
    return any(s.day_kind == kind and s.opens_at <= moment < s.closes_at for s in sessions)


def _day_kind(now: datetime) -> str | None:
    return bookings.day_kind_of(core.work_calendar(), local_day(now))


def kiosk_services(office: Office, now: datetime | None = None) -> QuerySet[Service]:
    """What a kiosk offers: the services the office's counters serve; on a weekend only the
    weekend services (SPEC 2)."""
    now = now or timezone.now()
    served = Service.objects.filter(counters__office=office).distinct().order_by("document", "business")
    if _day_kind(now) == OpeningSession.DayKind.WEEKEND:
        return served.filter(weekend_service=True)
    return served


@dataclass(frozen=True)
class OfficeQueue:
    """One office on the public queue page: its queues (queue_lines, as the API gives them)
    and whether it is open now."""

    office: Office
    lines: list[QueueLine]
    open_now: bool

    @property
    def waiting(self) -> int:
        return sum(line.count for line in self.lines)

    @property
    def longest_wait_minutes(self) -> int:
        return max((line.estimated_wait_minutes for line in self.lines), default=0)


def office_queues(now: datetime | None = None) -> list[OfficeQueue]:
    """Every office (walk-in-only ones too) with its queues and whether it is open now."""
    now = now or timezone.now()
    kind, moment = _day_kind(now), timezone.localtime(now, OFFICE_TZ).time()
    return [
        OfficeQueue(
            office=office, lines=queue_lines(office, now), open_now=_open_at(office.sessions.all(), kind, moment)
        )
        for office in core.offices_with_sessions()
    ]


@dataclass(frozen=True)
class QueueTotal:
    """One queue (its letter) over all its services: what a board shows."""

    queue: str
    count: int
    longest_wait_minutes: int


def queue_totals(lines: Iterable[QueueLine]) -> list[QueueTotal]:
    """The queue lines summed up by queue, in the order of the queue letters."""
    totals: dict[str, QueueTotal] = {}
    for line in lines:
        before = totals.get(line.queue, QueueTotal(line.queue, 0, 0))
        totals[line.queue] = QueueTotal(
            line.queue, before.count + line.count, max(before.longest_wait_minutes, line.estimated_wait_minutes)
        )
    order = list(PREFIXES.values())
    return sorted(totals.values(), key=lambda total: order.index(total.queue))


def quietest_open(queues: Iterable[OfficeQueue]) -> OfficeQueue | None:
    """The open office with the shortest estimated wait (then the fewest waiting)."""
    return min(
        (queue for queue in queues if queue.open_now),
        key=lambda queue: (queue.longest_wait_minutes, queue.waiting),
        default=None,
    )


def quieter_offices(office: Office, now: datetime | None = None, *, limit: int = 3) -> list[OfficeQueue]:
    """Other offices open now, shortest estimated wait first: where a kiosk that cannot give
    a ticket sends people."""
    others = [queue for queue in office_queues(now) if queue.open_now and queue.office.pk != office.pk]
    return sorted(others, key=lambda queue: (queue.longest_wait_minutes, queue.waiting))[:limit]


def front_of_queue(*, office: Office, service_id: int, places: int, now: datetime | None = None) -> list[Ticket]:
    """The waiting tickets of one service that have at most `places` people ahead, in calling
    order: the n-th has n-1 ahead, as ahead_of counts. Read along the stored key, a few rows
    from each of the rule's tiers, so the cost does not grow with the queue."""
    now = now or timezone.now()
    rule = calling_rule(queue_settings(office))
    waiting = Ticket.objects.filter(
        office=office, day=local_day(now), status=Ticket.Status.WAITING, service_id=service_id
    )
    overdue, due = Q(issued_at__lte=now - rule.max_wait), Q(due_at__lte=now)
    order = (F("base_key").desc(), F("issued_at").asc(), F("id").asc())
    found: list[Ticket] = []
    for tier in (overdue & due, overdue & ~due, ~overdue & due, ~overdue & ~due):
        found += waiting.filter(tier).order_by(*order)[: places + 1]

    def order_of(ticket: Ticket) -> tuple[bool, float, float, int]:  # as ahead_of compares
        me = as_waiting(ticket)
        boost = rule.appointment_boost if rules.is_due(me, now) else 0.0
        return rules.is_overdue(me, now, rule), ticket.base_key + boost, -ticket.issued_at.timestamp(), -ticket.pk

    found.sort(key=order_of, reverse=True)
    return found[: places + 1]


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
