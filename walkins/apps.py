from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WalkinsConfig(AppConfig):
    name = "walkins"
    verbose_name = _("Walk-ins and queues")
