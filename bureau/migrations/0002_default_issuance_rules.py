"""The issuance rules SPEC 6 starts from; supervisors may change them afterwards."""

from django.db import migrations

DEFAULT_RULES = [
    ("in_province", 7, "working_days"),
    ("out_of_province", 20, "calendar_days"),
    ("expedited", 5, "working_days"),
]


def create_rules(apps, schema_editor):
    IssuanceRule = apps.get_model("bureau", "IssuanceRule")
    for kind, count, unit in DEFAULT_RULES:
        IssuanceRule.objects.get_or_create(kind=kind, defaults={"count": count, "unit": unit})


class Migration(migrations.Migration):
    dependencies = [("bureau", "0001_initial")]
    operations = [migrations.RunPython(create_rules, migrations.RunPython.noop)]
