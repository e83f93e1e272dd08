"""Who may open staff pages, and the typed request objects pages work with."""

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django_htmx.middleware import HtmxDetails
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from bureau import selectors
from bureau.models import StaffMember
from bureau.ratelimit import client_address, retry_after

View = Callable[..., HttpResponse]


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def signed_in_user(request: HttpRequest) -> User:
    """The user of a request that passed authentication (a page decorator or DRF permission)."""
    return cast(User, request.user)


def _role_required(allowed: set[str]) -> Callable[[View], View]:
    """Staff pages show personal data: never cached (a shared desk's browser must not show
    the last user's page on Back)."""

    def decorator(view: View) -> View:
        @never_cache
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if selectors.staff_role(request.user) not in allowed:
                return render(request, "403.html", status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


staff_required = _role_required(set(selectors.DESK_ROLES))
supervisor_required = _role_required({StaffMember.Role.SUPERVISOR})


class DeskStaffOnly(BasePermission):
    """The staff API is for clerks and supervisors; a kiosk's token or session is refused."""

    message = _("Only clerks and supervisors may do this.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        return selectors.is_desk_staff(request.user)


def with_retry_after(response: HttpResponse, wait: int | None) -> HttpResponse:
    """A page answered 429 tells the browser when to try again, as the API does."""
    if wait is not None:
        response["Retry-After"] = str(wait)
    return response


def login_attempts_limited(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A login view whose POSTs count against `login-address` (bureau/ratelimit.py): a 429
    page with Retry-After once a client address is over it, whatever the password."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "POST" and (wait := retry_after("login-address", client_address(request))):
            return with_retry_after(render(request, "429.html", {"wait": wait}, status=429), wait)
        return view(request, *args, **kwargs)

    return wrapped
