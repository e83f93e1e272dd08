"""The displays reuse an office's queue figures while its queue is as it was, and never show
a stale count: any ticket or counter change is a new state (settings.DISPLAY_FIGURES_REUSE_SECONDS)."""

from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client

from tests.factories import walk_in_ticket
from tests.walkins.conftest import NOW
from walkins import selectors, services

pytestmark = pytest.mark.django_db


@pytest.fixture
def reuse(settings):
    settings.DISPLAY_FIGURES_REUSE_SECONDS = 30
    selectors._reused.figures.clear()
    yield
    selectors._reused.figures.clear()


def waiting_on_the_api() -> int:
    return sum(line["count"] for line in Client().get("/api/v1/offices/XH/queue/").json()["waiting"])


def test_figures_are_reused_until_the_queue_changes_or_they_are_old(office, passport, counters, clerks, reuse) -> None:
    clock = [NOW]
    with (
        mock.patch("django.utils.timezone.now", side_effect=lambda: clock[0]),
        mock.patch.object(selectors, "_queue_lines", wraps=selectors._queue_lines) as computed,
    ):
        for _ in range(2):
            services.ticket_issue(office=office, service=passport, channel="general", by=clerks[0])
        assert waiting_on_the_api() == 2
        clock[0] += timedelta(seconds=20)
        assert waiting_on_the_api() == 2
        assert computed.call_count == 1  # nothing changed: the same figures
        services.counter_open(counter=counters[0], by=clerks[0])
        services.ticket_call_next(counter=counters[0], by=clerks[0])
        assert waiting_on_the_api() == 1  # a call is a new state: the count is never stale
        assert computed.call_count == 2
        services.ticket_park(counter=counters[0], by=clerks[0])
        waiting_on_the_api()
        assert computed.call_count == 3
        clock[0] += timedelta(seconds=31)
        waiting_on_the_api()
        assert computed.call_count == 4  # too old: the waits move with time


def test_without_reuse_every_read_computes(office, passport, counters, clerks) -> None:
    services.ticket_issue(office=office, service=passport, channel="general", by=clerks[0], now=NOW)
    with mock.patch.object(selectors, "_queue_lines", wraps=selectors._queue_lines) as computed:
        selectors.queue_lines(office, NOW)
        selectors.queue_lines(office, NOW)
    assert computed.call_count == 2


def test_every_waiting_ticket_s_wait_comes_from_one_replay_and_matches_its_own(
    office, passport, endorsement, counters, clerks, reuse
) -> None:
    """A ticket's page polls: the waits of all the office's waiting tickets are computed
    together once, and each is the wait computed for that ticket alone."""
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        services.counter_open(counter=counters[0], by=clerks[0])
        tickets = [
            walk_in_ticket(office=office, service=service, channel=channel, by=clerks[0])
            for service, channel in [(passport, "general"), (endorsement, "green"), (passport, "student")] * 3
        ]
        services.ticket_call_next(counter=counters[0], by=clerks[0])
        waiting = [ticket for ticket in tickets if ticket.pk != tickets[1].pk]  # green goes first
        alone = [selectors.estimated_wait_minutes(ticket, NOW) for ticket in waiting]
        with mock.patch.object(selectors, "_waits_of_waiting", wraps=selectors._waits_of_waiting) as together:
            places = [selectors.place_of(ticket, NOW) for ticket in waiting]
        assert together.call_count == 1
        assert [place.estimated_wait_minutes for place in places] == alone
        assert [place.ahead for place in places] == [selectors.ahead_of(ticket, NOW) for ticket in waiting]
