"""From the counter to the core's accept page and back: the application accepted there is
linked to the ticket the workstation sent (walkins' acceptance follower, registered in
walkins.apps), in the acceptance's own transaction."""

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.test import Client

from bureau.models import Application, Counter, Office, Service
from tests.factories import ApplicationFactory, OfficeFactory, clerk
from tests.walkins.conftest import NOW, SHANGHAI
from walkins import services
from walkins.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db

ID_NUMBER = "11010519491231002X"
EN = {"accept-language": "en"}


@pytest.fixture(autouse=True)
def frozen() -> Iterator[mock.MagicMock]:
    with mock.patch("django.utils.timezone.now", return_value=NOW) as now:
        yield now


@pytest.fixture
def served(office: Office, passport: Service, counters: list[Counter], clerks: list[User]) -> Ticket:
    services.counter_open(counter=counters[0], by=clerks[0])
    services.ticket_issue(office=office, service=passport, channel="general", by=clerks[0])
    services.ticket_call_next(counter=counters[0], by=clerks[0])
    return services.ticket_complete(counter=counters[0], by=clerks[0])


def accept(client: Client, office: Office, service: Service, ticket: str) -> Any:
    form = {
        "office": str(office.pk),
        "service": str(service.pk),
        "applicant_name": "李四",
        "id_number": ID_NUMBER,
        "ticket": ticket,
    }
    return client.post(f"/applications/new/?ticket={ticket}", form, headers=EN)


def test_the_application_accepted_from_the_counter_is_linked_to_its_ticket(office, passport, served, clerks) -> None:
    client = Client()
    client.force_login(clerks[0])
    panel = client.get("/counter/panel/", headers={"HX-Request": "true", **EN}).content.decode()
    assert f'href="/applications/new/?ticket={served.pk}"' in panel  # the workstation's link
    page = client.get(f"/applications/new/?ticket={served.pk}", headers=EN).content.decode()
    assert f'name="ticket" value="{served.pk}"' in page
    response = accept(client, office, passport, str(served.pk))
    assert response.status_code == 302
    application = Application.objects.get()
    assert list(served.applications.all()) == [application]
    event = TicketEvent.objects.filter(ticket=served).last()
    assert event is not None and (event.action, event.by) == ("linked", clerks[0])
    back = client.get("/counter/panel/", headers={"HX-Request": "true", **EN}).content.decode()
    assert application.reference in back and "Accept another application" in back


def test_a_ticket_of_another_office_refuses_the_acceptance(office, passport, served, clerks) -> None:
    other = OfficeFactory.create(code="GS")
    Counter.objects.create(office=other, number=1).services.set([passport])
    theirs = services.ticket_issue(office=other, service=passport, channel="general", by=clerk(other, username="o"))
    client = Client()
    client.force_login(clerks[0])
    response = accept(client, office, passport, str(theirs.pk))
    assert response.status_code == 200
    assert "not one of your office" in response.content.decode()
    assert not Application.objects.exists()
    assert not TicketEvent.objects.filter(action="linked").exists()


def _detail(client: Client, application: Application) -> str:
    page = client.get(f"/applications/{application.reference}/", headers=EN).content.decode()
    return " ".join(re.sub(r"<[^>]+>", " ", page[page.index('<dl class="facts">') :]).split())


def test_the_application_names_the_ticket_and_the_booking_that_brought_the_applicant(
    office, passport, counters, clerks, booking, frozen
) -> None:
    frozen.return_value = datetime(2026, 12, 2, 8, 52, tzinfo=SHANGHAI)
    ticket = services.ticket_check_in(code=booking.reference, office=office, by=clerks[0]).ticket
    frozen.return_value = NOW
    services.counter_open(counter=counters[1], by=clerks[0])
    services.ticket_call_next(counter=counters[1], by=clerks[0])
    services.ticket_complete(counter=counters[1], by=clerks[0])
    client = Client()
    client.force_login(clerks[0])
    assert accept(client, office, passport, str(ticket.pk)).status_code == 302
    shown = _detail(client, Application.objects.get())
    assert "Came with Ticket: A001, taken at 08:52, served at window 2" in shown
    assert (
        f"Booking: {booking.reference} for 王*晶: appointment on 2 December 2026 at 09:00, checked in at 08:52" in shown
    )
    assert "王小晶" not in shown.split("Came with")[1]  # the booking's name only masked


def test_an_application_with_no_ticket_or_a_walk_in_ticket_names_no_booking(office, passport, served, clerks) -> None:
    client = Client()
    client.force_login(clerks[0])
    alone = ApplicationFactory.create(office=office, service=passport, accepted_on=NOW.date())
    assert "Came with" not in _detail(client, alone)
    accept(client, office, passport, str(served.pk))
    shown = _detail(client, Application.objects.exclude(pk=alone.pk).get())
    assert "Came with Ticket: B001, taken at 10:00, served at window 1" in shown
    assert "Booking:" not in shown
