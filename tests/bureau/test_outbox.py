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


def at(moment):
    return mock.patch("django.utils.timezone.now", return_value=moment)


def test_a_message_another_sender_holds_is_left_alone_until_its_lease_ends(sent) -> None:
    message = queue()
    now = timezone.now()
    OutboxMessage.objects.filter(pk=message.pk).update(lease_until=now + timedelta(seconds=30))
    with at(now):
        assert services.message_deliver(message_id=message.pk) is False
        assert services.messages_deliver_pending() == 0
    assert sent == []
    with at(now + timedelta(seconds=31)):  # the sender that held it crashed
        assert services.message_deliver(message_id=message.pk) is True
    assert len(sent) == 1


def test_a_failed_send_is_kept_and_tried_again_after_a_growing_pause(sent) -> None:
    message = queue()
    now = timezone.now()
    with mock.patch("bureau.sms.ConsoleBackend.send", side_effect=OSError("gateway down")):
        with at(now):
            assert services.message_deliver(message_id=message.pk) is False
        message.refresh_from_db()
        assert message.lease_until == now + timedelta(seconds=30)
        with at(now + timedelta(seconds=30)):
            assert services.message_deliver(message_id=message.pk) is False
    message.refresh_from_db()
    assert (message.attempts, message.sent_at, message.last_error) == (2, None, "OSError: gateway down")
    assert message.lease_until == now + timedelta(seconds=90)  # 30 s, then 60 s
    with at(now + timedelta(seconds=89)):
        assert services.messages_deliver_pending() == 0
    with at(now + timedelta(seconds=90)):
        assert services.messages_deliver_pending() == 1
    assert len(sent) == 1


@pytest.mark.parametrize(
    ("attempts", "pause"),
    [(1, 30), (2, 60), (7, 1920), (8, 3600), (43, 3600), (10_000, 3600)],
)
def test_the_pause_after_failures_grows_to_an_hour_and_never_overflows(attempts: int, pause: int) -> None:
    assert services.retry_pause(attempts) == timedelta(seconds=pause)


def test_a_sweep_longer_than_a_lease_does_not_send_twice(sent) -> None:
    """Each message's lease starts when it is claimed, not when the sweep started: a slow
    gateway cannot make the next minute's sweep take rows this one is still sending."""
    for n in range(3):
        queue(f"k{n}")
    start = timezone.now()
    clock = iter(start + timedelta(seconds=s) for s in range(0, 10_000, 25))
    second_sweep: list[int] = []

    def slow_send(phone: str, text: str, key: str) -> None:
        sent.append((phone, text, key))
        if key == "k1":  # the next minute's sweep starts while this one is at k1
            second_sweep.append(services.messages_deliver_pending())

    with (
        mock.patch("django.utils.timezone.now", side_effect=lambda: next(clock)),
        mock.patch("bureau.sms.ConsoleBackend.send", side_effect=slow_send),
    ):
        services.messages_deliver_pending()
    assert sorted(key for _phone, _text, key in sent) == ["k0", "k1", "k2"]


def test_one_message_that_breaks_the_sender_does_not_stop_the_sweep(sent) -> None:
    for n in range(3):
        queue(f"k{n}")
    real = services.message_deliver

    def deliver(*, message_id: int) -> bool:
        if OutboxMessage.objects.get(pk=message_id).key == "k0":
            raise RuntimeError("a bug")
        return real(message_id=message_id)

    with mock.patch.object(services, "message_deliver", side_effect=deliver):
        assert services.messages_deliver_pending() == 2
    assert sorted(key for *_rest, key in sent) == ["k1", "k2"]


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
    # The text holds the manage link: no lookup may probe it for the token.
    for probe in ("text__contains=REF1/0", "text__startswith=改", "text=x", "text__regex=0"):
        assert client.get(f"/admin/bureau/outboxmessage/?{probe}").status_code == 400, probe


def test_nobody_without_a_role_sees_the_outbox(client: Client) -> None:
    client.force_login(UserFactory.create(is_staff=True))
    assert client.get("/admin/bureau/outboxmessage/").status_code in {302, 403}
