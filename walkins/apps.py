from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WalkinsConfig(AppConfig):
    name = "walkins"
    verbose_name = _("Walk-ins and queues")

    def ready(self) -> None:
        # An application accepted from the counter workstation carries its ticket: the core
        # tells us (it knows no ticket), and the ticket is linked in the same transaction.
        # The application's page then names that ticket and the booking behind it.
        from bureau.selectors import application_arrival_describe
        from bureau.services import application_accepted_follow
        from walkins.arrival import application_arrival_links
        from walkins.services import application_accepted_link_ticket

        application_accepted_follow(application_accepted_link_ticket)
        application_arrival_describe(application_arrival_links)
