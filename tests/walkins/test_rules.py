"""The calling rule (SPEC 4): tables and the laws it keeps."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from walkins import rules
from walkins.rules import CallingRule, Waiting

RULE = CallingRule(
    weights={"emergency": 100, "green": 80, "appointment": 60, "enterprise": 20, "student": 10, "general": 0},
    ageing_per_minute=1.0,
    appointment_boost=30,
    max_wait=timedelta(minutes=60),
)
NINE = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 09:00 in Hangzhou


def at(minutes: float) -> datetime:
    return NINE + timedelta(minutes=minutes)


def ticket(n: int, channel: str, issued: float, *, service: int = 1, due: float | None = None) -> Waiting:
    return Waiting(
        id=n, channel=channel, service_id=service, issued_at=at(issued), due_at=None if due is None else at(due)
    )


def called(
    waiting: list[Waiting], now: float, *, services: set[int] | None = None, enterprise: bool = False
) -> int | None:
    found = rules.next_ticket(waiting, at(now), RULE, services=services or {1, 2}, enterprise_window=enterprise)
    return found.id if found else None


@pytest.mark.parametrize(
    ("waiting", "now", "expected", "why"),
    [
        ([ticket(1, "general", 0), ticket(2, "emergency", 5)], 6, 2, "E issued after B is called first"),
        ([ticket(1, "general", 0), ticket(2, "green", 1)], 10, 2, "green before everyone else"),
        ([ticket(1, "appointment", 0), ticket(2, "green", 0)], 10, 2, "green before appointment holders"),
        ([ticket(1, "general", 0), ticket(2, "general", 1)], 10, 1, "same channel: first come, first called"),
        ([ticket(1, "general", 0), ticket(2, "appointment", 50)], 55, 2, "appointment holders before walk-ins"),
        ([ticket(1, "general", 0), ticket(2, "student", 0)], 5, 2, "student session before general"),
        ([ticket(1, "general", 0), ticket(2, "emergency", 5)], 61, 1, "past the max wait: before everyone"),
        ([ticket(1, "general", 0), ticket(2, "general", -5)], 30, 2, "waited longer"),
        (
            [ticket(1, "appointment", 0, due=40), ticket(2, "green", 10)],
            39,
            2,
            "appointment not due: green first",
        ),
        (
            [ticket(1, "appointment", 0, due=40), ticket(2, "green", 10)],
            40,
            1,
            "appointment due: boosted past green",
        ),
        ([ticket(1, "emergency", 0, service=3)], 10, None, "a service the counter does not serve"),
        ([], 10, None, "nobody waits"),
    ],
)
def test_calling_order(waiting: list[Waiting], now: float, expected: int | None, why: str) -> None:
    assert called(waiting, now) == expected, why


def test_the_enterprise_window_takes_enterprise_tickets_first_then_others() -> None:
    waiting = [ticket(1, "emergency", 0), ticket(2, "enterprise", 5)]
    assert called(waiting, 10, enterprise=True) == 2
    assert called(waiting, 10, enterprise=False) == 1
    assert called([ticket(1, "general", 0)], 10, enterprise=True) == 1  # serves others when none wait


def test_past_the_max_wait_even_the_enterprise_window_calls_it_first() -> None:
    assert called([ticket(1, "general", 0), ticket(2, "enterprise", 50)], 61, enterprise=True) == 1


def test_the_stored_key_orders_as_the_score_at_any_moment() -> None:
    a, b = ticket(1, "general", 0), ticket(2, "green", 70)
    for now in (70, 100, 200, 1000):
        by_score = rules.score(a, at(now), RULE) > rules.score(b, at(now), RULE)
        by_key = rules.base_key("general", a.issued_at, RULE) > rules.base_key("green", b.issued_at, RULE)
        assert by_score == by_key


channels = st.sampled_from(sorted(RULE.weights))
tickets = st.lists(
    st.builds(
        lambda n, channel, issued, service, due: ticket(n, channel, issued, service=service, due=due),
        st.integers(1, 10_000),
        channels,
        st.floats(0, 300, allow_nan=False),
        st.integers(1, 3),
        st.one_of(st.none(), st.floats(0, 400, allow_nan=False)),
    ),
    max_size=30,
    unique_by=lambda t: t.id,
)


@settings(max_examples=300, deadline=None)
@given(tickets, st.floats(0, 400, allow_nan=False), st.booleans())
def test_nobody_waits_past_the_max_wait_while_a_counter_that_serves_them_calls(waiting, now, enterprise) -> None:
    """Whenever a counter calls, if some ticket of its services has waited past the max wait,
    the one it calls has too."""
    eligible = [t for t in waiting if t.service_id in {1, 2} and t.issued_at <= at(now)]
    chosen = rules.next_ticket(eligible, at(now), RULE, services={1, 2}, enterprise_window=enterprise)
    if any(rules.is_overdue(t, at(now), RULE) for t in eligible):
        assert chosen is not None and rules.is_overdue(chosen, at(now), RULE)


@settings(max_examples=300, deadline=None)
@given(tickets, st.floats(0, 400, allow_nan=False))
def test_the_ticket_called_has_the_highest_score_of_its_tier(waiting, now) -> None:
    eligible = [t for t in waiting if t.issued_at <= at(now)]
    chosen = rules.next_ticket(eligible, at(now), RULE, services={1, 2, 3})
    if chosen is None:
        assert eligible == []
        return
    tier = [t for t in eligible if rules.is_overdue(t, at(now), RULE) == rules.is_overdue(chosen, at(now), RULE)]
    assert rules.score(chosen, at(now), RULE) >= max(rules.score(t, at(now), RULE) for t in tier) - 1e-6


@settings(max_examples=200, deadline=None)
@given(tickets, st.floats(0, 400, allow_nan=False), st.integers(1, 3))
def test_calling_only_ever_takes_a_ticket_of_the_counters_services(waiting, now, service) -> None:
    chosen = rules.next_ticket(waiting, at(now), RULE, services={service})
    assert chosen is None or chosen.service_id == service
