"""Celery: notifications (event-driven, retried). django-q2: the periodic jobs below,
scheduled by name (see the 0002 migration). All take ids or nothing and are idempotent."""

from celery import shared_task

from appointments import services


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def send_booking_message(booking_id: int, kind: str, key: str) -> bool:
    return services.booking_message_send(booking_id=booking_id, kind=kind, key=key)


def open_booking_days() -> int:
    return services.slots_generate()


def release_held_places() -> int:
    return services.holds_release()


def sweep_no_shows() -> int:
    return services.no_shows_sweep()


def send_reminders() -> int:
    return services.reminders_send()
