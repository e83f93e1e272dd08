"""The periodic housekeeping jobs, as django-q2 schedules a supervisor sees in the admin."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import migrations

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _next_local(at: time) -> datetime:
    now = datetime.now(SHANGHAI)
    candidate = datetime.combine(now.date(), at, tzinfo=SHANGHAI)
    return candidate if candidate > now else candidate + timedelta(days=1)


def create_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    jobs = [
        ("open booking days", "appointments.tasks.open_booking_days", "I", 15, None),
        ("release held places", "appointments.tasks.release_held_places", "I", 1, None),
        ("sweep no-shows", "appointments.tasks.sweep_no_shows", "I", 5, None),
        ("send day-before reminders", "appointments.tasks.send_reminders", "D", None, _next_local(time(18))),
    ]
    for name, func, kind, minutes, next_run in jobs:
        defaults = {"func": func, "schedule_type": kind, "minutes": minutes, "repeats": -1}
        if next_run:
            defaults["next_run"] = next_run
        Schedule.objects.get_or_create(name=name, defaults=defaults)


def remove_schedules(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func__startswith="appointments.tasks.").delete()


class Migration(migrations.Migration):
    dependencies = [("appointments", "0001_initial"), ("django_q", "0018_task_success_index")]
    operations = [migrations.RunPython(create_schedules, remove_schedules)]
