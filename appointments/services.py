"""Every write of bookings: slots, booking, cancel, reschedule, check-in, holds, no-shows,
notifications. Capacity is taken with one conditional UPDATE on the slot row inside the
booking's transaction; check constraints on the slot back it."""

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from appointments import rules, selectors
from appointments.models import Booking, BookingPolicy, Channel, PlaceHold, Slot, SlotTemplate, SmsMessage
from appointments.selectors import OFFICE_TZ, availability_key, policy
from bureau import selectors as core
from bureau.identity import IdNumberError, normalize_id_number
from bureau.models import Office, OpeningSession, Service
from bureau.services import Conflict, DomainError, NotAllowed, new_reference
from bureau.workdays import WorkCalendar

PUBLIC_CHANNELS = (Channel.GENERAL, Channel.STUDENT)


class SlotFull(Conflict):
    code = "slot_full"

    def __init__(self) -> None:
        super().__init__(_("This slot is fully booked. Please choose another time."))


class AlreadyBooked(Conflict):
    code = "already_booked"

    def __init__(self) -> None:
        super().__init__(_("This ID number already has a booking for this service."))


class Blocked(NotAllowed):
    code = "blocked"


def _places_changed(office_code: str, start: datetime, channel: str, delta: int) -> None:
    """After commit, correct the cached day in place rather than dropping it, so a rush of
    readers does not all miss the cache at once."""
    transaction.on_commit(
        lambda: selectors.cached_places_adjust(office_code=office_code, start=start, channel=channel, delta=delta),
        robust=True,
    )


def _send(booking: Booking, kind: str, key: str) -> None:
    from appointments.tasks import send_booking_message

    # robust: a broker that is down must not fail a committed booking; the message is lost
    # only if the broker is, and the booking stays the source of truth.
    transaction.on_commit(lambda: send_booking_message.delay(booking.pk, kind, key), robust=True)


# --- slots -----------------------------------------------------------------------------


def day_kind_of(calendar: WorkCalendar, day: date) -> str | None:
    """Which templates apply on a day: working days (make-up days included) take the
    weekday ones; weekends that are not public holidays the weekend ones; holidays none."""
    if calendar.is_working_day(day):
        return OpeningSession.DayKind.WEEKDAY
    if day in calendar.holidays:
        return None
    return OpeningSession.DayKind.WEEKEND


def _slots_for(template: SlotTemplate, day: date) -> list[Slot]:
    step = timedelta(minutes=template.slot_minutes)
    start = datetime.combine(day, template.starts_at, tzinfo=OFFICE_TZ)
    end_of_session = datetime.combine(day, template.ends_at, tzinfo=OFFICE_TZ)
    slots = []
    while start + step <= end_of_session:
        slots.append(
            Slot(
                office_id=template.office_id,
                template=template,
                starts_at=start,
                ends_at=start + step,
                general_quota=template.general_quota,
                student_quota=template.student_quota,
                enterprise_quota=template.enterprise_quota,
                emergency_quota=template.emergency_quota,
            )
        )
        start += step
    return slots


def slots_generate(*, today: date | None = None, templates: list[SlotTemplate] | None = None) -> int:
    """Create the missing slots from tomorrow to the end of the window (plus the day that
    opens next); existing slots are left as they are. Returns how many were created."""
    today = today or core.office_today()
    window = policy().window_days
    templates = templates or list(SlotTemplate.objects.filter(office__mode=Office.Mode.DUAL_TRACK))
    calendar = core.work_calendar()
    rows: list[Slot] = []
    for offset in range(1, window + 1):
        day = today + timedelta(days=offset)
        kind = day_kind_of(calendar, day)
        rows += [slot for t in templates if t.day_kind == kind for slot in _slots_for(t, day)]
    if not rows:
        return 0
    before = Slot.objects.filter(template__in={s.template_id for s in rows}).count()
    Slot.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    created = Slot.objects.filter(template__in={s.template_id for s in rows}).count() - before
    codes = Office.objects.filter(pk__in={s.office_id for s in rows}).values_list("code", flat=True)
    keys = [availability_key(code, today + timedelta(days=o)) for code in codes for o in range(1, window + 1)]
    transaction.on_commit(lambda: selectors.cached_days_forget(keys))
    return created


def template_apply(*, template: SlotTemplate) -> int:
    """After a template changed: future slots nobody booked are made again from it; slots
    with bookings are kept as they are. Returns how many slots were created."""
    with transaction.atomic():
        Slot.objects.filter(template=template, starts_at__gt=timezone.now(), bookings__isnull=True).filter(
            **{f"{c}_booked": 0 for c in Channel.values}
        ).delete()
        return slots_generate(templates=[template])


# --- booking -----------------------------------------------------------------------------


def _validated_applicant(
    *, name: str, id_number: str, phone: str, channel: str, school: str, student_proof: str
) -> tuple[str, str, str]:
    errors: dict[str, str] = {}
    name = name.strip()
    if not name:
        errors["name"] = _("Enter your name as on your ID card.")
    elif len(name) > 60:
        errors["name"] = _("A name has at most 60 characters.")
    try:
        number = normalize_id_number(id_number, today=core.office_today())
    except IdNumberError as exc:
        errors["id_number"] = exc.message
        number = ""
    mobile = rules.normalize_mobile(phone)
    if mobile is None:
        errors["phone"] = _("Enter an 11-digit mainland mobile number, for example 13812345678.")
    if channel not in PUBLIC_CHANNELS:
        errors["channel"] = _("Choose general or student session.")
    if channel == Channel.STUDENT:
        if not school.strip():
            errors["school"] = _("Enter your school for a student session.")
        if not student_proof.strip():
            errors["student_proof"] = _("Enter the admission notice or student card number.")
    if errors:
        field, message = next(iter(errors.items()))
        raise BookingInputError(message, field=field, errors=errors)
    return name, number, mobile or ""


class BookingInputError(DomainError):
    """Bad applicant input, with a message for every field at fault."""


def _check_not_blocked(id_number: str, rules_: BookingPolicy, now: datetime) -> None:
    period = timedelta(days=rules_.no_show_period_days)
    block = timedelta(days=rules_.block_days)
    missed = Booking.objects.filter(
        id_number=id_number, status=Booking.Status.NO_SHOW, starts_at__gte=now - period - block
    ).values_list("starts_at", flat=True)
    until = rules.blocked_until(list(missed), limit=rules_.no_show_limit, period=period, block=block)
    if until and until > now:
        raise Blocked(
            _(
                "Online booking is closed to this ID number until %(date)s after %(n)d missed appointments. "
                "You can still come as a walk-in."
            )
            % {"date": timezone.localtime(until, OFFICE_TZ).date().isoformat(), "n": rules_.no_show_limit}
        )


def _bookable_slot(
    *, office: Office, service: Service, start: datetime, now: datetime, rules_: BookingPolicy
) -> selectors.DayRow:
    """The cached row of the office's slot at `start` that serves the service, inside the
    booking window. The row is at most a second old; the conditional UPDATE that takes the
    place is what decides."""
    if office.mode != Office.Mode.DUAL_TRACK:
        raise DomainError(
            _("This office takes walk-ins only; no booking is needed."), field="office", code="walk_in_only"
        )
    row = selectors.slot_serving(office_code=office.code, service_code=service.code, start=start)
    if row is None:
        raise DomainError(_("There is no slot for this service at that time."), field="start", code="no_such_slot")
    first, last = selectors.bookable_range(now, rules_=rules_)
    if not first <= timezone.localtime(start, OFFICE_TZ).date() <= last:
        raise DomainError(
            _("Only days from %(first)s to %(last)s can be booked now.") % {"first": first, "last": last},
            field="start",
            code="outside_window",
        )
    return row


def _take_place(slot_id: int, channel: str, office: Office) -> None:
    """One place of `channel`, or SlotFull. The WHERE makes it safe under any concurrency,
    and a slot id from a stale cache can only ever take a place at its own office."""
    taken = Slot.objects.filter(
        pk=slot_id, office_id=office.pk, **{f"{channel}_booked__lt": F(f"{channel}_quota")}
    ).update(**{f"{channel}_booked": F(f"{channel}_booked") + 1})
    if not taken:
        raise SlotFull


def _hold_place(booking: Booking, now: datetime, rules_: BookingPolicy) -> None:
    """Keep the booking's place back for the hold period, or return it at once if there is none."""
    channel = booking.channel
    if rules_.hold_minutes:
        PlaceHold.objects.create(
            slot_id=booking.slot_id, channel=channel, release_at=now + timedelta(minutes=rules_.hold_minutes)
        )
    else:
        Slot.objects.filter(pk=booking.slot_id).update(**{f"{channel}_booked": F(f"{channel}_booked") - 1})
        _places_changed(booking.office.code, booking.starts_at, channel, +1)


def booking_create(
    *,
    office: Office,
    service: Service,
    start: datetime,
    name: str,
    id_number: str,
    phone: str,
    channel: str = Channel.GENERAL,
    school: str = "",
    student_proof: str = "",
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Booking:
    """Book a place. Takes one place with a conditional UPDATE of the slot row and inserts
    the booking in the same transaction; confirmation SMS after commit. A repeated
    Idempotency-Key from the same ID number returns the first booking."""
    now = now or timezone.now()
    if idempotency_key:
        replay = Booking.objects.filter(idempotency_key=idempotency_key).first()
        if replay is not None:
            return _replayed(replay, id_number)
    name, number, mobile = _validated_applicant(
        name=name, id_number=id_number, phone=phone, channel=channel, school=school, student_proof=student_proof
    )
    rules_ = policy()
    row = _bookable_slot(office=office, service=service, start=start, now=now, rules_=rules_)
    if row.remaining[Channel.values.index(channel)] <= 0:
        raise SlotFull
    try:
        with transaction.atomic():
            _take_place(row.slot_id, channel, office)
            # Checked once the place is held: in a rush many attempts that got this far
            # find the slot full, and are refused without the extra query. A blocked
            # applicant's place goes back with the rollback.
            _check_not_blocked(number, rules_, now)
            booking = Booking.objects.create(
                reference=new_reference(),
                office=office,
                service=service,
                slot_id=row.slot_id,
                starts_at=row.starts_at,
                channel=channel,
                name=name,
                id_number=number,
                phone=mobile,
                school=school.strip() if channel == Channel.STUDENT else "",
                student_proof=student_proof.strip() if channel == Channel.STUDENT else "",
                language=get_language() or settings.LANGUAGE_CODE,
                created_at=now,
                changed_at=now,
                idempotency_key=idempotency_key or None,
            )
            _places_changed(office.code, row.starts_at, channel, -1)
            _send(booking, SmsMessage.Kind.CONFIRMATION, f"confirmation:{booking.pk}")
    except IntegrityError:
        # Another request won the race: the same Idempotency-Key, or this ID number and
        # service. The transaction, and the place it took, are rolled back.
        if idempotency_key:
            replay = Booking.objects.filter(idempotency_key=idempotency_key).first()
            if replay is not None:
                return _replayed(replay, id_number)
        if Booking.objects.filter(id_number=number, service=service, status=Booking.Status.BOOKED).exists():
            raise AlreadyBooked from None
        raise
    return booking


def _replayed(booking: Booking, id_number: str) -> Booking:
    try:
        same_person = booking.id_number == normalize_id_number(id_number, today=core.office_today())
    except IdNumberError:
        same_person = False
    if not same_person:
        raise Conflict(_("This Idempotency-Key was used for another booking."), code="idempotency_key_reused")
    return booking


def _locked_changeable(booking: Booking, now: datetime) -> Booking:
    """The booking row locked and read again as committed now (a reschedule committed
    meanwhile may have moved it), if it may still be changed; refuses otherwise. No join in
    the locking query: PostgreSQL would drop the row if a concurrent reschedule changed the
    joined slot."""
    locked = Booking.objects.select_for_update().filter(pk=booking.pk).first()
    if locked is None or locked.status != Booking.Status.BOOKED:
        raise Conflict(_("This booking is no longer active."), code="not_active")
    if now >= locked.starts_at:
        raise DomainError(_("The appointment has started; it can no longer be changed."), code="too_late")
    locked.office = Office.objects.get(pk=locked.office_id)
    return locked


def booking_cancel(*, booking: Booking, now: datetime | None = None) -> Booking:
    """Cancel before the slot starts; the place is held back, then returns to the pool."""
    now = now or timezone.now()
    rules_ = policy()
    with transaction.atomic():
        locked = _locked_changeable(booking, now)
        Booking.objects.filter(pk=locked.pk).update(status=Booking.Status.CANCELLED, changed_at=now)
        _hold_place(locked, now, rules_)
        _send(locked, SmsMessage.Kind.CANCELLATION, f"cancellation:{locked.pk}")
    booking.refresh_from_db()
    return booking


def booking_reschedule(*, booking: Booking, start: datetime, now: datetime | None = None) -> Booking:
    """Move to another slot of the same office and service in one transaction: the new
    place is taken (row lock on the booking, conditional UPDATE on the new slot) before the
    old one is let go, so a full slot leaves the booking where it was."""
    now = now or timezone.now()
    rules_ = policy()
    with transaction.atomic():
        locked = _locked_changeable(booking, now)
        row = _bookable_slot(office=locked.office, service=locked.service, start=start, now=now, rules_=rules_)
        if row.slot_id == locked.slot_id:
            raise DomainError(_("This is already the booked time."), field="start", code="same_slot")
        _take_place(row.slot_id, locked.channel, locked.office)
        _hold_place(locked, now, rules_)
        Booking.objects.filter(pk=locked.pk).update(slot_id=row.slot_id, starts_at=row.starts_at, changed_at=now)
        _places_changed(locked.office.code, row.starts_at, locked.channel, -1)
        _send(locked, SmsMessage.Kind.CHANGE, f"change:{locked.pk}:{row.slot_id}")
    booking.refresh_from_db()
    return booking


def check_in_code_to_reference(code: str) -> str:
    """The QR code holds the reference; staff may also type it."""
    return "".join(code.split()).upper()


def booking_check_in(*, code: str, office: Office, by: User, now: datetime | None = None) -> Booking:
    """Check a booking in at its office on its day inside the check-in window; refuses with
    the reason otherwise. Conditional on the booking still being active."""
    now = now or timezone.now()
    if not core.staff_offices(by).filter(pk=office.pk).exists():
        raise NotAllowed(_("You are not on the staff of this office."))
    booking = (
        Booking.objects.select_related("office", "service").filter(reference=check_in_code_to_reference(code)).first()
    )
    if booking is None:
        raise DomainError(_("No booking has this reference."), field="code", code="unknown_booking")
    if booking.office_id != office.pk:
        raise DomainError(
            _("This booking is for %(office)s.") % {"office": booking.office.name}, field="code", code="wrong_office"
        )
    if booking.status != Booking.Status.BOOKED:
        raise DomainError(
            _("This booking is %(status)s.") % {"status": booking.get_status_display()},
            field="code",
            code="not_active",
        )
    start = booking.starts_at
    local_start = timezone.localtime(start, OFFICE_TZ)
    if local_start.date() != timezone.localtime(now, OFFICE_TZ).date():
        raise DomainError(
            _("This booking is for %(date)s, not today.") % {"date": local_start.date().isoformat()},
            field="code",
            code="wrong_day",
        )
    rules_ = policy()
    opens = start - timedelta(minutes=rules_.check_in_before_minutes)
    closes = start + timedelta(minutes=rules_.check_in_after_minutes)
    if now < opens:
        raise DomainError(
            _("Too early: check-in opens at %(time)s.")
            % {"time": timezone.localtime(opens, OFFICE_TZ).strftime("%H:%M")},
            field="code",
            code="too_early",
        )
    if now > closes:
        raise DomainError(
            _("Too late: check-in closed at %(time)s; please take a walk-in ticket.")
            % {"time": timezone.localtime(closes, OFFICE_TZ).strftime("%H:%M")},
            field="code",
            code="too_late",
        )
    # Only if still active at the time checked above: a reschedule may have moved it since.
    moved = Booking.objects.filter(pk=booking.pk, status=Booking.Status.BOOKED, starts_at=start).update(
        status=Booking.Status.CHECKED_IN, changed_at=now, checked_in_at=now, checked_in_by=by
    )
    if not moved:
        raise Conflict(_("This booking was changed a moment ago; try again."), code="not_active")
    booking.refresh_from_db()
    return booking


# --- housekeeping (django-q2) --------------------------------------------------------------


def holds_release(*, now: datetime | None = None) -> int:
    """Return held places whose time is up to their slots. Each hold is flipped with a
    conditional UPDATE first, so a second run (or a parallel one) returns nothing twice."""
    now = now or timezone.now()
    released = 0
    for hold in PlaceHold.objects.filter(released=False, release_at__lte=now).select_related("slot__office"):
        with transaction.atomic():
            if not PlaceHold.objects.filter(pk=hold.pk, released=False).update(released=True):
                continue
            Slot.objects.filter(pk=hold.slot_id).update(**{f"{hold.channel}_booked": F(f"{hold.channel}_booked") - 1})
            _places_changed(hold.slot.office.code, hold.slot.starts_at, hold.channel, +1)
        released += 1
    return released


def no_shows_sweep(*, now: datetime | None = None) -> int:
    """Mark bookings not checked in by the end of their check-in window as no-shows."""
    now = now or timezone.now()
    closes = now - timedelta(minutes=policy().check_in_after_minutes)
    return Booking.objects.filter(status=Booking.Status.BOOKED, starts_at__lt=closes).update(
        status=Booking.Status.NO_SHOW, changed_at=now
    )


def reminders_send(*, today: date | None = None) -> int:
    """Queue a reminder for every active booking of tomorrow that has none yet."""
    today = today or core.office_today()
    tomorrow = today + timedelta(days=1)
    start = datetime.combine(tomorrow, time.min, tzinfo=OFFICE_TZ)
    due = Booking.objects.filter(
        status=Booking.Status.BOOKED,
        starts_at__gte=start,
        starts_at__lt=start + timedelta(days=1),
        reminded_at__isnull=True,
    )
    count = 0
    for booking in due:
        with transaction.atomic():
            if Booking.objects.filter(pk=booking.pk, reminded_at__isnull=True).update(reminded_at=timezone.now()):
                _send(booking, SmsMessage.Kind.REMINDER, f"reminder:{booking.pk}:{tomorrow.isoformat()}")
                count += 1
    return count


# --- notifications ----------------------------------------------------------------------------


def _message_text(booking: Booking, kind: str) -> str:
    when = timezone.localtime(booking.starts_at, OFFICE_TZ).strftime("%Y-%m-%d %H:%M")
    values = {"reference": booking.reference, "office": booking.office.name, "when": when}
    texts: dict[str, str] = {
        SmsMessage.Kind.CONFIRMATION: _("Booked: %(when)s at %(office)s, reference %(reference)s. Bring your ID card."),
        SmsMessage.Kind.CHANGE: _("Your appointment %(reference)s is now at %(when)s, %(office)s."),
        SmsMessage.Kind.CANCELLATION: _("Your appointment %(reference)s at %(when)s is cancelled."),
        SmsMessage.Kind.REMINDER: _("Reminder: tomorrow %(when)s at %(office)s, reference %(reference)s."),
    }
    return texts[kind] % values


def booking_message_send(*, booking_id: int, kind: str, key: str) -> bool:
    """Send one SMS at most once per key; True if it was sent now. A failed send leaves the
    message unsent for the task's retry."""
    from django.utils import translation

    from appointments.sms import send_sms

    booking = Booking.objects.select_related("office").get(pk=booking_id)
    message, _created = SmsMessage.objects.get_or_create(key=key, defaults={"booking": booking, "kind": kind})
    if message.sent_at is not None:
        return False
    with translation.override(booking.language):
        send_sms(booking.phone, _message_text(booking, kind))
    return bool(SmsMessage.objects.filter(pk=message.pk, sent_at__isnull=True).update(sent_at=timezone.now()))
