from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_slot_start(apps, schema_editor):  # type: ignore[no-untyped-def]
    Booking = apps.get_model("appointments", "Booking")
    Slot = apps.get_model("appointments", "Slot")
    Booking.objects.update(starts_at=Subquery(Slot.objects.filter(pk=OuterRef("slot_id")).values("starts_at")))


class Migration(migrations.Migration):
    dependencies = [("appointments", "0002_housekeeping_schedules")]

    operations = [
        migrations.AddField(
            model_name="booking",
            name="starts_at",
            field=models.DateTimeField(null=True, verbose_name="appointment time"),
        ),
        migrations.RunPython(copy_slot_start, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="booking",
            name="starts_at",
            field=models.DateTimeField(verbose_name="appointment time"),
        ),
        migrations.RemoveIndex(model_name="booking", name="booking_status_slot"),
        migrations.AddIndex(
            model_name="booking",
            index=models.Index(fields=["status", "starts_at"], name="booking_status_start"),
        ),
    ]
