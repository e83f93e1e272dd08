"""The Celery app: event-driven domain jobs (see README, 'Jobs')."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bureau.settings")

app = Celery("bureau")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
