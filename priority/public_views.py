"""Public pages of the emergency channel (急事急办): file a case with the documents its ground
needs, and follow it through its private link (add documents while it is being checked).

The clerk files a case for an applicant at the counter through the same form and page
(`case_form_page`, called by priority.views with the office and the clerk)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from appointments import selectors as booking_selectors
from appointments.views import add_applicant_errors
from bureau import selectors as core
from bureau.access import with_retry_after
from bureau.models import Office
from bureau.ratelimit import client_address, retry_after
from bureau.services import Conflict, DomainError, NotAllowed
from priority import grounds, selectors, services, uploads
from priority.case_forms import CaseForm, EvidenceForm, put_errors
from priority.models import Case
from walkins import selectors as walkin_selectors

# Every filing and every added document counts here per client address: each file is read
# by a child process (priority/uploads.py), so attempts are limited before any is read.
RATE_SCOPE = "case-address"


def _chosen_ground(value: object) -> grounds.Ground | None:
    return grounds.BY_CODE.get(str(value or ""))


def _too_many(request: HttpRequest) -> int | None:
    return retry_after(RATE_SCOPE, client_address(request))


def _refusal_status(exc: DomainError) -> int:
    if isinstance(exc, uploads.FileTooLarge):
        return 413
    if isinstance(exc, NotAllowed):
        return 403
    return 409 if isinstance(exc, Conflict) else 400


def case_form_page(
    request: HttpRequest,
    *,
    office: Office | None = None,
    by: User | None = None,
    extra: dict[str, object] | None = None,
) -> HttpResponse:
    """The case form. Public (`office` None): the applicant chooses the office, and every
    attempt counts against the address. At the counter: the office is the clerk's (`by`).
    The ground is chosen first (GET `?ground=`, so it works without JavaScript), which
    decides the file inputs; POST files the case through services.case_file."""
    posted = request.method == "POST"
    chosen = _chosen_ground((request.POST if posted else request.GET).get("ground"))
    offices = core.offices_with_sessions() if office is None else None
    initial: dict[str, object] = {"ground": chosen.code if chosen else ""}
    if offices is not None and (wanted := str(request.GET.get("office", ""))[:32]):
        initial["office"] = offices.filter(code=wanted).first()
    form = CaseForm(
        request.POST if posted else None,
        request.FILES if posted else None,
        offices=offices,
        ground=chosen,
        initial=initial,
    )
    status, wait = 200, None
    if posted:
        wait = _too_many(request) if by is None else None
        if wait is not None:
            status = 429
            messages.error(request, _("Too many attempts from this device. Please wait %(s)d seconds.") % {"s": wait})
        elif not form.is_valid():
            status = 400
            add_applicant_errors(form)
        else:
            data = form.cleaned_data
            try:
                case = services.case_file(
                    office=office or data["office"],
                    ground=data["ground"],
                    trip_date=data["trip_date"],
                    description=data["description"],
                    name=data["name"],
                    id_number=data["id_number"],
                    phone=data["phone"],
                    files=request.FILES,
                    by=by,
                )
            except DomainError as exc:
                status = _refusal_status(exc)  # 403: the mobile number's allowance for the day
                put_errors(form, exc)
            else:
                if office is not None:
                    return redirect("counter-case", office.code, case.reference)
                token = selectors.case_token(case)
                return redirect(f"{reverse('case-page', args=[case.reference, token])}?new=1")
    context = {
        "form": form,
        "grounds": grounds.GROUNDS,
        "chosen": chosen,
        "office": office,
        "max_bytes": settings.EVIDENCE_MAX_BYTES,
        "accepted": ", ".join(("PDF", "JPEG", "PNG")),
        **(extra or {}),
    }
    return with_retry_after(render(request, "priority/case_new.html", context, status=status), wait)


@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest) -> HttpResponse:
    return case_form_page(request)


def _private(response: HttpResponse) -> HttpResponse:
    """The case's secret is in the address: no page opened from it learns the address.
    `strict-origin`, not `no-referrer`: under `no-referrer` a browser posts the page's own
    form with `Origin: null`, and the CSRF check refuses it (the enterprise page's reason)."""
    response["Referrer-Policy"] = "strict-origin"
    return response


def _evidence_rows(case: Case) -> list[dict[str, object]]:
    names = grounds.evidence_names()
    return [
        {"name": names.get(file.code, file.code), "file_name": file.original_name, "at": file.uploaded_at}
        for file in case.evidence.all()
    ]


def _case_page(request: HttpRequest, case: Case, form: EvidenceForm, *, status: int = 200) -> HttpResponse:
    open_for_evidence = case.status in (Case.Status.SUBMITTED, Case.Status.MORE_REQUESTED)
    context = {
        "case": case,
        "new": "new" in request.GET,
        "evidence": _evidence_rows(case),
        "form": form if open_for_evidence else None,
        "max_bytes": settings.EVIDENCE_MAX_BYTES,
        "case_url": request.build_absolute_uri(request.path),
        "ticket_url": walkin_selectors.ticket_page_url(case.ticket_id) if case.ticket_id else "",
        # Called and finished: the applicant has been to the counter; nothing more to come for.
        "ticket_done": case.ticket is not None and case.ticket.finished_at is not None,
        "booking_url": reverse(
            "booking-manage", args=[case.booking.reference, booking_selectors.booking_token(case.booking.reference)]
        )
        if case.booking
        else "",
    }
    return render(request, "priority/case_page.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def case_page(request: HttpRequest, reference: str, token: str) -> HttpResponse:
    """The case as its applicant sees it, through the private link of the SMS: status,
    documents received (names only), the last reason, how it is served once approved; while
    it is being checked, a form to add documents (services.case_add_evidence)."""
    case = selectors.case_by_secret(reference, token)
    if case is None:
        return _private(render(request, "priority/case_not_found.html", status=404))
    form = EvidenceForm(items=case.required_evidence)
    status, wait = 200, None
    if request.method == "POST":
        form = EvidenceForm(request.POST, request.FILES, items=case.required_evidence)
        wait = _too_many(request)
        if wait is not None:
            status = 429
            form.add_error(None, _("Too many attempts from this device. Please wait %(s)d seconds.") % {"s": wait})
        elif form.is_valid():
            try:
                services.case_add_evidence(case=case, files=request.FILES)
            except Conflict as exc:  # decided meanwhile: the page no longer offers the form
                status = 409
                messages.error(request, exc.message)
                case.refresh_from_db()
            except DomainError as exc:
                status = _refusal_status(exc)
                put_errors(form, exc)
            else:
                messages.success(request, _("Your documents were added; a clerk will check them."))
                return _private(redirect(request.path))
        else:
            status = 400
    return _private(with_retry_after(_case_page(request, case, form, status=status), wait))
