"""The booking page, the manage page and the lost-link page (issue 7): what the person sees
while choosing, after an error, and that no full ID number comes back in a page."""

import re
from datetime import date, datetime, time
from unittest import mock

import pytest
from django.test import Client
from django.utils import translation
from django.utils.formats import date_format
from pytest_django.fixtures import SettingsWrapper

from appointments import selectors, services
from appointments.models import Booking, Slot, SlotTemplate
from bureau.models import Office, OutboxMessage, Service
from tests.appointments.conftest import NOW, SHANGHAI, TODAY, at
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db

ID_NUMBER = "33010619900101123X"
MASKED_ID = "330***********123X"
PHONE = "13812345678"
EN = {"accept-language": "en"}
FORM = {
    "date": "2026-12-02",
    "start": "2026-12-02T09:00:00+08:00",
    "name": "王小晶",
    "id_number": ID_NUMBER,
    "phone": PHONE,
}


@pytest.fixture(autouse=True)
def frozen_now():
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield


@pytest.fixture
def weekday_only(office: Office, template: SlotTemplate, slots: None) -> Service:
    """A service served on working days only, with weekday slots; the office's passport
    service also has Saturday and Sunday slots."""
    service = ServiceFactory.create(code="hk-first", document="hk_macao", business="first", weekend_service=False)
    template.services.add(service)
    weekend = SlotTemplate.objects.create(
        office=office, day_kind="weekend", starts_at=time(9), ends_at=time(10), slot_minutes=30, general_quota=3
    )
    weekend.services.set([Service.objects.get(code="passport-first"), service])
    services.slots_generate(today=TODAY)
    return service


def _en_day(day: date) -> str:
    """How the day list names a day in English."""
    with translation.override("en"):
        return f"{date_format(day, 'MONTH_DAY_FORMAT')} {date_format(day, 'l')}"


def _book(client: Client, service: Service, **change: str):
    return client.post("/book/XH/", {**FORM, "service": service.pk, **change}, headers=EN)


def _make_booking(office: Office, service: Service) -> Booking:
    return services.booking_create(
        office=office, service=service, start=at(2, 9), name="王小晶", id_number=ID_NUMBER, phone=PHONE, now=NOW
    )


def _manage_path(booking: Booking) -> str:
    return f"/book/manage/{booking.reference}/{selectors.booking_token(booking.reference)}/"


# --- 1b: no error before the person has chosen ------------------------------------------------


def test_picker_with_only_a_service_shows_no_error_on_the_day(client: Client, service, slot) -> None:
    page = client.get(f"/book/XH/?service={service.pk}&date=", headers=EN).content.decode()
    assert 'class="error"' not in page
    assert "This field is required" not in page
    assert "data-error-summary" not in page
    assert 'aria-invalid="true"' not in page


def test_booking_without_a_day_shows_the_error_once_submitted(client: Client, service, slot) -> None:
    response = _book(client, service, date="")
    page = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'<div id="id_date_error"><p class="error">[^<]*required', page)
    assert Booking.objects.count() == 0


# --- 1c: a day that is not offered for the chosen service -------------------------------------


def test_weekend_day_then_weekday_only_service_drops_the_day_and_says_why(client: Client, weekday_only) -> None:
    passport = Service.objects.get(code="passport-first")
    saturday = client.get(f"/book/XH/?service={passport.pk}&date=2026-12-05", headers=EN).content.decode()
    assert 'value="2026-12-05" selected' in saturday
    assert "2026-12-05T09:00:00+08:00" in saturday

    response = client.get(f"/book/XH/?service={weekday_only.pk}&date=2026-12-05", headers=EN)
    page = response.content.decode()
    assert response.status_code == 200
    assert "valid choice" not in page
    assert 'class="error"' not in page
    notice = re.search(r'<p class="notice" id="day-notice">([^<]*)</p>', page)
    assert notice is not None
    saturday = _en_day(date(2026, 12, 5))
    assert (
        f"{saturday} is not offered for Exit-Entry Permit for Travelling to and from Hong Kong and Macao" in notice[1]
    )
    assert (
        "on weekends only ordinary passports, Hong Kong/Macao endorsements and Taiwan permits are served" in notice[1]
    )
    assert 'value="2026-12-05"' not in page  # the Saturday is not in the list
    assert re.search(r'<option value="" selected>', page)  # and nothing is chosen
    assert 'name="start"' not in page
    assert "Weekend days are not offered for this service" in page  # said next to the day list
    assert 'aria-describedby="id_date_helptext"' in page


def test_weekend_service_has_no_weekend_note(client: Client, weekday_only) -> None:
    passport = Service.objects.get(code="passport-first")
    page = client.get(f"/book/XH/?service={passport.pk}", headers=EN).content.decode()
    assert "Weekend days are not offered" not in page


def test_submitting_a_day_not_offered_names_the_day_field(client: Client, weekday_only) -> None:
    response = _book(client, weekday_only, date="2026-12-05", start="2026-12-05T09:00:00+08:00")
    page = response.content.decode()
    assert response.status_code == 200
    saturday = re.escape(_en_day(date(2026, 12, 5)))
    assert re.search(rf'<div id="id_date_error"><p class="error">{saturday} is not offered for', page)
    assert "valid choice" not in page
    assert Booking.objects.count() == 0


@pytest.mark.parametrize("day", ["2026-11-30", "2027-06-01"])
def test_a_day_outside_the_window_is_dropped_with_the_window(client: Client, service, slot, day) -> None:
    page = client.get(f"/book/XH/?service={service.pk}&date={day}", headers=EN).content.decode()
    assert "can be booked now" in page
    assert "valid choice" not in page


@pytest.mark.parametrize("day", ["garbage", "２０２６-12-02", "x" * 10_000, "2026-02-30", "\x00"])
def test_a_bad_day_is_no_500(client: Client, service, slot, day) -> None:
    response = client.get("/book/XH/", {"service": service.pk, "date": day}, headers=EN)
    assert response.status_code == 200
    assert 'name="start"' not in response.content.decode()


# --- 1d: the time must be on the day shown ----------------------------------------------------


def test_a_time_of_another_day_than_the_one_shown_is_refused(client: Client, service, slot) -> None:
    response = _book(client, service, date="2026-12-03")
    page = response.content.decode()
    assert response.status_code == 400
    assert re.search(r'<div id="id_start_error"><p class="error">This time is not on the day shown', page)
    assert 'href="#id_start"' in page  # and the summary names the time field
    assert Booking.objects.count() == 0
    assert not Slot.objects.filter(general_booked__gt=0).exists()


def test_reschedule_to_a_time_of_another_day_than_the_one_shown_is_refused(client: Client, office, service, slot):
    booking = _make_booking(office, service)
    base = _manage_path(booking)
    response = client.post(
        f"{base}reschedule/", {"start": "2026-12-03T09:30:00+08:00", "date": "2026-12-04"}, headers=EN, follow=True
    )
    assert "This time is not on the day shown" in response.content.decode()
    booking.refresh_from_db()
    assert booking.starts_at == at(2, 9)
    client.post(f"{base}reschedule/", {"start": "2026-12-03T09:30:00+08:00", "date": "2026-12-03"})
    booking.refresh_from_db()
    assert booking.starts_at == at(3, 9, 30)


def test_manage_page_slots_post_the_day_they_are_for(client: Client, office, service, slot) -> None:
    booking = _make_booking(office, service)
    page = client.get(f"{_manage_path(booking)}?date=2026-12-03").content.decode()
    assert '<input type="hidden" name="date" value="2026-12-03">' in page


# --- 1e: the general page books general places only ---------------------------------------


def test_the_booking_page_books_a_general_place_whatever_channel_is_sent(client: Client, service, slot) -> None:
    assert _book(client, service, channel="student", school="浙江大学").status_code == 302
    assert Booking.objects.get().channel == "general"
    assert 'name="school"' not in client.get(f"/book/XH/?service={service.pk}&date=2026-12-02").content.decode()


# --- 1f: an error summary at the top of the form ----------------------------------------------


def test_failed_booking_has_an_error_summary_linking_each_bad_field(client: Client, service, slot) -> None:
    page = _book(client, service, name="", phone="123").content.decode()
    summary = re.search(r'<div class="error-summary"[^>]*data-error-summary>(.*?)</div>\s*</div>', page, re.S)
    assert summary is not None
    assert 'tabindex="-1"' in page[summary.start() : summary.start() + 200]
    assert 'role="alert"' in summary[1]
    links = re.findall(r'<a href="#(id_\w+)">', summary[1])
    assert links == ["id_name", "id_phone"]
    assert page.index("data-error-summary") < page.index('id="id_service"')  # above the form's fields


# --- 1h: the confirmation shows what to check, masked -----------------------------------------


def test_manage_page_shows_name_and_masked_id_and_phone(client: Client, office, service, slot) -> None:
    booking = _make_booking(office, service)
    page = client.get(f"{_manage_path(booking)}?new=1", headers=EN).content.decode()
    assert "王小晶" in page
    assert MASKED_ID in page
    assert "138****5678" in page
    assert ID_NUMBER not in page
    assert PHONE not in page


# --- 1i: days the official calendar does not know yet -----------------------------------------


def test_days_of_a_year_without_calendar_data_are_marked(client: Client, service, template, official_calendar):
    later = datetime(2026, 12, 20, 10, 0, tzinfo=SHANGHAI)
    with mock.patch("django.utils.timezone.now", return_value=later):
        services.slots_generate(today=later.date())
        page = client.get(f"/book/XH/?service={service.pk}", headers=EN).content.decode()
        known = re.search(r'<option value="2026-12-31">([^<]*)</option>', page)
        unknown = re.search(r'<option value="2027-01-01">([^<]*)</option>', page)
        day = client.get(f"/book/XH/?service={service.pk}&date=2027-01-01", headers=EN).content.decode()
        december = client.get(f"/book/XH/?service={service.pk}&date=2026-12-31", headers=EN).content.decode()
    assert known is not None
    assert unknown is not None
    assert "subject to the official holiday calendar" not in known[1]
    assert unknown[1] == f"{_en_day(date(2027, 1, 1))} (subject to the official holiday calendar)"
    assert "2027-01-01T09:00:00+08:00" in day
    assert "Subject to the official holiday calendar: the public holidays of 2027 are not published yet" in day
    assert "Subject to the official holiday calendar" not in december


# --- 2: the ID number is never echoed -----------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [{"phone": "123"}, {"name": ""}, {"start": ""}, {"date": "2026-12-03"}, {"id_number": "33010619900101123x"}],
)
def test_booking_page_after_an_error_never_shows_the_id_number(client: Client, service, slot, change) -> None:
    Slot.objects.filter(pk=slot.pk).update(general_booked=3)  # full: even a valid form fails
    response = _book(client, service, **change)
    page = response.content.decode()
    assert response.status_code in (200, 400, 409)
    assert ID_NUMBER not in page
    assert ID_NUMBER.lower() not in page
    assert re.search(r'<input type="text" name="id_number"(?![^>]*value=)[^>]*>', page)
    assert f"You entered {MASKED_ID}; please enter it again." in page
    assert 'aria-describedby="id_id_number_entered"' in page or "id_id_number_entered" in page


def test_a_mistyped_id_number_is_masked_too(client: Client, service, slot) -> None:
    page = _book(client, service, id_number="330106 19900101 1234").content.decode()
    assert "19900101" not in page
    assert "You entered 330***********1234; please enter it again." in page


# --- 3: lost manage link -------------------------------------------------------------------------

SENT = "If these match a booking, we have sent its link to that mobile number."


def test_lost_link_sends_the_link_to_the_bookings_own_phone(client: Client, office, service, slot) -> None:
    booking = _make_booking(office, service)
    assert client.get("/book/lost-link/", headers=EN).status_code == 200
    form = {"reference": booking.reference.lower(), "id_number": ID_NUMBER.lower(), "phone": "138 1234 5678"}
    response = client.post("/book/lost-link/", form, headers=EN, follow=True)
    assert response.redirect_chain == [("/book/lost-link/", 302)]
    assert SENT in response.content.decode()
    message = OutboxMessage.objects.get(kind=OutboxMessage.Kind.MANAGE_LINK)
    assert (message.reference, message.phone) == (booking.reference, PHONE)
    assert _manage_path(booking) in message.text


@pytest.mark.parametrize(
    "change",
    [{"reference": "ZZZZZZZZZZ"}, {"phone": "13900001111"}, {"id_number": "11010519491231002X"}],
)
def test_lost_link_answers_the_same_when_nothing_matches(client: Client, office, service, slot, change) -> None:
    booking = _make_booking(office, service)
    form = {"reference": booking.reference, "id_number": ID_NUMBER, "phone": PHONE, **change}
    response = client.post("/book/lost-link/", form, headers=EN, follow=True)
    assert response.redirect_chain == [("/book/lost-link/", 302)]
    assert SENT in response.content.decode()
    assert not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.MANAGE_LINK).exists()


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({}, "reference"),
        ({"reference": "", "id_number": "", "phone": ""}, "phone"),
        ({"reference": "AB\x00CDEFGH"}, "reference"),
        ({"reference": "AB\x07CDEFGH"}, "reference"),
        ({"reference": "K" * 10_000}, "reference"),
        ({"id_number": "3" * 10_000}, "id_number"),
        ({"phone": "1" * 10_000}, "phone"),
        ({"reference": "预约号预约号预约号"}, "reference"),
        ({"id_number": "三三〇一〇六一九九〇〇一〇一一二三X"}, "id_number"),
        ({"phone": "一三八一二三四五六七八"}, "phone"),
        ({"id_number": "330106900101123"}, "id_number"),
    ],
)
def test_lost_link_bad_input_names_the_field(client: Client, office, service, slot, form, field) -> None:
    booking = _make_booking(office, service)
    good = {"reference": booking.reference, "id_number": ID_NUMBER, "phone": PHONE}
    data = {**good, **form} if form else {}
    response = client.post("/book/lost-link/", data, headers=EN)
    page = response.content.decode()
    assert response.status_code == 200
    assert re.search(rf'<div id="id_{field}_error"><p class="error">', page)
    assert f'href="#id_{field}"' in page
    assert SENT not in page
    assert ID_NUMBER not in page
    assert not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.MANAGE_LINK).exists()


def test_lost_link_is_linked_from_the_booking_pages(client: Client, office, service, slot) -> None:
    booking = _make_booking(office, service)
    for path in ("/book/", "/book/XH/", _manage_path(booking), "/book/manage/ABCDEFGHJK/wrong/"):
        assert 'href="/book/lost-link/"' in client.get(path).content.decode(), path


def test_a_manage_link_that_matches_nothing_is_404_with_a_way_on(client: Client, office, service, slot) -> None:
    booking = _make_booking(office, service)
    for path in (f"/book/manage/{booking.reference}/wrong/", f"/book/manage/{booking.reference}/wrong/calendar.ics"):
        response = client.get(path, headers=EN)
        assert response.status_code == 404
        assert "No booking matches this link." in response.content.decode()
    response = client.post(f"/book/manage/{booking.reference}/wrong/cancel/")
    assert response.status_code == 404
    booking.refresh_from_db()
    assert booking.status == "booked"


# --- 4: every HTML 429 says when to try again --------------------------------------------------


def _limit(settings: SettingsWrapper, scope: str) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, scope: "1/minute"}


def test_booking_page_429_carries_retry_after(client: Client, service, slot, settings) -> None:
    _limit(settings, "booking-address")
    assert _book(client, service, phone="123").status_code == 400
    response = _book(client, service)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Too many booking attempts" in response.content.decode()
    assert Booking.objects.count() == 0


def test_lost_link_page_429_carries_retry_after(client: Client, settings) -> None:
    _limit(settings, "link-address")
    form = {"reference": "ABCDEFGHJK", "id_number": ID_NUMBER, "phone": PHONE}
    assert client.post("/book/lost-link/", form).status_code == 302
    response = client.post("/book/lost-link/", form, headers=EN)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    page = response.content.decode()
    assert "Too many requests from this device" in page
    assert ID_NUMBER not in page


def test_reschedule_429_carries_retry_after(client: Client, office, service, slot, settings) -> None:
    booking = _make_booking(office, service)
    _limit(settings, "booking-address")
    base = _manage_path(booking)
    client.post(f"{base}reschedule/", {"start": "2026-12-03T09:30:00+08:00"})
    response = client.post(f"{base}reschedule/", {"start": "2026-12-02T09:30:00+08:00"}, headers=EN)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Too many booking attempts" in response.content.decode()
    booking.refresh_from_db()
    assert booking.starts_at == at(3, 9, 30)
