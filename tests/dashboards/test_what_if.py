"""The supervisors' "what if" (bureau.dashboards.whatif and its page): a real day made
through the real services (tickets issued, counters opened and closed, clerks calling the
next ticket as they finish, with pauses, people who do not come, and idle clerks who look
again every minute) is replayed with its real counters, ticket by ticket, and with more."""

import heapq
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import count
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bureau.dashboards import replay, whatif
from bureau.models import Counter, Office, Service
from tests.factories import OfficeFactory, ServiceFactory, clerk, supervisor, walk_in_ticket
from walkins import services
from walkins.models import Ticket

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 12, 2)  # a Wednesday
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI)  # the page is opened the day after
URL = "/dashboard/what-if/"


def at(hour: int, minute: int = 0, second: float = 0) -> datetime:
    return datetime.combine(DAY, time(hour, minute), tzinfo=SHANGHAI) + timedelta(seconds=second)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[mock.MagicMock]:
    with mock.patch("django.utils.timezone.now", return_value=NOW) as now:
        yield now


# --- a real day ------------------------------------------------------------------------------


@dataclass
class Hall:
    office: Office
    passport: Service
    endorsement: Service
    counters: list[Counter]
    clerks: list[User]


@pytest.fixture
def hall(db: None) -> Hall:
    """Window 1 serves both services; window 2, the enterprise window, passports only;
    window 3 both."""
    office = OfficeFactory.create(code="XH")
    passport = ServiceFactory.create(code="passport-first")
    endorsement = ServiceFactory.create(code="hk-macao-endorsement", document="hk_macao", business="endorsement")
    one = Counter.objects.create(office=office, number=1)
    one.services.set([passport, endorsement])
    two = Counter.objects.create(office=office, number=2, enterprise_window=True)
    two.services.set([passport])
    three = Counter.objects.create(office=office, number=3)
    three.services.set([passport, endorsement])
    clerks = [clerk(office, username=f"clerk-{n}") for n in (1, 2, 3)]
    return Hall(office, passport, endorsement, [one, two, three], clerks)


@dataclass
class Desk:
    counter: Counter
    clerk: User
    opens: datetime
    closes: datetime
    current: Ticket | None = None
    outcome: str = "served"  # of the current ticket: served, paused (a pause after it), no_show
    pause: timedelta = field(default_factory=timedelta)


POLL = timedelta(minutes=1)  # an idle clerk looks at the queue again this often


def waiting_for(counter: Counter, now: datetime) -> bool:
    return Ticket.objects.filter(
        office=counter.office_id, status=Ticket.Status.WAITING, service__in=counter.services.all(), issued_at__lte=now
    ).exists()


def run_day(
    hall: Hall,
    *,
    tickets: int,
    seed: int = 7,
    plan: list[tuple[int, int]] | None = None,
    gaps: tuple[float, float] | None = None,
) -> None:
    """A day through the real services: `tickets` walk-ins from 09:00 to 11:30 (general,
    enterprise and green channel; passports and endorsements); the counters open and close
    at the times of `plan` (minutes after 09:00 and before 12:30: window 2 closes early) and
    each clerk, done with a ticket, calls the next one at once (call next), or sometimes
    finishes it and pauses for 2-5 minutes first, or marks someone who does not come after
    1-2 minutes, or calls someone again who is slow to come; a clerk with nobody to call
    looks again every minute. Service times vary from 3 to 12 minutes. With `gaps` (in
    seconds), a clerk who would call the next one at once finishes the ticket and calls
    that many seconds later instead."""
    rnd = random.Random(seed)
    plan = plan or [(0, 210), (20, 100), (60, 210)]
    desks = [
        Desk(counter, person, at(9) + timedelta(minutes=o, seconds=7 * n), at(9) + timedelta(minutes=c, seconds=3 * n))
        for n, (counter, person, (o, c)) in enumerate(zip(hall.counters, hall.clerks, plan, strict=True))
    ]
    order = count()
    events: list[tuple[datetime, int, str, int]] = []  # (moment, order, what, ticket or desk)
    for n in range(tickets):
        moment = at(9) + timedelta(seconds=rnd.uniform(0, 150 * 60))
        heapq.heappush(events, (moment, next(order), "issue", n))
    for n, desk in enumerate(desks):
        heapq.heappush(events, (desk.opens, next(order), "open", n))
    while events:
        now, _, kind, n = heapq.heappop(events)
        if kind == "issue":
            walk_in_ticket(
                office=hall.office,
                service=hall.passport if rnd.random() < 0.6 else hall.endorsement,
                channel=rnd.choices(["general", "enterprise", "green"], weights=[7, 2, 1])[0],
                by=hall.clerks[0],
                now=now,
            )
            continue
        desk = desks[n]
        if kind == "recall":
            services.ticket_recall(counter=desk.counter, by=desk.clerk, now=now)
            continue
        if kind == "open":
            services.counter_open(counter=desk.counter, by=desk.clerk, now=now)
        elif desk.current is not None:  # done with the current ticket
            if desk.outcome == "no_show":
                services.ticket_no_show(counter=desk.counter, by=desk.clerk, now=now)
                desk.current = None
            elif desk.outcome == "paused" or now >= desk.closes:
                services.ticket_complete(counter=desk.counter, by=desk.clerk, now=now)
                desk.current = None
                if desk.outcome == "paused" and now < desk.closes:
                    heapq.heappush(events, (min(now + desk.pause, desk.closes), next(order), "desk", n))
                    continue
            # else: call next below completes it
        if now >= desk.closes:
            services.counter_close(counter=desk.counter, by=desk.clerk, now=now)
            continue
        if desk.current is None and not waiting_for(desk.counter, now):  # a glance at the queue
            heapq.heappush(events, (min(now + POLL, desk.closes), next(order), "desk", n))
            continue
        called = services.ticket_call_next(counter=desk.counter, by=desk.clerk, now=now)
        desk.current = called
        if called is None:
            heapq.heappush(events, (min(now + POLL, desk.closes), next(order), "desk", n))
            continue
        luck = rnd.random()
        desk.outcome = "no_show" if luck < 0.1 else "paused" if luck < 0.25 else "served"
        minutes = rnd.uniform(1, 2) if desk.outcome == "no_show" else rnd.uniform(3, 12)
        desk.pause = timedelta(minutes=rnd.uniform(2, 5))
        if gaps is not None and desk.outcome == "served":
            desk.outcome, desk.pause = "paused", timedelta(seconds=rnd.uniform(*gaps))
        heapq.heappush(events, (now + timedelta(minutes=minutes), next(order), "desk", n))
        if desk.outcome == "served" and rnd.random() < 0.15:  # not at the window yet: called again
            heapq.heappush(events, (now + timedelta(seconds=30), next(order), "recall", n))


def replayed_as_it_was(office: Office) -> tuple[whatif.RealDay, dict[int, replay.Call]]:
    real = whatif.real_day(office, DAY)
    return real, replay.replay(real.arrivals, whatif.real_plan(real), real.rule)


ONE_SECOND = 1 / 60  # minutes


@pytest.mark.parametrize("seed", [7, 11])
def test_replay_with_the_real_counters_gives_each_ticket_its_real_wait(hall: Hall, seed: int) -> None:
    run_day(hall, tickets=40, seed=seed)
    real, calls = replayed_as_it_was(hall.office)
    # The day had what makes replaying it hard: waits, pauses, people not coming, recalls.
    statuses = set(Ticket.objects.values_list("status", flat=True))
    assert {Ticket.Status.COMPLETED, Ticket.Status.NO_SHOW} <= statuses
    assert Ticket.objects.filter(recalls__gt=0).exists()
    assert max(wait for wait in real.real_waits.values() if wait is not None) > 15
    assert len(real.arrivals) == 40
    for arrival in real.arrivals:
        wait, replayed = real.real_waits[arrival.id], calls[arrival.id].wait_minutes
        assert (wait is None) == (replayed is None), arrival.id
        if wait is not None and replayed is not None:
            assert abs(wait - replayed) <= ONE_SECOND, (arrival.id, wait, replayed)
    comparison = whatif.compare(real, whatif.real_plan(real))
    assert comparison.mean_abs_error is not None and comparison.mean_abs_error <= ONE_SECOND
    assert comparison.as_was.mean == pytest.approx(comparison.real.mean, abs=ONE_SECOND)
    assert comparison.as_was.p90 == pytest.approx(comparison.real.p90, abs=ONE_SECOND)


def test_real_counters_are_read_from_their_shifts(hall: Hall) -> None:
    run_day(hall, tickets=40)
    real = whatif.real_day(hall.office, DAY)
    one, two, three = real.counters
    assert (one.number, one.services, one.enterprise_window) == (1, {hall.passport.pk, hall.endorsement.pk}, False)
    assert (two.services, two.enterprise_window) == ({hall.passport.pk}, True)
    assert one.opens == at(9) and two.opens == at(9, 20, 7) and three.opens == at(10, 0, 14)
    # Window 2 closes after 10:40 once done with its ticket; the others at 12:30.
    assert two.closes is not None and at(10, 40, 3) <= two.closes < at(10, 55)
    assert one.closes == at(12, 30) and three.closes == at(12, 30, 6)
    # It takes tickets within its shift only.
    for counter in real.counters:
        assert all(
            known_moment(counter.opens) <= start < end <= known_moment(counter.closes) for start, end in counter.open
        )


def test_counters_calling_at_the_same_moment_call_in_the_order_they_really_did(hall: Hall) -> None:
    """Window 2 (passports only) and then window 1 call at the very same moment, as times
    to the second have it: window 2 takes the first passport, window 1 the second and then
    an endorsement at once. Replayed in the order of the plan, window 1 would take the first
    passport (a long one) and keep the endorsement waiting."""
    one, two, _three = hall.counters
    first, second, _third = hall.clerks

    def issue(service: Service, minute: int, second: int = 0) -> Ticket:
        return walk_in_ticket(
            office=hall.office, service=service, channel="general", by=first, now=at(9, minute, second)
        )

    services.counter_open(counter=one, by=first, now=at(9))
    services.counter_open(counter=two, by=second, now=at(9))
    a, b = issue(hall.passport, 0), issue(hall.passport, 0, 5)
    assert services.ticket_call_next(counter=two, by=second, now=at(9, 1)) == a
    assert services.ticket_call_next(counter=one, by=first, now=at(9, 1)) == b
    c = issue(hall.endorsement, 2)
    assert services.ticket_call_next(counter=one, by=first, now=at(9, 3)) == c
    services.ticket_complete(counter=one, by=first, now=at(9, 5))
    services.ticket_complete(counter=two, by=second, now=at(9, 10))
    services.counter_close(counter=one, by=first, now=at(9, 15))
    services.counter_close(counter=two, by=second, now=at(9, 15))

    real, calls = replayed_as_it_was(hall.office)
    assert real.real_waits == {a.pk: 1.0, b.pk: 55 / 60, c.pk: 1.0}
    for ticket_id, wait in real.real_waits.items():
        assert calls[ticket_id].wait_minutes == pytest.approx(wait, abs=1e-6), ticket_id
    assert calls[a.pk].desk_id == str(two.pk) and calls[b.pk].desk_id == calls[c.pk].desk_id == str(one.pk)


def test_a_ticket_another_counter_calls_as_one_is_done_stays_with_that_counter(hall: Hall) -> None:
    """Window 1 is done with its ticket at the very moment window 3 calls the one waiting,
    and calls the next arrival only a little later: replayed, window 1 (first in the plan)
    must not take the ticket window 3 called at that moment."""
    one, _two, three = hall.counters
    first, _second, third = hall.clerks

    def issue(minute: int, second: int = 0) -> Ticket:
        return walk_in_ticket(
            office=hall.office, service=hall.passport, channel="general", by=first, now=at(9, minute, second)
        )

    services.counter_open(counter=one, by=first, now=at(9))
    services.counter_open(counter=three, by=third, now=at(9))
    a, b = issue(0), issue(0)
    services.ticket_call_next(counter=one, by=first, now=at(9, 0, 10))
    services.ticket_call_next(counter=three, by=third, now=at(9, 0, 20))
    c = issue(2)
    services.ticket_complete(counter=one, by=first, now=at(9, 5))
    assert services.ticket_call_next(counter=three, by=third, now=at(9, 5)) == c  # B done, C called at once
    d = issue(5, 30)
    assert services.ticket_call_next(counter=one, by=first, now=at(9, 6)) == d  # a glance at the queue late
    services.ticket_complete(counter=one, by=first, now=at(9, 10))
    services.ticket_complete(counter=three, by=third, now=at(9, 10))
    services.counter_close(counter=one, by=first, now=at(9, 15))
    services.counter_close(counter=three, by=third, now=at(9, 15))

    real, calls = replayed_as_it_was(hall.office)
    assert real.real_waits == {a.pk: 10 / 60, b.pk: 20 / 60, c.pk: 3.0, d.pk: 0.5}
    assert {ticket_id: call.wait_minutes for ticket_id, call in calls.items()} == real.real_waits
    assert calls[c.pk].desk_id == str(three.pk) and calls[d.pk].desk_id == str(one.pk)


def known_moment(value: datetime | None) -> datetime:
    assert value is not None
    return value


def test_more_counters_lower_the_waits_and_fewer_raise_them(hall: Hall) -> None:
    run_day(hall, tickets=40)
    real = whatif.real_day(hall.office, DAY)
    more = whatif.compare(
        real, whatif.plan_with_changes(real, whatif.Changes(extra=2, extra_opens=time(10), extra_closes=time(12, 30)))
    )
    assert known(more.changed.mean) < known(more.real.mean) - 3
    assert known(more.changed.p90) < known(more.real.p90)
    assert known(more.changed.by_hour[10]) < known(more.real.by_hour[10])
    as_was = replay.replay(real.arrivals, whatif.real_plan(real), real.rule)
    extra = replay.replay(
        real.arrivals,
        whatif.plan_with_changes(real, whatif.Changes(extra=2, extra_opens=time(10), extra_closes=time(12, 30))),
        real.rule,
    )
    # Before 10:00, when the extra counters open, every call is as it was.
    early = [call for call in as_was.values() if call.called_at is not None and call.called_at < at(10)]
    assert early and all(extra[call.ticket_id] == call for call in early)
    window_two = real.counters[1].id
    fewer = whatif.compare(
        real, whatif.plan_with_changes(real, whatif.Changes({window_two: whatif.CounterChange(closed=True)}))
    )
    assert known(fewer.changed.mean) > known(fewer.real.mean)
    longer = whatif.compare(
        real, whatif.plan_with_changes(real, whatif.Changes({window_two: whatif.CounterChange(closes=time(12, 30))}))
    )
    assert known(longer.changed.mean) < known(longer.real.mean)


@pytest.mark.parametrize("extra_closes", [time(9, 30), time(12)])
def test_one_counter_more_on_an_overloaded_day_with_short_gaps_lowers_the_waits(hall: Hall, extra_closes: time) -> None:
    # Eight counters, all day, and more people than they can take: everybody waits, and
    # every clerk calls the next one some seconds after finishing. The gaps go with the
    # tickets: they do not cut the counters' hours into the real visits, which in a changed
    # day would leave a counter free but closed, so that one counter more raised the waits.
    for number in range(4, 9):
        counter = Counter.objects.create(office=hall.office, number=number)
        counter.services.set([hall.passport, hall.endorsement])
        hall.counters.append(counter)
        hall.clerks.append(clerk(hall.office, username=f"clerk-{number}"))
    run_day(hall, tickets=250, plan=[(0, 330)] * 8, gaps=(5, 60))
    real = whatif.real_day(hall.office, DAY)
    assert all(wait is not None for wait in real.real_waits.values())
    assert sum(arrival.after > 0 for arrival in real.arrivals) > 150
    more = whatif.compare(
        real, whatif.plan_with_changes(real, whatif.Changes(extra=1, extra_opens=time(9), extra_closes=extra_closes))
    )
    assert known(more.mean_abs_error) < 0.01
    assert known(more.as_was.mean) == pytest.approx(known(more.real.mean), abs=ONE_SECOND)
    assert more.as_was.unserved == more.changed.unserved == 0
    assert known(more.changed.mean) < known(more.as_was.mean)


def known(value: float | None) -> float:
    assert value is not None
    return value


def test_an_unchanged_plan_is_the_real_one(hall: Hall) -> None:
    run_day(hall, tickets=12)
    real = whatif.real_day(hall.office, DAY)
    assert whatif.plan_with_changes(real, whatif.Changes()) == whatif.real_plan(real)


@pytest.mark.parametrize(
    ("opens", "closes", "expected"),
    [
        (None, None, [(9, 12), (13, 17)]),
        (time(8), None, [(8, 12), (13, 17)]),  # earlier: the first stretch starts earlier
        (None, time(18), [(9, 12), (13, 18)]),  # later: the last one goes on
        (time(10), time(16), [(10, 12), (13, 16)]),  # the break is kept
        (time(12, 30), time(14), [(13, 14)]),  # within the break
        (time(8), time(10), [(8, 10)]),
        (time(17, 30), time(18), [(17.5, 18)]),  # after the last: from the last closing on
    ],
)
def test_changed_hours_keep_the_breaks(opens: time | None, closes: time | None, expected: list) -> None:
    def moment(hour: float) -> datetime:
        return at(int(hour), int(hour % 1 * 60))

    real = [(moment(9), moment(12)), (moment(13), moment(17))]
    reshaped = whatif._reshaped(
        real, whatif.at(DAY, opens) if opens else None, whatif.at(DAY, closes) if closes else None
    )
    assert reshaped == tuple((moment(start), moment(end)) for start, end in expected)


@pytest.mark.parametrize("tickets", [3, 30])
def test_the_day_is_read_in_a_fixed_number_of_queries(hall: Hall, tickets: int, django_assert_num_queries) -> None:
    run_day(hall, tickets=tickets)
    whatif.real_day(hall.office, DAY)  # the queue settings exist from now on
    with django_assert_num_queries(6):  # settings, tickets, events, counters, shifts, services
        real = whatif.real_day(hall.office, DAY)
    assert len(real.arrivals) == tickets


# --- the page --------------------------------------------------------------------------------


def page(user: User | None, **params: str):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client.get(URL, params)


def day_params(**more: str) -> dict[str, str]:
    return {"office": "XH", "day": DAY.isoformat(), **more}


def test_the_supervisor_sees_real_and_replayed_waits(hall: Hall) -> None:
    run_day(hall, tickets=40)
    response = page(supervisor(hall.office), **day_params())
    assert response.status_code == 200
    body = response.content.decode()
    comparison = whatif.compare(real := whatif.real_day(hall.office, DAY), whatif.real_plan(real))
    figures = re.search(r'<table class="table" id="what-if-figures">(.*?)</table>', body, re.S)
    assert figures is not None
    cells = re.findall(r'<td class="num">(.*?)</td>', figures.group(1))
    mean = f"{comparison.real.mean:.1f}"
    assert cells[:3] == [mean, mean, mean]  # real, replayed as it was, replayed unchanged
    assert cells[9:12] == ["40", "40", "40"]  # called
    # The hours: a table, and the chart's data beside its canvas.
    assert 'data-chart="what-if-hours"' in body
    chart = re.search(r'<script id="what-if-hours" type="application/json">(.*?)</script>', body, re.S)
    assert chart is not None
    data = json.loads(chart.group(1))
    assert data["type"] == "line" and data["labels"] == ["09:00", "10:00", "11:00"]
    assert [len(d["data"]) for d in data["datasets"]] == [3, 3, 3]
    assert data["datasets"][0]["data"][0] == round(known(comparison.real.by_hour[9]), 1)
    hours = re.search(r'id="what-if-hours-table">(.*?)</table>', body, re.S)
    assert hours is not None and "09:00" in hours.group(1)
    # The counters' real hours, ready to change.
    assert f'name="opens_{hall.counters[0].pk}" value="09:00"' in body
    assert f'name="closes_{hall.counters[0].pk}" value="12:30"' in body


def test_the_page_replays_the_changes_asked_for(hall: Hall) -> None:
    run_day(hall, tickets=40)
    real = whatif.real_day(hall.office, DAY)
    expected = whatif.compare(
        real, whatif.plan_with_changes(real, whatif.Changes(extra=2, extra_opens=time(10), extra_closes=time(12, 30)))
    )
    response = page(supervisor(hall.office), **day_params(extra="2", extra_opens="10:00", extra_closes="12:30"))
    assert response.status_code == 200
    figures = re.search(r'id="what-if-figures">(.*?)</table>', response.content.decode(), re.S)
    assert figures is not None
    cells = re.findall(r'<td class="num">(.*?)</td>', figures.group(1))
    assert cells[2] == f"{expected.changed.mean:.1f}" != cells[0]


def test_counter_times_of_another_day_are_not_carried_over(hall: Hall) -> None:
    run_day(hall, tickets=20)
    closed = f"closed_{hall.counters[0].pk}"
    user = supervisor(hall.office)
    as_was = page(user, **day_params())
    same = page(user, **day_params(plan_for=f"XH/{DAY.isoformat()}", **{closed: "on"}))
    other = page(user, **day_params(plan_for="XH/2026-12-01", **{closed: "on"}))

    def changed_mean(response) -> str:
        return re.findall(r'<td class="num">(.*?)</td>', response.content.decode())[2]

    assert changed_mean(other) == changed_mean(as_was) != changed_mean(same)


def test_a_clerk_is_refused(hall: Hall) -> None:
    assert page(hall.clerks[0], **day_params()).status_code == 403
    assert page(hall.clerks[0]).status_code == 403


def test_anonymous_is_sent_to_log_in(hall: Hall) -> None:
    response = page(None, **day_params())
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_page_takes_get_only(hall: Hall) -> None:
    client = Client()
    client.force_login(supervisor(hall.office))
    assert client.post(URL, day_params()).status_code == 405


def test_an_office_outside_the_supervisor_s_scope_is_refused(hall: Hall) -> None:
    run_day(hall, tickets=5)
    other = OfficeFactory.create(code="GS")
    response = page(supervisor(other), **day_params())
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="error-summary"' in body
    assert "what-if-figures" not in body and hall.office.name not in body


def test_the_form_alone_without_a_day(hall: Hall) -> None:
    response = page(supervisor(hall.office))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'value="2026-12-02"' in body  # yesterday, by default
    assert "what-if-figures" not in body and "error-summary" not in body


@pytest.mark.parametrize(
    "params",
    [
        {"day": "2026-12-03"},  # today
        {"day": "2026-12-04"},  # the future
        {"day": "9999-12-31"},
        {"day": "10000-01-01"},
        {"day": "1999-12-31"},
        {"day": "0001-01-01"},
        {"day": "2026-02-30"},
        {"day": "garbage"},
        {"day": ""},
        {"day": "2026-12-02" * 500},
        {"office": "NOPE"},
        {"office": ""},
        {"office": "XH\x00"},
        {"extra": "-1"},
        {"extra": "999"},
        {"extra": "two"},
        {"extra": "2"},  # no hours
        {"extra": "2", "extra_opens": "12:00", "extra_closes": "10:00"},
        {"extra": "1", "extra_opens": "25:00", "extra_closes": "26:00"},
        {"extra": "1", "extra_opens": "10:00", "extra_closes": "x" * 10000},
        {"opens_COUNTER": "13:00", "closes_COUNTER": "11:00"},
        {"opens_COUNTER": "99:99"},
    ],
)
def test_bad_input_is_a_form_error_never_a_500(hall: Hall, params: dict[str, str]) -> None:
    counter = str(hall.counters[0].pk)
    asked = day_params(plan_for=f"XH/{DAY.isoformat()}")
    asked.update({name.replace("COUNTER", counter): value for name, value in params.items()})
    response = page(supervisor(hall.office), **asked)
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="error-summary"' in body
    assert "what-if-figures" not in body


def test_a_day_without_tickets_says_so(hall: Hall) -> None:
    response = page(supervisor(hall.office), **day_params(day="2026-11-30"))
    assert response.status_code == 200
    assert "what-if-figures" not in response.content.decode()


@pytest.mark.parametrize("tickets", [3, 30])
def test_the_page_s_queries_do_not_grow_with_the_tickets(hall: Hall, tickets: int) -> None:
    run_day(hall, tickets=tickets)
    client = Client()
    client.force_login(supervisor(hall.office))
    client.get(URL, day_params())  # the queue settings exist from now on
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL, day_params(extra="1", extra_opens="10:00", extra_closes="11:00")).status_code == 200
    assert len(queries) == PAGE_QUERIES, [query["sql"] for query in queries]


# Session, user, staff role; the office chosen; the day (whatif.real_day: 6); the offices
# offered (twice: the select reads its first option to decide on `required`).
PAGE_QUERIES = 12
