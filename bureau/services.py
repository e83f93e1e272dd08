"""Every write of the core: accepting applications, their deadlines, the calendar."""

import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from bureau import selectors
from bureau.identity import IdNumberError, normalize_id_number, residency_of
from bureau.models import (
    Application,
    ApplicationEvent,
    CalendarDay,
    CalendarYear,
    DeadlineRecompute,
    IssuanceRule,
    Office,
    OutboxMessage,
    Residency,
    Service,
)
from bureau.sms import send_sms
from bureau.text import hidden_characters_problem

logger = logging.getLogger(__name__)

REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud at counters
REFERENCE_LENGTH = 10

# Where an application may go next; anything else is refused.
STATUS_FLOW: dict[str, tuple[str, ...]] = {
    Application.Status.ACCEPTED: (Application.Status.IN_PRODUCTION,),
    Application.Status.IN_PRODUCTION: (Application.Status.READY, Application.Status.MAILED),
    Application.Status.READY: (Application.Status.COLLECTED,),
    Application.Status.MAILED: (),
    Application.Status.COLLECTED: (),
}


@dataclass(frozen=True)
class StatusStep:
    """What a step along STATUS_FLOW means for a clerk about to take it: the other next
    statuses it rules out for good (from in production, ready and mailed exclude each other)
    and whether it ends the lifecycle. No step goes back, so one that closes a way or ends
    the lifecycle is confirmed on the page before it is taken."""

    current: str
    new: str
    closes: tuple[str, ...]
    final: bool

    @property
    def needs_confirmation(self) -> bool:
        return self.final or bool(self.closes)

    @property
    def new_label(self) -> str:
        return str(Application.Status(self.new).label)

    @property
    def closes_labels(self) -> list[str]:
        return [str(Application.Status(status).label) for status in self.closes]

    @property
    def stops_deadline(self) -> bool:
        """The application leaves the open statuses: its issuance deadline no longer counts."""
        return self.current in Application.OPEN_STATUSES and self.new not in Application.OPEN_STATUSES


def status_step(*, current: str, new: str) -> StatusStep | None:
    """The step from `current` to `new`, or None when STATUS_FLOW does not allow it."""
    if new not in STATUS_FLOW.get(current, ()):
        return None
    closes = tuple(other for other in STATUS_FLOW[current] if other != new)
    return StatusStep(current=current, new=new, closes=closes, final=not STATUS_FLOW.get(new))


class DomainError(Exception):
    """A rule refused the request; `field` names the input at fault, if one is, and `errors`
    holds a message for every field at fault when there are several."""

    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        errors: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors or ({field: message} if field else {})
        if code:
            self.code = code


class NotAllowed(DomainError):
    code = "permission_denied"


class Conflict(DomainError):
    """The state changed under the caller (or a capacity is used up): HTTP 409."""

    code = "conflict"


class PayloadTooLarge(DomainError):
    """What was sent is larger than the limit (an uploaded file): HTTP 413."""

    code = "file_too_large"


def new_reference() -> str:
    """A random reference, easy to read aloud; the unique constraint catches the rare clash."""
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def _refuse_hidden_characters(value: str, *, field: str, label: str) -> None:
    if problem := hidden_characters_problem(value, label=label):
        raise DomainError(problem, field=field, code="hidden_characters")


def _check_staff_of(user: User, office: Office) -> None:
    """A clerk or supervisor of the office (a kiosk accepts nothing and changes nothing)."""
    if not selectors.is_desk_staff(user) or not selectors.staff_offices(user).filter(pk=office.pk).exists():
        raise NotAllowed(_("You are not on the staff of this office."))


# --- acceptance followers ----------------------------------------------------------------------
#
# A higher floor that keeps something made from an acceptance (walkins links the ticket the
# applicant came with to the applications accepted from it) registers a follower here when it
# starts (AppConfig.ready), as appointments follows the calendar (calendar_follow): the core
# knows nothing of tickets. Each follower is called inside the acceptance's transaction with the
# new application, the clerk, and `arrival`: what the page carried about how the applicant
# came, as plain strings (the counter workstation sends {"ticket": "<ticket id>"}; an
# acceptance through the API carries {}). A DomainError it raises refuses the acceptance
# (nothing is written) and is shown to the clerk, on the field it names or above the form.


class ApplicationAcceptedFollower(Protocol):
    def __call__(self, *, application: Application, by: User, arrival: Mapping[str, str]) -> None: ...


application_accepted_followers: list[ApplicationAcceptedFollower] = []


def application_accepted_follow(follower: ApplicationAcceptedFollower) -> None:
    if follower not in application_accepted_followers:
        application_accepted_followers.append(follower)


def application_accept(
    *,
    office: Office,
    service: Service,
    applicant_name: str,
    id_number: str,
    expedited: bool,
    by: User,
    residency_override: str = "",
    override_reason: str = "",
    arrival: Mapping[str, str] | None = None,
) -> Application:
    """Record an accepted application and its first event, and tell the acceptance followers
    (same transaction); its deadline is computed by a Celery task sent after commit."""
    _check_staff_of(by, office)
    name = applicant_name.strip()
    if not name:
        raise DomainError(_("Enter the applicant's name."), field="applicant_name")
    _refuse_hidden_characters(name, field="applicant_name", label=_("The applicant's name"))
    try:
        number = normalize_id_number(id_number, today=selectors.office_today())
    except IdNumberError as exc:
        raise DomainError(exc.message, field="id_number", code=f"id_number_{exc.code}") from exc
    residency = residency_of(number, home_province=settings.HOME_PROVINCE_CODE)
    reason = override_reason.strip()
    _refuse_hidden_characters(reason, field="override_reason", label=_("The reason"))
    if residency_override:
        if residency_override not in Residency.values:
            raise DomainError(_("Choose in-province or out-of-province."), field="residency_override")
        if residency_override != residency and not reason:
            raise DomainError(
                _("Give the reason why the residency differs from the ID number."), field="override_reason"
            )
        residency = residency_override
    now = timezone.now()
    with transaction.atomic():
        application = Application.objects.create(
            reference=new_reference(),
            office=office,
            service=service,
            applicant_name=name,
            id_number=number,
            residency=residency,
            residency_override_reason=reason if residency_override else "",
            expedited=expedited,
            accepted_on=selectors.office_today(),
        )
        ApplicationEvent.objects.create(application=application, status=application.status, at=now, by=by)
        for follower in application_accepted_followers:
            follower(application=application, by=by, arrival=dict(arrival or {}))
        # robust: a broker that is down must not turn a committed acceptance into an error;
        # the deadline sweep (django-q2) fills any due date left empty.
        transaction.on_commit(lambda: _send_compute_deadline(application.pk), robust=True)
    return application


def application_expedite(*, application: Application) -> None:
    """Mark an application being accepted as expedited (an approved priority case behind
    it): called by an acceptance follower, in the acceptance's transaction, before its
    deadline is computed."""
    Application.objects.filter(pk=application.pk).update(expedited=True)
    application.expedited = True


def _send_compute_deadline(application_id: int) -> None:
    from bureau.tasks import compute_application_deadline

    compute_application_deadline.delay(application_id)


def _lock_rules() -> dict[str, IssuanceRule]:
    """The issuance rules, row-locked: deadline writers take turns, so a run that read an
    older calendar cannot overwrite the dates of a run that read a newer one."""
    return {rule.kind: rule for rule in IssuanceRule.objects.select_for_update().order_by("kind")}


def application_compute_deadline(*, application_id: int) -> bool:
    """Write the application's due date from today's calendar and rules; True if it changed.
    Locks the rule rows for the transaction."""
    with transaction.atomic():
        rules = _lock_rules()
        application = Application.objects.get(pk=application_id)
        rule = rules[selectors.rule_kind(residency=application.residency, expedited=application.expedited)]
        deadline = selectors.deadline_for(
            calendar=selectors.work_calendar(), rule=rule, accepted_on=application.accepted_on
        )
        changed = (
            Application.objects.filter(pk=application_id)
            .exclude(due_on=deadline.due_on, provisional=deadline.provisional)
            .update(due_on=deadline.due_on, provisional=deadline.provisional)
        )
    return bool(changed)


def deadlines_fill_missing() -> int:
    """Compute the due dates a lost task left empty (broker down at acceptance); returns how
    many were filled."""
    missing = Application.objects.filter(status__in=Application.OPEN_STATUSES, due_on__isnull=True)
    return sum(application_compute_deadline(application_id=pk) for pk in missing.values_list("pk", flat=True))


def application_set_status(*, application: Application, status: str, by: User, note: str = "") -> Application:
    """Move an application one step along its lifecycle and record who did it. The update is
    conditional on the status it was read with, so two clerks cannot both move it."""
    _check_staff_of(by, application.office)
    _refuse_hidden_characters(note, field="note", label=_("The note"))
    if status not in STATUS_FLOW.get(application.status, ()):
        raise DomainError(
            _("An application that is %(current)s cannot become %(new)s.")
            % {
                "current": application.get_status_display(),
                "new": Application.Status(status).label if status in Application.Status.values else status,
            },
            field="status",
            code="invalid_transition",
        )
    with transaction.atomic():
        moved = Application.objects.filter(pk=application.pk, status=application.status).update(status=status)
        if not moved:
            raise Conflict(_("Someone else changed this application; reload it."))
        ApplicationEvent.objects.create(
            application=application, status=status, at=timezone.now(), by=by, note=note.strip()[:200]
        )
    application.refresh_from_db(fields=["status"])
    return application


def deadlines_request_recompute(*, reason: str) -> DeadlineRecompute:
    """Log a recomputation and send its Celery task after commit."""
    run = DeadlineRecompute.objects.create(reason=reason[:200], requested_at=timezone.now())
    transaction.on_commit(lambda: _send_recompute(run.pk), robust=True)
    return run


def issuance_rule_update(*, rule: IssuanceRule, reason: str) -> DeadlineRecompute:
    """Write a rule's count and unit; every open deadline is recomputed (a Celery task after
    commit)."""
    with transaction.atomic():
        rule.save(update_fields=["count", "unit"])
        return deadlines_request_recompute(reason=reason)


def _send_recompute(run_id: int) -> None:
    from bureau.tasks import recompute_deadlines

    recompute_deadlines.delay(run_id)


def deadlines_recompute(*, run_id: int | None = None) -> int:
    """Bring every open application's deadline in line with the calendar and rules; returns
    how many changed. One transaction holding the rule locks; one UPDATE per (acceptance
    date, rule) group touching only rows whose value differs, so a second run changes nothing."""
    with transaction.atomic():
        rules = _lock_rules()
        calendar = selectors.work_calendar()
        open_apps = Application.objects.filter(status__in=Application.OPEN_STATUSES)
        groups = open_apps.values_list("accepted_on", "residency", "expedited").distinct().order_by()
        changed = 0
        for accepted_on, residency, expedited in groups:
            rule = rules[selectors.rule_kind(residency=residency, expedited=expedited)]
            deadline = selectors.deadline_for(calendar=calendar, rule=rule, accepted_on=accepted_on)
            group = open_apps.filter(accepted_on=accepted_on, residency=residency, expedited=expedited)
            changed += group.exclude(Q(due_on=deadline.due_on) & Q(provisional=deadline.provisional)).update(
                due_on=deadline.due_on, provisional=deadline.provisional
            )
        examined = open_apps.count()
    if run_id is not None:
        DeadlineRecompute.objects.filter(pk=run_id).update(
            finished_at=timezone.now(), examined=examined, changed=changed
        )
    logger.info("deadline recompute (run %s): %d open, %d changed", run_id or "not recorded", examined, changed)
    return changed


# --- messages to applicants (the outbox) ------------------------------------------------------

# A sender owns a claimed message this long; the SMS gateway's timeout is well inside it, so
# a second sender can only take a message over from one that crashed.
MESSAGE_LEASE = timedelta(seconds=60)
# After a failed send, wait this long times 2 ** (attempts - 1) before the next, at most an hour.
MESSAGE_RETRY_BASE = timedelta(seconds=30)
MESSAGE_RETRY_MAX = timedelta(hours=1)


def message_queue(*, key: str, kind: str, reference: str, phone: str, text: str) -> OutboxMessage:
    """Write an SMS to the outbox in the caller's transaction (writing the same key again
    changes nothing); after commit, ask a worker to send it at once. If that request is lost
    (broker down), the django-q2 sweep sends it."""
    message, _created = OutboxMessage.objects.get_or_create(
        key=key,
        defaults={"kind": kind, "reference": reference, "phone": phone, "text": text, "created_at": timezone.now()},
    )
    transaction.on_commit(lambda: _send_deliver(message.pk), robust=True)
    return message


def _send_deliver(message_id: int) -> None:
    from bureau.tasks import deliver_message

    deliver_message.delay(message_id)


def message_deliver(*, message_id: int) -> bool:
    """Send one outbox message if it is unsent and nobody holds it; True if sent now. Claims
    it with a conditional UPDATE (a lease from this moment), sends, then marks it sent; a
    failed send is kept for a later try after a growing pause. No lock is held while the
    gateway is called."""
    now = timezone.now()
    lease_until = now + MESSAGE_LEASE
    claimed = (
        OutboxMessage.objects.filter(pk=message_id, sent_at__isnull=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
        .update(lease_until=lease_until, attempts=F("attempts") + 1)
    )
    if not claimed:
        return False
    message = OutboxMessage.objects.get(pk=message_id)
    try:
        send_sms(message.phone, message.text, key=message.key)
    except Exception as exc:  # noqa: BLE001 - any failure of the gateway is retried later
        OutboxMessage.objects.filter(pk=message_id, lease_until=lease_until).update(
            lease_until=timezone.now() + retry_pause(message.attempts), last_error=f"{type(exc).__name__}: {exc}"[:200]
        )
        logger.warning("SMS %s not sent (attempt %d): %s", message.key, message.attempts, type(exc).__name__)
        return False
    OutboxMessage.objects.filter(pk=message_id, lease_until=lease_until).update(
        sent_at=timezone.now(), lease_until=None, last_error=""
    )
    return True


def retry_pause(attempts: int) -> timedelta:
    """30 s after the first failure, doubling, at most an hour (the exponent is capped before
    it can overflow a timedelta)."""
    return min(MESSAGE_RETRY_BASE * 2 ** min(attempts - 1, 16), MESSAGE_RETRY_MAX)


def messages_deliver_pending(*, batch: int = 200) -> int:
    """Send the oldest unsent messages nobody holds (the safety net for lost requests and
    failed sends); returns how many were sent. One message that cannot be sent, for any
    reason, does not stop the others."""
    now = timezone.now()
    pending = (
        OutboxMessage.objects.filter(sent_at__isnull=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
        .order_by("created_at")
        .values_list("pk", flat=True)
    )
    sent = 0
    for pk in list(pending[:batch]):
        try:
            sent += message_deliver(message_id=pk)
        except Exception:
            logger.exception("outbox message %s could not be delivered", pk)
    return sent


# --- the official calendar --------------------------------------------------------------------

# Higher floors that keep something made from the calendar (appointments' slots) register a
# function here when they start (AppConfig.ready): the calendar knows nothing of them, and
# each change calls them with the dates it changed, inside its own transaction.
_calendar_followers: list[Callable[[set[date]], None]] = []


def calendar_follow(follower: Callable[[set[date]], None]) -> None:
    if follower not in _calendar_followers:
        _calendar_followers.append(follower)


def _calendar_changed(days: set[date], reason: str) -> DeadlineRecompute | None:
    if not days:
        return None
    for follower in _calendar_followers:
        follower(days)
    return deadlines_request_recompute(reason=reason)


def calendar_update(
    *,
    reason: str,
    years: Iterable[CalendarYear] = (),
    days: Iterable[CalendarDay] = (),
    deleted_days: Iterable[CalendarDay] = (),
    deleted_years: Iterable[CalendarYear] = (),
) -> DeadlineRecompute | None:
    """One change to the official calendar, as a supervisor enters it: writes the years and
    days (marked as entered by a supervisor) and deletes the others, in one transaction in
    which whatever is made from the calendar follows it (future slots) and a recomputation of
    open deadlines is requested. Returns the recomputation, if anything changed."""
    with transaction.atomic():
        changed: set[date] = set()
        for year in years:
            year.source = CalendarYear.Source.SUPERVISOR
            year.save()
            # A year that becomes known changes every day in it: those without an exception
            # stop being "subject to the official calendar".
            changed |= _days_of_year(year.year)
        for day in days:
            before = CalendarDay.objects.filter(pk=day.pk).values_list("date", flat=True).first() if day.pk else None
            day.source = CalendarYear.Source.SUPERVISOR
            day.save()
            changed |= {day.date} | ({before} if before else set())
        for day in deleted_days:
            changed.add(day.date)
            day.delete()
        for year in deleted_years:
            changed |= _days_of_year(year.year)
            year.delete()
        return _calendar_changed(changed, reason)


def _days_of_year(year: int) -> set[date]:
    first = date(year, 1, 1)
    return {first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)}


# The package names holidays in English; the official calendar is published in Chinese.
HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def calendar_seed_from_package() -> tuple[int, int]:
    """Load every year the chinesecalendar package covers; days a supervisor entered are kept.
    What is made from the calendar follows, and open deadlines are recomputed, if anything
    was added. Returns (years added, days added); a second run adds nothing."""
    from chinese_calendar import constants

    entries: dict[date, tuple[str, str]] = {}
    for day, name in constants.holidays.items():
        entries[day] = (CalendarDay.Kind.HOLIDAY, HOLIDAY_NAMES_ZH.get(str(name), str(name)))
    for day, name in constants.workdays.items():
        entries[day] = (CalendarDay.Kind.WORKDAY, HOLIDAY_NAMES_ZH.get(str(name), str(name)))
    years = sorted({day.year for day in entries})
    with transaction.atomic():
        existing_years = set(CalendarYear.objects.values_list("year", flat=True))
        CalendarYear.objects.bulk_create(
            [CalendarYear(year=y, source=CalendarYear.Source.PACKAGE) for y in years if y not in existing_years],
            ignore_conflicts=True,  # a seed running in parallel
        )
        known_days = set(CalendarDay.objects.values_list("date", flat=True))
        new_days = [
            CalendarDay(year_id=day.year, date=day, kind=kind, name=name, source=CalendarYear.Source.PACKAGE)
            for day, (kind, name) in sorted(entries.items())
            if day not in known_days
        ]
        CalendarDay.objects.bulk_create(new_days, ignore_conflicts=True)
        added_years = [y for y in years if y not in existing_years]
        changed = {day.date for day in new_days}.union(*(_days_of_year(y) for y in added_years))
        _calendar_changed(changed, gettext_noop("calendar loaded from package"))
    return len(added_years), len(new_days)


def office_save(*, office: Office, fields: list[str] | None = None) -> Office:
    """Write an office (only `fields` of an existing one, when given); after commit, forget the
    cached office under its old and its new code, so the next lookup in this process reads it."""
    old_code = Office.objects.filter(pk=office.pk).values_list("code", flat=True).first() if office.pk else None
    office.save(update_fields=fields if office.pk and fields is not None else None)
    codes = [code for code in (office.code, old_code) if code]
    transaction.on_commit(lambda: selectors.forget_by_code(Office, *codes))
    return office


def service_save(*, service: Service, fields: list[str] | None = None) -> Service:
    """Write a service (only `fields` of an existing one, when given); after commit, forget the
    cached service under its old and its new code."""
    old_code = Service.objects.filter(pk=service.pk).values_list("code", flat=True).first() if service.pk else None
    service.save(update_fields=fields if service.pk and fields is not None else None)
    codes = [code for code in (service.code, old_code) if code]
    transaction.on_commit(lambda: selectors.forget_by_code(Service, *codes))
    return service
