"""Booking page forms: input shape only; rules live in services."""

import re
from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from bureau.forms import DateTimeInRangeField, IdNumberField
from bureau.identity import IdNumberError, normalize_id_number, normalize_mobile
from bureau.models import Service
from bureau.selectors import office_today

# Letters and digits, as the confirmation SMS writes a reference.
BOOKING_REFERENCE = re.compile(r"[A-Z0-9]{6,16}")


class SlotChoiceForm(forms.Form):
    """Which service and day to show slots for (GET)."""

    service = forms.ModelChoiceField(
        label=_("Service"),
        queryset=Service.objects.none(),
        empty_label=_("Choose…"),
        error_messages={"invalid_choice": _("Choose one of the services offered here.")},
    )
    date = forms.TypedChoiceField(
        label=_("Day"),
        coerce=date.fromisoformat,
        choices=[],
        error_messages={"invalid_choice": _("Choose one of the days offered.")},
    )

    def __init__(
        self, *args: Any, services: object, days: list[tuple[str, str]], weekday_only: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services  # type: ignore[attr-defined]
        self.fields["date"].choices = [("", _("Choose…")), *days]  # type: ignore[attr-defined]
        if weekday_only:
            self.fields["date"].help_text = _(
                "Weekend days are not offered for this service: on weekends only ordinary passports, "
                "Hong Kong/Macao endorsements and Taiwan permits are served."
            )

    def quiet_unchosen(self) -> None:
        """Drop the errors of fields not chosen yet: the picker asks for slots as soon as the
        service is chosen, before the person has had a chance to choose the day."""
        for name in list(self.errors):
            if name in self.fields and not self.data.get(name):
                del self.errors[name]


class ApplicantForm(forms.Form):
    start = DateTimeInRangeField(
        label=pgettext_lazy("appointment", "Time"), error_messages={"required": _("Choose a time.")}
    )
    name = forms.CharField(
        label=_("Name (as on your ID card)"), max_length=60, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    id_number = IdNumberField()
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )


class RescheduleForm(forms.Form):
    start = DateTimeInRangeField(label=_("New time"), error_messages={"required": _("Choose a time.")})
    # The day whose slots were shown; when sent, the time must be on it.
    date = forms.DateField(required=False)


class LostLinkForm(forms.Form):
    """Ask for a booking's manage link again. Only the shape of each field is checked here;
    whether they match a booking is never told."""

    reference = forms.CharField(
        label=pgettext_lazy("lost link form", "Booking reference"),
        max_length=32,
        help_text=_("In your confirmation SMS, for example K7M2Q9RX3D."),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
    )
    id_number = IdNumberField()
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        help_text=_("The number you booked with: the link is sent only there."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )

    def clean_reference(self) -> str:
        value = "".join(self.cleaned_data["reference"].split()).upper()
        if not BOOKING_REFERENCE.fullmatch(value):
            raise forms.ValidationError(
                _("A booking reference has only letters and digits, as in your confirmation SMS."), code="format"
            )
        return value

    def clean_id_number(self) -> str:
        try:
            return normalize_id_number(self.cleaned_data["id_number"], today=office_today())
        except IdNumberError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc

    def clean_phone(self) -> str:
        mobile = normalize_mobile(self.cleaned_data["phone"])
        if mobile is None:
            raise forms.ValidationError(
                _("Enter an 11-digit mainland mobile number, for example 13812345678."), code="format"
            )
        return mobile
