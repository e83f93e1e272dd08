"""Supervisors' dashboard: deadlines at risk across their offices."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

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
    }
    return render(request, "dashboards/dashboard.html", context)
