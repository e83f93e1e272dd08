"""Booking pages: choose an office, a service, a day and a slot; book; see, cancel or move
the booking through its secret manage link."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import wraps
from typing import Any

import segno
from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from icalendar import Calendar, Event

from appointments import selectors, services
from appointments.forms import ApplicantForm, LostLinkForm, RescheduleForm, SlotChoiceForm
from appointments.models import Booking, Channel
from appointments.services import BookingInputError
from bureau import selectors as core
from bureau.access import with_retry_after
from bureau.identity import mask_id_number, mask_phone
from bureau.models import Office, OpeningSession, Service
from bureau.ratelimit import client_address, retry_after
from bureau.services import Conflict, DomainError, NotAllowed
from bureau.workdays import WorkCalendar

# The official calendar, for marks on the page only (days in a year it does not know, why a
# day is not offered): each process keeps it as long as the rest of the configuration.
CALENDAR_KEY = "booking-page-calendar"


def _calendar() -> WorkCalendar:
    return core.config_cached(CALENDAR_KEY, core.work_calendar)


def _day_label(day: date, calendar: WorkCalendar) -> str:
    label = f"{date_format(day, 'MONTH_DAY_FORMAT')} {date_format(day, 'l')}"
    if calendar.knows(day):
        return label
    return _("%(day)s (subject to the official holiday calendar)") % {"day": label}


def _bookable_days(office: Office, service: Service | None) -> list[date]:
    """The bookable days; once a service is chosen, only the days that have slots for it."""
    first, last = selectors.bookable_range()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    if service is None:
        return days
    open_days = selectors.days_with_slots(office=office, service=service, first=first, last=last)
    return [d for d in days if d in open_days]


def _chosen_service(services_: QuerySet[Service], value: str | None) -> Service | None:
    chosen = str(value or "")
    if not (chosen.isdecimal() and chosen.isascii() and len(chosen) < 10):
        return None
    return services_.filter(pk=int(chosen)).first()


def _chosen_day(value: str | None) -> date | None:
    text = str(value or "")
    if len(text) != 10 or not text.isascii():
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _not_offered(day: date, service: Service | None, calendar: WorkCalendar) -> str:
    """Why a day the person chose is not in the list (any more), in plain words."""
    first, last = selectors.bookable_range()
    if service is None or not first <= day <= last:
        return _("Only days from %(first)s to %(last)s can be booked now.") % {
            "first": date_format(first, "DATE_FORMAT"),
            "last": date_format(last, "DATE_FORMAT"),
        }
    values = {"day": _day_label(day, calendar), "service": service.name}
    if not service.weekend_service and services.day_kind_of(calendar, day) == OpeningSession.DayKind.WEEKEND:
        return (
            _(
                "%(day)s is not offered for %(service)s: on weekends only ordinary passports, "
                "Hong Kong/Macao endorsements and Taiwan permits are served. Please choose another day."
            )
            % values
        )
    return _("%(day)s is not offered for %(service)s. Please choose another day.") % values


@dataclass
class Picker:
    """The service and day picker with what it shows: the slots of the chosen day (None
    before one is chosen), and why a day chosen before was dropped."""

    form: SlotChoiceForm
    service: Service | None = None
    day: date | None = None
    day_known: bool = True
    slots: list[dict[str, Any]] | None = None
    notice: str = ""

    @property
    def open_count(self) -> int:
        return sum(1 for row in self.slots or [] if row["remaining"])

    def context(self) -> dict[str, Any]:
        return {
            "choice": self.form,
            "slots": self.slots,
            "day": self.day,
            "day_known": self.day_known,
            "day_notice": self.notice,
            "open_count": self.open_count,
        }


def slot_picker(
    office: Office,
    services_: QuerySet[Service],
    data: QueryDict | None,
    *,
    submitted: bool,
    channel: str = Channel.GENERAL,
    **kwargs: Any,
) -> Picker:
    """The picker bound to `data`, with the places left of `channel`. A day that is not
    offered for the chosen service is dropped with a notice when the person is still choosing
    (`submitted` False), and is the day's error on a submitted form. Errors of fields not
    chosen yet show only once submitted."""
    data = data.copy() if data else None
    service = _chosen_service(services_, data.get("service") if data else None)
    calendar = _calendar()
    days = _bookable_days(office, service)
    notice = ""
    wanted = _chosen_day(data.get("date")) if data else None
    if data is not None and wanted is not None:
        if wanted in days:
            data["date"] = wanted.isoformat()
        else:
            notice = _not_offered(wanted, service, calendar)
            if not submitted:
                data["date"] = ""
    choice = SlotChoiceForm(
        data,
        services=services_,
        days=[(d.isoformat(), _day_label(d, calendar)) for d in days],
        weekday_only=service is not None and not service.weekend_service,
        **kwargs,
    )
    picker = Picker(form=choice, service=service)
    if choice.is_bound and choice.is_valid():
        picker.service, picker.day = choice.cleaned_data["service"], choice.cleaned_data["date"]
        picker.day_known = calendar.knows(picker.day)
        picker.slots = _slot_rows(office, choice.cleaned_data["service"], choice.cleaned_data["date"], channel)
    if submitted and notice:
        choice.errors["date"] = choice.error_class([notice])
    elif choice.is_bound:
        picker.notice = notice
        if not submitted:
            choice.quiet_unchosen()
    return picker


def _slot_rows(office: Office, service: Service, day: date, channel: str) -> list[dict[str, Any]]:
    slots = selectors.availability(office_code=office.code, service_code=service.code, day=day, channel=channel)
    return [{"start": slot.starts_at, "remaining": slot.remaining} for slot in slots]


def office_services(office: Office) -> QuerySet[Service]:
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
    picker = slot_picker(office, office_services(office), request.POST if posted else request.GET, submitted=posted)
    applicant = ApplicantForm(request.POST if posted else None)
    status, wait = 200, None
    if posted and not all([picker.form.is_valid(), applicant.is_valid()]):  # both forms checked
        add_applicant_errors(applicant)
    if posted and picker.form.is_valid() and applicant.is_valid():
        if mismatch := _not_on_day_shown(applicant.cleaned_data["start"], picker.day):
            applicant.add_error("start", mismatch)
            status = 400
        else:
            booking, status, wait = _try_booking(request, office, picker.form.cleaned_data["service"], applicant)
            if booking is not None:
                token = selectors.booking_token(booking.reference)
                return redirect(f"{reverse('booking-manage', args=[booking.reference, token])}?new=1")
    context = {"office": office, "applicant": applicant, **picker.context()}
    return with_retry_after(render(request, "appointments/book.html", context, status=status), wait)


def _not_on_day_shown(start: datetime, day: date | None) -> str | None:
    """Why the chosen time cannot be booked if it is not on the day whose slots were shown: a
    slow answer for a day chosen before must not book that day."""
    if day is None or timezone.localtime(start, selectors.OFFICE_TZ).date() == day:
        return None
    return _("This time is not on the day shown (%(day)s). Please choose a time again.") % {
        "day": date_format(day, "DATE_FORMAT")
    }


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


def add_applicant_errors(form: forms.Form, *, prefix: str = "") -> None:
    """On a form that failed anyway, also the booking rules' verdict on the applicant's
    fields that passed (name, ID number and mobile number, named `<prefix><field>`), so every
    bad field is named at once rather than one round after another."""
    values = {field: str(form.cleaned_data.get(f"{prefix}{field}") or "") for field in ("name", "id_number", "phone")}
    try:
        services.applicant_validated(**values)
    except BookingInputError as exc:
        for field, message in exc.errors.items():
            name = f"{prefix}{field}"
            if name in form.fields and name in form.cleaned_data and name not in form.errors:
                form.add_error(name, message)


def _put_errors(form: ApplicantForm, exc: BookingInputError) -> None:
    for field, message in exc.errors.items():
        form.add_error(field if field in form.fields else None, message)


class LinkNotFound(Exception):
    """A manage link that matches no booking."""


def _booking_by_link(reference: str, token: str) -> Booking:
    booking = selectors.booking_by_secret(reference, token)
    if booking is None:
        raise LinkNotFound
    return booking


def _link_not_found(request: HttpRequest) -> HttpResponse:
    """A 404 that says what to do: the link may be cut short, or ask for it again."""
    return render(request, "appointments/link_not_found.html", status=404)


def by_link(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page of one booking, reached through its secret manage link."""

    @wraps(view)
    def wrapped(request: HttpRequest, reference: str, token: str) -> HttpResponse:
        try:
            return view(request, reference, token)
        except LinkNotFound:
            return _link_not_found(request)

    return wrapped


def qr_svg(text: str) -> SafeString:
    """The check-in QR code as inline SVG (no image request, works offline)."""
    svg = segno.make_qr(text, error="m").svg_inline(scale=6, border=2, omitsize=True)
    return mark_safe(svg)  # noqa: S308 - segno's own SVG of a reference we made


def _manage_page(request: HttpRequest, booking: Booking, token: str, *, status: int = 200) -> HttpResponse:
    changeable = selectors.booking_changeable(booking)
    data = QueryDict(mutable=True)
    if "date" in request.GET:
        data.update({"service": str(booking.service_id), "date": request.GET.get("date", "")})
    picker = slot_picker(
        booking.office,
        Service.objects.filter(pk=booking.service_id),
        data or None,
        submitted=False,
        initial={"service": booking.service_id},
    )
    context = {
        "booking": booking,
        "new": "new" in request.GET,
        "changeable": changeable,
        "qr": qr_svg(booking.reference),
        "manage_url": request.build_absolute_uri(request.path),
        "manage_token": token,
        "local_start": timezone.localtime(booking.starts_at, selectors.OFFICE_TZ),
        "masked_id": mask_id_number(booking.id_number),
        "masked_phone": mask_phone(booking.phone),
        "policy": selectors.policy(),
        **picker.context(),
    }
    if not changeable:
        context["slots"] = None
    return render(request, "appointments/manage.html", context, status=status)


@require_GET
@by_link
def manage(request: HttpRequest, reference: str, token: str) -> HttpResponse:
    return _manage_page(request, _booking_by_link(reference, token), token)


@require_POST
@by_link
def cancel(request: HttpRequest, reference: str, token: str) -> HttpResponse:
    booking = _booking_by_link(reference, token)
    try:
        services.booking_cancel(booking=booking)
        messages.success(request, _("Your appointment is cancelled."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("booking-manage", reference, token)


@require_POST
@by_link
def reschedule(request: HttpRequest, reference: str, token: str) -> HttpResponse:
    booking = _booking_by_link(reference, token)
    form = RescheduleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a time."))
    elif mismatch := _not_on_day_shown(form.cleaned_data["start"], form.cleaned_data["date"]):
        messages.error(request, mismatch)
    elif wait := retry_after("booking-address", client_address(request)) or retry_after(
        "booking-applicant", booking.id_number, booking.phone
    ):
        messages.error(request, _("Too many booking attempts. Please wait %(s)d seconds.") % {"s": wait})
        return with_retry_after(_manage_page(request, booking, token, status=429), wait)
    else:
        try:
            services.booking_reschedule(booking=booking, start=form.cleaned_data["start"])
            messages.success(request, _("Your appointment is moved."))
        except DomainError as exc:
            messages.error(request, exc.message)
    return redirect("booking-manage", reference, token)


@require_http_methods(["GET", "POST"])
def lost_link(request: HttpRequest) -> HttpResponse:
    """Ask for a booking's manage link again (SPEC 3). The answer is the same whether or not
    the details match a booking, so the page cannot be used to find one out; the link goes
    only to the booking's own mobile number. Every request counts against the address."""
    form = LostLinkForm(request.POST if request.method == "POST" else None)
    if form.is_bound:
        wait = retry_after("link-address", client_address(request))
        if wait is not None:
            form.add_error(None, _("Too many requests from this device. Please wait %(s)d seconds.") % {"s": wait})
            return with_retry_after(render(request, "appointments/lost_link.html", {"form": form}, status=429), wait)
        if form.is_valid():
            services.booking_resend_link(**form.cleaned_data)
            messages.success(request, _("If these match a booking, we have sent its link to that mobile number."))
            return redirect("booking-lost-link")
    return render(request, "appointments/lost_link.html", {"form": form})


@require_GET
@by_link
def ics(request: HttpRequest, reference: str, token: str) -> HttpResponse:
    booking = _booking_by_link(reference, token)
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
