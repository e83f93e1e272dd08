"""django-q2 schedule: close the day's queues after midnight (every hour, so a missed run is
made up; a second run changes nothing)."""

from django.db import migrations


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.get_or_create(
        name="close past days' queues",
        defaults={"func": "walkins.tasks.close_past_days", "schedule_type": "H", "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="close past days' queues").delete()


class Migration(migrations.Migration):
    dependencies = [("walkins", "0001_tickets"), ("django_q", "0018_task_success_index")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
