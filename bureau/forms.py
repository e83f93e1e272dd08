"""Page forms: input shape only; rules live in services."""

from datetime import date

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from bureau.models import Application, Office, Residency, Service

# Dates the calendar arithmetic will take: far outside this is a typo, not a case.
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2099, 12, 31)


def date_out_of_range(value: date) -> str | None:
    if EARLIEST_DATE <= value <= LATEST_DATE:
        return None
    return str(_("Give a date between %(first)s and %(last)s.") % {"first": EARLIEST_DATE, "last": LATEST_DATE})


class DateInput(forms.DateInput):
    input_type = "date"


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
    id_number = forms.CharField(
        label=_("ID number"), max_length=32, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )


class ApplicationAcceptForm(forms.Form):
    office = forms.ModelChoiceField(label=_("Office"), queryset=Office.objects.none())
    service = forms.ModelChoiceField(label=_("Service"), queryset=Service.objects.all())
    applicant_name = forms.CharField(label=_("Applicant name"), max_length=60)
    id_number = forms.CharField(
        label=_("ID number"), max_length=32, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
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
