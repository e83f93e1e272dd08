"""Pure booking rules: the rolling window, the no-show block."""

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta


def bookable_dates(*, today: date, local_time: time, window_days: int, opens_at: time) -> tuple[date, date]:
    """First and last bookable day: tomorrow up to today + window, the last day only once
    the day's opening hour has passed."""
    last = today + timedelta(days=window_days if local_time >= opens_at else window_days - 1)
    return today + timedelta(days=1), last


def blocked_until(no_shows: Sequence[datetime], *, limit: int, period: timedelta, block: timedelta) -> datetime | None:
    """End of the block earned by `limit` no-shows within `period` (the latest such run
    counts), or None. `no_shows` are the slot times the applicant missed."""
    times = sorted(no_shows)
    latest_end = None
    for i in range(limit - 1, len(times)):
        if times[i] - times[i - limit + 1] <= period:
            latest_end = times[i] + block
    return latest_end
