"""The queue API as SPEC 9 fixes it."""

from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from appointments.models import Booking
from tests.factories import OfficeFactory, clerk, walk_in_ticket
from tests.walkins.conftest import NOW
from walkins import selectors, services
from walkins.models import CounterShift, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield


def api(user) -> Client:
    return Client(headers={"authorization": f"Token {Token.objects.get_or_create(user=user)[0].key}"})


def test_a_walk_in_ticket_says_how_many_are_ahead_and_how_long(office, passport, counters, clerks) -> None:
    client = api(clerks[0])
    for _ in range(3):
        client.post(f"/api/v1/offices/{office.code}/tickets/", {"service": passport.code, "channel": "general"})
    green = walk_in_ticket(office=office, service=passport, channel="green", by=clerks[0])
    assert selectors.place_of(green).ahead == 0  # green goes before the three walk-ins
    last = client.post(f"/api/v1/offices/{office.code}/tickets/", {"service": passport.code, "channel": "general"})
    assert last.status_code == 201
    body = last.json()
    assert {k: body[k] for k in ("number", "service", "channel", "status", "ahead")} == {
        "number": "B004",
        "service": passport.code,
        "channel": "general",
        "status": "waiting",
        "ahead": 4,
    }
    # No counter open and none to open later today: the estimate plays the rule forward as if
    # one counter served passports from now, each ticket taking the typical 8 minutes. Ahead:
    # the 4 above; and the green channel's pace of the last quarter of an hour (one ticket)
    # brings a green ticket every 15 minutes (at 7.5, 22.5, 37.5 and 52.5), each of which
    # overtakes a general walk-in. So 8 tickets before this one: 8 x 8 = 64 minutes.
    assert last.json()["estimated_wait_minutes"] == 64


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"service": "nope", "channel": "general"}, "service"),
        ({"service": "passport-first", "channel": "emergency"}, "channel"),
        ({"service": "passport-first", "channel": "green"}, "channel"),  # the priority desk's
        ({"service": "passport-first"}, "channel"),
        ({"channel": "general"}, "service"),
        ({"service": ["x"], "channel": "general"}, "service"),
    ],
)
def test_bad_ticket_requests_are_400_naming_the_field(office, passport, counters, clerks, body, field) -> None:
    response = api(clerks[0]).post(f"/api/v1/offices/{office.code}/tickets/", body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert Ticket.objects.count() == 0


def test_the_counter_endpoints_open_call_and_close(office, passport, counters, clerks) -> None:
    client = api(clerks[0])
    listed = client.get(f"/api/v1/offices/{office.code}/counters/").json()
    assert [(c["number"], c["open"], c["enterprise_window"]) for c in listed] == [(1, False, False), (2, False, True)]
    assert listed[0]["services"] == sorted([passport.code, "hk-macao-endorsement"])
    counter = counters[0].pk
    assert client.post(f"/api/v1/counters/{counter}/call-next/").json()["code"] == "counter_closed"
    opened = client.post(f"/api/v1/counters/{counter}/open/")
    assert (opened.status_code, opened.json()["open"]) == (200, True)
    assert client.post(f"/api/v1/counters/{counter}/call-next/").status_code == 204  # nobody waits
    services.ticket_issue(office=office, service=passport, channel="general", by=clerks[0], now=NOW)
    called = client.post(f"/api/v1/counters/{counter}/call-next/")
    assert (called.status_code, called.json()["number"], called.json()["counter"]) == (200, "B001", 1)
    assert client.post(f"/api/v1/counters/{counter}/close/").json()["code"] == "ticket_open"
    assert client.post(f"/api/v1/counters/{counter}/complete/").json()["status"] == "completed"
    assert client.post(f"/api/v1/counters/{counter}/close/").json()["open"] is False
    assert not CounterShift.objects.filter(closed_at__isnull=True).exists()


def test_another_office_s_clerk_and_anonymous_are_refused(office, passport, counters, clerks) -> None:
    stranger = api(clerk(OfficeFactory.create(code="GS")))
    assert stranger.post(f"/api/v1/counters/{counters[0].pk}/open/").status_code == 403
    assert stranger.get(f"/api/v1/offices/{office.code}/counters/").status_code == 403
    assert Client().post(f"/api/v1/counters/{counters[0].pk}/call-next/").status_code == 401


def test_check_in_answers_the_booking_with_its_appointment_ticket(office, passport, counters, clerks, booking) -> None:
    with mock.patch("django.utils.timezone.now", return_value=booking.starts_at - timedelta(minutes=10)):
        response = api(clerks[0]).post(f"/api/v1/offices/{office.code}/check-ins/", {"code": booking.reference})
        again = api(clerks[0]).post(f"/api/v1/offices/{office.code}/check-ins/", {"code": booking.reference})
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["ticket"]["number"], body["ticket"]["channel"]) == (
        "checked_in",
        "A001",
        "appointment",
    )
    assert body["id_number"] == "330***********123X"
    assert (again.status_code, again.json()["code"]) == (400, "not_active")
    assert Ticket.objects.count() == 1


def test_too_late_marks_the_booking_late_and_says_to_take_a_walk_in_ticket(
    office, passport, counters, clerks, booking
) -> None:
    with mock.patch("django.utils.timezone.now", return_value=booking.starts_at + timedelta(minutes=20)):
        response = api(clerks[0]).post(
            f"/api/v1/offices/{office.code}/check-ins/", {"code": booking.reference}, headers={"accept-language": "en"}
        )
    assert (response.status_code, response.json()["code"]) == (400, "too_late")
    assert "walk-in ticket" in response.json()["fields"]["code"][0]
    booking.refresh_from_db()
    assert booking.status == Booking.Status.LATE
    assert Ticket.objects.count() == 0


def test_the_public_queue_names_no_one(office, passport, counters, clerks) -> None:
    for channel in ("general", "general", "green"):
        walk_in_ticket(office=office, service=passport, channel=channel, by=clerks[0], now=NOW)
    services.counter_open(counter=counters[0], by=clerks[0], now=NOW)
    services.ticket_call_next(counter=counters[0], by=clerks[0], now=NOW)
    response = Client().get(f"/api/v1/offices/{office.code}/queue/")
    # A newcomer's wait, by playing the rule forward: window 1 is the only one open; a ticket
    # takes (3 x the typical 8 + G001, just called, as half a ticket of 0) / 3.5 = 6.86
    # minutes, so the window is free at 6.86 and calls B001, then the green ticket expected
    # at 7.5 (one green in the last quarter of an hour: one every 15 minutes), B002, the
    # green expected at 22.5, then the newcomer: 5 x 6.86 = 34 minutes.
    assert response.json() == {
        "office": "XH",
        "waiting": [{"queue": "B", "service": passport.code, "count": 2, "estimated_wait_minutes": 34}],
        "recent_calls": [{"number": "G001", "counter": 1}],
    }
