"""Pages of the core: home, deadline preview, applicant status, staff application pages,
health."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bureau import selectors, services
from bureau.access import HtmxHttpRequest, signed_in_user, staff_required, with_retry_after
from bureau.api_errors import API_PREFIX, api_not_found, api_server_error, error_body
from bureau.celery import app as celery_app
from bureau.forms import ApplicantStatusForm, ApplicationAcceptForm, ApplicationStatusForm, DeadlinePreviewForm
from bureau.identity import mask_id_number, mask_name
from bureau.models import Application, StaffMember
from bureau.ratelimit import client_address, retry_after
from bureau.services import STATUS_FLOW, DomainError


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "bureau/home.html", {"offices": selectors.offices_with_sessions()})


@require_GET
def deadline_preview(request: HtmxHttpRequest) -> HttpResponse:
    form = DeadlinePreviewForm(request.GET or None, initial={"accepted_on": selectors.office_today()})
    deadline = None
    if form.is_bound and form.is_valid():
        deadline = selectors.deadline_preview(**form.cleaned_data)
    template = "bureau/_deadline_result.html" if request.htmx else "bureau/deadline_preview.html"
    context = {"form": form, "deadline": deadline, "rules": selectors.issuance_rules().values()}
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])  # the fragment and the page share a URL
    return response


@require_http_methods(["GET", "POST"])
def applicant_status(request: HttpRequest) -> HttpResponse:
    form = ApplicantStatusForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {"form": form}
    if form.is_bound and (wait := retry_after("lookup-address", client_address(request))):
        form.add_error(None, _("Too many look-ups from this device. Please wait a minute."))
        return with_retry_after(render(request, "bureau/applicant_status.html", context, status=429), wait)
    if form.is_bound and form.is_valid():
        application = selectors.application_for_applicant(**form.cleaned_data)
        context["application"] = application
        context["masked_name"] = mask_name(application.applicant_name) if application else ""
        context["not_found"] = application is None
        # The ID number is not echoed back into the page: its box is empty, with a note of
        # the masked number entered, when nothing matched.
        initial = {"reference": form.cleaned_data["reference"]}
        if application is None:
            initial["id_number"] = form.cleaned_data["id_number"]
        context["form"] = ApplicantStatusForm(initial=initial)
    return render(request, "bureau/applicant_status.html", context)


@staff_required
def staff_home(request: HttpRequest) -> HttpResponse:
    if selectors.staff_role(request.user) == StaffMember.Role.SUPERVISOR:
        return redirect("dashboard")
    return redirect("application-list")


@staff_required
@require_GET
def application_list(request: HttpRequest) -> HttpResponse:
    applications = selectors.applications_for_staff(request.user)[:50]
    return render(request, "bureau/application_list.html", {"applications": applications})


@staff_required
@require_http_methods(["GET", "POST"])
def application_accept(request: HttpRequest) -> HttpResponse:
    form = ApplicationAcceptForm(
        request.POST if request.method == "POST" else None, offices=selectors.staff_offices(request.user)
    )
    if form.is_bound and form.is_valid():
        try:
            application = services.application_accept(by=signed_in_user(request), **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            return redirect("application-detail", reference=application.reference)
    return render(request, "bureau/application_accept.html", {"form": form})


@staff_required
@require_GET
def application_detail(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    application = get_object_or_404(selectors.applications_for_staff(request.user), reference=reference)
    template = "bureau/_application_deadline.html" if request.htmx else "bureau/application_detail.html"
    response = render(
        request,
        template,
        {
            "application": application,
            "masked_id": mask_id_number(application.id_number),
            "next_statuses": [Application.Status(s) for s in STATUS_FLOW[application.status]],
            "events": application.events.select_related("by"),
        },
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


@staff_required
@require_POST
def application_status(request: HttpRequest, reference: str) -> HttpResponse:
    application = get_object_or_404(selectors.applications_for_staff(request.user), reference=reference)
    form = ApplicationStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the offered steps."))
        return redirect("application-detail", reference=reference)
    try:
        services.application_set_status(application=application, by=signed_in_user(request), **form.cleaned_data)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("application-detail", reference=reference)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database, cache and Celery broker; 503 when any is down, naming the services that are
    down ("Redis" for the cache and the broker it backs)."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a health check reports every failure
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        cache.set("healthz", "ok", 5)
        checks["cache"] = "ok" if cache.get("healthz") == "ok" else "error: no round trip"
    except Exception as exc:  # noqa: BLE001
        checks["cache"] = f"error: {type(exc).__name__}"
    if celery_app.conf.task_always_eager:
        checks["broker"] = "ok (eager, no broker)"
    else:
        try:
            with celery_app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=0, timeout=2)  # one attempt: a probe must not wait
            checks["broker"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = f"error: {type(exc).__name__}"
    service = {
        "database": connection.vendor,
        "cache": "Redis" if settings.REDIS_URL else "cache",
        "broker": "Redis" if settings.REDIS_URL else "broker",
    }
    down = sorted({service[part] for part, state in checks.items() if not state.startswith("ok")})
    if not down:
        return JsonResponse({"status": "ok", **checks})
    return JsonResponse({"status": "error", **checks, "down": down}, status=503)


# --- error pages (handler400/404/500 in bureau/urls.py) -------------------------------------


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error_body("bad_request", _("The request is not valid.")), status=400)
    return render(request, "400.html", status=400)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return api_not_found(request)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """The page of last resort: a template with no context processors or database reads, so
    that it renders whatever broke."""
    if request.path.startswith(API_PREFIX):
        return api_server_error(request)
    return render(request, "500.html", status=500)
