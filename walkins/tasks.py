"""django-q2: the queues' periodic job, scheduled by name (the 0002 migration). Idempotent."""

from walkins import services


def close_past_days() -> int:
    return services.queues_close_day()
