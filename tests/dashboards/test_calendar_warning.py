"""Supervisors are told to enter a year's official calendar before the booking window
reaches it (its days would otherwise open by weekday)."""

from datetime import date, datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from appointments.selectors import MissingCalendarYear, calendar_year_missing_soon
from bureau.models import CalendarYear
from tests.factories import OfficeFactory, supervisor

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 11, 17), None),  # the window plus 30 days ends on 31 December
        (date(2026, 11, 18), MissingCalendarYear(2027, date(2026, 12, 18))),  # 30 days before 18 December
        (date(2026, 12, 29), MissingCalendarYear(2027, date(2026, 12, 18))),  # already in the window
        (date(2027, 1, 10), MissingCalendarYear(2027, date(2026, 12, 28))),  # in the year itself
    ],
)
def test_the_missing_year_is_named_30_days_before_the_window_reaches_it(official_calendar, today, expected) -> None:
    assert calendar_year_missing_soon(today) == expected


def test_no_warning_once_the_year_is_entered(official_calendar) -> None:
    CalendarYear.objects.create(year=2027)
    assert calendar_year_missing_soon(date(2026, 12, 1)) is None


@pytest.mark.parametrize(
    ("language", "text"),
    [("zh-hans", "2027年官方日历尚未录入"), ("en", "The official calendar for 2027 has not been entered.")],
)
def test_the_dashboard_shows_the_warning(client: Client, official_calendar, language: str, text: str) -> None:
    client.force_login(supervisor(OfficeFactory.create(code="XH")))
    with mock.patch("django.utils.timezone.now", return_value=datetime(2026, 12, 1, 10, tzinfo=SHANGHAI)):
        page = client.get("/dashboard/", headers={"accept-language": language}).content.decode()
    assert text in page
    assert "/admin/bureau/calendaryear/add/" in page
