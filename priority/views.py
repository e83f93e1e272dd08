"""The clerk's priority desk and the staff pages of cases and enterprises.

`/counter/<office>/priority/`: the office's cases to decide and to serve, green-channel and
student tickets, and (supervisors) the enterprise registrations to approve. A case's page
(`/counter/<office>/cases/<reference>/`) shows everything about it, its documents (each
download audited) and its history, and takes the decisions and the serving (an E or Q
ticket, or a reserved place). Irreversible steps are taken from a confirmation page. Every
write goes through priority.services; other offices' cases and files are a 404."""

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from appointments import selectors as booking_selectors
from appointments.views import office_services
from bureau import selectors as core
from bureau.access import signed_in_user, staff_required
from bureau.identity import mask_id_number, mask_name, mask_phone
from bureau.models import Office, StaffMember
from bureau.services import DomainError
from priority import grounds, selectors, services, uploads
from priority.case_forms import (
    CaseTicketForm,
    DecisionForm,
    EnterpriseDecisionForm,
    GreenTicketForm,
    PlaceForm,
    PlaceSearchForm,
    StudentTicketForm,
    put_errors,
)
from priority.models import Case, Enterprise
from priority.public_views import case_form_page
from walkins import selectors as walkin_selectors
from walkins.models import Ticket
from walkins.views import forbidden, nav, row_id, staff_office, status_of, ticket_card

NAV = "priority"
TICKET_IDS = "ticket_%s"


def _is_supervisor(request: HttpRequest) -> bool:
    return core.staff_role(request.user) == StaffMember.Role.SUPERVISOR


# --- the desk --------------------------------------------------------------------------------


@staff_required
@require_http_methods(["GET", "POST"])
def desk(request: HttpRequest, code: str) -> HttpResponse:
    """The office's priority desk: cases to decide and approved ones to serve, a green-channel
    or student ticket (shown printable after, `?ticket=<id>`), enterprise registrations."""
    office = staff_office(request, code)
    if office is None:
        return forbidden(request)
    served = walkin_selectors.services_served(office)
    green = GreenTicketForm(prefix="green", services_=served)
    student = StudentTicketForm(prefix="student", services_=served)
    context: dict[str, Any] = {"office": office, **nav(office, NAV)}
    status = 200
    if request.method == "POST":
        by = signed_in_user(request)
        which = request.POST.get("form")
        ticket: Ticket | None = None
        try:
            if which == "student":
                student = StudentTicketForm(request.POST, prefix="student", services_=served)
                if student.is_valid():
                    ticket = services.student_ticket_issue(office=office, by=by, **student.cleaned_data)
            else:
                green = GreenTicketForm(request.POST, prefix="green", services_=served)
                if green.is_valid():
                    ticket = services.green_ticket_issue(office=office, by=by, **green.cleaned_data)
        except DomainError as exc:
            put_errors(student if which == "student" else green, exc)
            status = status_of(exc)
        else:
            if ticket is not None:
                return redirect(f"{reverse('priority-desk', args=[office.code])}?ticket={ticket.pk}")
            status = 400
    elif (ticket_id := row_id(request.GET.get("ticket"))) is not None:
        shown = walkin_selectors.ticket_at_office(office, ticket_id)
        if shown is not None:
            context["issued"] = ticket_card(shown)
    cases = [(case, mask_name(case.name)) for case in selectors.cases_at_desk(office)]
    context.update(
        green=green,
        student=student,
        green_age=selectors.green_age(office),
        student_session=selectors.student_sessions_on(office, core.office_today()).first(),
        to_decide=[row for row in cases if row[0].status in (Case.Status.SUBMITTED, Case.Status.AWAITING_SUPERVISOR)],
        waiting=[row for row in cases if row[0].status == Case.Status.MORE_REQUESTED],
        to_serve=[row for row in cases if row[0].status == Case.Status.APPROVED],
        enterprises=list(selectors.enterprises_pending(office)) if _is_supervisor(request) else None,
    )
    return render(request, "priority/desk.html", context, status=status)


@staff_required
@require_http_methods(["GET", "POST"])
def case_new_at_counter(request: HttpRequest, code: str) -> HttpResponse:
    """The public case form, filed by the clerk for an applicant at the counter."""
    office = staff_office(request, code)
    if office is None:
        return forbidden(request)
    return case_form_page(request, office=office, by=signed_in_user(request), extra=nav(office, NAV))


# --- a case ----------------------------------------------------------------------------------


def _staff_case(request: HttpRequest, code: str, reference: str) -> Case:
    """The case of one of the user's offices, at the office the path names; a case of another
    office is a 403 (the case's own staff only), anything else a 404."""
    case = selectors.case_for_staff(request.user, reference)
    if case is None and selectors.case_elsewhere(request.user, reference):
        raise PermissionDenied
    if case is None or case.office.code != code:
        raise Http404
    return case


def _day_choices() -> list[tuple[str, str]]:
    first, last = booking_selectors.bookable_range()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [(day.isoformat(), f"{date_format(day, 'MONTH_DAY_FORMAT')} {date_format(day, 'l')}") for day in days]


def _places(case: Case, search: PlaceSearchForm) -> list[dict[str, Any]] | None:
    """The reserved places (the case's channel) of the chosen service and day."""
    if not search.is_bound or not search.is_valid():
        return None
    day: date = search.cleaned_data["day"]
    slots = booking_selectors.availability(
        office_code=case.office.code,
        service_code=search.cleaned_data["service"].code,
        day=day,
        channel=services.CASE_PLACE[case.kind],
    )
    return [{"start": slot.starts_at, "iso": slot.start, "remaining": slot.remaining} for slot in slots]


def _history(case: Case) -> list[dict[str, Any]]:
    names = grounds.evidence_names()
    return [
        {
            "event": event,
            "detail": names.get(event.reason, event.reason) if event.action == "file_opened" else event.reason,
        }
        for event in case.events.select_related("by")
    ]


def _case_context(request: HttpRequest, case: Case, **forms: Any) -> dict[str, Any]:
    office = case.office
    names = grounds.evidence_names()
    supervisor = _is_supervisor(request)
    approved_open = selectors.case_awaits_service(case)
    bookable = approved_open and office.mode == Office.Mode.DUAL_TRACK and office_services(office).exists()
    search = PlaceSearchForm(
        request.GET if "day" in request.GET else None, services_=office_services(office), days=_day_choices()
    )
    context: dict[str, Any] = {
        "office": office,
        **nav(office, NAV),
        "case": case,
        "masked_id_number": mask_id_number(case.id_number),
        "masked_phone": mask_phone(case.phone),
        "files": [(file, names.get(file.code, file.code)) for file in case.evidence.all()],
        "history": _history(case),
        "can_decide": case.status == Case.Status.SUBMITTED
        or (case.status == Case.Status.AWAITING_SUPERVISOR and supervisor),
        "approved_open": approved_open,
        "decision": DecisionForm(initial={"current": case.status}),
        # Its own ids: the reserved-place search on the same page has a service field too.
        "ticket_form": CaseTicketForm(services_=walkin_selectors.services_served(office), auto_id=TICKET_IDS),
        "bookable": bookable,
        "search": search,
        "places": _places(case, search) if bookable else None,
        "place_form": PlaceForm(services_=office_services(office)),
        "ticket_card": ticket_card(case.ticket) if case.ticket else None,
        "booking": None if approved_open else case.booking,
        "supervisor": supervisor,
    }
    context.update(forms)
    return context


def _confirm(request: HttpRequest, case: Case, action: str, carry: dict[str, Any], **extra: Any) -> HttpResponse:
    context = {
        "office": case.office,
        **nav(case.office, NAV),
        "case": case,
        "action": action,
        "carry": [
            (name, "on" if value is True else value) for name, value in carry.items() if value not in (None, False)
        ],
        "back": reverse("counter-case", args=[case.office.code, case.reference]),
        "needs_supervisor": case.kind == Case.Kind.EMERGENCY and grounds.BY_CODE[case.ground].needs_supervisor,
        **extra,
    }
    return render(request, "priority/confirm.html", context)


def _decide(request: HttpRequest, case: Case) -> HttpResponse:
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return render(request, "priority/counter_case.html", _case_context(request, case, decision=form), status=400)
    data = form.cleaned_data
    if data["current"] != case.status:
        messages.error(
            request,
            _("This case changed since your page was shown; it is now %(status)s. Nothing was changed.")
            % {"status": case.get_status_display()},
        )
        return redirect("counter-case", case.office.code, case.reference)
    if data["decision"] != "more" and not data["confirmed"]:
        carry = {key: data[key] for key in ("decision", "reason", "expedited", "current")}
        return _confirm(request, case, data["decision"], {"action": "decide", **carry})
    try:
        services.case_decide(
            case=case,
            decision=data["decision"],
            reason=data["reason"],
            expedited=data["expedited"],
            by=signed_in_user(request),
        )
    except DomainError as exc:
        put_errors(form, exc)
        context = _case_context(request, case, decision=form)
        return render(request, "priority/counter_case.html", context, status=status_of(exc))
    case.refresh_from_db(fields=["status"])
    messages.success(
        request,
        _("Case %(reference)s is now: %(status)s.")
        % {"reference": case.reference, "status": case.get_status_display()},
    )
    return redirect("counter-case", case.office.code, case.reference)


def _serve(request: HttpRequest, case: Case, action: str) -> HttpResponse:
    office = case.office
    form: CaseTicketForm | PlaceForm
    if action == "ticket":
        form = CaseTicketForm(request.POST, services_=walkin_selectors.services_served(office), auto_id=TICKET_IDS)
        name = "ticket_form"
    else:
        form = PlaceForm(request.POST, services_=office_services(office))
        name = "place_form"
    if not form.is_valid():
        return render(request, "priority/counter_case.html", _case_context(request, case, **{name: form}), status=400)
    data = form.cleaned_data
    if not data["confirmed"]:
        start = data.get("start")
        carry = {"action": action, "service": data["service"].pk, "start": start.isoformat() if start else None}
        return _confirm(request, case, action, carry, service=data["service"], start=start)
    by = signed_in_user(request)
    try:
        if action == "ticket":
            ticket = services.case_issue_ticket(case=case, service=data["service"], by=by)
            done = _("Ticket %(number)s issued.") % {"number": ticket.number}
        else:
            booking = services.case_book_place(case=case, service=data["service"], start=data["start"], by=by)
            done = _("Place booked: %(reference)s.") % {"reference": booking.reference}
    except DomainError as exc:
        put_errors(form, exc)
        context = _case_context(request, case, **{name: form})
        return render(request, "priority/counter_case.html", context, status=status_of(exc))
    messages.success(request, done)
    return redirect("counter-case", office.code, case.reference)


@staff_required
@require_http_methods(["GET", "POST"])
def case_detail(request: HttpRequest, code: str, reference: str) -> HttpResponse:
    """A case for the office's staff: who (ID and mobile numbers masked), why, its documents
    and history; the decision (`action=decide`), then its E/Q ticket (`action=ticket`) or a
    reserved place (`action=book`)."""
    case = _staff_case(request, code, reference)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "decide":
            return _decide(request, case)
        if action in ("ticket", "book"):
            return _serve(request, case, str(action))
        messages.error(request, _("This action is not known. Reload the page and try again."))
        return redirect("counter-case", case.office.code, case.reference)
    return render(request, "priority/counter_case.html", _case_context(request, case))


@staff_required
@require_GET
def evidence_file(request: HttpRequest, code: str, reference: str, public_id: str) -> HttpResponse:
    """One document of a case, downloaded (never shown in the page: a PDF's scripts or an
    image's tricks run nowhere), and the opening audited."""
    case = _staff_case(request, code, reference)
    file = selectors.evidence_for_staff(request.user, case, public_id)
    if file is None:
        raise Http404
    try:
        handle = open(uploads.evidence_path(file.stored_name), "rb")  # noqa: SIM115 - FileResponse closes it
    except (ValueError, OSError):
        raise Http404 from None
    services.evidence_opened(file=file, by=signed_in_user(request))
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"{case.reference}-{file.code}{Path(file.stored_name).suffix}",
        content_type=file.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "sandbox"
    return response  # type: ignore[return-value]  # a streaming answer; staff_required types pages as HttpResponse


# --- an enterprise ---------------------------------------------------------------------------


@staff_required
@require_http_methods(["GET", "POST"])
def enterprise_detail(request: HttpRequest, code: str, reference: str) -> HttpResponse:
    """An enterprise's registration for the office's staff; a supervisor approves or rejects
    it (with a reason), from a confirmation page."""
    office = get_object_or_404(core.staff_offices(request.user), code=code)
    enterprise = get_object_or_404(
        Enterprise.objects.select_related("office", "decided_by"), office=office, reference=reference.upper()
    )
    form = EnterpriseDecisionForm()
    status = 200
    if request.method == "POST":
        form = EnterpriseDecisionForm(request.POST)
        if not _is_supervisor(request):
            return forbidden(request)
        if not form.is_valid():
            status = 400
        elif not form.cleaned_data["confirmed"]:
            context = {
                "office": office,
                **nav(office, NAV),
                "enterprise": enterprise,
                "action": f"enterprise_{form.cleaned_data['decision']}",
                "carry": [(key, form.cleaned_data[key]) for key in ("decision", "reason")],
                "back": request.path,
            }
            return render(request, "priority/confirm.html", context)
        else:
            try:
                services.enterprise_decide(
                    enterprise=enterprise,
                    approve=form.cleaned_data["decision"] == "approve",
                    reason=form.cleaned_data["reason"],
                    by=signed_in_user(request),
                )
            except DomainError as exc:
                put_errors(form, exc)
                status = status_of(exc)
            else:
                messages.success(
                    request,
                    _("%(name)s: %(status)s.") % {"name": enterprise.name, "status": enterprise.get_status_display()},
                )
                return redirect("counter-enterprise", office.code, enterprise.reference)
    contacts = [
        {"name": contact.name, "id_number": mask_id_number(contact.id_number), "phone": mask_phone(contact.phone)}
        for contact in enterprise.contacts.all()
    ]
    context = {
        "office": office,
        **nav(office, NAV),
        "enterprise": enterprise,
        "contacts": contacts,
        "form": form,
        "can_decide": enterprise.status == Enterprise.Status.PENDING and _is_supervisor(request),
    }
    return render(request, "priority/counter_enterprise.html", context, status=status)
