from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PriorityConfig(AppConfig):
    name = "priority"
    verbose_name = _("Priority channels")

    def ready(self) -> None:
        # The lower floors tell us, in their own transactions: an application accepted for
        # an approved case's ticket is expedited (after walkins linked the ticket: this app
        # is installed after walkins), and new slots of a student session's days get its
        # student places.
        from appointments.services import slots_created_follow
        from bureau.services import application_accepted_follow
        from priority.services import application_accepted_expedite, student_places_follow

        application_accepted_follow(application_accepted_expedite)
        slots_created_follow(student_places_follow)
