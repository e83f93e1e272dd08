"""The nightly roll-up: the fixed day's figures land in the summary tables as the selectors
compute them; running it twice writes the same rows; pending days are caught up once."""

from datetime import date, datetime, time, timedelta
from typing import Any
from unittest import mock

import pytest
from django.db.models import Model
from django_q.models import Schedule

from bureau.dashboards import services, tasks
from bureau.dashboards.models import DayFigures, DeadlineFigures, DocumentFigures, HourFigures, RolledUpDay
from bureau.models import Office, Residency, Service
from bureau.services import DomainError
from tests.dashboards.conftest import DAY, SHANGHAI, at
from walkins.models import Ticket

pytestmark = pytest.mark.django_db

D = DAY.date()
AFTER = at(1, days=1)  # the night after the day


def rows(model: type[Model]) -> list[dict[str, Any]]:
    return sorted(
        ({k: v for k, v in row.items() if k != "id"} for row in model.objects.values()),  # type: ignore[attr-defined]
        key=repr,
    )


def test_the_roll_up_writes_the_day_as_computed_by_hand(
    office: Office, passport: Service, day: None, applications: None
) -> None:
    services.day_roll_up(day=D, now=AFTER)
    figures = DayFigures.objects.get(office=office, day=D)
    assert (figures.tickets_issued, figures.tickets_served, figures.tickets_missed) == (6, 2, 1)
    assert (figures.waits, figures.wait_minutes, figures.wait_minutes_p90, figures.within_target) == (4, 57.0, 20.0, 4)
    assert (figures.services, figures.service_minutes, figures.service_minutes_p90) == (2, 15.0, 10.0)
    assert (figures.bookings, figures.checked_in, figures.no_shows) == (3, 1, 1)
    arrivals = {row.hour: row.arrivals for row in HourFigures.objects.filter(office=office, day=D, counter=None)}
    assert arrivals == {9: 6}
    called = HourFigures.objects.get(office=office, day=D, counter__isnull=False)
    assert (called.hour, called.waits, called.wait_minutes, called.services, called.service_minutes) == (
        9,
        4,
        57.0,
        2,
        15.0,
    )
    assert DocumentFigures.objects.get(office=office, day=D).accepted == 2
    assert DocumentFigures.objects.filter(day=D).count() == 2  # and one at GS
    deadlines = {
        (row.residency, row.due, row.on_time) for row in DeadlineFigures.objects.filter(office=office, due_on=D)
    }
    assert deadlines == {(Residency.IN_PROVINCE, 3, 1), (Residency.OUT_OF_PROVINCE, 1, 1)}


def test_running_the_roll_up_twice_writes_the_same_rows(office: Office, day: None, applications: None) -> None:
    services.day_roll_up(day=D, now=AFTER)
    first = [rows(model) for model in (DayFigures, HourFigures, DocumentFigures, DeadlineFigures)]
    services.day_roll_up(day=D, now=AFTER)
    assert [rows(model) for model in (DayFigures, HourFigures, DocumentFigures, DeadlineFigures)] == first
    assert RolledUpDay.objects.filter(day=D).count() == 1


def test_the_nightly_job_rolls_up_each_finished_day_once(office: Office, day: None) -> None:
    after = datetime.combine(D + timedelta(days=1), time(1), tzinfo=SHANGHAI)
    first = services.days_roll_up_pending(now=after)
    assert first[-1] == D and len(first) == services.CATCH_UP_DAYS
    assert D + timedelta(days=1) not in first  # today is not finished
    assert services.days_roll_up_pending(now=after) == []
    assert DayFigures.objects.get(office=office, day=D).tickets_issued == 6


def test_the_nightly_job_is_scheduled_and_closes_the_day_first(office: Office, day: None) -> None:
    assert Schedule.objects.get(func="bureau.dashboards.tasks.roll_up_finished_days").schedule_type == "H"
    with mock.patch("django.utils.timezone.now", return_value=at(1, days=1)):
        assert tasks.roll_up_finished_days() == services.CATCH_UP_DAYS
    figures = DayFigures.objects.get(office=office, day=D)
    assert (figures.tickets_issued, figures.tickets_served) == (6, 2)
    assert Ticket.objects.filter(day=D, status=Ticket.Status.ABANDONED).count() == 3


def test_an_empty_day_is_rolled_up_with_no_rows() -> None:
    services.day_roll_up(day=date(2026, 12, 5), now=at(1, days=4))
    assert not DayFigures.objects.exists() and not HourFigures.objects.exists()
    assert RolledUpDay.objects.filter(day=date(2026, 12, 5)).exists()


@pytest.mark.parametrize("days", [0, 1])
def test_only_a_day_that_has_ended_is_rolled_up(office: Office, day: None, days: int) -> None:
    with pytest.raises(DomainError):
        services.day_roll_up(day=D + timedelta(days=days), now=at(23, 59))
    assert not RolledUpDay.objects.exists() and not DayFigures.objects.exists()


def test_days_rolled_up_under_earlier_definitions_are_rolled_up_again(office: Office, day: None) -> None:
    services.day_roll_up(day=D, now=AFTER)
    RolledUpDay.objects.filter(day=D).update(definitions=services.DEFINITIONS - 1)
    DayFigures.objects.filter(day=D).update(tickets_issued=99)
    assert services.days_roll_up_pending(now=AFTER)[-1:] == [D]
    assert DayFigures.objects.get(office=office, day=D).tickets_issued == 6
