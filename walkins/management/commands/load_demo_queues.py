"""Today's queue at every demo office (after load_demo and load_demo_bookings): the day is
played up to now through the real walk-in services, so that the board, the queue page and
the workstation show a working hall on the first visit. Never for production."""

import contextlib
import heapq
import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from appointments.models import Booking
from appointments.selectors import policy
from appointments.services import day_kind_of
from bureau import selectors as core
from bureau.management.commands.load_demo import (
    OFFICES,
    SERVICE_WEIGHTS,
    demo_clerk_username,
    demo_kiosk_username,
)
from bureau.models import Counter, Office, OpeningSession, Service, StaffMember
from bureau.services import DomainError
from walkins import selectors, services
from walkins.models import Ticket, TicketChannel

# Walk-ins arrive over this long before now (from midnight when less of the day has passed).
LOOKBACK = timedelta(minutes=70)
# Nobody is called in these last minutes: the counters are busy and the latest arrivals wait.
TAIL = timedelta(minutes=4)
# The last open counter of each hall calls nobody in this last stretch: it stands idle.
IDLE_FOR = timedelta(minutes=20)
SERVICE_MINUTES = (8.0, 18.0)
BREAK_MINUTES = (2.0, 6.0)
BREAK_CHANCE = 0.12
# The share of walk-ins that arrive in the rush at the start of the stretch, and its length.
RUSH_SHARE, RUSH_PART = 0.4, 0.15
# Of the general walk-ins in opening hours, this share takes its ticket at the kiosk.
KIOSK_SHARE = 0.6
WALK_IN_MIX = {TicketChannel.GENERAL: 75, TicketChannel.STUDENT: 10, TicketChannel.GREEN: 15}
# The last arrivals, in the quiet tail: so every hall has several queues waiting.
TAIL_CHANNELS = (TicketChannel.GENERAL, TicketChannel.GREEN, TicketChannel.GENERAL, TicketChannel.STUDENT)
# Bookings still to come whose check-in window is open: this many arrive in the quiet tail
# and are checked in at the desk, so their appointment tickets wait too.
CHECK_INS_IN_THE_TAIL = 2
# Every so many calls, the applicant does not come (no-show) or does not answer (missed).
NO_SHOW_EVERY, MISSED_EVERY = 17, 23


@dataclass(frozen=True)
class HallSize:
    desks: int  # counters open
    waiting: int  # about this many still waiting at the end


def hall_size(windows: int) -> HallSize:
    if windows >= 12:  # the municipal hall
        return HallSize(desks=6, waiting=40)
    if windows >= 6:
        return HallSize(desks=3, waiting=16)
    return HallSize(desks=2, waiting=10)


class Command(BaseCommand):
    help = (
        "Load today's demo queues (after load_demo and load_demo_bookings): at every demo office the day "
        f"is played up to now, walk-ins over the last {LOOKBACK.seconds // 60} minutes and today's "
        "checked-in bookings with their appointment tickets, through the real walk-in services: counters "
        "opened by demo clerks, calls, completions, no-shows and missed tickets, some counters serving and "
        "one idle, tickets waiting in several queues. Nothing is dated after now. Idempotent: an office "
        "that already has tickets today is left alone, so a second run adds and changes nothing and a run "
        "on a later day (after closing the past days' queues as the end-of-day job does) adds that day's "
        "queue. Refused in production."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo data is never loaded in production.")
        now = timezone.now().replace(microsecond=0)
        abandoned = services.queues_close_day(now=now)
        calendar = core.work_calendar()
        offices = Office.objects.filter(code__in=[code for code, *_ in OFFICES]).order_by("position")
        added = 0
        for office in offices:
            with transaction.atomic():
                added += demo_queue_today(office, now=now, day_kind=day_kind_of(calendar, selectors.local_day(now)))
        waiting = Ticket.objects.filter(day=selectors.local_day(now), status=Ticket.Status.WAITING).count()
        self.stdout.write(
            f"Demo tickets added today: {added} ({waiting} waiting); past days' tickets closed: {abandoned}"
        )


@dataclass(eq=False)
class _Desk:
    """An open counter in the replay."""

    counter: Counter
    clerk: User
    stop: datetime  # calls nobody after this
    idle_at_end: bool = False
    takes_breaks: bool = False
    free: bool = True  # nobody to call: the next arrival wakes it


def demo_queue_today(office: Office, *, now: datetime, day_kind: str | None) -> int:
    """Play an office's day up to `now` through the walk-in services: open counters, issue
    walk-in tickets and checked-in bookings' appointment tickets at their times, call,
    complete, no-show and miss them. Nothing if the office has tickets today. Returns how
    many tickets were issued."""
    today = selectors.local_day(now)
    if Ticket.objects.filter(office=office, day=today).exists():
        return 0
    code = office.code.lower()
    users = {user.username: user for user in User.objects.filter(username__startswith=f"demo-clerk-{code}-")}
    counters = list(office.counters.order_by("number"))
    size = hall_size(len(counters))
    midnight = datetime.combine(today, time.min, tzinfo=selectors.OFFICE_TZ)
    start = max(midnight, now - LOOKBACK)
    bookings = list(
        Booking.objects.filter(
            office=office,
            status=Booking.Status.CHECKED_IN,
            checked_in_at__gte=midnight,
            checked_in_at__lte=now,
            ticket__isnull=True,
        )
        .select_related("service", "checked_in_by")
        .order_by("checked_in_at", "pk")
    )
    tail = min(TAIL, (now - start) / 4)
    rules_ = policy()
    arriving = list(
        Booking.objects.filter(
            office=office,
            status=Booking.Status.BOOKED,
            starts_at__gte=now - timedelta(minutes=rules_.check_in_after_minutes),
            starts_at__lte=now + timedelta(minutes=rules_.check_in_before_minutes),
        ).order_by("starts_at", "pk")[:CHECK_INS_IN_THE_TAIL]
    )
    opened_at = min([start, *(b.checked_in_at for b in bookings if b.checked_in_at is not None)])
    desks = _open_desks(counters[: size.desks], users, code, stop=now - tail, now=now, opened_at=opened_at)
    if not desks:
        return 0
    triage = next(
        (
            users[name]
            for counter in reversed(counters)
            if (name := demo_clerk_username(office.code, counter.number)) in users
            and counter not in {desk.counter for desk in desks}
        ),
        desks[0].clerk,
    )
    kiosk = User.objects.filter(username=demo_kiosk_username(office.code), staff__role=StaffMember.Role.KIOSK).first()
    offered = [
        s
        for s in Service.objects.filter(counters__office=office).distinct().order_by("code")
        if s.weekend_service or day_kind == OpeningSession.DayKind.WEEKDAY
    ]
    day = _Day(
        office,
        now=now,
        rng=random.Random(f"demo-queues:{office.code}:{today.isoformat()}"),  # noqa: S311 - demo data
        desks=desks,
        triage=triage,
        kiosk=kiosk,
        opening=_opening_hours(office, today, day_kind),
    )
    for booking in bookings:
        assert booking.checked_in_at is not None  # noqa: S101 - filtered on it above
        day.arrival(booking.checked_in_at, partial(day.appointment, booking))
    for n, booking in enumerate(arriving, start=1):
        opens = booking.starts_at - timedelta(minutes=rules_.check_in_before_minutes)
        moment = max(now - tail * n / (len(arriving) + 1), opens)
        day.arrival(moment, partial(day.check_in, booking))
    for moment, channel in _walk_in_times(day.rng, start=start, end=now - tail, now=now, size=size, desks=len(desks)):
        service = day.rng.choices(offered, weights=[SERVICE_WEIGHTS.get(s.code, 1) for s in offered])[0]
        day.arrival(moment, partial(day.walk_in, channel, service))
    day.run()
    return Ticket.objects.filter(office=office, day=today).count()


def _open_desks(
    counters: Sequence[Counter],
    users: dict[str, User],
    code: str,
    *,
    stop: datetime,
    now: datetime,
    opened_at: datetime,
) -> list[_Desk]:
    """Open the counters by their own demo clerks at `opened_at`; they call nobody after
    `stop`, and the last one stands idle for the last IDLE_FOR."""
    desks: list[_Desk] = []
    for counter in counters:
        clerk = users.get(demo_clerk_username(code, counter.number))
        if clerk is None:
            continue
        try:
            services.counter_open(counter=counter, by=clerk, now=opened_at)
        except DomainError:
            continue  # another clerk staffs it, or this one staffs another counter
        desks.append(_Desk(counter=counter, clerk=clerk, stop=stop, takes_breaks=bool(desks)))
    if len(desks) >= 2:
        desks[-1].idle_at_end, desks[-1].takes_breaks, desks[-1].stop = True, False, now - IDLE_FOR
    return desks


def _opening_hours(office: Office, day: date, day_kind: str | None) -> list[tuple[datetime, datetime]]:
    sessions = OpeningSession.objects.filter(office=office, day_kind=day_kind) if day_kind else []
    return [
        (
            datetime.combine(day, s.opens_at, tzinfo=selectors.OFFICE_TZ),
            datetime.combine(day, s.closes_at, tzinfo=selectors.OFFICE_TZ),
        )
        for s in sessions
    ]


def _walk_in_times(
    rng: random.Random, *, start: datetime, end: datetime, now: datetime, size: HallSize, desks: int
) -> list[tuple[datetime, str]]:
    """When walk-ins arrive and in which queue: a rush at the start of the stretch, then a
    steady flow a little above what the open counters serve until `end`, and a few in the
    quiet tail after it. Whole seconds, never after now."""
    tail = now - end
    span = int((end - start).total_seconds())
    mean_service = sum(SERVICE_MINUTES) / 2
    count = size.waiting + round(desks * span / 60 / mean_service)
    channels, weights = list(WALK_IN_MIX), list(WALK_IN_MIX.values())
    arrivals = []
    for n in range(count):
        share = rng.random() * (RUSH_PART if n < count * RUSH_SHARE else 1.0)
        arrivals.append((start + timedelta(seconds=int(share * span)), rng.choices(channels, weights)[0]))
    step = tail / (len(TAIL_CHANNELS) + 1)
    arrivals += [((end + step * (n + 1)).replace(microsecond=0), channel) for n, channel in enumerate(TAIL_CHANNELS)]
    return sorted(arrivals, key=lambda arrival: arrival[0])


class _Day:
    """The replay of one office's day: events in time order, each a call of a service with
    `now=` its time. Events after now are dropped: what they would end is still going on."""

    def __init__(
        self,
        office: Office,
        *,
        now: datetime,
        rng: random.Random,
        desks: list[_Desk],
        triage: User,
        kiosk: User | None,
        opening: list[tuple[datetime, datetime]],
    ) -> None:
        self.office, self.now, self.rng = office, now, rng
        self.desks, self.triage, self.kiosk, self.opening = desks, triage, kiosk, opening
        self.events: list[tuple[datetime, int, Callable[[datetime], None]]] = []
        self.order = itertools.count()
        self.calls = 0
        self.recall_limit = selectors.queue_settings(office).recall_limit

    def at(self, moment: datetime, action: Callable[[datetime], None]) -> None:
        moment = moment.replace(microsecond=0)
        if moment <= self.now:
            heapq.heappush(self.events, (moment, next(self.order), action))

    def run(self) -> None:
        while self.events:
            moment, _, action = heapq.heappop(self.events)
            action(moment)
        first = self.desks[0]
        if selectors.current_ticket(first.counter) is None:  # the first counter is serving at the end
            self._called(first, services.ticket_call_next(counter=first.counter, by=first.clerk, now=self.now))

    # --- arrivals ---

    def arrival(self, moment: datetime, issue: Callable[[datetime], None]) -> None:
        def arrive(at: datetime) -> None:
            issue(at)
            for desk in self.desks:  # a free counter calls soon after
                if desk.free and at <= desk.stop:
                    desk.free = False
                    self.at(at + timedelta(seconds=self.rng.randint(10, 60)), partial(self._call, desk))
                    break

        self.at(moment, arrive)

    def appointment(self, booking: Booking, moment: datetime) -> None:
        """The appointment ticket of a booking checked in at `moment`, made as ticket_check_in
        makes it once the booking is checked in."""
        with transaction.atomic():
            services._issue(
                office=self.office,
                service=booking.service,
                channel=TicketChannel.APPOINTMENT,
                now=moment,
                by=booking.checked_in_by or self.triage,
                booking=booking,
            )

    def check_in(self, booking: Booking, moment: datetime) -> None:
        """A booked applicant arrives in the check-in window and is checked in at the desk."""
        with contextlib.suppress(DomainError):  # changed meanwhile: it stays as it is
            services.ticket_check_in(code=booking.reference, office=self.office, by=self.triage, now=moment)

    def walk_in(self, channel: str, service: Service, moment: datetime) -> None:
        """A walk-in ticket: most general ones from the kiosk in opening hours, the rest from
        the triage desk's clerk."""
        at_kiosk = (
            channel == TicketChannel.GENERAL
            and self.kiosk is not None
            and any(opens <= moment < closes for opens, closes in self.opening)
            and self.rng.random() < KIOSK_SHARE
        )
        if at_kiosk and self.kiosk is not None:
            try:
                services.ticket_issue_at_kiosk(office=self.office, service=service, by=self.kiosk, now=moment)
                return
            except DomainError:
                pass  # closed or out of tickets after all: the desk issues it
        # The demo's green and student walk-ins stand for applicants the priority desk checked.
        issue = services.ticket_issue if channel == TicketChannel.GENERAL else services.ticket_issue_for_priority
        issue(office=self.office, service=service, channel=channel, by=self.triage, now=moment)

    # --- counters ---

    def _call(self, desk: _Desk, moment: datetime) -> None:
        if moment > desk.stop:
            return
        self._called(desk, services.ticket_call_next(counter=desk.counter, by=desk.clerk, now=moment))

    def _called(self, desk: _Desk, ticket: Ticket | None) -> None:
        if ticket is None:
            desk.free = True
            return
        assert ticket.called_at is not None  # noqa: S101 - just called
        called = ticket.called_at
        self.calls += 1
        if self.calls % NO_SHOW_EVERY == 5:
            self.at(called + timedelta(minutes=2), partial(self._no_show, desk))
        elif self.calls % MISSED_EVERY == 11:
            for n in range(1, self.recall_limit + 2):  # the last recall past the limit: missed
                self.at(called + timedelta(minutes=n), partial(self._recall, desk))
        else:
            self.at(called + timedelta(minutes=self.rng.uniform(*SERVICE_MINUTES)), partial(self._served, desk))

    def _served(self, desk: _Desk, moment: datetime) -> None:
        if moment > desk.stop:
            if desk.idle_at_end:
                services.ticket_complete(counter=desk.counter, by=desk.clerk, now=moment)
            return  # otherwise still at the counter
        if desk.takes_breaks and self.rng.random() < BREAK_CHANCE:
            services.ticket_complete(counter=desk.counter, by=desk.clerk, now=moment)
            self.at(moment + timedelta(minutes=self.rng.uniform(*BREAK_MINUTES)), partial(self._call, desk))
            return
        self._called(desk, services.ticket_call_next(counter=desk.counter, by=desk.clerk, now=moment))

    def _no_show(self, desk: _Desk, moment: datetime) -> None:
        services.ticket_no_show(counter=desk.counter, by=desk.clerk, now=moment)
        self.at(moment + timedelta(seconds=30), partial(self._call, desk))

    def _recall(self, desk: _Desk, moment: datetime) -> None:
        ticket = services.ticket_recall(counter=desk.counter, by=desk.clerk, now=moment)
        if ticket.status == Ticket.Status.MISSED:
            self.at(moment + timedelta(seconds=30), partial(self._call, desk))
