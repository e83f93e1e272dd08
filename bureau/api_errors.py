"""Every API error has the shape {"code", "detail", "fields"} (SPEC 9), whatever raised it:
a serializer, a domain rule, DRF, Django's URL resolver (a 404 under /api/), or a crash."""

import json
from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers, status
from rest_framework.response import Response

from bureau.services import Conflict, DomainError, NotAllowed, PayloadTooLarge

API_PREFIX = "/api/"


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class PayloadTooLargeError(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "file_too_large"


class JSONParser(parsers.JSONParser):
    """DRF's parser, with every way a body can fail to parse answered as a 400: JSON nested
    deeper than Python's recursion limit raises RecursionError, not ValueError."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except (exceptions.ParseError, RecursionError, UnicodeError, json.JSONDecodeError) as exc:
            raise exceptions.ParseError(_("The request body is not valid JSON.")) from exc


def _sendable(message: Any) -> str:
    """A message as text that can be encoded: a lone surrogate a client sent (a JSON escape
    such as \\ud800) comes back in a message that repeats the value ('"\\ud800" is not a
    valid choice.'), and UTF-8 cannot encode it, so the answer would be a 500."""
    return str(message).encode("utf-8", "replace").decode("utf-8")


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
    if isinstance(exc, PayloadTooLarge):
        # The message is the answer's detail (exception_handler takes it from non_field_errors)
        # and stays on the field it names.
        fields = {field: [message] for field, message in exc.errors.items()}
        return PayloadTooLargeError({**fields, "non_field_errors": [exc.message]}, code=exc.code)
    if isinstance(exc, DomainError):
        fields = {field: [message] for field, message in exc.errors.items()}
        return exceptions.ValidationError(fields or [exc.message], code=exc.code)
    if isinstance(exc, Http404):
        # Django's message names the model in English ("No Office matches the given query.").
        return exceptions.NotFound(_("Nothing was found at this address."))
    return exc


def error_body(code: str, detail: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"code": code, "detail": detail, "fields": fields or {}}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    domain_code = exc.code if isinstance(exc, DomainError) else None
    exc = _as_api_exception(exc)
    # Imported here: rest_framework.views reads DEFAULT_PARSER_CLASSES, which names this
    # module's JSONParser, so importing it at the top made this module importable only
    # after rest_framework.views (`import bureau.views` first failed with ImportError).
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    fields: dict[str, list[str]] = {}
    if isinstance(exc.detail, dict):
        for name, messages in exc.detail.items():
            fields[name] = [_sendable(m) for m in (messages if isinstance(messages, list) else [messages])]
        general = fields.pop("non_field_errors", None)
        detail = general[0] if general else _("Some fields are not valid.")
    elif isinstance(exc.detail, list):
        detail = _sendable(exc.detail[0]) if exc.detail else _("The request is not valid.")
    else:
        detail = _sendable(exc.detail)
    if domain_code:
        code = domain_code
    elif isinstance(exc, exceptions.ValidationError):
        code = "invalid"
    else:
        code = _first_code(exc.get_codes())
    response.data = error_body(code, detail, fields)
    return response


def api_not_found(request: HttpRequest) -> JsonResponse:
    """A 404 that Django's URL resolver answers under /api/ (an unknown path, a code longer
    than any code), in the API's shape rather than as an HTML page."""
    return JsonResponse(error_body("not_found", _("Nothing was found at this address.")), status=404)


def api_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body("server_error", _("Something went wrong on our side. Please try again later.")), status=500
    )
