"""Calling with real threads on PostgreSQL: every counter of an office calls at once until the
queue is empty; no ticket is called twice, none is lost, and each call follows the rule."""

import random
import threading
from collections import Counter as Tally
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token

from bureau.models import Counter, Office, Service
from tests.factories import OfficeFactory, ServiceFactory, clerk
from tests.walkins.conftest import NOW
from walkins import rules, selectors, services
from walkins.models import PREFIXES, Ticket, TicketEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

COUNTERS = 16
TICKETS = 320
STEP = timedelta(minutes=1, seconds=30)  # the office's clock moves this much between rounds
CHANNELS = {"general": 50, "green": 8, "student": 8, "enterprise": 12, "emergency": 4, "appointment": 18}


@dataclass
class Hall:
    office: Office
    counters: list[Counter]
    clerks: list[User]
    rule: rules.CallingRule


def open_hall(counters: int) -> Hall:
    """An office whose every counter serves every service, window 1 the enterprise window, each
    counter open and staffed by its own clerk."""
    office = OfficeFactory.create(code="XH")
    offered = [
        ServiceFactory.create(document=d, business=b)
        for d, b in (("passport", "first"), ("hk_macao", "endorsement"), ("taiwan", "first"))
    ]
    hall = Hall(office, [], [], selectors.calling_rule(selectors.queue_settings(office)))
    for number in range(1, counters + 1):
        counter = Counter.objects.create(office=office, number=number, enterprise_window=number == 1)
        counter.services.set(offered)
        staff = clerk(office, username=f"clerk-{number}")
        services.counter_open(counter=counter, by=staff, now=NOW - timedelta(hours=2))
        hall.counters.append(counter)
        hall.clerks.append(staff)
    return hall


def fill_queue(hall: Hall, count: int, seed: int) -> list[Ticket]:
    """`count` waiting tickets of mixed channels and services, issued over the last 100
    minutes; appointments are due from 20 minutes ago to 40 minutes from now, so tickets
    cross the max wait and reach their slot time while the counters call."""
    chance = random.Random(seed)
    offered = list(Service.objects.all())
    numbers: Tally[str] = Tally()
    rows = []
    for _ in range(count):
        channel = chance.choices(list(CHANNELS), weights=list(CHANNELS.values()))[0]
        issued = NOW - timedelta(minutes=chance.uniform(0, 100))
        numbers[channel] += 1
        rows.append(
            Ticket(
                office=hall.office,
                day=selectors.local_day(NOW),
                service=chance.choice(offered),
                channel=channel,
                number=f"{PREFIXES[channel]}{numbers[channel]:03d}",
                issued_at=issued,
                base_key=rules.base_key(channel, issued, hall.rule),
                due_at=NOW + timedelta(minutes=chance.uniform(-20, 40)) if channel == "appointment" else None,
            )
        )
    return Ticket.objects.bulk_create(rows)


@dataclass
class Call:
    counter: Counter
    got: int | None
    heads: list[int]  # the tier heads this call locked: what a counter calling beside it skipped


@dataclass
class Rounds:
    calls: dict[int, list[Call]] = field(default_factory=lambda: defaultdict(list))
    errors: list[BaseException] = field(default_factory=list)


class TierSpy:
    """Wraps a tier's query to record the row each call locked at its head."""

    def __init__(self, query: Any, locked: list[int]) -> None:
        self.query, self.locked = query, locked

    def select_for_update(self, **kwargs: Any) -> "TierSpy":
        return TierSpy(self.query.select_for_update(**kwargs), self.locked)

    def first(self) -> Ticket | None:
        row = self.query.first()
        if row is not None:
            self.locked.append(row.pk)
        return row


def call_until_empty(hall: Hall) -> Rounds:
    """Every counter calls at the same moment (a barrier), round after round, each round a
    STEP later on the office's clock, until a round where no counter got a ticket."""
    rounds = Rounds()
    barrier = threading.Barrier(len(hall.counters), timeout=60)
    lock = threading.Lock()
    heads = threading.local()
    real_candidates = selectors.next_candidates

    def spied(*args: Any, **kwargs: Any) -> list[TierSpy]:
        return [TierSpy(tier, heads.locked) for tier in real_candidates(*args, **kwargs)]

    def work(counter: Counter, staff: User) -> None:
        try:
            for number in range(TICKETS + 2):
                barrier.wait()
                heads.locked = []
                got = services.ticket_call_next(counter=counter, by=staff, now=NOW + number * STEP)
                with lock:
                    rounds.calls[number].append(Call(counter, got.pk if got else None, heads.locked))
                barrier.wait()
                if all(call.got is None for call in rounds.calls[number]):
                    return
        except Exception as exc:  # noqa: BLE001 - collected, and the test asserts there are none
            rounds.errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    with mock.patch.object(selectors, "next_candidates", spied):
        threads = [threading.Thread(target=work, args=pair) for pair in zip(hall.counters, hall.clerks, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return rounds


def order(ticket: Ticket, now: datetime, rule: rules.CallingRule, counter: Counter) -> tuple[object, ...]:
    return rules.call_order(selectors.as_waiting(ticket), now, rule, enterprise_window=counter.enterprise_window)


def test_sixteen_counters_calling_at_once_empty_the_queue_once_each_by_the_rule() -> None:
    hall = open_hall(COUNTERS)
    tickets = {t.pk: t for t in fill_queue(hall, TICKETS, seed=8)}
    rounds = call_until_empty(hall)
    assert not rounds.errors, rounds.errors

    # None called twice, none lost: every ticket was called once and served once.
    events = TicketEvent.objects.filter(ticket__in=tickets)
    assert Tally(events.filter(action="called").values_list("ticket_id", flat=True)) == dict.fromkeys(tickets, 1)
    assert Tally(events.filter(action="completed").values_list("ticket_id", flat=True)) == dict.fromkeys(tickets, 1)
    assert set(Ticket.objects.values_list("status", flat=True)) == {Ticket.Status.COMPLETED}
    got = [call.got for calls in rounds.calls.values() for call in calls if call.got is not None]
    assert sorted(got) == sorted(tickets)
    assert len(rounds.calls) < TICKETS  # the counters shared the work: rounds, not one by one

    # A counter never held two tickets: its events go called, completed, called, completed ...
    for counter in hall.counters:
        trail = list(events.filter(counter=counter).order_by("id").values_list("action", "ticket_id"))
        assert [action for action, _ in trail] == ["called", "completed"] * (len(trail) // 2), counter
        assert all(trail[i][1] == trail[i + 1][1] for i in range(0, len(trail), 2)), counter

    # Each call took the best ticket by the rule at that moment, but for those a counter
    # calling beside it held locked (skip_locked): no better ticket was left behind that no
    # other counter of the same round had locked.
    waiting = dict(tickets)
    skipped = 0
    for number in sorted(rounds.calls):
        now = NOW + number * STEP
        calls = rounds.calls[number]
        for call in calls:
            held_by_others = {pk for other in calls if other is not call for pk in other.heads}
            taken_beside = {other.got for other in calls if other is not call}
            floor = order(waiting[call.got], now, hall.rule, call.counter) if call.got else None
            better = [
                pk
                for pk, ticket in waiting.items()
                if pk != call.got and (floor is None or order(ticket, now, hall.rule, call.counter) > floor)
            ]
            unexplained = [pk for pk in better if pk not in held_by_others and pk not in taken_beside]
            assert not unexplained, (number, call.counter.number, [tickets[pk].number for pk in unexplained])
            skipped += sum(1 for pk in better if pk not in taken_beside)
        for call in calls:
            waiting.pop(call.got, None)  # type: ignore[arg-type]
    assert not waiting
    print(f"{len(rounds.calls)} rounds; better tickets skipped because another counter held them: {skipped}")


def _call_over_http(counter: Counter, token: str, barrier: threading.Barrier, statuses: list[int]) -> None:
    try:
        client = Client(headers={"authorization": f"Token {token}"})
        barrier.wait()
        statuses.append(client.post(f"/api/v1/counters/{counter.pk}/call-next/").status_code)
    finally:
        connection.close()


def test_two_counters_calling_at_the_same_moment_for_one_ticket_one_gets_it_the_other_204() -> None:
    hall = open_hall(2)
    tokens = [Token.objects.get_or_create(user=staff)[0].key for staff in hall.clerks]
    passport = Service.objects.get(code="passport-first")
    for attempt in range(8):
        services.ticket_issue(office=hall.office, service=passport, channel="general", by=hall.clerks[0])
        barrier = threading.Barrier(2, timeout=30)
        statuses: list[int] = []

        threads = [
            threading.Thread(target=_call_over_http, args=(counter, token, barrier, statuses))
            for counter, token in zip(hall.counters, tokens, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200, 204], attempt
        assert Ticket.objects.filter(status=Ticket.Status.CALLED).count() == 1, attempt
    assert TicketEvent.objects.filter(action="called").count() == 8
