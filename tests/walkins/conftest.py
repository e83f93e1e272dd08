from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from bureau.models import Counter, Office, OpeningSession, Service
from tests.factories import OfficeFactory, ServiceFactory, clerk

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
