"""Supervisors' dashboards (SPEC 1): today live, service level over time, deadlines,
documents, an office's day of bookings and its printable report. Supervisors see their
offices; a clerk sees only the Today page of their own office. Every table can be exported
as CSV or XLSX (bureau.dashboards.tables)."""

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from appointments import selectors as booking_selectors
from appointments.models import Channel
from bureau import selectors as core
from bureau.access import signed_in_user, staff_required, supervisor_required
from bureau.converters import IsoDate
from bureau.dashboards import charts, selectors, services
from bureau.dashboards.forms import (
    DeadlinesForm,
    DocumentsForm,
    ProvincialTotalForm,
    ServiceLevelForm,
    period_of,
)
from bureau.dashboards.models import ProvincialTotal
from bureau.dashboards.tables import Share, Table, export_requested, shown
from bureau.forms import EARLIEST_DATE, LATEST_DATE
from bureau.models import Counter, DeadlineRecompute, Office, Residency, Service, StaffMember
from bureau.services import DomainError
from walkins import selectors as hall


def _share(value: float | None) -> Share | None:
    return None if value is None else Share(value)


def _query(request: HttpRequest) -> str:
    """The page's filters, for its export links."""
    kept = request.GET.copy()
    for name in ("export", "format"):
        kept.pop(name, None)
    return kept.urlencode()


# --- Today --------------------------------------------------------------------------------

TODAY_COLUMNS = [
    gettext_lazy("Office"),
    gettext_lazy("Waiting now"),
    gettext_lazy("Longest wait now (min)"),
    gettext_lazy("Issued"),
    gettext_lazy("Served"),
    gettext_lazy("Missed"),
    gettext_lazy("Mean wait (min)"),
    gettext_lazy("90% waited at most (min)"),
    gettext_lazy("Called within target"),
    gettext_lazy("Mean service (min)"),
    gettext_lazy("Counters open"),
    gettext_lazy("Booked"),
    gettext_lazy("Checked in"),
    gettext_lazy("No-shows"),
    gettext_lazy("Emergency cases pending"),
    gettext_lazy("Enterprise requests pending"),
]


def _today_row(row: selectors.OfficeToday) -> list[Any]:
    stats = row.stats
    return [
        row.office.name,
        stats.waiting_now,
        stats.longest_wait_minutes,
        stats.tickets_issued,
        stats.tickets_served,
        stats.tickets_missed,
        stats.wait_minutes_mean,
        stats.wait_minutes_p90,
        _share(stats.within_target_share),
        stats.service_minutes_mean,
        row.counters_open,
        stats.appointments_booked,
        stats.appointments_checked_in,
        stats.appointments_no_show,
        row.emergency_pending,
        row.enterprise_pending,
    ]


@supervisor_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """Today across the supervisor's offices, refreshing live."""
    now = timezone.now()
    rows = selectors.today_overview(core.staff_offices(request.user), now)
    table = Table("today", gettext_lazy("Today in every office"), TODAY_COLUMNS, [_today_row(row) for row in rows])
    if response := export_requested(request, {"today": table}, f"today-{core.office_today().isoformat()}"):
        return response
    context = {
        "rows": rows,
        "table": table,
        "now": now,
        "chart": charts.bars(
            [row.office.name for row in rows],
            {
                _("Waiting now"): [row.stats.waiting_now for row in rows],
                _("Served"): [row.stats.tickets_served for row in rows],
            },
        ),
        "missing_year": booking_selectors.calendar_year_missing_soon(core.office_today()),
        "query": _query(request),
    }
    if getattr(request, "htmx", False):
        return render(request, "dashboards/_today_overview.html", context)
    return render(request, "dashboards/dashboard.html", context)


@staff_required
@require_GET
def today(request: HttpRequest, code: str) -> HttpResponse:
    """One office's day so far, for its staff and the supervisors over it."""
    office = get_object_or_404(core.staff_offices(request.user), code=code)
    now = timezone.now()
    offices = Office.objects.filter(pk=office.pk)
    row = selectors.today_overview(offices, now)[0]
    lines = hall.queue_lines(office, now)
    service_names = {service.code: service.name for service in Service.objects.all()}
    counters = selectors.counters_now(office)
    hours = sorted(
        (hour, figures.arrivals)
        for (_office, hour, counter), figures in selectors.hours_stats(offices, row.stats.date).items()
        if counter is None
    )
    tables = {
        "queues": Table(
            "queues",
            gettext_lazy("Waiting now per queue"),
            [
                gettext_lazy("Queue"),
                gettext_lazy("Service"),
                gettext_lazy("Waiting"),
                gettext_lazy("Estimated wait (min)"),
            ],
            [
                [line.queue, service_names.get(line.service, line.service), line.count, line.estimated_wait_minutes]
                for line in lines
            ],
        ),
        "counters": Table(
            "counters",
            gettext_lazy("Counters"),
            [gettext_lazy("Counter"), gettext_lazy("Open"), gettext_lazy("Serving")],
            [[counter.number, _("Open") if counter.open else _("Closed"), counter.ticket] for counter in counters],
        ),
        "figures": Table("figures", gettext_lazy("Today"), TODAY_COLUMNS, [_today_row(row)]),
        "arrivals": Table(
            "arrivals",
            gettext_lazy("Arrivals by hour"),
            [gettext_lazy("Hour"), gettext_lazy("Tickets issued")],
            [[f"{hour:02d}:00", count] for hour, count in hours],
        ),
    }
    if response := export_requested(request, tables, f"{office.code}-{row.stats.date.isoformat()}"):
        return response
    context = {
        "office": office,
        "row": row,
        "stats": row.stats,
        "tables": tables,
        "now": now,
        "chart": charts.bars([f"{hour:02d}" for hour, _count in hours], {_("Tickets issued"): [c for _h, c in hours]}),
        "query": _query(request),
        "clerk_view": core.staff_role(request.user) != StaffMember.Role.SUPERVISOR,
    }
    if getattr(request, "htmx", False):
        return render(request, "dashboards/_today_office.html", context)
    return render(request, "dashboards/today.html", context)


def _picked_day(request: HttpRequest, name: str, code: str) -> HttpResponse | None:
    """A date picker's `?day=`: to the bookmarkable address of that day (a date the
    calendar cannot hold is the site's 404, as in the address itself)."""
    picked = request.GET.get("day")
    if picked is None:
        return None
    try:
        chosen = IsoDate().to_python(picked)
    except ValueError:
        raise Http404 from None
    return redirect(name, code, chosen.isoformat())


@staff_required
@require_GET
def report(request: HttpRequest, code: str, day: date | None = None) -> HttpResponse:
    """An office's daily report, to print: the day's figures, its hours, its counters and
    its bookings per slot."""
    office = get_object_or_404(core.staff_offices(request.user), code=code)
    if response := _picked_day(request, "dashboard-report-day", office.code):
        return response
    shown = day or core.office_today()
    offices = Office.objects.filter(pk=office.pk)
    hours = selectors.hours_stats(offices, shown)
    numbers = dict(Counter.objects.filter(office=office).values_list("pk", "number"))
    context = {
        "office": office,
        "day": shown,
        "stats": selectors.days_stats(offices, shown)[office.pk],
        "hours": [
            (
                f"{hour:02d}:00",
                hours.get((office.pk, hour, None), selectors.HourStats()),
                _added(hours, hour=hour, label=hour),
            )
            for hour in sorted({hour for (_o, hour, _c) in hours})
        ],
        "counters": [
            _added(hours, counter_id=pk, label=number)
            for pk, number in sorted(numbers.items(), key=lambda item: item[1])
            if any(counter == pk for (_o, _h, counter) in hours)
        ],
        "slots": booking_selectors.day_overview(office, shown),
        "printed_at": timezone.now(),
        "clerk_view": core.staff_role(request.user) != StaffMember.Role.SUPERVISOR,
    }
    return render(request, "dashboards/report.html", context)


def _added(
    hours: dict[tuple[int, int, int | None], selectors.HourStats],
    *,
    hour: int | None = None,
    counter_id: int | None = None,
    label: int | str = "",
) -> selectors.Level:
    """The counters' calls in one hour, or one counter's calls over the day, added up."""
    called = [
        figures
        for (_o, h, counter), figures in hours.items()
        if counter is not None and hour in (None, h) and counter_id in (None, counter)
    ]
    return selectors.Level(
        label=label,
        waits=sum(f.waits for f in called),
        wait_minutes=sum(f.wait_minutes for f in called),
        services=sum(f.services for f in called),
        service_minutes=sum(f.service_minutes for f in called),
    )


# --- Service level over time --------------------------------------------------------------

LEVEL_COLUMNS = [
    gettext_lazy("Issued"),
    gettext_lazy("Appointments"),
    gettext_lazy("Walk-ins"),
    gettext_lazy("Appointment share"),
    gettext_lazy("Mean wait (min)"),
    gettext_lazy("90% waited at most (min)"),
    gettext_lazy("Called within target"),
    gettext_lazy("Mean service (min)"),
    gettext_lazy("No-show rate"),
]


def _level_row(level: selectors.Level) -> list[Any]:
    return [
        level.arrivals,
        level.appointment_arrivals,
        level.arrivals - level.appointment_arrivals,
        _share(level.appointment_share),
        level.wait_minutes_mean,
        level.wait_minutes_p90,
        _share(level.within_target_share),
        level.service_minutes_mean,
        _share(level.no_show_rate),
    ]


@supervisor_required
@require_GET
def service_level(request: HttpRequest) -> HttpResponse:
    """Waits, service times, no-shows, arrivals and the appointment share over finished
    days, by day, by hour and by counter."""
    form = ServiceLevelForm(request.GET, offices=core.staff_offices(request.user), today=core.office_today())
    if not form.is_valid():
        return render(request, "dashboards/service_level.html", {"form": form}, status=400)
    data = form.cleaned_data
    offices, counter, first, last = form.chosen(), data["counter_row"], data["first"], data["last"]
    today = core.office_today()
    if counter is None:
        days = selectors.levels_by_day(offices, first, last, today)
    else:
        days = selectors.levels_by_counter_day(offices, counter, first, last, today)
    hours = selectors.levels_by_hour(offices, first, last, today, counter)
    counters = selectors.levels_by_counter(offices, first, last, today)
    tables = {
        "days": Table(
            "days",
            gettext_lazy("By day"),
            [gettext_lazy("Day"), *LEVEL_COLUMNS],
            [[level.label, *_level_row(level)] for level in days],
        ),
        "hours": Table(
            "hours",
            gettext_lazy("By hour of the day"),
            [gettext_lazy("Hour"), *LEVEL_COLUMNS],
            [[f"{level.label:02d}:00", *_level_row(level)] for level in hours],
        ),
        "counters": Table(
            "counters",
            gettext_lazy("By counter"),
            [
                gettext_lazy("Counter"),
                gettext_lazy("Called"),
                gettext_lazy("Mean wait (min)"),
                gettext_lazy("Served"),
                gettext_lazy("Mean service (min)"),
            ],
            [[c.label, c.waits, c.wait_minutes_mean, c.services, c.service_minutes_mean] for c in counters],
        ),
    }
    if response := export_requested(request, tables, f"service-level-{first.isoformat()}-{last.isoformat()}"):
        return response
    context = {
        "form": form,
        "first": first,
        "last": last,
        "counter": counter,
        "query": _query(request),
        "tables": tables,
        "wait_chart": charts.lines(
            [level.label for level in days],
            {
                _("Mean wait (min)"): [level.wait_minutes_mean for level in days],
                _("Mean service (min)"): [level.service_minutes_mean for level in days],
            },
        ),
        "share_chart": charts.lines(
            [level.label for level in days],
            {
                _("No-show rate"): [level.no_show_rate for level in days],
                _("Called within target"): [level.within_target_share for level in days],
            },
            percent=True,
        ),
        "arrivals_chart": charts.bars(
            [f"{level.label:02d}" for level in hours],
            {
                _("Appointments"): [level.appointment_arrivals for level in hours],
                _("Walk-ins"): [level.arrivals - level.appointment_arrivals for level in hours],
            },
            stacked=True,
        ),
    }
    return render(request, "dashboards/service_level.html", context)


# --- Deadlines ------------------------------------------------------------------------------


# The overdue and due-soon lists show this many on the page; their export holds them all.
LISTED_ON_PAGE = 50


@supervisor_required
@require_GET
def deadlines(request: HttpRequest) -> HttpResponse:
    """Applications due in the next working days and overdue ones, and the on-time rate per
    week, by document and residency."""
    form = DeadlinesForm(request.GET, offices=core.staff_offices(request.user))
    if not form.is_valid():
        return render(request, "dashboards/deadlines.html", {"form": form}, status=400)
    data, offices = form.cleaned_data, form.chosen()
    weeks = data.get("weeks") or 12
    today = core.office_today()
    monday = today - timedelta(days=today.weekday())
    due_soon_all = core.applications_due_soon(request.user).filter(office__in=offices)
    overdue_all = core.applications_overdue(request.user).filter(office__in=offices)
    shown_rows = None if "export" in request.GET else LISTED_ON_PAGE  # an export holds them all
    due_soon, overdue = list(due_soon_all[:shown_rows]), list(overdue_all[:shown_rows])
    rates = selectors.on_time_by_week(offices, monday - timedelta(weeks=weeks - 1), today)
    documents, residencies = dict(Service.Document.choices), dict(Residency.choices)

    def listed(rows: list[Any]) -> list[list[Any]]:
        return [
            [
                a.reference,
                a.office.name,
                a.service.name,
                documents[a.service.document],
                residencies[a.residency],
                a.due_on,
                a.get_status_display(),
            ]
            for a in rows
        ]

    columns = [
        gettext_lazy("Reference"),
        gettext_lazy("Office"),
        gettext_lazy("Service"),
        gettext_lazy("Document"),
        gettext_lazy("Residency"),
        gettext_lazy("Ready by"),
        gettext_lazy("Status"),
    ]
    tables = {
        "overdue": Table("overdue", gettext_lazy("Overdue"), columns, listed(overdue)),
        "due_soon": Table("due_soon", gettext_lazy("Due soon"), columns, listed(due_soon)),
        "on_time": Table(
            "on_time",
            gettext_lazy("Ready on time, per week"),
            [
                gettext_lazy("Week of"),
                gettext_lazy("Document"),
                gettext_lazy("Residency"),
                gettext_lazy("Due"),
                gettext_lazy("Ready on time"),
                gettext_lazy("On-time rate"),
            ],
            [
                [r.week, documents[r.document], residencies[r.residency], r.due, r.on_time, _share(r.rate)]
                for r in rates
            ],
        ),
    }
    if response := export_requested(request, tables, f"deadlines-{today.isoformat()}"):
        return response
    at_risk = selectors.at_risk_by_kind(due_soon_all, overdue_all)
    weekly = sorted({r.week for r in rates})
    context = {
        "form": form,
        "tables": tables,
        "soon_days": core.DUE_SOON_WORKING_DAYS,
        "query": _query(request),
        "by_kind": [
            (documents[row.document], residencies[row.residency], row.due_soon, row.overdue) for row in at_risk
        ],
        "due_soon_total": sum(row.due_soon for row in at_risk),
        "overdue_total": sum(row.overdue for row in at_risk),
        # Recomputations change deadlines bureau-wide: their counts are for the whole bureau's eyes.
        "recomputes": DeadlineRecompute.objects.all()[:5] if core.staff_covers_bureau(request.user) else None,
        "chart": charts.lines(
            [week.isoformat() for week in weekly],
            {
                f"{documents[doc]} · {residencies[res]}": [_rate_of(rates, week, doc, res) for week in weekly]
                for doc, res in sorted({(r.document, r.residency) for r in rates})
            },
            percent=True,
        ),
    }
    return render(request, "dashboards/deadlines.html", context)


def _rate_of(rates: list[selectors.OnTime], week: date, document: str, residency: str) -> float | None:
    return next((r.rate for r in rates if (r.week, r.document, r.residency) == (week, document, residency)), None)


# --- Documents ------------------------------------------------------------------------------


@supervisor_required
@require_http_methods(["GET", "POST"])
def documents(request: HttpRequest) -> HttpResponse:
    """Documents accepted by type and office in a period (day, week, month, year to date),
    and their share of the province's total as a supervisor entered it."""
    today = core.office_today()
    offices_of_user = core.staff_offices(request.user)
    if request.method == "POST" and not core.staff_covers_bureau(request.user):
        return render(request, "403.html", status=403)
    total_form = ProvincialTotalForm(request.POST or None, today=today)
    if request.method == "POST" and total_form.is_valid() and (saved := _total_saved(request, total_form, today)):
        return saved
    form = DocumentsForm(request.GET, offices=offices_of_user, today=today)
    if not form.is_valid():
        return render(request, "dashboards/documents.html", {"form": form, "total_form": total_form}, status=400)
    data, offices = form.cleaned_data, form.chosen()
    period, first, last = data["period"], data["first"], data["last"]
    counts = selectors.documents_accepted_in(offices, first, last)
    kinds = [(doc, str(name)) for doc, name in Service.Document.choices]
    listed = list(offices)
    numbers = [[counts.get((office.pk, doc), 0) for doc, _name in kinds] for office in listed]
    numbers = [[*row, sum(row)] for row in numbers]
    totals = [sum(column) for column in zip(*numbers, strict=True)] or [0] * (len(kinds) + 1)
    provincial = ProvincialTotal.objects.filter(period=period, starts_on=first).first()
    ours = totals[-1]
    table = Table(
        "documents",
        gettext_lazy("Documents accepted"),
        [gettext_lazy("Office"), *[name for _doc, name in kinds], gettext_lazy("All documents")],
        [[office.name, *row] for office, row in zip(listed, numbers, strict=True)],
        [_("Total"), *totals],
    )
    if response := export_requested(request, {"documents": table}, f"documents-{period}-{first.isoformat()}"):
        return response
    context = {
        "form": form,
        "total_form": total_form
        if request.method == "POST"
        else ProvincialTotalForm(initial={"period": period, "on": first}, today=today),
        "may_enter_total": core.staff_covers_bureau(request.user),
        "query": _query(request),
        "table": table,
        "period": ProvincialTotal.Period(period).label,
        "first": first,
        "last": last,
        "ours": ours,
        "provincial": provincial,
        # A province's total below ours is a typing error, not a share over 100%.
        "share_percent": shown(Share(ours / provincial.total)) if provincial and provincial.total >= ours else None,
        "chart": charts.bars(
            [office.name for office in listed],
            {name: [counts.get((office.pk, doc), 0) for office in listed] for doc, name in kinds},
            stacked=True,
        ),
    }
    return render(request, "dashboards/documents.html", context, status=400 if total_form.errors else 200)


def _total_saved(request: HttpRequest, form: ProvincialTotalForm, today: date) -> HttpResponse | None:
    """Save the province's figure and go to its period, or name the problem on the form."""
    period = form.cleaned_data["period"]
    first, _last = period_of(period, form.cleaned_data["on"], today)
    try:
        services.provincial_total_set(
            period=period, starts_on=first, total=form.cleaned_data["total"], by=signed_in_user(request)
        )
    except DomainError as error:
        form.add_error(None, str(error))
        return None
    messages.success(request, _("The province's figure is saved."))
    return redirect(f"{request.path}?period={period}&on={first.isoformat()}")


# --- An office's day of bookings -----------------------------------------------------------


@supervisor_required
@require_GET
def office_day(request: HttpRequest, code: str, day: date | None = None) -> HttpResponse:
    """One office's day of bookings: per slot and channel the places and bookings, and the
    check-ins and no-shows."""
    office = get_object_or_404(core.staff_offices(request.user), code=code)
    if response := _picked_day(request, "office-day", office.code):
        return response
    shown = day or core.office_today()
    slots = list(booking_selectors.day_overview(office, shown))
    per_channel = [(name, f"{channel}_booked", f"{channel}_quota") for channel, name in Channel.choices]
    keys = ["places", "taken", "booked", "checked_in", "no_shows", "cancelled"]
    keys += [key for _name, taken, quota in per_channel for key in (taken, quota)]
    totals = {key: sum(getattr(slot, key) for slot in slots) for key in keys}
    context = {
        "office": office,
        "day": shown,
        "previous": shown - timedelta(days=1) if shown > EARLIEST_DATE else None,
        "next": shown + timedelta(days=1) if shown < LATEST_DATE else None,
        "slots": slots,
        "totals": totals,
        "channels": [name for name, _taken, _quota in per_channel],
        "rows": [(slot, [(getattr(slot, t), getattr(slot, q)) for _n, t, q in per_channel]) for slot in slots],
        "channel_totals": [(totals[taken], totals[quota]) for _name, taken, quota in per_channel],
    }
    return render(request, "dashboards/office_day.html", context)
