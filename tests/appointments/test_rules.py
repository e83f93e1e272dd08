from datetime import UTC, date, datetime, time, timedelta

import pytest

from appointments.rules import blocked_until, bookable_dates
from bureau.identity import mask_phone, normalize_mobile

DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("clock", "last"),
    [(time(7, 59, 59), date(2026, 12, 14)), (time(8, 0), date(2026, 12, 15)), (time(23, 0), date(2026, 12, 15))],
)
def test_bookable_dates_open_the_new_day_at_the_opening_hour(clock: time, last: date) -> None:
    assert bookable_dates(today=date(2026, 12, 1), local_time=clock, window_days=14, opens_at=time(8)) == (
        date(2026, 12, 2),
        last,
    )


def _t(day: int) -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC) + day * DAY


@pytest.mark.parametrize(
    ("days", "until_day"),
    [
        ([], None),
        ([0, 10], None),
        ([0, 10, 20], 50),  # three within 90 days: blocked 30 days after the third
        ([0, 45, 91], None),  # the first and third are 91 days apart
        ([0, 45, 90], 120),  # exactly 90 days apart still counts
        ([0, 10, 20, 60], 90),  # the latest run of three counts
    ],
)
def test_blocked_until_three_no_shows_in_ninety_days(days: list[int], until_day: int | None) -> None:
    until = blocked_until([_t(d) for d in days], limit=3, period=90 * DAY, block=30 * DAY)
    assert until == (None if until_day is None else _t(until_day))


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("12812345678", None),
        ("1381234567", None),
        ("138123456789", None),
        ("1381234567x", None),
        ("１３８１２３４５６７８", "13812345678"),  # full-width digits from a Chinese keyboard
        ("138１234５67８\u0663", None),
        ("", None),
    ],
)
def test_normalize_mobile(raw: str, normalized: str | None) -> None:
    assert normalize_mobile(raw) == normalized


def test_mask_phone_keeps_first_three_and_last_four() -> None:
    assert mask_phone("13812345678") == "138****5678"
