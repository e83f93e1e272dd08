"""django-q2 schedule for the deadline safety net."""

from django.db import migrations


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.get_or_create(
        name="fill missing deadlines",
        defaults={"func": "bureau.tasks.fill_missing_deadlines", "schedule_type": "I", "minutes": 5, "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="fill missing deadlines").delete()


class Migration(migrations.Migration):
    dependencies = [("bureau", "0002_default_issuance_rules"), ("django_q", "0018_task_success_index")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
