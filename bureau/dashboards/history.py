"""Synthetic history for the dashboards: past days of the offices written straight into the
operational tables with bulk_create, one day of every office at a time (the services, a row
and a lock at a time, would take hours for a year). Demo and benchmark use only.

Each office's day is played in memory as the services would have left it:

- the day's kind as the slots take it (appointments.services.day_kind_of): working days
  (make-up working days too) take the weekday sessions, weekends the weekend ones where the
  office has them, public holidays nothing;
- volumes: TICKETS_PER_COUNTER a counter on a weekday, more at the municipal hall and the
  urban halls (BUSY), by weekday and month, with noise; at scale 1.0 the 16 demo offices
  take about 600,000 tickets a year;
- bookings (dual-track offices with slot templates): slots of the day from the templates
  (an existing slot is taken as it is), places taken by bookings checked in, not kept,
  arrived late or cancelled, with the slot's count of places true; each booking checked in
  gets its appointment ticket at its check-in, one that arrived late a general ticket;
- walk-ins arrive in the opening sessions with a morning peak, in the general, green,
  student and (at an enterprise window's office) enterprise queues, numbered per queue;
- counters open in shifts (CounterShift rows, by the counter's demo clerk) for each
  session, as many as the expected load needs; a free counter calls by the calling rule
  (walkins.rules, on the stored keys), and serves 5 to 20 minutes; some tickets are not
  come or missed after their recalls; counters go on after closing until their queue is
  empty (at most OVERRUN), and what is left is recorded as not served by closing;
- a served ticket is a visit with a purpose: an acceptance (one application, sometimes
  two, linked to the ticket, accepted that day with the due date of the issuance rules),
  the collection of a document made ready before (the application becomes collected), or
  a question or incomplete papers (nothing). So at scale 1.0 about 250,000 applications
  come of the 600,000 tickets;
- each application moves to in production (the next working day) and ready or mailed,
  mostly by its due date and LATE_SHARE after it; nothing is dated after `now`.

Everything is drawn from generators seeded with the seed, the office's code and the day, so
the same arguments write the same rows. An office's day that already has tickets or
bookings is left alone, so a second run writes nothing."""

import heapq
import itertools
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.functions import TruncDate
from django.utils import timezone

from appointments.models import Booking, Channel, Slot, SlotTemplate
from appointments.selectors import policy
from appointments.services import day_kind_of
from bureau import selectors as core
from bureau import workdays
from bureau.identity import residency_of
from bureau.management.commands.load_demo import (
    MOVED_IN_REASON,
    SERVICE_WEIGHTS,
    demo_clerk_username,
    demo_kiosk_username,
    demo_person,
    demo_phone,
)
from bureau.models import Application, ApplicationEvent, Counter, Office, OpeningSession, Residency, Service
from walkins import rules
from walkins.models import PREFIXES, CounterShift, Ticket, TicketChannel, TicketEvent, TicketSequence
from walkins.selectors import OFFICE_TZ, calling_rule, queue_settings

# --- volumes -----------------------------------------------------------------------------------

# Tickets a counter of the office takes on an ordinary weekday at scale 1.0.
TICKETS_PER_COUNTER = 23
# The municipal hall and the urban districts' halls are busier than their counters say.
BUSY = {"HZ": 1.3, "SC": 1.2, "GS": 1.15, "XH": 1.25, "BJ": 1.15}
# Monday to Friday (make-up working days count as a Wednesday), and a weekend day.
WEEKDAY_LOAD = (1.15, 1.05, 1.0, 0.95, 0.9)
WEEKEND_LOAD = 0.6
# Before the Spring Festival and in the summer holidays people travel.
MONTH_LOAD = {1: 1.1, 2: 0.8, 3: 0.95, 4: 1.0, 5: 1.0, 6: 1.05, 7: 1.2, 8: 1.15, 9: 0.95, 10: 0.9, 11: 0.95, 12: 1.0}
DAY_NOISE = 0.12
# The first session of the day takes this much more per minute than the others, most of it
# early (the mode of its arrivals this far into it); later sessions peak halfway.
MORNING_PEAK = 1.8
MORNING_MODE, LATER_MODE = 0.2, 0.45

# Queues of the walk-ins (enterprise only where there is an enterprise window).
WALK_IN_MIX = {TicketChannel.GENERAL: 80, TicketChannel.GREEN: 8, TicketChannel.STUDENT: 7}
ENTERPRISE_WEIGHT = 5
KIOSK_SHARE = 0.6  # of the general walk-ins; the rest at the triage desk

# Bookings: the share of a slot's general places taken, and what became of them.
BOOKED_SHARE = (0.55, 0.95)
BOOKING_FATE = {
    Booking.Status.CHECKED_IN: 84,
    Booking.Status.NO_SHOW: 8,
    Booking.Status.LATE: 2,
    Booking.Status.CANCELLED: 6,
}
KIOSK_CHECK_IN_SHARE = 0.7

# --- counters ----------------------------------------------------------------------------------

ACCEPT, COLLECT, OTHER = "accept", "collect", "other"
# What a served ticket was for, by queue: an acceptance, a collection or neither.
PURPOSES: dict[str, tuple[float, float]] = {  # (accept, collect); the rest: OTHER
    TicketChannel.APPOINTMENT: (0.92, 0.0),
    TicketChannel.GENERAL: (0.22, 0.45),
    TicketChannel.GREEN: (0.6, 0.3),
    TicketChannel.STUDENT: (0.85, 0.05),
    TicketChannel.ENTERPRISE: (0.9, 0.05),
}
# Minutes at the counter: (low, high, mode) of a triangular draw.
SERVICE_MINUTES = {ACCEPT: (6.0, 20.0, 10.0), COLLECT: (5.0, 10.0, 6.0), OTHER: (5.0, 14.0, 7.0)}
SECOND_APPLICATION = 0.06  # an acceptance with two applications (a passport and a permit)
NO_SHOW, MISSED = 0.025, 0.015  # of the tickets called (appointments: a third of it)
# Counters are planned for this load per session (the morning peak still makes a queue).
PLANNED_LOAD = 0.9
MEAN_SERVICE_MINUTES = 9.0
LATE_OPENING = (15, 40)  # minutes: one counter of a session with 4 or more opens late
BREAK_CHANCE, BREAK_MINUTES = 0.08, (2, 8)
# Counters go on calling after closing until their queue is empty, at most this long.
OVERRUN = timedelta(minutes=60)
# The end-of-day job that records what was left as not served by closing (next day).
CLOSING_JOB = time(1, 0)

# --- applications ------------------------------------------------------------------------------

LATE_SHARE = 0.065  # ready (or mailed) after the due date
MAILED_SHARE = 0.15
EXPEDITED_SHARE = 0.03
IN_PROVINCE_SHARE = 0.78
COLLECT_AFTER = timedelta(hours=1)  # a document is collected at least this long after ready

REFERENCE_PREFIX = "H"  # applications H<office id><yymmdd><n>, bookings HB<office id><yymmdd><n>
BATCH = 2000


@dataclass
class HistoryCounts:
    """What history_generate wrote."""

    office_days: int = 0
    tickets: int = 0
    ticket_events: int = 0
    bookings: int = 0
    slots: int = 0
    shifts: int = 0
    applications: int = 0
    application_events: int = 0
    collected: int = 0
    days: list[date] = field(default_factory=list)  # days with rows written, in order
    # Due dates of the applications written: their deadlines' figures changed too.
    due_days: set[date] = field(default_factory=set)


# --- the offices' fixed data -------------------------------------------------------------------


@dataclass(frozen=True)
class _Counter:
    id: int
    number: int
    services: frozenset[int]
    enterprise_window: bool
    clerk_id: int


@dataclass(frozen=True)
class _Template:
    template: SlotTemplate
    services: tuple[int, ...]


@dataclass
class _Place:
    """An office and what its days are made of."""

    office: Office
    counters: list[_Counter]  # those with a demo clerk, enterprise window second
    sessions: dict[str, list[tuple[time, time]]]
    templates: dict[str, list[_Template]]
    offered: dict[str, list[int]]  # services served (weekends: the weekend services)
    weights: dict[str, list[float]]
    rule: rules.CallingRule
    recall_limit: int
    kiosk_id: int | None
    triage_id: int | None
    windows: int  # the office's counters, staffed or not: its size
    # Ready applications waiting to be collected: (ready at, order, application).
    pool: list[tuple[int, int, Application]] = field(default_factory=list)

    @property
    def load(self) -> float:
        """Tickets of an ordinary weekday at scale 1.0."""
        return TICKETS_PER_COUNTER * self.windows * BUSY.get(self.office.code, 1.0)


def _places(offices: Sequence[Office]) -> list[_Place]:
    """The offices with their counters (those whose demo clerk exists), sessions, slot
    templates and services, in a fixed number of queries."""
    clerks = dict(get_user_model().objects.filter(username__startswith="demo-").values_list("username", "pk"))
    counters: dict[int, dict[int, tuple[int, bool, set[int]]]] = {}
    for counter_id, office_id, number, window, service_id in Counter.objects.filter(office__in=offices).values_list(
        "id", "office_id", "number", "enterprise_window", "services"
    ):
        entry = counters.setdefault(office_id, {}).setdefault(counter_id, (number, window, set()))
        if service_id is not None:
            entry[2].add(service_id)
    sessions: dict[int, dict[str, list[tuple[time, time]]]] = {}
    for session in OpeningSession.objects.filter(office__in=offices).order_by("opens_at"):
        sessions.setdefault(session.office_id, {}).setdefault(session.day_kind, []).append(
            (session.opens_at, session.closes_at)
        )
    template_services: dict[int, list[int]] = {}
    for template_id, service_id in SlotTemplate.services.through.objects.filter(
        slottemplate__office__in=offices
    ).values_list("slottemplate_id", "service_id"):
        template_services.setdefault(template_id, []).append(service_id)
    templates: dict[int, list[SlotTemplate]] = {}
    for template in SlotTemplate.objects.filter(office__in=offices, office__mode=Office.Mode.DUAL_TRACK).order_by(
        "starts_at", "pk"
    ):
        templates.setdefault(template.office_id, []).append(template)
    weekend_services = set(Service.objects.filter(weekend_service=True).values_list("pk", flat=True))
    codes = dict(Service.objects.values_list("pk", "code"))

    places = []
    for office in offices:
        mine = counters.get(office.pk, {})
        staffed = [
            _Counter(counter_id, number, frozenset(served), window, clerk)
            for counter_id, (number, window, served) in sorted(mine.items(), key=lambda item: item[1][0])
            if served and (clerk := clerks.get(demo_clerk_username(office.code, number))) is not None
        ]
        # The enterprise window opens as soon as two counters do.
        enterprise = next((c for c in staffed[1:] if c.enterprise_window), None)
        if enterprise is not None:
            staffed.remove(enterprise)
            staffed.insert(1, enterprise)
        served_here = sorted({s for c in staffed for s in c.services})
        offered: dict[str, list[int]] = {
            OpeningSession.DayKind.WEEKDAY: served_here,
            OpeningSession.DayKind.WEEKEND: [s for s in served_here if s in weekend_services],
        }
        slot_templates: dict[str, list[_Template]] = {}
        for template in templates.get(office.pk, []):
            wanted = offered[template.day_kind]
            services = tuple(s for s in template_services.get(template.pk, []) if s in wanted)
            slot_templates.setdefault(template.day_kind, []).append(_Template(template, services))
        figures = queue_settings(office)
        places.append(
            _Place(
                office=office,
                counters=staffed,
                sessions=sessions.get(office.pk, {}),
                templates=slot_templates,
                offered=offered,
                weights={kind: [float(SERVICE_WEIGHTS.get(codes[s], 1)) for s in ids] for kind, ids in offered.items()},
                rule=calling_rule(figures),
                recall_limit=figures.recall_limit,
                kiosk_id=clerks.get(demo_kiosk_username(office.code)),
                triage_id=staffed[-1].clerk_id if staffed else None,
                windows=len(mine),
            )
        )
    return places


# --- one office's day, in memory ---------------------------------------------------------------


def _epoch(day: date, at: time) -> int:
    return int(datetime.combine(day, at, tzinfo=OFFICE_TZ).timestamp())


def _moment(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


class _Ticket:
    """A ticket of the day being played."""

    __slots__ = (
        "booking",
        "called_at",
        "channel",
        "collect",
        "counter",
        "due",
        "enterprise",
        "events",
        "finished",
        "idx",
        "issued",
        "issued_by",
        "key",
        "person",
        "purpose",
        "recalls",
        "served_at",
        "service",
        "status",
    )

    def __init__(
        self,
        *,
        channel: str,
        service: int,
        issued: int,
        issued_by: int | None,
        key: float,
        due: int | None = None,
        booking: Booking | None = None,
    ) -> None:
        self.channel, self.service, self.issued, self.issued_by, self.key = channel, service, issued, issued_by, key
        self.due, self.booking = due, booking
        self.enterprise = channel == TicketChannel.ENTERPRISE
        self.idx = 0
        self.status = Ticket.Status.WAITING
        self.counter: int | None = None
        self.called_at: int | None = None
        self.finished: int | None = None
        self.recalls = 0
        self.purpose = OTHER
        self.collect: Application | None = None
        self.person: tuple[str, str] | None = None
        self.served_at: int | None = None  # when the application was accepted or the document given
        # (action, at, status, counter id, by)
        self.events: list[tuple[str, int, str, int | None, int | None]] = []


class _Desk:
    """A counter's shift in one session."""

    __slots__ = ("clerk", "closed", "closes", "counter", "idle", "opened", "opens", "stop")

    def __init__(self, counter: _Counter, opens: int, closes: int) -> None:
        self.counter, self.clerk = counter, counter.clerk_id
        self.opens, self.closes, self.stop = opens, closes, closes + int(OVERRUN.total_seconds())
        self.opened = self.idle = False
        self.closed: int | None = None


@dataclass
class _Sink:
    """The rows of one day of every office, written together."""

    slots: list[Slot] = field(default_factory=list)
    slots_changed: list[Slot] = field(default_factory=list)
    bookings: list[Booking] = field(default_factory=list)
    tickets: list[tuple[Ticket, _Ticket]] = field(default_factory=list)
    sequences: list[TicketSequence] = field(default_factory=list)
    shifts: list[CounterShift] = field(default_factory=list)
    applications: list[Application] = field(default_factory=list)
    application_events: list[tuple[Application, str, int, int]] = field(default_factory=list)
    links: list[tuple[Ticket, Application]] = field(default_factory=list)
    collected: list[Application] = field(default_factory=list)


class _World:
    """What every office's day needs: the calendar, the rules and the clock."""

    def __init__(self, *, seed: int, scale: float, now: datetime) -> None:
        self.seed, self.scale, self.now = seed, scale, int(now.timestamp())
        self.calendar = core.work_calendar()
        self.rules = core.issuance_rules()
        self.deadlines: dict[tuple[date, str], workdays.Deadline] = {}
        booking_policy = policy()
        self.check_in_before = booking_policy.check_in_before_minutes * 60
        self.check_in_after = booking_policy.check_in_after_minutes * 60
        self.order = itertools.count()

    def deadline(self, accepted_on: date, kind: str) -> workdays.Deadline:
        found = self.deadlines.get((accepted_on, kind))
        if found is None:
            found = core.deadline_for(calendar=self.calendar, rule=self.rules[kind], accepted_on=accepted_on)
            self.deadlines[accepted_on, kind] = found
        return found

    def next_working_day(self, day: date) -> date:
        return workdays.add_working_days(self.calendar, day, 1).due_on


def _volume(place: _Place, day: date, kind: str, scale: float, rng: random.Random) -> int:
    """The office's tickets of the day, drawn around its expected load."""
    if kind == OpeningSession.DayKind.WEEKEND:
        weekday = WEEKEND_LOAD
    else:
        weekday = WEEKDAY_LOAD[day.weekday()] if day.weekday() < len(WEEKDAY_LOAD) else WEEKDAY_LOAD[2]
    expected = place.load * weekday * MONTH_LOAD[day.month] * scale
    noise = min(1.5, max(0.6, rng.gauss(1.0, DAY_NOISE)))
    return _rounded(expected * noise, rng)


def _rounded(value: float, rng: random.Random) -> int:
    """`value` rounded up or down at random, in proportion: small scales keep their mean."""
    whole = math.floor(value)
    return whole + (rng.random() < value - whole)


class _OfficeDay:
    """One office's day played in memory, then turned into rows."""

    def __init__(
        self, world: _World, place: _Place, day: date, kind: str, sink: _Sink, slots: dict[int, dict[datetime, Slot]]
    ) -> None:
        self.world, self.place, self.day, self.kind, self.sink = world, place, day, kind, sink
        self.existing_slots = slots  # by template id and start
        self.rng = random.Random(f"history:{world.seed}:{place.office.code}:{day.isoformat()}")  # noqa: S311 - demo data
        self.sessions = [(_epoch(day, opens), _epoch(day, closes)) for opens, closes in place.sessions[kind]]
        self.tickets: list[_Ticket] = []
        self.desks: list[_Desk] = []
        self.bookings = 0

    def play(self) -> None:
        total = _volume(self.place, self.day, self.kind, self.world.scale, self.rng)
        self._bookings()
        self._walk_ins(max(0, total - len(self.tickets)))
        self.tickets.sort(key=lambda t: (t.issued, t.channel != TicketChannel.APPOINTMENT))
        self._plan_desks(len(self.tickets))
        self._run()
        self._write()

    # --- arrivals ---

    def _person(self) -> tuple[str, str]:
        return demo_person(self.rng, in_province=self.rng.random() < IN_PROVINCE_SHARE)

    def _ticket(
        self,
        channel: str,
        service: int,
        issued: int,
        by: int | None,
        *,
        due: int | None = None,
        booking: Booking | None = None,
    ) -> _Ticket:
        key = rules.base_key(channel, _moment(issued), self.place.rule)
        ticket = _Ticket(
            channel=channel, service=service, issued=issued, issued_by=by, key=key, due=due, booking=booking
        )
        ticket.events.append(("issued", issued, Ticket.Status.WAITING, None, by))
        self.tickets.append(ticket)
        return ticket

    def _bookings(self) -> None:
        """Slots of the day from the templates and their bookings; each booking checked in
        has its appointment ticket, one that came late a general ticket."""
        rng, world, place = self.rng, self.world, self.place
        fates, fate_weights = list(BOOKING_FATE), list(BOOKING_FATE.values())
        for entry in place.templates.get(self.kind, []):
            if not entry.services:
                continue
            template = entry.template
            for slot in self._slots(template):
                start = int(slot.starts_at.timestamp())
                share = rng.uniform(*BOOKED_SHARE) * world.scale
                free = slot.general_quota - slot.general_booked
                wanted = sum(rng.random() < share for _ in range(slot.general_quota))
                for _ in range(min(wanted, free) if share <= 1 else free):
                    fate = rng.choices(fates, fate_weights)[0]
                    self._booking(slot, start, rng.choice(entry.services), fate)
                    if fate != Booking.Status.CANCELLED:
                        slot.general_booked += 1

    def _slots(self, template: SlotTemplate) -> list[Slot]:
        existing = self.existing_slots.get(template.pk, {})
        step = timedelta(minutes=template.slot_minutes)
        start = datetime.combine(self.day, template.starts_at, tzinfo=OFFICE_TZ)
        end = datetime.combine(self.day, template.ends_at, tzinfo=OFFICE_TZ)
        slots = []
        while start + step <= end:
            slot = existing.get(start)
            if slot is None:
                slot = Slot(
                    office_id=template.office_id,
                    template=template,
                    starts_at=start,
                    ends_at=start + step,
                    general_quota=template.general_quota,
                    enterprise_quota=template.enterprise_quota,
                    emergency_quota=template.emergency_quota,
                )
                self.sink.slots.append(slot)
            else:
                self.sink.slots_changed.append(slot)
            slots.append(slot)
            start += step
        return slots

    def _booking(self, slot: Slot, start: int, service: int, fate: str) -> None:
        rng, world, place = self.rng, self.world, self.place
        self.bookings += 1
        name, number = self._person()
        created = _epoch(self.day - timedelta(days=rng.randint(1, 14)), time(8)) + rng.randrange(14 * 3600)
        booking = Booking(
            reference=f"{REFERENCE_PREFIX}B{place.office.pk:03d}{self.day:%y%m%d}{self.bookings:04d}",
            office_id=place.office.pk,
            service_id=service,
            slot=slot,
            starts_at=slot.starts_at,
            channel=Channel.GENERAL,
            name=name,
            id_number=number,
            phone=demo_phone(rng),
            status=fate,
            created_at=_moment(created),
            changed_at=_moment(created),
            language="zh-hans" if rng.random() < 0.9 else "en",
        )
        self.sink.bookings.append(booking)
        if fate == Booking.Status.CHECKED_IN:
            opens = min((o for o, c in self.sessions if o <= start < c), default=start)
            arrived = max(start - int(rng.triangular(0, world.check_in_before, world.check_in_before / 3)), opens - 900)
            kiosk = place.kiosk_id is not None and rng.random() < KIOSK_CHECK_IN_SHARE
            by = place.kiosk_id if kiosk else place.triage_id
            booking.checked_in_at = booking.changed_at = _moment(arrived)
            booking.checked_in_by_id = by
            ticket = self._ticket(TicketChannel.APPOINTMENT, service, arrived, by, due=start, booking=booking)
            ticket.person = (name, number)
            if rng.random() < PURPOSES[TicketChannel.APPOINTMENT][0]:
                ticket.purpose = ACCEPT
        elif fate == Booking.Status.NO_SHOW:  # the sweep, a little after the check-in window
            booking.changed_at = _moment(start + world.check_in_after + 300)
        elif fate == Booking.Status.LATE:  # handled as a walk-in
            closes = max((c for o, c in self.sessions if o <= start < c), default=start + 1800)
            arrived = min(start + world.check_in_after + rng.randint(60, 2400), closes - 300)
            booking.changed_at = _moment(arrived)
            ticket = self._ticket(TicketChannel.GENERAL, service, arrived, place.triage_id)
            ticket.person, ticket.purpose = (name, number), ACCEPT
        else:  # cancelled a few days after booking, before the day
            booking.changed_at = _moment(min(created + rng.randint(3600, 3 * 86400), start - 86400))

    def _walk_ins(self, count: int) -> None:
        rng, place = self.rng, self.place
        if not self.sessions or not place.offered[self.kind]:
            return
        mix = dict(WALK_IN_MIX)
        if any(c.enterprise_window for c in place.counters):
            mix[TicketChannel.ENTERPRISE] = ENTERPRISE_WEIGHT
        channels, channel_weights = list(mix), list(mix.values())
        session_weights = [
            (closes - opens) * (MORNING_PEAK if n == 0 else 1.0) for n, (opens, closes) in enumerate(self.sessions)
        ]
        offered, service_weights = place.offered[self.kind], place.weights[self.kind]
        for _ in range(count):
            opens, closes = rng.choices(self.sessions, session_weights)[0]
            last = closes - 600
            peak = opens + (MORNING_MODE if (opens, closes) == self.sessions[0] else LATER_MODE) * (last - opens)
            issued = int(rng.triangular(opens, last, peak))
            channel = rng.choices(channels, channel_weights)[0]
            at_kiosk = channel == TicketChannel.GENERAL and place.kiosk_id is not None and rng.random() < KIOSK_SHARE
            service = rng.choices(offered, service_weights)[0]
            ticket = self._ticket(channel, service, issued, place.kiosk_id if at_kiosk else place.triage_id)
            accept, collect = PURPOSES[channel]
            draw = rng.random()
            if draw < accept:
                ticket.purpose = ACCEPT
            elif draw < accept + collect and self._collectable(issued, ticket):
                ticket.purpose = COLLECT

    def _collectable(self, issued: int, ticket: _Ticket) -> bool:
        pool = self.place.pool
        if not pool or pool[0][0] > issued - COLLECT_AFTER.total_seconds():
            return False
        _ready, _order, application = heapq.heappop(pool)
        ticket.collect = application
        ticket.service = application.service_id
        return True

    # --- counters ---

    def _plan_desks(self, total: int) -> None:
        """Each session's shifts: as many counters as its expected load needs at
        PLANNED_LOAD, opened a few minutes before the session (one late in a large one)."""
        rng, place = self.rng, self.place
        if not place.counters:
            return
        weights = [(c - o) * (MORNING_PEAK if n == 0 else 1.0) for n, (o, c) in enumerate(self.sessions)]
        for (opens, closes), weight in zip(self.sessions, weights, strict=True):
            expected = total * weight / sum(weights)
            need = math.ceil(expected * MEAN_SERVICE_MINUTES / ((closes - opens) / 60 * PLANNED_LOAD))
            count = min(len(place.counters), max(1, need))
            late = rng.randrange(1, count) if count >= 4 else None
            for n, counter in enumerate(place.counters[:count]):
                start = opens - rng.randint(60, 480)
                if n == late:
                    start = opens + rng.randint(*LATE_OPENING) * 60
                self.desks.append(_Desk(counter, start, closes))

    def _run(self) -> None:
        """The day in time order: arrivals join the queue, a free counter calls the best
        ticket it serves by the calling rule, serves it and calls again."""
        rng = self.rng
        events: list[tuple[int, int, int, object]] = []
        order = itertools.count()
        arrive, call, close = 0, 1, 2
        for n, ticket in enumerate(self.tickets):
            ticket.idx = n
            heapq.heappush(events, (ticket.issued, next(order), arrive, ticket))
        for desk in self.desks:
            heapq.heappush(events, (desk.opens, next(order), call, desk))
            heapq.heappush(events, (desk.closes, next(order), close, desk))
        waiting: list[_Ticket] = []
        shifts: dict[int, _Desk] = {}  # each counter's latest shift
        while events:
            moment, _, kind, subject = heapq.heappop(events)
            if kind == arrive:
                assert isinstance(subject, _Ticket)  # noqa: S101 - by construction
                waiting.append(subject)
                for desk in self.desks:
                    if desk.idle and desk.closed is None and subject.service in desk.counter.services:
                        desk.idle = False
                        heapq.heappush(events, (moment + rng.randint(10, 60), next(order), call, desk))
                        break
                continue
            assert isinstance(subject, _Desk)  # noqa: S101 - by construction
            desk = subject
            if desk.closed is not None:
                continue
            if kind == close:
                if desk.idle:
                    self._close(desk, moment)
                continue
            if not desk.opened:
                prior = shifts.get(desk.counter.id)
                if prior is not None and (prior.closed is None or prior.closed >= moment):
                    # The counter's shift of the last session is not over: open after it.
                    later = moment + 60 if prior.closed is None else prior.closed + rng.randint(60, 300)
                    heapq.heappush(events, (later, next(order), call, desk))
                    continue
                shifts[desk.counter.id], desk.opens = desk, moment
            desk.opened, desk.idle = True, False
            best = self._best(waiting, desk, moment) if moment <= desk.stop else None
            if best is None:
                if moment >= desk.closes:
                    self._close(desk, moment)
                else:
                    desk.idle = True
                continue
            waiting.remove(best)
            finished = self._serve(best, desk, moment)
            gap = rng.randint(5, 40)
            if rng.random() < BREAK_CHANCE and finished < desk.closes:
                gap += rng.randint(*BREAK_MINUTES) * 60
            heapq.heappush(events, (finished + gap, next(order), call, desk))
        closing = _epoch(self.day + timedelta(days=1), CLOSING_JOB)
        for ticket in waiting:  # nobody called them: the end-of-day job closes them
            ticket.status, ticket.finished = Ticket.Status.ABANDONED, closing
            ticket.events.append(("abandoned", closing, Ticket.Status.ABANDONED, None, None))

    def _best(self, waiting: list[_Ticket], desk: _Desk, now: int) -> _Ticket | None:
        """The ticket the counter calls at `now` (walkins.rules.call_order, on the stored keys:
        every waiting ticket has aged by the same amount since ORIGIN)."""
        rule = self.place.rule
        overdue_at = now - rule.max_wait.total_seconds()
        boost = rule.appointment_boost
        window = desk.counter.enterprise_window
        served = desk.counter.services
        best, best_order = None, None
        for ticket in waiting:
            if ticket.service not in served:
                continue
            due = ticket.due is not None and now >= ticket.due
            order = (
                ticket.issued <= overdue_at,
                window and ticket.enterprise,
                ticket.key + (boost if due else 0.0),
                -ticket.issued,
                -ticket.idx,
            )
            if best_order is None or order > best_order:
                best, best_order = ticket, order
        return best

    def _serve(self, ticket: _Ticket, desk: _Desk, now: int) -> int:
        """Call the ticket at the counter and play what follows; returns when it ends."""
        rng, clerk, counter = self.rng, desk.clerk, desk.counter.id
        ticket.counter, ticket.called_at = counter, now
        ticket.events.append(("called", now, Ticket.Status.CALLED, counter, clerk))
        scale = 1 / 3 if ticket.channel == TicketChannel.APPOINTMENT else 1.0
        draw = rng.random()
        if draw < NO_SHOW * scale:
            ticket.status, ticket.finished = Ticket.Status.NO_SHOW, now + rng.randint(60, 180)
        elif draw < (NO_SHOW + MISSED) * scale:
            limit = self.place.recall_limit
            for n in range(1, limit + 1):
                ticket.events.append(("recalled", now + 60 * n, Ticket.Status.CALLED, counter, clerk))
            ticket.recalls, ticket.called_at = limit, now + 60 * limit
            ticket.status, ticket.finished = Ticket.Status.MISSED, now + 60 * (limit + 1)
        else:
            low, high, mode = SERVICE_MINUTES[ticket.purpose]
            ticket.status = Ticket.Status.COMPLETED
            ticket.finished = now + int(rng.triangular(low, high, mode) * 60)
            ticket.served_at = now + int((ticket.finished - now) * rng.uniform(0.6, 0.9))
            ticket.events.append(("completed", ticket.finished, Ticket.Status.COMPLETED, counter, clerk))
            return ticket.finished
        ticket.events.append((ticket.status, ticket.finished, ticket.status, counter, clerk))
        return ticket.finished

    def _close(self, desk: _Desk, moment: int) -> None:
        desk.closed, desk.idle = moment + self.rng.randint(30, 180), False

    # --- rows ---

    def _write(self) -> None:
        place, sink, day = self.place, self.sink, self.day
        office_id = place.office.pk
        numbers: dict[str, int] = {}
        clerks = {desk.counter.id: desk.clerk for desk in self.desks}
        applications = 0
        for ticket in self.tickets:
            prefix = PREFIXES[ticket.channel]
            numbers[prefix] = numbers.get(prefix, 0) + 1
            row = Ticket(
                office_id=office_id,
                day=day,
                service_id=ticket.service,
                channel=ticket.channel,
                number=f"{prefix}{numbers[prefix]:03d}",
                issued_at=_moment(ticket.issued),
                issued_by_id=ticket.issued_by,
                base_key=ticket.key,
                due_at=_moment(ticket.due) if ticket.due is not None else None,
                booking=ticket.booking,
                status=ticket.status,
                counter_id=ticket.counter,
                called_at=_moment(ticket.called_at) if ticket.called_at is not None else None,
                recalls=ticket.recalls,
                finished_at=_moment(ticket.finished) if ticket.finished is not None else None,
            )
            sink.tickets.append((row, ticket))
            served_at = ticket.served_at if ticket.status == Ticket.Status.COMPLETED else None
            counter = ticket.counter
            if ticket.collect is not None:
                if served_at is not None and counter is not None:
                    ticket.collect.status = Application.Status.COLLECTED
                    sink.collected.append(ticket.collect)
                    sink.application_events.append(
                        (ticket.collect, Application.Status.COLLECTED, served_at, clerks[counter])
                    )
                else:  # not come: the document waits for another day
                    heapq.heappush(place.pool, (0, next(self.world.order), ticket.collect))
            if served_at is not None and counter is not None and ticket.purpose == ACCEPT:
                person = ticket.person or self._person()
                services = [ticket.service]
                if self.rng.random() < SECOND_APPLICATION:
                    services.append(self.rng.choices(place.offered[self.kind], place.weights[self.kind])[0])
                clerk = clerks[counter]
                for service in services:
                    applications += 1
                    application = self._application(service, person, applications, served_at, clerk)
                    sink.links.append((row, application))
                    ticket.events.append(("linked", served_at, Ticket.Status.CALLED, counter, clerk))
        sink.sequences += [
            TicketSequence(office_id=office_id, day=day, prefix=prefix, last=last) for prefix, last in numbers.items()
        ]
        sink.shifts += [
            CounterShift(
                counter_id=desk.counter.id,
                clerk_id=desk.clerk,
                opened_at=_moment(desk.opens),
                closed_at=_moment(desk.closed if desk.closed is not None else desk.stop),
            )
            for desk in self.desks
            if desk.opened
        ]

    def _application(self, service: int, person: tuple[str, str], n: int, accepted: int, clerk: int) -> Application:
        rng, world, place, day = self.rng, self.world, self.place, self.day
        name, number = person
        residency = residency_of(number, home_province=settings.HOME_PROVINCE_CODE)
        reason = ""
        if residency == Residency.OUT_OF_PROVINCE and rng.random() < 0.15:
            residency, reason = Residency.IN_PROVINCE, MOVED_IN_REASON
        expedited = rng.random() < EXPEDITED_SHARE
        kind = core.rule_kind(residency=residency, expedited=expedited)
        deadline = world.deadline(day, kind)
        application = Application(
            reference=f"{REFERENCE_PREFIX}{place.office.pk:03d}{day:%y%m%d}{n:04d}",
            office_id=place.office.pk,
            service_id=service,
            applicant_name=name,
            id_number=number,
            residency=residency,
            residency_override_reason=reason,
            expedited=expedited,
            accepted_on=day,
            due_on=deadline.due_on,
            provisional=deadline.provisional,
        )
        self.sink.applications.append(application)
        self._lifecycle(application, accepted, clerk, deadline.due_on)
        return application

    def _lifecycle(self, application: Application, accepted: int, clerk: int, due_on: date) -> None:
        """Accepted at the counter; in production the next working day; ready or mailed by
        the due date, or (LATE_SHARE) a few working days after it; nothing after now. A
        ready document joins the office's pool to be collected at a later visit."""
        rng, world, sink = self.rng, self.world, self.sink
        Status = Application.Status
        back_office = [c.clerk_id for c in self.place.counters] or [clerk]
        sink.application_events.append((application, Status.ACCEPTED, accepted, clerk))
        produced_on = world.next_working_day(self.day)
        produced = _epoch(produced_on, time(9, 30)) + rng.randrange(150 * 60)
        if produced > world.now:
            return
        application.status = Status.IN_PRODUCTION
        sink.application_events.append((application, Status.IN_PRODUCTION, produced, rng.choice(back_office)))
        if rng.random() < LATE_SHARE:
            done_on = workdays.add_working_days(world.calendar, due_on, rng.choice((1, 1, 1, 2, 2, 3, 4, 6))).due_on
        else:
            candidates = []
            on = produced_on + timedelta(days=1)
            while on <= due_on:
                if world.calendar.is_working_day(on):
                    candidates.append(on)
                on += timedelta(days=1)
            done_on = rng.choice(candidates) if candidates else produced_on
        done = _epoch(done_on, time(14)) + rng.randrange(180 * 60)
        if done_on == produced_on:
            done = max(done, produced + 1800)
        if done > world.now:
            return
        status = Status.MAILED if rng.random() < MAILED_SHARE else Status.READY
        application.status = status
        sink.application_events.append((application, status, done, rng.choice(back_office)))
        if status == Status.READY:
            heapq.heappush(self.place.pool, (done, next(world.order), application))


# --- writing -----------------------------------------------------------------------------------


def _flush(sink: _Sink, counts: HistoryCounts) -> None:
    """Write one day of every office, parents first (bulk_create sets their ids)."""
    with transaction.atomic():
        Slot.objects.bulk_create(sink.slots, batch_size=BATCH)
        Slot.objects.bulk_update(sink.slots_changed, ["general_booked"], batch_size=BATCH)
        Booking.objects.bulk_create(sink.bookings, batch_size=BATCH)
        Ticket.objects.bulk_create([row for row, _ticket in sink.tickets], batch_size=BATCH)
        events = [
            TicketEvent(ticket_id=row.pk, status=status, action=action, at=_moment(at), counter_id=counter, by_id=by)
            for row, ticket in sink.tickets
            for action, at, status, counter, by in ticket.events
        ]
        TicketEvent.objects.bulk_create(events, batch_size=BATCH)
        TicketSequence.objects.bulk_create(sink.sequences, batch_size=BATCH)
        CounterShift.objects.bulk_create(sink.shifts, batch_size=BATCH)
        Application.objects.bulk_create(sink.applications, batch_size=BATCH)
        Link = Ticket.applications.through
        Link.objects.bulk_create(
            [Link(ticket_id=row.pk, application_id=application.pk) for row, application in sink.links],
            batch_size=BATCH,
        )
        ApplicationEvent.objects.bulk_create(
            [
                ApplicationEvent(application_id=application.pk, status=status, at=_moment(at), by_id=by)
                for application, status, at, by in sink.application_events
            ],
            batch_size=BATCH,
        )
        collected = [application.pk for application in sink.collected]
        for start in range(0, len(collected), BATCH):
            Application.objects.filter(pk__in=collected[start : start + BATCH]).update(
                status=Application.Status.COLLECTED
            )
    counts.slots += len(sink.slots)
    counts.bookings += len(sink.bookings)
    counts.tickets += len(sink.tickets)
    counts.ticket_events += len(events)
    counts.shifts += len(sink.shifts)
    counts.applications += len(sink.applications)
    counts.application_events += len(sink.application_events)
    counts.collected += len(collected)
    counts.due_days.update(application.due_on for application in sink.applications if application.due_on)


def _taken(offices: Sequence[Office], first: date, last: date) -> set[tuple[int, date]]:
    """The (office id, day) pairs that already have tickets or bookings."""
    tickets = Ticket.objects.filter(office__in=offices, day__gte=first, day__lte=last)
    start = datetime.combine(first, time.min, tzinfo=OFFICE_TZ)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=OFFICE_TZ)
    bookings = (
        Booking.objects.filter(office__in=offices, starts_at__gte=start, starts_at__lt=end)
        .annotate(local_day=TruncDate("starts_at", tzinfo=OFFICE_TZ))
        .values_list("office_id", "local_day")
    )
    return set(tickets.values_list("office_id", "day").distinct()) | set(bookings.distinct())


def _existing_slots(offices: Sequence[Office], day: date) -> dict[int, dict[datetime, Slot]]:
    start = datetime.combine(day, time.min, tzinfo=OFFICE_TZ)
    found: dict[int, dict[datetime, Slot]] = {}
    for slot in Slot.objects.filter(office__in=offices, starts_at__gte=start, starts_at__lt=start + timedelta(days=1)):
        found.setdefault(slot.template_id, {})[slot.starts_at] = slot
    return found


def history_generate(
    *,
    offices: Iterable[Office],
    first: date,
    last: date,
    scale: float = 1.0,
    seed: int = 0,
    now: datetime | None = None,
) -> HistoryCounts:
    """Write the offices' days from `first` to `last` (local dates before today) as
    described in the module's docstring, one transaction a day; office days that already
    have tickets or bookings are skipped. Needs the offices' counters with their demo
    clerks (load_demo): a counter without one stays closed."""
    now = now or timezone.now()
    if last >= timezone.localtime(now, OFFICE_TZ).date():
        raise ValueError("History is for past days only: `last` must be before today.")
    if scale <= 0:
        raise ValueError("The scale must be above 0.")
    offices = list(offices)
    world = _World(seed=seed, scale=scale, now=now)
    places = _places(offices)
    taken = _taken(offices, first, last)
    counts = HistoryCounts()
    day = first
    while day <= last:
        kind = day_kind_of(world.calendar, day)
        todo = [
            place
            for place in places
            if kind is not None and place.sessions.get(kind) and (place.office.pk, day) not in taken
        ]
        if todo:
            sink = _Sink()
            existing = _existing_slots([place.office for place in todo], day)
            for place in todo:
                _OfficeDay(world, place, day, kind or "", sink, existing).play()
                counts.office_days += 1
            written = len(sink.tickets) + len(sink.bookings)
            _flush(sink, counts)
            if written:
                counts.days.append(day)
        day += timedelta(days=1)
    return counts
