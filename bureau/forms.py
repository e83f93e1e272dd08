"""Page forms: input shape only; rules live in services."""

import re
from datetime import date, datetime
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.forms.renderers import BaseRenderer
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from bureau.identity import compact_id_number, mask_id_number
from bureau.models import Application, Office, Residency, Service
from bureau.text import has_hidden_characters, hidden_characters_problem

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

    # The ticket the counter workstation is serving (/applications/new/?ticket=<id>), carried
    # to the acceptance followers (bureau.services) so that walkins links it; not shown.
    ticket = forms.IntegerField(
        label=pgettext_lazy("application arrival", "Ticket"),
        required=False,
        min_value=1,
        max_value=999_999_999,
        widget=forms.HiddenInput,
    )

    def __init__(self, *args: object, offices: QuerySet[Office], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["office"]
        field.queryset = offices  # type: ignore[attr-defined]
        if len(offices) == 1:
            field.initial = offices[0]

    def acceptance(self) -> dict[str, Any]:
        """The cleaned data as bureau.services.application_accept takes it."""
        data = dict(self.cleaned_data)
        ticket = data.pop("ticket", None)
        data["arrival"] = {"ticket": str(ticket)} if ticket else {}
        return data


def ticket_from_query(value: str | None) -> int | None:
    """The ticket id the counter workstation put in the accept page's address, if it is one."""
    if value and value.isascii() and value.isdigit() and len(value) <= 9 and int(value) > 0:
        return int(value)
    return None


class ApplicationStatusForm(forms.Form):
    status = forms.ChoiceField(choices=Application.Status.choices)
    note = forms.CharField(max_length=200, required=False)
    # The status the page was showing: a form from before someone else's change (or a
    # replayed one) changes nothing. Left out (the API's way, older pages), it is not checked.
    current = forms.ChoiceField(choices=Application.Status.choices, required=False)
    # Sent by the confirmation step's button: a step that cannot be undone is taken only then.
    confirmed = forms.BooleanField(required=False)


# Whole resident ID numbers (GB 11643), as compact_id_number leaves them.
ID_NUMBER_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
# Six digits in a row: part of an ID or phone number, as likely as not (a reference has at
# most a few digits together). Search text holding them stays out of addresses and pages.
DIGIT_RUN = re.compile(r"[0-9]{6,}")
SEARCH_MAX_LENGTH = 100


class ApplicationSearchForm(forms.Form):
    """The clerk's search over their offices' applications. One box takes a reference, a name
    or a whole ID number; the page sends it by POST, and only a search with no number in it
    is then moved into the address (?q=...) for paging and bookmarks: an ID number is never
    in an address, a log or the page (see views.application_list)."""

    q = forms.CharField(
        label=_("Reference, name or ID number"),
        max_length=SEARCH_MAX_LENGTH,
        required=False,
        widget=forms.TextInput(
            attrs={"type": "search", "autocomplete": "off", "spellcheck": "false", "data-no-keep": ""}
        ),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", pgettext_lazy("application filter", "Any status")), *Application.Status.choices],
        required=False,
    )
    due = forms.ChoiceField(
        label=pgettext_lazy("application filter", "Due date"),
        choices=[
            ("", pgettext_lazy("application filter", "Any")),
            ("overdue", _("Overdue")),
            ("soon", pgettext_lazy("application filter", "Due soon")),
        ],
        required=False,
    )
    office = forms.ModelChoiceField(
        label=_("Office"),
        queryset=Office.objects.none(),
        required=False,
        empty_label=pgettext_lazy("application filter", "All my offices"),
    )
    accepted_from = forms.DateField(
        label=pgettext_lazy("application filter", "Accepted from"), required=False, widget=DateInput
    )
    accepted_to = forms.DateField(
        label=pgettext_lazy("application filter", "Accepted until"), required=False, widget=DateInput
    )

    # What goes into the address after a POST; q only when it holds no number.
    QUERY_FIELDS = ("q", "status", "due", "office", "accepted_from", "accepted_to")

    def __init__(self, *args: Any, offices: QuerySet[Office], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offices = offices.order_by("position", "code")
        field = self.fields["office"]
        field.queryset = offices  # type: ignore[attr-defined]
        if len(offices) < 2:  # a clerk of one office has nothing to choose
            del self.fields["office"]

    def clean_q(self) -> str:
        value: str = self.cleaned_data["q"].strip()
        if problem := hidden_characters_problem(value, label=pgettext("search field", "The search")):
            raise forms.ValidationError(problem, code="hidden_characters")
        return value

    def _check_date(self, name: str) -> date | None:
        value: date | None = self.cleaned_data.get(name)
        if value is not None and (problem := date_out_of_range(value)):
            self.add_error(name, problem)
            return None
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = self._check_date("accepted_from"), self._check_date("accepted_to")
        if first and last and first > last:
            self.add_error("accepted_to", gettext("The end of the range is before its start."))
        return data

    @property
    def holds_number(self) -> bool:
        """The search box holds a run of digits (spaces and full-width digits as typed on
        Chinese keyboards count): it is never put in an address or shown again."""
        return bool(DIGIT_RUN.search(compact_id_number(str(self.data.get("q", "")))))

    @property
    def searched_id_number(self) -> str:
        """The search text as a whole ID number, normalised ('' if it is not one)."""
        number = compact_id_number(self.cleaned_data.get("q", "")) if self.is_valid() else ""
        return number if ID_NUMBER_SHAPE.fullmatch(number) else ""

    def forget_number(self) -> None:
        """Leave the search box empty when the page is shown again."""
        self.data = {**dict(self.data.items()), "q": ""}

    def criteria(self, *, by_id_number: bool) -> dict[str, Any]:
        """Keyword arguments for selectors.applications_search. With `by_id_number` (a POST),
        a whole ID number is searched as one; otherwise text is a reference or a name."""
        data = self.cleaned_data
        text, id_number = data.get("q", ""), ""
        if by_id_number and self.searched_id_number:
            text, id_number = "", self.searched_id_number
        return {
            "text": text,
            "id_number": id_number,
            "status": data.get("status", ""),
            "due": data.get("due", ""),
            "office": data.get("office"),
            "accepted_from": data.get("accepted_from"),
            "accepted_to": data.get("accepted_to"),
        }

    def query(self) -> dict[str, str]:
        """The address form of a valid search, without any number typed in the box."""
        query = {name: str(self.data.get(name, "")).strip() for name in self.QUERY_FIELDS if name in self.fields}
        if self.holds_number:
            query["q"] = ""
        return {name: value for name, value in query.items() if value}
