"""The enterprise window's public pages: register an enterprise and its contacts (a supervisor
of its office approves it; each contact then gets the private link by SMS), and the private
page where a contact follows the registration and files urgent business requests."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from bureau import selectors as core
from bureau.access import with_retry_after
from bureau.forms import DateInput, IdNumberField
from bureau.identity import mask_name, mask_phone
from bureau.models import Office
from bureau.ratelimit import client_address, retry_after
from bureau.services import Conflict, DomainError, NotAllowed
from priority import grounds, selectors, services
from priority.models import Enterprise
from priority.uploads import FileTooLarge

# Contact rows on the registration page: the first ones always shown, the rest folded away
# (a <details>, so no script is needed to add one); empty rows are ignored.
CONTACT_ROWS = services.MAX_CONTACTS
CONTACT_ROWS_SHOWN = 2
ACCEPTED_FILES = "application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png"


class EnterpriseForm(forms.Form):
    """Input shape only: enterprise_register checks the name and the credit code."""

    name = forms.CharField(
        label=gettext_lazy("Enterprise name (as on the business licence)"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    credit_code = forms.CharField(
        label=gettext_lazy("Unified Social Credit Code"),
        max_length=30,
        required=False,
        help_text=gettext_lazy("18 characters, on the business licence, for example 91330106MA2XXXXXXX."),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false", "autocomplete": "off"}),
    )
    office = forms.ModelChoiceField(
        label=gettext_lazy("Office that will serve you"),
        queryset=Office.objects.none(),
        empty_label=gettext_lazy("Choose…"),
        error_messages={
            "required": gettext_lazy("Choose the office that will serve you."),
            "invalid_choice": gettext_lazy("Choose one of the offices listed."),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["office"].queryset = core.offices_with_sessions()  # type: ignore[attr-defined]


class ContactForm(forms.Form):
    name = forms.CharField(
        label=pgettext_lazy("enterprise contact", "Name (as on the ID card)"), max_length=60, required=False
    )
    id_number = IdNumberField(required=False)
    phone = forms.CharField(
        label=gettext_lazy("Mobile number"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )

    def is_blank(self) -> bool:
        return not any(str(self.cleaned_data.get(name) or "").strip() for name in self.fields)


ContactFormSet = forms.formset_factory(
    ContactForm, extra=CONTACT_ROWS, max_num=CONTACT_ROWS, absolute_max=CONTACT_ROWS, validate_max=True
)


def _private(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page reached through a secret link: never cached, and its address never leaves in a
    Referer. `strict-origin` rather than `no-referrer`: under `no-referrer` a browser sends
    `Origin: null` with the page's own form POST (Fetch, "append a request Origin header"),
    which Django's CSRF check refuses (403); `strict-origin` sends only the site's origin,
    never the path that holds the secret, to anyone."""

    @never_cache
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "strict-origin"
        return response

    return wrapped


# Registrations count per client address as the API's do; requests as emergency cases do
# (each letter is checked in a child process).
REGISTER_SCOPE, REQUEST_SCOPE = "enterprise-address", "case-address"


def _too_many(request: HttpRequest, scope: str) -> int | None:
    return retry_after(scope, client_address(request))


# --- registration ----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    posted = request.method == "POST"
    form = EnterpriseForm(request.POST if posted else None)
    contacts = ContactFormSet(request.POST if posted else None, prefix="contacts")
    status, wait = 200, None
    contact_errors: list[str] = []
    if posted:
        wait = _too_many(request, REGISTER_SCOPE)
        if wait is not None:
            form.add_error(None, _("Too many attempts from this device. Please wait %(s)d seconds.") % {"s": wait})
            status = 429
        elif not all([form.is_valid(), contacts.is_valid()]):
            status = 400
            contact_errors = _add_rule_errors(form, contacts)
        else:
            enterprise, status, contact_errors = _try_register(form, contacts)
            if enterprise is not None:
                return render(request, "priority/enterprise_registered.html", _registered(enterprise))
    rows = list(enumerate(contacts, start=1))
    context = {
        "form": form,
        "contacts": contacts,
        "rows_shown": rows[:CONTACT_ROWS_SHOWN],
        "rows_folded": rows[CONTACT_ROWS_SHOWN:],
        "folded_open": any(_row_filled(row) or row.errors for _number, row in rows[CONTACT_ROWS_SHOWN:]),
        "contact_errors": contact_errors + list(contacts.non_form_errors()),
        "max_contacts": CONTACT_ROWS,
    }
    return with_retry_after(render(request, "priority/enterprise_register.html", context, status=status), wait)


def _row_filled(row: ContactForm) -> bool:
    return row.is_bound and any(str(row.data.get(row.add_prefix(name), "")).strip() for name in row.fields)


def _register(form: EnterpriseForm, contacts: Any, *, office: Office | None) -> Enterprise:
    filled = [row for row in contacts if not row.is_blank()]
    return services.enterprise_register(
        office=office,
        name=str(form.cleaned_data.get("name") or ""),
        credit_code=str(form.cleaned_data.get("credit_code") or ""),
        contacts=[{key: str(row.cleaned_data.get(key) or "") for key in row.fields} for row in filled],
    )


def _put_errors(form: EnterpriseForm, contacts: Any, exc: DomainError, *, fresh_only: bool = False) -> list[str]:
    """The service's errors put on the fields they name (only on fields without one yet when
    `fresh_only`); the contacts' list errors returned."""
    filled = [row for row in contacts if not row.is_blank()]
    listed: list[str] = []
    for key, message in exc.errors.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "contacts" and parts[1].isdigit() and int(parts[1]) < len(filled):
            row, field = filled[int(parts[1])], parts[2] if parts[2] in ContactForm.base_fields else None
            if not (fresh_only and (field in row.errors or not hasattr(row, "cleaned_data"))):
                row.add_error(field, message)
        elif key == "contacts":
            listed.append(message)
        elif not (fresh_only and (key in form.errors or key not in form.cleaned_data)):
            form.add_error(key if key in form.fields else None, message)
    return listed


def _add_rule_errors(form: EnterpriseForm, contacts: Any) -> list[str]:
    """On forms that failed anyway, also the service's verdict on the fields that passed (a
    credit code whose check character is wrong, a contact's ID number), so that every bad
    field is named at once. The office is left out, so nothing can be written."""
    try:
        _register(form, contacts, office=None)
    except DomainError as exc:
        return _put_errors(form, contacts, exc, fresh_only=True)
    return []


def _try_register(form: EnterpriseForm, contacts: Any) -> tuple[Enterprise | None, int, list[str]]:
    """The enterprise registered, or None with the HTTP status and the errors put on the
    forms (the contacts' own list errors returned)."""
    try:
        enterprise = _register(form, contacts, office=form.cleaned_data["office"])
    except Conflict as exc:
        form.add_error("credit_code", exc.message)
        return None, 409, []
    except DomainError as exc:
        return None, 400, _put_errors(form, contacts, exc)
    return enterprise, 201, []


def _registered(enterprise: Enterprise) -> dict[str, Any]:
    return {
        "enterprise": enterprise,
        "phones": [mask_phone(phone) for phone in enterprise.contacts.values_list("phone", flat=True)],
    }


# --- the enterprise's private page -------------------------------------------------------------


class RequestForm(forms.Form):
    """An urgent business request: input shape only; enterprise_request_file checks the rest
    and names every field at fault, so nothing here is required."""

    contact = forms.TypedChoiceField(label=gettext_lazy("Who travels"), coerce=int, required=False, empty_value=None)
    destination = forms.CharField(
        label=gettext_lazy("Destination (country or region, city)"), max_length=100, required=False
    )
    trip_date = forms.DateField(label=gettext_lazy("Departure date"), required=False, widget=DateInput)
    return_date = forms.DateField(label=gettext_lazy("Return date"), required=False, widget=DateInput)
    purpose = forms.CharField(
        label=gettext_lazy("Business purpose"),
        max_length=1000,
        required=False,
        help_text=gettext_lazy("What the trip is for and why it is urgent: a contract, a tender, an exhibition…"),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    invitation_letter = forms.FileField(
        # The name grounds.INVITATION_LETTER gives the document.
        label=gettext_lazy("Invitation letter from the foreign party"),
        required=False,
        help_text=gettext_lazy("A PDF, JPEG or PNG file of at most 5 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED_FILES}),
    )

    def __init__(self, *args: Any, enterprise: Enterprise, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = [(c.pk, mask_name(c.name)) for c in enterprise.contacts.all()]
        self.fields["contact"].choices = [("", _("Choose…")), *people]  # type: ignore[attr-defined]
        if len(people) == 1:
            self.fields["contact"].initial = people[0][0]


def _link_not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "priority/enterprise_link_not_found.html", status=404)


@require_http_methods(["GET", "POST"])
@_private
def enterprise_page(request: HttpRequest, reference: str, token: str) -> HttpResponse:
    enterprise = selectors.enterprise_by_secret(reference, token)
    if enterprise is None:
        return _link_not_found(request)
    approved = enterprise.status == Enterprise.Status.APPROVED
    posted = request.method == "POST" and approved
    form = RequestForm(request.POST if posted else None, request.FILES if posted else None, enterprise=enterprise)
    status, wait = (403 if request.method == "POST" and not approved else 200), None
    if posted:
        wait = _too_many(request, REQUEST_SCOPE)
        if wait is not None:
            form.add_error(None, _("Too many attempts from this device. Please wait %(s)d seconds.") % {"s": wait})
            status = 429
        elif not form.is_valid():
            status = 400
        else:
            case, status = _try_request(enterprise, form)
            if case is not None:
                return redirect("case-page", case.reference, selectors.case_token(case))
    context = {
        "enterprise": enterprise,
        "approved": approved,
        "form": form,
        "requests": _requests(enterprise),
        "contacts": [mask_name(name) for name in enterprise.contacts.values_list("name", flat=True)],
    }
    return with_retry_after(render(request, "priority/enterprise_page.html", context, status=status), wait)


def _try_request(enterprise: Enterprise, form: RequestForm) -> tuple[Any, int]:
    data = form.cleaned_data
    letter: UploadedFile | None = data.get("invitation_letter")
    files = {grounds.INVITATION_LETTER.code: letter} if letter else {}
    try:
        case = services.enterprise_request_file(
            enterprise=enterprise,
            contact_id=data.get("contact"),
            destination=data.get("destination") or "",
            trip_date=data.get("trip_date"),
            return_date=data.get("return_date"),
            purpose=data.get("purpose") or "",
            files=files,
        )
    except FileTooLarge as exc:
        form.add_error("invitation_letter", exc.message)
        return None, 413
    except NotAllowed as exc:
        form.add_error(None, exc.message)
        return None, 403
    except DomainError as exc:
        for key, message in (exc.errors or {"": exc.message}).items():
            field = "invitation_letter" if key in ("files", grounds.INVITATION_LETTER.code) else key
            form.add_error(field if field in form.fields else None, message)
        return None, 409 if isinstance(exc, Conflict) else 400
    return case, 201


def _requests(enterprise: Enterprise) -> list[dict[str, Any]]:
    """The enterprise's requests, newest first, each with its private link."""
    return [
        {
            "case": case,
            "who": mask_name(case.name),
            "url": reverse("case-page", args=[case.reference, selectors.case_token(case)]),
        }
        for case in enterprise.cases.order_by("-created_at")
    ]
