"""Tickets and counters: every transition and its bad cases."""

import random
from datetime import timedelta
from unittest import mock

import pytest

from bureau.services import Conflict, DomainError, NotAllowed
from tests.factories import OfficeFactory, clerk, staff, walk_in_ticket
from tests.walkins.conftest import NOW
from walkins import rules, selectors, services
from walkins.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def issue(office, service, by, channel="general", minutes=0.0) -> Ticket:
    return walk_in_ticket(office=office, service=service, channel=channel, by=by, now=NOW + timedelta(minutes=minutes))


def test_tickets_are_numbered_per_queue_and_day(office, passport, counters, clerks) -> None:
    numbers = [issue(office, passport, clerks[0], channel).number for channel in ("general", "general", "green")]
    assert numbers == ["B001", "B002", "G001"]
    tomorrow = services.ticket_issue(
        office=office, service=passport, channel="general", by=clerks[0], now=NOW + timedelta(days=1)
    )
    assert tomorrow.number == "B001"


def test_a_counter_calls_by_the_rule_and_call_next_ends_the_current_ticket(office, passport, counters, clerks) -> None:
    walk_in = issue(office, passport, clerks[0], "general", 0)
    green = issue(office, passport, clerks[0], "green", 5)
    services.counter_open(counter=counters[0], by=clerks[0], now=NOW)
    first = services.ticket_call_next(counter=counters[0], by=clerks[0], now=NOW + timedelta(minutes=6))
    assert first is not None and first.pk == green.pk
    second = services.ticket_call_next(counter=counters[0], by=clerks[0], now=NOW + timedelta(minutes=20))
    assert second is not None and second.pk == walk_in.pk
    green.refresh_from_db()
    assert (green.status, green.finished_at) == (Ticket.Status.COMPLETED, NOW + timedelta(minutes=20))
    assert services.ticket_call_next(counter=counters[0], by=clerks[0], now=NOW + timedelta(minutes=30)) is None
    assert Ticket.objects.get(pk=walk_in.pk).status == Ticket.Status.COMPLETED
    actions = list(TicketEvent.objects.filter(ticket=green).values_list("action", "counter__number", "by__username"))
    assert actions == [("issued", None, "clerk-1"), ("called", 1, "clerk-1"), ("completed", 1, "clerk-1")]


def test_calling_at_a_closed_counter_is_refused(office, passport, counters, clerks) -> None:
    issue(office, passport, clerks[0])
    with pytest.raises(Conflict) as refused:
        services.ticket_call_next(counter=counters[0], by=clerks[0], now=NOW)
    assert refused.value.code == "counter_closed"


def test_one_clerk_a_counter_and_one_counter_a_clerk(office, counters, clerks) -> None:
    services.counter_open(counter=counters[0], by=clerks[0], now=NOW)
    assert services.counter_open(counter=counters[0], by=clerks[0], now=NOW).counter == counters[0]  # again: no change
    with pytest.raises(Conflict) as taken:
        services.counter_open(counter=counters[0], by=clerks[1], now=NOW)
    assert taken.value.code == "counter_taken"
    with pytest.raises(Conflict) as busy:
        services.counter_open(counter=counters[1], by=clerks[0], now=NOW)
    assert busy.value.code == "clerk_busy"


def test_nobody_acts_at_a_counter_another_clerk_staffs(office, passport, counters, clerks) -> None:
    issue(office, passport, clerks[0])
    services.counter_open(counter=counters[0], by=clerks[0], now=NOW)
    services.ticket_call_next(counter=counters[0], by=clerks[0], now=NOW)
    for action in (services.ticket_call_next, services.ticket_complete, services.ticket_recall, services.ticket_park):
        with pytest.raises(NotAllowed):
            action(counter=counters[0], by=clerks[1], now=NOW)


def test_a_clerk_of_another_office_is_refused_everywhere(office, passport, counters, clerks) -> None:
    stranger = clerk(OfficeFactory.create(code="GS"))
    with pytest.raises(NotAllowed):
        issue(office, passport, stranger)
    with pytest.raises(NotAllowed):
        services.counter_open(counter=counters[0], by=stranger, now=NOW)


def test_recall_then_missed_past_the_limit(office, passport, counters, clerks) -> None:
    issue(office, passport, clerks[0])
    services.counter_open(counter=counters[0], by=clerks[0], now=NOW)
    services.ticket_call_next(counter=counters[0], by=clerks[0], now=NOW)
    recalls = [services.ticket_recall(counter=counters[0], by=clerks[0], now=NOW) for _ in range(3)]
    assert [(t.recalls, t.status) for t in recalls] == [(1, "called"), (2, "called"), (2, "missed")]
    with pytest.raises(Conflict) as none:
        services.ticket_complete(counter=counters[0], by=clerks[0], now=NOW)
    assert none.value.code == "no_current_ticket"


def test_park_frees_the_counter_and_resume_calls_it_back(office, passport, counters, clerks) -> None:
    first = issue(office, passport, clerks[0], minutes=0)
    issue(office, passport, clerks[0], minutes=1)
    services.counter_open(counter=counters[0], by=clerks[0], now=NOW)
    services.ticket_call_next(counter=counters[0], by=clerks[0], now=NOW)
    assert services.ticket_park(counter=counters[0], by=clerks[0], now=NOW).status == "parked"
    second = services.ticket_call_next(counter=counters[0], by=clerks[0], now=NOW)
    assert second is not None and second.pk != first.pk  # the parked ticket is not called by the rule
    with pytest.raises(Conflict):
        services.ticket_resume(ticket=first, counter=counters[0], by=clerks[0], now=NOW)  # the counter is busy
    services.ticket_complete(counter=counters[0], by=clerks[0], now=NOW)
    resumed = services.ticket_resume(ticket=first, counter=counters[0], by=clerks[0], now=NOW)
    assert (resumed.status, resumed.counter) == ("called", counters[0])


def test_transfer_puts_the_ticket_back_in_its_place_in_the_other_queue(
    office, passport, endorsement, counters, clerks
) -> None:
    moved = issue(office, passport, clerks[0], minutes=0)
    later = issue(office, endorsement, clerks[0], minutes=10)
    services.counter_open(counter=counters[0], by=clerks[0], now=NOW)
    services.ticket_call_next(counter=counters[0], by=clerks[0], now=NOW + timedelta(minutes=11))
    transferred = services.ticket_transfer(counter=counters[0], service=endorsement, by=clerks[0], now=NOW)
    assert (transferred.status, transferred.service, transferred.counter) == ("waiting", endorsement, None)
    again = services.ticket_call_next(counter=counters[0], by=clerks[0], now=NOW + timedelta(minutes=12))
    assert again is not None and again.pk == moved.pk  # it kept its place ahead of `later`
    assert later.pk != again.pk
    with pytest.raises(DomainError):
        services.ticket_transfer(counter=counters[0], service=endorsement, by=clerks[0], now=NOW)  # same service


def test_close_refuses_while_a_ticket_is_open(office, passport, counters, clerks) -> None:
    issue(office, passport, clerks[0])
    services.counter_open(counter=counters[0], by=clerks[0], now=NOW)
    services.ticket_call_next(counter=counters[0], by=clerks[0], now=NOW)
    with pytest.raises(Conflict):
        services.counter_close(counter=counters[0], by=clerks[0], now=NOW)
    services.ticket_complete(counter=counters[0], by=clerks[0], now=NOW)
    services.counter_close(counter=counters[0], by=clerks[0], now=NOW)
    assert selectors.open_shift(counters[0]) is None


@pytest.mark.parametrize("channel", ["appointment", "emergency", "enterprise", "green", "student", "vip"])
def test_triage_gives_only_general_walk_in_tickets(office, passport, counters, clerks, channel) -> None:
    with pytest.raises(DomainError) as refused:
        services.ticket_issue(office=office, service=passport, channel=channel, by=clerks[0])
    assert refused.value.field == "channel"
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize("channel", ["appointment", "general", "vip"])
def test_the_priority_desk_gives_only_priority_tickets(office, passport, counters, clerks, channel) -> None:
    with pytest.raises(DomainError) as refused:
        services.ticket_issue_for_priority(office=office, service=passport, channel=channel, by=clerks[0])
    assert refused.value.field == "channel"
    assert Ticket.objects.count() == 0


def test_a_kiosk_cannot_issue_priority_tickets(office, passport, counters) -> None:
    kiosk = staff("kiosk", office, username="kiosk-xh")
    with pytest.raises(NotAllowed):
        services.ticket_issue_for_priority(office=office, service=passport, channel="green", by=kiosk)


def test_a_service_no_counter_serves_is_refused(office, passport, clerks) -> None:
    with pytest.raises(DomainError) as refused:
        issue(office, passport, clerks[0])
    assert refused.value.code == "not_served"


def test_the_kiosk_issues_in_opening_hours_within_the_quota(office, passport, counters, clerks) -> None:
    kiosk = staff("kiosk", office, username="kiosk-xh")
    figures = selectors.queue_settings(office)
    figures.daily_ticket_quota = 2
    figures.save()
    at = NOW.replace(hour=8, minute=59)
    with pytest.raises(DomainError) as closed:
        services.ticket_issue_at_kiosk(office=office, service=passport, by=kiosk, now=at)
    assert closed.value.code == "closed"
    for minute in (0, 1):
        services.ticket_issue_at_kiosk(office=office, service=passport, by=kiosk, now=NOW + timedelta(minutes=minute))
    with pytest.raises(Conflict) as full:
        services.ticket_issue_at_kiosk(office=office, service=passport, by=kiosk, now=NOW + timedelta(minutes=2))
    assert full.value.code == "quota_reached"
    assert issue(office, passport, clerks[0]).number == "B003"  # a clerk may issue past the quota
    with pytest.raises(NotAllowed):
        services.ticket_issue_at_kiosk(office=office, service=passport, by=clerks[0], now=NOW)


def test_the_day_s_leftovers_are_recorded_as_not_served_once(office, passport, counters, clerks) -> None:
    waiting = issue(office, passport, clerks[0])
    assert services.queues_close_day(now=NOW) == 0  # not before the day is over
    tomorrow = NOW + timedelta(days=1)
    assert services.queues_close_day(now=tomorrow) == 1
    assert services.queues_close_day(now=tomorrow) == 0
    waiting.refresh_from_db()
    assert waiting.status == Ticket.Status.ABANDONED
    assert Ticket.objects.count() == 1  # kept for the day's figures


@pytest.mark.parametrize("seed", range(6))
def test_the_database_calls_what_the_pure_rule_calls(office, passport, endorsement, counters, clerks, seed) -> None:
    """Random queues, random moments: call-next's tiers over the stored key pick the same
    ticket as walkins.rules.next_ticket over every waiting ticket."""
    chance = random.Random(seed)
    for _ in range(25):
        service = chance.choice([passport, endorsement])
        channel = chance.choice(["general", "green", "student"])
        minutes = chance.uniform(0, 90)
        ticket = issue(office, service, clerks[0], channel, minutes)
        if chance.random() < 0.3:
            Ticket.objects.filter(pk=ticket.pk).update(
                channel="appointment", due_at=NOW + timedelta(minutes=minutes + 20)
            )
        if chance.random() < 0.2:
            Ticket.objects.filter(pk=ticket.pk).update(channel="enterprise")
    rule = selectors.calling_rule(selectors.queue_settings(office))
    for ticket in Ticket.objects.all():
        Ticket.objects.filter(pk=ticket.pk).update(base_key=rules.base_key(ticket.channel, ticket.issued_at, rule))
    for counter, clerk_ in zip(counters, clerks, strict=True):
        services.counter_open(counter=counter, by=clerk_, now=NOW)
    now = NOW + timedelta(minutes=95)
    for step in range(20):
        counter, clerk_ = (counters[step % 2], clerks[step % 2])
        waiting = [selectors.as_waiting(t) for t in Ticket.objects.filter(status="waiting")]
        expected = rules.next_ticket(
            waiting,
            now,
            rule,
            services={s.pk for s in counter.services.all()},
            enterprise_window=counter.enterprise_window,
        )
        with mock.patch("django.utils.timezone.now", return_value=now):
            got = services.ticket_call_next(counter=counter, by=clerk_, now=now)
        assert (got.pk if got else None) == (expected.id if expected else None), step
        now += timedelta(minutes=chance.uniform(0, 15))


def test_the_enterprise_window_calls_an_overdue_enterprise_ticket_before_an_overdue_walk_in(
    office, passport, counters, clerks
) -> None:
    """Both past the max wait, the walk-in with the higher score, and a later enterprise
    ticket not overdue: the enterprise window takes the overdue enterprise ticket, as
    walkins.rules.call_order says (one tier of enterprise tickets is enough: they share a
    weight and have no slot time, so the highest key is the earliest)."""
    rule = selectors.calling_rule(selectors.queue_settings(office))
    early = issue(office, passport, clerks[0], "general", 0)
    Ticket.objects.filter(pk=early.pk).update(channel="enterprise")
    walk_in = issue(office, passport, clerks[0], "general", 30)
    later = issue(office, passport, clerks[0], "general", 80)
    Ticket.objects.filter(pk=later.pk).update(channel="enterprise")
    for ticket in Ticket.objects.all():
        Ticket.objects.filter(pk=ticket.pk).update(base_key=rules.base_key(ticket.channel, ticket.issued_at, rule))
    window = counters[1]
    assert window.enterprise_window
    services.counter_open(counter=window, by=clerks[1], now=NOW)
    now = NOW + timedelta(minutes=95)  # the first two are past the 60-minute max wait
    waiting = [selectors.as_waiting(t) for t in Ticket.objects.filter(status="waiting")]
    expected = rules.next_ticket(waiting, now, rule, services={passport.pk}, enterprise_window=True)
    assert expected is not None and expected.id == early.pk
    assert services.ticket_call_next(counter=window, by=clerks[1], now=now) == early
    assert walk_in.status == Ticket.Status.WAITING


def test_the_day_s_open_counters_are_closed_after_it(office, passport, counters, clerks) -> None:
    services.counter_open(counter=counters[0], by=clerks[0], now=NOW)
    services.queues_close_day(now=NOW + timedelta(days=1))
    assert selectors.open_shift(counters[0]) is None


@pytest.mark.parametrize("seed", range(4))
def test_people_ahead_are_those_the_rule_calls_first(office, passport, endorsement, counters, clerks, seed) -> None:
    chance = random.Random(seed)
    tickets = []
    for _ in range(20):
        ticket = issue(
            office, passport, clerks[0], chance.choice(["general", "green", "student"]), chance.uniform(0, 90)
        )
        if chance.random() < 0.3:
            Ticket.objects.filter(pk=ticket.pk).update(due_at=NOW + timedelta(minutes=chance.uniform(0, 120)))
        tickets.append(ticket)
    now = NOW + timedelta(minutes=100)
    rule = selectors.calling_rule(selectors.queue_settings(office))
    waiting = [selectors.as_waiting(t) for t in Ticket.objects.all()]
    for ticket in Ticket.objects.all():
        mine = rules.call_order(selectors.as_waiting(ticket), now, rule, enterprise_window=False)
        expected = sum(1 for w in waiting if rules.call_order(w, now, rule, enterprise_window=False) > mine)
        assert selectors.ahead_of(ticket, now) == expected
