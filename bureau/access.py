"""Who may open staff pages, and the typed request objects pages work with."""

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails

from bureau import selectors
from bureau.models import StaffMember

View = Callable[..., HttpResponse]


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def signed_in_user(request: HttpRequest) -> User:
    """The user of a request that passed authentication (a page decorator or DRF permission)."""
    return cast(User, request.user)


def _role_required(allowed: set[str]) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if selectors.staff_role(request.user) not in allowed:
                return render(request, "403.html", status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


staff_required = _role_required({StaffMember.Role.CLERK, StaffMember.Role.SUPERVISOR})
supervisor_required = _role_required({StaffMember.Role.SUPERVISOR})


def with_retry_after(response: HttpResponse, wait: int | None) -> HttpResponse:
    """A page answered 429 tells the browser when to try again, as the API does."""
    if wait is not None:
        response["Retry-After"] = str(wait)
    return response
