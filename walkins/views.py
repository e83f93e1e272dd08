"""Pages of the walk-ins floor.

Clerk pages (staff of the office): checking arrivals in (`/counter/<office>/check-in/`),
walk-in triage (`/counter/<office>/triage/`) and the counter workstation (`/counter/`), where a
clerk opens the counter they staff and calls, recalls, completes, parks, transfers and
resumes tickets. Every write goes through walkins.services; the machine-or-counter rule is
walkins.triage."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from appointments import selectors as booking_selectors
from appointments.models import Booking
from appointments.views import qr_svg
from bureau import selectors as core
from bureau.access import HtmxHttpRequest, signed_in_user, staff_required
from bureau.identity import mask_id_number, mask_name
from bureau.models import Counter, Office, Service
from bureau.services import Conflict, DomainError, NotAllowed
from walkins import selectors, services, triage
from walkins.forms import CheckInForm, CounterAction, IdLookupForm, TriageForm
from walkins.models import PREFIXES, CounterShift, Ticket, TicketChannel, TicketEvent

# =============================================================================================
# clerk pages
# =============================================================================================

# The workstation asks for its state this often (seconds); counts come from the database.
COUNTER_POLL_SECONDS = 5


def status_of(exc: DomainError) -> int:
    if isinstance(exc, NotAllowed):
        return 403
    return 409 if isinstance(exc, Conflict) else 400


def forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "403.html", status=403)


def row_id(value: str | None) -> int | None:
    """A row id from a query string, or None for anything that is not one."""
    text = str(value or "")
    if text.isascii() and text.isdigit() and len(text) <= 9 and int(text) > 0:
        return int(text)
    return None


def staff_office(request: HttpRequest, code: str) -> Office | None:
    """The office the path names (404 if none has the code), or None when the user is not on
    its staff (the caller answers 403)."""
    office = get_object_or_404(Office, code=code)
    if not core.staff_offices(request.user).filter(pk=office.pk).exists():
        return None
    return office


def _home_office(request: HttpRequest, shift: CounterShift | None = None) -> Office | None:
    """The office the clerk works at now: their counter's, else their first."""
    if shift is not None:
        return shift.counter.office
    return core.staff_offices(request.user).order_by("position", "code").first()


def nav(office: Office | None, current: str) -> dict[str, Any]:
    return {"nav_office": office, "nav_current": current}


@dataclass(frozen=True)
class TicketCard:
    """What the ticket shows, on screen and printed (templates/walkins/_ticket_print.html)."""

    ticket: Ticket
    ahead: int
    wait_minutes: int
    queue_label: str
    issued_at: datetime
    masked_name: str = ""

    @property
    def waiting(self) -> bool:
        return self.ticket.status == Ticket.Status.WAITING

    @property
    def qr(self) -> SafeString:
        """The QR code of the ticket's own page, which follows the ticket on a phone."""
        return qr_svg(selectors.ticket_page_url(self.ticket.pk))


def ticket_card(ticket: Ticket) -> TicketCard:
    place = selectors.place_of(ticket)
    booking: Booking | None = ticket.booking if ticket.booking_id else None
    return TicketCard(
        ticket=ticket,
        ahead=place.ahead,
        wait_minutes=place.estimated_wait_minutes,
        queue_label=str(TicketChannel(ticket.channel).label),
        issued_at=timezone.localtime(ticket.issued_at, selectors.OFFICE_TZ),
        masked_name=mask_name(booking.name) if booking is not None else "",
    )


# --- check-in --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Why a check-in was refused, and what the page offers instead."""

    message: str
    code: str
    walk_in_service: Service | None = None  # too late: a walk-in ticket for this service
    earlier: TicketCard | None = None  # checked in before: its ticket


def _refusal(office: Office, code: str, exc: DomainError) -> Refusal:
    booking = selectors.booking_at_office(office, code)
    if booking is None:
        return Refusal(exc.message, exc.code)
    if exc.code == "too_late" or booking.status == Booking.Status.LATE:
        return Refusal(exc.message, exc.code, walk_in_service=booking.service)
    if booking.status == Booking.Status.CHECKED_IN and (earlier := selectors.ticket_of_booking(booking)):
        at = timezone.localtime(booking.checked_in_at or earlier.issued_at, selectors.OFFICE_TZ)
        message = _("This booking was checked in at %(time)s: its ticket is %(number)s.") % {
            "time": at.strftime("%H:%M"),
            "number": earlier.number,
        }
        return Refusal(message, "checked_in", earlier=ticket_card(earlier))
    return Refusal(exc.message, exc.code)


@never_cache
@staff_required
@require_http_methods(["GET", "POST"])
def check_in(request: HttpRequest, code: str) -> HttpResponse:
    """Check a booking in by its QR code (camera or handheld scanner), its reference, or the
    applicant's ID number; the `A` ticket is then shown, printable (`?ticket=<id>`)."""
    office = staff_office(request, code)
    if office is None:
        return forbidden(request)
    form, lookup = CheckInForm(), IdLookupForm()
    context: dict[str, Any] = {"office": office, **nav(office, "check-in")}
    status = 200
    if request.method == "POST" and office.mode == Office.Mode.DUAL_TRACK:
        if "id_number" in request.POST:
            lookup = IdLookupForm(request.POST)
            if lookup.is_valid():
                number = lookup.cleaned_data["id_number"]
                context["found"] = [
                    (booking, mask_name(booking.name))
                    for booking in booking_selectors.bookings_to_check_in(
                        office=office, id_number=number, day=core.office_today()
                    )
                ]
                context["searched_id"] = mask_id_number(number)
                lookup = IdLookupForm()  # the number is never put back into the page
            else:
                status = 400
        else:
            form = CheckInForm(request.POST)
            if not form.is_valid():
                status = 400
            else:
                entered = form.cleaned_data["code"]
                try:
                    done = services.ticket_check_in(code=entered, office=office, by=signed_in_user(request))
                except DomainError as exc:
                    if isinstance(exc, NotAllowed):
                        return forbidden(request)
                    status = status_of(exc)
                    context["refusal"] = _refusal(office, entered, exc)
                    context["entered"] = entered
                else:
                    url = reverse("counter-check-in", args=[office.code])
                    return redirect(f"{url}?ticket={done.ticket.pk}")
    elif (ticket_id := row_id(request.GET.get("ticket"))) is not None:
        ticket = selectors.ticket_at_office(office, ticket_id)
        if ticket is not None and ticket.booking_id:
            context["checked_in"] = ticket_card(ticket)
    context.update(form=form, lookup=lookup)
    return render(request, "walkins/check_in.html", context, status=status)


@staff_required
@require_GET
def booking_page(request: HttpRequest, code: str, reference: str) -> HttpResponse:
    """A booking of the office as a clerk sees it (from the application it brought, or a
    check-in): who (masked), what and when, its state, its ticket and the applications
    accepted for that ticket."""
    office = staff_office(request, code)
    if office is None:
        return forbidden(request)
    booking = selectors.booking_at_office(office, reference)
    if booking is None:
        raise Http404
    ticket = selectors.ticket_of_booking(booking)
    context = {
        "office": office,
        **nav(office, "check-in"),
        "booking": booking,
        "masked_name": mask_name(booking.name),
        "masked_id_number": mask_id_number(booking.id_number),
        "ticket": ticket,
        "applications": list(ticket.applications.order_by("pk")) if ticket is not None else [],
    }
    return render(request, "walkins/booking.html", context)


# --- walk-in triage --------------------------------------------------------------------------


def _ordered(services_: QuerySet[Service]) -> list[Service]:
    """Services as the catalogue lists them: passports, then Hong Kong/Macao, then Taiwan."""
    documents, businesses = list(Service.Document.values), list(Service.Business.values)
    return sorted(services_, key=lambda s: (documents.index(s.document), businesses.index(s.business)))


@never_cache
@staff_required
@require_http_methods(["GET", "POST"])
def triage_page(request: HttpRequest, code: str) -> HttpResponse:
    """Pick the walk-in's service and situation: the self-service machines when they can do
    it (walkins.triage), else a ticket in the chosen queue, printable (`?ticket=<id>`)."""
    office = staff_office(request, code)
    if office is None:
        return forbidden(request)
    served = selectors.services_served(office)
    context: dict[str, Any] = {"office": office, **nav(office, "triage")}
    status = 200
    if request.method == "POST":
        form = TriageForm(request.POST, services_=served)
        if not form.is_valid():
            status = 400
        else:
            situation = form.situation()
            verdict = triage.self_service_verdict(situation)
            asked = triage.asks_situation(situation.document, situation.business)
            if verdict.machine:
                context.update(verdict=verdict, chosen=form.cleaned_data)
            else:
                try:
                    ticket = services.ticket_issue(
                        office=office,
                        service=form.cleaned_data["service"],
                        channel=TicketChannel.GENERAL,
                        by=signed_in_user(request),
                    )
                except DomainError as exc:
                    if isinstance(exc, NotAllowed):
                        return forbidden(request)
                    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                    status = status_of(exc)
                else:
                    url = reverse("counter-triage", args=[office.code])
                    why = f"&why={verdict.reason}" if asked and not form.cleaned_data["counter_anyway"] else ""
                    return redirect(f"{url}?ticket={ticket.pk}{why}")
    else:
        preselected = row_id(request.GET.get("service"))
        form = TriageForm(services_=served, initial={"service": preselected} if preselected else None)
        if (ticket_id := row_id(request.GET.get("ticket"))) is not None:
            shown = selectors.ticket_at_office(office, ticket_id)
            if shown is not None:
                context["issued"] = ticket_card(shown)
                why = request.GET.get("why", "")
                if why in triage.REASONS and why not in ("machine", "machine_group_tour"):
                    context["why"] = str(triage.REASONS[why])
    context.update(
        form=form,
        services=[(service, triage.asks_situation(service.document, service.business)) for service in _ordered(served)],
    )
    return render(request, "walkins/triage.html", context, status=status)


# --- the counter workstation -----------------------------------------------------------------


def _services_summary(counter: Counter, served: set[int]) -> str:
    mine = list(counter.services.all())
    if served and {service.pk for service in mine} >= served:
        return _("All services")
    return ", ".join(service.name for service in mine)


@dataclass(frozen=True)
class Workstation:
    """Everything the workstation shows of the counter the clerk staffs."""

    shift: CounterShift
    current: Ticket | None
    current_card: TicketCard | None
    served: Ticket | None  # just completed here, applications may follow
    last: TicketEvent | None
    linked: list[Any]
    lines: list[dict[str, Any]]
    waiting_total: int
    parked: list[Ticket]
    transfer_to: QuerySet[Service]
    recall_limit: int

    @property
    def counter(self) -> Counter:
        return self.shift.counter

    @property
    def state(self) -> str:
        if self.current is not None:
            return "serving"
        return "served" if self.served is not None else "idle"

    @property
    def primary(self) -> str:
        """The one obvious next action."""
        if self.state == "serving":
            return "complete"
        if self.state == "served" and not self.linked:
            return "accept"
        return "call_next"

    @property
    def last_text(self) -> str:
        """What happened last at the counter, in words (the window is free)."""
        if self.last is None:
            return ""
        labels = {
            "completed": pgettext("ticket event", "served"),
            "no_show": pgettext("ticket event", "no-show"),
            "missed": pgettext("ticket event", "missed after recalls"),
            "parked": pgettext("ticket event", "parked"),
            "transferred": pgettext("ticket event", "transferred to another service"),
        }
        return labels.get(self.last.action, str(Ticket.Status(self.last.ticket.status).label))

    @property
    def accept_url(self) -> str:
        """The core's accept page, carrying the ticket (bureau.forms.ApplicationAcceptForm's
        hidden `ticket`): the application accepted there is linked to it (walkins.services)."""
        focus = self.current or self.served
        return f"{reverse('application-accept')}?ticket={focus.pk}" if focus is not None else ""

    @property
    def recalls_left(self) -> int:
        return max(0, self.recall_limit - (self.current.recalls if self.current else 0))

    @property
    def waited_minutes(self) -> int | None:
        if self.current is None or self.current.called_at is None:
            return None
        return int((self.current.called_at - self.current.issued_at).total_seconds() // 60)


def _workstation(shift: CounterShift) -> Workstation:
    counter = shift.counter
    office = counter.office
    current = selectors.current_ticket(counter)
    served: Ticket | None = None
    last = selectors.last_event_at(counter, shift.opened_at) if current is None else None
    if last is not None and last.action in ("completed", "linked") and last.ticket.status == Ticket.Status.COMPLETED:
        served = last.ticket
    focus = current or served
    linked = list(focus.applications.order_by("id")) if focus is not None else []
    mine = {service.code: service for service in counter.services.all()}
    queue_names = {prefix: TicketChannel(channel).label for channel, prefix in PREFIXES.items()}
    lines: list[dict[str, Any]] = [
        {
            "queue": line.queue,
            "queue_name": queue_names[line.queue],
            "service": mine[line.service],
            "count": line.count,
            "wait": line.estimated_wait_minutes,
        }
        for line in selectors.queue_lines(office)
        if line.service in mine
    ]
    # The queues in the order they are called (by weight), the longest first within one.
    figures = selectors.queue_settings(office)
    channel_of = {prefix: channel for channel, prefix in PREFIXES.items()}
    lines.sort(key=lambda line: (-figures.weight(channel_of[line["queue"]]), -line["count"]))
    transfer_to = selectors.services_served(office)
    if current is not None:
        transfer_to = transfer_to.exclude(pk=current.service_id)
    return Workstation(
        shift=shift,
        current=current,
        current_card=ticket_card(current) if current is not None else None,
        served=served,
        last=last,
        linked=linked,
        lines=lines,
        waiting_total=sum(line["count"] for line in lines),
        parked=list(selectors.parked_tickets(office)[:9]),
        transfer_to=transfer_to,
        recall_limit=figures.recall_limit,
    )


def _workstation_context(shift: CounterShift) -> dict[str, Any]:
    counter = shift.counter
    served = set(selectors.services_served(counter.office).values_list("pk", flat=True))
    return {
        "ws": _workstation(shift),
        "counter": counter,
        "office": counter.office,
        "services_summary": _services_summary(counter, served),
        "poll_seconds": COUNTER_POLL_SECONDS,
        **nav(counter.office, "counter"),
    }


def _chosen_office(request: HttpRequest) -> tuple[Office | None, bool]:
    """The office whose counters the opener lists (`?office=<code>` among the user's), and
    whether the user may see it (False: 403)."""
    offices = core.staff_offices(request.user).order_by("position", "code")
    code = request.GET.get("office")
    if code:
        chosen = offices.filter(code=str(code)[:32]).first()
        return chosen, chosen is not None
    return offices.first(), True


def _counter_page(request: HttpRequest, *, status: int = 200, error: str = "") -> HttpResponse:
    shift = selectors.shift_of(request.user.pk)
    if shift is not None:
        context = _workstation_context(shift)
        context["error"] = error
        return render(request, "walkins/counter.html", context, status=status)
    office, allowed = _chosen_office(request)
    if not allowed:
        return forbidden(request)
    context = {
        "office": office,
        "offices": core.staff_offices(request.user).order_by("position", "code"),
        "rows": selectors.office_counters(office) if office is not None else [],
        "error": error,
        **nav(office, "counter"),
    }
    if office is not None:
        served = set(selectors.services_served(office).values_list("pk", flat=True))
        context["rows"] = [(row, _services_summary(row.counter, served)) for row in context["rows"]]
    return render(request, "walkins/counter_open.html", context, status=status)


@never_cache
@staff_required
@require_GET
def counter(request: HttpRequest) -> HttpResponse:
    """The workstation of the counter the clerk staffs, or the list of counters to open."""
    if request.GET.get("office"):
        _office, allowed = _chosen_office(request)
        if not allowed:
            return forbidden(request)
    return _counter_page(request)


@never_cache
@staff_required
@require_GET
def counter_panel(request: HtmxHttpRequest) -> HttpResponse:
    """The workstation's state (htmx polls it): the current ticket, its actions, the waiting
    counts and the parked tickets. A counter closed meanwhile reloads the page."""
    shift = selectors.shift_of(request.user.pk)
    if not request.htmx:
        return redirect("counter")
    if shift is None:
        response = HttpResponse(status=200)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "walkins/counter_panel.html", _workstation_context(shift))


def _notice(action: str, ticket: Ticket | None, counter: Counter) -> str:
    values = {"number": ticket.number if ticket else "", "window": counter.number}
    if action == "call_next":
        if ticket is None:
            return _("Nobody is waiting for this window's services.")
        return _("Called %(number)s to window %(window)s.") % values
    if ticket is None:
        return ""
    if action == "recall":
        if ticket.status == Ticket.Status.MISSED:
            return _("%(number)s did not come after the last recall: marked missed.") % values
        return _("Called %(number)s again.") % values
    notices = {
        "complete": _("%(number)s served."),
        "no_show": _("%(number)s marked as no-show."),
        "park": _("%(number)s parked: resume it when the applicant is back."),
        "transfer": _("%(number)s sent to the queue of %(service)s."),
        "resume": _("%(number)s resumed at window %(window)s."),
    }
    return notices[action] % {**values, "service": ticket.service.name}


def _act(form: CounterAction, counter: Counter, request: HttpRequest) -> Ticket | None:
    """Carry out one workstation action through walkins.services."""
    by = signed_in_user(request)
    action = form.cleaned_data["action"]
    if action == "call_next":
        return services.ticket_call_next(counter=counter, by=by)
    if action == "transfer":
        service = Service.objects.filter(pk=form.cleaned_data["service"]).first()
        if service is None:
            raise DomainError(_("Choose the service to send the ticket to."), field="service", code="invalid")
        return services.ticket_transfer(counter=counter, service=service, by=by)
    if action == "resume":
        ticket = Ticket.objects.filter(pk=form.cleaned_data["ticket"], office_id=counter.office_id).first()
        if ticket is None:
            raise Conflict(_("This ticket is not parked."), code="not_parked")
        return services.ticket_resume(ticket=ticket, counter=counter, by=by)
    act = {
        "recall": services.ticket_recall,
        "complete": services.ticket_complete,
        "no_show": services.ticket_no_show,
        "park": services.ticket_park,
    }[action]
    return act(counter=counter, by=by)


def _form_problem(form: CounterAction) -> str:
    for name in ("service", "ticket"):
        if name in form.errors:
            return str(form.errors[name][0])
    return _("This action is not known. Reload the page and try again.")


def _answer(request: HtmxHttpRequest, *, status: int = 200, notice: str = "", error: str = "") -> HttpResponse:
    """The workstation after an action: its fragment and notice for htmx, else the page (an
    error) or a redirect to it with the notice (success)."""
    if not request.htmx:
        if error:
            return _counter_page(request, status=status, error=error)
        if notice:
            messages.success(request, notice)
        return redirect("counter")
    shift = selectors.shift_of(request.user.pk)
    if shift is None:  # closed meanwhile, or never open: the whole page changes
        response = HttpResponse(status=200)
        response["HX-Refresh"] = "true"
        return response
    context = {**_workstation_context(shift), "notice": notice, "error": error, "oob_notice": True}
    return render(request, "walkins/counter_panel.html", context, status=status)


@staff_required
@require_POST
def counter_act(request: HtmxHttpRequest) -> HttpResponse:
    """One press on the workstation (open, close, call next, recall, complete, no-show, park,
    transfer, resume), at the counter the page was showing."""
    form = CounterAction(request.POST)
    if not form.is_valid():
        return _answer(request, status=400, error=_form_problem(form))
    counter = Counter.objects.select_related("office").filter(pk=form.cleaned_data["counter"]).first()
    if counter is None:
        return _answer(request, status=404, error=_("This window does not exist any more. Reload the page."))
    action = form.cleaned_data["action"]
    by = signed_in_user(request)
    try:
        if action == "open":
            services.counter_open(counter=counter, by=by)  # the page that follows says it
            return redirect("counter")
        if action == "close":
            services.counter_close(counter=counter, by=by)
            messages.success(request, _("Window %(window)s is closed.") % {"window": counter.number})
            return redirect("counter")
        ticket = _act(form, counter, request)
    except DomainError as exc:
        if isinstance(exc, NotAllowed) and not core.staff_offices(by).filter(pk=counter.office_id).exists():
            return forbidden(request)
        return _answer(request, status=status_of(exc), error=exc.message)
    return _answer(request, notice=_notice(action, ticket, counter))
