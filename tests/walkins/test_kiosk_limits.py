"""The kiosk (an unattended device signed in as its office's staff) takes tickets and checks
bookings in, on its own pages, and nothing else: every staff endpoint of the API refuses its
token and its session, and the services refuse it too (an attack found it reading and
changing the office's applications through the API, and issuing tickets of any channel
outside hours and past the quota)."""

from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.authtoken.models import Token

from bureau import services as core_services
from bureau.models import OutboxMessage
from bureau.services import Conflict, DomainError, NotAllowed
from tests.factories import ApplicationFactory, staff
from tests.walkins.conftest import NOW
from walkins import selectors, services
from walkins.models import Ticket

pytestmark = pytest.mark.django_db

# The API for applicants and the public: no account needed, so nothing to refuse a kiosk.
PUBLIC = {
    "office-list",
    "service-list",
    "auth-token",
    "deadline-preview",
    "applicant-status",
    "availability",
    "office-queue",
    "booking-list",
    "booking-detail",
    "booking-reschedule",
    # the priority channels' public endpoints (a case is read with its own token)
    "emergency-grounds",
    "emergency-case-list",
    "emergency-case-detail",
    "enterprise-list",
    "student-booking-list",
}
METHODS = ("get", "post", "delete")


def staff_endpoints() -> list[str]:
    v1 = next(r for r in get_resolver().url_patterns if isinstance(r, URLResolver) and r.namespace == "v1")
    names = [p.name for p in v1.url_patterns if isinstance(p, URLPattern) and p.name and p.name not in PUBLIC]
    assert names, "no staff endpoint found under /api/v1/"
    return sorted(names)


@pytest.fixture
def kiosk(office):
    return staff("kiosk", office, username="kiosk-xh")


def path_of(name: str, counter_id: int, reference: str) -> str:
    kwargs: dict[str, Any] = {}
    if "counter" in name and name != "office-counters":
        kwargs["counter_id"] = counter_id
    elif name in ("application-detail", "case-decision"):
        kwargs["reference"] = reference
    elif name.startswith(("ticket", "check-in", "office-", "priority-")):
        kwargs["code"] = "XH"
    return reverse(f"v1:{name}", kwargs=kwargs)


@pytest.mark.parametrize("name", staff_endpoints())
def test_every_staff_endpoint_refuses_the_kiosk_s_token_and_session(name, office, counters, kiosk) -> None:
    application = ApplicationFactory.create(office=office)
    path = path_of(name, counters[0].pk, application.reference)
    by_token = Client(headers={"authorization": f"Token {Token.objects.create(user=kiosk).key}"})
    by_session = Client()
    by_session.force_login(kiosk)
    for client in (by_token, by_session):
        for method in METHODS:
            answer = getattr(client, method)(path, {}, content_type="application/json")
            assert answer.status_code in (403, 405), (name, method, answer.status_code)
            if answer.status_code == 403:
                assert "applicant_name" not in answer.content.decode()
    assert Ticket.objects.count() == 0


def test_the_services_refuse_the_kiosk_what_only_clerks_do(office, passport, counters, kiosk) -> None:
    with pytest.raises(NotAllowed):
        services.ticket_issue(office=office, service=passport, channel="green", by=kiosk, now=NOW)
    with pytest.raises(NotAllowed):
        core_services.application_accept(
            office=office,
            service=passport,
            applicant_name="王小晶",
            id_number="33010619900101123X",
            expedited=False,
            by=kiosk,
        )
    assert Ticket.objects.count() == 0


@pytest.fixture
def sms_on(office):
    """The office sends the SMS one place from the front; the clock stands at NOW."""
    settings = selectors.queue_settings(office)
    settings.notify_places_ahead = 1
    settings.save()
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield


def test_a_number_kept_for_a_ticket_is_not_replaced(office, passport, counters, kiosk, clerks, sms_on) -> None:
    ticket = services.ticket_issue(office=office, service=passport, channel="general", by=clerks[0], now=NOW)
    services.ticket_set_phone(ticket=ticket, phone="13900001111", by=kiosk)
    with pytest.raises(Conflict) as again:
        services.ticket_set_phone(ticket=ticket, phone="13900002222", by=kiosk)
    assert again.value.code == "phone_set"
    ticket.refresh_from_db()
    assert ticket.phone == "13900001111"


def test_a_number_gets_the_queue_sms_of_two_tickets_a_day_at_most(
    office, passport, counters, kiosk, clerks, sms_on
) -> None:
    """Two tickets may carry one number (someone with two errands); a third is refused, also
    once the first two SMS were written and the numbers cleared from their tickets."""
    tickets = [
        services.ticket_issue(office=office, service=passport, channel="general", by=clerks[0], now=NOW)
        for _ in range(4)
    ]
    for ticket in tickets[1:3]:
        services.ticket_set_phone(ticket=ticket, phone="139 0000 1111", by=kiosk)
    with pytest.raises(DomainError) as third:
        services.ticket_set_phone(ticket=tickets[3], phone="13900001111", by=kiosk)
    assert (third.value.code, third.value.field) == ("phone_used", "phone")
    services.counter_open(counter=counters[0], by=clerks[0], now=NOW)
    for _ in range(3):
        services.ticket_call_next(counter=counters[0], by=clerks[0], now=NOW)
    assert OutboxMessage.objects.filter(phone="13900001111").count() == 2
    assert not Ticket.objects.exclude(phone="").exists()  # cleared once written
    with pytest.raises(DomainError):
        services.ticket_set_phone(ticket=tickets[3], phone="13900001111", by=kiosk)
    services.ticket_set_phone(ticket=tickets[3], phone="13900002222", by=kiosk)  # another number is fine


def test_pages_with_personal_data_are_never_cached(office, passport, counters, kiosk, clerks) -> None:
    """A clerk's desk and the kiosk are shared: Back must not show the last user's page."""
    application = ApplicationFactory.create(office=office)
    desk = Client()
    desk.force_login(clerks[0])
    for path in (
        "/applications/",
        f"/applications/{application.reference}/",
        f"/applications/{application.reference}/receipt/",
        "/applications/new/",
        "/counter/",
    ):
        answer = desk.get(path)
        assert answer.status_code == 200, path
        assert "no-store" in answer["Cache-Control"], path
    device = Client()
    device.force_login(kiosk)
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        answer = device.get("/kiosk/XH/")
    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
