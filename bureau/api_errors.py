"""Every API error has the shape {"code", "detail", "fields"} (SPEC 9)."""

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from bureau.services import Conflict, DomainError, NotAllowed


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _first_code(codes: Any) -> str:
    while isinstance(codes, list | dict):
        if not codes:
            return "invalid"
        codes = next(iter(codes.values())) if isinstance(codes, dict) else codes[0]
    return str(codes)


def _as_api_exception(exc: Exception) -> Exception:
    if isinstance(exc, NotAllowed):
        return exceptions.PermissionDenied(exc.message, code=exc.code)
    if isinstance(exc, Conflict):
        return ConflictError(exc.message, code=exc.code)
    if isinstance(exc, DomainError):
        fields = {field: [message] for field, message in exc.errors.items()}
        return exceptions.ValidationError(fields or [exc.message], code=exc.code)
    return exc


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    domain_code = exc.code if isinstance(exc, DomainError) else None
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    fields: dict[str, list[str]] = {}
    if isinstance(exc.detail, dict):
        for name, messages in exc.detail.items():
            fields[name] = [str(m) for m in messages] if isinstance(messages, list) else [str(messages)]
        general = fields.pop("non_field_errors", None)
        detail = general[0] if general else _("Some fields are not valid.")
    elif isinstance(exc.detail, list):
        detail = str(exc.detail[0]) if exc.detail else _("The request is not valid.")
    else:
        detail = str(exc.detail)
    if domain_code:
        code = domain_code
    elif isinstance(exc, exceptions.ValidationError):
        code = "invalid"
    else:
        code = _first_code(exc.get_codes())
    response.data = {"code": code, "detail": detail, "fields": fields}
    return response
