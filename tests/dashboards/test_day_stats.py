"""`GET offices/{code}/day-stats/` (SPEC 9): the figures of a fixed day, computed by hand;
who may read them; bad dates; a constant number of queries however busy the day."""

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from bureau.dashboards import selectors
from bureau.models import Counter, Office, Service
from tests.dashboards.conftest import DAY, at
from tests.factories import OfficeFactory, clerk, staff, supervisor, walk_in_ticket
from walkins import services as walkins

pytestmark = pytest.mark.django_db

EXPECTED = {
    "date": "2026-12-02",
    "tickets_issued": 6,
    "tickets_served": 2,
    "tickets_missed": 1,
    "waiting_now": 3,
    "appointments_booked": 3,
    "appointments_checked_in": 1,
    "appointments_no_show": 1,
    "wait_minutes_p50": 15.0,
    "wait_minutes_p90": 20.0,
    "wait_minutes_mean": 14.2,
    "served_within_target": 1.0,
    "target_wait_minutes": 30,
    "longest_wait_minutes": 0.0,  # the day is not today
    "service_minutes_mean": 7.5,
    "service_minutes_p90": 10.0,
}


def api(user: Any) -> Client:
    return Client(headers={"authorization": f"Token {Token.objects.get_or_create(user=user)[0].key}"})


def test_the_figures_of_a_day_are_those_computed_by_hand(office: Office, day: None) -> None:
    answer = api(clerk(office, username="reader")).get("/api/v1/offices/XH/day-stats/", {"date": "2026-12-02"})
    assert answer.status_code == 200, answer.json()
    assert answer.json() == EXPECTED
    next_day = api(clerk(office, username="reader-2")).get("/api/v1/offices/XH/day-stats/", {"date": "2026-12-03"})
    assert {k: next_day.json()[k] for k in ("tickets_issued", "waiting_now", "wait_minutes_p50")} == {
        "tickets_issued": 1,
        "waiting_now": 1,
        "wait_minutes_p50": None,
    }


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [([], 0.5, None), ([7.0], 0.9, 7.0), ([6, 15, 16, 20], 0.5, 15), ([6, 15, 16, 20], 0.9, 20), ([3, 1, 2], 0.5, 2)],
)
def test_percentiles_take_the_nearest_rank(values: list[float], share: float, expected: float | None) -> None:
    assert selectors.nearest_rank(values, share) == expected


def test_the_figures_cost_the_same_queries_however_busy_the_day(office: Office, passport: Service) -> None:
    desk = clerk(office, username="desk")
    Counter.objects.create(office=office, number=1).services.set([passport])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            selectors.day_stats(office, DAY.date())
        return len(captured.captured_queries)

    walk_in_ticket(office=office, service=passport, channel="general", by=desk, now=at(9))
    one = queries()
    for _ in range(3):
        walk_in_ticket(office=office, service=passport, channel="general", by=desk, now=at(9))
    assert one == queries() == 4


def test_only_the_office_s_staff_and_supervisors_read_its_figures(office: Office) -> None:
    other = OfficeFactory.create(code="GS")
    url = "/api/v1/offices/XH/day-stats/"
    assert api(clerk(office, username="own")).get(url).status_code == 200
    assert api(supervisor(office, username="boss")).get(url).status_code == 200
    assert api(clerk(other, username="other")).get(url).status_code == 403
    assert api(supervisor(other, username="other-boss")).get(url).status_code == 403
    assert api(staff("kiosk", office, username="kiosk-xh")).get(url).status_code == 403
    assert Client().get(url).status_code == 401
    assert api(clerk(office, username="own-2")).get("/api/v1/offices/NOPE/day-stats/").status_code == 404


@pytest.mark.parametrize("value", ["2026-13-01", "9999-12-31", "0001-01-01", "tomorrow", "2026-12-01T00:00"])
def test_a_bad_date_is_400_naming_it(office: Office, value: str) -> None:
    answer = api(clerk(office, username="own")).get(
        "/api/v1/offices/XH/day-stats/", {"date": value}, headers={"accept-language": "en"}
    )
    assert answer.status_code == 400
    assert list(answer.json()["fields"]) == ["date"]


def test_a_recall_does_not_lengthen_the_wait_and_service_starts_at_the_answered_call(
    office: Office, passport: Service
) -> None:
    desk = clerk(office, username="desk")
    window = Counter.objects.create(office=office, number=1)
    window.services.set([passport])
    walk_in_ticket(office=office, service=passport, channel="general", by=desk, now=at(9))
    walkins.counter_open(counter=window, by=desk, now=at(9, 1))
    walkins.ticket_call_next(counter=window, by=desk, now=at(9, 6))
    walkins.ticket_recall(counter=window, by=desk, now=at(9, 9))
    walkins.ticket_complete(counter=window, by=desk, now=at(9, 19))
    stats = selectors.day_stats(office, DAY.date())
    assert (stats.wait_list, stats.service_list) == ([6.0], [10.0])
