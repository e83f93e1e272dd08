"""The admin site: Django's, with its login held to the same attempt limit as the site's."""

from typing import Any, cast

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from bureau.access import login_attempts_limited


class AdminSite(admin.AdminSite):
    site_header = _("Exit-entry bureau configuration")
    site_title = _("Exit-entry bureau")

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return cast(HttpResponse, login_attempts_limited(super().login)(request, extra_context))
