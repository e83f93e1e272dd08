"""Every write of bookings: slots, booking, cancel, reschedule, check-in, holds, no-shows,
notifications. Capacity is taken with one conditional UPDATE on the slot row inside the
booking's transaction; check constraints on the slot back it."""

from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from appointments import rules, selectors
from appointments.models import Booking, BookingPolicy, Channel, PlaceHold, Slot, SlotTemplate
from appointments.selectors import OFFICE_TZ, availability_key, policy
from bureau import selectors as core
from bureau.identity import IdNumberError, normalize_id_number, normalize_mobile
from bureau.models import Office, OpeningSession, OutboxMessage, Service
from bureau.services import Conflict, DomainError, NotAllowed, message_queue, new_reference
from bureau.text import hidden_characters_problem
from bureau.workdays import WorkCalendar

# How often a day an applicant may have the manage link sent again.
LINKS_PER_DAY = 3


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


def _places_changed(office_code: str, start: datetime, slot_id: int) -> None:
    """After commit, write the slot's true counts from the database into the cached day (not
    a +1/-1 correction, which a refresh in between would count twice), rather than dropping
    the day, so a rush of readers does not all miss the cache at once."""
    transaction.on_commit(
        lambda: selectors.cached_slot_refresh(office_code=office_code, start=start, slot_id=slot_id), robust=True
    )


def _notify(booking: Booking, kind: str, key: str) -> None:
    """Write the applicant's SMS to the outbox, in the caller's transaction and the language
    they booked in."""
    with translation.override(booking.language):
        text = _message_text(booking, kind)
    message_queue(key=key, kind=kind, reference=booking.reference, phone=booking.phone, text=text)


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
                enterprise_quota=template.enterprise_quota,
                emergency_quota=template.emergency_quota,
            )
        )
        start += step
    return slots


def _slot_writers_take_turns() -> None:
    """Writers of slots (the day-opening job, a template change, a calendar change) lock the
    booking policy row first, then read the calendar: so the job cannot make slots from a
    calendar read just before a change that then misses them."""
    BookingPolicy.objects.select_for_update().get_or_create(pk=1)


def slots_generate(
    *, today: date | None = None, templates: list[SlotTemplate] | None = None, days: list[date] | None = None
) -> int:
    """Create the missing slots from tomorrow to the end of the window (only `days`, when
    given), from the templates of each day's kind; existing slots are left as they are.
    Returns how many were created."""
    today = today or core.office_today()
    window = policy().window_days
    in_window = [today + timedelta(days=offset) for offset in range(1, window + 1)]
    wanted = [day for day in in_window if days is None or day in days]
    with transaction.atomic():
        _slot_writers_take_turns()
        templates = templates or list(SlotTemplate.objects.filter(office__mode=Office.Mode.DUAL_TRACK))
        calendar = core.work_calendar()
        rows: list[Slot] = []
        for day in wanted:
            kind = day_kind_of(calendar, day)
            rows += [slot for t in templates if t.day_kind == kind for slot in _slots_for(t, day)]
        if not rows:
            return 0
        before = Slot.objects.filter(template__in={s.template_id for s in rows}).count()
        Slot.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        created = Slot.objects.filter(template__in={s.template_id for s in rows}).count() - before
        codes = Office.objects.filter(pk__in={s.office_id for s in rows}).values_list("code", flat=True)
        _forget_days(list(codes), wanted)
        for follower in slots_created_followers:
            follower(days=wanted)
    return created


# Told (in the same transaction) on which days slots were made: the priority app gives them
# the places of the channels it runs (student sessions).
slots_created_followers: list[Callable[..., None]] = []


def slots_created_follow(follower: Callable[..., None]) -> None:
    if follower not in slots_created_followers:
        slots_created_followers.append(follower)


def slots_set_quota(*, offices: list[Office], first: date, last: date, channel: str, places: int) -> int:
    """Give every future slot of the offices from `first` to `last` `places` places of
    `channel` (never fewer than it has booked: a smaller quota leaves those bookings be).
    Returns how many slots changed; their cached days are forgotten after commit."""
    start = datetime.combine(first, time.min, tzinfo=OFFICE_TZ)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=OFFICE_TZ)
    slots = Slot.objects.filter(
        office__in=offices, starts_at__gte=max(start, timezone.now()), starts_at__lt=end
    ).exclude(**{f"{channel}_quota": places})
    changed = slots.update(**{f"{channel}_quota": Greatest(Value(places), F(f"{channel}_booked"))})
    if changed:
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        _forget_days([office.code for office in offices], days)
    return changed


def _forget_days(office_codes: list[str], days: list[date]) -> None:
    keys = [availability_key(code, day) for code in office_codes for day in days]
    transaction.on_commit(lambda: selectors.cached_days_forget(keys))


def template_apply(*, template: SlotTemplate) -> int:
    """After a template changed: future slots nobody booked are made again from it; slots
    with bookings are kept as they are. Returns how many slots were created."""
    unbooked = {f"{c}_booked": 0 for c in Channel.values}
    with transaction.atomic():
        _slot_writers_take_turns()
        # Locked first: a booking in flight holds its slot's row, and once it commits the
        # row's counts are read again, so the slot it took is kept, not deleted under it.
        locked = Slot.objects.select_for_update().filter(template=template, starts_at__gt=timezone.now(), **unbooked)
        ids = list(locked.values_list("pk", flat=True))
        Slot.objects.filter(pk__in=ids, bookings__isnull=True, **unbooked).delete()
        return slots_generate(templates=[template])


def slots_follow_calendar(changed: set[date]) -> None:
    """Make the future slots of calendar days that changed follow the calendar as it now is;
    runs inside the calendar change's transaction (bureau.services.calendar_update). On each
    day, slots of the wrong kind close: a day that became a holiday has its bookings
    cancelled and each applicant gets an SMS with a link to book again; on a day that changed
    between weekday and weekend, booked slots are kept (closed to new bookings) and their
    bookings stand. Closed slots nobody booked go. Then the day gets the slots of its kind.
    Closing comes first, with an UPDATE that waits for bookings in flight on those slots, so
    a booking either committed before (and is cancelled here) or finds the slot closed."""
    today = core.office_today()
    last = today + timedelta(days=policy().window_days)  # no slots exist further ahead
    days = sorted(day for day in changed if today < day <= last)
    if not days:
        return
    _slot_writers_take_turns()
    calendar = core.work_calendar()
    touched: set[str] = set()
    for day in days:
        touched |= _day_follows(day, day_kind_of(calendar, day))
    _forget_days(sorted(touched), days)
    slots_generate(today=today, days=days)


def _day_follows(day: date, kind: str | None) -> set[str]:
    """Reopen the day's closed slots of `kind` and close the others (None: a holiday, all of
    them); returns the codes of the offices touched."""
    start = datetime.combine(day, time.min, tzinfo=OFFICE_TZ)
    on_day = Slot.objects.filter(starts_at__gte=start, starts_at__lt=start + timedelta(days=1))
    codes: set[str] = set()
    if kind is not None:
        reopened = on_day.filter(closed=True, template__day_kind=kind)
        codes |= set(reopened.values_list("office__code", flat=True))
        reopened.update(closed=False)
    stale = on_day.filter(closed=False)
    if kind is not None:
        stale = stale.exclude(template__day_kind=kind)
    ids = list(stale.values_list("pk", flat=True))
    if not ids:
        return codes
    Slot.objects.filter(pk__in=ids).update(closed=True)
    if kind is None:
        now = timezone.now()
        for booking in Booking.objects.select_related("office", "service").filter(
            slot_id__in=ids, status=Booking.Status.BOOKED
        ):
            # Only if still in a closed slot: a reschedule committed meanwhile moved it away.
            if Booking.objects.filter(pk=booking.pk, slot_id__in=ids, status=Booking.Status.BOOKED).update(
                status=Booking.Status.OFFICE_CLOSED, changed_at=now
            ):
                # The place goes back at once (nobody can take it in a closed slot), so the
                # counts are true if the day opens again.
                channel = booking.channel
                Slot.objects.filter(pk=booking.slot_id).update(**{f"{channel}_booked": F(f"{channel}_booked") - 1})
                _notify(booking, OutboxMessage.Kind.CLOSURE, f"closure:{booking.pk}:{day.isoformat()}")
    codes |= set(Office.objects.filter(slots__pk__in=ids).values_list("code", flat=True))
    Slot.objects.filter(pk__in=ids, bookings__isnull=True).delete()
    return codes


# --- booking -----------------------------------------------------------------------------


class Applicant(NamedTuple):
    """What an applicant typed, checked and in canonical form."""

    name: str
    id_number: str
    phone: str


class BookingInputError(DomainError):
    """Bad booking input, with a message for every field at fault."""


def _applicant_errors(*, name: str, id_number: str, phone: str) -> tuple[Applicant, dict[str, str]]:
    errors: dict[str, str] = {}
    name = name.strip()
    if not name:
        errors["name"] = _("Enter your name as on your ID card.")
    elif len(name) > 60:
        errors["name"] = _("A name has at most 60 characters.")
    elif problem := hidden_characters_problem(name, label=_("The name")):
        errors["name"] = problem
    try:
        number = normalize_id_number(id_number, today=core.office_today())
    except IdNumberError as exc:
        errors["id_number"] = exc.message
        number = ""
    mobile = normalize_mobile(phone)
    if mobile is None:
        errors["phone"] = _("Enter an 11-digit mainland mobile number, for example 13812345678.")
    return Applicant(name, number, mobile or ""), errors


def applicant_validated(*, name: str, id_number: str, phone: str) -> Applicant:
    """The applicant's details in canonical form, or BookingInputError naming every bad field."""
    applicant, errors = _applicant_errors(name=name, id_number=id_number, phone=phone)
    if errors:
        raise BookingInputError(next(iter(errors.values())), errors=errors)
    return applicant


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
            % {
                "date": date_format(timezone.localtime(until, OFFICE_TZ).date(), "DATE_FORMAT"),
                "n": rules_.no_show_limit,
            }
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
            _("Only days from %(first)s to %(last)s can be booked now.")
            % {"first": date_format(first, "DATE_FORMAT"), "last": date_format(last, "DATE_FORMAT")},
            field="start",
            code="outside_window",
        )
    return row


def place_take(*, slot_id: int, channel: str, office: Office, count: int = 1) -> None:
    """`count` places of `channel` in one slot, all or none, or SlotFull. The WHERE makes it
    safe under any concurrency; a slot id from a stale cache can only ever take a place at
    its own office, and never in a slot the calendar closed meanwhile. The caller's
    transaction holds the slot row until it ends."""
    taken = Slot.objects.filter(
        pk=slot_id, office_id=office.pk, closed=False, **{f"{channel}_booked__lte": F(f"{channel}_quota") - count}
    ).update(**{f"{channel}_booked": F(f"{channel}_booked") + count})
    if not taken:
        raise SlotFull


def place_return(*, slot_id: int, channel: str) -> None:
    """Give one place of `channel` back to its slot at once (no hold: nobody could have been
    handed it)."""
    Slot.objects.filter(pk=slot_id).update(**{f"{channel}_booked": F(f"{channel}_booked") - 1})


def _hold_place(booking: Booking, now: datetime, rules_: BookingPolicy) -> None:
    """Keep the booking's place back for the hold period, or return it at once if there is none."""
    channel = booking.channel
    if rules_.hold_minutes:
        PlaceHold.objects.create(
            slot_id=booking.slot_id, channel=channel, release_at=now + timedelta(minutes=rules_.hold_minutes)
        )
    else:
        place_return(slot_id=booking.slot_id, channel=channel)
        _places_changed(booking.office.code, booking.starts_at, booking.slot_id)


def booking_create(
    *,
    office: Office,
    service: Service,
    start: datetime,
    name: str,
    id_number: str,
    phone: str,
    channel: str = Channel.GENERAL,
    by: User | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Booking:
    """Book a place of `channel` (who may use a channel other than general is the caller's
    business: the priority app decides); `by`, a clerk booking on someone's behalf. Every
    bad field is named (BookingInputError) before capacity is looked at; then one place is
    taken with a conditional UPDATE of the slot row and the booking and its confirmation
    SMS (outbox) are written in the same transaction. A repeated Idempotency-Key from the
    same ID number returns the first booking."""
    if idempotency_key:
        replay = Booking.objects.filter(idempotency_key=idempotency_key).first()
        if replay is not None:
            return _replayed(replay, id_number, phone)
    try:
        return bookings_create_together(
            office=office,
            service=service,
            start=start,
            people=[{"name": name, "id_number": id_number, "phone": phone}],
            channel=channel,
            by=by,
            idempotency_key=idempotency_key,
            now=now,
        )[0]
    except IntegrityError:
        # Another request with the same Idempotency-Key won the race.
        replay = Booking.objects.filter(idempotency_key=idempotency_key).first() if idempotency_key else None
        if replay is None:
            raise
        return _replayed(replay, id_number, phone)


def bookings_create_together(
    *,
    office: Office,
    service: Service,
    start: datetime,
    people: Sequence[dict[str, str]],
    channel: str,
    by: User | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> list[Booking]:
    """Book a place of `channel` for each person (`name`, `id_number`, `phone`) in the same
    slot: all places or none (one conditional UPDATE takes them together), all bookings and
    their SMS in one transaction. Bad fields are named per person (`people.<i>.<field>`
    after the first person, whose fields keep their own names)."""
    now = now or timezone.now()
    checked = [_applicant_errors(**person) for person in people]
    applicants = [applicant for applicant, _errors in checked]
    errors = {
        (field if index == 0 else f"people.{index}.{field}"): message
        for index, (_applicant, person_errors) in enumerate(checked)
        for field, message in person_errors.items()
    }
    if not errors and len({a.id_number for a in applicants}) < len(applicants):
        errors[f"people.{len(applicants) - 1}.id_number"] = _("Each person needs their own booking.")
    rules_ = policy()
    try:
        row = _bookable_slot(office=office, service=service, start=start, now=now, rules_=rules_)
    except DomainError as exc:
        if not errors:
            raise
        errors.update(exc.errors)
    if errors:
        raise BookingInputError(next(iter(errors.values())), errors=errors)
    # The cached day may say full a little late after a place came back, never early.
    if row.remaining[Channel.values.index(channel)] < len(applicants):
        raise SlotFull
    try:
        with transaction.atomic():
            place_take(slot_id=row.slot_id, channel=channel, office=office, count=len(applicants))
            made = []
            for applicant in applicants:
                # Checked once the place is held: in a rush many attempts that got this far
                # find the slot full, and are refused without the extra query. A blocked
                # applicant's place goes back with the rollback. A clerk booking on someone's
                # behalf (an approved priority case) is not an online booking: no block.
                if by is None:
                    _check_not_blocked(applicant.id_number, rules_, now)
                booking = Booking.objects.create(
                    reference=new_reference(),
                    office=office,
                    service=service,
                    slot_id=row.slot_id,
                    starts_at=row.starts_at,
                    channel=channel,
                    name=applicant.name,
                    id_number=applicant.id_number,
                    phone=applicant.phone,
                    language=get_language() or settings.LANGUAGE_CODE,
                    created_at=now,
                    changed_at=now,
                    booked_by=by,
                    idempotency_key=idempotency_key or None,
                )
                _notify(booking, OutboxMessage.Kind.CONFIRMATION, f"confirmation:{booking.pk}")
                made.append(booking)
            _places_changed(office.code, row.starts_at, row.slot_id)
    except IntegrityError:
        # Another request won the race for one of these ID numbers and this service (or the
        # same Idempotency-Key: the caller answers that). The transaction, and the places it
        # took, are rolled back.
        if idempotency_key and Booking.objects.filter(idempotency_key=idempotency_key).exists():
            raise
        numbers = [a.id_number for a in applicants]
        if Booking.objects.filter(id_number__in=numbers, service=service, status=Booking.Status.BOOKED).exists():
            raise AlreadyBooked from None
        raise
    return made


def _replayed(booking: Booking, id_number: str, phone: str) -> Booking:
    """The booking a repeated Idempotency-Key made, to the same ID number and mobile number
    only: the answer carries the manage link's token."""
    try:
        same_person = booking.id_number == normalize_id_number(id_number, today=core.office_today())
    except IdNumberError:
        same_person = False
    if not same_person or booking.phone != normalize_mobile(phone):
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
        _notify(locked, OutboxMessage.Kind.CANCELLATION, f"cancellation:{locked.pk}")
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
        place_take(slot_id=row.slot_id, channel=locked.channel, office=locked.office)
        _hold_place(locked, now, rules_)
        Booking.objects.filter(pk=locked.pk).update(slot_id=row.slot_id, starts_at=row.starts_at, changed_at=now)
        locked.slot_id, locked.starts_at = row.slot_id, row.starts_at  # the SMS names the new time
        _places_changed(locked.office.code, row.starts_at, row.slot_id)
        # One message per move (moving back to a time had before is a new change to tell),
        # numbered under the booking's row lock.
        moves = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.CHANGE, reference=locked.reference).count()
        _notify(locked, OutboxMessage.Kind.CHANGE, f"change:{locked.pk}:{moves + 1}")
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
            _("This booking is for %(date)s, not today.") % {"date": date_format(local_start.date(), "DATE_FORMAT")},
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


def booking_resend_link(*, reference: str, id_number: str, phone: str) -> bool:
    """Send the manage link again by SMS (outbox), only to the mobile number the booking was
    made with, and only when reference, ID number and mobile number all match an active or
    checked-in booking; True if a message was written. What did not match is not told.
    At most LINKS_PER_DAY a booking, counted in the outbox itself (no cache decides)."""
    try:
        number = normalize_id_number(id_number, today=core.office_today())
    except IdNumberError:
        return False
    booking = (
        Booking.objects.select_related("office")
        .filter(
            reference="".join(reference.split()).upper()[:16],
            id_number=number,
            phone=normalize_mobile(phone) or "-",
            status__in=(Booking.Status.BOOKED, Booking.Status.CHECKED_IN),
        )
        .first()
    )
    if booking is None:
        return False
    now = timezone.now()
    with transaction.atomic():
        # Two requests at once take turns on the booking row, so both see the count.
        Booking.objects.select_for_update().filter(pk=booking.pk).values_list("pk").first()
        sent = OutboxMessage.objects.filter(
            kind=OutboxMessage.Kind.MANAGE_LINK, reference=booking.reference, created_at__gt=now - timedelta(days=1)
        )
        if sent.count() >= LINKS_PER_DAY:
            return False
        _notify(booking, OutboxMessage.Kind.MANAGE_LINK, f"manage-link:{booking.pk}:{now.timestamp()}")
    return True


def booking_mark_late(*, booking: Booking, by: User, now: datetime | None = None) -> bool:
    """Record that the applicant came on the day of the booking, after its check-in window
    closed: they are served as a walk-in, and it does not count as a no-show. True if it was
    marked now (conditional on the booking being still active and its window closed)."""
    now = now or timezone.now()
    if not core.staff_offices(by).filter(pk=booking.office_id).exists():
        raise NotAllowed(_("You are not on the staff of this office."))
    closes = booking.starts_at + timedelta(minutes=policy().check_in_after_minutes)
    same_day = timezone.localtime(booking.starts_at, OFFICE_TZ).date() == timezone.localtime(now, OFFICE_TZ).date()
    if not same_day or now <= closes:
        return False
    return bool(
        Booking.objects.filter(pk=booking.pk, status=Booking.Status.BOOKED).update(
            status=Booking.Status.LATE, changed_at=now
        )
    )


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
            _places_changed(hold.slot.office.code, hold.slot.starts_at, hold.slot_id)
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
    due = Booking.objects.select_related("office").filter(
        status=Booking.Status.BOOKED,
        starts_at__gte=start,
        starts_at__lt=start + timedelta(days=1),
        reminded_at__isnull=True,
    )
    count = 0
    for booking in due:
        with transaction.atomic():
            if Booking.objects.filter(pk=booking.pk, reminded_at__isnull=True).update(reminded_at=timezone.now()):
                _notify(booking, OutboxMessage.Kind.REMINDER, f"reminder:{booking.pk}:{tomorrow.isoformat()}")
                count += 1
    return count


# --- notifications ----------------------------------------------------------------------------


def manage_link(booking: Booking) -> str:
    """The absolute address of the booking's private manage page, for an SMS."""
    path = reverse("booking-manage", args=[booking.reference, selectors.booking_token(booking.reference)])
    return f"{settings.PUBLIC_BASE_URL}{path}"


def rebook_link(booking: Booking) -> str:
    path = reverse("book-office", args=[booking.office.code])
    return f"{settings.PUBLIC_BASE_URL}{path}?service={booking.service_id}"


def _when(moment: datetime) -> str:
    local = timezone.localtime(moment, OFFICE_TZ)
    return f"{date_format(local.date(), 'DATE_FORMAT')} {local:%H:%M}"


def _message_text(booking: Booking, kind: str) -> str:
    values = {
        "reference": booking.reference,
        "office": booking.office.name,
        "when": _when(booking.starts_at),
        "day": date_format(timezone.localtime(booking.starts_at, OFFICE_TZ).date(), "DATE_FORMAT"),
    }
    Kind = OutboxMessage.Kind
    if kind == Kind.CONFIRMATION:
        return _(
            "Booked: %(when)s at %(office)s, reference %(reference)s. Bring your ID card. Change or cancel: %(link)s"
        ) % {**values, "link": manage_link(booking)}
    if kind == Kind.MANAGE_LINK:
        return _("Your link to change or cancel appointment %(reference)s: %(link)s") % {
            **values,
            "link": manage_link(booking),
        }
    if kind == Kind.CLOSURE:
        return _(
            "%(office)s is closed on %(day)s (public holiday), so your appointment %(reference)s is cancelled. "
            "Please choose another time: %(link)s"
        ) % {**values, "link": rebook_link(booking)}
    texts: dict[str, str] = {
        Kind.CHANGE: _("Your appointment %(reference)s is now at %(when)s, %(office)s."),
        Kind.CANCELLATION: _("Your appointment %(reference)s at %(when)s is cancelled."),
        Kind.REMINDER: _("Reminder: tomorrow %(when)s at %(office)s, reference %(reference)s."),
    }
    return texts[kind] % values


def policy_update(*, policy: BookingPolicy, fields: list[str] | None = None) -> BookingPolicy:
    """Write the booking policy (only `fields`, when given); after commit, forget the cached
    policy, so the next booking in this process follows it."""
    policy.save(update_fields=fields)
    transaction.on_commit(selectors.policy_changed)
    return policy
