"""Offices, services and the booking policy are cached per process for CONFIG_TTL_SECONDS."""

import time
from typing import Any
from unittest import mock

import pytest
from django.test import Client

from appointments import selectors as booking_selectors
from appointments.models import BookingPolicy
from bureau import selectors
from bureau.models import Office
from tests.factories import OfficeFactory, supervisor

pytestmark = pytest.mark.django_db


def later(seconds: float) -> Any:
    """The local cache's clock, moved on."""
    return mock.patch("django.core.cache.backends.locmem.time", mock.Mock(time=lambda: time.time() + seconds))


def name_of(code: str) -> str | None:
    office = selectors.office_by_code(code)
    return office.name_zh if office else None


def test_an_edit_outside_the_admin_is_seen_within_the_ttl(django_assert_num_queries) -> None:
    office = OfficeFactory.create(code="XH", name_zh="西湖")
    assert name_of("XH") == "西湖"
    Office.objects.filter(pk=office.pk).update(name_zh="西湖区")
    with django_assert_num_queries(0):
        assert name_of("XH") == "西湖"  # still the cached row
    with later(selectors.CONFIG_TTL_SECONDS + 1):
        assert name_of("XH") == "西湖区"


def test_an_unknown_code_is_not_cached() -> None:
    assert selectors.office_by_code("NEW") is None
    OfficeFactory.create(code="NEW")
    assert selectors.office_by_code("NEW") is not None


def test_saving_an_office_in_the_admin_drops_it_at_once(client: Client, django_capture_on_commit_callbacks) -> None:
    office = OfficeFactory.create(code="XH", name_zh="西湖")
    assert name_of("XH") == "西湖"
    client.force_login(supervisor(office))
    page = client.get(f"/admin/bureau/office/{office.pk}/change/").context
    data = {name: value for name, value in page["adminform"].form.initial.items() if value is not None}
    for inline in page["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    data["name_zh"] = "西湖区"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/bureau/office/{office.pk}/change/", data)
    assert response.status_code == 302
    assert name_of("XH") == "西湖区"


def test_policy_is_read_once_per_ttl(django_assert_num_queries) -> None:
    BookingPolicy.objects.create(pk=1, window_days=14)
    assert booking_selectors.policy().window_days == 14
    BookingPolicy.objects.filter(pk=1).update(window_days=7)
    with django_assert_num_queries(0):
        assert booking_selectors.policy().window_days == 14
    booking_selectors.policy_changed()
    assert booking_selectors.policy().window_days == 7
