"""The clerk's pages: check-in, walk-in triage and the counter workstation (/counter/).

Who may open each (the office's clerk and supervisor, not another office's staff, not
anonymous), every action and its bad cases, and hostile input; each refusal is a clear
message with a 4xx and nothing half written."""

import html
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import translation

from appointments.models import Booking
from appointments.views import qr_svg
from bureau.models import Application, Counter, Office, Service
from tests.factories import ApplicationFactory, OfficeFactory, ServiceFactory, clerk, supervisor, walk_in_ticket
from tests.walkins.conftest import BOOKED_ID_NUMBER, NOW, SHANGHAI
from walkins import selectors, services
from walkins.models import CounterShift, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

ID_NUMBER = BOOKED_ID_NUMBER
HTMX = {"HX-Request": "true"}
SLOT_START = datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI)
IN_WINDOW = SLOT_START - timedelta(minutes=10)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[mock.MagicMock]:
    with mock.patch("django.utils.timezone.now", return_value=NOW) as now:
        yield now


def at(frozen: mock.MagicMock, moment: datetime) -> None:
    frozen.return_value = moment


def signed_in(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def text(response: Any) -> str:
    """The page's text as a person reads it: tags dropped, entities unescaped, spaces folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


@pytest.fixture
def other_office() -> Office:
    return OfficeFactory.create(code="GS")


@pytest.fixture
def stranger(other_office: Office) -> User:
    return clerk(other_office, username="stranger")


# --- who may open the pages ------------------------------------------------------------------


PAGES = ["/counter/", "/counter/XH/check-in/", "/counter/XH/triage/"]


@pytest.mark.parametrize("path", PAGES)
def test_the_office_s_clerk_and_supervisor_open_the_pages(path: str, office, counters, clerks) -> None:
    assert signed_in(clerks[0]).get(path).status_code == 200
    assert signed_in(supervisor(office)).get(path).status_code == 200


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_is_sent_to_the_login_page(path: str, office, counters) -> None:
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("path", ["/counter/XH/check-in/", "/counter/XH/triage/", "/counter/?office=XH"])
def test_another_office_s_staff_are_refused(path: str, office, counters, other_office, stranger) -> None:
    for user in (stranger, supervisor(other_office)):
        response = signed_in(user).get(path)
        assert response.status_code == 403
        assert office.name not in response.content.decode()


def test_an_office_that_does_not_exist_is_a_404(office, clerks) -> None:
    assert signed_in(clerks[0]).get("/counter/NOPE/check-in/").status_code == 404
    assert signed_in(clerks[0]).get("/counter/NOPE/triage/").status_code == 404


def test_another_office_s_clerk_sees_only_their_own_counters(office, counters, other_office, stranger) -> None:
    Counter.objects.create(office=other_office, number=7)
    page = signed_in(stranger).get("/counter/")
    assert page.status_code == 200
    assert "Window 7" in text(page) or "7" in text(page)
    assert office.name not in page.content.decode()
    for counter in counters:
        assert f'name="counter" value="{counter.pk}"' not in page.content.decode()


def test_a_supervisor_of_several_offices_picks_the_office(office, counters, other_office) -> None:
    Counter.objects.create(office=other_office, number=7)
    boss = supervisor(office, other_office)
    page = signed_in(boss).get("/counter/?office=GS", headers={"accept-language": "en"})
    assert page.status_code == 200
    assert "Window 7" in text(page) and 'id="office-pick"' in page.content.decode()
    assert f'name="counter" value="{counters[0].pk}"' not in page.content.decode()


# --- check-in ----------------------------------------------------------------------------------


def check_in(client: Client, code: str, **headers: str) -> Any:
    return client.post("/counter/XH/check-in/", {"code": code}, headers=headers)


def test_check_in_by_reference_gives_the_appointment_ticket_printable(
    office, passport, counters, clerks, booking, frozen
) -> None:
    at(frozen, IN_WINDOW)
    client = signed_in(clerks[0])
    services.ticket_issue(office=office, service=passport, channel="general", by=clerks[0])
    response = check_in(client, booking.reference)
    ticket = Ticket.objects.get(booking=booking)
    assert response.status_code == 302
    assert response["Location"] == f"/counter/XH/check-in/?ticket={ticket.pk}"
    page = client.get(response["Location"], headers={"accept-language": "en"})
    shown = text(page)
    assert "Checked in: ticket A001" in shown
    assert "People ahead 0" in shown  # the appointment ranks before the general walk-in
    assert "王*晶" in shown and "09:00" in shown
    assert "data-print" in page.content.decode() and "css/ticket-print.css" in page.content.decode()
    assert ID_NUMBER not in page.content.decode()
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CHECKED_IN


def test_check_in_takes_what_a_scanner_or_a_person_sends(clerks, counters, booking, frozen) -> None:
    at(frozen, IN_WINDOW)
    response = check_in(signed_in(clerks[0]), f"  {booking.reference.lower()}\r\n")
    assert response.status_code == 302
    assert Ticket.objects.filter(booking=booking, number="A001").exists()


def test_checking_in_twice_is_refused_and_shows_the_first_ticket(clerks, counters, booking, frozen) -> None:
    at(frozen, IN_WINDOW)
    client = signed_in(clerks[0])
    check_in(client, booking.reference)
    again = check_in(client, booking.reference, **{"accept-language": "en"})
    assert again.status_code == 400
    assert "This booking was checked in at 08:50: its ticket is A001." in text(again)
    assert "Print the ticket again" in text(again)
    assert Ticket.objects.count() == 1


def test_too_late_marks_the_booking_late_and_offers_a_walk_in_ticket_in_one_click(
    passport, counters, clerks, booking, frozen
) -> None:
    at(frozen, SLOT_START + timedelta(minutes=20))
    client = signed_in(clerks[0])
    late = check_in(client, booking.reference, **{"accept-language": "en"})
    assert late.status_code == 400
    assert "Too late: check-in closed at 09:15" in text(late)
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.LATE
    assert Ticket.objects.count() == 0
    body = late.content.decode()
    assert 'id="walk-in-instead"' in body and f'name="service" value="{passport.pk}"' in body
    assert "Give a walk-in ticket: Ordinary passport · First application" in text(late)
    # The button: one click, a general ticket for the booking's service, without triage questions.
    walk_in = client.post("/counter/XH/triage/", {"service": passport.pk, "channel": "general", "counter_anyway": "on"})
    ticket = Ticket.objects.get()
    assert walk_in.status_code == 302 and walk_in["Location"] == f"/counter/XH/triage/?ticket={ticket.pk}"
    assert (ticket.number, ticket.channel, ticket.booking) == ("B001", "general", None)
    # Scanned again later, the late booking still offers the walk-in ticket.
    again = check_in(client, booking.reference)
    assert again.status_code == 400 and 'id="walk-in-instead"' in again.content.decode()


def test_wrong_office_wrong_day_and_too_early_are_said_clearly(
    office, passport, counters, clerks, booking, other_office, frozen
) -> None:
    there = clerk(other_office, username="there")
    at(frozen, IN_WINDOW)
    wrong_office = signed_in(there).post(
        "/counter/GS/check-in/", {"code": booking.reference}, headers={"accept-language": "en"}
    )
    assert wrong_office.status_code == 400
    assert f"This booking is for {office.name_en}." in text(wrong_office)
    at(frozen, IN_WINDOW + timedelta(days=1))
    wrong_day = check_in(signed_in(clerks[0]), booking.reference, **{"accept-language": "en"})
    assert wrong_day.status_code == 400 and "This booking is for 2 December 2026, not today." in text(wrong_day)
    at(frozen, SLOT_START - timedelta(hours=1))
    early = check_in(signed_in(clerks[0]), booking.reference, **{"accept-language": "en"})
    assert early.status_code == 400 and "Too early: check-in opens at 08:30." in text(early)
    assert 'id="walk-in-instead"' not in early.content.decode()
    assert Ticket.objects.count() == 0
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.BOOKED


def test_another_office_s_clerk_cannot_check_in_here(counters, booking, stranger, frozen) -> None:
    at(frozen, IN_WINDOW)
    assert check_in(signed_in(stranger), booking.reference).status_code == 403
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.BOOKED


def test_look_up_by_id_number_lists_today_s_bookings_without_the_number(clerks, counters, booking, frozen) -> None:
    at(frozen, IN_WINDOW)
    client = signed_in(clerks[0])
    page = client.post("/counter/XH/check-in/", {"id_number": ID_NUMBER.lower()}, headers={"accept-language": "en"})
    assert page.status_code == 200
    body = page.content.decode()
    assert ID_NUMBER not in body and ID_NUMBER.lower() not in body
    assert "Today's bookings here for 330***********123X" in text(page)
    assert f'name="code" value="{booking.reference}"' in body and "王*晶" in body
    assert check_in(client, booking.reference).status_code == 302  # its button


def test_look_up_of_an_id_number_with_no_booking_says_so(clerks, counters, booking, frozen) -> None:
    page = signed_in(clerks[0]).post(
        "/counter/XH/check-in/", {"id_number": "11010519491231002X"}, headers={"accept-language": "en"}
    )
    assert page.status_code == 200
    assert "No booking to check in today at this office for this ID number." in text(page)
    assert "11010519491231002X" not in page.content.decode()


def test_a_bad_id_number_is_the_field_s_error_never_shown_back(clerks, counters) -> None:
    page = signed_in(clerks[0]).post(
        "/counter/XH/check-in/", {"id_number": "330106199001011234"}, headers={"accept-language": "en"}
    )
    assert page.status_code == 400
    assert "The last character of this ID number does not match" in text(page)
    assert "330106199001011234" not in page.content.decode()
    assert "You entered 330***********1234" in text(page)


HOSTILE_CODES = ["\x00", "AB\x1bCD", "\u202eABC", "X" * 10_000, "预约号", "ÄÖÜ-ñ", "'; DROP TABLE x; --", "\u200b"]


@pytest.mark.parametrize("code", HOSTILE_CODES)
def test_hostile_check_in_codes_are_refused_with_a_message(code: str, clerks, counters, booking, frozen) -> None:
    at(frozen, IN_WINDOW)
    for language in ("zh-hans", "en"):
        response = check_in(signed_in(clerks[0]), code, **{"accept-language": language})
        assert response.status_code == 400, (code[:10], response.status_code)
        assert 'class="error"' in response.content.decode() or "refusal-reason" in response.content.decode()
    assert Ticket.objects.count() == 0
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.BOOKED


@pytest.mark.parametrize("value", ["\x00", "3301\x1b0619900101123X", "３" * 40, "x" * 10_000, "王小晶"])
def test_hostile_id_numbers_are_refused_with_a_message(value: str, clerks, counters) -> None:
    response = signed_in(clerks[0]).post("/counter/XH/check-in/", {"id_number": value})
    assert response.status_code == 400
    assert 'class="error"' in response.content.decode()


def test_a_walk_in_only_office_has_no_check_in(clerks, counters, office) -> None:
    Office.objects.filter(pk=office.pk).update(mode=Office.Mode.WALK_IN_ONLY)
    client = signed_in(clerks[0])
    page = client.get("/counter/XH/check-in/", headers={"accept-language": "en"})
    assert page.status_code == 200
    assert "This office takes no appointments" in text(page)
    assert client.post("/counter/XH/check-in/", {"code": "ABCDEFGHJK"}).status_code == 200
    assert Ticket.objects.count() == 0
    nav = client.get("/counter/XH/triage/").content.decode()
    assert "/counter/XH/check-in/" not in nav  # no check-in in its menu


# --- walk-in triage ----------------------------------------------------------------------------


def triage(client: Client, **data: Any) -> Any:
    return client.post("/counter/XH/triage/", data, headers={"accept-language": "en"})


@pytest.mark.parametrize("sent", ["general", "green", "emergency"])
def test_triage_issues_a_general_walk_in_ticket(sent: str, passport, counters, clerks) -> None:
    """The priority channels' tickets come from the priority desk, which checks who may
    have them; a channel sent to triage changes nothing."""
    client = signed_in(clerks[0])
    assert 'href="/counter/XH/priority/"' in client.get("/counter/XH/triage/").content.decode()
    response = triage(client, service=passport.pk, channel=sent)
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/counter/XH/triage/?ticket={ticket.pk}"
    number = "B001"
    assert (ticket.number, ticket.channel, ticket.issued_by) == (number, "general", clerks[0])
    page = client.get(response["Location"], headers={"accept-language": "en"})
    assert f"Ticket {number} issued" in text(page)
    assert "People ahead 0" in text(page) and "You are next" in text(page)


def test_a_clerk_issued_ticket_carries_the_qr_code_of_its_own_page(
    office, passport, counters, clerks, booking, frozen, settings
) -> None:
    """The printed ticket from triage and from check-in leads a phone to the ticket's live
    page on the public site, as the kiosk's ticket does."""
    settings.PUBLIC_BASE_URL = "https://crj.example.gov.cn"
    client = signed_in(clerks[0])
    issued = triage(client, service=passport.pk, channel="general")
    at(frozen, IN_WINDOW)
    checked_in = check_in(client, booking.reference)
    for response in (issued, checked_in):
        ticket = Ticket.objects.get(pk=response["Location"].rsplit("=", 1)[1])
        follow = f"https://crj.example.gov.cn/ticket/{ticket.pk}/{selectors.ticket_signature(ticket.pk)}/"
        assert selectors.ticket_page_url(ticket.pk) == follow
        page = client.get(response["Location"]).content.decode()
        assert str(qr_svg(follow)) in page, ticket.number
        assert Client().get(follow.removeprefix("https://crj.example.gov.cn")).status_code == 200


def test_the_ticket_says_how_many_are_ahead_and_how_long(office, passport, counters, clerks) -> None:
    client = signed_in(clerks[0])
    for _ in range(3):
        triage(client, service=passport.pk, channel="general")
    last = Ticket.objects.order_by("-id")[0]
    page = client.get(f"/counter/XH/triage/?ticket={last.pk}", headers={"accept-language": "en"})
    assert "People ahead 2" in text(page)
    assert "Estimated wait about 16 minutes" in text(page)  # 2 x the typical 8 minutes, one counter


@pytest.mark.parametrize(
    ("situation", "reason"),
    [
        (
            {"permit": "chip_card", "residency": "in_province", "endorsement": "individual"},
            "Endorsement only, on a chip-card permit: the self-service endorsement machines do it",
        ),
        (
            {"permit": "chip_card", "residency": "out_of_province", "endorsement": "group_tour"},
            "Out-of-province resident, group-tour endorsement on a chip-card permit",
        ),
    ],
)
def test_an_eligible_endorsement_goes_to_the_machines_with_the_reason(
    situation: dict[str, str], reason: str, endorsement, counters, clerks
) -> None:
    client = signed_in(clerks[0])
    page = triage(client, service=endorsement.pk, channel="general", **situation)
    assert page.status_code == 200
    assert "Self-service endorsement machine" in text(page) and reason in text(page)
    assert "No ticket was issued." in text(page)
    assert Ticket.objects.count() == 0
    # "Counter ticket anyway": the machine is out of order, or the applicant needs help.
    anyway = triage(client, service=endorsement.pk, channel="general", counter_anyway="on")
    assert anyway.status_code == 302
    assert Ticket.objects.get().service == endorsement


@pytest.mark.parametrize(
    ("situation", "reason"),
    [
        ({"permit": "booklet", "residency": "in_province", "endorsement": "individual"}, "An old booklet permit"),
        (
            {"permit": "chip_card", "residency": "out_of_province", "endorsement": "individual"},
            "Out-of-province residents can use the self-service machines for group-tour endorsements only.",
        ),
        (
            {"permit": "chip_card", "residency": "in_province", "endorsement": "business"},
            "This endorsement needs documents checked at a counter.",
        ),
    ],
)
def test_an_endorsement_the_machines_cannot_do_gets_a_ticket_with_the_reason(
    situation: dict[str, str], reason: str, endorsement, counters, clerks
) -> None:
    client = signed_in(clerks[0])
    response = triage(client, service=endorsement.pk, channel="general", **situation)
    assert response.status_code == 302
    page = client.get(response["Location"], headers={"accept-language": "en"})
    assert "Ticket B001 issued" in text(page) and reason in text(page)


def test_an_endorsement_without_the_situation_names_each_missing_answer(endorsement, counters, clerks) -> None:
    page = triage(signed_in(clerks[0]), service=endorsement.pk, channel="general")
    assert page.status_code == 400
    for field in ("permit", "residency", "endorsement"):
        assert f'id="id_{field}_error"' in page.content.decode()
    assert Ticket.objects.count() == 0


def test_a_passport_needs_no_situation(passport, counters, clerks) -> None:
    assert triage(signed_in(clerks[0]), service=passport.pk, channel="general").status_code == 302


@pytest.mark.parametrize(
    "data",
    [
        {"channel": "general"},
        {"service": "", "channel": "general"},
        {"service": "9" * 30, "channel": "general"},
        {"service": "-1", "channel": "general"},
        {"service": "abc\x00", "channel": "general"},
        {
            "service": "PASSPORT",
            "channel": "general",
            "permit": "\x1b",
            "residency": "火星",
            "endorsement": "x" * 10_000,
        },
    ],
)
def test_bad_triage_input_is_the_field_s_error_and_writes_nothing(
    data: dict[str, str], passport, counters, clerks
) -> None:
    data = {k: (str(passport.pk) if v == "PASSPORT" else v) for k, v in data.items()}
    for language in ("zh-hans", "en"):
        response = signed_in(clerks[0]).post("/counter/XH/triage/", data, headers={"accept-language": language})
        assert response.status_code == 400, data
        assert 'class="error"' in response.content.decode()
    assert Ticket.objects.count() == 0


def test_a_service_no_counter_here_serves_is_refused(office, counters, clerks) -> None:
    taiwan = ServiceFactory.create(document="taiwan", business="first")
    response = triage(signed_in(clerks[0]), service=taiwan.pk, channel="general")
    assert response.status_code == 400
    assert Ticket.objects.count() == 0


def test_another_office_s_clerk_cannot_issue_here(passport, counters, stranger) -> None:
    assert triage(signed_in(stranger), service=passport.pk, channel="general").status_code == 403
    assert Ticket.objects.count() == 0


def test_a_walk_in_only_office_triages_the_same_way(office, passport, counters, clerks) -> None:
    Office.objects.filter(pk=office.pk).update(mode=Office.Mode.WALK_IN_ONLY)
    response = triage(signed_in(clerks[0]), service=passport.pk)
    assert response.status_code == 302
    assert Ticket.objects.get().number == "B001"


def test_a_ticket_of_another_office_or_nonsense_in_the_address_shows_nothing(
    passport, counters, clerks, other_office
) -> None:
    Counter.objects.create(office=other_office, number=1).services.set([passport])
    theirs = services.ticket_issue(
        office=other_office, service=passport, channel="general", by=clerk(other_office, username="x")
    )
    client = signed_in(clerks[0])
    for value in (str(theirs.pk), "-1", "abc", "9" * 40, "\x00"):
        page = client.get("/counter/XH/triage/", {"ticket": value})
        assert page.status_code == 200
        assert theirs.number not in page.content.decode()


# --- the counter workstation -------------------------------------------------------------------


def act(client: Client, action: str, counter: Counter, htmx: bool = False, **data: Any) -> Any:
    headers = {**(HTMX if htmx else {}), "accept-language": "en"}
    return client.post("/counter/act/", {"action": action, "counter": counter.pk, **data}, headers=headers)


def issue(office: Office, service: Service, by: User, channel: str = "general") -> Ticket:
    return walk_in_ticket(office=office, service=service, channel=channel, by=by)


def test_a_clerk_opens_a_counter_and_sees_its_workstation(office, counters, clerks) -> None:
    client = signed_in(clerks[0])
    opener = client.get("/counter/", headers={"accept-language": "en"})
    assert "Open a counter" in text(opener) and "Open window 1" in text(opener) and "Enterprise window" in text(opener)
    opened = act(client, "open", counters[0])
    assert opened.status_code == 302 and opened["Location"] == "/counter/"
    page = client.get("/counter/", headers={"accept-language": "en"})
    assert "Window free" in text(page) and 'id="act-call_next"' in page.content.decode()
    assert re.search(r'id="act-call_next" class="act primary"', page.content.decode())  # the obvious action
    assert 'hx-get="/counter/panel/" hx-trigger="every 5s"' in page.content.decode()
    assert CounterShift.objects.get(closed_at__isnull=True).counter == counters[0]


def test_the_opener_shows_who_staffs_a_counter_and_refuses_it(office, counters, clerks) -> None:
    act(signed_in(clerks[0]), "open", counters[0])
    client = signed_in(clerks[1])
    opener = client.get("/counter/", headers={"accept-language": "en"})
    assert "Staffed by clerk-1 since 10:00" in text(opener)
    taken = act(client, "open", counters[0])
    assert taken.status_code == 409 and "Another clerk staffs this counter." in text(taken)
    assert CounterShift.objects.filter(closed_at__isnull=True).count() == 1


def test_a_clerk_staffs_one_counter_at_a_time(counters, clerks) -> None:
    client = signed_in(clerks[0])
    act(client, "open", counters[0])
    busy = act(client, "open", counters[1])
    assert busy.status_code == 409 and "You already staff window 1. Close it first." in text(busy)


def test_call_serve_and_accept_the_application_then_call_again(office, passport, counters, clerks) -> None:
    client = signed_in(clerks[0])
    act(client, "open", counters[0])
    first = issue(office, passport, clerks[0])
    second = issue(office, passport, clerks[0], "green")
    called = act(client, "call_next", counters[0], htmx=True)
    assert called.status_code == 200
    shown = text(called)
    assert "Called G001 to window 1." in shown and "Now serving" in shown and "G001" in shown
    assert 'id="act-complete" class="act primary"' in called.content.decode()  # serving: complete
    assert f'href="/applications/new/?ticket={second.pk}"' in called.content.decode()
    assert 'hx-swap-oob="innerHTML"' in called.content.decode()
    done = act(client, "complete", counters[0], htmx=True)
    assert "G001 served." in text(done) and "Served" in text(done)
    # Served: accepting the application is the obvious next step, calling the next one also there.
    assert re.search(
        rf'class="button act primary" id="act-accept" href="/applications/new/\?ticket={second.pk}"',
        done.content.decode(),
    )
    assert Ticket.objects.get(pk=second.pk).status == Ticket.Status.COMPLETED
    application = ApplicationFactory.create(office=office, service=passport, accepted_on=NOW.date())
    assert services.ticket_link_application(
        ticket=Ticket.objects.get(pk=second.pk), application=application, by=clerks[0]
    )
    panel = client.get("/counter/panel/", headers={**HTMX, "accept-language": "en"})
    assert application.reference in text(panel) and "Accept another application" in text(panel)
    assert re.search(r'id="act-call_next" class="act primary"', panel.content.decode())  # then: call next
    act(client, "call_next", counters[0], htmx=True)
    assert Ticket.objects.get(pk=first.pk).status == Ticket.Status.CALLED


def test_call_next_with_nobody_waiting_says_so(counters, clerks) -> None:
    client = signed_in(clerks[0])
    act(client, "open", counters[0])
    response = act(client, "call_next", counters[0])
    assert response.status_code == 302
    assert "Nobody is waiting for this window's services." in text(
        client.get("/counter/", headers={"accept-language": "en"})
    )


def test_recall_counts_then_marks_missed(office, passport, counters, clerks) -> None:
    client = signed_in(clerks[0])
    act(client, "open", counters[0])
    issue(office, passport, clerks[0])
    act(client, "call_next", counters[0])
    for recalls in (1, 2):
        page = act(client, "recall", counters[0], htmx=True)
        assert "Called B001 again." in text(page) and f"{recalls} / 2" in text(page)
    assert "the next recall marks it missed" in text(page)
    missed = act(client, "recall", counters[0], htmx=True)
    assert "B001 did not come after the last recall: marked missed." in text(missed)
    assert Ticket.objects.get().status == Ticket.Status.MISSED
    assert "Window free" in text(missed) and "Last: B001, missed after recalls" in text(missed)


def test_no_show_park_resume_and_transfer(office, passport, endorsement, counters, clerks) -> None:
    client = signed_in(clerks[0])
    act(client, "open", counters[0])
    a, b = issue(office, passport, clerks[0]), issue(office, passport, clerks[0])
    act(client, "call_next", counters[0])
    parked = act(client, "park", counters[0], htmx=True)
    assert "B001 parked" in text(parked) and "Parked tickets" in text(parked)
    assert (
        f'name="ticket" value="{a.pk}"' in parked.content.decode()
        and 'aria-keyshortcuts="1"' in parked.content.decode()
    )
    act(client, "call_next", counters[0])
    busy = act(client, "resume", counters[0], htmx=True, ticket=a.pk)
    assert busy.status_code == 409 and "Finish the current ticket first." in text(busy)
    no_show = act(client, "no_show", counters[0], htmx=True)
    assert "B002 marked as no-show." in text(no_show)
    assert Ticket.objects.get(pk=b.pk).status == Ticket.Status.NO_SHOW
    resumed = act(client, "resume", counters[0], htmx=True, ticket=a.pk)
    assert resumed.status_code == 200 and "B001 resumed at window 1." in text(resumed)
    moved = act(client, "transfer", counters[0], htmx=True, service=endorsement.pk)
    assert "B001 sent to the queue of" in text(moved)
    ticket = Ticket.objects.get(pk=a.pk)
    assert (ticket.status, ticket.service) == (Ticket.Status.WAITING, endorsement)
    actions = list(TicketEvent.objects.filter(ticket=a).values_list("action", "counter__number", "by__username"))
    assert actions[-3:] == [("parked", 1, "clerk-1"), ("resumed", 1, "clerk-1"), ("transferred", 1, "clerk-1")]


def test_transfer_needs_a_service_and_not_the_same_one(office, passport, counters, clerks) -> None:
    client = signed_in(clerks[0])
    act(client, "open", counters[0])
    issue(office, passport, clerks[0])
    act(client, "call_next", counters[0])
    assert act(client, "transfer", counters[0], htmx=True).status_code == 400
    same = act(client, "transfer", counters[0], htmx=True, service=passport.pk)
    assert same.status_code == 400 and "The ticket is already for this service." in text(same)
    nowhere = act(client, "transfer", counters[0], htmx=True, service=999_999)
    assert nowhere.status_code == 400
    assert Ticket.objects.get().status == Ticket.Status.CALLED


def test_calling_at_a_closed_counter_is_refused(office, passport, counters, clerks) -> None:
    issue(office, passport, clerks[0])
    response = act(signed_in(clerks[0]), "call_next", counters[0])
    assert response.status_code == 409
    assert "This counter is not open. Open it first." in text(response)
    assert Ticket.objects.get().status == Ticket.Status.WAITING


def test_completing_when_nothing_is_served_is_refused(counters, clerks) -> None:
    client = signed_in(clerks[0])
    act(client, "open", counters[0])
    for action in ("complete", "recall", "no_show", "park"):
        response = act(client, action, counters[0], htmx=True)
        assert response.status_code == 409, action
        assert "This counter is not serving a ticket." in text(response)
        assert 'role="alert"' in response.content.decode()


def test_a_counter_another_clerk_staffs_refuses_every_action(office, passport, counters, clerks) -> None:
    act(signed_in(clerks[0]), "open", counters[0])
    issue(office, passport, clerks[0])
    act(signed_in(clerks[0]), "call_next", counters[0])
    intruder = signed_in(clerks[1])
    for action in ("call_next", "recall", "complete", "no_show", "park", "close"):
        response = act(intruder, action, counters[0])
        assert response.status_code == 403, action
        assert "Another clerk staffs this counter." in text(response)
    assert Ticket.objects.get().status == Ticket.Status.CALLED
    assert CounterShift.objects.get(closed_at__isnull=True).clerk == clerks[0]


def test_another_office_s_clerk_cannot_touch_this_office_s_counters(counters, stranger) -> None:
    for action in ("open", "call_next", "close"):
        response = act(signed_in(stranger), action, counters[0])
        assert response.status_code == 403
    assert not CounterShift.objects.exists()


def test_closing_with_a_ticket_open_is_refused_then_closes(office, passport, counters, clerks) -> None:
    client = signed_in(clerks[0])
    act(client, "open", counters[0])
    issue(office, passport, clerks[0])
    act(client, "call_next", counters[0])
    refused = act(client, "close", counters[0])
    assert refused.status_code == 409 and "Finish, park or transfer the current ticket first." in text(refused)
    act(client, "complete", counters[0])
    closed = act(client, "close", counters[0])
    assert closed.status_code == 302
    assert "Window 1 is closed." in text(client.get("/counter/", headers={"accept-language": "en"}))
    assert not CounterShift.objects.filter(closed_at__isnull=True).exists()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"action": "dance", "counter": "1"},
        {"action": "call_next"},
        {"action": "call_next", "counter": "-3"},
        {"action": "call_next", "counter": "9" * 40},
        {"action": "call_next", "counter": "1\x00"},
        {"action": "\u202ecall_next", "counter": "1"},
        {"action": "resume", "counter": "COUNTER"},
        {"action": "resume", "counter": "COUNTER", "ticket": "x" * 10_000},
        {"action": "transfer", "counter": "COUNTER", "service": "-1"},
    ],
)
def test_bad_action_input_is_a_400_with_a_message(data: dict[str, str], counters, clerks) -> None:
    client = signed_in(clerks[0])
    act(client, "open", counters[0])
    data = {k: (str(counters[0].pk) if v == "COUNTER" else v) for k, v in data.items()}
    for headers in ({}, HTMX):
        response = client.post("/counter/act/", data, headers={**headers, "accept-language": "en"})
        assert response.status_code == 400, data
        assert 'role="alert"' in response.content.decode()


def test_a_counter_that_does_not_exist_is_a_404(clerks, counters) -> None:
    response = signed_in(clerks[0]).post("/counter/act/", {"action": "call_next", "counter": 987654})
    assert response.status_code == 404


def test_resuming_a_ticket_that_is_not_parked_is_refused(office, passport, counters, clerks) -> None:
    client = signed_in(clerks[0])
    act(client, "open", counters[0])
    waiting = issue(office, passport, clerks[0])
    response = act(client, "resume", counters[0], htmx=True, ticket=waiting.pk)
    assert response.status_code == 409 and "This ticket is not parked." in text(response)


def test_the_panel_refreshes_counts_from_the_database(office, passport, endorsement, counters, clerks) -> None:
    client = signed_in(clerks[0])
    act(client, "open", counters[0])
    before = client.get("/counter/panel/", headers={**HTMX, "accept-language": "en"})
    assert before.status_code == 200 and before.content.decode().lstrip().startswith('<div id="workstation"')
    assert "Nobody is waiting for this window's services." in text(before)
    issue(office, passport, clerks[0])
    issue(office, passport, clerks[0])
    issue(office, endorsement, clerks[0], "green")
    after = client.get("/counter/panel/", headers={**HTMX, "accept-language": "en"})
    assert re.search(r"Waiting for this window 3", text(after))
    assert re.search(r"B General walk-in Ordinary passport · First application 2", text(after))
    assert re.search(r"G Green channel .*Endorsement 1", text(after))
    assert text(after).index("G Green channel") < text(after).index("B General walk-in")  # in calling order


def test_the_panel_reloads_the_page_once_the_counter_is_closed_elsewhere(counters, clerks) -> None:
    client = signed_in(clerks[0])
    act(client, "open", counters[0])
    services.counter_close(counter=counters[0], by=clerks[0])
    panel = client.get("/counter/panel/", headers=HTMX)
    assert panel.status_code == 200 and panel["HX-Refresh"] == "true"
    assert client.get("/counter/panel/").status_code == 302  # not htmx: the page


def test_the_current_appointment_shows_the_masked_name_only(office, counters, clerks, booking, frozen) -> None:
    at(frozen, IN_WINDOW)
    client = signed_in(clerks[0])
    check_in(client, booking.reference)
    act(client, "open", counters[0])
    page = act(client, "call_next", counters[0], htmx=True)
    assert "A001" in text(page) and "王*晶 · 09:00" in text(page)
    assert "王小晶" not in page.content.decode() and ID_NUMBER not in page.content.decode()


def test_pages_speak_chinese_by_default(office, counters, clerks) -> None:
    with translation.override("zh-hans"):
        page = signed_in(clerks[0]).get("/counter/XH/triage/")
    assert "办理业务" in page.content.decode()  # the translated labels the core has


# --- linking the applications accepted for a ticket -------------------------------------------


@pytest.fixture
def served(office, passport, counters, clerks) -> Ticket:
    services.counter_open(counter=counters[0], by=clerks[0])
    issue(office, passport, clerks[0])
    services.ticket_call_next(counter=counters[0], by=clerks[0])
    return services.ticket_complete(counter=counters[0], by=clerks[0])


def test_an_application_is_linked_once_with_an_event(office, passport, served, clerks) -> None:
    application = ApplicationFactory.create(office=office, service=passport, accepted_on=NOW.date())
    assert services.ticket_link_application(ticket=served, application=application, by=clerks[0]) is True
    assert services.ticket_link_application(ticket=served, application=application, by=clerks[0]) is False
    assert list(served.applications.all()) == [application]
    event = TicketEvent.objects.filter(ticket=served).last()
    assert event is not None and (event.action, event.counter_id, event.by) == ("linked", served.counter_id, clerks[0])


def test_a_link_across_offices_days_or_to_an_unserved_ticket_is_refused(
    office, passport, served, clerks, other_office, counters
) -> None:
    from bureau.services import Conflict, DomainError, NotAllowed

    theirs = ApplicationFactory.create(office=other_office, service=passport, accepted_on=NOW.date())
    with pytest.raises(DomainError) as wrong_office:
        services.ticket_link_application(ticket=served, application=theirs, by=clerks[0])
    assert wrong_office.value.code == "wrong_office"
    old = ApplicationFactory.create(office=office, service=passport, accepted_on=NOW.date() - timedelta(days=1))
    with pytest.raises(DomainError) as wrong_day:
        services.ticket_link_application(ticket=served, application=old, by=clerks[0])
    assert wrong_day.value.code == "wrong_day"
    waiting = issue(office, passport, clerks[0])
    today = ApplicationFactory.create(office=office, service=passport, accepted_on=NOW.date())
    with pytest.raises(Conflict):
        services.ticket_link_application(ticket=waiting, application=today, by=clerks[0])
    with pytest.raises(NotAllowed):
        services.ticket_link_application(ticket=served, application=today, by=clerk(other_office, username="o"))
    assert not Application.tickets.through.objects.exists()


def test_the_acceptance_follower_links_the_ticket_the_page_carried(office, passport, served, clerks) -> None:
    from bureau.services import DomainError

    application = ApplicationFactory.create(office=office, service=passport, accepted_on=NOW.date())
    services.application_accepted_link_ticket(application=application, by=clerks[0], arrival={})
    assert not served.applications.exists()
    services.application_accepted_link_ticket(application=application, by=clerks[0], arrival={"ticket": str(served.pk)})
    assert list(served.applications.all()) == [application]
    for bad in ("abc", "-1", "9" * 30, "\x00", "999999"):
        with pytest.raises(DomainError) as refused:
            services.application_accepted_link_ticket(application=application, by=clerks[0], arrival={"ticket": bad})
        assert refused.value.field == "ticket"


def test_the_booking_behind_an_application_opens_from_it(
    office, passport, counters, clerks, booking, frozen, other_office, stranger
) -> None:
    """Check in, serve, accept: the application page links the booking; its page shows the
    booking masked, its ticket and the application, to the office's clerks only."""
    at(frozen, IN_WINDOW)
    services.ticket_check_in(code=booking.reference, office=office, by=clerks[0])
    services.counter_open(counter=counters[0], by=clerks[0])
    ticket = services.ticket_call_next(counter=counters[0], by=clerks[0])
    assert ticket is not None
    application = ApplicationFactory.create(office=office, service=passport, accepted_on=NOW.date())
    services.ticket_link_application(ticket=ticket, application=application, by=clerks[0])
    client = signed_in(clerks[0])
    detail = client.get(f"/applications/{application.reference}/", headers={"accept-language": "en"})
    link = f"/counter/XH/bookings/{booking.reference}/"
    assert f'href="{link}"' in detail.content.decode()
    page = client.get(link, headers={"accept-language": "en"})
    assert page.status_code == 200
    shown = text(page)
    assert f"Booking {booking.reference}" in shown and "王*晶" in shown and "A001" in shown
    assert application.reference in shown and "Checked in" in shown
    assert ID_NUMBER not in page.content.decode() and "王小晶" not in page.content.decode()
    assert client.get(f"/counter/XH/bookings/{booking.reference.lower()}/").status_code == 200
    assert client.get("/counter/XH/bookings/NOSUCHBOOK/").status_code == 404
    assert signed_in(stranger).get(link).status_code == 403
    assert signed_in(None).get(link).status_code == 302
