"""django-q2: the periodic jobs below, scheduled by name (see the 0002 migration). All take
nothing and are idempotent. Messages to applicants go through the outbox (bureau.tasks)."""

from appointments import services


def open_booking_days() -> int:
    return services.slots_generate()


def release_held_places() -> int:
    return services.holds_release()


def sweep_no_shows() -> int:
    return services.no_shows_sweep()


def send_reminders() -> int:
    return services.reminders_send()
