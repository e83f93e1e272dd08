"""A lost manage link can be had again (SPEC 3): by reference, ID number and mobile
number, sent only to the booking's own phone, at most three times a day."""

from unittest import mock

import pytest

from appointments import selectors
from appointments.services import LINKS_PER_DAY, booking_create, booking_resend_link
from bureau.models import OutboxMessage
from tests.appointments.conftest import NOW, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def booking(office, service, slot):
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        return booking_create(
            office=office,
            service=service,
            start=at(2, 9),
            name="王小晶",
            id_number="33010619900101123X",
            phone="13812345678",
        )


def test_a_lost_manage_link_goes_again_to_the_booking_s_own_phone(booking) -> None:
    assert booking_resend_link(
        reference=booking.reference.lower(), id_number="33010619900101123x", phone="138 1234 5678"
    )
    message = OutboxMessage.objects.get(kind=OutboxMessage.Kind.MANAGE_LINK)
    assert message.phone == "13812345678"
    assert f"/book/manage/{booking.reference}/{selectors.booking_token(booking.reference)}/" in message.text


@pytest.mark.parametrize(
    "change",
    [
        {"reference": "NOPE123456"},
        {"id_number": "11010519491231002X"},
        {"phone": "13900000000"},
        {"id_number": "not a number"},
        {"phone": "\x00"},
    ],
)
def test_a_lost_link_request_that_does_not_match_sends_nothing(booking, change) -> None:
    asked = {"reference": booking.reference, "id_number": "33010619900101123X", "phone": "13812345678", **change}
    assert booking_resend_link(**asked) is False
    assert not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.MANAGE_LINK).exists()


def test_a_booking_s_link_goes_at_most_three_times_a_day(booking) -> None:
    asked = {"reference": booking.reference, "id_number": "33010619900101123X", "phone": "13812345678"}
    assert [booking_resend_link(**asked) for _ in range(LINKS_PER_DAY + 1)] == [True] * LINKS_PER_DAY + [False]
    assert OutboxMessage.objects.filter(kind=OutboxMessage.Kind.MANAGE_LINK).count() == LINKS_PER_DAY
