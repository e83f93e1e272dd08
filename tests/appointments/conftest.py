from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from appointments.models import BookingPolicy, Slot, SlotTemplate
from appointments.services import slots_generate
from bureau.models import Office, Service
from tests.factories import OfficeFactory, ServiceFactory, nine_to_ten

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 12, 1)  # a Tuesday
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A moment of December 2026 in Hangzhou."""
    return datetime(2026, 12, day, hour, minute, second, tzinfo=SHANGHAI)


@pytest.fixture
def office(db: None) -> Office:
    return OfficeFactory.create(code="XH")


@pytest.fixture
def service(db: None) -> Service:
    return ServiceFactory.create(code="passport-first")


@pytest.fixture
def template(office: Office, service: Service) -> SlotTemplate:
    """Weekdays 09:00-10:00 in half hours, 3 general places, 1 emergency place (and 1
    student place once the slots are made)."""
    return nine_to_ten(office, service, emergency_quota=1)


@pytest.fixture
def slots(template: SlotTemplate, official_calendar: None) -> None:
    BookingPolicy.objects.get_or_create(pk=1, defaults={"hold_minutes": 30})
    slots_generate(today=TODAY)
    Slot.objects.update(student_quota=1)  # as a student session gives them (priority)


@pytest.fixture
def slot(slots: None) -> Slot:
    """Wednesday 2 December 09:00."""
    return Slot.objects.get(starts_at=at(2, 9))
