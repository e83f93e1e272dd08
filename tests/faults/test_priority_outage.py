"""Redis (cache and broker) stops while an emergency case goes through (SPEC 8): filing it
with its documents, the clerk's approval, the E ticket, the call and the acceptance go on
from PostgreSQL without waiting; each SMS to the applicant is in the outbox, the expedited
deadline is filled by the sweep, and once Redis is back every message goes once."""

import io
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from django.test import Client
from pypdf import PdfWriter
from pytest_django.fixtures import SettingsWrapper
from rest_framework.authtoken.models import Token

from bureau import selectors as core
from bureau import services as core_services
from bureau import tasks
from bureau.models import Application, Counter, Office, OutboxMessage, Service
from tests.appointments.conftest import at
from tests.factories import clerk
from tests.faults.conftest import RedisServer

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

WELL_UNDER = 1.5  # seconds: the cache's own timeout is 0.5 s; each file is checked in a child process
T = TypeVar("T")


def pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_with_redis_stopped_an_emergency_case_is_filed_approved_called_and_expedited(
    own_redis_cache: RedisServer,
    issuance_rules: None,
    clock: Callable,
    slots: None,
    office: Office,
    service: Service,
    settings: SettingsWrapper,
    tmp_path: Path,
) -> None:
    settings.EVIDENCE_ROOT = tmp_path / "evidence"
    window = Counter.objects.create(office=office, number=5)
    window.services.set([service])
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
    filed = timed(
        "file",
        lambda: Client().post(
            "/api/v1/emergency-cases/",
            {
                "office": "XH",
                "ground": "visa_expiry",
                "trip_date": (core.office_today() + timedelta(days=3)).isoformat(),
                "description": "签证三天后到期",
                "name": "王小晶",
                "id_number": "33010619900101123X",
                "phone": "13812345678",
                "visa": io.BytesIO(pdf()),
            },
        ),
    )
    assert filed.status_code == 201, filed.json()
    reference = filed.json()["reference"]
    decided = timed(
        "approve",
        lambda: desk.post(f"/api/v1/cases/{reference}/decisions/", {"decision": "approve", "reason": ""}),
    )
    assert decided.status_code == 200, decided.json()
    issued = timed(
        "E ticket",
        lambda: desk.post(
            "/api/v1/offices/XH/priority-tickets/",
            {"service": service.code, "channel": "emergency", "case": reference},
        ),
    )
    assert issued.status_code == 201, issued.json()
    assert timed("open", lambda: desk.post(f"/api/v1/counters/{window.pk}/open/")).status_code == 200
    clock(at(2, 9, 12))
    called = timed("call", lambda: desk.post(f"/api/v1/counters/{window.pk}/call-next/"))
    assert called.json()["number"] == "E001"  # before B001 and B002, taken earlier
    application = timed(
        "accept",
        lambda: core_services.application_accept(
            office=office,
            service=service,
            applicant_name="王小晶",
            id_number="33010619900101123X",
            expedited=False,
            by=at_desk,
            arrival={"ticket": str(issued.json()["id"])},
        ),
    )
    slow = {label: round(seconds, 2) for label, seconds in times.items() if seconds >= WELL_UNDER}
    assert slow == {}, f"requests that waited for Redis: {slow}"

    # The deadline task was lost with the broker: the sweep fills it, expedited.
    application.refresh_from_db()
    assert (application.expedited, application.due_on) == (True, None)
    assert core_services.deadlines_fill_missing() == 1
    application.refresh_from_db()
    expected = core.deadline_preview(accepted_on=application.accepted_on, residency="in_province", expedited=True)
    assert application.due_on == expected.due_on
    assert Application.objects.count() == 1

    pending = OutboxMessage.objects.filter(reference=reference, sent_at__isnull=True)
    assert pending.count() == 2  # received, approved: nothing lost
    own_redis_cache.start()
    tasks.deliver_pending_messages()
    tasks.deliver_pending_messages()
    assert OutboxMessage.objects.filter(reference=reference, sent_at__isnull=True).count() == 0
    assert list(OutboxMessage.objects.filter(reference=reference).values_list("attempts", flat=True)) == [1, 1]
