"""Booking pages: choose an office, a service, a day and a slot; book; see, cancel or move
the booking through its secret manage link."""

from datetime import date, timedelta
from typing import Any

import segno
from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from icalendar import Calendar, Event

from appointments import selectors, services
from appointments.forms import ApplicantForm, RescheduleForm, SlotChoiceForm
from appointments.models import Booking, Channel
from appointments.services import BookingInputError
from bureau import selectors as core
from bureau.access import with_retry_after
from bureau.models import Office, Service
from bureau.ratelimit import client_address, retry_after
from bureau.services import Conflict, DomainError, NotAllowed


def _day_choices(office: Office, service_pk: str | int | None) -> list[tuple[str, str]]:
    """The bookable days; once a service is chosen, only the days that have slots for it."""
    first, last = selectors.bookable_range()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    chosen = str(service_pk or "")
    service = Service.objects.filter(pk=int(chosen)).first() if chosen.isdecimal() and chosen.isascii() else None
    if service is not None:
        open_days = selectors.days_with_slots(office=office, service=service, first=first, last=last)
        days = [d for d in days if d in open_days]
    return [(d.isoformat(), f"{date_format(d, 'MONTH_DAY_FORMAT')} {date_format(d, 'l')}") for d in days]


def _slot_rows(office: Office, service: Service, day: date) -> list[dict[str, Any]]:
    general = selectors.availability(office_code=office.code, service_code=service.code, day=day)
    student = selectors.availability(
        office_code=office.code, service_code=service.code, day=day, channel=Channel.STUDENT
    )
    student_left = {s.starts_at: s.remaining for s in student}
    return [
        {"start": g.starts_at, "remaining": g.remaining, "student_remaining": student_left.get(g.starts_at, 0)}
        for g in general
    ]


def _office_services(office: Office) -> QuerySet[Service]:
    return Service.objects.filter(slot_templates__office=office).distinct()


@require_GET
def office_list(request: HttpRequest) -> HttpResponse:
    return render(request, "appointments/offices.html", {"offices": core.offices_with_sessions()})


@require_http_methods(["GET", "POST"])
def book(request: HttpRequest, code: str) -> HttpResponse:
    office = get_object_or_404(core.offices_with_sessions(), code=code)
    if office.mode != Office.Mode.DUAL_TRACK:
        return render(request, "appointments/walk_in_office.html", {"office": office})
    posted = request.method == "POST"
    data = request.POST if posted else request.GET
    choice = SlotChoiceForm(
        data or None, services=_office_services(office), days=_day_choices(office, data.get("service"))
    )
    applicant = ApplicantForm(request.POST if posted else None)
    status, wait = 200, None
    if posted and choice.is_valid() and applicant.is_valid():
        booking, status, wait = _try_booking(request, office, choice.cleaned_data["service"], applicant)
        if booking is not None:
            token = selectors.booking_token(booking.reference)
            return redirect(f"{reverse('booking-manage', args=[booking.reference, token])}?new=1")
    slots = None
    if choice.is_valid():
        slots = _slot_rows(office, choice.cleaned_data["service"], choice.cleaned_data["date"])
    context = {"office": office, "choice": choice, "applicant": applicant, "slots": slots}
    return with_retry_after(render(request, "appointments/book.html", context, status=status), wait)


def _try_booking(
    request: HttpRequest, office: Office, service: Service, applicant: ApplicantForm
) -> tuple[Booking | None, int, int | None]:
    """The booking, or None, the HTTP status (and the seconds to wait, for a 429) with the
    errors put on the form. Limits as the API's: every attempt per address, valid ones per
    ID number and mobile number."""
    wait = retry_after("booking-address", client_address(request))
    if wait is None:
        try:
            person = services.applicant_validated(**{k: v for k, v in applicant.cleaned_data.items() if k != "start"})
        except BookingInputError as exc:
            _put_errors(applicant, exc)
            return None, 400, None
        wait = retry_after("booking-applicant", person.id_number, person.phone)
    if wait is not None:
        applicant.add_error(None, _("Too many booking attempts. Please wait %(s)d seconds.") % {"s": wait})
        return None, 429, wait
    try:
        return services.booking_create(office=office, service=service, **applicant.cleaned_data), 201, None
    except BookingInputError as exc:
        _put_errors(applicant, exc)
        return None, 400, None
    except NotAllowed as exc:
        applicant.add_error(None, exc.message)
        return None, 403, None
    except DomainError as exc:
        applicant.add_error("start", exc.message)
        return None, 409 if isinstance(exc, Conflict) else 400, None


def _put_errors(form: ApplicantForm, exc: BookingInputError) -> None:
    for field, message in exc.errors.items():
        form.add_error(field if field in form.fields else None, message)


def _booking_or_404(reference: str, token: str) -> Booking:
    booking = selectors.booking_by_secret(reference, token)
    if booking is None:
        raise Http404(_("No booking matches this link."))
    return booking


def qr_svg(text: str) -> SafeString:
    """The check-in QR code as inline SVG (no image request, works offline)."""
    svg = segno.make_qr(text, error="m").svg_inline(scale=6, border=2, omitsize=True)
    return mark_safe(svg)  # noqa: S308 - segno's own SVG of a reference we made


@require_GET
def manage(request: HttpRequest, reference: str, token: str) -> HttpResponse:
    booking = _booking_or_404(reference, token)
    changeable = selectors.booking_changeable(booking)
    choice = SlotChoiceForm(
        {"service": booking.service_id, **request.GET.dict()} if "date" in request.GET else None,
        services=Service.objects.filter(pk=booking.service_id),
        days=_day_choices(booking.office, booking.service_id),
        initial={"service": booking.service_id},
    )
    slots = None
    if changeable and choice.is_bound and choice.is_valid():
        slots = _slot_rows(booking.office, booking.service, choice.cleaned_data["date"])
    context = {
        "booking": booking,
        "new": "new" in request.GET,
        "changeable": changeable,
        "qr": qr_svg(booking.reference),
        "manage_url": request.build_absolute_uri(request.path),
        "manage_token": token,
        "local_start": timezone.localtime(booking.starts_at, selectors.OFFICE_TZ),
        "policy": selectors.policy(),
        "choice": choice,
        "slots": slots,
    }
    return render(request, "appointments/manage.html", context)


@require_POST
def cancel(request: HttpRequest, reference: str, token: str) -> HttpResponse:
    booking = _booking_or_404(reference, token)
    try:
        services.booking_cancel(booking=booking)
        messages.success(request, _("Your appointment is cancelled."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("booking-manage", reference, token)


@require_POST
def reschedule(request: HttpRequest, reference: str, token: str) -> HttpResponse:
    booking = _booking_or_404(reference, token)
    form = RescheduleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a time."))
    elif wait := retry_after("booking-address", client_address(request)) or retry_after(
        "booking-applicant", booking.id_number, booking.phone
    ):
        messages.error(request, _("Too many booking attempts. Please wait %(s)d seconds.") % {"s": wait})
    else:
        try:
            services.booking_reschedule(booking=booking, start=form.cleaned_data["start"])
            messages.success(request, _("Your appointment is moved."))
        except DomainError as exc:
            messages.error(request, exc.message)
    return redirect("booking-manage", reference, token)


@require_GET
def ics(request: HttpRequest, reference: str, token: str) -> HttpResponse:
    booking = _booking_or_404(reference, token)
    event = Event()
    event.add("uid", f"{booking.reference}@exit-entry-bureau")
    event.add("dtstamp", booking.changed_at)
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.slot.ends_at)
    event.add("summary", f"{booking.service.name} · {booking.office.name}")
    event.add("location", booking.office.address)
    event.add("description", _("Reference %(reference)s. Bring your ID card.") % {"reference": booking.reference})
    calendar = Calendar()
    calendar.add("prodid", "-//Exit-Entry Bureau//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add_component(event)
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{booking.reference}.ics"'
    return response
