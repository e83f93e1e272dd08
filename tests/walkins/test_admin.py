"""The ticket's admin screen, read-only to supervisors, shows no mobile number."""

import pytest
from django.test import Client

from tests.factories import supervisor
from tests.walkins.conftest import NOW
from walkins import selectors, services

pytestmark = pytest.mark.django_db


def test_a_tickets_admin_page_does_not_show_the_mobile_number_kept_for_its_sms(
    office, passport, counters, clerks
) -> None:
    settings = selectors.queue_settings(office)
    settings.notify_places_ahead = 2
    settings.save()
    ticket = services.ticket_issue(office=office, service=passport, channel="general", by=clerks[0], now=NOW)
    services.ticket_set_phone(ticket=ticket, phone="13900001111", by=clerks[0])
    client = Client()
    client.force_login(supervisor(office))
    page = client.get(f"/admin/walkins/ticket/{ticket.pk}/change/")
    assert page.status_code == 200
    assert ticket.number in page.content.decode()
    assert "13900001111" not in page.content.decode()
