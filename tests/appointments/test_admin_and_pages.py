"""Supervisors' booking screens and the applicant's booking pages."""

from unittest import mock

import pytest
from django.test import Client

from appointments import selectors
from appointments.models import Booking, BookingPolicy, Slot, SlotTemplate
from tests.appointments.conftest import NOW, at
from tests.factories import OfficeFactory, bureau_wide_supervisor, clerk, supervisor

pytestmark = pytest.mark.django_db

TEMPLATE_FORM = {
    "day_kind": "weekday",
    "starts_at": "09:00",
    "ends_at": "10:00",
    "slot_minutes": "30",
    "general_quota": "3",
    "enterprise_quota": "0",
    "emergency_quota": "1",
}
BOOKING_FORM = {
    "date": "2026-12-02",
    "start": "2026-12-02T09:00:00+08:00",
    "name": "王小晶",
    "id_number": "33010619900101123X",
    "phone": "13812345678",
    "channel": "general",
}


@pytest.fixture(autouse=True)
def frozen_now():
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield


def test_supervisor_edits_a_template_and_unbooked_slots_follow(client: Client, office, service, template, slot) -> None:
    Slot.objects.filter(pk=slot.pk).update(general_booked=1)  # a booked slot stays as it is
    client.force_login(supervisor(office))
    form = {**TEMPLATE_FORM, "office": office.pk, "services": [service.pk], "general_quota": "8"}
    response = client.post(f"/admin/appointments/slottemplate/{template.pk}/change/", form)
    assert response.status_code == 302
    kept = Slot.objects.get(pk=slot.pk)
    assert (kept.general_quota, kept.general_booked) == (3, 1)
    assert Slot.objects.get(starts_at=at(2, 9, 30)).general_quota == 8


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"starts_at": "10:00", "ends_at": "09:00"}, "must end after"),
        ({"slot_minutes": "2"}, "5 to 240"),
        ({"general_quota": "-1"}, "errorlist"),
    ],
)
def test_bad_template_is_refused_with_a_message(client: Client, office, service, template, change, message) -> None:
    client.force_login(supervisor(office))
    form = {**TEMPLATE_FORM, "office": office.pk, "services": [service.pk]}
    response = client.post(
        f"/admin/appointments/slottemplate/{template.pk}/change/", {**form, **change}, headers={"accept-language": "en"}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert SlotTemplate.objects.get(pk=template.pk).general_quota == 3


def test_supervisor_cannot_make_templates_for_other_offices(client: Client, office, service) -> None:
    other = OfficeFactory.create()
    client.force_login(supervisor(office))
    form = {**TEMPLATE_FORM, "office": other.pk, "services": [service.pk]}
    response = client.post("/admin/appointments/slottemplate/add/", form)
    assert response.status_code == 200
    assert not SlotTemplate.objects.filter(office=other).exists()


def test_booking_policy_is_one_row_edited_in_place(client: Client, office) -> None:
    client.force_login(bureau_wide_supervisor())
    assert client.get("/admin/appointments/bookingpolicy/").status_code == 200
    policy = selectors.policy()
    assert client.get("/admin/appointments/bookingpolicy/add/").status_code == 403
    form = {
        "window_days": "7",
        "opens_at": "09:00",
        "check_in_before_minutes": "20",
        "check_in_after_minutes": "10",
        "hold_minutes": "15",
        "no_show_limit": "3",
        "no_show_period_days": "90",
        "block_days": "30",
    }
    assert client.post(f"/admin/appointments/bookingpolicy/{policy.pk}/change/", form).status_code == 302
    assert BookingPolicy.objects.get().window_days == 7
    bad = client.post(f"/admin/appointments/bookingpolicy/{policy.pk}/change/", {**form, "window_days": "0"})
    assert bad.status_code == 200
    assert BookingPolicy.objects.get().window_days == 7


def test_bookings_in_admin_are_masked_and_scoped(client: Client, office, service, slot) -> None:
    from appointments import services

    services.booking_create(
        office=office,
        service=service,
        start=at(2, 9),
        name="王小晶",
        id_number="33010619900101123X",
        phone="13812345678",
        now=NOW,
    )
    client.force_login(supervisor(office))
    page = client.get("/admin/appointments/booking/").content.decode()
    assert "330***********123X" in page
    assert "138****5678" in page
    assert "13812345678" not in page
    client.force_login(supervisor(OfficeFactory.create()))
    assert "330***********123X" not in client.get("/admin/appointments/booking/").content.decode()


def test_clerk_cannot_open_booking_admin(client: Client, office) -> None:
    client.force_login(clerk(office))
    assert client.get("/admin/appointments/slottemplate/").status_code == 302


def test_booking_page_books_and_redirects_to_the_manage_link(client: Client, office, service, slot) -> None:
    form = {**BOOKING_FORM, "service": service.pk}
    response = client.post("/book/XH/", form)
    booking = Booking.objects.get()
    assert response.status_code == 302
    assert (
        response["Location"] == f"/book/manage/{booking.reference}/{selectors.booking_token(booking.reference)}/?new=1"
    )
    manage = client.get(response["Location"])
    assert manage.status_code == 200
    assert "<svg" in manage.content.decode()
    ics = client.get(f"/book/manage/{booking.reference}/{selectors.booking_token(booking.reference)}/calendar.ics")
    assert ics["Content-Type"].startswith("text/calendar")
    assert b"DTSTART:20261202T010000Z" in ics.content
    assert client.get(f"/book/manage/{booking.reference}/wrongtoken/").status_code == 404


@pytest.mark.parametrize(
    ("change", "status", "text"),
    [
        ({"id_number": "330106199001011234"}, 400, "does not match"),
        ({"phone": "123"}, 400, "11-digit"),
        ({"start": ""}, 200, "Choose a time."),
        ({"start": "2026-12-02T09:10:00+08:00"}, 400, "no slot"),
    ],
)
def test_booking_page_shows_errors_next_to_fields(client: Client, service, slot, change, status, text) -> None:
    form = {**BOOKING_FORM, "service": service.pk}
    response = client.post("/book/XH/", {**form, **change}, headers={"accept-language": "en"})
    assert response.status_code == status
    assert text in response.content.decode()
    assert Booking.objects.count() == 0


def test_booking_page_full_slot_is_409_with_a_message(client: Client, service, slot) -> None:
    Slot.objects.filter(pk=slot.pk).update(general_booked=3)
    form = {**BOOKING_FORM, "service": service.pk}
    response = client.post("/book/XH/", form, headers={"accept-language": "en"})
    assert response.status_code == 409
    assert "fully booked" in response.content.decode()


def test_booking_page_of_a_walk_in_office_shows_address_and_hours(client: Client, service) -> None:
    OfficeFactory.create(code="FY", mode="walk_in_only", address_en="57 Jiangbin West Avenue")
    page = client.get("/book/FY/", headers={"accept-language": "en"}).content.decode()
    assert "57 Jiangbin West Avenue" in page
    assert 'name="start"' not in page


def test_manage_page_cancel_and_reschedule(client: Client, office, service, slot) -> None:
    from appointments import services

    booking = services.booking_create(
        office=office,
        service=service,
        start=at(2, 9),
        name="王小晶",
        id_number="33010619900101123X",
        phone="13812345678",
        now=NOW,
    )
    base = f"/book/manage/{booking.reference}/{selectors.booking_token(booking.reference)}/"
    slots_page = client.get(f"{base}?date=2026-12-03").content.decode()
    assert "2026-12-03T09:30:00+08:00" in slots_page
    client.post(f"{base}reschedule/", {"start": "2026-12-03T09:30:00+08:00"})
    booking.refresh_from_db()
    assert booking.slot.starts_at == at(3, 9, 30)
    bad = client.post(f"{base}reschedule/", {"start": "nonsense"}, follow=True)
    assert bad.status_code == 200
    client.post(f"{base}cancel/")
    booking.refresh_from_db()
    assert booking.status == "cancelled"
    assert client.post(f"/book/manage/{booking.reference}/bad/cancel/").status_code == 404


def test_unknown_booking_office_is_404(client: Client) -> None:
    assert client.get("/book/NOPE/").status_code == 404


def test_day_choices_keep_only_days_with_slots_for_the_chosen_service(client: Client, service, slot) -> None:
    page = client.get(f"/book/XH/?service={service.pk}").content.decode()
    assert 'value="2026-12-02"' in page
    assert 'value="2026-12-05"' not in page  # Saturday: the fixture has weekday slots only
    unfiltered = client.get("/book/XH/").content.decode()
    assert 'value="2026-12-05"' in unfiltered
    assert client.get("/book/XH/?service=%D9%A3").status_code == 200  # a non-ASCII digit is no pk


def _two_bookings(office, service) -> None:
    from appointments import services

    for id_number, phone in (("33010619900101123X", "13812345678"), ("110101199003077774", "13900001111")):
        services.booking_create(
            office=office, service=service, start=at(2, 9), name="王小晶", id_number=id_number, phone=phone, now=NOW
        )


@pytest.mark.parametrize(
    "query",
    [
        "id_number__startswith=3301",
        "phone__startswith=138",
        "phone__endswith=5678",
        "phone__contains=1234",
        "phone__regex=^13",
        "phone__gte=13800000000",
        "phone__range=13800000000,13899999999",
        "phone__in=13812345678,13900001111",
        "phone=13812345678&phone=13900001111",
        "slot__bookings__id_number__startswith=33",
        "slot__bookings__phone__startswith=138",
        "office__bookings__phone__startswith=138",
        "office__applications__id_number__startswith=33",
    ],
)
def test_booking_list_refuses_lookups_on_personal_fields(client: Client, office, service, slot, query) -> None:
    _two_bookings(office, service)
    client.force_login(supervisor(office))
    assert client.get(f"/admin/appointments/booking/?{query}").status_code == 400


@pytest.mark.parametrize(
    ("query", "found"),
    [("phone=13812345678", "330***********123X"), ("id_number__exact=110101199003077774", "110***********7774")],
)
def test_booking_list_finds_one_person_by_an_exact_match(client: Client, office, service, slot, query, found) -> None:
    _two_bookings(office, service)
    client.force_login(supervisor(office))
    response = client.get(f"/admin/appointments/booking/?{query}")
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 1
    assert found in response.content.decode()


def test_an_office_supervisor_sees_the_booking_policy_but_cannot_change_it(client: Client, office) -> None:
    client.force_login(supervisor(office))
    policy = selectors.policy()
    page = client.get(f"/admin/appointments/bookingpolicy/{policy.pk}/change/")
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert 'name="_save"' not in page.content.decode()
    form = {
        "window_days": "7",
        "opens_at": "09:00",
        "check_in_before_minutes": "20",
        "check_in_after_minutes": "10",
        "hold_minutes": "15",
        "no_show_limit": "3",
        "no_show_period_days": "90",
        "block_days": "30",
    }
    assert client.post(f"/admin/appointments/bookingpolicy/{policy.pk}/change/", form).status_code == 403
    assert BookingPolicy.objects.get().window_days == 14
