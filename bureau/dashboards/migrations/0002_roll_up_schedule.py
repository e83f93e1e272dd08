"""django-q2 schedule: roll up finished days after midnight (every hour, so a missed run is
made up; a run with nothing pending changes nothing)."""

from django.db import migrations

NAME = "roll up finished days for the dashboards"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.get_or_create(
        name=NAME, defaults={"func": "bureau.dashboards.tasks.roll_up_finished_days", "schedule_type": "H", "repeats": -1}
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0001_summaries"), ("django_q", "0018_task_success_index")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
