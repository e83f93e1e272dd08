"""Hostile paths and headers against every endpoint of the API, generated from the OpenAPI
schema (SPEC 8, 9): booking tokens that are not ASCII, references and codes that are
unknown, too long or refused by the URL converter, unknown paths, odd languages, keys and
charsets, headers 10,000 characters long, a session cookie with a NUL in it. Each answer is
a 4xx in the error shape {"code", "detail", "fields"}, translated, never a 500 or HTML, and
nothing is written."""

import json
from typing import Any
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from tests.hostile.conftest import (
    NOW,
    World,
    api_client,
    error_body,
    fingerprint,
    is_chinese,
    wsgi_call,
)
from tests.hostile.operations import MOMENT, OPERATIONS, POSTS, VALID_BODY, Operation, request_headers

pytestmark = pytest.mark.django_db

LANGUAGES = {"zh-hans": {}, "en": {"accept-language": "en"}}
QUERY = {
    "GET /api/v1/offices/{code}/availability/": "?service=passport-first&date=2026-12-02",
    "GET /api/v1/deadlines/preview/": "?accepted_on=2026-12-01&residency=in_province",
}


def in_language(language: str, msgid: str) -> str:
    with translation.override(language):
        return translation.gettext(msgid)


def send(
    operation: Operation,
    world: World,
    url: str | None = None,
    *,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Any:
    """The operation with its valid body (if it takes one) and what it needs to read it;
    `headers` added to or replacing those."""
    client = api_client(**{**request_headers(operation, world), **(headers or {})})
    url = (url or operation.url(world)) + QUERY.get(operation.id, "")
    body = json.dumps(VALID_BODY[operation.id](world)) if operation.id in VALID_BODY else ""
    with mock.patch("django.utils.timezone.now", return_value=MOMENT.get(operation.id, NOW)):
        # CONTENT_TYPE also when there is no body (the test client leaves it out then).
        return client.generic(operation.method, url, body, content_type=content_type, CONTENT_TYPE=content_type)


def wsgi_send(operation: Operation, world: World, *, content_type: str, headers: dict[str, bytes] | None = None) -> Any:
    """As `send`, through the WSGI application as gunicorn calls it."""
    needed = {name: value.encode("latin-1") for name, value in request_headers(operation, world).items()}
    body = json.dumps(VALID_BODY[operation.id](world)).encode() if operation.id in VALID_BODY else b""
    with mock.patch("django.utils.timezone.now", return_value=MOMENT.get(operation.id, NOW)):
        return wsgi_call(
            operation.method,
            operation.url(world).encode(),
            query=QUERY.get(operation.id, "").lstrip("?").encode(),
            body=body,
            content_type=content_type,
            headers={**needed, **(headers or {})},
        )


def assert_not_found(response: Any, language: str, msgid: str) -> None:
    answer = error_body(response, 404)
    assert answer == {"code": "not_found", "detail": in_language(language, msgid), "fields": {}}


# --- 3. booking tokens that are not ASCII, for a reference that exists --------------------------

TOKEN_OPERATIONS = [op for op in OPERATIONS if "X-Booking-Token" in op.headers]
# As a WSGI server hands them over: header bytes decoded as Latin-1, whatever they were.
ODD_TOKENS = {
    "chinese": "令牌",
    "e-acute": "\u00e9",
    "utf-8-bytes": "令牌".encode().decode("latin-1"),
    "not-utf-8-bytes": b"\xff\xfe\x80\xc3(".decode("latin-1"),
    "control": "\x1b[31m",
    "10000-chars": "a" * 10_000,
    "empty": "",
    "the-token-and-more": "@real@\u00e9",
    "the-token-upper-case": "@REAL@",
}


def test_token_operations_are_the_booking_endpoints() -> None:
    assert {op.id for op in TOKEN_OPERATIONS} == {
        "GET /api/v1/bookings/{reference}/",
        "DELETE /api/v1/bookings/{reference}/",
        "POST /api/v1/bookings/{reference}/reschedule/",
    }


@pytest.mark.parametrize("operation", TOKEN_OPERATIONS, ids=lambda op: op.id)
def test_odd_booking_token_for_a_reference_that_exists_is_404(operation: Operation, world: World) -> None:
    before = fingerprint()
    for name, token in ODD_TOKENS.items():
        token = token.replace("@real@", world.token).replace("@REAL@", world.token.upper())
        for language, headers in LANGUAGES.items():
            response = send(operation, world, headers={**headers, "x-booking-token": token})
            assert response.status_code == 404, (name, response.content)
            assert_not_found(response, language, "No booking matches this reference and token.")
    assert fingerprint() == before
    # And the right token still opens it (so the 404s above were about the token).
    assert send(operation, world).status_code < 300


@pytest.mark.parametrize("operation", TOKEN_OPERATIONS, ids=lambda op: op.id)
def test_booking_token_bytes_that_are_not_utf_8_are_404_through_wsgi(operation: Operation, world: World) -> None:
    before = fingerprint()
    for token in (b"\xff\xfe\x80", "令牌".encode(), "令牌".encode("gb18030"), b"\xc3(", world.token.encode() + b"\xff"):
        response = wsgi_send(operation, world, content_type="application/json", headers={"x-booking-token": token})
        assert_not_found(response, "zh-hans", "No booking matches this reference and token.")
    assert fingerprint() == before


# --- 6. not found: unknown, too long, refused by the converter ------------------------------

PATH_OPERATIONS = [op for op in OPERATIONS if "{" in op.path]
# What each endpoint says when what its path names does not exist (the view's own message).
UNKNOWN_DETAIL = {
    "GET /api/v1/applications/{reference}/": "No application of your offices has this reference.",
    "POST /api/v1/applications/{reference}/": "No application of your offices has this reference.",
    "GET /api/v1/bookings/{reference}/": "No booking matches this reference and token.",
    "DELETE /api/v1/bookings/{reference}/": "No booking matches this reference and token.",
    "POST /api/v1/bookings/{reference}/reschedule/": "No booking matches this reference and token.",
    "GET /api/v1/offices/{code}/availability/": "No office has this code.",
    "POST /api/v1/offices/{code}/check-ins/": "No office has this code.",
    "POST /api/v1/offices/{code}/tickets/": "No office has this code.",
    "GET /api/v1/offices/{code}/counters/": "No office has this code.",
    "GET /api/v1/offices/{code}/queue/": "No office has this code.",
    "GET /api/v1/offices/{code}/day-stats/": "No office has this code.",
    "GET /api/v1/emergency-cases/{reference}/": "No case matches this reference and token.",
    "POST /api/v1/cases/{reference}/decisions/": "No case of your offices has this reference.",
    "POST /api/v1/offices/{code}/priority-tickets/": "No office has this code.",
    **{
        f"POST /api/v1/counters/{{counter_id}}/{action}/": "No counter has this number."
        for action in ("open", "close", "call-next", "recall", "complete", "no-show", "park", "transfer")
    },
}
# Refused by the URL converter (letters, digits and dashes, at most 32): Django's resolver
# answers, through bureau.views.page_not_found.
REFUSED = {
    "33-chars": "A" * 33,
    "1000-chars": "A" * 1000,
    "nul": "AB%00CD",
    "space": "AB%20CD",
    "slash": "AB%2FCD",
    "dot-dot": "..",
    "chinese": "%E4%BB%A4%E7%89%8C",
    "not-utf-8": "%FF%FE",
    "lone-surrogate-utf-8": "%ED%A0%80",
    "e-acute": "%C3%A9",
}
CONVERTER_DETAIL = "Nothing was found at this address."


def test_every_path_operation_has_its_not_found_message() -> None:
    assert {op.id for op in PATH_OPERATIONS} == set(UNKNOWN_DETAIL), "add the operation to UNKNOWN_DETAIL"


@pytest.mark.parametrize("operation", PATH_OPERATIONS, ids=lambda op: op.id)
def test_unknown_reference_or_code_is_404_in_the_error_shape(operation: Operation, world: World) -> None:
    """Translated, and never Django's English "No Office matches the given query."."""
    before = fingerprint()
    for unknown in ("NOPE000000", "A" * 32, "-"):
        url = operation.url(world, reference=unknown, code=unknown, counter_id="999999999")
        for language, headers in LANGUAGES.items():
            assert_not_found(send(operation, world, url, headers=headers), language, UNKNOWN_DETAIL[operation.id])
    assert fingerprint() == before


@pytest.mark.parametrize("operation", PATH_OPERATIONS, ids=lambda op: op.id)
def test_reference_or_code_the_converter_refuses_is_404_in_the_error_shape(operation: Operation, world: World) -> None:
    before = fingerprint()
    for name, value in REFUSED.items():
        url = operation.url(world, reference=value, code=value, counter_id=value)
        for language, headers in LANGUAGES.items():
            response = send(operation, world, url, headers=headers)
            assert response.status_code == 404, (name, response.status_code)
            assert_not_found(response, language, CONVERTER_DETAIL)
    assert fingerprint() == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/",
        "/api/v1/",
        "/api/nope/",
        "/api/v1/nope/",
        "/api/v2/offices/",
        "/api/v1/bookings/ABC/nope/",
        "/api/v1/offices/XH/",
        "/api/v1/%E4%BB%A4%E7%89%8C/",
        "/api/v1/offices/XH/availability/extra/",
        "/api/schema/nope/",
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_path_under_the_api_is_404_in_the_error_shape(path: str, method: str, world: World) -> None:
    for language, headers in LANGUAGES.items():
        response = api_client(**headers).generic(method, path, "{}", content_type="application/json")
        assert_not_found(response, language, CONVERTER_DETAIL)
        assert b"<html" not in response.content.lower()


def test_method_not_allowed_is_405_in_the_error_shape(world: World) -> None:
    for language, headers in LANGUAGES.items():
        answer = error_body(api_client(**headers).put("/api/v1/offices/"), 405)
        assert answer["code"] == "method_not_allowed"
        assert is_chinese(answer["detail"]) == (language == "zh-hans")


def test_not_acceptable_is_406_in_the_error_shape(world: World) -> None:
    answer = error_body(api_client(accept="application/xml").get("/api/v1/offices/"), 406)
    assert answer["code"] == "not_acceptable"
    assert is_chinese(answer["detail"])


# --- 7. odd headers --------------------------------------------------------------------------

LONG = "x" * 10_000
ODD_HEADERS: dict[str, dict[str, str]] = {
    "accept-language garbage": {"accept-language": "\x00;q=abc,,;;=,zh-Hans;q=2,*;q=-1"},
    "accept-language unknown": {"accept-language": "xx-YY, tlh"},
    "accept-language 10000": {"accept-language": "en-" * 3_333},
    "accept-language latin-1": {"accept-language": "令牌".encode().decode("latin-1")},
    "accept 10000": {"accept": LONG},
    "user-agent 10000": {"user-agent": LONG},
    "referer not utf-8": {"referer": b"https://\xff\xfe/".decode("latin-1")},
    "x-forwarded-for garbage": {"x-forwarded-for": "::::, 令牌, " + LONG},
    "authorization 10000": {"authorization": "Token " + LONG},
    "authorization not utf-8": {"authorization": "Token " + b"\xff\xfe".decode("latin-1")},
    "authorization odd scheme": {"authorization": "Token"},
    "idempotency-key chinese": {"idempotency-key": "令牌令牌令牌令牌"},
    "idempotency-key latin-1": {"idempotency-key": "\u00e9" * 10},
    "idempotency-key utf-8 bytes": {"idempotency-key": "令牌令牌令牌".encode().decode("latin-1")},
    "idempotency-key 10000": {"idempotency-key": LONG},
    "idempotency-key control": {"idempotency-key": "abc\x1bdefgh"},
    "x-booking-token 10000": {"x-booking-token": LONG},
    "htmx garbage": {"hx-request": LONG, "hx-current-url": "javascript:alert(1)"},
    "host-like garbage": {"x-forwarded-host": LONG, "x-forwarded-proto": LONG},
}


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.id)
def test_odd_headers_are_never_a_500(operation: Operation, world: World, settings: Any) -> None:
    """Each odd header on its own, on top of what the operation needs: the answer is the
    operation's ordinary one or a 4xx in the error shape, and a 4xx writes nothing."""
    settings.TRUSTED_PROXIES = ["127.0.0.0/8"]  # so that X-Forwarded-For is read
    for name, headers in ODD_HEADERS.items():
        before = fingerprint()
        response = send(operation, world, headers=headers)
        assert response.status_code < 500, (name, response.content[:200])
        if response.status_code >= 400:
            error_body(response, response.status_code)
            assert fingerprint() == before, name


def test_odd_idempotency_key_is_400_naming_it(world: World) -> None:
    operation = next(op for op in POSTS if op.id == "POST /api/v1/bookings/")
    before = fingerprint()
    for name, headers in ODD_HEADERS.items():
        if "idempotency-key" in headers:
            answer = error_body(send(operation, world, headers=headers), 400)
            assert list(answer["fields"]) == ["Idempotency-Key"], name
            assert is_chinese(answer["fields"]["Idempotency-Key"][0])
    assert fingerprint() == before


def test_odd_authorization_is_401_in_the_error_shape(world: World) -> None:
    operation = next(op for op in POSTS if op.id == "POST /api/v1/offices/{code}/check-ins/")
    for name, headers in ODD_HEADERS.items():
        if "authorization" in headers:
            answer = error_body(send(operation, world, headers=headers), 401)
            assert answer["code"] == "authentication_failed", name
            assert is_chinese(answer["detail"])


def test_garbage_accept_language_falls_back_to_chinese(world: World) -> None:
    expected = in_language("zh-hans", "No booking matches this reference and token.")
    assert is_chinese(expected)
    for name, headers in ODD_HEADERS.items():
        if "accept-language" in headers:
            response = api_client(**headers).get("/api/v1/bookings/NOPE000000/")
            assert error_body(response, 404)["detail"] == expected, name


# Codecs Python knows that cannot turn bytes into text, and one it does not know.
UNREADABLE_CHARSETS = ["rot13", "zlib", "bz2", "base64", "hex", "uu", "quopri", "idna", "punycode", "undefined"]
READABLE_CHARSETS = ["utf-8", "UTF8", "utf-7", "utf-16", "gb18030", "latin-1", "no-such-charset"]


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.id)
def test_content_type_charset_that_cannot_be_read_is_400(operation: Operation, world: World) -> None:
    """Django takes any codec Python knows from the Content-Type (rot13, zlib, ...), and
    decoding the query string or body with it crashed, with a query string even before any
    middleware ran; it is a 400 before anything reads. Through the WSGI application, as
    gunicorn calls it."""
    before = fingerprint()
    for n, charset in enumerate(UNREADABLE_CHARSETS):
        for language, headers in LANGUAGES.items() if n == 0 else [("zh-hans", {})]:
            content_type = f"application/json; charset={charset}"
            encoded = {name: value.encode() for name, value in headers.items()}
            response = wsgi_send(operation, world, content_type=content_type, headers=encoded)
            answer = error_body(response, 400)
            assert answer == {
                "code": "bad_request",
                "detail": in_language(language, "The request is not valid."),
                "fields": {},
            }, charset
    assert fingerprint() == before


@pytest.mark.parametrize("operation", POSTS, ids=lambda op: op.id)
def test_form_or_multipart_body_in_a_charset_that_cannot_be_read_is_400(operation: Operation, world: World) -> None:
    before = fingerprint()
    client = api_client(**request_headers(operation, world))
    bodies = {
        "application/x-www-form-urlencoded": b"a=b&c=d",
        "multipart/form-data; boundary=xx": b'--xx\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--xx--\r\n',
    }
    for charset in UNREADABLE_CHARSETS:
        for media_type, body in bodies.items():
            response = client.generic(
                "POST", operation.url(world), body, content_type=f"{media_type}; charset={charset}"
            )
            assert error_body(response, 400)["code"] == "bad_request", (media_type, charset)
    assert fingerprint() == before


@pytest.mark.parametrize("operation", POSTS, ids=lambda op: op.id)
def test_content_type_charset_that_can_be_read_is_never_a_500(operation: Operation, world: World) -> None:
    """utf-7 and utf-16 bodies that were written in UTF-8 fail to parse (400) or read as
    something else; an unknown name is ignored (UTF-8); none of it is a 500."""
    for charset in READABLE_CHARSETS:
        before = fingerprint()
        response = send(operation, world, content_type=f"application/json; charset={charset}")
        assert response.status_code < 500, (charset, response.content[:200])
        if response.status_code >= 400:
            error_body(response, response.status_code)
            assert fingerprint() == before, charset


def test_session_cookie_with_a_nul_is_no_session(world: World) -> None:
    """A cookie value in quotes may hold octal escapes ("\\000"), which Django's cookie parser
    turns into characters: a NUL in the session key reached PostgreSQL, which refuses it (a
    500 on every page). Such a key is no session at all."""
    cookie = 'sessionid="abcdefghij\\000klmnop"'
    api = api_client(cookie=cookie)
    assert error_body(api.get("/api/v1/applications/"), 401)["code"] == "not_authenticated"
    page = api.get("/staff/")
    assert page.status_code == 302
    assert api.get("/").status_code == 200


# --- too many of anything -------------------------------------------------------------------

MANY_FIELDS = "&".join(f"f{n}=1" for n in range(1_500))  # DATA_UPLOAD_MAX_NUMBER_FIELDS is 1,000


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.id)
def test_too_many_query_fields_form_fields_or_files_is_400(operation: Operation, world: World) -> None:
    """Django's limits on fields and files (a SuspiciousOperation) answer 400 in the error
    shape, whether the query, a form or a multipart body carries them."""
    before = fingerprint()
    client = api_client(**request_headers(operation, world))
    url = operation.url(world) + (QUERY.get(operation.id) or "?") + "&" + MANY_FIELDS
    answers = [client.generic(operation.method, url)]
    if operation.method == "POST":
        files = {f"f{n}": SimpleUploadedFile(f"{n}.txt", b"x") for n in range(150)}  # the limit is 100
        answers += [
            client.generic("POST", operation.url(world), MANY_FIELDS, "application/x-www-form-urlencoded"),
            client.post(operation.url(world), {**VALID_BODY[operation.id](world), **files}),
        ]
    for response in answers:
        answer = error_body(response, 400)
        assert answer["code"] == "bad_request"
        assert answer["detail"] == in_language("zh-hans", "The request is not valid.")
    assert fingerprint() == before


def _through_wsgi(method: str, path: str) -> tuple[str, dict[str, str], bytes]:
    """The answer as the WSGI server gets it (Django's test client takes a HEAD body off
    itself, so it cannot show one)."""
    from io import BytesIO

    from django.test import RequestFactory

    from bureau.wsgi import application

    environ = RequestFactory().generic(method, path).environ
    environ["wsgi.input"] = BytesIO(b"")
    got: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        got.update(status=status, headers=dict(headers))

    body = b"".join(application(environ, start_response))
    return got["status"], got["headers"], body


@pytest.mark.parametrize(
    "path", ["/api/v1/services/", "/api/v1/offices/", "/api/v1/offices/XH/availability/?service=x&date=2026-12-02"]
)
def test_head_answers_the_headers_of_get_without_a_body(path: str, world: World) -> None:
    """A HEAD body is read by a kept-alive client as the start of the next answer."""
    get_status, _get_headers, get_body = _through_wsgi("GET", path)
    head_status, head_headers, head_body = _through_wsgi("HEAD", path)
    assert head_status == get_status
    assert head_body == b""
    assert int(head_headers["Content-Length"]) == len(get_body)
