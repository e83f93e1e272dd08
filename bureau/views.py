"""Pages of the core: home, deadline preview, applicant status, staff application pages,
health."""

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from bureau import selectors, services
from bureau.access import HtmxHttpRequest, signed_in_user, staff_required, with_retry_after
from bureau.api_errors import API_PREFIX, api_not_found, api_server_error, error_body
from bureau.celery import app as celery_app
from bureau.forms import (
    ApplicantStatusForm,
    ApplicationAcceptForm,
    ApplicationSearchForm,
    ApplicationStatusForm,
    DeadlinePreviewForm,
    ticket_from_query,
)
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


APPLICATIONS_PER_PAGE = 25
# The session key under which the accept page hands the new application to its detail page,
# which then says "accepted" once, above the facts (a reload shows the plain page).
JUST_ACCEPTED = "bureau:just-accepted"


@staff_required
@require_http_methods(["GET", "POST"])
def application_list(request: HttpRequest) -> HttpResponse:
    """The applications of the clerk's offices, searched and filtered. The search box takes a
    reference, a name or a whole ID number, and the form is POSTed: a search without digits in
    it is moved into the address (a bookmarkable, pageable GET); one with a number (an ID
    number, or part of one) is answered in place, so that the number never reaches a URL, an
    access log or the browser's history, and the page shows it masked, never typed back."""
    posted = request.method == "POST"
    form = ApplicationSearchForm(
        request.POST if posted else (request.GET or None), offices=selectors.staff_offices(request.user)
    )
    context: dict[str, Any] = {"form": form, "posted": posted}
    applications = selectors.applications_for_staff(request.user)
    if form.is_bound:
        if not posted and form.holds_number:
            # Only a hand-made address holds one: it is not searched, and the page goes to
            # an address without it (the language switch, for one, would repeat it).
            messages.warning(
                request,
                _(
                    "Numbers are searched only when typed in the search box, never from the page's "
                    "address, which browsers and logs keep. Type it again and press Search."
                ),
            )
            return _list_redirect(form)
        valid = form.is_valid()
        if posted and valid and not form.holds_number:
            return _list_redirect(form)
        if form.holds_number or "q" in form.errors:
            if valid and (number := form.searched_id_number):
                context["searched_id"] = mask_id_number(number)
            elif valid:
                context["partial_number"] = True
            form.forget_number()
        if not valid:
            return render(request, "bureau/application_list.html", context)
        applications = selectors.applications_search(request.user, **form.criteria(by_id_number=posted))
    applications = selectors.applications_flag_overdue(applications)
    page = Paginator(applications, APPLICATIONS_PER_PAGE).get_page(None if posted else request.GET.get("page"))
    context["page"] = page
    context["several_offices"] = "office" in form.fields
    return render(request, "bureau/application_list.html", context)


def _list_redirect(form: ApplicationSearchForm) -> HttpResponse:
    query = urlencode(form.query())
    return redirect(reverse("application-list") + (f"?{query}" if query else ""))


@staff_required
@require_http_methods(["GET", "POST"])
def application_accept(request: HttpRequest) -> HttpResponse:
    """Accept an application. `?ticket=<id>` (from the counter workstation) rides along in a
    hidden field and reaches the acceptance followers, which link the ticket (walkins)."""
    offices = selectors.staff_offices(request.user)
    if request.method == "POST":
        form = ApplicationAcceptForm(request.POST, offices=offices)
    else:
        form = ApplicationAcceptForm(offices=offices, initial={"ticket": ticket_from_query(request.GET.get("ticket"))})
    if form.is_bound and form.is_valid():
        try:
            application = services.application_accept(by=signed_in_user(request), **form.acceptance())
        except DomainError as exc:
            shown = exc.field in form.fields and not form[exc.field].is_hidden
            form.add_error(exc.field if shown else None, exc.message)
        else:
            request.session[JUST_ACCEPTED] = {"reference": application.reference, "ticket": form.cleaned_data["ticket"]}
            return redirect("application-detail", reference=application.reference)
    ticket = form["ticket"].value()
    return render(request, "bureau/application_accept.html", {"form": form, "ticket": ticket})


def _staff_application(request: HttpRequest, reference: str) -> Application:
    """An application of the user's offices; a 404 for any other, as for one that does not exist."""
    return get_object_or_404(selectors.applications_for_staff(request.user), reference=reference)


@staff_required
@require_GET
def application_detail(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    application = _staff_application(request, reference)
    context: dict[str, Any] = {"application": application}
    if request.htmx:  # the due date, polled while it is being computed
        accepted = request.GET.get("part") == "accepted"
        template = "bureau/_application_accepted_due.html" if accepted else "bureau/_application_deadline.html"
    else:
        template = "bureau/application_detail.html"
        just = request.session.get(JUST_ACCEPTED)
        if isinstance(just, dict) and just.get("reference") == reference:
            del request.session[JUST_ACCEPTED]
            context["just_accepted"] = True
            context["accept_again_ticket"] = just.get("ticket")
        steps = [services.status_step(current=application.status, new=s) for s in STATUS_FLOW[application.status]]
        context.update(
            masked_id=mask_id_number(application.id_number),
            steps=[step for step in steps if step is not None],
            events=application.events.select_related("by"),
            arrival=selectors.application_arrival(application),
        )
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@staff_required
@require_GET
def application_receipt(request: HttpRequest, reference: str) -> HttpResponse:
    """The applicant's receipt, printable (A5): reference, masked name, service, office, dates
    and how to look the status up, in Chinese and English side by side; never the ID number."""
    application = _staff_application(request, reference)
    context = {
        "application": application,
        "masked_name": mask_name(application.applicant_name),
        "masked_id": mask_id_number(application.id_number),
        "status_url": request.build_absolute_uri(reverse("applicant-status")),
        "receipt_languages": ["zh-hans", "en"],
    }
    return render(request, "bureau/application_receipt.html", context)


@staff_required
@require_http_methods(["GET", "POST"])
def application_status(request: HttpRequest, reference: str) -> HttpResponse:
    """Move an application one step. A step that cannot be undone (one that rules out another
    way, as ready for collection and mailed do, or that ends the lifecycle) is taken only from
    the confirmation page (GET, or a POST without `confirmed`), which says what will happen.
    A form from before someone else's change (`current` no longer the status) changes nothing."""
    application = _staff_application(request, reference)
    form = ApplicationStatusForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        if "note" in form.errors and "status" not in form.errors:
            messages.error(request, _("The note: %(error)s") % {"error": form.errors["note"][0]})
        else:
            messages.error(request, _("Choose one of the offered steps."))
        return redirect("application-detail", reference=reference)
    new, current = form.cleaned_data["status"], form.cleaned_data["current"]
    if current and current != application.status:
        if new == application.status:
            messages.info(request, _("This step was already taken: nothing changed."))
        else:
            messages.error(
                request,
                _("This application changed since your page was shown; it is now %(status)s. Nothing was changed.")
                % {"status": application.get_status_display()},
            )
        return redirect("application-detail", reference=reference)
    step = services.status_step(current=application.status, new=new)
    if step is not None and (
        request.method == "GET" or (step.needs_confirmation and not form.cleaned_data["confirmed"])
    ):
        return render(request, "bureau/application_status_confirm.html", {"application": application, "step": step})
    if request.method == "GET":
        messages.error(request, _("Choose one of the offered steps."))
        return redirect("application-detail", reference=reference)
    try:
        services.application_set_status(
            application=application, by=signed_in_user(request), status=new, note=form.cleaned_data["note"]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Application %(reference)s is now %(status)s.")
            % {"reference": application.reference, "status": application.get_status_display()},
        )
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


def request_too_large(request: HttpRequest) -> HttpResponse:
    message = _("The files sent together are too large: send at most %(mb)d MB at once.") % {
        "mb": settings.MULTIPART_MAX_BYTES // (1024 * 1024)
    }
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error_body("request_too_large", message), status=413)
    return render(request, "413.html", {"message": message}, status=413)


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
