"""django-q2: the nightly roll-up, scheduled by name (migration 0002). Idempotent."""

from bureau.dashboards import services
from walkins import services as walkins


def roll_up_finished_days() -> int:
    """Close past days' queues first, so that a day is rolled up with its tickets final."""
    walkins.queues_close_day()
    return len(services.days_roll_up_pending())
