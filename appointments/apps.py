from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = _("Appointments")

    def ready(self) -> None:
        # Slots are made from the calendar, a floor below: it tells us when it changes.
        from appointments.services import slots_follow_calendar
        from bureau.services import calendar_follow

        calendar_follow(slots_follow_calendar)
