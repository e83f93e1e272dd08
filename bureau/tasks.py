"""Celery tasks: take ids, call a service. Safe to run twice."""

from celery import shared_task
from django.db import OperationalError

from bureau import services


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=8)
def compute_application_deadline(application_id: int) -> bool:
    return services.application_compute_deadline(application_id=application_id)


def fill_missing_deadlines() -> int:
    """django-q2 schedule: the safety net for a deadline task that never ran."""
    return services.deadlines_fill_missing()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=8)
def recompute_deadlines(run_id: int) -> int:
    return services.deadlines_recompute(run_id=run_id)


@shared_task
def deliver_message(message_id: int) -> bool:
    """Celery: send one outbox message now. A failure stays in the outbox for the sweep."""
    return services.message_deliver(message_id=message_id)


def deliver_pending_messages() -> int:
    """django-q2 schedule: send what a lost request or a failed send left in the outbox."""
    return services.messages_deliver_pending()
