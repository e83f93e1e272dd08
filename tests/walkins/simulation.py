"""A day at an office, simulated through the real services on the test database, to measure
the estimated wait an applicant is given against the wait they really had.

Walk-ins arrive as a Poisson process whose hourly rate follows a day's curve (a morning peak,
a lunch dip, a smaller afternoon peak); booked applicants check in from half an hour before
their slot to ten minutes after it (some never come); each service takes a lognormal time at
the counter; counters open, close for lunch in turns and close at the end of the day once
nobody waits for them. Tickets are issued (walkins.services.ticket_issue,
ticket_check_in), called (ticket_call_next) and finished through the real services with the
office's clock passed as `now` (and django.utils.timezone.now patched to it). At each issue
the estimate the applicant is told is read with walkins.selectors.place_of; at each first
call, the real wait is recorded.

Used by tests/walkins/test_estimate.py (a small day, a fixed seed) and by the benchmark
tests/bench/estimate.py (whole days)."""

import heapq
import math
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import count
from unittest import mock

from django.contrib.auth.models import User
from django.db import transaction
from stdnum.cn import ric

from appointments import services as bookings
from appointments.models import Booking, BookingPolicy, Slot, SlotTemplate
from bureau.models import Counter, Office, OpeningSession
from tests.factories import OfficeFactory, ServiceFactory, clerk, walk_in_ticket
from walkins import selectors, services
from walkins.models import Ticket

TZ = selectors.OFFICE_TZ


@dataclass(frozen=True)
class ServicePlan:
    document: str
    business: str
    share: float  # of arrivals
    median_minutes: float  # at the counter, lognormal
    sigma: float

    @property
    def code(self) -> str:
        return f"{self.document}-{self.business}"


@dataclass(frozen=True)
class CounterPlan:
    number: int
    services: tuple[str, ...]  # codes; empty: every service
    shifts: tuple[tuple[str, str], ...]  # local "HH:MM" from, to; the last ends when nobody waits
    enterprise_window: bool = False


@dataclass(frozen=True)
class DayPlan:
    day: date
    walk_ins: tuple[tuple[str, str, float], ...]  # local "HH:MM" from, to, mean arrivals an hour
    counters: tuple[CounterPlan, ...]
    services: tuple[ServicePlan, ...]
    # Walk-in channels and their shares; appointments come from the slots below.
    channels: dict[str, float] = field(
        default_factory=lambda: {"general": 0.82, "green": 0.07, "student": 0.05, "enterprise": 0.04, "emergency": 0.02}
    )
    slots: tuple[str, str] = ("09:00", "16:30")  # first and last half-hour appointment slot
    bookings_per_slot: int = 5
    booked_no_show: float = 0.1
    called_no_show: float = 0.03  # called, never came: recalled once, then no-show
    seed: int = 1


SERVICES = (
    ServicePlan("passport", "first", 0.30, 9.0, 0.45),
    ServicePlan("passport", "renewal", 0.20, 6.5, 0.40),
    ServicePlan("hk_macao", "endorsement", 0.30, 3.0, 0.50),
    ServicePlan("taiwan", "first", 0.20, 8.0, 0.45),
)
ALL: tuple[str, ...] = ()
ENDORSEMENTS = ("hk_macao-endorsement",)
PASSPORTS = ("passport-first", "passport-renewal")
MORNING, AFTERNOON = ("09:00", "12:00"), ("13:00", "17:00")


def whole_day(day: date, seed: int) -> DayPlan:
    """A district hall: ten windows (one the enterprise window, two for endorsements, one
    passport window opened for the peaks), lunch in three turns of an hour; the doors open
    half an hour before the counters; about 520 walk-ins and 80 bookings."""
    return DayPlan(
        day=day,
        walk_ins=(
            ("08:30", "09:00", 30),
            ("09:00", "10:00", 76),
            ("10:00", "11:00", 92),
            ("11:00", "12:00", 72),
            ("12:00", "13:00", 30),
            ("13:00", "14:00", 46),
            ("14:00", "15:00", 68),
            ("15:00", "16:00", 60),
            ("16:00", "16:45", 40),
        ),
        counters=(
            CounterPlan(1, ALL, (MORNING, AFTERNOON), enterprise_window=True),
            *(CounterPlan(n, ALL, (("09:00", "11:30"), ("12:30", "17:00"))) for n in (2, 3, 4)),
            *(CounterPlan(n, ALL, (("09:00", "12:30"), ("13:30", "17:00"))) for n in (5, 6, 7)),
            CounterPlan(8, ENDORSEMENTS, (MORNING, AFTERNOON)),
            CounterPlan(9, (*ENDORSEMENTS, "taiwan-first"), (("09:00", "17:00"),)),
            CounterPlan(10, PASSPORTS, (("10:00", "12:00"), ("14:00", "16:00"))),
        ),
        services=SERVICES,
        seed=seed,
    )


def small_morning(day: date, seed: int) -> DayPlan:
    """A small hall's morning for the fast test: five windows, one opening late and one
    closing early, about 110 walk-ins and 24 bookings."""
    return DayPlan(
        day=day,
        walk_ins=(("08:30", "09:00", 24), ("09:00", "10:00", 36), ("10:00", "11:00", 42), ("11:00", "11:45", 28)),
        counters=(
            CounterPlan(1, ALL, (("09:00", "12:00"),), enterprise_window=True),
            CounterPlan(2, ALL, (("09:00", "11:15"),)),
            CounterPlan(3, ALL, (("09:00", "12:00"),)),
            CounterPlan(4, ENDORSEMENTS, (("09:00", "12:00"),)),
            CounterPlan(5, PASSPORTS, (("09:30", "12:00"),)),
        ),
        services=SERVICES,
        slots=("09:00", "11:30"),
        bookings_per_slot=4,
        seed=seed,
    )


@dataclass
class Outcome:
    ticket: int
    channel: str
    service: str
    issued_at: datetime
    estimate: int  # minutes, as told at issue
    ahead: int
    wait: float | None = None  # minutes, at the first call


@dataclass
class Figures:
    outcomes: list[Outcome]

    @property
    def called(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.wait is not None]

    @staticmethod
    def error(outcome: Outcome) -> float:
        assert outcome.wait is not None
        return abs(outcome.estimate - outcome.wait)

    @staticmethod
    def close_enough(outcome: Outcome) -> bool:
        """Within 5 minutes or 25% of the real wait, whichever is larger."""
        assert outcome.wait is not None
        return Figures.error(outcome) <= max(5.0, 0.25 * outcome.wait)

    def share_within(self, which: Callable[[Outcome], bool] = lambda o: True) -> float:
        chosen = [o for o in self.called if which(o)]
        return sum(map(self.close_enough, chosen)) / len(chosen) if chosen else float("nan")

    def p90_error(self) -> float:
        errors = sorted(map(self.error, self.called))
        return errors[min(len(errors) - 1, math.ceil(0.9 * len(errors)) - 1)]

    def mean(self, values: list[float]) -> float:
        return sum(values) / len(values) if values else float("nan")

    def report(self) -> str:
        called = self.called
        waits = sorted(o.wait for o in called if o.wait is not None)
        lines = [
            f"tickets {len(self.outcomes)}, called {len(called)}; real wait median "
            f"{waits[len(waits) // 2]:.1f} min, max {waits[-1]:.1f} min",
            f"within 5 min or 25%: {self.share_within():.1%}; 90th-percentile error {self.p90_error():.1f} min; "
            f"mean signed error {self.mean([o.estimate - o.wait for o in called if o.wait is not None]):+.1f} min",
        ]
        for channel in sorted({o.channel for o in called}):
            mine = [o for o in called if o.channel == channel]
            within = sum(map(self.close_enough, mine)) / len(mine)
            lines.append(
                f"  {channel:12} {len(mine):4d} tickets, within {within:6.1%},"
                f" mean wait {self.mean([o.wait for o in mine if o.wait is not None]):5.1f},"
                f" mean estimate {self.mean([float(o.estimate) for o in mine]):5.1f}"
            )
        return "\n".join(lines)


def at(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=TZ)


def id_number(n: int) -> str:
    base = f"330106{1950 + n % 50}0{1 + n % 9}{10 + n % 18}{n % 1000:03d}"
    return base + ric.calc_check_digit(base + "0")


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def office_clock(start: datetime) -> Iterator[Clock]:
    clock = Clock(start)
    with mock.patch("django.utils.timezone.now", new=clock):
        yield clock


@dataclass
class Desk:
    counter: Counter
    clerk: User
    plan: CounterPlan
    served: set[int]
    open: bool = False
    current: int | None = None
    closing: bool = False  # close once the current ticket is done
    last_shift_over: bool = False  # past the end of the day: close once nobody waits


class Day:
    """Sets the office up and plays the day, event by event, in office time order."""

    def __init__(self, plan: DayPlan) -> None:
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.events: list[tuple[datetime, int, str, object]] = []
        self.order = count()
        self.outcomes: dict[int, Outcome] = {}

    # --- set-up ------------------------------------------------------------------------------

    def set_up(self) -> None:
        plan = self.plan
        self.office = OfficeFactory.create(code="SIM", mode=Office.Mode.DUAL_TRACK)
        OpeningSession.objects.create(office=self.office, day_kind="weekday", opens_at=time(9), closes_at=time(17))
        self.services = {s.code: ServiceFactory.create(document=s.document, business=s.business) for s in plan.services}
        self.service_plans = {s.code: s for s in plan.services}
        self.triage = clerk(self.office, username="sim-triage")
        self.desks: dict[int, Desk] = {}
        for counter_plan in plan.counters:
            counter = Counter.objects.create(
                office=self.office, number=counter_plan.number, enterprise_window=counter_plan.enterprise_window
            )
            codes = counter_plan.services or tuple(self.services)
            counter.services.set([self.services[code] for code in codes])
            self.desks[counter.number] = Desk(
                counter=counter,
                clerk=clerk(self.office, username=f"sim-clerk-{counter.number}"),
                plan=counter_plan,
                served={self.services[code].pk for code in codes},
            )
        self._book()
        self._schedule()

    def _book(self) -> None:
        """Yesterday, applicants booked the day's slots."""
        plan = self.plan
        BookingPolicy.objects.update_or_create(pk=1, defaults={"opens_at": time(0)})
        template = SlotTemplate.objects.create(
            office=self.office,
            day_kind="weekday",
            starts_at=time.fromisoformat(plan.slots[0]),
            ends_at=(at(plan.day, plan.slots[1]) + timedelta(minutes=30)).time(),
            slot_minutes=30,
            general_quota=plan.bookings_per_slot,
            enterprise_quota=0,
            emergency_quota=0,
        )
        template.services.set(self.services.values())
        yesterday = at(plan.day, "12:00") - timedelta(days=1)
        bookings.slots_generate(today=yesterday.date(), days=[plan.day])
        codes, shares = zip(*((s.code, s.share) for s in plan.services), strict=True)
        self.booked: list[Booking] = []
        n = 0
        for slot in Slot.objects.filter(office=self.office).order_by("starts_at"):
            for _ in range(plan.bookings_per_slot):
                n += 1
                self.booked.append(
                    bookings.booking_create(
                        office=self.office,
                        service=self.services[self.rng.choices(codes, weights=shares)[0]],
                        start=slot.starts_at,
                        name="王小晶",
                        id_number=id_number(n),
                        phone=f"138{n:08d}",
                        now=yesterday,
                    )
                )

    def _push(self, when: datetime, kind: str, what: object) -> None:
        heapq.heappush(self.events, (when, next(self.order), kind, what))

    def _schedule(self) -> None:
        plan, rng = self.plan, self.rng
        codes, shares = zip(*((s.code, s.share) for s in plan.services), strict=True)
        channels, weights = zip(*plan.channels.items(), strict=True)
        for begin, until, rate in plan.walk_ins:
            moment, end = at(plan.day, begin), at(plan.day, until)
            while True:
                moment += timedelta(minutes=rng.expovariate(rate / 60))
                if moment >= end:
                    break
                self._push(moment, "arrive", (rng.choices(codes, weights=shares)[0], rng.choices(channels, weights)[0]))
        for booking in self.booked:
            if rng.random() < plan.booked_no_show:
                continue
            self._push(booking.starts_at - timedelta(minutes=rng.uniform(-10, 30)), "check_in", booking.reference)
        for desk in self.desks.values():
            for index, (opens, closes) in enumerate(desk.plan.shifts):
                self._push(at(plan.day, opens), "open", desk.counter.number)
                last = index == len(desk.plan.shifts) - 1
                self._push(at(plan.day, closes), "end_of_day" if last else "close", desk.counter.number)

    # --- the day -----------------------------------------------------------------------------

    def play(self) -> Figures:
        with office_clock(self.events[0][0]) as clock:
            while self.events:
                when, _, kind, what = heapq.heappop(self.events)
                clock.now = when
                getattr(self, f"_on_{kind}")(when, what)
        return Figures(list(self.outcomes.values()))

    def _issued(self, ticket: Ticket, now: datetime) -> None:
        place = selectors.place_of(ticket, now)
        self.outcomes[ticket.pk] = Outcome(
            ticket=ticket.pk,
            channel=ticket.channel,
            service=ticket.service.code,
            issued_at=now,
            estimate=place.estimated_wait_minutes,
            ahead=place.ahead,
        )
        idle = [d for d in self.desks.values() if d.open and d.current is None and ticket.service_id in d.served]
        if idle:
            self._call(self.rng.choice(idle), now)

    def _on_arrive(self, now: datetime, what: tuple[str, str]) -> None:
        code, channel = what
        service = self.services[code]
        if channel in services.TRIAGE_CHANNELS:
            ticket = walk_in_ticket(office=self.office, service=service, channel=channel, by=self.triage, now=now)
        else:  # emergency and enterprise tickets come from the priority desk, once verified
            with transaction.atomic():
                ticket = services._issue(office=self.office, service=service, channel=channel, now=now, by=self.triage)
        self._issued(ticket, now)

    def _on_check_in(self, now: datetime, reference: str) -> None:
        done = services.ticket_check_in(code=reference, office=self.office, by=self.triage, now=now)
        self._issued(done.ticket, now)

    def _call(self, desk: Desk, now: datetime) -> None:
        """Call next at the desk (which ends its current ticket as served)."""
        ticket = services.ticket_call_next(counter=desk.counter, by=desk.clerk, now=now)
        desk.current = ticket.pk if ticket else None
        if ticket is None:
            if desk.last_shift_over:
                services.counter_close(counter=desk.counter, by=desk.clerk, now=now)
                desk.open = False
            return
        outcome = self.outcomes[ticket.pk]
        if outcome.wait is None:
            outcome.wait = (now - outcome.issued_at).total_seconds() / 60
        if self.rng.random() < self.plan.called_no_show:
            self._push(now + timedelta(minutes=1), "recall", desk.counter.number)
            return
        service = self.service_plans[outcome.service]
        minutes = self.rng.lognormvariate(math.log(service.median_minutes), service.sigma)
        self._push(now + timedelta(minutes=minutes), "done", desk.counter.number)

    def _on_recall(self, now: datetime, number: int) -> None:
        desk = self.desks[number]
        services.ticket_recall(counter=desk.counter, by=desk.clerk, now=now)
        self._push(now + timedelta(minutes=1), "gone", number)

    def _on_gone(self, now: datetime, number: int) -> None:
        desk = self.desks[number]
        services.ticket_no_show(counter=desk.counter, by=desk.clerk, now=now)
        desk.current = None
        self._on_done(now, number)

    def _on_done(self, now: datetime, number: int) -> None:
        desk = self.desks[number]
        if desk.closing:
            if desk.current is not None:
                services.ticket_complete(counter=desk.counter, by=desk.clerk, now=now)
            services.counter_close(counter=desk.counter, by=desk.clerk, now=now)
            desk.open, desk.closing, desk.current = False, False, None
            return
        self._call(desk, now)

    def _on_open(self, now: datetime, number: int) -> None:
        desk = self.desks[number]
        services.counter_open(counter=desk.counter, by=desk.clerk, now=now)
        desk.open = True
        self._call(desk, now)

    def _on_close(self, now: datetime, number: int) -> None:
        desk = self.desks[number]
        if desk.current is None:
            services.counter_close(counter=desk.counter, by=desk.clerk, now=now)
            desk.open = False
        else:
            desk.closing = True

    def _on_end_of_day(self, now: datetime, number: int) -> None:
        """The last shift calls on until nobody waits for the counter."""
        desk = self.desks[number]
        desk.last_shift_over = True
        if desk.current is None:
            services.counter_close(counter=desk.counter, by=desk.clerk, now=now)
            desk.open = False


def simulate(plan: DayPlan) -> Figures:
    day = Day(plan)
    day.set_up()
    return day.play()
