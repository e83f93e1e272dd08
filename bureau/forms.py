"""Page forms: input shape only; rules live in services."""

from datetime import date, datetime
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.forms.renderers import BaseRenderer
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bureau.identity import compact_id_number, mask_id_number
from bureau.models import Application, Office, Residency, Service
from bureau.text import has_hidden_characters

# Dates the calendar arithmetic will take: far outside this is a typo, not a case.
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2099, 12, 31)


def out_of_range_message() -> str:
    first, last = date_format(EARLIEST_DATE, "DATE_FORMAT"), date_format(LATEST_DATE, "DATE_FORMAT")
    return str(_("Give a date between %(first)s and %(last)s.") % {"first": first, "last": last})


def date_out_of_range(value: date) -> str | None:
    return None if EARLIEST_DATE <= value <= LATEST_DATE else out_of_range_message()


class DateInput(forms.DateInput):
    """A browser date picker. Its value must be ISO 8601 whatever the language: the
    localised format (2026/11/29 in Chinese) is one the browser refuses, leaving it empty."""

    input_type = "date"

    def __init__(self, attrs: dict[str, str] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class IdNumberInput(forms.TextInput):
    """An ID-number box that never echoes the number: a page shown again after an error has
    it empty, with a note of the masked number entered (first 3 and last 4 characters), so a
    full number is never in a page, a screenshot or the browser's cache. Nor is it kept in
    the browser's storage across a language switch (data-no-keep, static/js/forms.js)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        defaults = {"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false", "data-no-keep": ""}
        super().__init__({**defaults, **(attrs or {})})

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: BaseRenderer | None = None
    ) -> SafeString:
        attrs = dict(attrs or {})
        note = entered_id_number_note(value)
        note_id = f"{attrs.get('id') or name}_entered"
        if note:
            attrs["aria-describedby"] = " ".join(filter(None, [attrs.get("aria-describedby"), note_id]))
        box = super().render(name, None, attrs, renderer)
        if not note:
            return box
        return mark_safe(box + format_html('<small class="help entered" id="{}">{}</small>', note_id, note))  # noqa: S308


def entered_id_number_note(value: object) -> str | None:
    """'You entered 330***********123X; please enter it again.', or None when nothing (or
    nothing that can be shown) was entered."""
    number = compact_id_number(str(value or ""))
    if not number or len(number) > 40 or has_hidden_characters(number):
        return None
    return gettext("You entered %(masked)s; please enter it again.") % {"masked": mask_id_number(number)}


class IdNumberField(forms.CharField):
    """A resident ID number typed into a page form; see IdNumberInput."""

    widget = IdNumberInput

    def __init__(self, *, max_length: int = 40, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("ID number"))
        super().__init__(max_length=max_length, **kwargs)


class DateTimeInRangeField(forms.DateTimeField):
    """A moment inside the years the calendar arithmetic takes; year 1 or 9999 would
    overflow on the way to UTC or to the next day."""

    def to_python(self, value: str | datetime | date | None) -> datetime | None:
        try:
            moment = super().to_python(value)
        except OverflowError as exc:
            raise forms.ValidationError(out_of_range_message(), code="out_of_range") from exc
        if moment is not None and (problem := date_out_of_range(moment.date())):
            raise forms.ValidationError(problem, code="out_of_range")
        return moment


class DeadlinePreviewForm(forms.Form):
    accepted_on = forms.DateField(label=_("Date of acceptance"), widget=DateInput)
    residency = forms.ChoiceField(label=_("Household registration"), choices=Residency.choices)
    expedited = forms.BooleanField(label=_("Expedited (conditions met)"), required=False)

    def clean_accepted_on(self) -> date:
        value: date = self.cleaned_data["accepted_on"]
        if problem := date_out_of_range(value):
            raise forms.ValidationError(problem)
        return value


class ApplicantStatusForm(forms.Form):
    reference = forms.CharField(label=_("Reference"), max_length=32)
    id_number = IdNumberField(max_length=32)


class ApplicationAcceptForm(forms.Form):
    office = forms.ModelChoiceField(label=_("Office"), queryset=Office.objects.none())
    service = forms.ModelChoiceField(label=_("Service"), queryset=Service.objects.all())
    applicant_name = forms.CharField(label=_("Applicant name"), max_length=60)
    id_number = IdNumberField(max_length=32)
    expedited = forms.BooleanField(label=_("Expedited (conditions met)"), required=False)
    residency_override = forms.ChoiceField(
        label=_("Residency"),
        choices=[("", _("From the ID number")), *Residency.choices],
        required=False,
    )
    override_reason = forms.CharField(
        label=_("Reason for a different residency"),
        max_length=200,
        required=False,
        help_text=_("For example: household registration moved into the province."),
    )

    def __init__(self, *args: object, offices: QuerySet[Office], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["office"]
        field.queryset = offices  # type: ignore[attr-defined]
        if len(offices) == 1:
            field.initial = offices[0]


class ApplicationStatusForm(forms.Form):
    status = forms.ChoiceField(choices=Application.Status.choices)
    note = forms.CharField(max_length=200, required=False)
