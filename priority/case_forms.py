"""Forms of the emergency case pages and the clerk's priority desk: input shape only; who may
use a channel, what a case needs and every decision's rule live in priority.services."""

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from bureau.forms import DateInput, DateTimeInRangeField, IdNumberField, date_out_of_range
from bureau.models import Office, Service
from bureau.services import DomainError
from priority import grounds
from priority.models import Case

# What a file input offers to pick; the server decides by content (priority/uploads.py).
ACCEPTED_FILES = "application/pdf,image/jpeg,image/png"
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def put_errors(form: forms.Form, exc: DomainError) -> None:
    """A service's refusal on the form: each message on its field, or above the form."""
    errors = exc.errors or {exc.field or "": exc.message}
    for field, message in errors.items():
        form.add_error(field if field in form.fields else None, message)


def _evidence_field(item: grounds.Evidence) -> forms.FileField:
    # Empty, missing or not really a PDF/JPEG/PNG: the service names the field (uploads.py).
    return forms.FileField(
        label=str(item.name),
        required=False,
        allow_empty_file=True,
        widget=forms.FileInput(attrs={"accept": ACCEPTED_FILES}),
    )


class EvidenceForm(forms.Form):
    """One file input per document `items` lists (a ground's, or the enterprise window's)."""

    def __init__(self, *args: Any, items: Sequence[grounds.Evidence], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for item in items:
            self.fields[item.code] = _evidence_field(item)

    def file_fields(self) -> list[forms.BoundField]:
        return [field for field in self if isinstance(field.field, forms.FileField)]


class CaseForm(EvidenceForm):
    """An emergency case: the applicant's (or the clerk's at the counter, whose office is
    fixed: `offices` None), with a file input per document of the chosen ground."""

    office = forms.ModelChoiceField(
        label=_("Office"),
        queryset=Office.objects.none(),
        empty_label=_("Choose…"),
        help_text=_("Where you will apply and collect the document."),
        error_messages={"invalid_choice": _("Choose one of the offices.")},
    )
    ground = forms.ChoiceField(
        label=_("Ground"),
        choices=grounds.CHOICES,
        widget=forms.HiddenInput,
        error_messages={"required": _("Choose one of the grounds."), "invalid_choice": _("Choose one of the grounds.")},
    )
    trip_date = forms.DateField(label=_("Date of travel"), widget=DateInput)
    description = forms.CharField(
        label=_("What is urgent"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Who you are going to see or where, and why the date cannot wait (at most 1000 characters)."),
    )
    name = forms.CharField(
        label=_("Name (as on your ID card)"), max_length=60, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    id_number = IdNumberField()
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        help_text=_("The case's link and each decision are sent to this number by SMS."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )

    def __init__(
        self, *args: Any, offices: QuerySet[Office] | None, ground: grounds.Ground | None, **kwargs: Any
    ) -> None:
        super().__init__(*args, items=ground.evidence if ground else (), **kwargs)
        if offices is None:
            del self.fields["office"]
        else:
            self.fields["office"].queryset = offices  # type: ignore[attr-defined]

    def detail_fields(self) -> list[forms.BoundField]:
        return [field for field in self if not field.is_hidden and not isinstance(field.field, forms.FileField)]

    def clean_trip_date(self) -> date:
        value: date = self.cleaned_data["trip_date"]
        if problem := date_out_of_range(value):
            raise forms.ValidationError(problem, code="out_of_range")
        return value

    def clean_description(self) -> str:
        # A line break typed in the box is a space: the text goes into one-line SMS and lists.
        return LINE_BREAK.sub(" ", self.cleaned_data["description"]).strip()


class ServiceChoiceForm(forms.Form):
    """A service some counter of the office serves (walkins.selectors.services_served)."""

    service = forms.ModelChoiceField(
        label=_("Service"),
        queryset=Service.objects.none(),
        empty_label=_("Choose…"),
        error_messages={"invalid_choice": _("Choose one of the services offered here.")},
    )

    def __init__(self, *args: Any, services_: QuerySet[Service], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services_  # type: ignore[attr-defined]


class GreenTicketForm(ServiceChoiceForm):
    """The green channel: the ID number gives the age (read, never kept)."""

    id_number = IdNumberField(help_text=_("The age is read from the ID number; the number is not kept."))


class StudentTicketForm(ServiceChoiceForm):
    """A student on a day of a student session, once the clerk saw the proof."""

    school = forms.CharField(label=_("School"), max_length=100)
    proof = forms.CharField(label=_("Admission notice or student card number"), max_length=40)


class Confirmed(forms.Form):
    """An irreversible step, taken only from its confirmation page (`confirmed`)."""

    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


DECISIONS = [
    ("approve", pgettext_lazy("case decision", "Approve")),
    ("reject", pgettext_lazy("case decision", "Reject")),
    ("more", pgettext_lazy("case decision", "Ask for more documents")),
]


class DecisionForm(Confirmed):
    """A decision on a case, against the status the page showed (`current`)."""

    decision = forms.ChoiceField(
        label=pgettext_lazy("case decision", "Decision"),
        choices=DECISIONS,
        error_messages={"invalid_choice": _("Choose approve, reject or ask for more documents.")},
    )
    reason = forms.CharField(
        label=pgettext_lazy("case decision", "Reason"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed to reject or to ask for more: the applicant reads it in the SMS and on the case's page."),
    )
    expedited = forms.BooleanField(label=_("Expedited issuance (conditions met)"), required=False)
    current = forms.ChoiceField(choices=Case.Status.choices, widget=forms.HiddenInput)

    def clean_reason(self) -> str:
        return LINE_BREAK.sub(" ", self.cleaned_data["reason"]).strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") in ("reject", "more") and not data.get("reason") and "reason" not in self.errors:
            self.add_error("reason", _("Say why: the applicant is told."))
        return data


class CaseTicketForm(Confirmed, ServiceChoiceForm):
    """The approved case's E (or Q) ticket, for a service."""


class PlaceForm(Confirmed, ServiceChoiceForm):
    """A place in a slot's reserved quota for the approved case."""

    start = DateTimeInRangeField(label=pgettext_lazy("appointment", "Time"))


class PlaceSearchForm(ServiceChoiceForm):
    """Which service and day to show the reserved places of (GET)."""

    day = forms.TypedChoiceField(
        label=_("Day"),
        coerce=date.fromisoformat,
        choices=[],
        error_messages={"invalid_choice": _("Choose one of the days offered.")},
    )

    def __init__(self, *args: Any, days: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["day"].choices = days  # type: ignore[attr-defined]


class EnterpriseDecisionForm(Confirmed):
    decision = forms.ChoiceField(choices=DECISIONS[:2])
    reason = forms.CharField(
        label=pgettext_lazy("case decision", "Reason"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed to reject: the contacts read it in the SMS."),
    )

    def clean_reason(self) -> str:
        return LINE_BREAK.sub(" ", self.cleaned_data["reason"]).strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "reject" and not data.get("reason") and "reason" not in self.errors:
            self.add_error("reason", _("Say why: the contacts are told."))
        return data
