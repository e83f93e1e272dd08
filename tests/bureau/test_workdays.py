"""Working-day arithmetic on the real official calendars of 2024-2026 (from the package
the database is seeded from), with no database."""

from datetime import date, timedelta

import pytest
from chinese_calendar import constants
from hypothesis import given
from hypothesis import strategies as st

from bureau.workdays import WorkCalendar, add_calendar_days, add_working_days

OFFICIAL = WorkCalendar(
    holidays=frozenset(constants.holidays),
    makeup_workdays=frozenset(constants.workdays),
    known_years=frozenset(range(2004, 2027)),
)


@pytest.mark.parametrize(
    ("accepted_on", "count", "due_on", "why"),
    [
        (date(2026, 3, 2), 7, date(2026, 3, 11), "plain Monday: the next 7 weekdays"),
        (date(2026, 3, 6), 7, date(2026, 3, 17), "Friday: weekend skipped"),
        (date(2026, 3, 7), 7, date(2026, 3, 17), "accepted on Saturday: counts from Monday like Friday"),
        (date(2026, 3, 8), 7, date(2026, 3, 17), "accepted on Sunday"),
        (date(2026, 9, 30), 7, date(2026, 10, 15), "National Day: Oct 1-7 off, Sat Oct 10 make-up day"),
        (date(2026, 10, 3), 7, date(2026, 10, 15), "accepted during the National Day holiday"),
        (date(2026, 2, 13), 5, date(2026, 2, 27), "Spring Festival 2026: Sat Feb 14 make-up, Feb 15-23 off"),
        (date(2026, 2, 13), 1, date(2026, 2, 14), "Sat Feb 14 2026 is a make-up working day"),
        (date(2025, 9, 30), 7, date(2025, 10, 16), "2025 National Day + Mid-autumn: Oct 1-8 off, Oct 11 make-up"),
        (date(2025, 1, 24), 7, date(2025, 2, 10), "Spring Festival 2025: Jan 26 make-up, Jan 28-Feb 4 off, Feb 8"),
        (date(2024, 4, 30), 5, date(2024, 5, 10), "Labour Day 2024: May 1-5 off"),
        (date(2024, 12, 27), 7, date(2025, 1, 8), "year boundary: Jan 1 2025 off"),
        (date(2025, 12, 31), 7, date(2026, 1, 12), "year boundary: Jan 1-3 2026 off, Sun Jan 4 make-up"),
    ],
)
def test_add_working_days_follows_official_calendar(accepted_on: date, count: int, due_on: date, why: str) -> None:
    assert add_working_days(OFFICIAL, accepted_on, count).due_on == due_on, why


def test_add_working_days_into_unknown_year_counts_weekends_only_and_is_provisional() -> None:
    # 2027 is not in the package: Jan 1 2027 (a Friday) counts as a working day, provisionally.
    deadline = add_working_days(OFFICIAL, date(2026, 12, 28), 7)
    assert deadline.due_on == date(2027, 1, 6)
    assert deadline.provisional is True


def test_add_working_days_inside_known_year_is_not_provisional() -> None:
    assert add_working_days(OFFICIAL, date(2026, 12, 21), 7).provisional is False


def test_add_working_days_with_no_calendar_at_all_counts_weekdays() -> None:
    empty = WorkCalendar(holidays=frozenset(), makeup_workdays=frozenset(), known_years=frozenset())
    deadline = add_working_days(empty, date(2030, 5, 3), 2)
    assert (deadline.due_on, deadline.provisional) == (date(2030, 5, 7), True)


@pytest.mark.parametrize(
    ("accepted_on", "due_on"),
    [
        (date(2026, 3, 2), date(2026, 3, 22)),
        (date(2026, 9, 30), date(2026, 10, 20)),  # holidays do not move a calendar-day deadline
        (date(2026, 12, 20), date(2027, 1, 9)),
        (date(2024, 2, 9), date(2024, 2, 29)),  # leap year
    ],
)
def test_add_calendar_days_is_plain_date_arithmetic(accepted_on: date, due_on: date) -> None:
    deadline = add_calendar_days(accepted_on, 20)
    assert (deadline.due_on, deadline.provisional) == (due_on, False)


@pytest.mark.parametrize("count", [0, -1])
def test_counts_below_one_are_refused(count: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        add_working_days(OFFICIAL, date(2026, 1, 5), count)
    with pytest.raises(ValueError, match="at least 1"):
        add_calendar_days(date(2026, 1, 5), count)


def test_makeup_day_on_weekend_is_working_and_holiday_on_weekday_is_not() -> None:
    assert OFFICIAL.is_working_day(date(2026, 10, 10)) is True  # Saturday, make-up
    assert OFFICIAL.is_working_day(date(2026, 10, 5)) is False  # Monday, National Day
    assert OFFICIAL.is_working_day(date(2026, 10, 11)) is False  # ordinary Sunday


days_2024_2026 = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 11, 30))


@given(accepted_on=days_2024_2026, count=st.integers(min_value=1, max_value=30))
def test_working_day_due_date_is_a_working_day_after_acceptance(accepted_on: date, count: int) -> None:
    due = add_working_days(OFFICIAL, accepted_on, count).due_on
    assert due > accepted_on
    assert OFFICIAL.is_working_day(due)
    counted = [accepted_on + timedelta(days=i) for i in range(1, (due - accepted_on).days + 1)]
    assert sum(OFFICIAL.is_working_day(d) for d in counted) == count


@given(first=days_2024_2026, gap=st.integers(min_value=0, max_value=60), count=st.integers(min_value=1, max_value=30))
def test_later_acceptance_never_gives_an_earlier_due_date(first: date, gap: int, count: int) -> None:
    later = first + timedelta(days=gap)
    assert add_working_days(OFFICIAL, later, count).due_on >= add_working_days(OFFICIAL, first, count).due_on
    assert add_calendar_days(later, count).due_on >= add_calendar_days(first, count).due_on
