"""Public pages and devices: the kiosk in the hall (its device signs in as the office's
kiosk), the display board on the hall's wall, the public queue page of every office, and a
ticket's own page behind its QR code. Nothing personal on any of them: numbers only."""

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from appointments.views import qr_svg
from bureau import selectors as core
from bureau.access import HtmxHttpRequest, signed_in_user
from bureau.identity import mask_phone
from bureau.models import Office, OpeningSession, Service, StaffMember
from bureau.services import Conflict, DomainError, NotAllowed
from walkins import selectors, services
from walkins.models import PREFIXES, Ticket, TicketChannel

# How often pages ask again, in seconds: the board within a second of a call (a call shows
# in under 2 s), a ticket's page on a phone, the queue page.
BOARD_POLL_SECONDS = 1
BOARD_QUEUES_POLL_SECONDS = 5
TICKET_POLL_SECONDS = 5
QUEUES_POLL_SECONDS = 30
# The kiosk's ticket screen goes back to the start after this long; the start screen after
# this long idle (in the default language, with its fields emptied).
KIOSK_TICKET_SECONDS = 30
KIOSK_IDLE_SECONDS = 90
# Other offices a refusal at the kiosk suggests.
ELSEWHERE = 3
# htmx: "stop polling" (the ticket is finished: nothing on its page changes any more).
STOP_POLLING = 286
FINISHED = (Ticket.Status.COMPLETED, Ticket.Status.MISSED, Ticket.Status.NO_SHOW, Ticket.Status.ABANDONED)
QUEUE_CHANNELS = {prefix: TicketChannel(channel) for channel, prefix in PREFIXES.items()}


def _office_or_404(code: str) -> Office:
    office = core.office_by_code(code)
    if office is None:
        raise Http404
    return office


def _other_language() -> str:
    return "en" if (translation.get_language() or "").startswith("zh") else settings.LANGUAGE_CODE


def _unchanged(request: HttpRequest, version: str) -> bool:
    """A polling page sends the version of what it shows: nothing to swap when it is current."""
    return request.GET.get("v", "")[:64] == version


def _version(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


# --- the kiosk ---------------------------------------------------------------------------


def kiosk_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page of the office's kiosk device: signed in as a kiosk of the office named in the
    path (staff and other offices' kiosks get a 403); the view gets the office. Never cached:
    the next applicant at the screen must not page back to the last one's ticket."""

    @never_cache
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, code: str, *args: Any, **kwargs: Any) -> HttpResponse:
        office = _office_or_404(code)
        user = request.user
        is_kiosk = core.staff_role(user) == StaffMember.Role.KIOSK
        if not is_kiosk or not core.staff_offices(user).filter(pk=office.pk).exists():
            return render(request, "403.html", status=403)
        return view(request, office, *args, **kwargs)

    return wrapped


class ServiceChoiceForm(forms.Form):
    service = forms.ChoiceField(error_messages={"required": gettext_lazy("Choose a service.")})

    def __init__(self, *args: Any, offered: list[Service], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offered = {service.code: service for service in offered}
        field = cast(forms.ChoiceField, self.fields["service"])
        field.choices = [(service.code, service.name) for service in offered]
        field.error_messages["invalid_choice"] = _("Choose one of the services shown.")

    def chosen(self) -> Service:
        return self.offered[self.cleaned_data["service"]]


class CheckInForm(forms.Form):
    code = forms.CharField(
        label=pgettext_lazy("kiosk", "Booking reference"),
        max_length=64,
        error_messages={
            "required": gettext_lazy("Scan the QR code of your booking or type its reference."),
            "max_length": gettext_lazy("No booking has this reference."),
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=pgettext_lazy("kiosk", "Mobile number"),
        max_length=32,
        error_messages={
            "required": gettext_lazy("Enter an 11-digit mainland mobile number, for example 13812345678."),
            "max_length": gettext_lazy("Enter an 11-digit mainland mobile number, for example 13812345678."),
        },
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "numeric", "autocomplete": "off"}),
    )


def _kiosk_page(
    request: HttpRequest,
    office: Office,
    *,
    check_in: CheckInForm | None = None,
    refusal: DomainError | None = None,
    check_in_refusal: DomainError | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    open_now = services.is_open(office, now)
    refused = refusal.code if refusal is not None else ""
    general = PREFIXES[TicketChannel.GENERAL]
    walk_ins = {line.service: line for line in selectors.queue_lines(office, now) if line.queue == general}
    context = {
        "office": office,
        "open_now": open_now,
        "offered": [
            {"service": service, "line": walk_ins.get(service.code)}
            for service in selectors.kiosk_services(office, now)
        ],
        "check_in": check_in or CheckInForm(),
        "refusal": refusal.message if refusal is not None else "",
        "refused": refused,
        "check_in_refusal": check_in_refusal,
        "sessions": OpeningSession.objects.filter(office=office).order_by("day_kind", "opens_at"),
        "here": reverse("kiosk", args=[office.code]),
        "default_language": settings.LANGUAGE_CODE,
        "idle_seconds": KIOSK_IDLE_SECONDS,
    }
    if not open_now or refused in ("closed", "quota_reached"):
        context["elsewhere"] = selectors.quieter_offices(office, now, limit=ELSEWHERE)
    return render(request, "walkins/kiosk.html", context, status=status)


def _refusal_status(exc: DomainError) -> int:
    if isinstance(exc, NotAllowed):
        return 403
    return 409 if isinstance(exc, Conflict) else 400


@require_GET
@kiosk_required
def kiosk(request: HttpRequest, office: Office) -> HttpResponse:
    """The kiosk's start screen: take a walk-in ticket, or check a booking in."""
    return _kiosk_page(request, office)


@require_POST
@kiosk_required
def kiosk_ticket(request: HttpRequest, office: Office) -> HttpResponse:
    """Take a walk-in ticket for the service pressed (opening hours, the daily quota)."""
    form = ServiceChoiceForm(request.POST, offered=list(selectors.kiosk_services(office)))
    if not form.is_valid():
        return _kiosk_page(request, office, refusal=DomainError(str(form.errors["service"][0])), status=400)
    try:
        ticket = services.ticket_issue_at_kiosk(office=office, service=form.chosen(), by=signed_in_user(request))
    except DomainError as exc:
        return _kiosk_page(request, office, refusal=exc, status=_refusal_status(exc))
    return redirect("kiosk-ticket-screen", office.code, ticket.pk, selectors.ticket_signature(ticket.pk))


@require_POST
@kiosk_required
def kiosk_check_in(request: HttpRequest, office: Office) -> HttpResponse:
    """Check a booking in with its QR code (a scanner types it) or its reference: its
    appointment ticket, or the reason why not (too late: take a walk-in ticket)."""
    form = CheckInForm(request.POST)
    if not form.is_valid():
        return _kiosk_page(request, office, check_in=form, status=400)
    try:
        done = services.ticket_check_in(code=form.cleaned_data["code"], office=office, by=signed_in_user(request))
    except DomainError as exc:  # said under an empty field, ready for the next scan
        return _kiosk_page(request, office, check_in_refusal=exc, status=_refusal_status(exc))
    ticket = done.ticket
    return redirect("kiosk-ticket-screen", office.code, ticket.pk, selectors.ticket_signature(ticket.pk))


def _office_ticket_or_404(office: Office, ticket_id: int, signature: str) -> Ticket:
    ticket = selectors.ticket_by_signature(ticket_id, signature)
    if ticket is None or ticket.office_id != office.pk:
        raise Http404
    return ticket


def _ticket_context(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    """What a ticket shows, on the kiosk's screen, its printed slip and its own page."""
    signature = selectors.ticket_signature(ticket.pk)
    follow = selectors.ticket_page_url(ticket.pk)
    return {
        "ticket": ticket,
        "signature": signature,
        "place": selectors.place_of(ticket),
        "queue": QUEUE_CHANNELS[PREFIXES[ticket.channel]],
        "issued_at": timezone.localtime(ticket.issued_at, selectors.OFFICE_TZ),
        "follow_url": follow,
        "qr": qr_svg(follow),
    }


def _kiosk_ticket_page(
    request: HttpRequest, office: Office, ticket: Ticket, *, phone: PhoneForm | None = None, status: int = 200
) -> HttpResponse:
    context = _ticket_context(request, ticket)
    places = selectors.queue_settings(office).notify_places_ahead
    context.update(
        {
            "office": office,
            "here": request.path if request.method == "GET" else reverse("kiosk", args=[office.code]),
            "start": reverse("kiosk", args=[office.code]),
            "default_language": settings.LANGUAGE_CODE,
            "sms_places": places,
            "sms_offered": selectors.near_front_sms_offered(ticket, context["place"].ahead),
            "masked_phone": mask_phone(ticket.phone) if ticket.phone else "",
            "phone": phone or PhoneForm(),
            "return_seconds": KIOSK_TICKET_SECONDS,
        }
    )
    return render(request, "walkins/kiosk_ticket.html", context, status=status)


@require_GET
@kiosk_required
def kiosk_ticket_screen(request: HttpRequest, office: Office, ticket_id: int, signature: str) -> HttpResponse:
    """The ticket just taken, big, with its QR code and a slip to print; back to the start
    after a while."""
    return _kiosk_ticket_page(request, office, _office_ticket_or_404(office, ticket_id, signature))


@require_POST
@kiosk_required
def kiosk_sms(request: HttpRequest, office: Office, ticket_id: int, signature: str) -> HttpResponse:
    """A mobile number for one SMS when the ticket nears the front (where the office sends them)."""
    ticket = _office_ticket_or_404(office, ticket_id, signature)
    form = PhoneForm(request.POST)
    if form.is_valid():
        try:
            services.ticket_set_phone(ticket=ticket, phone=form.cleaned_data["phone"], by=signed_in_user(request))
        except DomainError as exc:
            form.add_error("phone", exc.message)
            return _kiosk_ticket_page(request, office, ticket, phone=form, status=_refusal_status(exc))
        return redirect("kiosk-ticket-screen", office.code, ticket.pk, signature)
    return _kiosk_ticket_page(request, office, ticket, phone=form, status=400)


# --- the display board -------------------------------------------------------------------


def spoken(number: str) -> str:
    """A ticket number as speech reads it best: one character at a time (B 0 2 3)."""
    return " ".join(number)


def _call_texts(number: str, window: int) -> dict[str, str]:
    """The spoken call, in Chinese then English, whatever the page's language."""
    texts = {}
    for key, language in (("zh", "zh-hans"), ("en", "en")):
        with translation.override(language):
            texts[key] = pgettext("spoken call", "Number %(number)s, please go to window %(window)s") % {
                "number": spoken(number),
                "window": window,
            }
    return texts


def _board_calls(office: Office) -> dict[str, Any]:
    """The latest calls, each with its spoken text; one query."""
    now = timezone.now()
    calls = [
        {
            "key": f"{ticket.pk}:{ticket.called_at.timestamp() if ticket.called_at else 0}",
            "number": ticket.number,
            "window": ticket.counter.number,
            "number_html": format_html('<span class="call-number">{}</span>', ticket.number),
            "window_html": format_html('<span class="call-window">{}</span>', ticket.counter.number),
            "say": _call_texts(ticket.number, ticket.counter.number),
        }
        for ticket in selectors.recent_calls(office, now)
        if ticket.counter is not None
    ]
    local = timezone.localtime(now, selectors.OFFICE_TZ)
    return {
        "calls": calls,
        "now": local,
        "calls_version": _version(
            [call["key"] for call in calls], local.strftime("%Y-%m-%d %H:%M"), translation.get_language()
        ),
    }


def _board_queues(office: Office) -> dict[str, Any]:
    """Waiting counts and the longest estimated wait per queue (walkins.selectors.queue_lines,
    summed up by queue)."""
    totals = selectors.queue_totals(selectors.queue_lines(office))
    return {
        "queues": [{"total": total, "label": QUEUE_CHANNELS[total.queue].label} for total in totals],
        "queues_version": _version(totals, translation.get_language()),
    }


@never_cache
@require_GET
def board(request: HtmxHttpRequest, code: str) -> HttpResponse:
    """The hall's display board: the latest calls, big, and the waiting counts per queue. The
    calls are asked for every second, the queues every few (?part=queues); each answers 204
    when nothing changed. It reads the database only, no cache: it shows calls with Redis
    down."""
    office = _office_or_404(code)
    context: dict[str, Any] = {"office": office, "other_language": _other_language()}
    if not request.htmx:
        context.update(_board_calls(office), **_board_queues(office), poll_seconds=BOARD_POLL_SECONDS)
        context["queues_poll_seconds"] = BOARD_QUEUES_POLL_SECONDS
        response = render(request, "walkins/board.html", context)
    else:
        part = "queues" if request.GET.get("part") == "queues" else "calls"
        context.update(_board_queues(office) if part == "queues" else _board_calls(office))
        if _unchanged(request, context[f"{part}_version"]):
            response = HttpResponse(status=204)
        else:
            response = render(request, f"walkins/board_{part}.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- the public queue page ---------------------------------------------------------------


@never_cache
@require_GET
def queues(request: HtmxHttpRequest) -> HttpResponse:
    """Every office's waiting count and estimated wait (the figures of the queue API), to
    steer people to a quieter office; refreshed every QUEUES_POLL_SECONDS."""
    now = timezone.now()
    offices = selectors.office_queues(now)
    names = {service.code: service for service in Service.objects.all()}
    context = {
        "offices": [
            {
                "queue": queue,
                "lines": [
                    {"line": line, "service": names.get(line.service), "queue": QUEUE_CHANNELS[line.queue]}
                    for line in queue.lines
                ],
            }
            for queue in offices
        ],
        "quietest": selectors.quietest_open(offices),
        "now": timezone.localtime(now, selectors.OFFICE_TZ),
        "poll_seconds": QUEUES_POLL_SECONDS,
    }
    template = "walkins/queues_list.html" if request.htmx else "walkins/queues.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- a ticket's own page (its QR code) ----------------------------------------------------


@never_cache
@require_GET
def ticket_page(request: HtmxHttpRequest, ticket_id: int, signature: str) -> HttpResponse:
    """A ticket followed on a phone: its place, live, and the latest calls; no personal data.
    The address carries an HMAC of the ticket's id: a wrong one is the site's 404."""
    ticket = selectors.ticket_by_signature(ticket_id, signature)
    if ticket is None:
        raise Http404
    context = _ticket_context(request, ticket)
    calls = [t for t in selectors.recent_calls(ticket.office)[:3] if t.counter is not None]
    # A ticket of a past day the end-of-day job has not closed yet is over all the same.
    past = ticket.day < selectors.local_day(timezone.now()) and ticket.status not in FINISHED
    state = "past" if past else ticket.status
    context.update(
        {"calls": calls, "state": state, "finished": past or state in FINISHED, "poll_seconds": TICKET_POLL_SECONDS}
    )
    place = context["place"]
    version = _version(
        state,
        ticket.counter_id,
        ticket.recalls,
        place,
        [(t.number, t.counter_id) for t in calls],
        translation.get_language(),
    )
    context["version"] = version
    if request.htmx:
        if context["finished"]:  # its last state, and no more asking
            response = render(request, "walkins/ticket_live.html", context, status=STOP_POLLING)
        elif _unchanged(request, version):
            response = HttpResponse(status=204)
        else:
            response = render(request, "walkins/ticket_live.html", context)
    else:
        response = render(request, "walkins/ticket.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response
