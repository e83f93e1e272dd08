"""Bureau-wide supervisors: they cover every office and may change bureau-wide configuration."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("bureau", "0003_deadline_sweep_schedule")]

    operations = [
        migrations.AddField(
            model_name="staffmember",
            name="bureau_wide",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "A supervisor who covers the whole bureau acts for every office, also offices added later, "
                    "and may change the bureau-wide configuration: the booking policy, the holiday calendar and "
                    "the issuance rules. Only for supervisors."
                ),
                verbose_name="covers the whole bureau",
            ),
        ),
        migrations.AddConstraint(
            model_name="staffmember",
            constraint=models.CheckConstraint(
                condition=models.Q(("bureau_wide", False), ("role", "supervisor"), _connector="OR"),
                name="staff_bureau_wide_is_a_supervisor",
                violation_error_message="Only a supervisor can cover the whole bureau.",
            ),
        ),
    ]
