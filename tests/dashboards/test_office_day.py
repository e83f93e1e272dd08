"""Supervisors' day view of an office's bookings."""

import re
from datetime import time, timedelta

import pytest
from django.test import Client

from appointments import services
from appointments.models import Slot, SlotTemplate
from tests.appointments.conftest import NOW, TODAY, at
from tests.factories import OfficeFactory, ServiceFactory, clerk, supervisor

pytestmark = pytest.mark.django_db


@pytest.fixture
def office_with_bookings(official_calendar):
    office = OfficeFactory.create(code="XH")
    service = ServiceFactory.create()
    template = SlotTemplate.objects.create(
        office=office, day_kind="weekday", starts_at=time(9), ends_at=time(10), general_quota=3
    )
    template.services.set([service])
    services.slots_generate(today=TODAY)
    Slot.objects.update(student_quota=1)  # a student session's places (priority)
    for n, number in enumerate(["33010619900101123X", "11010519491231002X", "440300198511105416"]):
        booking = services.booking_create(
            office=office, service=service, start=at(2, 9), name="王", id_number=number, phone="13812345678", now=NOW
        )
        if n == 0:
            services.booking_check_in(code=booking.reference, office=office, by=clerk(office), now=at(2, 8, 50))
        if n == 1:
            services.booking_cancel(booking=booking, now=NOW)
    return office


def test_day_view_counts_each_outcome_per_slot(client: Client, office_with_bookings) -> None:
    client.force_login(supervisor(office_with_bookings))
    page = client.get("/dashboard/offices/XH/2026-12-02/")
    assert page.status_code == 200
    body = page.content.decode()
    first_row = re.search(r"<tbody>\s*<tr>(.*?)</tr>", body, re.S)
    assert first_row is not None
    cells = re.findall(r"<td>(.*?)</td>", first_row.group(1))
    # time, places (3 general + 1 student + the emergency reserve's 1) and taken (2 active
    # bookings and the cancelled one's place, held back before it returns); per channel taken / places: general, student, enterprise, emergency; then
    # booked (not yet come), checked in, no-shows, cancelled
    assert cells == ["09:00", "5", "3", "3 / 3", "0 / 1", "0 / 0", "0 / 1", "1", "1", "0", "1"]


@pytest.mark.parametrize("slots_per_day", [1, 3])
def test_day_view_query_count_does_not_grow(
    client: Client, official_calendar, django_assert_num_queries, slots_per_day
) -> None:
    office = OfficeFactory.create(code="XH")
    end = (at(2, 9) + timedelta(minutes=30 * slots_per_day)).time()
    SlotTemplate.objects.create(office=office, day_kind="weekday", starts_at=time(9), ends_at=end)
    services.slots_generate(today=TODAY)
    client.force_login(supervisor(office))
    with django_assert_num_queries(5):  # session, user, staff role, office, slots with counts
        assert client.get("/dashboard/offices/XH/2026-12-02/").status_code == 200


def test_day_view_of_another_office_or_a_bad_date_is_404(client: Client, office_with_bookings) -> None:
    client.force_login(supervisor(OfficeFactory.create()))
    assert client.get("/dashboard/offices/XH/2026-12-02/").status_code == 404
    client.force_login(supervisor(office_with_bookings))
    assert client.get("/dashboard/offices/XH/2026-02-30/").status_code == 404
    assert client.get("/dashboard/offices/XH/").status_code == 200


def test_clerk_cannot_open_the_day_view(client: Client, office_with_bookings) -> None:
    client.force_login(clerk(office_with_bookings))
    assert client.get("/dashboard/offices/XH/2026-12-02/").status_code == 403
