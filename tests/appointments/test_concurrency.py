"""Races with real threads on PostgreSQL: capacity is never exceeded."""

import threading
from collections import Counter
from collections.abc import Callable
from unittest import mock

import pytest
from django.db import connection
from stdnum.cn import ric

from appointments import selectors, services
from appointments.models import Booking, BookingPolicy, PlaceHold, Slot
from bureau.services import DomainError
from tests.appointments.conftest import NOW, at

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def id_number(n: int) -> str:
    base = f"330106{1950 + n % 50}0101{n % 1000:03d}"
    return base + ric.calc_check_digit(base + "0")


def race(workers: list[Callable[[], str]]) -> Counter[str]:
    """Start every worker at the same moment; count what each one says."""
    barrier = threading.Barrier(len(workers))
    outcomes: list[str] = []

    def run(work: Callable[[], str]) -> None:
        try:
            barrier.wait()
            outcomes.append(work())
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Counter(outcomes)


def book(office, service, start, n: int) -> Callable[[], str]:
    def work() -> str:
        services.booking_create(
            office=office,
            service=service,
            start=start,
            name="王小晶",
            id_number=id_number(n),
            phone="13812345678",
            now=NOW,
        )
        return "booked"

    return work


def three_bookings_at_nine(office, service) -> list[Booking]:
    return [
        services.booking_create(
            office=office,
            service=service,
            start=at(2, 9),
            name="王",
            id_number=id_number(n),
            phone="13812345678",
            now=NOW,
        )
        for n in range(3)
    ]


def test_fifty_threads_for_three_places_get_three_bookings_and_47_slot_full(office, service, slot) -> None:
    outcomes = race([book(office, service, at(2, 9), n) for n in range(50)])
    assert outcomes == {"booked": 3, "slot_full": 47}
    slot.refresh_from_db()
    assert slot.general_booked == 3
    assert Booking.objects.filter(slot=slot, status="booked").count() == 3


def test_two_parallel_bookings_for_one_id_number_give_one(office, service, slots) -> None:
    outcomes = race([book(office, service, at(2, 9), 7), book(office, service, at(3, 9), 7)])
    assert outcomes == {"booked": 1, "already_booked": 1}
    assert Booking.objects.count() == 1
    assert sum(s.general_booked for s in Slot.objects.all()) == 1  # the loser's place was given back


def test_reschedule_racing_new_bookings_for_the_freed_place_never_oversells(office, service, slot) -> None:
    BookingPolicy.objects.filter(pk=1).update(hold_minutes=0)  # the place is free the moment it is left
    selectors.policy_changed()
    movers = three_bookings_at_nine(office, service)

    def move(booking: Booking) -> Callable[[], str]:
        def work() -> str:
            services.booking_reschedule(booking=booking, start=at(3, 9), now=NOW)
            return "moved"

        return work

    outcomes = race([move(b) for b in movers] + [book(office, service, at(2, 9), 100 + n) for n in range(10)])
    assert outcomes["moved"] == 3
    slot.refresh_from_db()
    later = Slot.objects.get(starts_at=at(3, 9))
    assert slot.general_booked == Booking.objects.filter(slot=slot, status="booked").count() <= 3
    assert later.general_booked == Booking.objects.filter(slot=later, status="booked").count() == 3
    assert outcomes["booked"] == slot.general_booked


def test_cancel_and_hold_release_racing_never_returns_a_place_twice(office, service, slot) -> None:
    booking = services.booking_create(
        office=office, service=service, start=at(2, 9), name="王", id_number=id_number(1), phone="13812345678", now=NOW
    )
    services.booking_cancel(booking=booking, now=NOW)
    released = race([lambda: str(services.holds_release(now=at(2, 8))) for _ in range(8)])
    assert released == {"1": 1, "0": 7}
    slot.refresh_from_db()
    assert slot.general_booked == 0


def test_cancel_racing_reschedule_keeps_every_count_true(office, service, slots) -> None:
    bookings = three_bookings_at_nine(office, service)

    def cancel(booking: Booking) -> Callable[[], str]:
        def work() -> str:
            services.booking_cancel(booking=Booking.objects.get(pk=booking.pk), now=NOW)
            return "cancelled"

        return work

    def move(booking: Booking) -> Callable[[], str]:
        def work() -> str:
            services.booking_reschedule(booking=Booking.objects.get(pk=booking.pk), start=at(3, 9), now=NOW)
            return "moved"

        return work

    outcomes = race([w for b in bookings for w in (cancel(b), move(b))])
    assert outcomes["cancelled"] == 3, outcomes  # a cancel always wins or follows the move
    for slot in Slot.objects.all():
        held = PlaceHold.objects.filter(slot=slot, released=False).count()
        active = Booking.objects.filter(slot=slot, status="booked").count()
        assert slot.general_booked == active + held, slot


def test_a_template_saved_while_bookings_are_in_flight_keeps_the_slots_they_took(
    office, service, template, slot
) -> None:
    """The template's re-make deleted unbooked slots by a check made before a booking in
    flight committed: the delete then failed on the booking's foreign key (a 500 in the
    admin). Slots are locked first and their counts read again."""

    def apply() -> str:
        with mock.patch("django.utils.timezone.now", return_value=NOW):
            services.template_apply(template=template)
        return "applied"

    for n, day in enumerate((3, 4, 7, 8)):
        outcomes = race([apply, book(office, service, at(day, 9), 100 + n)])
        assert outcomes["applied"] == 1, outcomes
    booked = Booking.objects.filter(status=Booking.Status.BOOKED).select_related("slot")
    assert all(b.slot.general_booked == 1 for b in booked)
