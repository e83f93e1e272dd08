"""Supervisors' dashboard: deadlines at risk across their offices."""

from datetime import date, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from appointments import selectors as booking_selectors
from bureau import selectors
from bureau.access import supervisor_required
from bureau.models import DeadlineRecompute


@supervisor_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {
        "due_soon": selectors.applications_due_soon(request.user),
        "overdue": selectors.applications_overdue(request.user),
        "recomputes": DeadlineRecompute.objects.all()[:5],
        "today": selectors.office_today(),
        "soon_days": selectors.DUE_SOON_WORKING_DAYS,
        "offices": selectors.staff_offices(request.user).filter(mode="dual_track"),
        "missing_year": booking_selectors.calendar_year_missing_soon(selectors.office_today()),
    }
    return render(request, "dashboards/dashboard.html", context)


@supervisor_required
@require_GET
def office_day(request: HttpRequest, code: str, day: date | None = None) -> HttpResponse:
    """One office's day of bookings: per slot the places, booked, checked in, no-shows."""
    office = get_object_or_404(selectors.staff_offices(request.user), code=code)
    shown = day or selectors.office_today()
    slots = booking_selectors.day_overview(office, shown)
    totals = {
        key: sum(getattr(slot, key) for slot in slots)
        for key in ("places", "booked", "checked_in", "no_shows", "cancelled")
    }
    context = {
        "office": office,
        "day": shown,
        "previous": shown - timedelta(days=1),
        "next": shown + timedelta(days=1),
        "slots": slots,
        "totals": totals,
    }
    return render(request, "dashboards/office_day.html", context)
