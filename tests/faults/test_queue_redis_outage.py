"""Redis stops while the hall works (SPEC 8): checking in, issuing walk-in tickets, opening a
counter and calling go on from PostgreSQL, nothing waits for the cache or the broker, and
the SMS to the applicant next in line is in the outbox for the sweep to send."""

import time
from collections.abc import Callable
from typing import TypeVar

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from stdnum.cn import ric

from bureau.models import Counter, Office, OutboxMessage, Service
from tests.appointments.conftest import at
from tests.factories import clerk
from tests.faults.conftest import RedisServer
from walkins import selectors, services
from walkins.models import Ticket

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

WELL_UNDER = 1.0  # seconds: the cache's own timeout is 0.5 s
T = TypeVar("T")


def id_number() -> str:
    base = "33010619800101123"
    return base + ric.calc_check_digit(base + "0")


def test_with_redis_stopped_the_hall_checks_in_issues_and_calls_from_postgresql(
    own_redis_cache: RedisServer, clock: Callable, slots: None, office: Office, service: Service
) -> None:
    booked = Client().post(
        "/api/v1/bookings/",
        {
            "office": "XH",
            "service": service.code,
            "start": "2026-12-02T09:00:00+08:00",
            "name": "王小晶",
            "id_number": id_number(),
            "phone": "13812345670",
        },
        "application/json",
    )
    assert booked.status_code == 201, booked.json()
    window = Counter.objects.create(office=office, number=5)
    window.services.set([service])
    selectors.queue_settings(office)
    office.queue_settings.notify_places_ahead = 1
    office.queue_settings.save()
    at_desk = clerk(office)
    desk = Client(headers={"authorization": f"Token {Token.objects.create(user=at_desk).key}"})
    times: dict[str, float] = {}

    def timed(label: str, request: Callable[[], T]) -> T:
        began = time.perf_counter()
        answer = request()
        times[label] = time.perf_counter() - began
        return answer

    own_redis_cache.stop()
    clock(at(2, 9, 10))
    walk_ins = [
        timed(
            f"walk-in {n}",
            lambda: desk.post("/api/v1/offices/XH/tickets/", {"service": service.code, "channel": "general"}),
        )
        for n in (1, 2)
    ]
    assert [answer.status_code for answer in walk_ins] == [201, 201]
    assert [answer.json()["number"] for answer in walk_ins] == ["B001", "B002"]
    second = Ticket.objects.get(number="B002")
    services.ticket_set_phone(ticket=second, phone="13900001111", by=at_desk)
    checked_in = timed(
        "check-in", lambda: desk.post("/api/v1/offices/XH/check-ins/", {"code": booked.json()["reference"]})
    )
    assert checked_in.status_code == 200, checked_in.json()
    assert checked_in.json()["ticket"]["number"] == "A001"
    assert timed("open", lambda: desk.post(f"/api/v1/counters/{window.pk}/open/")).status_code == 200
    called = []
    for n in (1, 2):
        clock(at(2, 9, 10 + n))
        called.append(timed(f"call {n}", lambda: desk.post(f"/api/v1/counters/{window.pk}/call-next/")))
    assert [answer.json()["number"] for answer in called] == ["A001", "B001"]  # the slot time has come
    assert timed("complete", lambda: desk.post(f"/api/v1/counters/{window.pk}/complete/")).status_code == 200
    queue = timed("queue", lambda: Client().get("/api/v1/offices/XH/queue/"))
    assert queue.status_code == 200
    assert sum(line["count"] for line in queue.json()["waiting"]) == 1
    assert queue.json()["recent_calls"][0] == {"number": "B001", "counter": 5}

    slow = {label: round(seconds, 2) for label, seconds in times.items() if seconds >= WELL_UNDER}
    assert slow == {}, f"requests that waited for Redis: {slow}"
    # B002 is next once B001 is called: its SMS is written once, waiting for the sweep.
    near_front = OutboxMessage.objects.get(key=f"ticket-near-front:{second.pk}")
    assert (near_front.phone, near_front.sent_at) == ("13900001111", None)
    assert "B002" in near_front.text
    assert OutboxMessage.objects.filter(key__startswith="ticket-near-front:").count() == 1
