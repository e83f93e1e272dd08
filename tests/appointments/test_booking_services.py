"""Booking rules: capacity, one active booking, window, cancel + hold, reschedule,
check-in window, no-shows, reminders, notifications."""

from datetime import time, timedelta
from unittest import mock

import pytest
from django.core.cache import caches

from appointments import selectors, services
from appointments.models import Booking, BookingPolicy, PlaceHold, Slot, SlotTemplate
from appointments.services import AlreadyBooked, Blocked, BookingInputError, SlotFull
from bureau.models import OutboxMessage
from bureau.services import Conflict, DomainError, NotAllowed
from tests.appointments.conftest import NOW, TODAY, at
from tests.factories import OfficeFactory, ServiceFactory, clerk

pytestmark = pytest.mark.django_db

IDS = ["33010619900101123X", "11010519491231002X", "440300198511105416", "330102200002290015"]


def book(office, service, start, id_number=IDS[0], now=NOW, **extra):
    fields = {"name": "王小晶", "id_number": id_number, "phone": "13812345678"}
    return services.booking_create(office=office, service=service, start=start, now=now, **{**fields, **extra})


def test_slots_generate_follows_the_calendar_and_is_idempotent(template, official_calendar) -> None:
    created = services.slots_generate(today=TODAY)
    # Dec 2-15: 10 working days (weekends have no weekday template), 2 half-hour slots each
    assert created == 20
    assert services.slots_generate(today=TODAY) == 0
    first = Slot.objects.order_by("starts_at").first()
    assert first is not None
    assert (first.starts_at, first.ends_at, first.general_quota) == (at(2, 9), at(2, 9, 30), 3)


def test_slots_generate_skips_holidays_and_opens_make_up_days(office, service, official_calendar) -> None:
    weekday = SlotTemplate.objects.create(office=office, day_kind="weekday", starts_at=time(9), ends_at=time(9, 30))
    weekend = SlotTemplate.objects.create(office=office, day_kind="weekend", starts_at=time(9), ends_at=time(9, 30))
    services.slots_generate(today=TODAY.replace(month=9, day=27), templates=[weekday, weekend])
    days = {s.starts_at.astimezone(at(1, 0).tzinfo).date().isoformat(): s.template_id for s in Slot.objects.all()}
    assert "2026-10-01" not in days  # National Day: closed
    assert days["2026-10-10"] == weekday.pk  # make-up Saturday: a working day
    assert days["2026-10-11"] == weekend.pk  # ordinary Sunday: weekend sessions
    assert days["2026-09-28"] == weekday.pk


def test_booking_takes_a_place_and_sends_confirmation_after_commit(
    office, service, slot, django_capture_on_commit_callbacks, settings, tmp_path
) -> None:
    settings.SMS_BACKEND = "bureau.sms.FileBackend"
    settings.SMS_FILE_DIR = str(tmp_path)
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(office, service, at(2, 9), id_number="33010619900101123x", phone="138 1234 5678")
    slot.refresh_from_db()
    assert slot.general_booked == 1
    assert (booking.status, booking.id_number, booking.phone) == ("booked", IDS[0], "13812345678")
    sent = [p.read_text() for p in tmp_path.iterdir()]
    assert len(sent) == 1
    assert booking.reference in sent[0]
    # The SMS carries the manage link: a lost page can be found again from the phone.
    assert f"/book/manage/{booking.reference}/{selectors.booking_token(booking.reference)}/" in sent[0]
    assert OutboxMessage.objects.get().sent_at is not None


def test_full_slot_is_slot_full_and_writes_nothing(office, service, slot) -> None:
    for number in IDS[:3]:
        book(office, service, at(2, 9), id_number=number)
    with pytest.raises(SlotFull):
        book(office, service, at(2, 9), id_number=IDS[3])
    slot.refresh_from_db()
    assert slot.general_booked == 3
    assert Booking.objects.count() == 3


def test_a_channel_uses_its_own_quota(office, service, slot) -> None:
    book(office, service, at(2, 9), channel="student")
    with pytest.raises(SlotFull):
        book(office, service, at(2, 9), id_number=IDS[1], channel="student")
    book(office, service, at(2, 9), id_number=IDS[2], channel="emergency")
    slot.refresh_from_db()
    assert (slot.student_booked, slot.emergency_booked, slot.general_booked) == (1, 1, 0)


def test_people_booked_together_take_places_for_all_or_none(office, service, slot) -> None:
    people = [{"name": "王小晶", "id_number": number, "phone": "13812345678"} for number in IDS[:2]]
    with pytest.raises(SlotFull):  # one student place, two people
        services.bookings_create_together(
            office=office, service=service, start=at(2, 9), people=people, channel="student", now=NOW
        )
    slot.refresh_from_db()
    assert (slot.student_booked, Booking.objects.count()) == (0, 0)
    made = services.bookings_create_together(
        office=office, service=service, start=at(2, 9), people=people, channel="general", now=NOW
    )
    slot.refresh_from_db()
    assert [b.id_number for b in made] == IDS[:2] and slot.general_booked == 2


def test_people_booked_together_are_each_named_by_their_bad_fields(office, service, slot) -> None:
    people = [
        {"name": "王小晶", "id_number": IDS[0], "phone": "123"},
        {"name": "", "id_number": IDS[0], "phone": "13812345678"},
    ]
    with pytest.raises(BookingInputError) as caught:
        services.bookings_create_together(
            office=office, service=service, start=at(2, 9), people=people, channel="general", now=NOW
        )
    assert set(caught.value.errors) == {"phone", "people.1.name"}
    assert Booking.objects.count() == 0


def test_one_active_booking_per_id_number_and_service(
    office, service, slot, django_capture_on_commit_callbacks
) -> None:
    book(office, service, at(2, 9))
    with pytest.raises(AlreadyBooked):
        book(office, service, at(2, 9, 30))
    other_service = ServiceFactory.create(document="taiwan", business="first")
    slot.template.services.add(other_service)
    with django_capture_on_commit_callbacks(execute=True):
        services.template_apply(template=slot.template)  # as saving the template in the admin does
    book(office, other_service, at(2, 9, 30))  # another service is fine
    assert Booking.objects.count() == 2


def test_idempotency_key_returns_the_same_booking_and_refuses_another_person(office, service, slot) -> None:
    first = book(office, service, at(2, 9), idempotency_key="retry-key-0001")
    again = book(office, service, at(2, 9), idempotency_key="retry-key-0001")
    assert again.pk == first.pk
    with pytest.raises(Conflict) as caught:
        book(office, service, at(2, 9), id_number=IDS[1], idempotency_key="retry-key-0001")
    assert caught.value.code == "idempotency_key_reused"
    slot.refresh_from_db()
    assert slot.general_booked == 1


@pytest.mark.parametrize(
    ("start", "now", "code"),
    [
        (at(16, 9), NOW, "outside_window"),  # Dec 16 opens only tomorrow at 08:00
        (at(16, 9), at(2, 7, 59), "outside_window"),
        (at(1, 9), NOW, "no_such_slot"),  # today has no generated slot: booking starts tomorrow
        (at(2, 9, 15), NOW, "no_such_slot"),
    ],
)
def test_booking_outside_the_window_or_off_the_grid_is_refused(office, service, slots, start, now, code) -> None:
    services.slots_generate(today=TODAY + timedelta(days=1))  # Dec 16 exists
    with pytest.raises(DomainError) as caught:
        book(office, service, start, now=now)
    assert caught.value.code == code


def test_last_day_opens_at_the_opening_hour(office, service, slots) -> None:
    services.slots_generate(today=TODAY + timedelta(days=1))
    assert book(office, service, at(16, 9), now=at(2, 8, 0)).slot.starts_at == at(16, 9)


def test_applicant_clock_in_another_zone_books_the_same_slot(office, service, slot) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    # 09:00 in Hangzhou is 02:00 in Paris (UTC+1 in December)
    paris = datetime(2026, 12, 2, 2, 0, tzinfo=ZoneInfo("Europe/Paris"))
    booking = book(office, service, paris)
    booking.refresh_from_db()
    assert (booking.slot_id, booking.starts_at) == (slot.pk, slot.starts_at)


def test_walk_in_only_office_takes_no_booking(service, slots) -> None:
    walk_in = OfficeFactory.create(mode="walk_in_only")
    with pytest.raises(DomainError) as caught:
        book(walk_in, service, at(2, 9))
    assert caught.value.code == "walk_in_only"


def test_weekend_slot_refuses_a_weekday_only_service(office, official_calendar) -> None:
    weekday_only = ServiceFactory.create(document="hk_macao", business="first", weekend_service=False)
    weekend = SlotTemplate.objects.create(office=office, day_kind="weekend", starts_at=time(9), ends_at=time(9, 30))
    weekend.services.set([weekday_only])
    services.slots_generate(today=TODAY)
    with pytest.raises(DomainError) as caught:
        book(office, weekday_only, at(5, 9))  # Saturday
    assert caught.value.code == "no_such_slot"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": " "}, "name"),
        ({"name": "名" * 61}, "name"),
        ({"id_number": "330106199001011234"}, "id_number"),
        ({"id_number": "330106900101123"}, "id_number"),
        ({"phone": "12345"}, "phone"),
    ],
)
def test_bad_applicant_input_names_the_field_and_writes_nothing(office, service, slot, fields, field) -> None:
    with pytest.raises(BookingInputError) as caught:
        book(office, service, at(2, 9), **fields)
    assert field in caught.value.errors
    slot.refresh_from_db()
    assert slot.general_booked == 0
    assert Booking.objects.count() == 0


def test_cancel_holds_the_place_then_returns_it(office, service, slot) -> None:
    for number in IDS[:3]:
        booking = book(office, service, at(2, 9), id_number=number)
    services.booking_cancel(booking=booking, now=NOW)
    with pytest.raises(SlotFull):
        book(office, service, at(2, 9), id_number=IDS[3])  # held back for 30 minutes
    assert services.holds_release(now=NOW + timedelta(minutes=29)) == 0
    assert services.holds_release(now=NOW + timedelta(minutes=30)) == 1
    assert services.holds_release(now=NOW + timedelta(minutes=31)) == 0  # idempotent
    book(office, service, at(2, 9), id_number=IDS[3], now=NOW + timedelta(minutes=31))
    slot.refresh_from_db()
    assert slot.general_booked == 3


def test_cancel_twice_or_after_start_is_refused(office, service, slot) -> None:
    booking = book(office, service, at(2, 9))
    with pytest.raises(DomainError) as caught:
        services.booking_cancel(booking=booking, now=at(2, 9))
    assert caught.value.code == "too_late"
    services.booking_cancel(booking=booking, now=NOW)
    with pytest.raises(Conflict):
        services.booking_cancel(booking=booking, now=NOW)
    assert PlaceHold.objects.count() == 1


def test_cancel_without_hold_returns_the_place_at_once(office, service, slot) -> None:
    BookingPolicy.objects.filter(pk=1).update(hold_minutes=0)
    selectors.policy_changed()
    booking = book(office, service, at(2, 9))
    services.booking_cancel(booking=booking, now=NOW)
    slot.refresh_from_db()
    assert slot.general_booked == 0


def test_reschedule_moves_the_booking_and_holds_the_old_place(
    office, service, slot, django_capture_on_commit_callbacks
) -> None:
    booking = book(office, service, at(2, 9))
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_reschedule(booking=booking, start=at(3, 9, 30), now=NOW)
    booking.refresh_from_db()
    assert (booking.slot.starts_at, booking.reference, booking.status) == (at(3, 9, 30), booking.reference, "booked")
    assert booking.starts_at == at(3, 9, 30)  # the appointment time moves with the slot
    slot.refresh_from_db()
    assert slot.general_booked == 1  # still held
    assert booking.slot.general_booked == 1
    assert list(OutboxMessage.objects.exclude(kind="confirmation").values_list("kind", flat=True)) == ["change"]


def test_reschedule_into_a_full_slot_keeps_the_old_place(office, service, slot) -> None:
    for number in IDS[1:4]:
        book(office, service, at(3, 9), id_number=number)
    booking = book(office, service, at(2, 9))
    with pytest.raises(SlotFull):
        services.booking_reschedule(booking=booking, start=at(3, 9), now=NOW)
    booking.refresh_from_db()
    slot.refresh_from_db()
    assert (booking.slot_id, slot.general_booked) == (slot.pk, 1)
    assert PlaceHold.objects.count() == 0


def test_reschedule_to_the_same_slot_or_a_cancelled_booking_is_refused(office, service, slot) -> None:
    booking = book(office, service, at(2, 9))
    with pytest.raises(DomainError) as caught:
        services.booking_reschedule(booking=booking, start=at(2, 9), now=NOW)
    assert caught.value.code == "same_slot"
    services.booking_cancel(booking=booking, now=NOW)
    with pytest.raises(Conflict):
        services.booking_reschedule(booking=booking, start=at(3, 9), now=NOW)


def test_a_stale_cached_slot_of_another_office_takes_no_place(office, service, slot) -> None:
    from django.core.cache import cache

    from appointments import selectors

    elsewhere = OfficeFactory.create(code="SC")
    their_template = SlotTemplate.objects.create(
        office=elsewhere, day_kind="weekday", starts_at=time(9), ends_at=time(10), general_quota=3
    )
    theirs = Slot.objects.create(
        office=elsewhere, template=their_template, starts_at=at(2, 9), ends_at=at(2, 9, 30), general_quota=3
    )
    book(office, service, at(2, 9, 30))  # the day is now cached for XH
    key = selectors.availability_key("XH", at(2, 9).date())
    expires, rows = cache.get(key)
    cache.set(key, (expires, [row._replace(slot_id=theirs.pk) for row in rows]), 1)
    caches["local"].clear()
    with pytest.raises(SlotFull):
        book(office, service, at(2, 9), id_number=IDS[1])
    theirs.refresh_from_db()
    assert theirs.general_booked == 0
    assert Booking.objects.count() == 1


def test_an_insert_error_other_than_a_duplicate_is_not_called_already_booked(office, service, slot) -> None:
    from django.db import IntegrityError

    with (
        mock.patch("appointments.services.Booking.objects.create", side_effect=IntegrityError("boom")),
        pytest.raises(IntegrityError),
    ):
        book(office, service, at(2, 9))
    slot.refresh_from_db()
    assert slot.general_booked == 0


@pytest.fixture
def desk(office):
    return clerk(office)


def test_check_in_refuses_a_booking_moved_while_it_was_checked(office, service, slot, desk) -> None:
    booking = book(office, service, at(2, 9))
    real_policy, moved = services.policy, [False]

    def policy_read_while_a_reschedule_commits():  # check-in reads the policy between its checks
        if not moved[0]:
            moved[0] = True
            services.booking_reschedule(booking=Booking.objects.get(pk=booking.pk), start=at(3, 9), now=NOW)
        return real_policy()

    with (
        mock.patch("appointments.services.policy", policy_read_while_a_reschedule_commits),
        pytest.raises(Conflict) as caught,
    ):
        services.booking_check_in(code=booking.reference, office=office, by=desk, now=at(2, 9))
    assert caught.value.code == "not_active"
    booking.refresh_from_db()
    assert (booking.status, booking.starts_at) == ("booked", at(3, 9))


@pytest.mark.parametrize(
    ("now", "code"),
    [
        (at(2, 8, 29, 59), "too_early"),
        (at(2, 9, 15, 1), "too_late"),
        (at(1, 9), "wrong_day"),
    ],
)
def test_check_in_outside_its_window_is_refused_with_the_reason(office, service, slot, desk, now, code) -> None:
    booking = book(office, service, at(2, 9))
    with pytest.raises(DomainError) as caught:
        services.booking_check_in(code=booking.reference, office=office, by=desk, now=now)
    assert caught.value.code == code
    booking.refresh_from_db()
    assert booking.status == "booked"


@pytest.mark.parametrize("now", [at(2, 8, 30), at(2, 9), at(2, 9, 15)])
def test_check_in_inside_the_window_by_qr_content(office, service, slot, desk, now) -> None:
    booking = book(office, service, at(2, 9))
    checked = services.booking_check_in(code=f" {booking.reference.lower()} ", office=office, by=desk, now=now)
    assert (checked.status, checked.checked_in_by) == ("checked_in", desk)
    with pytest.raises(DomainError) as caught:
        services.booking_check_in(code=booking.reference, office=office, by=desk, now=now)
    assert caught.value.code == "not_active"


def test_check_in_at_the_wrong_office_or_unknown_reference(office, service, slot, desk) -> None:
    booking = book(office, service, at(2, 9))
    other = OfficeFactory.create()
    with pytest.raises(DomainError) as caught:
        services.booking_check_in(code=booking.reference, office=other, by=clerk(other), now=at(2, 9))
    assert caught.value.code == "wrong_office"
    with pytest.raises(DomainError) as caught:
        services.booking_check_in(code="NOSUCHREF", office=office, by=desk, now=at(2, 9))
    assert caught.value.code == "unknown_booking"
    with pytest.raises(NotAllowed):
        services.booking_check_in(code=booking.reference, office=office, by=clerk(other), now=at(2, 9))


def test_no_show_sweep_marks_after_the_check_in_window_only(office, service, slot) -> None:
    booking = book(office, service, at(2, 9))
    assert services.no_shows_sweep(now=at(2, 9, 15)) == 0
    assert services.no_shows_sweep(now=at(2, 9, 15, 1)) == 1
    assert services.no_shows_sweep(now=at(2, 10)) == 0
    booking.refresh_from_db()
    assert booking.status == "no_show"


def test_three_no_shows_block_online_booking_with_a_reason(office, service, slots) -> None:
    for day in (2, 3, 4):
        book(office, service, at(day, 9), now=NOW)
        services.no_shows_sweep(now=at(day, 10))
    with pytest.raises(Blocked) as caught:
        book(office, service, at(7, 9), now=at(4, 11))
    assert "2027年1月3日" in caught.value.message
    assert Booking.objects.filter(status="booked").count() == 0
    assert Slot.objects.get(starts_at=at(7, 9)).general_booked == 0  # the place went back


def test_reminders_go_once_for_tomorrows_bookings(office, service, slot, django_capture_on_commit_callbacks) -> None:
    book(office, service, at(2, 9))
    book(office, service, at(3, 9), id_number=IDS[1])
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reminders_send(today=TODAY) == 1
        assert services.reminders_send(today=TODAY) == 0
    assert OutboxMessage.objects.filter(kind="reminder").count() == 1


def test_template_change_remakes_only_unbooked_slots(office, service, template, slot) -> None:
    book(office, service, at(2, 9))
    SlotTemplate.objects.filter(pk=template.pk).update(general_quota=5)
    template.refresh_from_db()
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        services.template_apply(template=template)
    kept = Slot.objects.get(starts_at=at(2, 9))
    remade = Slot.objects.get(starts_at=at(2, 9, 30))
    assert (kept.pk, kept.general_quota, kept.general_booked) == (slot.pk, 3, 1)
    assert remade.general_quota == 5


def test_a_slot_the_cached_day_shows_full_is_refused_in_any_time_zone(
    office, service, slot, django_assert_num_queries
) -> None:
    from zoneinfo import ZoneInfo

    Slot.objects.filter(pk=slot.pk).update(general_booked=3)
    utc = at(2, 9).astimezone(ZoneInfo("UTC"))
    with pytest.raises(SlotFull):
        book(office, service, utc)
    with django_assert_num_queries(0), pytest.raises(SlotFull):  # answered from this process's copy of the day
        book(office, service, utc)


def test_cancel_of_a_copy_read_before_a_reschedule_frees_the_new_place(office, service, slot) -> None:
    booking = book(office, service, at(2, 9))
    stale = Booking.objects.get(pk=booking.pk)
    services.booking_reschedule(booking=booking, start=at(3, 9), now=NOW)
    services.booking_cancel(booking=stale, now=NOW)
    hold = PlaceHold.objects.exclude(slot=slot).get()
    assert hold.slot.starts_at == at(3, 9)  # the place held back is the one the booking had
    assert PlaceHold.objects.filter(slot=slot).count() == 1  # from the reschedule, not twice


def test_cached_day_is_not_kept_alive_by_corrections(office, service, slot) -> None:
    from appointments import selectors

    assert selectors.availability(office_code="XH", service_code=service.code, day=slot.starts_at.date(), now=NOW)
    with mock.patch("appointments.selectors.time_module.time", return_value=10**10):
        Slot.objects.filter(pk=slot.pk).update(general_booked=2)
        selectors.cached_slot_refresh(office_code="XH", start=at(2, 9), slot_id=slot.pk)
        Slot.objects.filter(pk=slot.pk).update(general_booked=3)  # behind the cache's back
        rows = selectors.availability(office_code="XH", service_code=service.code, day=slot.starts_at.date(), now=NOW)
    assert rows[0].remaining == 0  # read again from the database, not the corrected copy


def test_a_refresh_between_a_booking_and_its_correction_does_not_count_it_twice(
    office, service, slot, django_capture_on_commit_callbacks
) -> None:
    """The interleaving that made a slot read full while the database had a place: another
    process reads the day from the database after the booking commits and before this
    process writes its correction."""
    from appointments import selectors

    def remaining() -> int:
        rows = selectors.availability(office_code="XH", service_code=service.code, day=slot.starts_at.date(), now=NOW)
        return rows[0].remaining

    assert remaining() == 3
    with django_capture_on_commit_callbacks(execute=False) as corrections:
        book(office, service, at(2, 9))
    caches["local"].clear()
    selectors._day_rows_refresh("XH", slot.starts_at.date())  # another process, in between
    for correction in corrections:
        correction()
    caches["local"].clear()
    assert remaining() == 2  # a delta of -1 on top of the refreshed day made it 1


def test_process_copy_of_the_day_is_brief_and_never_outlives_the_shared_entry(office, service, slot) -> None:
    from django.core.cache import cache

    from appointments import selectors

    clock = [1_000_000.0]

    def left_at(seconds: float) -> int:
        clock[0] = 1_000_000.0 + seconds
        rows = selectors.availability(office_code="XH", service_code=service.code, day=slot.starts_at.date(), now=NOW)
        return rows[0].remaining

    fake_time = mock.Mock(time=lambda: clock[0])
    with (
        mock.patch("appointments.selectors.time_module", fake_time),
        mock.patch("django.core.cache.backends.locmem.time", fake_time),
        mock.patch("django.core.cache.backends.base.time", fake_time),
    ):
        assert left_at(0) == 3  # read from the database: shared entry until 1.0 s, this process's copy until 0.2 s
        Slot.objects.filter(pk=slot.pk).update(general_booked=3)  # behind the caches' back
        key = selectors.availability_key("XH", slot.starts_at.date())
        expires, rows = cache.get(key)
        rows[0].remaining[0] = 1  # another process's correction of the shared entry
        cache.set(key, (expires, rows), 1)
        assert left_at(0.1) == 3  # this process's copy
        assert left_at(0.3) == 1  # the shared entry, corrected
        assert left_at(0.95) == 1  # copied again, but only until the shared entry expires at 1.0
        assert left_at(1.01) == 0  # both gone: read from the database


def test_bookings_refresh_the_cached_day_once_it_is_half_a_second_old(office, service, slot) -> None:
    from appointments import selectors

    clock = [1_000_000.0]

    def at_time(seconds: float) -> None:
        clock[0] = 1_000_000.0 + seconds
        caches["local"].clear()  # look at the shared entry only

    def shown() -> int:
        rows = selectors.availability(office_code="XH", service_code=service.code, day=slot.starts_at.date(), now=NOW)
        return rows[0].remaining

    fake_time = mock.Mock(time=lambda: clock[0])
    with (
        mock.patch("appointments.selectors.time_module", fake_time),
        mock.patch("django.core.cache.backends.locmem.time", fake_time),
        mock.patch("django.core.cache.backends.base.time", fake_time),
        mock.patch("django.utils.timezone.now", return_value=NOW),
    ):
        assert shown() == 3
        Slot.objects.filter(pk=slot.pk).update(general_booked=1)  # behind the cache's back
        at_time(0.6)
        assert shown() == 3  # a reader takes the shared entry for its whole second
        at_time(0.6)
        row = selectors.slot_serving(office_code="XH", service_code=service.code, start=at(2, 9))
        assert row is not None and row.remaining[0] == 2  # a booking reads the day again
        at_time(0.7)
        assert shown() == 2  # and readers get the fresh entry


def test_every_move_gets_its_sms_also_back_to_an_earlier_time(office, service, slot) -> None:
    booking = book(office, service, at(2, 9))
    for start in (at(3, 9), at(2, 9), at(3, 9)):
        services.booking_reschedule(booking=booking, start=start, now=NOW)
    texts = list(OutboxMessage.objects.filter(kind="change").order_by("pk").values_list("text", flat=True))
    # Each names the time the booking moved to (the text is written with the change).
    assert ["12月3日 09:00" in texts[0], "12月2日 09:00" in texts[1], "12月3日 09:00" in texts[2]] == [True] * 3
