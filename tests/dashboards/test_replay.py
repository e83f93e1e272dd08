"""The replay of a day's queues (bureau.dashboards.replay): pure, no database."""

import random
import time as clock
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bureau.dashboards.replay import Arrival, Call, Desk, replay, summarize
from walkins import rules

SHANGHAI = ZoneInfo("Asia/Shanghai")
NINE = datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI)
ALL_DAY = ((NINE, NINE + timedelta(hours=9)),)
RULE = rules.CallingRule(
    weights={"emergency": 100, "green": 80, "appointment": 60, "enterprise": 20, "student": 10, "general": 0},
    ageing_per_minute=1.0,
    appointment_boost=30,
    max_wait=timedelta(minutes=60),
)
FLAT = rules.CallingRule(  # no priorities: every channel weighs the same
    weights=dict.fromkeys(RULE.weights, 0.0), ageing_per_minute=1.0, appointment_boost=0, max_wait=timedelta(hours=24)
)


def m(minutes: float) -> datetime:
    return NINE + timedelta(minutes=minutes)


def ticket(
    id: int, issued: float, minutes: float = 5, channel: str = "general", service: int = 1, due: float | None = None
):
    return Arrival(id, channel, service, m(issued), minutes, m(due) if due is not None else None)


def desk(name: str = "1", services: tuple[int, ...] = (1,), window: bool = False, *hours: tuple[float, float]) -> Desk:
    open_ = tuple((m(start), m(end)) for start, end in hours) if hours else ALL_DAY
    return Desk(name, name, frozenset(services), window, open_)


def called(calls: dict[int, Call]) -> dict[int, tuple[float | None, str | None]]:
    """Each ticket's call as (minutes after 09:00, desk)."""
    return {
        ticket_id: (None if call.called_at is None else (call.called_at - NINE).total_seconds() / 60, call.desk_id)
        for ticket_id, call in calls.items()
    }


# --- the rule, case by case --------------------------------------------------------------------

CASES = [
    pytest.param(
        [ticket(1, 0, 10), ticket(2, 1), ticket(3, 2)],
        [desk()],
        {1: (0, "1"), 2: (10, "1"), 3: (15, "1")},
        id="one counter: first come, first called, one at a time",
    ),
    pytest.param(
        [ticket(1, 0, 10), ticket(2, 1), ticket(3, 2, channel="emergency")],
        [desk()],
        {1: (0, "1"), 3: (10, "1"), 2: (15, "1")},
        id="an emergency goes before an earlier walk-in",
    ),
    pytest.param(
        [ticket(1, 0, 70), ticket(2, 1), ticket(3, 65, channel="green")],
        [desk()],
        {1: (0, "1"), 2: (70, "1"), 3: (75, "1")},
        id="past the max wait, before every ordinary ticket",
    ),
    pytest.param(
        [ticket(1, 0, 30), ticket(3, 5, channel="appointment", due=20), ticket(4, 5, channel="green")],
        [desk()],
        # at 30: appointment 60 + 25 + 30, green channel 80 + 25
        {1: (0, "1"), 3: (30, "1"), 4: (35, "1")},
        id="an appointment whose time has come is boosted",
    ),
    pytest.param(
        [ticket(1, 0, 30), ticket(3, 5, channel="appointment", due=45), ticket(4, 5, channel="green")],
        [desk()],
        {1: (0, "1"), 4: (30, "1"), 3: (35, "1")},
        id="an appointment before its time is not",
    ),
    pytest.param(
        [ticket(1, 0, 30), ticket(2, 1), ticket(3, 5, channel="appointment", due=45), ticket(4, 2, channel="student")],
        [desk()],
        # at 30: general 29, appointment 60+25, student 10+28
        {1: (0, "1"), 3: (30, "1"), 4: (35, "1"), 2: (40, "1")},
        id="the channels' weights and the ageing",
    ),
    pytest.param(
        [ticket(1, 0, 10), ticket(2, 1, service=2), ticket(3, 2)],
        [desk("1", (1,)), desk("2", (2,))],
        {1: (0, "1"), 2: (1, "2"), 3: (10, "1")},
        id="a counter calls only the services it serves",
    ),
    pytest.param(
        [ticket(1, 0, 10), ticket(2, 0, 10), ticket(3, 0)],
        [desk("a"), desk("b")],
        {1: (0, "a"), 2: (0, "b"), 3: (10, "a")},
        id="at one moment, the counters call in the plan's order; ties go to the lower id",
    ),
    pytest.param(
        [ticket(1, 0, 10), ticket(2, 10)],
        [desk()],
        {1: (0, "1"), 2: (10, "1")},
        id="a ticket issued as the counter gets free is called at once",
    ),
    pytest.param(
        [ticket(1, 0, 20), ticket(2, 5)],
        [desk("1", (1,), False, (0, 10))],
        {1: (0, "1"), 2: (None, None)},
        id="a closing counter finishes its ticket and calls nobody after",
    ),
    pytest.param(
        [ticket(1, 0, 20), ticket(2, 5)],
        [desk("1", (1,), False, (0, 10), (30, 60))],
        {1: (0, "1"), 2: (30, "1")},
        id="after a pause, the counter calls again when it reopens",
    ),
    pytest.param(
        [Arrival(1, "general", 1, m(0), 10, after=2), ticket(2, 1), ticket(3, 2)],
        [desk("1"), desk("2", (1,), False, (11, 60))],
        {1: (0, "1"), 2: (11, "2"), 3: (12, "1")},
        id="the short pause after a ticket keeps its counter busy, whichever counter calls it",
    ),
    pytest.param(
        [ticket(1, 0), ticket(2, 1)],
        [desk("1", (1,), False, (20, 60))],
        {1: (20, "1"), 2: (25, "1")},
        id="tickets wait for the counter to open",
    ),
    pytest.param(
        [ticket(1, 0, 10), ticket(2, 1, service=3)],
        [desk()],
        {1: (0, "1"), 2: (None, None)},
        id="a service nobody serves is never called",
    ),
]


@pytest.mark.parametrize(("arrivals", "desks", "expected"), CASES)
def test_replay_calls_by_the_rule(arrivals: list[Arrival], desks: list[Desk], expected: dict) -> None:
    assert called(replay(arrivals, desks, RULE)) == expected


def test_the_enterprise_window_prefers_enterprise_tickets() -> None:
    # At 30 the walk-in has 30 points and the enterprise ticket 20 + 5: an ordinary counter
    # calls the walk-in first, the enterprise window the enterprise ticket.
    arrivals = [ticket(1, 0, 30), ticket(2, 0), ticket(3, 25, channel="enterprise")]
    assert called(replay(arrivals, [desk("1", (1,), False)], RULE)) == {1: (0, "1"), 2: (30, "1"), 3: (35, "1")}
    assert called(replay(arrivals, [desk("1", (1,), True)], RULE)) == {1: (0, "1"), 3: (30, "1"), 2: (35, "1")}


def test_the_replay_calls_as_next_ticket_would() -> None:
    """On a random busy day with every channel, each call is walkins.rules.next_ticket's
    choice among the tickets waiting at that moment (those called at the same moment by a
    counter earlier in the plan are gone)."""
    rnd = random.Random(5)
    channels = list(RULE.weights)
    arrivals = sorted(
        (
            Arrival(
                n,
                channel := rnd.choice(channels),
                rnd.choice([1, 2, 3]),
                issued := m(rnd.uniform(0, 240)),
                rnd.uniform(3, 15),
                issued + timedelta(minutes=rnd.uniform(-5, 30)) if channel == "appointment" else None,
            )
            for n in range(1, 201)
        ),
        key=lambda arrival: arrival.issued_at,
    )
    desks = [
        desk("1", (1, 2), True),
        desk("2", (1, 2, 3)),
        desk("3", (3,), False, (30, 120), (150, 300)),
        desk("4", (2,)),
    ]
    calls = replay(arrivals, desks, RULE)
    order: dict[str | None, int] = {d.id: n for n, d in enumerate(desks)}
    done = sorted((c for c in calls.values() if c.called_at is not None), key=lambda c: (c.called_at, order[c.desk_id]))
    assert len(done) > 150
    taken: set[int] = set()
    by_id = {arrival.id: arrival for arrival in arrivals}
    for call in done:
        assert call.called_at is not None
        counter = desks[order[call.desk_id]]
        waiting = [
            rules.Waiting(a.id, a.channel, a.service_id, a.issued_at, a.due_at)
            for a in arrivals
            if a.issued_at <= call.called_at and a.id not in taken
        ]
        best = rules.next_ticket(
            waiting, call.called_at, RULE, services=counter.services, enterprise_window=counter.enterprise_window
        )
        assert best is not None and best.id == call.ticket_id
        assert counter.is_open(call.called_at)
        taken.add(call.ticket_id)
    # A counter is busy with one ticket at a time, for the ticket's minutes.
    for d in desks:
        mine = [c for c in done if c.desk_id == d.id]
        for before, after in pairwise(mine):
            assert before.called_at is not None and after.called_at is not None
            assert after.called_at >= before.called_at + timedelta(minutes=by_id[before.ticket_id].minutes)


# --- laws that hold whatever the day --------------------------------------------------------

days = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=300),
        st.floats(min_value=0.5, max_value=20),
        st.sampled_from(list(RULE.weights)),
    ),
    min_size=1,
    max_size=60,
)


def arrivals_of(day: list[tuple[float, float, str]]) -> list[Arrival]:
    return sorted(
        (ticket(n, issued, minutes, channel) for n, (issued, minutes, channel) in enumerate(day, start=1)),
        key=lambda arrival: (arrival.issued_at, arrival.id),
    )


@settings(max_examples=150, deadline=None)
@given(days)
def test_one_counter_without_priorities_calls_first_come_first_served(day: list[tuple[float, float, str]]) -> None:
    arrivals = arrivals_of(day)
    calls = replay(arrivals, [desk()], FLAT)
    moments = [calls[arrival.id].called_at for arrival in arrivals]
    assert all(moment is not None for moment in moments)
    assert moments == sorted(moments)  # type: ignore[type-var]
    for arrival in arrivals:
        wait = calls[arrival.id].wait_minutes
        assert wait is not None and wait >= 0


@settings(max_examples=150, deadline=None)
@given(days, st.integers(min_value=1, max_value=4))
def test_one_more_counter_never_raises_a_wait_when_first_come_first_served(
    day: list[tuple[float, float, str]], counters: int
) -> None:
    arrivals = arrivals_of(day)
    fewer = replay(arrivals, [desk(str(n)) for n in range(counters)], FLAT)
    more = replay(arrivals, [desk(str(n)) for n in range(counters + 1)], FLAT)
    for arrival in arrivals:
        before, after = fewer[arrival.id].wait_minutes, more[arrival.id].wait_minutes
        assert before is not None and after is not None and after <= before + 1e-9
    mean_more = summarize(((a.issued_at, more[a.id].wait_minutes) for a in arrivals), SHANGHAI).mean
    mean_fewer = summarize(((a.issued_at, fewer[a.id].wait_minutes) for a in arrivals), SHANGHAI).mean
    assert mean_more is not None and mean_fewer is not None and mean_more <= mean_fewer + 1e-9


@settings(max_examples=100, deadline=None)
@given(days, st.floats(min_value=0, max_value=200), st.floats(min_value=1, max_value=200))
def test_waits_are_never_negative_and_calls_fall_in_open_hours(
    day: list[tuple[float, float, str]], opens: float, length: float
) -> None:
    arrivals = arrivals_of(day)
    counters = [desk("1", (1,), True, (opens, opens + length)), desk("2", (1,), False, (0, 60), (90, 120))]
    calls = replay(arrivals, counters, RULE)
    assert set(calls) == {arrival.id for arrival in arrivals}
    for call in calls.values():
        if call.called_at is None:
            assert call.wait_minutes is None and call.desk_id is None
            continue
        assert call.wait_minutes is not None and call.wait_minutes >= 0
        assert next(c for c in counters if c.id == call.desk_id).is_open(call.called_at)


# --- the figures -------------------------------------------------------------------------------


def test_summary_of_waits() -> None:
    waits = [(m(0), 10.0), (m(10), 20.0), (m(30), None), (m(65), 5.0), (m(70), 0.0), (m(125), None)]
    summary = summarize(waits, SHANGHAI)
    assert (summary.mean, summary.p90, summary.max) == (8.75, 20.0, 20.0)
    assert (summary.served, summary.unserved) == (4, 2)
    assert summary.by_hour == {9: 15.0, 10: 2.5, 11: None}
    assert summary.arrivals_by_hour == {9: 3, 10: 2, 11: 1}


@pytest.mark.parametrize(
    ("waits", "p90"),
    [([1.0], 1.0), ([float(n) for n in range(1, 11)], 9.0), ([float(n) for n in range(1, 12)], 10.0), ([], None)],
)
def test_p90_by_nearest_rank(waits: list[float], p90: float | None) -> None:
    assert summarize(((NINE, wait) for wait in waits), SHANGHAI).p90 == p90


def test_summary_of_nobody() -> None:
    summary = summarize([], SHANGHAI)
    assert (summary.mean, summary.p90, summary.max, summary.served, summary.unserved) == (None, None, None, 0, 0)


def test_a_busy_day_replays_in_well_under_two_seconds() -> None:
    """600 tickets of every channel and 6 services over 7.5 hours, 12 counters with a lunch
    break each (about 100 ms on the development machine)."""
    rnd = random.Random(1)
    arrivals = sorted(
        (
            ticket(n, rnd.uniform(0, 450), rnd.uniform(4, 14), rnd.choice(list(RULE.weights)), rnd.randint(1, 6))
            for n in range(1, 601)
        ),
        key=lambda arrival: arrival.issued_at,
    )
    lunch = [rnd.uniform(180, 240) for _ in range(12)]
    desks = [
        desk(str(n), tuple(rnd.sample(range(1, 7), 4)), n == 0, (0, lunch[n]), (lunch[n] + 45, 480)) for n in range(12)
    ]
    started = clock.perf_counter()
    calls = replay(arrivals, desks, RULE)
    assert clock.perf_counter() - started < 2
    assert sum(call.called_at is not None for call in calls.values()) > 500
