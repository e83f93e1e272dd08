"""The outbox: every SMS is a row first; senders claim it with a lease, send, mark it sent."""

from collections.abc import Iterator
from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from bureau import services
from bureau.models import OutboxMessage
from tests.factories import OfficeFactory, UserFactory, staff, supervisor

pytestmark = pytest.mark.django_db


def queue(key: str = "confirmation:1") -> OutboxMessage:
    return services.message_queue(key=key, kind="confirmation", reference="REF1", phone="13812345678", text="你好")


@pytest.fixture
def sent(settings) -> Iterator[list[tuple[str, str, str]]]:
    """What the SMS gateway received."""
    received: list[tuple[str, str, str]] = []
    with mock.patch("bureau.sms.ConsoleBackend.send", side_effect=lambda *args: received.append(args)):
        yield received


def test_writing_the_same_message_twice_keeps_one_row() -> None:
    assert queue().pk == queue().pk
    assert OutboxMessage.objects.count() == 1


def test_a_message_is_sent_once_and_marked(sent) -> None:
    message = queue()
    assert services.message_deliver(message_id=message.pk) is True
    assert services.message_deliver(message_id=message.pk) is False
    assert sent == [("13812345678", "你好", "confirmation:1")]
    message.refresh_from_db()
    assert (message.attempts, message.lease_until, message.last_error) == (1, None, "")
    assert message.sent_at is not None


def test_a_message_another_sender_holds_is_left_alone_until_its_lease_ends(sent) -> None:
    message = queue()
    now = timezone.now()
    OutboxMessage.objects.filter(pk=message.pk).update(lease_until=now + timedelta(seconds=30))
    assert services.message_deliver(message_id=message.pk, now=now) is False
    assert services.messages_deliver_pending(now=now) == 0
    assert sent == []
    assert services.message_deliver(message_id=message.pk, now=now + timedelta(seconds=31)) is True  # it crashed
    assert len(sent) == 1


def test_a_failed_send_is_kept_and_tried_again_after_a_growing_pause(sent) -> None:
    message = queue()
    with mock.patch("bureau.sms.ConsoleBackend.send", side_effect=OSError("gateway down")):
        assert services.message_deliver(message_id=message.pk) is False
        message.refresh_from_db()
        assert message.lease_until is not None
        first_pause = message.lease_until - timezone.now()
        assert services.message_deliver(message_id=message.pk, now=message.lease_until) is False
    message.refresh_from_db()
    assert (message.attempts, message.sent_at, message.last_error) == (2, None, "OSError: gateway down")
    assert message.lease_until is not None
    assert message.lease_until - timezone.now() > first_pause  # 30 s, then 60 s
    assert services.messages_deliver_pending(now=message.lease_until) == 1
    assert len(sent) == 1


def test_the_sweep_sends_the_oldest_pending_messages(sent) -> None:
    for n in range(3):
        queue(f"k{n}")
    assert services.messages_deliver_pending() == 3
    assert [key for _phone, _text, key in sent] == ["k0", "k1", "k2"]


def test_the_outbox_screen_masks_numbers_and_link_secrets(client: Client) -> None:
    message = queue()
    OutboxMessage.objects.filter(pk=message.pk).update(text="改约或取消：http://x/book/manage/REF1/0123456789abcdef/")
    client.force_login(staff("supervisor", username="chief"))
    from bureau.models import StaffMember

    StaffMember.objects.filter(user__username="chief").update(bureau_wide=True)
    page = client.get(f"/admin/bureau/outboxmessage/{message.pk}/change/").content.decode()
    assert "138****5678" in page
    assert "13812345678" not in page
    assert "/book/manage/REF1/[secret]/" in page
    assert "0123456789abcdef" not in page
    office_supervisor = Client()
    office_supervisor.force_login(supervisor(OfficeFactory.create(code="XH")))
    assert office_supervisor.get("/admin/bureau/outboxmessage/").status_code == 403
    assert client.get("/admin/bureau/outboxmessage/?phone__startswith=138").status_code == 400


def test_nobody_without_a_role_sees_the_outbox(client: Client) -> None:
    client.force_login(UserFactory.create(is_staff=True))
    assert client.get("/admin/bureau/outboxmessage/").status_code in {302, 403}
