"""The clerk's application pages as a clerk uses them (issue 8): the "accepted" message, the
applicant's receipt, search and filters on the list, the confirmation before a step that
cannot be undone, and the hooks through which the higher floors link the ticket and the
booking that brought the applicant (bureau.services.application_accepted_followers,
bureau.selectors.application_arrival_describers)."""

import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from bureau import selectors, services
from bureau.models import Application, ApplicationEvent, Office, Service
from bureau.selectors import ArrivalLink
from bureau.services import DomainError
from tests.factories import ApplicationFactory, OfficeFactory, ServiceFactory, UserFactory, clerk, supervisor

pytestmark = pytest.mark.django_db

ID_NUMBER = "33010619900101123X"  # the factory's
OTHER_ID = "11010519491231002X"
MASKED = "330***********123X"
EN = {"accept-language": "en"}


def _no_full_id(page: str, number: str = ID_NUMBER) -> None:
    """Neither the number nor the number as typed in groups is anywhere in the page."""
    assert number not in page
    assert number.lower() not in page
    assert number[:-4] not in page  # not even most of it


@pytest.fixture
def office() -> Office:
    return OfficeFactory.create(code="XH", name_zh="西湖出入境接待大厅", name_en="West Lake Exit-Entry Hall")


@pytest.fixture
def service() -> Service:
    return ServiceFactory.create()


@pytest.fixture
def desk(office: Office) -> User:
    return clerk(office)


@pytest.fixture
def signed_in(client: Client, desk: User) -> Client:
    client.force_login(desk)
    return client


def _accept_form(office: Office, service: Service, **changes: Any) -> dict[str, Any]:
    return {
        "office": office.pk,
        "service": service.pk,
        "applicant_name": "王小晶",
        "id_number": ID_NUMBER,
        **changes,
    }


@pytest.fixture
def followers() -> Iterator[list[services.ApplicationAcceptedFollower]]:
    """The acceptance followers, emptied for the test (walkins' own is tested in walkins)."""
    registered: list[services.ApplicationAcceptedFollower] = []
    with mock.patch.object(services, "application_accepted_followers", registered):
        yield registered


@pytest.fixture
def describers() -> Iterator[list[selectors.ArrivalDescriber]]:
    registered: list[selectors.ArrivalDescriber] = []
    with mock.patch.object(selectors, "application_arrival_describers", registered):
        yield registered


# --- 1. the "accepted" message -------------------------------------------------------------------


@pytest.mark.usefixtures("official_calendar", "followers")
def test_accepting_shows_accepted_once_with_reference_due_date_and_next_steps(
    signed_in: Client, office: Office, service: Service, django_capture_on_commit_callbacks
) -> None:
    with (
        mock.patch("bureau.selectors.office_today", return_value=date(2026, 9, 30)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = signed_in.post("/applications/new/", _accept_form(office, service), headers=EN)
    application = Application.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/applications/{application.reference}/"

    page = signed_in.get(response["Location"], headers=EN).content.decode()
    panel = page[page.index('<section class="accepted"') : page.index("</section>")]
    assert "Application accepted" in panel
    assert f'<strong class="ref">{application.reference}</strong>' in panel
    assert "Ready by <strong>15 October 2026</strong>" in panel  # 7 working days, National Day week
    assert "hx-get" not in panel  # nothing left to wait for
    assert "Print the receipt and give it to the applicant." in panel
    assert f'href="/applications/{application.reference}/receipt/"' in panel
    assert "look up the status online with the reference and their ID number" in panel
    assert '<a class="button" href="/applications/new/">Accept another application</a>' in panel
    assert "<title>Application accepted · " in page
    _no_full_id(page)

    again = signed_in.get(response["Location"], headers=EN).content.decode()
    assert "Application accepted" not in again  # said once; the page itself stays
    assert f'href="/applications/{application.reference}/receipt/"' in again


@pytest.mark.usefixtures("official_calendar", "followers")
def test_accepted_message_says_the_due_date_is_being_computed_and_polls_for_it(
    signed_in: Client, office: Office, service: Service
) -> None:
    # No on-commit callbacks run: the deadline task has not been sent yet.
    response = signed_in.post("/applications/new/", _accept_form(office, service), headers=EN)
    application = Application.objects.get()
    assert application.due_on is None
    page = signed_in.get(response["Location"], headers=EN).content.decode()
    assert "The issuance date is being computed; it appears here within a few seconds." in page
    poll = f'hx-get="/applications/{application.reference}/?part=accepted"'
    assert poll in page

    fragment = signed_in.get(
        f"/applications/{application.reference}/?part=accepted", headers={**EN, "hx-request": "true"}
    )
    assert fragment.content.decode().startswith('<p class="accepted-due" id="accepted-due"')
    assert poll in fragment.content.decode()

    services.application_compute_deadline(application_id=application.pk)
    application.refresh_from_db()
    fragment = signed_in.get(
        f"/applications/{application.reference}/?part=accepted", headers={**EN, "hx-request": "true"}
    )
    text = fragment.content.decode()
    assert "hx-get" not in text  # the poll stops
    assert "Ready by <strong>" in text
    assert "<h1>" not in text and "<html" not in text
    assert fragment["Vary"].count("HX-Request") == 1


def test_accepted_message_says_a_provisional_date_may_change(signed_in: Client, office: Office) -> None:
    application = ApplicationFactory.create(office=office, due_on=date(2027, 3, 2), provisional=True)
    signed_in.get("/")  # a session exists
    session = signed_in.session
    session["bureau:just-accepted"] = {"reference": application.reference, "ticket": None}
    session.save()
    page = signed_in.get(f"/applications/{application.reference}/", headers=EN).content.decode()
    assert "provisional" in page
    assert "the date may still change" in page


def test_accepted_message_belongs_to_its_own_application(signed_in: Client, office: Office) -> None:
    shown, other = ApplicationFactory.create_batch(2, office=office)
    signed_in.get("/")
    session = signed_in.session
    session["bureau:just-accepted"] = {"reference": shown.reference, "ticket": None}
    session.save()
    assert "Application accepted" not in signed_in.get(f"/applications/{other.reference}/", headers=EN).content.decode()
    assert "Application accepted" in signed_in.get(f"/applications/{shown.reference}/", headers=EN).content.decode()


# --- 5. the ticket that brought the applicant: the acceptance followers ---------------------------


def test_accept_page_carries_the_counters_ticket_in_a_hidden_field(signed_in: Client) -> None:
    page = signed_in.get("/applications/new/?ticket=42", headers=EN).content.decode()
    assert '<input type="hidden" name="ticket" value="42" id="id_ticket">' in page
    assert "linked to the ticket being served at your counter" in page


@pytest.mark.parametrize("value", ["abc", "0", "-3", "1e3", "4" * 10, "٤٢", "42\x00", "4 2", "x" * 10_000])
def test_accept_page_ignores_a_ticket_that_is_no_ticket_id(signed_in: Client, value: str) -> None:
    response = signed_in.get("/applications/new/", {"ticket": value}, headers=EN)
    page = response.content.decode()
    assert response.status_code == 200
    assert '<input type="hidden" name="ticket" id="id_ticket">' in page
    assert "linked to the ticket" not in page


def test_acceptance_tells_the_followers_in_its_transaction_with_the_ticket(
    signed_in: Client, desk: User, office: Office, service: Service, followers: list[Any]
) -> None:
    calls: list[dict[str, Any]] = []

    def follower(*, application: Application, by: User, arrival: Mapping[str, str]) -> None:
        calls.append(
            {
                "application": application.pk,
                "saved": Application.objects.filter(pk=application.pk).exists(),
                "by": by,
                "arrival": dict(arrival),
                "atomic": connection.in_atomic_block,
            }
        )

    services.application_accepted_follow(follower)
    services.application_accepted_follow(follower)  # registered once
    response = signed_in.post("/applications/new/", _accept_form(office, service, ticket="42"), headers=EN)
    application = Application.objects.get()
    assert calls == [
        {"application": application.pk, "saved": True, "by": desk, "arrival": {"ticket": "42"}, "atomic": True}
    ]
    page = signed_in.get(response["Location"], headers=EN).content.decode()
    assert (
        '<a class="button" href="/applications/new/?ticket=42">Accept another application from this ticket</a>' in page
    )

    calls.clear()
    signed_in.post("/applications/new/", _accept_form(office, service, id_number=OTHER_ID), headers=EN)
    assert [call["arrival"] for call in calls] == [{}]


def test_a_follower_that_refuses_the_ticket_refuses_the_acceptance_and_nothing_is_written(
    signed_in: Client, office: Office, service: Service, followers: list[Any]
) -> None:
    def follower(*, application: Application, by: User, arrival: Mapping[str, str]) -> None:
        raise DomainError("This ticket belongs to another office.", field="ticket", code="ticket_elsewhere")

    services.application_accepted_follow(follower)
    response = signed_in.post("/applications/new/", _accept_form(office, service, ticket="42"), headers=EN)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<li>This ticket belongs to another office.</li>" in page  # above the form, not on a hidden field
    assert '<input type="hidden" name="ticket" value="42" id="id_ticket">' in page  # still carried
    assert (Application.objects.count(), ApplicationEvent.objects.count()) == (0, 0)
    _no_full_id(page)


@pytest.mark.parametrize("value", ["abc", "0", "1" * 10, "\x00", "4\u202e2"])
def test_accept_refuses_a_tampered_ticket_field_and_writes_nothing(
    signed_in: Client, office: Office, service: Service, followers: list[Any], value: str
) -> None:
    response = signed_in.post("/applications/new/", _accept_form(office, service, ticket=value), headers=EN)
    assert response.status_code == 200
    assert "Ticket:" in response.content.decode()  # the summary names it
    assert Application.objects.count() == 0


def test_the_api_acceptance_tells_the_followers_with_no_arrival(office: Office, service: Service, desk: User) -> None:
    arrivals: list[Mapping[str, str]] = []
    with mock.patch.object(services, "application_accepted_followers", []):
        services.application_accepted_follow(lambda *, application, by, arrival: arrivals.append(arrival))
        services.application_accept(
            office=office, service=service, applicant_name="王小晶", id_number=ID_NUMBER, expedited=False, by=desk
        )
    assert arrivals == [{}]


# --- 5. the booking that brought the applicant: the arrival describers ----------------------------


def test_detail_lists_what_the_describers_say_brought_the_applicant(
    signed_in: Client, office: Office, describers: list[Any]
) -> None:
    application = ApplicationFactory.create(office=office)
    seen: list[Application] = []

    def describer(about: Application) -> list[ArrivalLink]:
        seen.append(about)
        return [
            ArrivalLink(label="Ticket", text="B023 <10:42>"),
            ArrivalLink(label="Booking", text="BK7Q2M", url="/counter/bookings/BK7Q2M/"),
        ]

    page = signed_in.get(f"/applications/{application.reference}/", headers=EN).content.decode()
    assert "Came with" not in page  # nobody registered: no row

    selectors.application_arrival_describe(describer)
    selectors.application_arrival_describe(describer)
    page = signed_in.get(f"/applications/{application.reference}/", headers=EN).content.decode()
    assert seen == [application]
    assert "<dt>Came with</dt>" in page
    assert "<li>Ticket: B023 &lt;10:42&gt;</li>" in page
    assert '<li>Booking: <a href="/counter/bookings/BK7Q2M/">BK7Q2M</a></li>' in page


def test_detail_without_an_arrival_shows_no_arrival_row(
    signed_in: Client, office: Office, describers: list[Any]
) -> None:
    application = ApplicationFactory.create(office=office)
    selectors.application_arrival_describe(lambda about: [])
    page = signed_in.get(f"/applications/{application.reference}/", headers=EN).content.decode()
    assert "Came with" not in page


# --- 2. the receipt ------------------------------------------------------------------------------


def test_receipt_carries_both_languages_and_never_the_id_number_or_full_name(signed_in: Client, office: Office) -> None:
    application = ApplicationFactory.create(
        office=office, accepted_on=date(2026, 9, 30), due_on=date(2026, 10, 15), reference="RCPT2345XY"
    )
    response = signed_in.get("/applications/RCPT2345XY/receipt/")
    page = response.content.decode()
    assert response.status_code == 200
    receipt = page[page.index('<article class="receipt"') :]
    assert receipt.count("RCPT2345XY") == 3  # the big one, then once in each language
    for text in (
        "王*晶",
        MASKED,
        "西湖出入境接待大厅",
        "West Lake Exit-Entry Hall",
        "2026年10月15日",
        "15 October 2026",
        "2026年9月30日",
        "30 September 2026",
        "受理编号",
        "Reference",
        "Ready by",
        "http://testserver/status/",
        'lang="en"',
        'lang="zh-hans"',
        application.service.name,  # in the page's language
    ):
        assert text in receipt, text
    assert receipt.count("http://testserver/status/") == 2
    assert "王小晶" not in page
    _no_full_id(page)


def test_receipt_says_when_the_date_is_being_computed_or_provisional(signed_in: Client, office: Office) -> None:
    ApplicationFactory.create(office=office, reference="PENDING234", due_on=None)
    ApplicationFactory.create(office=office, reference="PROVIS2345", due_on=date(2027, 3, 2), provisional=True)
    pending = signed_in.get("/applications/PENDING234/receipt/", headers=EN).content.decode()
    assert "being computed: look it up online" in pending
    assert "reload this page in a few seconds before printing" in pending
    provisional = signed_in.get("/applications/PROVIS2345/receipt/", headers=EN).content.decode()
    assert "2 March 2027</strong> (provisional)" in provisional
    assert "the date may still change" in provisional


def test_receipt_is_for_the_offices_staff_only(client: Client, office: Office) -> None:
    ApplicationFactory.create(office=office, reference="RCPT2345XY")
    assert client.get("/applications/RCPT2345XY/receipt/")["Location"].startswith("/accounts/login/")
    client.force_login(UserFactory.create())
    assert client.get("/applications/RCPT2345XY/receipt/").status_code == 403
    client.force_login(clerk(OfficeFactory.create(code="GS")))
    elsewhere = client.get("/applications/RCPT2345XY/receipt/")
    assert elsewhere.status_code == 404
    assert "王*晶" not in elsewhere.content.decode()
    client.force_login(supervisor(office))
    assert client.get("/applications/RCPT2345XY/receipt/").status_code == 200
    assert client.get("/applications/NOSUCH2345/receipt/").status_code == 404
    assert client.post("/applications/RCPT2345XY/receipt/").status_code == 405


@pytest.mark.parametrize(
    "path",
    [
        "rcpt2345xy",  # a reference is stored in capitals: not another way in
        "RCPT2345X",
        "RCPT2345XY-",
        "A" * 32,
        "A" * 33,
        "RCPT2345XY%00",
        "RCPT2345XY%20",
        "%E7%8E%8B",
        "..%2F..%2Fadmin",
    ],
)
def test_receipt_of_an_odd_reference_is_a_plain_404(signed_in: Client, office: Office, path: str) -> None:
    ApplicationFactory.create(office=office, reference="RCPT2345XY")
    response = signed_in.get(f"/applications/{path}/receipt/", headers=EN)
    assert response.status_code == 404
    assert "王*晶" not in response.content.decode()


# --- 3. search and filters -----------------------------------------------------------------------


def _rows(page: str) -> list[str]:
    return re.findall(r'<td class="ref"><a href="/applications/([A-Z0-9]+)/">', page)


@pytest.fixture
def three(office: Office) -> list[Application]:
    return [
        ApplicationFactory.create(office=office, reference="ABCD2345XY", applicant_name="王小晶"),
        ApplicationFactory.create(
            office=office, reference="EFGH2345XY", applicant_name="李四", id_number=OTHER_ID, status="in_production"
        ),
        ApplicationFactory.create(
            office=office,
            reference="ABXY2345ZZ",
            applicant_name="Zhang San",
            id_number="440300198511105416",
            status="ready",
        ),
    ]


@pytest.mark.usefixtures("three")
@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("ABCD2345XY", ["ABCD2345XY"]),
        ("abcd", ["ABCD2345XY"]),
        ("ab", ["ABXY2345ZZ", "ABCD2345XY"]),
        (" ABCD-2345 ", ["ABCD2345XY"]),  # as read aloud in groups
        ("小晶", ["ABCD2345XY"]),
        ("zhang", ["ABXY2345ZZ"]),
        ("王小晶李四", []),
        ("%", []),  # no wildcard
        ("_", []),
        ("' OR 1=1 --", []),
        ("<script>alert(1)</script>", []),
    ],
)
def test_search_by_reference_or_name_moves_into_the_address(signed_in: Client, q: str, found: list[str]) -> None:
    posted = signed_in.post("/applications/", {"q": q})
    assert posted.status_code == 302
    assert posted["Location"].startswith("/applications/?q=")
    response = signed_in.get(posted["Location"], headers=EN)
    page = response.content.decode()
    assert response.status_code == 200
    assert sorted(_rows(page)) == sorted(found)
    assert ("No application matches this search." in page) is not found
    assert 'class="error-summary"' not in page
    assert "<script>alert(1)</script>" not in page


@pytest.mark.usefixtures("three")
@pytest.mark.parametrize(
    "typed",
    [ID_NUMBER, ID_NUMBER.lower(), "330106 19900101 123x", "３３０１０６１９９００１０１１２３Ｘ", f"  {ID_NUMBER}\t"],
)
def test_search_by_id_number_is_answered_in_place_and_never_echoed(signed_in: Client, typed: str) -> None:
    response = signed_in.post("/applications/", {"q": typed}, headers=EN)
    page = response.content.decode()
    assert response.status_code == 200  # never redirected: the number stays out of addresses
    assert _rows(page) == ["ABCD2345XY"]
    assert f"1 application with ID number {MASKED}" in page
    assert re.search(r'<input type="search" name="q"(?![^>]*value=)[^>]*>', page)  # the box is empty
    _no_full_id(page)
    assert typed.strip() not in page


def test_search_by_id_number_keeps_the_filters_and_finds_only_the_users_offices(
    signed_in: Client, office: Office, three: list[Application]
) -> None:
    ApplicationFactory.create(office=office, reference="LATER2345Z", status="collected")
    ApplicationFactory.create(office=OfficeFactory.create(code="GS"), reference="ELSEWHERE2")  # same person
    page = signed_in.post("/applications/", {"q": ID_NUMBER}).content.decode()
    assert sorted(_rows(page)) == ["ABCD2345XY", "LATER2345Z"]
    page = signed_in.post("/applications/", {"q": ID_NUMBER, "status": "collected"}).content.decode()
    assert _rows(page) == ["LATER2345Z"]
    assert '<option value="collected" selected>' in page


@pytest.mark.usefixtures("three")
@pytest.mark.parametrize("typed", [ID_NUMBER, "330106 199001", "3" * 10_000])
def test_a_number_in_a_hand_made_address_is_not_searched_and_the_address_loses_it(
    signed_in: Client, typed: str
) -> None:
    response = signed_in.get("/applications/", {"q": typed, "status": "accepted", "page": "2"}, headers=EN)
    assert response.status_code == 302
    assert response["Location"] == "/applications/?status=accepted"
    page = signed_in.get(response["Location"], headers=EN).content.decode()
    assert "Numbers are searched only when typed in the search box" in page
    assert _rows(page) == ["ABCD2345XY"]
    _no_full_id(page)


@pytest.mark.usefixtures("three")
@pytest.mark.parametrize("typed", ["19900101", "330106199001", "1234567", "2345678"])
def test_part_of_a_number_stays_out_of_the_address_and_the_page(signed_in: Client, typed: str) -> None:
    response = signed_in.post("/applications/", {"q": typed}, headers=EN)
    page = response.content.decode()
    assert response.status_code == 200
    assert _rows(page) == []
    assert "Only a whole ID number (18 characters) is searched as one" in page
    assert typed not in page


@pytest.mark.usefixtures("three")
def test_no_prefix_of_an_id_number_finds_its_application(signed_in: Client) -> None:
    """The first release's admin filter matched ID numbers by their start, so a number could be
    read off one character at a time. Here only the whole number finds anything: no prefix,
    no number with a wildcard or a wrong check character, by POST or by address."""
    tried = [ID_NUMBER[:n] for n in range(1, 18)]
    tried += [ID_NUMBER[:17] + c for c in "0123456789" if c != ID_NUMBER[17]]
    tried += [ID_NUMBER[:16] + "%", ID_NUMBER[:16] + "_X", ID_NUMBER[:17] + "*", ID_NUMBER[1:], ID_NUMBER[:-1]]
    for typed in tried:
        posted = signed_in.post("/applications/", {"q": typed}, headers=EN)
        found = posted if posted.status_code == 200 else signed_in.get(posted["Location"], headers=EN)
        page = found.content.decode()
        assert _rows(page) == [], typed
        assert "0 applications" in page, typed
        hand_made = signed_in.get("/applications/", {"q": typed}, headers=EN, follow=True).content.decode()
        # Found nothing, or (six digits or more) not searched at all: the whole list, unfiltered.
        unfiltered = "Numbers are searched only when typed in the search box" in hand_made
        assert _rows(hand_made) == [] or (unfiltered and len(_rows(hand_made)) == 3), typed
    assert _rows(signed_in.post("/applications/", {"q": ID_NUMBER}).content.decode()) == ["ABCD2345XY"]


def test_an_all_digit_reference_is_still_found(signed_in: Client, office: Office) -> None:
    ApplicationFactory.create(office=office, reference="2345678923")
    page = signed_in.post("/applications/", {"q": "2345678923"}).content.decode()
    assert _rows(page) == ["2345678923"]


@pytest.mark.usefixtures("three")
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("q", "x" * 10_000, "Ensure this value has at most 100 characters (it has 10000)."),
        ("q", "3" * 10_000, "Ensure this value has at most 100 characters (it has 10000)."),
        ("q", "王\x00", "Null characters are not allowed."),
        ("q", "王\x07", "The search contains control or invisible characters"),
        ("q", "ABCD\u202e", "The search contains control or invisible characters"),
        ("q", "王\u2028晶", "The search contains control or invisible characters"),
        ("status", "lost", "Select a valid choice."),
        ("due", "yesterday", "Select a valid choice."),
        ("accepted_from", "2026-13-01", "Enter a valid date."),
        ("accepted_from", "1999-12-31", "Give a date between"),
        ("accepted_to", "9999-12-31", "Give a date between"),
        ("accepted_to", "x" * 10_000, "Enter a valid date."),
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_bad_search_input_is_a_clear_error_and_no_500(
    signed_in: Client, field: str, value: str, message: str, method: str
) -> None:
    response = getattr(signed_in, method)("/applications/", {field: value}, headers=EN)
    if method == "get" and field == "q" and "333333" in value:
        assert response["Location"] == "/applications/"  # a number never stays in an address
        return
    page = response.content.decode()
    assert response.status_code == 200
    assert 'class="error-summary"' in page
    assert message in page
    assert "Correct the search above to see the applications." in page
    assert _rows(page) == []
    if field == "q" and method == "post":
        assert value not in page  # typed again, not echoed
    if field == "q":
        assert re.search(r'<input type="search" name="q"(?![^>]*value=)[^>]*>', page)


def test_date_range_backwards_is_an_error(signed_in: Client) -> None:
    page = signed_in.get(
        "/applications/", {"accepted_from": "2026-10-02", "accepted_to": "2026-10-01"}, headers=EN
    ).content.decode()
    assert "The end of the range is before its start." in page


def test_filters_status_due_and_accepted_dates(signed_in: Client, office: Office) -> None:
    ApplicationFactory.create(
        office=office, reference="OVERDUE234", accepted_on=date(2026, 11, 2), due_on=date(2026, 11, 11)
    )
    ApplicationFactory.create(
        office=office, reference="SOON2345XY", accepted_on=date(2026, 11, 18), due_on=date(2026, 11, 27)
    )
    ApplicationFactory.create(
        office=office, reference="LATER2345Z", accepted_on=date(2026, 11, 25), due_on=date(2026, 12, 4)
    )
    ApplicationFactory.create(
        office=office, reference="READY2345Z", accepted_on=date(2026, 11, 2), due_on=date(2026, 11, 11), status="ready"
    )
    with mock.patch("bureau.selectors.office_today", return_value=date(2026, 11, 26)):
        assert _rows(signed_in.get("/applications/?due=overdue").content.decode()) == ["OVERDUE234"]
        assert _rows(signed_in.get("/applications/?due=soon").content.decode()) == ["SOON2345XY"]
    assert _rows(signed_in.get("/applications/?status=ready").content.decode()) == ["READY2345Z"]
    assert _rows(signed_in.get("/applications/?accepted_from=2026-11-18&accepted_to=2026-11-24").content.decode()) == [
        "SOON2345XY"
    ]
    assert sorted(_rows(signed_in.get("/applications/?accepted_to=2026-11-02").content.decode())) == [
        "OVERDUE234",
        "READY2345Z",
    ]
    moved = signed_in.post("/applications/", {"q": "", "status": "ready", "accepted_from": "2026-11-01"})
    assert moved["Location"] == "/applications/?status=ready&accepted_from=2026-11-01"


def test_list_marks_open_applications_past_their_due_date(signed_in: Client, office: Office) -> None:
    ApplicationFactory.create(office=office, reference="LATE2345XY", due_on=date(2026, 11, 25))
    ApplicationFactory.create(office=office, reference="DONE2345XY", due_on=date(2026, 11, 25), status="mailed")
    ApplicationFactory.create(office=office, reference="TODAY2345X", due_on=date(2026, 11, 26))
    with mock.patch("bureau.selectors.office_today", return_value=date(2026, 11, 26)):
        page = signed_in.get("/applications/", headers=EN).content.decode()
    marked = re.findall(r'/applications/([A-Z0-9]+)/">(?:(?!</tr>).)*class="tag overdue">Overdue<', page, re.DOTALL)
    assert marked == ["LATE2345XY"]


def test_office_filter_only_for_staff_of_several_offices(client: Client, office: Office) -> None:
    other = OfficeFactory.create(code="GS")
    third = OfficeFactory.create(code="SC")
    ApplicationFactory.create(office=office, reference="HERE2345XY")
    ApplicationFactory.create(office=other, reference="THERE2345Z")
    ApplicationFactory.create(office=third, reference="NOTMINE234")
    client.force_login(clerk(office))
    page = client.get("/applications/").content.decode()
    assert 'name="office"' not in page
    assert _rows(page) == ["HERE2345XY"]
    assert _rows(client.get(f"/applications/?office={other.pk}").content.decode()) == ["HERE2345XY"]  # no such filter

    client.force_login(supervisor(office, other))
    page = client.get("/applications/", headers=EN).content.decode()
    assert 'name="office"' in page
    assert "All my offices" in page
    assert f'<option value="{third.pk}"' not in page
    assert sorted(_rows(page)) == ["HERE2345XY", "THERE2345Z"]
    assert _rows(client.get(f"/applications/?office={other.pk}").content.decode()) == ["THERE2345Z"]
    refused = client.get(f"/applications/?office={third.pk}", headers=EN).content.decode()
    assert "Select a valid choice." in refused
    assert _rows(refused) == []
    assert "Select a valid choice." in client.get("/applications/?office=abc", headers=EN).content.decode()


def test_list_pages_through_25_at_a_time_keeping_the_filters(signed_in: Client, office: Office) -> None:
    ApplicationFactory.create_batch(30, office=office, status="in_production")
    ApplicationFactory.create(office=office, status="ready")
    first = signed_in.get("/applications/?status=in_production", headers=EN).content.decode()
    assert len(_rows(first)) == 25
    assert "30 applications · page 1 of 2" in first
    assert 'href="?status=in_production&amp;page=2"' in first
    second = signed_in.get("/applications/?status=in_production&page=2").content.decode()
    assert len(_rows(second)) == 5
    assert set(_rows(first)).isdisjoint(_rows(second))
    for odd in ("abc", "-1", "0", "99999", "1" * 500, "2\x00"):
        response = signed_in.get("/applications/", {"status": "in_production", "page": odd})
        assert response.status_code == 200
        assert len(_rows(response.content.decode())) in (25, 5)


def test_an_id_search_with_more_than_a_page_says_so(signed_in: Client, office: Office) -> None:
    ApplicationFactory.create_batch(27, office=office)
    page = signed_in.post("/applications/", {"q": ID_NUMBER}, headers=EN).content.decode()
    assert len(_rows(page)) == 25
    assert "27 applications with ID number" in page
    assert "The first 25 are shown" in page
    assert "page=2" not in page  # a link could not carry the number


@pytest.mark.parametrize("rows", [1, 3])
@pytest.mark.parametrize(
    ("method", "data"),
    [
        ("get", {}),
        ("get", {"q": "王", "status": "accepted", "accepted_from": "2026-01-01"}),
        ("post", {"q": ID_NUMBER}),
    ],
)
def test_list_query_count_does_not_grow(
    signed_in: Client, office: Office, django_assert_num_queries, rows: int, method: str, data: dict[str, str]
) -> None:
    for _ in range(rows):
        ApplicationFactory.create(office=office, service=ServiceFactory.create(business=f"b{_}"))
    # session, user, role, the office field's offices, count, page
    with django_assert_num_queries(6):
        response = getattr(signed_in, method)("/applications/", data)
    assert len(_rows(response.content.decode())) == rows


@pytest.mark.parametrize("rows", [1, 3])
def test_list_query_count_does_not_grow_for_staff_of_several_offices(
    client: Client, django_assert_num_queries, rows: int
) -> None:
    offices = [OfficeFactory.create() for _ in range(rows)]
    for each in offices:
        ApplicationFactory.create(office=each)
    client.force_login(supervisor(*offices, OfficeFactory.create()))
    with django_assert_num_queries(7):  # + the office choices
        response = client.get("/applications/")
    assert len(_rows(response.content.decode())) == rows


# --- 4. confirming a step that cannot be undone ---------------------------------------------------


@pytest.fixture
def made(office: Office) -> Application:
    return ApplicationFactory.create(office=office, reference="MADE2345XY", status="in_production")


def _status(application: Application) -> str:
    return Application.objects.values_list("status", flat=True).get(pk=application.pk)


def test_status_steps_table() -> None:
    step = services.status_step(current="in_production", new="ready")
    assert step is not None
    assert (step.closes, step.final, step.needs_confirmation, step.stops_deadline) == (("mailed",), False, True, True)
    step = services.status_step(current="in_production", new="mailed")
    assert step is not None
    assert (step.closes, step.final, step.needs_confirmation, step.stops_deadline) == (("ready",), True, True, True)
    step = services.status_step(current="ready", new="collected")
    assert step is not None
    assert (step.closes, step.final, step.needs_confirmation, step.stops_deadline) == ((), True, True, False)
    step = services.status_step(current="accepted", new="in_production")
    assert step is not None
    assert (step.closes, step.final, step.needs_confirmation, step.stops_deadline) == ((), False, False, False)
    for current, new in [("accepted", "ready"), ("mailed", "collected"), ("collected", "ready"), ("ready", "lost")]:
        assert services.status_step(current=current, new=new) is None


def test_detail_offers_ready_and_mailed_only_through_a_confirmation(signed_in: Client, made: Application) -> None:
    page = signed_in.get("/applications/MADE2345XY/", headers=EN).content.decode()
    steps = page[page.index('<div class="actions steps">') :]
    steps = steps[: steps.index("</div>")]
    assert (
        'href="/applications/MADE2345XY/status/?status=ready&amp;current=in_production">Mark as: Ready for collection…</a>'
        in steps
    )
    assert (
        'href="/applications/MADE2345XY/status/?status=mailed&amp;current=in_production">Mark as: Mailed…</a>' in steps
    )
    assert "<button" not in steps  # no one-click final step


def test_confirmation_page_names_what_will_happen(signed_in: Client, made: Application) -> None:
    response = signed_in.get("/applications/MADE2345XY/status/?status=mailed&current=in_production", headers=EN)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Mark application MADE2345XY as Mailed?</h1>" in page
    assert "The documents have been sent to the applicant by post." in page
    assert "The issuance deadline stops counting" in page
    assert "It can then no longer be marked as Ready for collection." in page
    assert "This closes the application." in page
    assert "This cannot be undone." in page
    assert '<input type="hidden" name="confirmed" value="on">' in page
    assert '<input type="hidden" name="current" value="in_production">' in page
    assert '<a class="button" href="/applications/MADE2345XY/">No, go back</a>' in page
    assert _status(made) == "in_production"
    ready = signed_in.get("/applications/MADE2345XY/status/?status=ready", headers=EN).content.decode()
    assert "It can then no longer be marked as Mailed." in ready
    assert "This closes the application." not in ready


def test_a_final_step_posted_without_confirmation_only_asks(signed_in: Client, made: Application) -> None:
    response = signed_in.post("/applications/MADE2345XY/status/", {"status": "mailed"}, headers=EN)
    assert response.status_code == 200
    assert "Mark application MADE2345XY as Mailed?" in response.content.decode()
    assert _status(made) == "in_production"
    assert made.events.count() == 0


def test_a_confirmed_step_is_taken_once_and_a_replay_changes_nothing(
    signed_in: Client, made: Application, desk: User
) -> None:
    form = {"status": "mailed", "current": "in_production", "confirmed": "on", "note": "EMS 1234"}
    response = signed_in.post("/applications/MADE2345XY/status/", form, headers=EN, follow=True)
    assert _status(made) == "mailed"
    assert list(made.events.values_list("status", "note", "by")) == [("mailed", "EMS 1234", desk.pk)]
    assert "Application MADE2345XY is now Mailed." in response.content.decode()

    replay = signed_in.post("/applications/MADE2345XY/status/", form, headers=EN, follow=True)
    assert "This step was already taken: nothing changed." in replay.content.decode()
    assert made.events.count() == 1
    assert _status(made) == "mailed"


def test_a_stale_form_changes_nothing(signed_in: Client, made: Application, office: Office) -> None:
    # Another clerk marked it ready while this page still offered "mailed".
    services.application_set_status(application=made, status="ready", by=clerk(office))
    form = {"status": "mailed", "current": "in_production", "confirmed": "on"}
    response = signed_in.post("/applications/MADE2345XY/status/", form, headers=EN, follow=True)
    assert (
        "This application changed since your page was shown; it is now Ready for collection."
        in response.content.decode()
    )
    assert _status(made) == "ready"
    assert list(made.events.values_list("status", flat=True)) == ["ready"]
    # A stale confirmation page, opened by address, is no way round it either.
    stale = signed_in.get(
        "/applications/MADE2345XY/status/?status=mailed&current=in_production", headers=EN, follow=True
    )
    assert "changed since your page was shown" in stale.content.decode()


def test_a_step_with_no_alternative_is_taken_at_once(signed_in: Client, office: Office) -> None:
    application = ApplicationFactory.create(office=office, reference="NEW2345XYZ")
    signed_in.post("/applications/NEW2345XYZ/status/", {"status": "in_production", "current": "accepted"})
    assert _status(application) == "in_production"


@pytest.mark.parametrize(
    "query",
    [
        {"status": "collected"},  # not a next step of in production
        {"status": "accepted"},
        {"status": "lost"},
        {},
        {"status": "mailed", "current": "nonsense"},
        {"status": "x" * 10_000},
        {"status": "mailed\x00"},
    ],
)
def test_confirmation_page_for_a_step_not_offered_sends_back(
    signed_in: Client, made: Application, query: dict[str, str]
) -> None:
    response = signed_in.get("/applications/MADE2345XY/status/", query, headers=EN)
    assert response.status_code == 302
    assert response["Location"] == "/applications/MADE2345XY/"
    assert _status(made) == "in_production"


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("EMS\x00", "Null characters are not allowed."),
        ("a\u202eb", "contains control or invisible characters"),
        ("n" * 201, "at most 200"),
    ],
)
def test_a_bad_note_changes_nothing(signed_in: Client, made: Application, note: str, message: str) -> None:
    form = {"status": "mailed", "current": "in_production", "confirmed": "on", "note": note}
    response = signed_in.post("/applications/MADE2345XY/status/", form, headers=EN, follow=True)
    assert message in response.content.decode()
    assert _status(made) == "in_production"
    assert made.events.count() == 0


def test_status_pages_are_for_the_offices_staff_only(client: Client, made: Application) -> None:
    url = "/applications/MADE2345XY/status/"
    confirmed = {"status": "mailed", "current": "in_production", "confirmed": "on"}
    assert client.get(url, {"status": "mailed"})["Location"].startswith("/accounts/login/")
    assert client.post(url, confirmed)["Location"].startswith("/accounts/login/")
    client.force_login(clerk(OfficeFactory.create(code="GS")))
    assert client.get(url, {"status": "mailed"}).status_code == 404
    assert client.post(url, confirmed).status_code == 404
    assert _status(made) == "in_production"
