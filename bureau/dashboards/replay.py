"""A day of the walk-in queues played again with other counters (the supervisors' "what
if"), as a discrete-event simulation over plain data. No database.

The day's tickets arrive when they really did; a counter that is open and free calls, among
the waiting tickets of the services it serves, the first by the office's calling rule at
that moment (`walkins.rules.call_order`, as `ticket_call_next` does), and is busy for the
ticket's time at the counter and the short pause after it that goes with the ticket
(`Arrival.after`). It calls when it opens, when it is done with a ticket, and,
while it waits with nobody to call, as soon as a ticket for it arrives. A counter whose
open time ends while it serves finishes the ticket and calls nobody after. Tickets no
counter called by the end are unserved. At one moment, tickets arrive first, then the
counters that are free call, in the order of the plan."""

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from itertools import count
from statistics import fmean

from walkins import rules


@dataclass(frozen=True)
class Arrival:
    """A ticket of the day, and how long it keeps the counter that calls it."""

    id: int
    channel: str
    service_id: int
    issued_at: datetime
    minutes: float
    due_at: datetime | None = None  # an appointment's slot time
    after: float = 0.0  # minutes the counter stays busy after it (the clerk's short pause)


@dataclass(frozen=True)
class Desk:
    """A counter of the plan: the services it serves and when it is open ([start, end))."""

    id: str
    label: str
    services: frozenset[int]
    enterprise_window: bool = False
    open: tuple[tuple[datetime, datetime], ...] = ()

    def is_open(self, moment: datetime) -> bool:
        return any(start <= moment < end for start, end in self.open)


@dataclass(frozen=True)
class Call:
    """What became of a ticket in the replay: called when, by which desk (None: unserved)."""

    ticket_id: int
    called_at: datetime | None
    desk_id: str | None
    wait_minutes: float | None


@dataclass(frozen=True)
class Summary:
    """Waits from issue to call over the tickets called, in minutes; the 90th percentile by
    the nearest rank; per hour of arrival (local), the tickets issued and the mean wait of
    those called (None when none of that hour's was)."""

    mean: float | None
    p90: float | None
    max: float | None
    served: int
    unserved: int
    by_hour: dict[int, float | None]
    arrivals_by_hour: dict[int, int]


def minutes_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60


# The kinds of event, in the order they are handled at one moment.
_ARRIVES, _OPENS, _FREE = 0, 1, 2


def replay(arrivals: Sequence[Arrival], desks: Sequence[Desk], rule: rules.CallingRule) -> dict[int, Call]:
    """Each ticket's call in the replay, by ticket id (see the module's docstring)."""
    order = count()
    events: list[tuple[datetime, int, int, int]] = []  # (moment, kind, order, arrival or desk index)
    for n, arrival in enumerate(arrivals):
        events.append((arrival.issued_at, _ARRIVES, next(order), n))
    for n, desk in enumerate(desks):
        for start, end in desk.open:
            if start < end:
                events.append((start, _OPENS, next(order), n))
    heapq.heapify(events)
    waiting: dict[int, dict[int, rules.Waiting]] = {}  # by service, by ticket id
    minutes = {arrival.id: arrival.minutes for arrival in arrivals}
    after = {arrival.id: arrival.after for arrival in arrivals}
    busy = [False] * len(desks)
    calls: dict[int, Call] = {}
    serving: dict[int, list[int]] = {}  # desks by service they serve, in plan order
    for n, desk in enumerate(desks):
        for service_id in desk.services:
            serving.setdefault(service_id, []).append(n)
    while events:
        now = events[0][0]
        ready: set[int] = set()  # desks that may call at this moment
        while events and events[0][0] == now:
            _, kind, _, n = heapq.heappop(events)
            if kind == _ARRIVES:
                arrival = arrivals[n]
                waiting.setdefault(arrival.service_id, {})[arrival.id] = rules.Waiting(
                    id=arrival.id,
                    channel=arrival.channel,
                    service_id=arrival.service_id,
                    issued_at=arrival.issued_at,
                    due_at=arrival.due_at,
                )
                ready.update(serving.get(arrival.service_id, ()))
            else:
                if kind == _FREE:
                    busy[n] = False
                ready.add(n)
        for n in sorted(ready):
            desk = desks[n]
            if busy[n] or not desk.is_open(now):
                continue
            found = max(
                (ticket for service_id in desk.services for ticket in waiting.get(service_id, {}).values()),
                key=lambda ticket: rules.call_order(ticket, now, rule, enterprise_window=desk.enterprise_window),
                default=None,
            )
            if found is None:
                continue
            del waiting[found.service_id][found.id]
            calls[found.id] = Call(found.id, now, desk.id, minutes_between(found.issued_at, now))
            busy[n] = True
            # Two steps, each rounded to the microsecond: as-was, free at the real next call.
            done = now + timedelta(minutes=minutes[found.id]) + timedelta(minutes=after[found.id])
            heapq.heappush(events, (done, _FREE, next(order), n))
    for arrival in arrivals:
        calls.setdefault(arrival.id, Call(arrival.id, None, None, None))
    return calls


def nearest_rank(values: Sequence[float], share: float) -> float | None:
    """The smallest value that at least `share` of the values do not exceed; None if none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summarize(waits: Iterable[tuple[datetime, float | None]], tz: tzinfo) -> Summary:
    """The figures of (issued at, wait in minutes or None when never called) pairs."""
    called: list[float] = []
    unserved = 0
    hours: dict[int, list[float]] = {}
    issued: dict[int, int] = {}
    for issued_at, wait in waits:
        hour = issued_at.astimezone(tz).hour
        issued[hour] = issued.get(hour, 0) + 1
        of_hour = hours.setdefault(hour, [])
        if wait is None:
            unserved += 1
            continue
        called.append(wait)
        of_hour.append(wait)
    return Summary(
        mean=fmean(called) if called else None,
        p90=nearest_rank(called, 0.9),
        max=max(called, default=None),
        served=len(called),
        unserved=unserved,
        by_hour={hour: fmean(each) if each else None for hour, each in sorted(hours.items())},
        arrivals_by_hour=dict(sorted(issued.items())),
    )
