"""Every write of the queues: issuing tickets (walk-in, kiosk, check-in), opening and closing
counters, calling, recalling, completing, parking, transferring, closing the day.

A counter's actions take turns on its open shift's row (select_for_update), so one counter
never does two things at once; call-next locks the ticket it takes with skip_locked, so two
counters never take the same one; constraints back both (one called ticket a counter, one
open shift a counter and a clerk)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from appointments import services as bookings
from appointments.models import Booking
from bureau import selectors as core
from bureau.identity import normalize_mobile
from bureau.models import Application, Counter, Office, OpeningSession, OutboxMessage, Service, StaffMember
from bureau.services import Conflict, DomainError, NotAllowed, message_queue
from walkins import rules, selectors
from walkins.models import PREFIXES, CounterShift, Ticket, TicketChannel, TicketEvent, TicketSequence

# The channel a clerk gives a walk-in at triage. The priority channels' tickets are issued on
# the priority app's word (ticket_issue_for_priority), once it checked who may use them;
# appointments' from check-in.
TRIAGE_CHANNELS = (TicketChannel.GENERAL,)
PRIORITY_CHANNELS = (TicketChannel.EMERGENCY, TicketChannel.ENTERPRISE, TicketChannel.STUDENT, TicketChannel.GREEN)


class CounterClosed(Conflict):
    code = "counter_closed"

    def __init__(self) -> None:
        super().__init__(_("This counter is not open. Open it first."))


class NoCurrentTicket(Conflict):
    code = "no_current_ticket"

    def __init__(self) -> None:
        super().__init__(_("This counter is not serving a ticket."))


def _check_staff_of(user: User, office: Office) -> None:
    """Staff of the office: a clerk, a supervisor, or the office's kiosk."""
    if not core.staff_offices(user).filter(pk=office.pk).exists():
        raise NotAllowed(_("You are not on the staff of this office."))


def _check_desk_staff_of(user: User, office: Office) -> None:
    """A clerk or supervisor of the office: what a kiosk may not do (any channel, any hour,
    past the kiosk quota; link applications)."""
    if not core.is_desk_staff(user):
        raise NotAllowed(_("Only clerks and supervisors may do this."))
    _check_staff_of(user, office)


def _record(ticket: Ticket, action: str, now: datetime, *, by: User | None, counter: Counter | None = None) -> None:
    TicketEvent.objects.create(ticket=ticket, status=ticket.status, action=action, at=now, counter=counter, by=by)


# --- issuing ---------------------------------------------------------------------------------


def _next_number(office: Office, day: date, prefix: str) -> str:
    """The next number of a queue: the sequence row is made once, then counted up with an
    UPDATE that holds it until commit, so two issues never get the same number."""
    TicketSequence.objects.get_or_create(office=office, day=day, prefix=prefix)
    sequence = TicketSequence.objects.filter(office=office, day=day, prefix=prefix)
    sequence.update(last=F("last") + 1)
    return f"{prefix}{sequence.values_list('last', flat=True).get():03d}"


def _served_here(office: Office, service: Service) -> bool:
    return Counter.objects.filter(office=office, services=service).exists()


def _issue(
    *,
    office: Office,
    service: Service,
    channel: str,
    now: datetime,
    by: User | None,
    booking: Booking | None = None,
) -> Ticket:
    rule = selectors.calling_rule(selectors.queue_settings(office))
    day = selectors.local_day(now)
    ticket = Ticket.objects.create(
        office=office,
        day=day,
        service=service,
        channel=channel,
        number=_next_number(office, day, PREFIXES[channel]),
        issued_at=now,
        issued_by=by,
        base_key=rules.base_key(channel, now, rule),
        due_at=booking.starts_at if booking is not None else None,
        booking=booking,
    )
    _record(ticket, "issued", now, by=by)
    return ticket


def ticket_issue(*, office: Office, service: Service, channel: str, by: User, now: datetime | None = None) -> Ticket:
    """A clerk's walk-in ticket (triage), at any time: one row, numbered in its queue."""
    now = now or timezone.now()
    _check_desk_staff_of(by, office)
    if channel not in TRIAGE_CHANNELS:
        raise DomainError(
            _("Priority tickets (emergency, enterprise, student, green channel) are issued at the priority desk."),
            field="channel",
            code="invalid_channel",
        )
    if not _served_here(office, service):
        raise DomainError(_("No counter of this office serves this service."), field="service", code="not_served")
    with transaction.atomic():
        return _issue(office=office, service=service, channel=channel, now=now, by=by)


def ticket_issue_for_priority(
    *, office: Office, service: Service, channel: str, by: User, now: datetime | None = None
) -> Ticket:
    """A priority channel's ticket, issued by a clerk once the priority app checked that the
    applicant may use the channel (a verified case, the green channel's age, a student's
    proof): one row, numbered in its queue, in the caller's transaction."""
    now = now or timezone.now()
    _check_desk_staff_of(by, office)
    if channel not in PRIORITY_CHANNELS:
        raise DomainError(_("This is not a priority channel."), field="channel", code="invalid_channel")
    if not _served_here(office, service):
        raise DomainError(_("No counter of this office serves this service."), field="service", code="not_served")
    with transaction.atomic():
        return _issue(office=office, service=service, channel=channel, now=now, by=by)


def is_open(office: Office, now: datetime) -> bool:
    """Whether `now` falls in one of the office's opening sessions of that day's kind."""
    local = timezone.localtime(now, selectors.OFFICE_TZ)
    kind = bookings.day_kind_of(core.work_calendar(), local.date())
    return any(
        session.opens_at <= local.time() < session.closes_at
        for session in OpeningSession.objects.filter(office=office, day_kind=kind)
    )


def ticket_issue_at_kiosk(*, office: Office, service: Service, by: User, now: datetime | None = None) -> Ticket:
    """A walk-in ticket the applicant takes at the office's kiosk: only in opening hours and
    within the office's daily quota of kiosk tickets (walk-ins that any of its kiosks issued
    today; check-ins are not counted). The day's count is read under a lock
    on the queue settings row, so two kiosks cannot both take the last one."""
    now = now or timezone.now()
    if core.staff_role(by) != StaffMember.Role.KIOSK:
        raise NotAllowed(_("Only the office's kiosk issues tickets here."))
    _check_staff_of(by, office)
    if not is_open(office, now):
        raise DomainError(_("The office is closed now: tickets are issued in opening hours."), code="closed")
    if not _served_here(office, service):
        raise DomainError(_("No counter of this office serves this service."), field="service", code="not_served")
    with transaction.atomic():
        figures = selectors.queue_settings(office)
        type(figures).objects.select_for_update().filter(pk=figures.pk).values_list("pk").get()
        issued = Ticket.objects.filter(  # the office's kiosks' walk-ins: check-ins use none of it
            office=office,
            day=selectors.local_day(now),
            channel=TicketChannel.GENERAL,
            issued_by__staff__role=StaffMember.Role.KIOSK,
        ).count()
        if issued >= figures.daily_ticket_quota:
            raise Conflict(_("Today's tickets are all given out. Please ask at the desk."), code="quota_reached")
        return _issue(office=office, service=service, channel=TicketChannel.GENERAL, now=now, by=by)


@dataclass(frozen=True)
class CheckIn:
    booking: Booking
    ticket: Ticket


def ticket_check_in(*, code: str, office: Office, by: User, now: datetime | None = None) -> CheckIn:
    """Check a booking in (appointments' rules: its office, its day, its window) and issue
    its appointment ticket, in one transaction. Too late, the booking is marked late and the
    refusal says to take a walk-in ticket."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            booking = bookings.booking_check_in(code=code, office=office, by=by, now=now)
            ticket = _issue(
                office=office,
                service=booking.service,
                channel=TicketChannel.APPOINTMENT,
                now=now,
                by=by,
                booking=booking,
            )
    except DomainError as exc:
        if exc.code == "too_late":
            late = Booking.objects.filter(reference=bookings.check_in_code_to_reference(code)).first()
            if late is not None:
                bookings.booking_mark_late(booking=late, by=by, now=now)
        raise
    return CheckIn(booking=booking, ticket=ticket)


# --- counters --------------------------------------------------------------------------------


def counter_open(*, counter: Counter, by: User, now: datetime | None = None) -> CounterShift:
    """Open a counter for the calling clerk: a counter has one clerk, a clerk one counter."""
    now = now or timezone.now()
    _check_staff_of(by, counter.office)
    if core.staff_role(by) == StaffMember.Role.KIOSK:
        raise NotAllowed(_("A kiosk does not staff counters."))
    try:
        with transaction.atomic():
            return CounterShift.objects.create(counter=counter, clerk=by, opened_at=now)
    except IntegrityError:
        mine = CounterShift.objects.filter(clerk=by, closed_at__isnull=True).select_related("counter").first()
        if mine is not None and mine.counter_id == counter.pk:
            return mine  # already open, by this clerk: opening again changes nothing
        if mine is not None:
            raise Conflict(
                _("You already staff window %(number)s. Close it first.") % {"number": mine.counter.number},
                code="clerk_busy",
            ) from None
        raise Conflict(_("Another clerk staffs this counter."), code="counter_taken") from None


def _locked_shift(counter: Counter, by: User) -> CounterShift:
    """The counter's open shift, locked, if the caller staffs it."""
    _check_staff_of(by, counter.office)
    shift = CounterShift.objects.select_for_update().filter(counter=counter, closed_at__isnull=True).first()
    if shift is None:
        raise CounterClosed
    if shift.clerk_id != by.pk:
        raise NotAllowed(_("Another clerk staffs this counter."))
    return shift


def counter_close(*, counter: Counter, by: User, now: datetime | None = None) -> Counter:
    """Close the caller's counter; a ticket still being served there must be finished first."""
    now = now or timezone.now()
    with transaction.atomic():
        shift = _locked_shift(counter, by)
        if Ticket.objects.filter(counter=counter, status=Ticket.Status.CALLED).exists():
            raise Conflict(_("Finish, park or transfer the current ticket first."), code="ticket_open")
        CounterShift.objects.filter(pk=shift.pk).update(closed_at=now)
    return counter


# --- calling ---------------------------------------------------------------------------------


def _current(counter: Counter) -> Ticket | None:
    return Ticket.objects.select_for_update().filter(counter=counter, status=Ticket.Status.CALLED).first()


def _finish(ticket: Ticket, status: str, action: str, now: datetime, by: User, counter: Counter) -> Ticket:
    Ticket.objects.filter(pk=ticket.pk).update(status=status, finished_at=now)
    ticket.status, ticket.finished_at = status, now
    _record(ticket, action, now, by=by, counter=counter)
    return ticket


def ticket_call_next(*, counter: Counter, by: User, now: datetime | None = None) -> Ticket | None:
    """End the counter's current ticket as served, if there is one, then call the next one by
    the rule (walkins.rules) or return None when nobody waits. The ticket taken is locked
    with skip_locked: a counter calling at the same moment takes the next one."""
    now = now or timezone.now()
    with transaction.atomic():
        _locked_shift(counter, by)
        current = _current(counter)
        if current is not None:
            _finish(current, Ticket.Status.COMPLETED, "completed", now, by, counter)
        rule = selectors.calling_rule(selectors.queue_settings(counter.office))
        found: list[Ticket] = []
        for tier in selectors.next_candidates(counter, now, rule):
            best = tier.select_for_update(skip_locked=True).first()
            if best is not None:
                found.append(best)
        if not found:
            return None
        ticket = max(
            found,
            key=lambda t: rules.call_order(
                selectors.as_waiting(t), now, rule, enterprise_window=counter.enterprise_window
            ),
        )
        Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.CALLED, counter=counter, called_at=now)
        ticket.status, ticket.counter, ticket.called_at = Ticket.Status.CALLED, counter, now
        _record(ticket, "called", now, by=by, counter=counter)
        tickets_notify_near_front(office=counter.office, called=ticket, now=now)
    return ticket


def _acting_on_current(counter: Counter, by: User) -> Ticket:
    _locked_shift(counter, by)
    ticket = _current(counter)
    if ticket is None:
        raise NoCurrentTicket
    return ticket


def ticket_recall(*, counter: Counter, by: User, now: datetime | None = None) -> Ticket:
    """Call the current ticket again; past the office's recall limit it is missed."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _acting_on_current(counter, by)
        if ticket.recalls >= selectors.queue_settings(counter.office).recall_limit:
            return _finish(ticket, Ticket.Status.MISSED, "missed", now, by, counter)
        Ticket.objects.filter(pk=ticket.pk).update(recalls=F("recalls") + 1, called_at=now)
        ticket.recalls += 1
        ticket.called_at = now
        _record(ticket, "recalled", now, by=by, counter=counter)
    return ticket


def ticket_complete(*, counter: Counter, by: User, now: datetime | None = None) -> Ticket:
    now = now or timezone.now()
    with transaction.atomic():
        return _finish(_acting_on_current(counter, by), Ticket.Status.COMPLETED, "completed", now, by, counter)


def ticket_no_show(*, counter: Counter, by: User, now: datetime | None = None) -> Ticket:
    now = now or timezone.now()
    with transaction.atomic():
        return _finish(_acting_on_current(counter, by), Ticket.Status.NO_SHOW, "no_show", now, by, counter)


def ticket_park(*, counter: Counter, by: User, now: datetime | None = None) -> Ticket:
    """Set the current ticket aside (the applicant fetches a document); the counter is free
    and the ticket can be called back with ticket_resume."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _acting_on_current(counter, by)
        Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.PARKED)
        ticket.status = Ticket.Status.PARKED
        _record(ticket, "parked", now, by=by, counter=counter)
    return ticket


def ticket_resume(*, ticket: Ticket, counter: Counter, by: User, now: datetime | None = None) -> Ticket:
    """Call a parked ticket of the office back, to this counter, which must be free."""
    now = now or timezone.now()
    with transaction.atomic():
        _locked_shift(counter, by)
        if _current(counter) is not None:
            raise Conflict(_("Finish the current ticket first."), code="ticket_open")
        resumed = Ticket.objects.filter(pk=ticket.pk, office_id=counter.office_id, status=Ticket.Status.PARKED).update(
            status=Ticket.Status.CALLED, counter=counter, called_at=now
        )
        if not resumed:
            raise Conflict(_("This ticket is not parked."), code="not_parked")
        ticket.refresh_from_db()
        _record(ticket, "resumed", now, by=by, counter=counter)
    return ticket


def ticket_transfer(*, counter: Counter, service: Service, by: User, now: datetime | None = None) -> Ticket:
    """Send the current ticket to another service's queue: it waits again in its place (its
    key is kept), for a counter serving that service."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _acting_on_current(counter, by)
        if service.pk == ticket.service_id:
            raise DomainError(_("The ticket is already for this service."), field="service", code="same_service")
        if not _served_here(counter.office, service):
            raise DomainError(_("No counter of this office serves this service."), field="service", code="not_served")
        Ticket.objects.filter(pk=ticket.pk).update(
            status=Ticket.Status.WAITING, service=service, counter=None, called_at=None
        )
        ticket.refresh_from_db()
        _record(ticket, "transferred", now, by=by, counter=counter)
    return ticket


# --- end of day (django-q2) -----------------------------------------------------------------


def queues_close_day(*, now: datetime | None = None) -> int:
    """Close the counters still open from a past day, and record the tickets of past days
    that were never finished (still waiting, parked or called at closing) as not served,
    keeping them for the day's figures. Returns how many tickets. Idempotent."""
    now = now or timezone.now()
    today = selectors.local_day(now)
    start_of_today = datetime.combine(today, datetime.min.time(), tzinfo=selectors.OFFICE_TZ)
    CounterShift.objects.filter(closed_at__isnull=True, opened_at__lt=start_of_today).update(closed_at=now)
    left = Ticket.objects.filter(
        day__lt=today, status__in=(Ticket.Status.WAITING, Ticket.Status.PARKED, Ticket.Status.CALLED)
    )
    closed = 0
    for ticket in left.iterator():
        with transaction.atomic():
            if Ticket.objects.filter(pk=ticket.pk, status=ticket.status).update(
                status=Ticket.Status.ABANDONED, finished_at=now
            ):
                ticket.status = Ticket.Status.ABANDONED
                _record(ticket, "abandoned", now, by=None, counter=ticket.counter)
                closed += 1
    return closed


# --- public pages and devices: a mobile number on a ticket, and its SMS near the front -----


# A mobile number gets the queue SMS of at most this many tickets a day: nobody at a kiosk
# can aim the bureau's messages at a stranger's phone ticket after ticket.
QUEUE_SMS_PER_NUMBER_A_DAY = 2
NEAR_FRONT_KEY = "ticket-near-front:"


def ticket_set_phone(*, ticket: Ticket, phone: str, by: User) -> Ticket:
    """Keep a mobile number on a waiting ticket (given at the kiosk) for one SMS when it
    nears the front; only where the office sends them, once a ticket (a number kept is not
    replaced), and for at most QUEUE_SMS_PER_NUMBER_A_DAY tickets a number a day (those
    still waiting with it, and those whose SMS was written). Staff and the kiosk of the
    ticket's office."""
    _check_staff_of(by, ticket.office)
    if not selectors.queue_settings(ticket.office).notify_places_ahead:
        raise DomainError(_("This office sends no SMS about the queue."), field="phone", code="sms_off")
    number = normalize_mobile(phone[:64])
    if number is None:
        raise DomainError(
            _("Enter an 11-digit mainland mobile number, for example 13812345678."), field="phone", code="invalid_phone"
        )
    day_began = datetime.combine(ticket.day, time(0), tzinfo=selectors.OFFICE_TZ)
    with transaction.atomic():
        kept = Ticket.objects.filter(day=ticket.day, phone=number).count()
        sent = OutboxMessage.objects.filter(
            phone=number, key__startswith=NEAR_FRONT_KEY, created_at__gte=day_began
        ).count()
        if kept + sent >= QUEUE_SMS_PER_NUMBER_A_DAY:
            raise DomainError(
                _("This number already has the queue SMS of other tickets today."), field="phone", code="phone_used"
            )
        if not Ticket.objects.filter(pk=ticket.pk, status=Ticket.Status.WAITING, phone="").update(phone=number):
            if Ticket.objects.filter(pk=ticket.pk, status=Ticket.Status.WAITING).exists():
                raise Conflict(_("A mobile number is already kept for this ticket."), code="phone_set")
            raise Conflict(_("This ticket is no longer waiting."), code="not_waiting")
    ticket.phone = number
    return ticket


def _near_front_text(office: Office, ticket: Ticket, ahead: int) -> str:
    values = {"number": ticket.number, "office": office.name, "ahead": ahead}
    if ahead == 0:
        return _("Ticket %(number)s at %(office)s: you are next. Please come to the hall now.") % values
    return (
        ngettext(
            "Ticket %(number)s at %(office)s: %(ahead)d person is ahead of you. Please come back to the hall now.",
            "Ticket %(number)s at %(office)s: %(ahead)d people are ahead of you. Please come back to the hall now.",
            ahead,
        )
        % values
    )


def tickets_notify_near_front(*, office: Office, called: Ticket, now: datetime) -> int:
    """After a call: write one SMS (outbox, in the caller's transaction; one key a ticket, so
    it goes once) to each ticket of the called ticket's queue that left a mobile number and
    now has at most the office's `notify_places_ahead` people ahead, in Chinese then English;
    the number is then cleared from the ticket, and from the called one. Returns how many."""
    places = selectors.queue_settings(office).notify_places_ahead
    if not places:
        return 0
    Ticket.objects.filter(pk=called.pk).exclude(phone="").update(phone="")
    written = 0
    front = selectors.front_of_queue(office=office, service_id=called.service_id, places=places, now=now)
    for ahead, ticket in enumerate(front):
        if not ticket.phone:
            continue
        texts = []
        for language in ("zh-hans", "en"):
            with translation.override(language):
                texts.append(_near_front_text(office, ticket, ahead))
        message_queue(
            key=f"{NEAR_FRONT_KEY}{ticket.pk}",
            kind=OutboxMessage.Kind.REMINDER,
            reference=ticket.number,
            phone=ticket.phone,
            text="\n".join(texts),
        )
        Ticket.objects.filter(pk=ticket.pk).update(phone="")
        written += 1
    return written


# --- the counter workstation: the applications accepted for a ticket -----------------------


def ticket_link_application(*, ticket: Ticket, application: Application, by: User, now: datetime | None = None) -> bool:
    """Record that `application` was accepted for `ticket` (at the counter that serves or
    served it, on the ticket's day, in its office), with an event, under a lock on the
    ticket's row; True if linked now, False if it already was (linking again changes nothing)."""
    now = now or timezone.now()
    _check_desk_staff_of(by, ticket.office)
    if application.office_id != ticket.office_id:
        raise DomainError(_("The application was accepted at another office."), code="wrong_office")
    if ticket.status not in (Ticket.Status.CALLED, Ticket.Status.COMPLETED) or ticket.counter_id is None:
        raise Conflict(_("Only a ticket a counter serves or served can have applications."), code="not_served")
    if application.accepted_on != ticket.day:
        raise DomainError(_("The application was not accepted on the ticket's day."), code="wrong_day")
    with transaction.atomic():
        # Two links at once take turns on the ticket's row, so neither inserts the pair twice.
        Ticket.objects.select_for_update().filter(pk=ticket.pk).values_list("pk").get()
        if ticket.applications.filter(pk=application.pk).exists():
            return False
        ticket.applications.add(application)
        _record(ticket, "linked", now, by=by, counter=ticket.counter)
    return True


def application_accepted_link_ticket(*, application: Application, by: User, arrival: Mapping[str, str]) -> None:
    """Acceptance follower (bureau.services.application_accepted_follow, registered in
    walkins.apps): link the ticket the accept page carried (`arrival["ticket"]`, from the
    counter workstation), if any. A ticket that cannot take the application refuses the
    acceptance with the reason, and nothing is written."""
    raw = str(arrival.get("ticket") or "")
    if not raw:
        return
    ticket = None
    if raw.isascii() and raw.isdigit() and len(raw) <= 9:
        ticket = Ticket.objects.select_related("office", "counter").filter(pk=int(raw)).first()
    if ticket is None or not core.staff_offices(by).filter(pk=ticket.office_id).exists():
        raise DomainError(
            _("The ticket this page was opened for is not one of your office's. Open it again from your counter."),
            field="ticket",
            code="unknown_ticket",
        )
    try:
        ticket_link_application(ticket=ticket, application=application, by=by)
    except DomainError as exc:
        raise DomainError(
            _("Ticket %(number)s: %(reason)s") % {"number": ticket.number, "reason": exc.message},
            field="ticket",
            code=exc.code,
        ) from exc
