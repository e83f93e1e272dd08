"""The kiosk (an unattended device signed in as its office's staff) takes tickets and checks
bookings in, on its own pages, and nothing else: every staff endpoint of the API refuses its
token and its session, and the services refuse it too (an attack found it reading and
changing the office's applications through the API, and issuing tickets of any channel
outside hours and past the quota)."""

from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, get_resolver, reverse
from rest_framework.authtoken.models import Token

from bureau import services as core_services
from bureau.services import NotAllowed
from tests.factories import ApplicationFactory, staff
from tests.walkins.conftest import NOW
from walkins import services
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
}
METHODS = ("get", "post", "delete")


def staff_endpoints() -> list[str]:
    v1 = next(r for r in get_resolver().url_patterns if getattr(r, "namespace", None) == "v1")
    names = [p.name for p in v1.url_patterns if isinstance(p, URLPattern) and p.name not in PUBLIC]
    assert names, "no staff endpoint found under /api/v1/"
    return sorted(names)


@pytest.fixture
def kiosk(office):
    return staff("kiosk", office, username="kiosk-xh")


def path_of(name: str, counter_id: int, reference: str) -> str:
    kwargs: dict[str, Any] = {}
    if "counter" in name and name != "office-counters":
        kwargs["counter_id"] = counter_id
    elif name == "application-detail":
        kwargs["reference"] = reference
    elif name.startswith(("ticket", "check-in", "office-")):
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
