"""Booking page forms: input shape only; rules live in services."""

from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _

from appointments.models import Channel
from bureau.models import Service


class SlotChoiceForm(forms.Form):
    """Which service and day to show slots for (GET)."""

    service = forms.ModelChoiceField(label=_("Service"), queryset=Service.objects.none(), empty_label=_("Choose…"))
    date = forms.TypedChoiceField(label=_("Day"), coerce=date.fromisoformat, choices=[])

    def __init__(self, *args: object, services: object, days: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["service"].queryset = services  # type: ignore[attr-defined]
        self.fields["date"].choices = [("", _("Choose…")), *days]  # type: ignore[attr-defined]


class ApplicantForm(forms.Form):
    start = forms.DateTimeField(label=_("Time"), error_messages={"required": _("Choose a time.")})
    name = forms.CharField(label=_("Name (as on your ID card)"), max_length=60)
    id_number = forms.CharField(
        label=_("ID number"), max_length=40, widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"})
    )
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    channel = forms.ChoiceField(
        label=_("Session"),
        choices=[(Channel.GENERAL.value, _("General")), (Channel.STUDENT.value, _("Student session"))],
        initial=Channel.GENERAL,
        widget=forms.RadioSelect,
    )
    school = forms.CharField(label=_("School (student session)"), max_length=100, required=False)
    student_proof = forms.CharField(
        label=_("Admission notice or student card number (student session)"), max_length=40, required=False
    )


class RescheduleForm(forms.Form):
    start = forms.DateTimeField(label=_("New time"), error_messages={"required": _("Choose a time.")})
