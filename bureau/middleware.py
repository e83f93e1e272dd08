"""Requests that cannot be read safely are refused with a 400 before anything reads them."""

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse
from django.utils.http import parse_header_parameters

# Set in the WSGI environ by readable_charsets_only when it took the charset out.
UNREADABLE_CHARSET = "bureau.unreadable_charset"


def readable_charset(name: str) -> bool:
    """Whether Python turns any bytes into text with this charset, errors replaced. Django
    takes any codec name from the Content-Type (`charset=rot13`, `zlib`, `base64`, `idna`,
    `undefined`), and decoding the query string, a form or a JSON body with it then fails
    with a 500 (or, for zlib, decompresses whatever was sent)."""
    try:
        bytes(range(256)).decode(name, "replace")
    except (LookupError, ValueError):
        return False
    return True


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def readable_charsets_only(app: WSGIApp) -> WSGIApp:
    """WSGI: Django reads the Content-Type's charset while it builds the request, before any
    middleware, and with a query string an unreadable charset crashes it there (gunicorn's
    bare 500). The charset is taken out and the request marked, for the middleware below."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        content_type = environ.get("CONTENT_TYPE", "")
        if "charset" in content_type.lower():
            media_type, params = parse_header_parameters(content_type)
            if "charset" in params and not readable_charset(params["charset"]):
                environ = {**environ, "CONTENT_TYPE": media_type, UNREADABLE_CHARSET: True}
        return app(environ, start_response)

    return guarded


def unreadable_requests_refused(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[..., HttpResponse]:
    """A charset that cannot be read, and a body over DATA_UPLOAD_MAX_MEMORY_SIZE, are a 400
    (bureau.views.bad_request: the error shape under /api/). Django holds form bodies to that
    limit when it reads them; DRF reads a JSON body from the stream, whatever its size, so it
    is read here through `request.body`, which checks the limit first. Multipart bodies are
    left to Django's parser, which holds their fields to the limit and writes files to disk,
    so a multipart body over MULTIPART_MAX_BYTES is a 413 before anything reads it (Django
    reads no more than the Content-Length says)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        unreadable = request.encoding is not None and not readable_charset(request.encoding)
        if unreadable or request.META.get(UNREADABLE_CHARSET):
            raise BadRequest("The request's charset cannot be read.")
        if request.content_type != "multipart/form-data":
            request.body  # noqa: B018 - RequestDataTooBig (a 400) when over the limit
        elif _content_length(request) > settings.MULTIPART_MAX_BYTES:
            from bureau.views import request_too_large  # the views import the whole core

            return request_too_large(request)
        return get_response(request)

    return middleware


def _content_length(request: HttpRequest) -> int:
    raw = str(request.META.get("CONTENT_LENGTH") or "0")
    return int(raw) if raw.isascii() and raw.isdigit() else 0


def head_without_body(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[..., HttpResponse]:
    """A HEAD answer carries the headers of the GET and no body. Neither gunicorn nor Django
    takes the body off, and a client on a kept-alive connection then reads it as the start of
    the next answer."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if request.method == "HEAD" and not response.streaming:
            response["Content-Length"] = str(len(response.content))
            response.content = b""
        return response

    return middleware
