"""The student session booking page: the general booking page's picker showing student
places, on the days a student session covers, for a student and, with them, a parent (places
for both or for neither)."""

from datetime import date, datetime
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods

from appointments import selectors as booking_selectors
from appointments import services as bookings
from appointments.models import Booking, Channel
from appointments.views import add_applicant_errors, office_services, slot_picker
from bureau import selectors as core
from bureau.access import with_retry_after
from bureau.forms import DateTimeInRangeField, IdNumberField
from bureau.models import Office, Service
from bureau.ratelimit import client_address, retry_after
from bureau.services import Conflict, DomainError, NotAllowed
from priority import selectors, services

PEOPLE = ("name", "id_number", "phone")
# The service names the parent's fields `people.1.<field>`; the form, `parent_<field>`.
PARENT_PREFIX = "people.1."


class StudentForm(forms.Form):
    """Input shape only: student_booking_create checks every field and names each one at
    fault, so only the time is required here."""

    start = DateTimeInRangeField(
        label=pgettext_lazy("appointment", "Time"), error_messages={"required": gettext_lazy("Choose a time.")}
    )
    name = forms.CharField(label=gettext_lazy("Student's name (as on the ID card)"), max_length=60, required=False)
    id_number = IdNumberField(label=gettext_lazy("Student's ID number"), required=False)
    phone = forms.CharField(
        label=gettext_lazy("Student's mobile number"),
        max_length=20,
        required=False,
        help_text=gettext_lazy("The confirmation and the link to the booking are sent here."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    school = forms.CharField(label=pgettext_lazy("student booking", "School"), max_length=100, required=False)
    proof = forms.CharField(
        label=gettext_lazy("Admission notice or student card number"),
        max_length=40,
        required=False,
        help_text=gettext_lazy("Bring the admission notice or the student card: it is checked at the counter."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    with_parent = forms.BooleanField(label=gettext_lazy("A parent books with me"), required=False)
    parent_name = forms.CharField(
        label=gettext_lazy("Parent's name (as on the ID card)"), max_length=60, required=False
    )
    parent_id_number = IdNumberField(label=gettext_lazy("Parent's ID number"), required=False)
    parent_phone = forms.CharField(
        label=gettext_lazy("Parent's mobile number"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )

    STUDENT_FIELDS = ("name", "id_number", "phone", "school", "proof")
    PARENT_FIELDS = ("parent_name", "parent_id_number", "parent_phone")

    def person(self, prefix: str = "") -> dict[str, str]:
        return {key: str(self.cleaned_data.get(f"{prefix}{key}") or "") for key in PEOPLE}

    def parent(self) -> dict[str, str] | None:
        return self.person("parent_") if self.cleaned_data.get("with_parent") else None

    def put_errors(self, errors: dict[str, str]) -> None:
        for key, message in errors.items():
            field = f"parent_{key.removeprefix(PARENT_PREFIX)}" if key.startswith(PARENT_PREFIX) else key
            self.add_error(field if field in self.fields else None, message)

    def student_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.STUDENT_FIELDS]

    def parent_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.PARENT_FIELDS]


def _day_choices_limited(data: QueryDict | None, days: set[date]) -> tuple[QueryDict | None, str]:
    """The picker's input without a day that no student session covers, and why it was
    dropped."""
    if data is None:
        return None, ""
    wanted = data.get("date") or ""
    try:
        day = date.fromisoformat(wanted) if len(wanted) == 10 and wanted.isascii() else None
    except ValueError:
        day = None
    if day is None or day in days:
        return data, ""
    data = data.copy()
    data["date"] = ""
    return data, _("%(day)s is not a day of a student session here. Please choose another day.") % {
        "day": date_format(day, "DATE_FORMAT")
    }


def _not_on_day_shown(start: datetime, day: date | None) -> str | None:
    if day is None or timezone.localtime(start, booking_selectors.OFFICE_TZ).date() == day:
        return None
    return _("This time is not on the day shown (%(day)s). Please choose a time again.") % {
        "day": date_format(day, "DATE_FORMAT")
    }


@require_http_methods(["GET", "POST"])
def book_student(request: HttpRequest, code: str) -> HttpResponse:
    office = get_object_or_404(core.offices_with_sessions(), code=code)
    if office.mode != Office.Mode.DUAL_TRACK:
        return render(request, "appointments/walk_in_office.html", {"office": office})
    first, last = booking_selectors.bookable_range()
    days = selectors.student_days(office, first, last)
    if not days:
        return render(request, "priority/student_none.html", {"office": office})
    posted = request.method == "POST"
    data, dropped = _day_choices_limited(request.POST if posted else request.GET, days)
    picker = slot_picker(office, office_services(office), data, submitted=posted, channel=Channel.STUDENT)
    offered = {day.isoformat() for day in days}
    field: Any = picker.form.fields["date"]
    field.choices = [(value, label) for value, label in field.choices if not value or value in offered]
    if dropped and posted:
        picker.form.errors["date"] = picker.form.error_class([dropped])
    elif dropped:
        picker.notice = dropped
    student = StudentForm(request.POST if posted else None)
    status, wait = 200, None
    if posted and not all([picker.form.is_valid(), student.is_valid()]):
        for prefix in ("", "parent_") if student.cleaned_data.get("with_parent") else ("",):
            add_applicant_errors(student, prefix=prefix)
        status = 400
    elif posted:
        if mismatch := _not_on_day_shown(student.cleaned_data["start"], picker.day):
            student.add_error("start", mismatch)
            status = 400
        else:
            made, status, wait = _try_booking(request, office, picker.form.cleaned_data["service"], student)
            if made:
                token = booking_selectors.booking_token(made[0].reference)
                return redirect(f"{reverse('booking-manage', args=[made[0].reference, token])}?new=1")
    context = {
        "office": office,
        "applicant": student,
        "first_day": min(days),
        "last_day": max(days),
        **picker.context(),
    }
    return with_retry_after(render(request, "priority/book_student.html", context, status=status), wait)


def _try_booking(
    request: HttpRequest, office: Office, service: Service, form: StudentForm
) -> tuple[list[Booking] | None, int, int | None]:
    """The bookings (the student's first), or None with the HTTP status (and the seconds to
    wait, for a 429) and the errors put on the form. Limits as the general booking page's:
    every attempt per address, valid ones per ID number and mobile number of each person."""
    wait = retry_after("booking-address", client_address(request))
    people = [form.person(), *([parent] if (parent := form.parent()) else [])]
    for person in people if wait is None else []:
        try:
            valid = bookings.applicant_validated(**person)
        except bookings.BookingInputError:
            continue  # named by the service below, with everything else
        wait = wait or retry_after("booking-applicant", valid.id_number, valid.phone)
    if wait is not None:
        form.add_error(None, _("Too many booking attempts. Please wait %(s)d seconds.") % {"s": wait})
        return None, 429, wait
    try:
        made = services.student_booking_create(
            office=office,
            service=service,
            start=form.cleaned_data["start"],
            school=str(form.cleaned_data.get("school") or ""),
            proof=str(form.cleaned_data.get("proof") or ""),
            student=people[0],
            parent=form.parent(),
        )
    except NotAllowed as exc:
        form.add_error(None, exc.message)
        return None, 403, None
    except Conflict as exc:
        form.add_error("start", exc.message)
        return None, 409, None
    except DomainError as exc:
        form.put_errors(exc.errors or {"start": exc.message})
        return None, 400, None
    return made, 201, None
