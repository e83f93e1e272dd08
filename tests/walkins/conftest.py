from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from appointments.models import Booking, BookingPolicy
from appointments.services import booking_create, slots_generate
from bureau.models import Counter, Office, OpeningSession, Service
from tests.factories import OfficeFactory, ServiceFactory, clerk, nine_to_ten

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)  # a Wednesday


@pytest.fixture
def office(db: None) -> Office:
    office = OfficeFactory.create(code="XH")
    OpeningSession.objects.create(office=office, day_kind="weekday", opens_at=time(9), closes_at=time(17))
    return office


@pytest.fixture
def passport(db: None) -> Service:
    return ServiceFactory.create(code="passport-first")


@pytest.fixture
def endorsement(db: None) -> Service:
    return ServiceFactory.create(code="hk-macao-endorsement", document="hk_macao", business="endorsement")


@pytest.fixture
def counters(office: Office, passport: Service, endorsement: Service) -> list[Counter]:
    """Window 1 serves both services; window 2 is the enterprise window, passports only."""
    one = Counter.objects.create(office=office, number=1)
    one.services.set([passport, endorsement])
    two = Counter.objects.create(office=office, number=2, enterprise_window=True)
    two.services.set([passport])
    return [one, two]


@pytest.fixture
def clerks(office: Office) -> list:
    return [clerk(office, username="clerk-1"), clerk(office, username="clerk-2")]


# A booked applicant's ID number (tests/walkins: the check-in pages must never show it).
BOOKED_ID_NUMBER = "33010619900101123X"
SLOT_START = datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI)  # NOW's day


@pytest.fixture
def booking(office: Office, passport: Service) -> Booking:
    """A booking of 王小晶 at 09:00 on Wednesday 2 December (NOW's day), made the day before."""
    nine_to_ten(office, passport)
    BookingPolicy.objects.get_or_create(pk=1)
    day_before = NOW - timedelta(days=1)
    slots_generate(today=day_before.date())
    return booking_create(
        office=office,
        service=passport,
        start=SLOT_START,
        name="王小晶",
        id_number=BOOKED_ID_NUMBER,
        phone="13812345678",
        now=day_before,
    )
