"""The outbox under a broker outage and a gateway outage (SPEC 8: "a broker or worker outage
delays messages, never loses them, and none is sent twice")."""

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from celery.contrib.testing.worker import start_worker  # type: ignore[import-untyped]
from celery.signals import task_postrun
from django.db import connection
from django.test import Client
from pytest_django.fixtures import SettingsWrapper

from bureau import services, tasks
from bureau.celery import app as celery_app
from bureau.models import OutboxMessage
from bureau.sms import FileBackend
from tests.appointments.conftest import NOW
from tests.faults.conftest import RedisServer

BOOKING = {
    "office": "XH",
    "service": "passport-first",
    "start": "2026-12-02T09:00:00+08:00",
    "name": "王小晶",
    "id_number": "33010619900101123X",
    "phone": "13812345678",
}


class CountingBackend(FileBackend):
    """The file backend, counting every message it is given. A send takes a moment, so
    senders that start together overlap; `failures` makes that many sends raise, as a
    gateway that is down."""

    lock = threading.Lock()
    sent: ClassVar[list[str]] = []
    failures = 0

    def send(self, phone: str, text: str, key: str) -> None:
        with self.lock:
            if CountingBackend.failures:
                CountingBackend.failures -= 1
                raise OSError("gateway down")
        time.sleep(0.05)
        super().send(phone, text, key)
        with self.lock:
            CountingBackend.sent.append(key)


@pytest.fixture
def sms(settings: SettingsWrapper, tmp_path: Path) -> Iterator[type[CountingBackend]]:
    settings.SMS_BACKEND = f"{__name__}.CountingBackend"
    settings.SMS_FILE_DIR = str(tmp_path / "sms")
    CountingBackend.sent.clear()
    CountingBackend.failures = 0
    yield CountingBackend
    CountingBackend.sent.clear()


def book_and_cancel(client: Client) -> tuple[int, int]:
    """Book and cancel through the API; the ids of the confirmation and the cancellation."""
    booked = client.post("/api/v1/bookings/", BOOKING, "application/json")
    assert booked.status_code == 201, booked.json()
    reference, token = booked.json()["reference"], booked.json()["token"]
    cancelled = client.delete(f"/api/v1/bookings/{reference}/", headers={"x-booking-token": token})
    assert cancelled.status_code == 204
    messages = dict(OutboxMessage.objects.filter(reference=reference).values_list("kind", "pk"))
    return messages["confirmation"], messages["cancellation"]


def at_once(*work: Callable[[], object]) -> list[object]:
    """Run each in its own thread, all released at the same moment; what each returned."""
    barrier = threading.Barrier(len(work))
    results: list[object] = [None] * len(work)

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work[i]()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_broker_outage_delays_the_cancellation_sms_and_racing_senders_send_it_once(
    own_redis: RedisServer,
    clock: Callable,
    client: Client,
    slot: Any,
    sms: type[CountingBackend],
    settings: SettingsWrapper,
) -> None:
    """Catches: an SMS sent from the request instead of the outbox (lost with the broker,
    or a 500), an outbox row written outside the change's transaction, and a sender that
    sends without first claiming the row (the sweep, two senders and a late Celery task
    racing would each send it)."""
    own_redis.stop()
    confirmation, cancellation = book_and_cancel(client)
    pending = OutboxMessage.objects.get(pk=cancellation)
    assert (pending.sent_at, pending.attempts, pending.lease_until) == (None, 0, None)
    assert sms.sent == []  # nothing lost, nothing sent

    own_redis.start()
    # What the django-q2 schedule runs, and two senders of the same message, all at once.
    swept, first, second = at_once(
        tasks.deliver_pending_messages,
        lambda: services.message_deliver(message_id=cancellation),
        lambda: services.message_deliver(message_id=cancellation),
    )
    # Then the Celery nudge, late: through the broker that is back, to a worker.
    settings.CELERY_WORKER_HIJACK_ROOT_LOGGER = False
    ran: list[object] = []

    def finished(task_id: str, retval: object, **kwargs: object) -> None:
        ran.append(retval)
        connection.close()  # the worker thread's own connection

    task_postrun.connect(finished, weak=False)
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            tasks.deliver_message.delay(cancellation)
            deadline = time.monotonic() + 10
            while not ran and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        task_postrun.disconnect(finished)  # type: ignore[attr-defined]  # missing from the stubs
    assert ran == [False]  # the worker found it sent

    keys = dict(OutboxMessage.objects.values_list("pk", "key"))
    assert Counter(sms.sent) == {keys[confirmation]: 1, keys[cancellation]: 1}
    assert isinstance(swept, int)
    assert swept + [first, second].count(True) == 2
    assert list(OutboxMessage.objects.order_by("pk").values_list("attempts", "lease_until", "last_error")) == [
        (1, None, ""),
        (1, None, ""),
    ]
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 0
    assert len(list(Path(settings.SMS_FILE_DIR).iterdir())) == 2


@pytest.mark.django_db
def test_a_send_that_fails_stays_in_the_outbox_with_its_error_and_goes_once_after_the_pause(
    clock: Callable,
    client: Client,
    slot: Any,
    sms: type[CountingBackend],
    django_capture_on_commit_callbacks: Callable,
) -> None:
    """Catches: a failed send marked sent (lost), retried at once in a loop, or retried
    again and again by every sweep with no pause; and a message sent twice once it goes."""
    sms.failures = 1  # the gateway is down for the first attempt: the nudge after commit
    with django_capture_on_commit_callbacks(execute=True):
        booked = client.post("/api/v1/bookings/", BOOKING, "application/json")
    assert booked.status_code == 201
    message = OutboxMessage.objects.get()
    pause = services.MESSAGE_RETRY_BASE
    assert (message.sent_at, message.attempts, message.last_error, message.lease_until) == (
        None,
        1,
        "OSError: gateway down",
        NOW + pause,
    )
    assert tasks.deliver_pending_messages() == 0  # inside the pause: nobody tries
    clock(NOW + pause - timedelta(seconds=1))
    assert tasks.deliver_pending_messages() == 0
    clock(NOW + pause)
    assert tasks.deliver_pending_messages() == 1
    assert tasks.deliver_pending_messages() == 0
    assert tasks.deliver_message(message.pk) is False  # a late nudge finds it sent
    message.refresh_from_db()
    assert (message.sent_at, message.attempts, message.last_error, message.lease_until) == (NOW + pause, 2, "", None)
    assert sms.sent == [message.key]
