"""The estimated wait (walkins.selectors.estimated_waits): what it does in the situations a
hall goes through, and how close it comes on a simulated morning (tests/walkins/simulation.py;
whole days over several seeds: tests/bench/estimate.py)."""

from datetime import date, timedelta

import pytest

from bureau.models import Counter, Office, Service
from tests.factories import walk_in_ticket
from tests.walkins import simulation
from tests.walkins.conftest import NOW
from walkins import selectors, services
from walkins.models import QueueSettings, Ticket

pytestmark = pytest.mark.django_db

# Measured on this morning (seed 1): 73% within 5 minutes or 25%, 90th-percentile error 18.6
# minutes. The floors leave a little room for a harmless change of the estimate; a change that
# makes it worse fails here.
SHARE_WITHIN_FLOOR = 0.70
P90_ERROR_CEILING = 20.0


def wait_of(ticket: Ticket, minutes_later: float = 0) -> int:
    return selectors.estimated_wait_minutes(ticket, ticket.issued_at + timedelta(minutes=minutes_later))


def issue(office: Office, service: Service, clerks: list, channel: str, minutes_ago: float = 0) -> Ticket:
    return walk_in_ticket(
        office=office, service=service, channel=channel, by=clerks[0], now=NOW - timedelta(minutes=minutes_ago)
    )


def test_a_small_morning_is_estimated_within_the_measured_floor() -> None:
    figures = simulation.simulate(simulation.small_morning(date(2026, 12, 2), seed=1))
    print(figures.report())
    assert len(figures.called) > 100  # the morning was played, every arrival called
    assert len(figures.called) == len(figures.outcomes)
    assert figures.share_within() >= SHARE_WITHIN_FLOOR
    assert figures.p90_error() <= P90_ERROR_CEILING


def test_before_opening_no_counter_calls_until_the_doors_open(office, passport, counters, clerks) -> None:
    early = NOW.replace(hour=8, minute=30)
    tickets = [
        services.ticket_issue(office=office, service=passport, channel="general", by=clerks[0], now=early)
        for _ in range(3)
    ]
    # Both windows serve passports from 9:00, each ticket taking the typical 8 minutes.
    assert [selectors.estimated_wait_minutes(t, early) for t in tickets] == [30, 30, 38]


def test_a_counter_on_a_break_is_expected_back_an_hour_after_it_closed(office, endorsement, counters, clerks) -> None:
    # Window 1 alone serves endorsements; it closed ten minutes ago.
    services.counter_open(counter=counters[0], by=clerks[0], now=NOW - timedelta(hours=1))
    services.counter_close(counter=counters[0], by=clerks[0], now=NOW - timedelta(minutes=10))
    ticket = issue(office, endorsement, clerks, "general")
    assert wait_of(ticket) == 50
    # Once back (the break over), it calls at once.
    services.counter_open(counter=counters[0], by=clerks[0], now=NOW + timedelta(minutes=50))
    assert wait_of(ticket, minutes_later=50) == 0


def test_a_ticket_past_the_max_wait_goes_before_a_higher_score(office, passport, counters, clerks) -> None:
    services.counter_open(counter=counters[0], by=clerks[0], now=NOW - timedelta(hours=2))
    late = issue(office, passport, clerks, "general", minutes_ago=70)  # score 70, past the 60-minute max wait
    green = issue(office, passport, clerks, "green")  # score 80
    assert (wait_of(late, 70), wait_of(green)) == (0, 8)
    QueueSettings.objects.filter(office=office).update(max_wait_minutes=90)  # no longer past it
    assert (wait_of(late, 70), wait_of(green)) == (8, 0)


def test_a_newcomer_waits_longer_the_more_people_are_ahead(office, passport, counters, clerks) -> None:
    services.counter_open(counter=counters[0], by=clerks[0], now=NOW - timedelta(hours=1))
    estimates = []
    for n in range(6):
        ticket = issue(office, passport, clerks, "general", minutes_ago=6 - n)
        estimates.append(selectors.place_of(ticket, NOW).estimated_wait_minutes)
    assert estimates == sorted(estimates)
    assert len(set(estimates)) == len(estimates)
    assert estimates[0] == 0 and estimates[-1] == 5 * 8  # one window, the typical 8 minutes each


@pytest.mark.parametrize(("enterprise_window", "first"), [(True, "enterprise"), (False, "student")])
def test_the_enterprise_window_takes_enterprise_tickets_first(
    office, passport, counters, clerks, enterprise_window, first
) -> None:
    # Window 2 (passports) is the only one open; the student has waited 30 minutes: score 40
    # against the enterprise ticket's 20, first at an ordinary window, second at this one.
    Counter.objects.filter(pk=counters[1].pk).update(enterprise_window=enterprise_window)
    services.counter_open(counter=counters[1], by=clerks[1], now=NOW - timedelta(hours=1))
    student = issue(office, passport, clerks, "student", minutes_ago=30)
    with_priority = services._issue(office=office, service=passport, channel="enterprise", now=NOW, by=clerks[0])
    waits = {"student": wait_of(student, 30), "enterprise": wait_of(with_priority)}
    assert waits[first] == 0
    assert sorted(waits.values()) == [0, 8]


def test_the_replay_files_a_newcomer_past_the_max_wait_at_the_moment_it_crosses_it() -> None:
    """5.51460565 + 60 - 5.51460565 rounds to 59.99999999999999: compared that way, a ticket
    expected at 5.5 minutes was filed again at the same moment, for ever."""
    rule = selectors.calling_rule(QueueSettings())
    replay = selectors._Replay(rule)
    expected = selectors._Queued(id=1, service_id=7, enterprise=False, key=0.0, issued=5.51460565, due=None, minutes=8)
    crossing = expected.issued + 60
    replay._place(expected, crossing)
    assert replay.heaps.keys() == {(7, True, False)}  # past the max wait
    assert replay.changes == []  # and nothing left to change
