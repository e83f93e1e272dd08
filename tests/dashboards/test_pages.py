"""The dashboards' pages over the fixed day (tests/dashboards/conftest.py): what each shows,
who may open it, exports, bad filters, and a constant number of queries."""

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from bureau.dashboards import services
from bureau.dashboards.models import ProvincialTotal
from bureau.models import Counter, Office, Service, StaffMember
from tests.dashboards.conftest import DAY, at
from tests.factories import ApplicationFactory, OfficeFactory, bureau_wide_supervisor, clerk, supervisor, walk_in_ticket

pytestmark = pytest.mark.django_db

D = DAY.date()
ROW = (
    '<td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td>'  # residency, due, on time, rate
)


@pytest.fixture(autouse=True)
def during_the_day() -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=at(9, 40)):
        yield


def signed_in(user: object) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)  # type: ignore[arg-type]
    return client


def html(client: Client, url: str, data: dict[str, str] | None = None, status: int = 200) -> str:
    response = client.get(url, data or {})
    assert response.status_code == status, response.content.decode()[:500]
    return response.content.decode()


def test_today_shows_each_office_s_day_so_far(office: Office, day: None) -> None:
    body = html(signed_in(supervisor(office)), "/dashboard/")
    # B004 (issued 09:10, parked) has waited longest: 30 minutes at 09:40.
    assert "Waiting now: 3 (the longest for 30 min)." in body
    assert "Counters open: 1." in body and "Served: 2 of 6 tickets." in body


def test_today_refreshes_as_a_fragment(office: Office, day: None) -> None:
    client = signed_in(supervisor(office))
    body = client.get("/dashboard/", headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in body and "Served: 2 of 6 tickets." in body
    page = html(client, "/dashboard/")
    assert 'hx-trigger="every 20s"' in page and "chart-4.6.1.umd.min.js" in page


def test_an_office_s_today_shows_queues_counters_and_figures(office: Office, day: None) -> None:
    body = html(signed_in(clerk(office, username="own")), "/dashboard/today/XH/")
    assert "Waiting now per queue" in body and '<td class="num">2</td>' in body  # B005, B006 in queue B
    assert "14.2" in body  # the mean wait
    assert "called within 30 min" in body
    assert 'href="/dashboard/service/"' not in body  # a clerk sees no supervisor's pages


def test_a_clerk_sees_only_their_own_office_s_today(office: Office) -> None:
    OfficeFactory.create(code="GS")
    client = signed_in(clerk(office, username="own"))
    assert client.get("/dashboard/today/XH/").status_code == 200
    assert client.get("/dashboard/today/GS/").status_code == 404
    assert client.get("/dashboard/").status_code == 403
    assert client.get("/dashboard/service/").status_code == 403


def test_a_supervisor_sees_only_their_offices(office: Office, day: None) -> None:
    other = OfficeFactory.create(code="GS", name_en="Gongshu")
    client = signed_in(supervisor(office))
    assert "Gongshu" not in html(client, "/dashboard/")
    assert client.get("/dashboard/today/GS/").status_code == 404
    assert "Gongshu" not in html(client, "/dashboard/documents/")
    assert client.get("/dashboard/service/", {"office": other.code}).status_code == 400


def test_every_table_exports_as_csv_and_xlsx(office: Office, day: None) -> None:
    client = signed_in(supervisor(office))
    answer = client.get("/dashboard/", {"export": "today", "format": "csv"})
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert answer["Content-Disposition"] == 'attachment; filename="today-2026-12-02-today.csv"'
    lines = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert lines[0][:4] == ["Office", "Waiting now", "Longest wait now (min)", "Issued"]
    assert lines[1][1:5] == ["3", "30.0", "6", "2"]
    workbook = load_workbook(io.BytesIO(client.get("/dashboard/", {"export": "today", "format": "xlsx"}).content))
    rows = list(workbook.active.values)  # type: ignore[union-attr]
    assert rows[1][1:5] == (3, 30.0, 6, 2)
    assert client.get("/dashboard/", {"export": "nope", "format": "csv"}).status_code == 404
    assert client.get("/dashboard/", {"export": "today", "format": "pdf"}).status_code == 404


def test_an_export_never_holds_a_formula_or_a_control_character(office: Office, day: None) -> None:
    Office.objects.filter(pk=office.pk).update(name_en='=HYPERLINK("http://x")\x07')
    client = signed_in(supervisor(office))
    text = client.get("/dashboard/", {"export": "today", "format": "csv"}).content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "\x07" not in text
    workbook = load_workbook(io.BytesIO(client.get("/dashboard/", {"export": "today", "format": "xlsx"}).content))
    assert list(workbook.active.values)[1][0] == '\'=HYPERLINK("http://x")'  # type: ignore[union-attr]


def test_service_level_shows_finished_days_by_day_hour_and_counter(office: Office, day: None) -> None:
    services.day_roll_up(day=D - timedelta(days=1))
    with mock.patch("django.utils.timezone.now", return_value=at(9, days=1)):
        services.day_roll_up(day=D)
        body = html(signed_in(supervisor(office)), "/dashboard/service/", {"office": "XH"})
        counter = html(
            signed_in(supervisor(office, username="b2")), "/dashboard/service/", {"office": "XH", "counter": "1"}
        )
    assert '<td class="num">14.2</td>' in body and '<td class="num">20.0</td>' in body  # mean and p90 of the day
    assert '<td class="num">33%</td>' in body  # no-shows: 1 of 3 booked
    assert '<th scope="row">09:00</th>' in body
    assert '<th scope="row">XH-1</th>' in body
    assert "Counter 1 only" in counter and '<td class="num">14.2</td>' in counter


@pytest.mark.parametrize(
    "query",
    [
        {"first": "2026-12-02", "last": "2026-11-01"},
        {"first": "2025-01-01", "last": "2026-12-01"},
        {"first": "9999-01-01"},
        {"last": "2026-02-30"},
        {"counter": "1"},
        {"office": "XH", "counter": "7"},
        {"office": "XH", "counter": "-1"},
        {"office": "NOPE"},
        {"office": "XH\x00"},
        {"first": "2026-11-01\x00"},
        {"office": "X" * 5000},
    ],
)
def test_service_level_names_a_bad_filter(office: Office, query: dict[str, str]) -> None:
    body = html(signed_in(supervisor(office)), "/dashboard/service/", query, status=400)
    assert "Please check the following:" in body


def test_deadlines_show_the_weekly_on_time_rate_by_document_and_residency(
    office: Office, day: None, applications: None
) -> None:
    with mock.patch("django.utils.timezone.now", return_value=at(9, days=7)):
        services.day_roll_up(day=D)
        body = html(signed_in(supervisor(office)), "/dashboard/deadlines/", {"weeks": "2"})
    # Week of 30 November: in-province 1 of 3 on time; out-of-province 1 of 1.
    assert ROW.format("In-province", 3, 1, "33%") in body.replace("\n", "")
    assert ROW.format("Out-of-province", 1, 1, "100%") in body.replace("\n", "")


def test_deadlines_count_days_not_rolled_up_from_the_applications(
    office: Office, day: None, applications: None
) -> None:
    with mock.patch("django.utils.timezone.now", return_value=at(9, days=7)):
        body = html(signed_in(supervisor(office)), "/dashboard/deadlines/", {"weeks": "2"})
    assert ROW.format("In-province", 3, 1, "33%") in body.replace("\n", "")


def test_documents_count_the_period_and_the_share_of_the_province(
    office: Office, day: None, applications: None
) -> None:
    boss = bureau_wide_supervisor(username="bureau")
    client = signed_in(boss)
    answer = client.post("/dashboard/documents/?period=day", {"period": "day", "on": "2026-12-02", "total": "12"})
    assert answer.status_code == 302 and answer["Location"] == "/dashboard/documents/?period=day&on=2026-12-02"
    body = html(client, answer["Location"])
    assert "3 documents accepted" in body  # 2 here, 1 at GS: the bureau-wide supervisor sees both
    assert "The province reported 12 for this period." in body and "Our share: 25%." in body
    mine = html(signed_in(supervisor(office)), "/dashboard/documents/", {"period": "day", "on": "2026-12-02"})
    assert "2 documents accepted" in mine


def test_only_a_bureau_wide_supervisor_enters_the_province_s_total(office: Office) -> None:
    client = signed_in(supervisor(office))
    answer = client.post("/dashboard/documents/", {"period": "month", "on": "2026-12-02", "total": "12"})
    assert answer.status_code == 403
    assert "Enter the province" not in html(client, "/dashboard/documents/")
    assert not ProvincialTotal.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"period": "month", "on": "2026-12-02", "total": "-1"},
        {"period": "month", "on": "2026-12-02", "total": "1e9"},
        {"period": "month", "on": "2026-12-02", "total": "999999999999"},
        {"period": "decade", "on": "2026-12-02", "total": "10"},
        {"period": "month", "on": "9999-12-31", "total": "10"},
        {"period": "month", "on": "", "total": "10"},
    ],
)
def test_a_bad_provincial_total_is_named_and_nothing_is_written(data: dict[str, str]) -> None:
    answer = signed_in(bureau_wide_supervisor(username="bureau")).post("/dashboard/documents/", data)
    assert answer.status_code == 400
    assert "Please check the following:" in answer.content.decode()
    assert not ProvincialTotal.objects.exists()


@pytest.mark.parametrize("query", [{"period": "century"}, {"on": "2026-12-03"}, {"on": "0001-01-01"}, {"on": "x"}])
def test_documents_name_a_bad_filter(office: Office, query: dict[str, str]) -> None:
    assert "Please check the following:" in html(signed_in(supervisor(office)), "/dashboard/documents/", query, 400)


def test_the_daily_report_prints_the_day(office: Office, day: None) -> None:
    client = signed_in(clerk(office, username="own"))
    body = html(client, "/dashboard/today/XH/report/")
    assert "Daily report" in body and "6 (0 appointments, 6 walk-ins)" in body
    assert '<th scope="row">1</th><td>4</td><td>14.2</td><td>2</td><td>7.5</td>' in body
    picked = client.get("/dashboard/today/XH/report/", {"day": "2026-12-01"})
    assert picked.status_code == 302 and picked["Location"] == "/dashboard/today/XH/report/2026-12-01/"
    assert client.get("/dashboard/today/XH/report/", {"day": "9999-12-31"}).status_code == 404


def test_the_office_day_picker_goes_to_the_day(office: Office) -> None:
    client = signed_in(supervisor(office))
    picked = client.get("/dashboard/offices/XH/", {"day": "2026-12-09"})
    assert picked.status_code == 302 and picked["Location"] == "/dashboard/offices/XH/2026-12-09/"
    assert client.get("/dashboard/offices/XH/", {"day": "nope"}).status_code == 404


def queries(client: Client, url: str, data: dict[str, str] | None = None) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, data or {}).status_code == 200
    return len(captured.captured_queries)


def test_today_costs_the_same_queries_for_one_office_or_three(office: Office, passport: Service) -> None:
    boss = supervisor(office)
    client = signed_in(boss)
    queries(client, "/dashboard/")  # the first request fills the process's caches
    one = queries(client, "/dashboard/")
    for code in ("GS", "BJ"):
        other = OfficeFactory.create(code=code)
        Counter.objects.create(office=other, number=1).services.set([passport])
        StaffMember.objects.get(user=boss).offices.add(other)
        walk_in_ticket(office=other, service=passport, channel="general", by=clerk(other), now=at(9))
    assert queries(client, "/dashboard/") == one


def test_an_office_s_pages_cost_the_same_queries_however_busy(office: Office, passport: Service) -> None:
    client = signed_in(supervisor(office))
    desk = clerk(office, username="desk")
    Counter.objects.create(office=office, number=1).services.set([passport])
    walk_in_ticket(office=office, service=passport, channel="general", by=desk, now=at(9))
    urls = [
        "/dashboard/today/XH/",
        "/dashboard/today/XH/report/",
        "/dashboard/documents/",
        "/dashboard/deadlines/",
        "/dashboard/service/?office=XH&first=2026-12-01&last=2026-12-02",
    ]
    [queries(client, url) for url in urls]  # the first requests fill the process's caches
    before = [queries(client, url) for url in urls]
    for _ in range(3):
        walk_in_ticket(office=office, service=passport, channel="general", by=desk, now=at(9, 10))
    assert [queries(client, url) for url in urls] == before


@pytest.mark.parametrize(
    "url",
    ["/dashboard/service/?first=%ED%A0%80", "/dashboard/documents/?on=%FF%FE", "/dashboard/deadlines/?weeks=%C0%80"],
)
def test_a_filter_that_is_not_utf8_is_named_not_a_500(office: Office, url: str) -> None:
    assert signed_in(supervisor(office)).get(url).status_code == 400


def test_the_deadlines_page_lists_the_first_50_and_the_export_all(office: Office, passport: Service) -> None:
    ApplicationFactory.create_batch(53, office=office, service=passport, due_on=D - timedelta(days=3))
    client = signed_in(supervisor(office))
    body = html(client, "/dashboard/deadlines/")
    assert "The first 50 of 53; the export holds them all." in body
    assert '<th scope="col">Overdue</th>' in body and '<td class="num">53</td>' in body  # by document and residency
    exported = client.get("/dashboard/deadlines/", {"export": "overdue", "format": "csv"}).content.decode("utf-8-sig")
    assert len(exported.strip().splitlines()) == 54  # the header and 53


def test_service_level_over_several_offices_adds_them_up_without_a_p90(office: Office, day: None) -> None:
    other = OfficeFactory.create(code="GS")
    window = Counter.objects.create(office=other, number=1)
    window.services.set(Service.objects.all())
    walk_in_ticket(office=other, service=Service.objects.get(), channel="general", by=clerk(other), now=at(9))
    with mock.patch("django.utils.timezone.now", return_value=at(9, days=1)):
        services.day_roll_up(day=D)
        body = html(signed_in(supervisor(office, other)), "/dashboard/service/")
    row = body.split('<th scope="row">2 Dec 2026</th>')[1].split("</tr>")[0]
    # 7 issued (6 here, 1 at GS), 0 appointments, 7 walk-ins, 0%, mean 14.2, no p90
    assert row.split("</td>")[:6] == [
        '<td class="num">7',
        '<td class="num">0',
        '<td class="num">7',
        '<td class="num">0%',
        '<td class="num">14.2',
        '<td class="num">—',
    ]


def test_service_level_reads_days_not_rolled_up_and_today_live(office: Office, day: None) -> None:
    client = signed_in(supervisor(office))
    today = html(client, "/dashboard/service/", {"office": "XH", "first": "2026-12-02", "last": "2026-12-02"})
    assert '<th scope="row">2 Dec 2026</th><td class="num">6</td>' in today
    assert '<th scope="row">XH-1</th><td class="num">4</td>' in today
    with mock.patch("django.utils.timezone.now", return_value=at(9, days=1)):  # the job has not run yet
        yesterday = html(client, "/dashboard/service/", {"office": "XH", "counter": "1"})
    assert '<td class="num">14.2</td>' in yesterday
    assert "Choose a day up to today." in html(client, "/dashboard/service/", {"last": "2026-12-03"}, status=400)


def test_a_provincial_total_for_a_future_period_is_refused(office: Office) -> None:
    answer = signed_in(bureau_wide_supervisor(username="bureau")).post(
        "/dashboard/documents/", {"period": "month", "on": "2099-12-31", "total": "5000"}
    )
    assert answer.status_code == 400 and "Choose a day up to today." in answer.content.decode()
    assert not ProvincialTotal.objects.exists()


def test_a_provincial_total_below_ours_is_flagged_not_shown_as_a_share(
    office: Office, day: None, applications: None
) -> None:
    client = signed_in(bureau_wide_supervisor(username="bureau"))
    client.post("/dashboard/documents/", {"period": "day", "on": "2026-12-02", "total": "1"})
    body = html(client, "/dashboard/documents/", {"period": "day", "on": "2026-12-02"})
    assert "That is fewer than this bureau accepted" in body and "Our share" not in body


def test_only_a_bureau_wide_supervisor_sees_the_deadline_recomputations(office: Office) -> None:
    assert "Deadline recomputations" not in html(signed_in(supervisor(office)), "/dashboard/deadlines/")
    assert "Deadline recomputations" in html(signed_in(bureau_wide_supervisor(username="b")), "/dashboard/deadlines/")


def test_the_office_day_offers_no_day_outside_the_calendar(office: Office) -> None:
    body = html(signed_in(supervisor(office)), "/dashboard/offices/XH/2099-12-31/")
    assert "/dashboard/offices/XH/2100-01-01/" not in body and "/dashboard/offices/XH/2099-12-30/" in body
