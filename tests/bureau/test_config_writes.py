"""Writes of offices, services and the booking policy drop the cached copies after commit,
whoever makes them (the admin only calls these services)."""

import pytest

from appointments import selectors as booking_selectors
from appointments import services as booking_services
from bureau import selectors, services
from bureau.models import Office, Service
from tests.factories import OfficeFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def test_an_office_saved_through_the_service_is_seen_at_once(django_capture_on_commit_callbacks) -> None:
    office = OfficeFactory.create(code="XH", name_zh="西湖")
    assert selectors.office_by_code("XH").name_zh == "西湖"  # type: ignore[union-attr]
    office.name_zh = "西湖区"
    with django_capture_on_commit_callbacks(execute=True):
        services.office_save(office=office, fields=["name_zh"])
    assert selectors.office_by_code("XH").name_zh == "西湖区"  # type: ignore[union-attr]


def test_a_renamed_office_code_is_forgotten(django_capture_on_commit_callbacks) -> None:
    office = OfficeFactory.create(code="XH")
    assert selectors.office_by_code("XH") is not None
    office.code = "XIHU"
    with django_capture_on_commit_callbacks(execute=True):
        services.office_save(office=office, fields=["code"])
    assert selectors.office_by_code("XH") is None
    assert selectors.office_by_code("XIHU") == office


def test_an_office_save_writes_only_the_given_fields() -> None:
    office = OfficeFactory.create(name_zh="西湖", name_en="West Lake")
    Office.objects.filter(pk=office.pk).update(name_en="West Lake Hall")  # another writer, meanwhile
    office.name_zh = "西湖区"
    services.office_save(office=office, fields=["name_zh"])
    assert Office.objects.filter(pk=office.pk).values_list("name_zh", "name_en").get() == ("西湖区", "West Lake Hall")


def test_a_new_office_is_created_and_its_code_forgotten(django_capture_on_commit_callbacks) -> None:
    assert selectors.office_by_code("NEW") is None
    new = Office(code="NEW", name_zh="新", name_en="New", mode=Office.Mode.WALK_IN_ONLY, address_zh="a", address_en="a")
    with django_capture_on_commit_callbacks(execute=True):
        services.office_save(office=new)
    assert selectors.office_by_code("NEW") == new


def test_a_service_saved_through_the_service_is_seen_at_once(django_capture_on_commit_callbacks) -> None:
    service = ServiceFactory.create(code="passport-first", weekend_service=True)
    assert selectors.service_by_code("passport-first").weekend_service is True  # type: ignore[union-attr]
    service.weekend_service = False
    with django_capture_on_commit_callbacks(execute=True):
        services.service_save(service=service, fields=["weekend_service"])
    assert selectors.service_by_code("passport-first").weekend_service is False  # type: ignore[union-attr]
    assert Service.objects.get(pk=service.pk).weekend_service is False


def test_the_policy_updated_through_the_service_is_seen_at_once(django_capture_on_commit_callbacks) -> None:
    policy = booking_selectors.policy()
    assert policy.window_days == 14
    policy.window_days = 7
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        booking_services.policy_update(policy=policy, fields=["window_days"])
    assert len(callbacks) == 1
    assert booking_selectors.policy().window_days == 7
