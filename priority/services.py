"""Every write of the priority channels. Who may use a channel is decided here; the places
and tickets themselves are taken through the lower floors' services (appointments'
booking_create / bookings_create_together, walkins' ticket_issue_for_priority), so their
locks and constraints still hold. Every decision on a case is a CaseEvent (who, when, what,
why), written in the decision's transaction with the applicant's SMS (outbox)."""

import re
import secrets
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

from appointments import services as bookings
from appointments.models import Booking, Channel
from appointments.selectors import OFFICE_TZ
from bureau import selectors as core
from bureau import services as core_services
from bureau.identity import IdNumberError, normalize_id_number
from bureau.models import Application, Office, OutboxMessage, Service, StaffMember
from bureau.services import Conflict, DomainError, NotAllowed, message_queue, new_reference
from bureau.text import hidden_characters_problem
from priority import grounds, selectors, uploads
from priority.models import Case, CaseEvent, Enterprise, EnterpriseContact, EvidenceFile, StudentProof, StudentSession
from walkins import services as walkins
from walkins.models import Ticket, TicketChannel

# How far ahead a trip may be for a case to be urgent at all.
TRIP_HORIZON_DAYS = 366
LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Cases filed online a day with one mobile number (each sends it an SMS).
CASES_PER_PHONE = 3
MAX_CONTACTS = 5


class CaseInputError(DomainError):
    """Bad case input, with a message for every field at fault."""


def _text(
    value: str,
    *,
    field: str,
    label: str,
    limit: int,
    errors: dict[str, str],
    required: bool = True,
    box: bool = False,
) -> str:
    """The text stripped, or its error in `errors`. In a text box (`box`), line breaks are
    spaces (the text goes into one-line SMS and lists); anywhere else they are refused with
    every other control character."""
    value = (LINE_BREAK.sub(" ", value or "") if box else (value or "")).strip()
    if not value:
        if required:
            errors[field] = _("%(label)s is required.") % {"label": label}
    elif len(value) > limit:
        errors[field] = _("%(label)s has at most %(n)d characters.") % {"label": label, "n": limit}
    elif problem := hidden_characters_problem(value, label=label):
        errors[field] = problem
    return value


def _person(name: str, id_number: str, phone: str, errors: dict[str, str], prefix: str = "") -> bookings.Applicant:
    try:
        return bookings.applicant_validated(name=name, id_number=id_number, phone=phone)
    except bookings.BookingInputError as exc:
        errors.update({f"{prefix}{field}": message for field, message in exc.errors.items()})
        return bookings.Applicant("", "", "")


def _trip_date(value: date | None, field: str, errors: dict[str, str], *, after: date | None = None) -> None:
    today = core.office_today()
    if value is None:
        errors[field] = _("Enter the date.")
    elif value < (after or today):
        errors[field] = (
            _("The return cannot be before the departure.") if after else _("The date cannot be in the past.")
        )
    elif value > today + timedelta(days=TRIP_HORIZON_DAYS):
        errors[field] = _("The date must be within a year from today.")


def _checked_files(
    required: Sequence[grounds.Evidence], files: Mapping[str, UploadedFile], errors: dict[str, str], *, all_needed: bool
) -> list[tuple[str, uploads.CheckedFile, UploadedFile]]:
    """Each required document's file checked by its content; a missing one (when
    `all_needed`) or one that is not a real PDF, JPEG or PNG is named by its field. A file
    too large is refused at once (413), before anything else is read."""
    codes = {item.code for item in required}
    for field in files:
        if field not in codes and field in grounds.EVIDENCE_CODES:
            errors[field] = _("This document is not needed for this ground.")
    checked = []
    for item in required:
        upload = files.get(item.code)
        if upload is None:
            if all_needed:
                errors[item.code] = _("Upload this document: %(document)s.") % {"document": item.name}
            continue
        try:
            file = uploads.evidence_checked(field=item.code, upload=upload, label=str(item.name))
            checked.append((item.code, file, upload))
        except (uploads.FileTooLarge, uploads.ChecksBusy):
            raise
        except DomainError as exc:
            errors[item.code] = exc.message
    if not all_needed and not checked and not errors:
        errors["files"] = _("Upload at least one document.")
    return checked


@contextmanager
def _files_removed_unless_committed() -> Iterator[list[str]]:
    """The stored names the block writes; if the block fails (its transaction rolled back),
    the files go too, so no document is left on disk without its row."""
    stored: list[str] = []
    try:
        yield stored
    except BaseException:
        for name in stored:
            uploads.evidence_path(name).unlink(missing_ok=True)
        raise


def _store(case: Case, checked: list[tuple[str, uploads.CheckedFile, UploadedFile]], now: datetime) -> list[str]:
    names = []
    for code, file, upload in checked:
        names.append(uploads.evidence_save(checked=file, upload=upload))
        EvidenceFile.objects.create(
            case=case,
            public_id=secrets.token_hex(16),
            code=code,
            stored_name=names[-1],
            original_name=file.original_name,
            content_type=file.content_type,
            size=file.size,
            sha256=file.sha256,
            uploaded_at=now,
        )
    return names


def _event(case: Case, action: str, now: datetime, *, by: User | None, reason: str = "") -> None:
    CaseEvent.objects.create(case=case, action=action, status=case.status, at=now, by=by, reason=reason)


def _check_desk_staff_of(user: User, office: Office) -> None:
    if not core.is_desk_staff(user) or not core.staff_offices(user).filter(pk=office.pk).exists():
        raise NotAllowed(_("You are not on the staff of this office."))


def case_link(case: Case) -> str:
    path = reverse("case-page", args=[case.reference, selectors.case_token(case)])
    return f"{settings.PUBLIC_BASE_URL}{path}"


def _notify_case(case: Case, key: str) -> None:
    """The applicant's SMS about the case as it now is, in the language they filed in."""
    # The message's own full stop follows the reason.
    values = {"reference": case.reference, "link": case_link(case), "reason": case.reason.rstrip("。.！!")}
    with translation.override(case.language):
        texts: dict[str, str] = {
            Case.Status.SUBMITTED: _("Case %(reference)s received; we will check your documents. Follow it: %(link)s"),
            Case.Status.APPROVED: _(
                "Case %(reference)s approved: come to the office with your ID card and this reference. %(link)s"
            ),
            Case.Status.REJECTED: _(
                "Case %(reference)s was not approved: %(reason)s. You can still apply as an ordinary case. %(link)s"
            ),
            Case.Status.MORE_REQUESTED: _("Case %(reference)s needs more documents: %(reason)s. Add them: %(link)s"),
        }
        text = texts[case.status] % values
    message_queue(key=key, kind=OutboxMessage.Kind.CASE, reference=case.reference, phone=case.phone, text=text)


# --- emergency cases and enterprise requests ----------------------------------------------


def case_file(
    *,
    office: Office,
    ground: str,
    trip_date: date | None,
    description: str,
    name: str,
    id_number: str,
    phone: str,
    files: Mapping[str, UploadedFile],
    by: User | None = None,
    now: datetime | None = None,
) -> Case:
    """File an emergency case with a file for each document its ground needs (checked by
    content, stored outside the web root); `by`, a clerk filing it at the counter. Every bad
    field is named (CaseInputError) before anything is written; the case, its files'
    records, the audit entry and the SMS go in one transaction."""
    now = now or timezone.now()
    if by is not None:
        _check_desk_staff_of(by, office)
    errors: dict[str, str] = {}
    chosen = grounds.BY_CODE.get(ground)
    if chosen is None:
        errors["ground"] = _("Choose one of the grounds.")
    _trip_date(trip_date, "trip_date", errors)
    text = _text(description, field="description", label=_("The description"), limit=1000, errors=errors, box=True)
    person = _person(name, id_number, phone, errors)
    checked = _checked_files(chosen.evidence if chosen else (), files, errors, all_needed=True)
    if errors or chosen is None or trip_date is None:
        raise CaseInputError(next(iter(errors.values()), ""), errors=errors)
    return _case_create(
        kind=Case.Kind.EMERGENCY,
        office=office,
        fields={"ground": chosen.code, "trip_date": trip_date, "description": text},
        person=person,
        checked=checked,
        by=by,
        now=now,
    )


def _check_phone_allowance(phone: str, now: datetime) -> None:
    """At most CASES_PER_PHONE a day filed online with one mobile number (each filing sends it
    an SMS): counted in the database, so no cache decides and no address changes it."""
    filed = Case.objects.filter(phone=phone, filed_by__isnull=True, created_at__gt=now - timedelta(days=1))
    if filed.count() >= CASES_PER_PHONE:
        raise NotAllowed(
            _("At most %(n)d cases a day can be filed with one mobile number. Please come to the office.")
            % {"n": CASES_PER_PHONE},
            code="phone_allowance",
        )


def _case_create(
    *,
    kind: str,
    office: Office,
    fields: dict[str, object],
    person: bookings.Applicant,
    checked: list[tuple[str, uploads.CheckedFile, UploadedFile]],
    by: User | None,
    now: datetime,
) -> Case:
    if by is None:
        _check_phone_allowance(person.phone, now)
    with _files_removed_unless_committed() as stored, transaction.atomic():
        case = Case.objects.create(
            reference=new_reference(),
            kind=kind,
            office=office,
            name=person.name,
            id_number=person.id_number,
            phone=person.phone,
            language=get_language() or settings.LANGUAGE_CODE,
            created_at=now,
            changed_at=now,
            filed_by=by,
            **fields,
        )
        stored += _store(case, checked, now)
        _event(case, CaseEvent.Action.FILED, now, by=by)
        _notify_case(case, f"case:{case.pk}:filed")
    return case


def case_add_evidence(*, case: Case, files: Mapping[str, UploadedFile], now: datetime | None = None) -> Case:
    """The applicant adds documents to a case still being checked (most often after a
    clerk asked for more): it goes back to the clerks. Locks the case row."""
    now = now or timezone.now()
    errors: dict[str, str] = {}
    checked = _checked_files(case.required_evidence, files, errors, all_needed=False)
    if errors:
        raise CaseInputError(next(iter(errors.values())), errors=errors)
    with _files_removed_unless_committed() as stored, transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.status not in (Case.Status.SUBMITTED, Case.Status.MORE_REQUESTED):
            raise Conflict(_("This case has been decided; documents can no longer be added."), code="decided")
        Case.objects.filter(pk=case.pk).update(status=Case.Status.SUBMITTED, changed_at=now)
        locked.status = Case.Status.SUBMITTED
        stored += _store(locked, checked, now)
        _event(locked, CaseEvent.Action.EVIDENCE_ADDED, now, by=None)
    case.refresh_from_db()
    return case


DECISIONS = ("approve", "reject", "more")


def case_decide(
    *, case: Case, decision: str, reason: str, by: User, expedited: bool = True, now: datetime | None = None
) -> Case:
    """A clerk's (or supervisor's) decision on a case: approve, reject with a reason, or ask
    for more documents with what is missing. A ground that needs a supervisor waits for a
    supervisor's approval after the clerk's, and that supervisor is not the clerk who
    approved. An enterprise request is expedited only if the approver says so (`expedited`);
    an approved emergency case always is. Locks the case row; the decision, its audit entry
    and the applicant's SMS are one transaction."""
    now = now or timezone.now()
    _check_desk_staff_of(by, case.office)
    errors: dict[str, str] = {}
    if decision not in DECISIONS:
        errors["decision"] = _("Choose approve, reject or ask for more documents.")
    why = _text(
        reason,
        field="reason",
        label=_("The reason"),
        limit=300,
        errors=errors,
        required=decision != "approve",
        box=True,
    )
    if errors:
        raise CaseInputError(next(iter(errors.values())), errors=errors)
    supervisor = core.staff_role(by) == StaffMember.Role.SUPERVISOR
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        status, action = _decision_outcome(locked, decision, by, supervisor=supervisor)
        locked.status, locked.reason, locked.changed_at = status, why, now
        if status == Case.Status.APPROVED:
            locked.expedited = locked.kind == Case.Kind.EMERGENCY or expedited
        Case.objects.filter(pk=locked.pk).update(status=status, reason=why, changed_at=now, expedited=locked.expedited)
        _event(locked, action, now, by=by, reason=why)
        if status != Case.Status.AWAITING_SUPERVISOR:
            count = locked.events.count()
            _notify_case(locked, f"case:{locked.pk}:{status}:{count}")
    return locked


def _decision_outcome(case: Case, decision: str, by: User, *, supervisor: bool) -> tuple[str, str]:
    Action, Status = CaseEvent.Action, Case.Status
    if case.status == Status.AWAITING_SUPERVISOR:
        if not supervisor:
            raise NotAllowed(_("This case waits for a supervisor's approval."))
        approver = case.events.filter(action=Action.APPROVED).order_by("-at").values_list("by", flat=True).first()
        if decision == "approve" and approver == by.pk:
            raise NotAllowed(_("A second person must approve: you approved this case as a clerk."))
        if decision == "more":
            return Status.MORE_REQUESTED, Action.MORE_REQUESTED
        if decision == "approve":
            return Status.APPROVED, Action.SUPERVISOR_APPROVED
        return Status.REJECTED, Action.SUPERVISOR_REJECTED
    if case.status != Status.SUBMITTED:
        raise Conflict(
            _("This case is %(status)s; it cannot be decided now.") % {"status": case.get_status_display()},
            code="not_pending",
        )
    if decision == "approve":
        if case.filed_by_id == by.pk:
            raise NotAllowed(_("A second person must approve: you filed this case."))
        needs_supervisor = case.kind == Case.Kind.EMERGENCY and grounds.BY_CODE[case.ground].needs_supervisor
        return (Status.AWAITING_SUPERVISOR if needs_supervisor else Status.APPROVED), Action.APPROVED
    if decision == "reject":
        return Status.REJECTED, Action.REJECTED
    return Status.MORE_REQUESTED, Action.MORE_REQUESTED


def _locked_approved(case: Case, by: User) -> Case:
    _check_desk_staff_of(by, case.office)
    locked = Case.objects.select_for_update().select_related("office").get(pk=case.pk)
    if locked.status != Case.Status.APPROVED:
        raise Conflict(_("Only an approved case is served this way."), code="not_approved")
    gone = Booking.objects.filter(case=locked, status__in=selectors.BOOKING_GONE)
    if locked.booking_id is not None and gone.exists():
        # The applicant cancelled the reserved place, missed it or came too late for it (or
        # the day closed): the case may be served again; the history keeps its reference.
        Case.objects.filter(pk=locked.pk).update(booking=None)
        locked.booking_id = None
    if locked.ticket_id is not None or locked.booking_id is not None:
        raise Conflict(_("This case already has its ticket or booking."), code="already_served")
    return locked


CASE_TICKET: dict[str, str] = {
    Case.Kind.EMERGENCY: TicketChannel.EMERGENCY,
    Case.Kind.ENTERPRISE: TicketChannel.ENTERPRISE,
}
CASE_PLACE: dict[str, str] = {Case.Kind.EMERGENCY: Channel.EMERGENCY, Case.Kind.ENTERPRISE: Channel.ENTERPRISE}


def case_issue_ticket(*, case: Case, service: Service, by: User, now: datetime | None = None) -> Ticket:
    """The approved case's ticket (E for an emergency, Q for an enterprise), once: the
    calling rule serves it first (the enterprise window takes Q first). Locks the case row."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked_approved(case, by)
        ticket = walkins.ticket_issue_for_priority(
            office=locked.office, service=service, channel=CASE_TICKET[locked.kind], by=by, now=now
        )
        Case.objects.filter(pk=locked.pk).update(ticket=ticket, changed_at=now)
        _event(locked, CaseEvent.Action.TICKET_ISSUED, now, by=by, reason=ticket.number)
    case.refresh_from_db()
    return ticket


def case_book_place(*, case: Case, service: Service, start: datetime, by: User, now: datetime | None = None) -> Booking:
    """A place for the approved case in a slot's reserved quota (emergency or enterprise),
    booked by the clerk on the applicant's behalf, once. Locks the case row; the place is
    taken by appointments' conditional UPDATE (SlotFull when the reserve is used up)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked_approved(case, by)
        booking = bookings.booking_create(
            office=locked.office,
            service=service,
            start=start,
            name=locked.name,
            id_number=locked.id_number,
            phone=locked.phone,
            channel=CASE_PLACE[locked.kind],
            by=by,
            now=now,
        )
        Case.objects.filter(pk=locked.pk).update(booking=booking, changed_at=now)
        _event(locked, CaseEvent.Action.BOOKED, now, by=by, reason=booking.reference)
    case.refresh_from_db()
    return booking


def evidence_opened(*, file: EvidenceFile, by: User) -> None:
    """Audit that a member of staff opened a document."""
    case = file.case
    _event(case, CaseEvent.Action.FILE_OPENED, timezone.now(), by=by, reason=file.code)


def application_accepted_expedite(*, application: Application, by: User, arrival: Mapping[str, str]) -> None:
    """Acceptance follower (registered in priority.apps, after walkins' which links the
    ticket): an application of the case's own applicant (the same ID number), accepted for
    the ticket of an approved, expedited case or for the booking made for it, is expedited
    and gets that deadline. Someone else served at that counter visit is not."""
    tickets = Ticket.objects.filter(applications=application)
    expedited = Case.objects.filter(
        status=Case.Status.APPROVED, expedited=True, id_number=application.id_number
    ).filter(Q(ticket__in=tickets) | Q(booking__ticket__in=tickets))
    if not application.expedited and expedited.exists():
        core_services.application_expedite(application=application)


# --- enterprises ---------------------------------------------------------------------------


def credit_code_normalized(value: str, errors: dict[str, str]) -> str:
    """The Unified Social Credit Code (GB 32100) in canonical form, checksum verified."""
    # NFKC: Chinese keyboards type full-width digits and letters.
    code = uscc.compact("".join(unicodedata.normalize("NFKC", value or "").split()))
    try:
        if not code.isascii():
            raise StdnumError
        return str(uscc.validate(code))
    except StdnumError:
        errors["credit_code"] = _(
            "This is not a valid Unified Social Credit Code: 18 characters, the last one a check character."
        )
        return ""


def enterprise_register(
    *,
    office: Office | None,
    name: str,
    credit_code: str,
    contacts: Sequence[Mapping[str, str]],
    now: datetime | None = None,
) -> Enterprise:
    """Register an enterprise and its contact staff, for a supervisor of its office to
    approve. One live registration a credit code (a constraint keeps it). Every bad field is
    named (CaseInputError); `office` None is one of them, so a page can have the rest named
    without anything being written."""
    now = now or timezone.now()
    errors: dict[str, str] = {}
    if office is None:
        errors["office"] = _("Choose the office that will serve you.")
    title = _text(name, field="name", label=_("The enterprise name"), limit=100, errors=errors)
    code = credit_code_normalized(credit_code, errors)
    if not 1 <= len(contacts) <= MAX_CONTACTS:
        errors["contacts"] = _("Register 1 to %(n)d contacts.") % {"n": MAX_CONTACTS}
    people = [
        _person(c.get("name", ""), c.get("id_number", ""), c.get("phone", ""), errors, prefix=f"contacts.{i}.")
        for i, c in enumerate(contacts[:MAX_CONTACTS])
    ]
    if len({p.id_number for p in people}) < len(people) and not errors:
        errors["contacts"] = _("Each contact is registered once.")
    if errors or office is None:
        raise CaseInputError(next(iter(errors.values()), ""), errors=errors)
    try:
        with transaction.atomic():
            enterprise = Enterprise.objects.create(
                reference=new_reference(),
                name=title,
                credit_code=code,
                office=office,
                language=get_language() or settings.LANGUAGE_CODE,
                created_at=now,
            )
            EnterpriseContact.objects.bulk_create(
                EnterpriseContact(enterprise=enterprise, name=p.name, id_number=p.id_number, phone=p.phone)
                for p in people
            )
    except IntegrityError:
        raise Conflict(
            _("This credit code is already registered; its contacts have the link."), code="already_registered"
        ) from None
    return enterprise


def enterprise_link(enterprise: Enterprise) -> str:
    path = reverse("enterprise-page", args=[enterprise.reference, selectors.enterprise_token(enterprise)])
    return f"{settings.PUBLIC_BASE_URL}{path}"


def enterprise_decide(
    *, enterprise: Enterprise, approve: bool, reason: str, by: User, now: datetime | None = None
) -> Enterprise:
    """A supervisor of the enterprise's office approves or rejects (with a reason) the
    registration; each contact gets an SMS, with the private link once approved."""
    now = now or timezone.now()
    if core.staff_role(by) != StaffMember.Role.SUPERVISOR:
        raise NotAllowed(_("A supervisor approves enterprise registrations."))
    _check_desk_staff_of(by, enterprise.office)
    errors: dict[str, str] = {}
    why = _text(reason, field="reason", label=_("The reason"), limit=300, errors=errors, required=not approve, box=True)
    if errors:
        raise CaseInputError(next(iter(errors.values())), errors=errors)
    status = Enterprise.Status.APPROVED if approve else Enterprise.Status.REJECTED
    with transaction.atomic():
        if not Enterprise.objects.filter(pk=enterprise.pk, status=Enterprise.Status.PENDING).update(
            status=status, reason=why, decided_at=now, decided_by=by
        ):
            raise Conflict(_("This registration has been decided already."), code="decided")
        enterprise.refresh_from_db()
        values = {"name": enterprise.name, "reason": why, "link": enterprise_link(enterprise)}
        with translation.override(enterprise.language):
            text = (
                _("%(name)s is registered for the enterprise window. File urgent requests here: %(link)s")
                if approve
                else _("The registration of %(name)s was not approved: %(reason)s")
            ) % values
        for contact in enterprise.contacts.all():
            message_queue(
                key=f"enterprise:{enterprise.pk}:{status}:{contact.pk}",
                kind=OutboxMessage.Kind.ENTERPRISE,
                reference=enterprise.reference,
                phone=contact.phone,
                text=text,
            )
    return enterprise


def enterprise_request_file(
    *,
    enterprise: Enterprise,
    contact_id: int | None,
    destination: str,
    trip_date: date | None,
    return_date: date | None,
    purpose: str,
    files: Mapping[str, UploadedFile],
    now: datetime | None = None,
) -> Case:
    """A registered contact of an approved enterprise files an urgent business request for
    themself, with the invitation letter; the enterprise's office checks it like a case."""
    now = now or timezone.now()
    if enterprise.status != Enterprise.Status.APPROVED:
        raise NotAllowed(_("The enterprise's registration is not approved."))
    errors: dict[str, str] = {}
    contact = enterprise.contacts.filter(pk=contact_id).first() if contact_id else None
    if contact is None:
        errors["contact"] = _("Choose who travels, among the registered contacts.")
    place = _text(destination, field="destination", label=_("The destination"), limit=100, errors=errors)
    _trip_date(trip_date, "trip_date", errors)
    if return_date is not None and trip_date is not None:
        _trip_date(return_date, "return_date", errors, after=trip_date)
    text = _text(purpose, field="purpose", label=_("The business purpose"), limit=1000, errors=errors, box=True)
    checked = _checked_files(grounds.ENTERPRISE_EVIDENCE, files, errors, all_needed=True)
    if errors or contact is None:
        raise CaseInputError(next(iter(errors.values()), ""), errors=errors)
    return _case_create(
        kind=Case.Kind.ENTERPRISE,
        office=enterprise.office,
        fields={
            "enterprise": enterprise,
            "destination": place,
            "trip_date": trip_date,
            "return_date": return_date,
            "description": text,
        },
        person=bookings.Applicant(contact.name, contact.id_number, contact.phone),
        checked=checked,
        by=None,
        now=now,
    )


# --- student sessions ------------------------------------------------------------------------


def _check_supervisor_of(user: User, offices: Sequence[Office]) -> None:
    if core.staff_role(user) != StaffMember.Role.SUPERVISOR:
        raise NotAllowed(_("A supervisor opens student sessions."))
    covered = set(core.staff_offices(user).filter(pk__in=[o.pk for o in offices]).values_list("pk", flat=True))
    if covered != {o.pk for o in offices}:
        raise NotAllowed(_("You are not a supervisor of every office chosen."))


def student_session_open(
    *,
    name: str,
    first_day: date | None,
    last_day: date | None,
    offices: Sequence[Office],
    places: int,
    by: User,
    now: datetime | None = None,
) -> StudentSession:
    """Open a student session: every future slot of its offices on its days gets `places`
    student places (slots made later get them when they are made). Sessions of one office
    never overlap, so a slot's student quota has one source."""
    now = now or timezone.now()
    errors: dict[str, str] = {}
    title = _text(name, field="name", label=_("The name"), limit=60, errors=errors)
    if not offices:
        errors["offices"] = _("Choose at least one office.")
    if first_day is None or last_day is None:
        errors["first_day"] = _("Enter the first and the last day.")
    elif last_day < first_day:
        errors["last_day"] = _("The last day cannot be before the first day.")
    elif last_day > first_day + timedelta(days=TRIP_HORIZON_DAYS):
        errors["last_day"] = _("A session lasts at most a year.")
    if not 1 <= places <= 50:
        errors["places"] = _("A slot has 1 to 50 student places.")
    if errors or first_day is None or last_day is None:
        raise CaseInputError(next(iter(errors.values()), ""), errors=errors)
    _check_supervisor_of(by, offices)
    with transaction.atomic():
        # Sessions are opened one at a time, so two overlapping ones cannot both pass the check.
        Office.objects.select_for_update().filter(pk__in=[o.pk for o in offices]).order_by("pk").values_list("pk")
        overlap = StudentSession.objects.filter(
            offices__in=offices, first_day__lte=last_day, last_day__gte=first_day
        ).first()
        if overlap is not None:
            raise CaseInputError(
                _("%(name)s already covers some of these days at one of these offices.") % {"name": overlap.name},
                field="first_day",
            )
        session = StudentSession.objects.create(
            name=title, first_day=first_day, last_day=last_day, places=places, created_at=now, created_by=by
        )
        session.offices.set(offices)
        bookings.slots_set_quota(
            offices=list(offices), first=first_day, last=last_day, channel=Channel.STUDENT, places=places
        )
    return session


def student_places_follow(*, days: list[date]) -> None:
    """Follower of appointments' slot generation: the new slots of days a session covers
    get its student places."""
    if not days:
        return
    first, last = min(days), max(days)
    for session in StudentSession.objects.filter(first_day__lte=last, last_day__gte=first).prefetch_related("offices"):
        bookings.slots_set_quota(
            offices=list(session.offices.all()),
            first=max(first, session.first_day),
            last=min(last, session.last_day),
            channel=Channel.STUDENT,
            places=session.places,
        )


def student_booking_create(
    *,
    office: Office,
    service: Service,
    start: datetime,
    school: str,
    proof: str,
    student: Mapping[str, str],
    parent: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> list[Booking]:
    """Book student places for a student, and their parent with them when given: places
    for both or for neither (one conditional UPDATE takes them together), with the
    student's proof recorded in the same transaction. The parent's fields are named
    `people.1.<field>`."""
    errors: dict[str, str] = {}
    school = _text(school, field="school", label=_("The school"), limit=100, errors=errors)
    proof = _text(proof, field="proof", label=_("The admission notice or student card number"), limit=40, errors=errors)
    people = [dict(student), *([dict(parent)] if parent else [])]
    day = timezone.localtime(start, OFFICE_TZ).date()
    if not selectors.student_sessions_on(office, day).exists():
        errors["start"] = _("There is no student session at this office on %(day)s.") % {
            "day": date_format(day, "DATE_FORMAT")
        }
    if errors:  # named together with the people's own errors, all at once
        for index, person in enumerate(people):
            try:
                bookings.applicant_validated(**{key: person.get(key, "") for key in ("name", "id_number", "phone")})
            except bookings.BookingInputError as exc:
                prefix = f"people.{index}." if index else ""
                errors.update({f"{prefix}{field}": message for field, message in exc.errors.items()})
        raise CaseInputError(next(iter(errors.values())), errors=errors)
    with transaction.atomic():
        made = bookings.bookings_create_together(
            office=office, service=service, start=start, people=people, channel=Channel.STUDENT, now=now
        )
        StudentProof.objects.create(
            booking=made[0], school=school, proof=proof, parent_booking=made[1] if len(made) > 1 else None
        )
    return made


# --- tickets for the green channel and students ---------------------------------------------


def _age_on(number: str, day: date) -> int:
    born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def green_ticket_issue(
    *, office: Office, service: Service, id_number: str, by: User, now: datetime | None = None
) -> Ticket:
    """A green-channel ticket for an applicant of the office's age or over, from the ID
    number's birth date (the number is read, not kept)."""
    try:
        number = normalize_id_number(id_number, today=core.office_today())
    except IdNumberError as exc:
        raise DomainError(exc.message, field="id_number", code=f"id_number_{exc.code}") from None
    limit = selectors.green_age(office)
    if _age_on(number, core.office_today()) < limit:
        raise DomainError(
            _("The green channel is for applicants aged %(age)d or over; please take an ordinary ticket.")
            % {"age": limit},
            field="id_number",
            code="too_young",
        )
    return walkins.ticket_issue_for_priority(
        office=office, service=service, channel=TicketChannel.GREEN, by=by, now=now
    )


def student_ticket_issue(
    *, office: Office, service: Service, school: str, proof: str, by: User, now: datetime | None = None
) -> Ticket:
    """A student's walk-in ticket on a day of a student session at the office, once the
    clerk saw the admission notice or student card."""
    errors: dict[str, str] = {}
    _text(school, field="school", label=_("The school"), limit=100, errors=errors)
    _text(proof, field="proof", label=_("The admission notice or student card number"), limit=40, errors=errors)
    if errors:
        raise CaseInputError(next(iter(errors.values())), errors=errors)
    today = core.office_today()
    if not selectors.student_sessions_on(office, today).exists():
        raise DomainError(
            _("There is no student session at this office on %(day)s.") % {"day": date_format(today, "DATE_FORMAT")},
            code="no_session",
        )
    return walkins.ticket_issue_for_priority(
        office=office, service=service, channel=TicketChannel.STUDENT, by=by, now=now
    )
