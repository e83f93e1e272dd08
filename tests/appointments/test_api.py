"""Booking API as SPEC 9 fixes it, with every bad input."""

from unittest import mock

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from appointments.api import AvailabilitySerializer
from appointments.models import Booking, Slot
from tests.appointments.conftest import NOW, at
from tests.factories import OfficeFactory, clerk

pytestmark = pytest.mark.django_db

GOOD = {
    "office": "XH",
    "service": "passport-first",
    "start": "2026-12-02T09:00:00+08:00",
    "name": "王小晶",
    "id_number": "33010619900101123X",
    "phone": "13812345678",
}


@pytest.fixture(autouse=True)
def frozen_now():
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield


def limits(settings, **figures: str) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, **figures}


def post(client: Client, body: dict, **headers: str):
    return client.post("/api/v1/bookings/", body, content_type="application/json", headers=headers)


def test_availability_lists_slots_with_office_offset(client: Client, slot) -> None:
    response = client.get("/api/v1/offices/XH/availability/?service=passport-first&date=2026-12-02")
    assert response.status_code == 200
    assert response.json() == {
        "date": "2026-12-02",
        "slots": [
            {"start": "2026-12-02T09:00:00+08:00", "remaining": 3},
            {"start": "2026-12-02T09:30:00+08:00", "remaining": 3},
        ],
    }
    assert AvailabilitySerializer(data=response.json()).is_valid()  # the documented shape


@pytest.mark.parametrize("day", ["2026-12-01", "2026-12-16", "2026-12-05"])
def test_availability_outside_the_window_or_on_a_closed_day_is_empty(client: Client, slots, day: str) -> None:
    response = client.get(f"/api/v1/offices/XH/availability/?service=passport-first&date={day}")
    assert response.json() == {"date": day, "slots": []}


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("service=passport-first", 400, "date"),
        ("date=2026-12-02", 400, "service"),
        ("service=nope&date=2026-12-02", 400, "service"),
        ("service=passport-first&date=02/12/2026", 400, "date"),
        ("service=passport-first&date=2026-13-01", 400, "date"),
    ],
)
def test_availability_bad_parameters(client: Client, slots, query: str, status: int, field: str) -> None:
    response = client.get(f"/api/v1/offices/XH/availability/?{query}")
    assert response.status_code == status
    assert field in response.json()["fields"]


def test_availability_of_unknown_office_is_404(client: Client, slots) -> None:
    assert client.get("/api/v1/offices/NOPE/availability/?service=passport-first&date=2026-12-02").status_code == 404


def test_availability_is_refreshed_after_a_booking(client: Client, slot) -> None:
    url = "/api/v1/offices/XH/availability/?service=passport-first&date=2026-12-02"
    assert client.get(url).json()["slots"][0]["remaining"] == 3
    with mock.patch("django.db.transaction.on_commit", side_effect=lambda f, robust=False: f()):
        assert post(client, GOOD).status_code == 201
    assert client.get(url).json()["slots"][0]["remaining"] == 2


def test_booking_created_then_read_and_cancelled_with_the_token(client: Client, slot) -> None:
    response = post(client, GOOD)
    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("office", "service", "start", "status")} == {
        "office": "XH",
        "service": "passport-first",
        "start": "2026-12-02T09:00:00+08:00",
        "status": "booked",
    }
    assert body["id_number"] == "330***********123X"
    reference, token = body["reference"], body["token"]
    assert client.get(f"/api/v1/bookings/{reference}/").status_code == 404
    assert client.get(f"/api/v1/bookings/{reference}/", headers={"x-booking-token": "wrong"}).status_code == 404
    read = client.get(f"/api/v1/bookings/{reference}/", headers={"x-booking-token": token})
    assert read.json()["reference"] == reference
    assert client.delete(f"/api/v1/bookings/{reference}/", headers={"x-booking-token": token}).status_code == 204
    assert Booking.objects.get().status == "cancelled"
    again = client.delete(f"/api/v1/bookings/{reference}/", headers={"x-booking-token": token})
    assert (again.status_code, again.json()["code"]) == (409, "not_active")


def test_full_slot_is_409_slot_full(client: Client, slot) -> None:
    Slot.objects.filter(pk=slot.pk).update(general_booked=3)
    response = post(client, GOOD)
    assert (response.status_code, response.json()["code"]) == (409, "slot_full")
    assert Booking.objects.count() == 0


def test_second_booking_for_the_same_id_and_service_is_409(client: Client, slot) -> None:
    post(client, GOOD)
    response = post(client, {**GOOD, "start": "2026-12-02T09:30:00+08:00"})
    assert (response.status_code, response.json()["code"]) == (409, "already_booked")


def test_idempotency_key_replays_the_same_booking(client: Client, slot) -> None:
    first = post(client, GOOD, **{"idempotency-key": "abc-123-xyz"})
    second = post(client, GOOD, **{"idempotency-key": "abc-123-xyz"})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Booking.objects.count() == 1
    bad = post(client, GOOD, **{"idempotency-key": "no"})
    assert (bad.status_code, list(bad.json()["fields"])) == (400, ["Idempotency-Key"])


@pytest.mark.parametrize("change", [{"phone": "13900000000"}, {"id_number": "11010519491231002X"}])
def test_a_replayed_key_gives_the_booking_and_its_token_only_to_the_same_person(client: Client, slot, change) -> None:
    """The answer carries the manage link's token: knowing the key and the ID number is not
    enough, the mobile number must be the booking's too."""
    assert post(client, GOOD, **{"idempotency-key": "abc-123-xyz"}).status_code == 201
    other = post(client, {**GOOD, **change}, **{"idempotency-key": "abc-123-xyz"})
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
    assert "token" not in other.json()


def test_retry_for_the_last_place_gets_the_booking_it_made(
    client: Client, slot, django_capture_on_commit_callbacks
) -> None:
    from appointments import selectors

    Slot.objects.filter(pk=slot.pk).update(general_booked=2)
    with django_capture_on_commit_callbacks(execute=True):  # the cached day learns the slot is full
        first = post(client, GOOD, **{"idempotency-key": "abc-123-xyz"})
    day = selectors.availability(office_code="XH", service_code="passport-first", day=at(2, 9).date())
    assert day[0].remaining == 0
    retry = post(client, GOOD, **{"idempotency-key": "abc-123-xyz"})
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json()["reference"] == first.json()["reference"]


def test_blocked_applicant_is_403_with_the_reason(client: Client, slot) -> None:
    with mock.patch("appointments.rules.blocked_until", return_value=at(30, 0)):
        response = post(client, GOOD, **{"accept-language": "en"})
    assert response.status_code == 403
    assert response.json()["code"] == "blocked"
    assert "30 December 2026" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"office": "NOPE"}, "office"),
        ({"service": "rocket"}, "service"),
        ({"start": "tomorrow"}, "start"),
        ({"start": "2026-12-02T09:10:00+08:00"}, "start"),
        ({"start": "2027-06-01T09:00:00+08:00"}, "start"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"id_number": "330106199001011234"}, "id_number"),
        ({"id_number": "330106900101123"}, "id_number"),
        ({"id_number": ""}, "id_number"),
        ({"phone": "12345"}, "phone"),
        ({"phone": None}, "phone"),
    ],
)
def test_bad_booking_input_is_400_naming_the_field_and_writes_nothing(client: Client, slot, change, field) -> None:
    response = post(client, {**GOOD, **change}, **{"accept-language": "en"})
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    slot.refresh_from_db()
    assert slot.general_booked == 0
    assert Booking.objects.count() == 0


def test_every_bad_applicant_field_is_named_at_once(client: Client, slot) -> None:
    response = post(client, {**GOOD, "name": "", "id_number": "123", "phone": "1"}, **{"accept-language": "en"})
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {"name", "id_number", "phone"}
    assert fields["phone"] == ["Enter an 11-digit mainland mobile number, for example 13812345678."]
    assert Booking.objects.count() == 0


def test_walk_in_only_office_is_400(client: Client, slots) -> None:
    OfficeFactory.create(code="FY", mode="walk_in_only")
    response = post(client, {**GOOD, "office": "FY"})
    assert (response.status_code, response.json()["code"]) == (400, "walk_in_only")


def test_rate_limit_answers_429_with_retry_after(client: Client, slot, settings) -> None:
    limits(settings, **{"booking-address": "2/minute"})
    post(client, {**GOOD, "phone": "x"})
    post(client, {**GOOD, "phone": "x"})
    response = post(client, GOOD)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["code"] == "throttled"
    assert Booking.objects.count() == 0


def test_rate_limit_per_applicant_across_addresses(client: Client, slot, settings) -> None:
    limits(settings, **{"booking-applicant": "1/10minutes"})
    other_slot = {**GOOD, "start": "2026-12-02T09:30:00+08:00", "id_number": "11010519491231002X"}
    assert post(client, other_slot, REMOTE_ADDR="10.0.0.1").status_code == 201
    response = client.post(
        "/api/v1/bookings/",
        {**other_slot, "service": "passport-first"},
        content_type="application/json",
        REMOTE_ADDR="10.0.0.2",
    )
    assert response.status_code == 429


def test_junk_naming_an_id_number_does_not_use_up_its_owners_allowance(client: Client, slot, settings) -> None:
    """Attempts that are invalid, or that give another mobile number, are not counted
    against the person whose ID number they name."""
    limits(settings, **{"booking-applicant": "2/10minutes"})
    for _ in range(12):
        assert post(client, {**GOOD, "name": ""}, REMOTE_ADDR="10.0.0.9").status_code == 400
    for _ in range(4):  # valid, but with another mobile number (and for no slot)
        post(client, {**GOOD, "phone": "13900000000", "start": "2026-12-02T09:10:00+08:00"}, REMOTE_ADDR="10.0.0.9")
    assert post(client, GOOD, REMOTE_ADDR="10.0.0.1").status_code == 201


def test_rate_limits_off_lets_everything_through(client: Client, slot, settings) -> None:
    settings.RATE_LIMITS_ENABLED = False
    limits(settings, **{"booking-address": "1/minute"})
    post(client, {**GOOD, "phone": "x"})
    assert post(client, GOOD).status_code == 201


def test_reschedule_by_api(client: Client, slot) -> None:
    body = post(client, GOOD).json()
    headers = {"x-booking-token": body["token"]}
    url = f"/api/v1/bookings/{body['reference']}/reschedule/"
    moved = client.post(url, {"start": "2026-12-03T09:30:00+08:00"}, content_type="application/json", headers=headers)
    assert moved.status_code == 200
    assert moved.json()["start"] == "2026-12-03T09:30:00+08:00"
    bad = client.post(url, {"start": "soon"}, content_type="application/json", headers=headers)
    assert (bad.status_code, list(bad.json()["fields"])) == (400, ["start"])
    stranger = client.post(url, {"start": "2026-12-03T09:00:00+08:00"}, content_type="application/json")
    assert stranger.status_code == 404


def test_check_in_by_staff_api(client: Client, slot, office) -> None:
    body = post(client, GOOD).json()
    token, _ = Token.objects.get_or_create(user=clerk(office))
    staff = Client(headers={"authorization": f"Token {token.key}"})
    url = "/api/v1/offices/XH/check-ins/"
    assert client.post(url, {"code": body["reference"]}, content_type="application/json").status_code == 401
    early = staff.post(url, {"code": body["reference"]}, content_type="application/json")
    assert (early.status_code, early.json()["code"]) == (400, "wrong_day")
    with mock.patch("django.utils.timezone.now", return_value=at(2, 8, 45)):
        done = staff.post(url, {"code": body["reference"]}, content_type="application/json")
    assert (done.status_code, done.json()["status"]) == (200, "checked_in")
    empty = staff.post(url, {}, content_type="application/json")
    assert list(empty.json()["fields"]) == ["code"]


def test_full_slot_is_answered_from_the_cache_without_database_queries(
    client: Client, slot, django_assert_max_num_queries
) -> None:
    Slot.objects.filter(pk=slot.pk).update(general_booked=3)
    post(client, GOOD)  # warms the cached day, office and service
    for start in (GOOD["start"], "2026-12-02T01:00:00Z"):  # the same moment, in UTC
        with django_assert_max_num_queries(0):
            response = post(client, {**GOOD, "start": start})
        assert (response.status_code, response.json()["code"]) == (409, "slot_full")


@pytest.mark.parametrize(
    ("start", "code"),
    [
        ("2026-12-02T01:00:00Z", "slot_full"),  # the same moment in UTC
        ("2026-12-02T09:00:00", "slot_full"),  # no offset: office time, answered by the booking itself
        ("2 December, 9 am", "invalid"),
        (None, "invalid"),
    ],
)
def test_full_slot_probe_leaves_what_it_cannot_read_to_validation(client: Client, slot, start, code) -> None:
    Slot.objects.filter(pk=slot.pk).update(general_booked=3)
    response = post(client, {**GOOD, "start": start})
    assert response.json()["code"] == code
    if code == "invalid":
        assert list(response.json()["fields"]) == ["start"]
    assert Booking.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"office": ["XH"]}, "office"),
        ({"office": "X" * 100}, "office"),
        ({"office": "X H\n"}, "office"),
    ],
)
def test_full_slot_probe_ignores_odd_office_values(client: Client, slot, change, field) -> None:
    Slot.objects.filter(pk=slot.pk).update(general_booked=3)
    response = post(client, {**GOOD, **change})
    assert (response.status_code, list(response.json()["fields"])) == (400, [field])


def test_warm_availability_read_needs_no_database_query(client: Client, slot, django_assert_num_queries) -> None:
    url = "/api/v1/offices/XH/availability/?service=passport-first&date=2026-12-02"
    client.get(url)
    with django_assert_num_queries(0):
        assert len(client.get(url).json()["slots"]) == 2


def test_forwarded_for_is_ignored_unless_the_request_comes_from_a_trusted_proxy(client: Client, slot, settings) -> None:
    """Rotating X-Forwarded-For must not buy a client a fresh allowance."""
    limits(settings, **{"booking-address": "1/minute"})
    post(client, {**GOOD, "phone": "x"}, **{"x-forwarded-for": "10.0.0.1"})
    assert post(client, GOOD, **{"x-forwarded-for": "10.0.0.2"}).status_code == 429


def test_rate_limit_counts_the_address_a_trusted_proxy_reports(client: Client, slot, settings) -> None:
    limits(settings, **{"booking-address": "1/minute"})
    settings.TRUSTED_PROXIES = ["127.0.0.0/8"]
    # The client wrote a first address itself; the proxy appended the one it saw.
    post(client, {**GOOD, "phone": "x"}, **{"x-forwarded-for": "1.2.3.4, 10.0.0.1"})
    assert post(client, GOOD, **{"x-forwarded-for": "1.2.3.4, 10.0.0.2"}).status_code == 201  # another client
    assert post(client, GOOD, **{"x-forwarded-for": "9.9.9.9, 10.0.0.1"}).status_code == 429


@pytest.mark.parametrize("body", ["[]", '"text"', "42"])
def test_booking_body_that_is_not_an_object_is_400(client: Client, slot, body: str) -> None:
    response = client.post("/api/v1/bookings/", body, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


def test_rate_limit_per_applicant_is_not_dodged_by_spelling(client: Client, slot, settings) -> None:
    limits(settings, **{"booking-applicant": "1/10minutes"})
    post(client, GOOD)
    spelled = {**GOOD, "id_number": "３３０１０６ 1990 0101 123x", "phone": "+86 138-1234-5678"}
    assert post(client, spelled).status_code == 429


def test_office_change_in_the_admin_reaches_bookings_at_once(
    client: Client, office, slot, django_capture_on_commit_callbacks
) -> None:
    from django.contrib.auth.models import User

    assert post(client, {**GOOD, "phone": "x"}).status_code == 400  # the office is now cached
    admin_client = Client()
    admin_client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    form = {
        "code": "XH",
        "name_zh": office.name_zh,
        "name_en": office.name_en,
        "mode": "walk_in_only",
        "address_zh": office.address_zh,
        "address_en": office.address_en,
        "position": "1",
        "sessions-TOTAL_FORMS": "0",
        "sessions-INITIAL_FORMS": "0",
        "counters-TOTAL_FORMS": "0",
        "counters-INITIAL_FORMS": "0",
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(f"/admin/bureau/office/{office.pk}/change/", form).status_code == 302
    response = post(client, GOOD)
    assert (response.status_code, response.json()["code"]) == (400, "walk_in_only")


def test_the_booking_api_books_general_places_only(client: Client, slot) -> None:
    """The reserved channels are given out by the priority app, never asked for here."""
    response = post(client, {**GOOD, "channel": "emergency"})
    assert response.status_code == 201
    assert response.json()["channel"] == "general"
    slot.refresh_from_db()
    assert (slot.general_booked, slot.emergency_booked) == (1, 0)
