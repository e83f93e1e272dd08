"""The public pages and devices: the kiosk, the ticket's own page, the board, the queue
page, and the optional SMS when a ticket nears the front."""

import random
import re
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core.cache.backends.base import BaseCache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.translation import pgettext

from appointments.models import Booking, BookingPolicy
from appointments.services import booking_create, slots_generate
from bureau.models import Counter, Office, OpeningSession, OutboxMessage, Service
from bureau.services import Conflict, DomainError, NotAllowed
from tests.factories import OfficeFactory, ServiceFactory, clerk, nine_to_ten, staff, supervisor, walk_in_ticket
from tests.walkins.conftest import NOW, SHANGHAI
from walkins import selectors, services
from walkins.models import Ticket

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
NAME = "王小晶"
ID_NUMBER = "33010619900101123X"


@pytest.fixture
def clock() -> Iterator[list[datetime]]:
    """timezone.now() frozen at NOW (a Wednesday, 10:00 in Hangzhou); set [0] to move it."""
    moment = [NOW]
    with mock.patch("django.utils.timezone.now", side_effect=lambda: moment[0]):
        yield moment


@pytest.fixture
def kiosk(office: Office) -> User:
    return staff("kiosk", office, username="kiosk-xh")


def signed_in(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def issue(office: Office, service: Service, by: User, channel: str = "general", minutes: float = 0) -> Ticket:
    return walk_in_ticket(office=office, service=service, channel=channel, by=by, now=NOW + timedelta(minutes=minutes))


def ticket_path(ticket: Ticket) -> str:
    return f"/ticket/{ticket.pk}/{selectors.ticket_signature(ticket.pk)}/"


def screen_path(ticket: Ticket) -> str:
    return f"/kiosk/{ticket.office.code}/tickets/{ticket.pk}/{selectors.ticket_signature(ticket.pk)}/"


def text(response: Any) -> str:
    return response.content.decode()


def no_personal_data(body: str) -> None:
    for secret in (NAME, ID_NUMBER, PHONE, PHONE[-4:] + "<", "王"):
        assert secret not in body, secret


# --- the kiosk ---------------------------------------------------------------------------


def test_the_kiosk_pages_are_for_the_office_s_kiosk_only(office, passport, counters, clerks, kiosk, clock) -> None:
    other_kiosk = staff("kiosk", OfficeFactory.create(code="GS"), username="kiosk-gs")
    anonymous = signed_in(None).get("/kiosk/XH/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/?next=/kiosk/XH/")
    for user in (clerks[0], supervisor(office), other_kiosk):
        assert signed_in(user).get("/kiosk/XH/").status_code == 403
        assert signed_in(user).post("/kiosk/XH/ticket/", {"service": passport.code}).status_code == 403
        assert signed_in(user).post("/kiosk/XH/check-in/", {"code": "X"}).status_code == 403
    assert Ticket.objects.count() == 0
    assert signed_in(kiosk).get("/kiosk/NOPE/").status_code == 404
    page = signed_in(kiosk).get("/kiosk/XH/")
    assert page.status_code == 200
    buttons = re.findall(r'name="service" value="([^"]+)"', text(page))
    assert sorted(buttons) == sorted([passport.code, "hk-macao-endorsement"])
    assert signed_in(kiosk).get("/kiosk/XH/ticket/").status_code == 405


def test_the_kiosk_issues_a_ticket_and_shows_it_big_with_its_qr_code(office, passport, counters, clerks, kiosk, clock):
    issue(office, passport, clerks[0])
    client = signed_in(kiosk)
    response = client.post("/kiosk/XH/ticket/", {"service": passport.code})
    ticket = Ticket.objects.get(issued_by=kiosk)
    assert (ticket.number, ticket.service, ticket.channel) == ("B002", passport, "general")
    assert response.status_code == 302 and response["Location"] == screen_path(ticket)
    screen = client.get(response["Location"])
    body = text(screen)
    assert screen.status_code == 200
    assert '<p class="kiosk-number">B002</p>' in body
    assert 'data-ahead="1"' in body  # the clerk's B001 first
    assert "<svg" in body and f"http://testserver{ticket_path(ticket)}" not in body  # the QR holds it, as SVG
    assert 'class="ticket-slip"' in body  # the printed slip
    assert "10:00" in body
    assert 'data-return-seconds="30"' in body  # back to the start after a while
    no_personal_data(body)
    # Another office's kiosk cannot open it; a wrong signature is no page.
    other = staff("kiosk", OfficeFactory.create(code="GS"), username="kiosk-gs")
    assert signed_in(other).get(screen_path(ticket).replace("/XH/", "/GS/")).status_code == 404
    assert client.get(screen_path(ticket)[:-2] + "0/").status_code == 404


def test_the_kiosk_outside_opening_hours_says_why_and_where_to_go(office, passport, counters, kiosk, clock) -> None:
    late = OfficeFactory.create(code="BJ", name_zh="滨江区出入境接待大厅", name_en="Binjiang Hall")
    OpeningSession.objects.create(office=late, day_kind="weekday", opens_at=time(9), closes_at=time(20))
    clock[0] = NOW.replace(hour=18)
    client = signed_in(kiosk)
    page = text(client.get("/kiosk/XH/"))
    assert 'data-refused="closed"' in page and 'name="service"' not in page
    assert "09:00–17:00" in page  # the opening hours
    assert "Binjiang" in page or "滨江" in page  # an office open now
    refused = client.post("/kiosk/XH/ticket/", {"service": passport.code})
    assert refused.status_code == 400
    assert "The office is closed now" in text(refused) or "opening hours" in text(refused) or "办公" in text(refused)
    assert Ticket.objects.count() == 0
    # The booking check-in stays on offer (its own window decides).
    assert 'name="code"' in page


def test_the_kiosk_past_its_daily_quota_sends_people_to_the_desk(office, passport, counters, kiosk, clock) -> None:
    figures = selectors.queue_settings(office)
    figures.daily_ticket_quota = 1
    figures.save()
    client = signed_in(kiosk)
    assert client.post("/kiosk/XH/ticket/", {"service": passport.code}).status_code == 302
    refused = client.post("/kiosk/XH/ticket/", {"service": passport.code})
    assert refused.status_code == 409
    assert 'data-refused="quota_reached"' in text(refused)
    with translation.override("zh-hans"):
        assert translation.gettext("The staff at the desk can still help you.") in text(refused)
    assert "kiosk-elsewhere" in text(refused)
    assert Ticket.objects.count() == 1


def test_the_quota_is_the_office_s_walk_ins_over_all_its_kiosks(office, passport, counters, kiosk, booking, clock):
    """Two kiosks share the office's quota; a booking checked in at a kiosk uses none of it."""
    figures = selectors.queue_settings(office)
    figures.daily_ticket_quota = 2
    figures.save()
    clock[0] = NOW - timedelta(minutes=10)
    first, second = signed_in(kiosk), signed_in(staff("kiosk", office, username="kiosk-xh-2"))
    assert first.post("/kiosk/XH/check-in/", {"code": booking.reference}).status_code == 302
    assert first.post("/kiosk/XH/ticket/", {"service": passport.code}).status_code == 302
    assert second.post("/kiosk/XH/ticket/", {"service": passport.code}).status_code == 302
    refused = second.post("/kiosk/XH/ticket/", {"service": passport.code})
    assert refused.status_code == 409 and 'data-refused="quota_reached"' in text(refused)
    assert first.post("/kiosk/XH/ticket/", {"service": passport.code}).status_code == 409
    assert sorted(Ticket.objects.values_list("number", flat=True)) == ["A001", "B001", "B002"]


@pytest.mark.parametrize(
    "value",
    ["", "nope", "x" * 10_000, "\x00", "passport-first\x00", "<script>alert(1)</script>", "taiwan-first", "１"],
)
def test_the_kiosk_refuses_any_other_service_cleanly(office, passport, counters, kiosk, clock, value) -> None:
    ServiceFactory.create(code="taiwan-first", document="taiwan")  # no counter serves it here
    response = signed_in(kiosk).post("/kiosk/XH/ticket/", {"service": value})
    assert response.status_code == 400
    assert "<script>alert" not in text(response)
    assert Ticket.objects.count() == 0


def test_the_kiosk_refuses_a_list_or_no_field(office, passport, counters, kiosk, clock) -> None:
    client = signed_in(kiosk)
    assert client.post("/kiosk/XH/ticket/", {}).status_code == 400
    assert client.post("/kiosk/XH/ticket/", {"service": [passport.code, "nope"]}).status_code in (302, 400)
    assert Ticket.objects.count() <= 1


def test_on_a_weekend_the_kiosk_offers_only_weekend_services(office, passport, counters, kiosk, clock) -> None:
    OpeningSession.objects.create(office=office, day_kind="weekend", opens_at=time(9), closes_at=time(12))
    Service.objects.filter(code="hk-macao-endorsement").update(weekend_service=False)
    clock[0] = datetime(2026, 12, 5, 10, 0, tzinfo=SHANGHAI)  # a Saturday
    client = signed_in(kiosk)
    assert re.findall(r'name="service" value="([^"]+)"', text(client.get("/kiosk/XH/"))) == [passport.code]
    assert client.post("/kiosk/XH/ticket/", {"service": "hk-macao-endorsement"}).status_code == 400
    assert Ticket.objects.count() == 0


@pytest.fixture
def booking(office: Office, passport: Service, official_calendar: None) -> Booking:
    """Wednesday 2 December 10:00 at XH, booked the day before."""
    nine_to_ten(office, passport)
    template = office.slot_templates.get()
    template.starts_at, template.ends_at = time(10), time(11)
    template.save()
    BookingPolicy.objects.get_or_create(pk=1, defaults={"hold_minutes": 30})
    slots_generate(today=NOW.date() - timedelta(days=1))
    return booking_create(
        office=office,
        service=passport,
        start=NOW,
        name=NAME,
        id_number=ID_NUMBER,
        phone=PHONE,
        now=NOW - timedelta(days=1),
    )


def test_the_kiosk_checks_a_booking_in_by_its_qr_code(office, passport, counters, kiosk, booking, clock) -> None:
    clock[0] = NOW - timedelta(minutes=10)
    client = signed_in(kiosk)
    response = client.post("/kiosk/XH/check-in/", {"code": f" {booking.reference.lower()}\n"})
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CHECKED_IN
    ticket = Ticket.objects.get(booking=booking)
    assert ticket.number == "A001"
    assert response.status_code == 302 and response["Location"] == screen_path(ticket)
    body = text(client.get(response["Location"]))
    assert "A001" in body
    no_personal_data(body)
    assert booking.reference not in body
    again = client.post("/kiosk/XH/check-in/", {"code": booking.reference})
    assert again.status_code == 400 and Ticket.objects.count() == 1


@pytest.mark.parametrize(
    ("code", "status"),
    [("", 400), ("   ", 400), ("NOSUCHREF1", 400), ("A" * 65, 400), ("AB\x00CD", 400), ("<b>x</b>", 400)],
)
def test_the_kiosk_refuses_bad_check_in_codes_cleanly(office, passport, counters, kiosk, booking, clock, code, status):
    response = signed_in(kiosk).post("/kiosk/XH/check-in/", {"code": code})
    assert response.status_code == status
    assert "<b>x</b>" not in text(response)
    error = re.search(r'<div id="id_code_error" role="alert"[^>]*>\s*<p class="error[^"]*">([^<]+)</p>', text(response))
    assert error is not None and error.group(1).strip()  # said under the field
    if code in ("NOSUCHREF1", "A" * 65):
        with translation.override("zh-hans"):
            assert error.group(1) == translation.gettext("No booking has this reference.")
    assert Ticket.objects.count() == 0
    booking.refresh_from_db()
    assert booking.status == Booking.Status.BOOKED


def test_a_booking_too_late_is_told_to_take_a_walk_in_ticket(office, passport, counters, kiosk, booking, clock):
    clock[0] = NOW + timedelta(minutes=40)
    response = signed_in(kiosk).post("/kiosk/XH/check-in/", {"code": booking.reference})
    assert response.status_code == 400
    assert 'data-refused="too_late"' in text(response)
    assert 'name="service"' in text(response)  # the walk-in buttons are right there
    assert Ticket.objects.count() == 0


# --- the optional SMS ----------------------------------------------------------------------


def sms_at(office: Office, places: int) -> None:
    figures = selectors.queue_settings(office)
    figures.notify_places_ahead = places
    figures.save()


def test_the_kiosk_offers_the_sms_only_where_the_office_sends_them(office, passport, counters, clerks, kiosk, clock):
    for _n in range(4):
        issue(office, passport, clerks[0])
    ticket = services.ticket_issue_at_kiosk(office=office, service=passport, by=kiosk)
    client = signed_in(kiosk)
    assert 'name="phone"' not in text(client.get(screen_path(ticket)))
    refused = client.post(screen_path(ticket) + "sms/", {"phone": PHONE})
    assert refused.status_code == 400
    sms_at(office, 2)
    assert 'name="phone"' in text(client.get(screen_path(ticket)))  # 4 ahead, more than 2


@pytest.mark.parametrize("phone", ["", "123", "1381234567", "23812345678", "138123456789", "\x00", "x" * 5000])
def test_a_bad_mobile_number_is_refused_cleanly(office, passport, counters, clerks, kiosk, clock, phone) -> None:
    sms_at(office, 2)
    for _n in range(4):
        issue(office, passport, clerks[0])
    ticket = services.ticket_issue_at_kiosk(office=office, service=passport, by=kiosk)
    response = signed_in(kiosk).post(screen_path(ticket) + "sms/", {"phone": phone})
    assert response.status_code == 400
    assert 'class="error"' in text(response)
    ticket.refresh_from_db()
    assert ticket.phone == ""


def test_a_mobile_number_given_at_the_kiosk_is_shown_masked(office, passport, counters, clerks, kiosk, clock) -> None:
    sms_at(office, 2)
    for _n in range(4):
        issue(office, passport, clerks[0])
    ticket = services.ticket_issue_at_kiosk(office=office, service=passport, by=kiosk)
    client = signed_in(kiosk)
    response = client.post(screen_path(ticket) + "sms/", {"phone": "+86 138-1234-5678"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.phone == PHONE
    body = text(client.get(screen_path(ticket)))
    assert "138****5678" in body and PHONE not in body
    assert 'name="phone"' not in body
    assert PHONE not in text(signed_in(None).get(ticket_path(ticket)))


def test_setting_a_mobile_number_is_refused_for_strangers_and_finished_tickets(office, passport, counters, clerks):
    sms_at(office, 2)
    ticket = issue(office, passport, clerks[0])
    with pytest.raises(NotAllowed):
        services.ticket_set_phone(ticket=ticket, phone=PHONE, by=clerk(OfficeFactory.create(code="GS")))
    with pytest.raises(DomainError) as invalid:
        services.ticket_set_phone(ticket=ticket, phone="12345", by=clerks[0])
    assert invalid.value.code == "invalid_phone"
    services.counter_open(counter=counters[0], by=clerks[0], now=NOW)
    services.ticket_call_next(counter=counters[0], by=clerks[0], now=NOW)
    with pytest.raises(Conflict):
        services.ticket_set_phone(ticket=ticket, phone=PHONE, by=clerks[0])
    assert Ticket.objects.get(pk=ticket.pk).phone == ""


def test_the_sms_is_written_once_when_a_call_brings_a_ticket_near_the_front(office, passport, counters, clerks):
    sms_at(office, 2)
    tickets = [issue(office, passport, clerks[0], minutes=n) for n in range(5)]
    services.ticket_set_phone(ticket=tickets[4], phone=PHONE, by=clerks[0])  # B005, 4 ahead
    services.counter_open(counter=counters[0], by=clerks[0], now=NOW)

    def call(minute: int) -> None:
        services.ticket_call_next(counter=counters[0], by=clerks[0], now=NOW + timedelta(minutes=minute))

    call(10)  # B001 called: 3 ahead of B005
    assert OutboxMessage.objects.count() == 0
    call(11)  # B002 called: 2 ahead
    message = OutboxMessage.objects.get()
    assert (message.key, message.phone, message.reference) == (f"ticket-near-front:{tickets[4].pk}", PHONE, "B005")
    zh, en = message.text.split("\n")
    assert "B005" in zh and "B005" in en
    assert "2 people are ahead of you" in en
    with translation.override("zh-hans"):
        assert office.name in zh
    assert Ticket.objects.get(pk=tickets[4].pk).phone == ""  # kept no longer than needed
    call(12)
    call(13)
    assert OutboxMessage.objects.count() == 1


def test_no_sms_and_no_extra_work_when_the_office_sends_none(office, passport, counters, clerks) -> None:
    tickets = [issue(office, passport, clerks[0], minutes=n) for n in range(3)]
    Ticket.objects.filter(pk=tickets[2].pk).update(phone=PHONE)
    services.counter_open(counter=counters[0], by=clerks[0], now=NOW)
    with mock.patch.object(selectors, "front_of_queue") as front:
        services.ticket_call_next(counter=counters[0], by=clerks[0], now=NOW + timedelta(minutes=5))
    front.assert_not_called()
    assert OutboxMessage.objects.count() == 0


def test_the_front_of_a_queue_is_counted_as_ahead_of_counts(office, passport, counters, clerks) -> None:
    """Over random queues (channels, appointments due or not, tickets past the max wait, ties
    issued at the same moment), the n-th of front_of_queue has n-1 people ahead."""
    rng = random.Random(8)
    for round_ in range(6):
        Ticket.objects.all().delete()
        for _n in range(rng.randint(1, 25)):
            minutes = rng.choice([0, 0, 5, 30, 70, 90, rng.uniform(0, 120)])
            ticket = issue(office, passport, clerks[0], rng.choice(["general", "green", "student"]), minutes)
            if rng.random() < 0.3:
                due = NOW + timedelta(minutes=rng.choice([60, 100, 200]))
                Ticket.objects.filter(pk=ticket.pk).update(channel="appointment", due_at=due)
        now = NOW + timedelta(minutes=130)
        places = rng.randint(0, 6)
        front = selectors.front_of_queue(office=office, service_id=passport.pk, places=places, now=now)
        everyone = sorted(Ticket.objects.filter(status="waiting"), key=lambda t: selectors.ahead_of(t, now))
        assert len(front) == min(places + 1, len(everyone)), round_
        for position, ticket in enumerate(front):
            assert selectors.ahead_of(ticket, now) == position, (round_, position)


# --- a ticket's own page -----------------------------------------------------------------


def test_a_ticket_s_page_follows_it_without_personal_data(office, passport, counters, clerks, booking, clock) -> None:
    clock[0] = NOW - timedelta(minutes=10)
    done = services.ticket_check_in(code=booking.reference, office=office, by=clerks[0])
    walk_in = issue(office, passport, clerks[0], minutes=-9)
    client = signed_in(None)
    page = client.get(ticket_path(walk_in))
    assert page.status_code == 200
    assert 'data-ahead="1"' in text(page)  # the appointment first
    no_personal_data(text(page))
    appointment = text(client.get(ticket_path(done.ticket)))
    no_personal_data(appointment)
    assert booking.reference not in appointment
    services.counter_open(counter=counters[0], by=clerks[0])
    services.ticket_call_next(counter=counters[0], by=clerks[0])
    live = client.get(ticket_path(walk_in), headers={"hx-request": "true"})
    assert 'data-ahead="0"' in text(live)
    services.ticket_call_next(counter=counters[0], by=clerks[0])
    called = client.get(ticket_path(walk_in), headers={"hx-request": "true"})
    assert called.status_code == 200 and 'data-status="called"' in text(called)


def test_a_ticket_s_page_answers_204_when_unchanged_and_stops_when_finished(office, passport, counters, clerks, clock):
    ticket = issue(office, passport, clerks[0])
    client = signed_in(None)
    first = client.get(ticket_path(ticket), headers={"hx-request": "true"})
    version = re.search(r'id="ticket-version" name="v" value="([0-9a-f]+)"', text(first))
    assert first.status_code == 200 and version
    again = client.get(ticket_path(ticket), {"v": version.group(1)}, headers={"hx-request": "true"})
    assert again.status_code == 204
    assert "no-cache" in again["Cache-Control"] and "HX-Request" in again["Vary"]
    services.counter_open(counter=counters[0], by=clerks[0])
    services.ticket_call_next(counter=counters[0], by=clerks[0])
    services.ticket_complete(counter=counters[0], by=clerks[0])
    finished = client.get(ticket_path(ticket), {"v": version.group(1)}, headers={"hx-request": "true"})
    assert finished.status_code == 286 and 'data-status="completed"' in text(finished)
    assert "hx-trigger" not in text(client.get(ticket_path(ticket)))


def test_a_ticket_of_a_past_day_says_so(office, passport, counters, clerks, clock) -> None:
    ticket = issue(office, passport, clerks[0])
    clock[0] = NOW + timedelta(days=1)
    assert 'data-status="past"' in text(signed_in(None).get(ticket_path(ticket)))


def test_a_ticket_s_address_cannot_be_guessed_or_walked(office, passport, counters, clerks, clock, settings) -> None:
    first, second = issue(office, passport, clerks[0]), issue(office, passport, clerks[0])
    client = signed_in(None)
    signature = selectors.ticket_signature(first.pk)
    assert len(signature) == 24 and signature != selectors.ticket_signature(second.pk)
    for path in (
        f"/ticket/{second.pk}/{signature}/",  # another ticket's signature
        f"/ticket/{first.pk}/{signature[:-1]}{'0' if signature[-1] != '0' else '1'}/",  # tampered
        f"/ticket/{first.pk}/{signature[:-1]}/",  # cut short
        f"/ticket/{first.pk}/{signature.upper()}/",
        f"/ticket/{first.pk}/x/",
        f"/ticket/999999/{signature}/",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "There is no page at this address" in text(response) or "404" in text(response) or response.templates
    settings.SECRET_KEY = "another-secret-" + "x" * 40
    assert selectors.ticket_signature(first.pk) != signature


# --- the board -----------------------------------------------------------------------------


def call_texts(number: str, window: int, language: str) -> str:
    with translation.override(language):
        return pgettext("board call", "%(number)s → window %(window)s") % {"number": number, "window": window}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_board_shows_the_latest_calls_numbers_only(office, passport, counters, clerks, booking, clock, language):
    clock[0] = NOW - timedelta(minutes=10)
    services.ticket_check_in(code=booking.reference, office=office, by=clerks[0])
    for n in range(3):
        issue(office, passport, clerks[0], minutes=-9 + n)
    services.counter_open(counter=counters[0], by=clerks[0])
    services.counter_open(counter=counters[1], by=clerks[1])
    services.ticket_call_next(counter=counters[0], by=clerks[0])  # A001 to window 1
    clock[0] += timedelta(seconds=30)
    services.ticket_call_next(counter=counters[1], by=clerks[1])  # B001 to window 2
    client = signed_in(None)
    client.cookies["django_language"] = language
    page = client.get("/board/XH/")
    body = text(page)
    assert page.status_code == 200
    latest = re.search(r'<div class="call-latest" data-call="[^"]+"([^>]*)>(.*?)</div>', body, re.S)
    assert latest is not None
    shown = re.sub(r"<[^>]+>", "", latest.group(2))
    assert call_texts("B001", 2, language) in shown
    assert call_texts("B001", 2, "en" if language == "zh-hans" else "zh-hans") in shown  # the other language too
    assert 'data-say-zh="' in latest.group(1) and "B 0 0 1" in latest.group(1)
    assert "A001" in body
    assert re.search(r'data-queue="B">.*?data-count>2<', body, re.S)
    queues = text(client.get("/board/XH/", {"part": "queues"}, headers={"hx-request": "true"}))
    assert re.search(r'data-queue="B">.*?data-count>2<', queues, re.S)
    assert "data-call=" not in queues
    no_personal_data(body)
    assert booking.reference not in body


def test_the_board_s_live_part_is_204_until_something_changes_and_recalls_show_again(
    office, passport, counters, clerks, clock
) -> None:
    for n in range(2):
        issue(office, passport, clerks[0], minutes=-5 + n)
    services.counter_open(counter=counters[0], by=clerks[0])
    services.ticket_call_next(counter=counters[0], by=clerks[0])
    client = signed_in(None)
    live = client.get("/board/XH/", headers={"hx-request": "true"})
    version = re.search(r'id="board-calls-version" name="v" value="([0-9a-f]+)"', text(live))
    assert live.status_code == 200 and version and "<html" not in text(live)
    keys = re.findall(r'data-call="([^"]+)"', text(live))
    assert client.get("/board/XH/", {"v": version.group(1)}, headers={"hx-request": "true"}).status_code == 204
    clock[0] += timedelta(seconds=20)
    services.ticket_recall(counter=counters[0], by=clerks[0])
    recalled = client.get("/board/XH/", {"v": version.group(1)}, headers={"hx-request": "true"})
    assert recalled.status_code == 200
    new_keys = re.findall(r'data-call="([^"]+)"', text(recalled))
    assert new_keys[0] != keys[0] and new_keys[0].split(":")[0] == keys[0].split(":")[0]  # the same ticket, again
    queues = client.get("/board/XH/", {"part": "queues"}, headers={"hx-request": "true"})
    queues_version = re.search(r'id="board-queues-version" name="v" value="([0-9a-f]+)"', text(queues))
    assert queues_version and "<html" not in text(queues)
    unchanged = client.get(
        "/board/XH/", {"part": "queues", "v": queues_version.group(1)}, headers={"hx-request": "true"}
    )
    assert unchanged.status_code == 204
    issue(office, passport, clerks[0])
    changed = client.get("/board/XH/", {"part": "queues", "v": queues_version.group(1)}, headers={"hx-request": "true"})
    assert changed.status_code == 200


class BrokenCache(BaseCache):
    """A cache that fails at every use, as Redis that is down would without django-redis's
    IGNORE_EXCEPTIONS."""

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)

    def __getattribute__(self, name: str) -> Any:
        if name in {"get", "set", "add", "delete", "get_many", "set_many", "incr", "has_key", "touch", "clear"}:
            raise AssertionError(f"the board used the shared cache: {name}")
        return super().__getattribute__(name)


def test_the_board_and_the_queue_page_read_the_database_only(office, passport, counters, clerks, settings, clock):
    """Redis may be down: the board and the queue page never touch the shared cache."""
    issue(office, passport, clerks[0])
    services.counter_open(counter=counters[0], by=clerks[0])
    services.ticket_call_next(counter=counters[0], by=clerks[0])
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": f"{__name__}.BrokenCache"},
    }
    client = signed_in(None)
    for path in ("/board/XH/", "/queues/"):
        for headers in ({}, {"hx-request": "true"}):
            response = client.get(path, headers=headers)
            assert response.status_code == 200, path
    assert "B001" in text(client.get("/board/XH/"))


def queries(client: Client, path: str, **headers: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path, headers=headers).status_code == 200
    return len(captured)


def test_the_board_costs_the_same_few_queries_however_long_the_queue(office, passport, counters, clerks, clock):
    services.counter_open(counter=counters[0], by=clerks[0])
    client = signed_in(None)
    for n in range(12):
        issue(office, passport, clerks[0], minutes=-30 + n)
    for _n in range(9):  # more calls than the board shows
        services.ticket_call_next(counter=counters[0], by=clerks[0])
    client.get("/board/XH/")  # the office read once into the process's configuration cache
    short = (
        queries(client, "/board/XH/", hx_request="true"),
        queries(client, "/board/XH/?part=queues", hx_request="true"),
    )
    for n in range(40):
        issue(office, passport, clerks[0], channel=random.choice(["general", "green"]), minutes=-20 + n / 4)
    calls = queries(client, "/board/XH/", hx_request="true")
    waiting = queries(client, "/board/XH/?part=queues", hx_request="true")
    assert calls == short[0] <= 2  # what is asked for every second: the latest calls, one query
    assert short[1] <= 16 and waiting <= 16  # every few seconds: a few queries, not one a ticket


def test_an_unknown_office_has_no_board(db) -> None:
    assert signed_in(None).get("/board/NOPE/").status_code == 404
    assert signed_in(None).post("/board/XH/").status_code == 405


# --- the public queue page -------------------------------------------------------------------


def test_the_queue_page_gives_the_api_s_figures_for_every_office(office, passport, counters, clerks, clock) -> None:
    walk_in = OfficeFactory.create(code="FY", mode=Office.Mode.WALK_IN_ONLY, name_en="Fuyang Hall")
    counter = Counter.objects.create(office=walk_in, number=1)
    counter.services.set([passport])
    fy_clerk = clerk(walk_in)
    for n in range(3):
        issue(office, passport, clerks[0], minutes=n)
    issue(office, passport, clerks[0], channel="green")
    services.ticket_issue(office=walk_in, service=passport, channel="general", by=fy_clerk, now=NOW)
    services.counter_open(counter=counters[0], by=clerks[0])
    client = signed_in(None)
    client.cookies["django_language"] = "en"
    page = text(client.get("/queues/"))
    for code in ("XH", "FY"):
        card = re.search(
            rf'<li class="card queue-office[^"]*" data-office="{code}" data-waiting="(\d+)">(.*?)</li>', page, re.S
        )
        assert card is not None, code
        api = client.get(f"/api/v1/offices/{code}/queue/").json()
        assert int(card.group(1)) == sum(line["count"] for line in api["waiting"])
        for line in api["waiting"]:
            row = re.search(
                rf'data-queue="{line["queue"]}" data-service="{line["service"]}">.*?data-count>(\d+)</td><td>(\d+) min',
                card.group(2),
                re.S,
            )
            assert row is not None and (int(row.group(1)), int(row.group(2))) == (
                line["count"],
                line["estimated_wait_minutes"],
            )
    assert "Fuyang Hall" in page
    assert 'hx-trigger="every 30s"' in page
    live = client.get("/queues/", headers={"hx-request": "true"})
    assert "<html" not in text(live) and 'data-office="XH"' in text(live)


def test_the_queue_page_points_to_the_quietest_open_office(office, passport, counters, clerks, clock) -> None:
    quiet = OfficeFactory.create(code="BJ", name_en="Binjiang Hall")
    OpeningSession.objects.create(office=quiet, day_kind="weekday", opens_at=time(9), closes_at=time(17))
    closed = OfficeFactory.create(code="CA", name_en="Chun'an Hall")  # no opening hours: never open
    assert closed
    for n in range(3):
        issue(office, passport, clerks[0], minutes=n)
    client = signed_in(None)
    client.cookies["django_language"] = "en"
    quietest = re.search(r'<p class="result queues-quietest">(.*?)</p>', text(client.get("/queues/")), re.S)
    assert quietest is not None and "Binjiang Hall" in quietest.group(1)


def test_the_queue_page_costs_a_fixed_number_of_queries_an_office(db, clock) -> None:
    """Each office's figures are the API's (walkins.selectors.queue_lines, a few queries), so
    the page grows by that much an office: about 16 offices, never a list that grows."""
    client = signed_in(None)
    counts = []
    for n in range(3):
        OfficeFactory.create(code=f"Q{n}")
        counts.append(queries(client, "/queues/"))
    assert counts[2] - counts[1] == counts[1] - counts[0] <= 6
