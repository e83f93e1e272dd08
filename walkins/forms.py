"""Forms of the clerk's pages (check-in, triage, the counter workstation): input shape only;
the rules live in walkins.services and walkins.triage."""

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from bureau import selectors as core
from bureau.forms import IdNumberField
from bureau.identity import IdNumberError, normalize_id_number
from bureau.models import Service
from bureau.text import hidden_characters_problem
from walkins import triage

# The longest check-in code a scanner or a person sends: a reference is 10 characters, and
# the QR code holds the reference; anything much longer is not one.
CODE_MAX_LENGTH = 64
ROW_ID_MAX = 999_999_999  # fits any integer column


class CheckInForm(forms.Form):
    """A booking's reference, typed or sent by a handheld scanner (which types it and
    presses Enter) or by the camera scanner (static/js/counter.js)."""

    code = forms.CharField(
        label=_("Reference or QR code"),
        max_length=CODE_MAX_LENGTH,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "enterkeyhint": "go",
                "autofocus": "",
                "data-scan-target": "",
            }
        ),
    )

    def clean_code(self) -> str:
        value = "".join(self.cleaned_data["code"].split())  # scanners add a line end or a tab
        if problem := hidden_characters_problem(value, label=pgettext("check-in field", "The reference")):
            raise forms.ValidationError(problem, code="hidden_characters")
        if not value:
            raise forms.ValidationError(_("Scan the QR code or type the reference."), code="required")
        return value


class IdLookupForm(forms.Form):
    """An applicant with neither the QR code nor the reference: their bookings of the day by
    exact ID number. The number is never shown back (bureau.forms.IdNumberInput)."""

    id_number = IdNumberField(max_length=40)

    def clean_id_number(self) -> str:
        try:
            return normalize_id_number(self.cleaned_data["id_number"], today=core.office_today())
        except IdNumberError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc


class ChoiceRadios(forms.RadioSelect):
    """Radio buttons the templates lay out themselves (a fieldset of large targets)."""


class TriageForm(forms.Form):
    """The walk-in's service and queue, and, for the one service a self-service machine may
    do (walkins.triage.asks_situation), the applicant's permit, residency and endorsement."""

    service = forms.ModelChoiceField(
        label=_("Service"), queryset=Service.objects.none(), widget=ChoiceRadios, empty_label=None
    )
    permit = forms.ChoiceField(
        label=_("Hong Kong/Macao permit"), choices=triage.PERMITS, required=False, widget=ChoiceRadios
    )
    residency = forms.ChoiceField(
        label=_("Household registration"),
        choices=triage.RESIDENCIES,
        required=False,
        widget=ChoiceRadios,
        help_text=_("The ID number's first two digits: 33 is Zhejiang."),
    )
    endorsement = forms.ChoiceField(
        label=_("Endorsement wanted"), choices=triage.ENDORSEMENTS, required=False, widget=ChoiceRadios
    )
    # Set by "counter ticket anyway" (after a machine verdict) and by the late arrival's
    # walk-in button: a counter ticket without the machine questions.
    counter_anyway = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, services_: QuerySet[Service], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services_  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        service: Service | None = data.get("service")
        if service is None or data.get("counter_anyway"):
            return data
        if triage.asks_situation(service.document, service.business):
            for name in ("permit", "residency", "endorsement"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, _("Choose one: it decides whether the self-service machines can do it."))
        return data

    def situation(self) -> triage.Situation:
        data = self.cleaned_data
        service: Service = data["service"]
        if data.get("counter_anyway"):
            return triage.Situation(document=service.document, business=service.business)
        return triage.Situation(
            document=service.document,
            business=service.business,
            permit=data.get("permit") or "",
            residency=data.get("residency") or "",
            endorsement=data.get("endorsement") or "",
        )


class CounterAction(forms.Form):
    """One press on the workstation: the action, the counter it was pressed at (a page left
    open on another counter acts nowhere else), and what the action needs."""

    ACTIONS = (
        "open",
        "close",
        "call_next",
        "recall",
        "complete",
        "no_show",
        "park",
        "transfer",
        "resume",
    )

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    counter = forms.IntegerField(min_value=1, max_value=ROW_ID_MAX)
    service = forms.IntegerField(label=_("Transfer to"), min_value=1, max_value=ROW_ID_MAX, required=False)  # transfer
    ticket = forms.IntegerField(min_value=1, max_value=ROW_ID_MAX, required=False)  # resume

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "transfer" and not data.get("service") and "service" not in self.errors:
            self.add_error("service", _("Choose the service to send the ticket to."))
        if data.get("action") == "resume" and not data.get("ticket") and "ticket" not in self.errors:
            self.add_error("ticket", _("Choose the parked ticket to resume."))
        return data
