"""Working-day arithmetic on China's official calendar, as pure functions over data.

Monday to Friday are working days, minus public holidays, plus make-up working days (调休).
For a year the calendar has no data for, only weekends count as days off, and any due date
whose counting runs through such a year is provisional.
"""

from dataclasses import dataclass
from datetime import date, timedelta

SATURDAY = 5


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[date]
    makeup_workdays: frozenset[date]
    known_years: frozenset[int]

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < SATURDAY

    def knows(self, day: date) -> bool:
        return day.year in self.known_years


@dataclass(frozen=True)
class Deadline:
    due_on: date
    provisional: bool


def add_working_days(calendar: WorkCalendar, start: date, count: int) -> Deadline:
    """The count-th working day after `start` (counting begins the next day)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    day = start
    remaining = count
    provisional = False
    while remaining:
        day += timedelta(days=1)
        provisional = provisional or not calendar.knows(day)
        if calendar.is_working_day(day):
            remaining -= 1
    return Deadline(due_on=day, provisional=provisional)


def add_calendar_days(start: date, count: int) -> Deadline:
    """`start` + count days; holidays do not move it, so it is never provisional."""
    if count < 1:
        raise ValueError("count must be at least 1")
    return Deadline(due_on=start + timedelta(days=count), provisional=False)
