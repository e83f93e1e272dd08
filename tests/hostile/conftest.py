"""A small world for hostile requests: one dual-track office with slots, a booking and its
token, an application, a clerk with an API token and a supervisor; and the helpers every
hostile test asks the same questions with (is the answer in the error shape, translated,
and is nothing written)."""

import io
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from unittest import mock
from urllib.parse import unquote_to_bytes
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, connection
from django.db.models import Model
from django.test import Client
from pytest_django.fixtures import SettingsWrapper
from rest_framework.authtoken.models import Token

from appointments import selectors as booking_selectors
from appointments import services as booking_services
from appointments.models import Booking, BookingPolicy, Slot
from bureau.middleware import readable_charsets_only
from bureau.models import Application, Counter, Office, Service
from priority.models import StudentSession
from tests.factories import ApplicationFactory, OfficeFactory, ServiceFactory, clerk, nine_to_ten, supervisor
from walkins import services as walkin_services

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 12, 1)  # a Tuesday; slots open from Wednesday 2 December
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)
SLOT = datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI)
FREE_SLOT = datetime(2026, 12, 3, 9, 30, tzinfo=SHANGHAI)
CHECK_IN_TIME = datetime(2026, 12, 2, 8, 50, tzinfo=SHANGHAI)  # in the window of the booking at SLOT
ID_NUMBERS = ["33010619900101123X", "11010519491231002X", "440300198511105416"]
PHONE = "13812345678"
CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class World:
    office: Office
    service: Service
    other_service: Service
    counter: Counter  # open, staffed by `clerk`, serving a ticket with another waiting
    booking: Booking
    application: Application
    clerk: User
    supervisor: User

    @property
    def token(self) -> str:
        return booking_selectors.booking_token(self.booking.reference)

    @property
    def staff_token(self) -> str:
        return Token.objects.get(user=self.clerk).key


@pytest.fixture
def world(db: None) -> Iterator[World]:
    """Built and used at NOW, Tuesday 1 December 2026, 10:00 in Hangzhou (no calendar data:
    days open by weekday)."""
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        office = OfficeFactory.create(code="XH")
        service = ServiceFactory.create(code="passport-first")
        nine_to_ten(office, service)
        BookingPolicy.objects.get_or_create(pk=1, defaults={"hold_minutes": 30})
        booking_services.slots_generate(today=TODAY)
        booking = booking_services.booking_create(
            office=office, service=service, start=SLOT, name="王小晶", id_number=ID_NUMBERS[0], phone=PHONE, now=NOW
        )
        office_clerk = clerk(office)
        Token.objects.create(user=office_clerk)
        other_service = ServiceFactory.create(code="hk-macao-endorsement", document="hk_macao", business="endorsement")
        counter = Counter.objects.create(office=office, number=1)
        counter.services.set([service, other_service])
        walkin_services.counter_open(counter=counter, by=office_clerk)
        for _ in range(2):
            walkin_services.ticket_issue(office=office, service=service, channel="general", by=office_clerk)
        walkin_services.ticket_call_next(counter=counter, by=office_clerk)
        boss = supervisor(office)
        session = StudentSession.objects.create(
            name="学生专场", first_day=TODAY, last_day=date(2026, 12, 31), places=1, created_at=NOW, created_by=boss
        )
        session.offices.set([office])
        Slot.objects.update(student_quota=1)  # the session's places
        yield World(
            office=office,
            service=service,
            other_service=other_service,
            counter=counter,
            booking=booking,
            application=ApplicationFactory.create(office=office, service=service, reference="APP0000001"),
            clerk=office_clerk,
            supervisor=boss,
        )


def fingerprint() -> tuple[Any, ...]:
    """Every row count of the project's tables and the tokens, the places taken and every
    booking's and application's state: a request refused with a 4xx must leave all of it as
    it was (nothing half written). One query, as it is asked before and after every case."""
    models: list[type[Model]] = [
        *apps.get_app_config("bureau").get_models(),
        *apps.get_app_config("appointments").get_models(),
        *apps.get_app_config("walkins").get_models(),
        *apps.get_app_config("priority").get_models(),
        Token,
        User,
    ]
    quote = connection.ops.quote_name
    counts = ", ".join(f"(SELECT COUNT(*) FROM {quote(model._meta.db_table)})" for model in models)  # noqa: S608
    slot, booking, application = (quote(m._meta.db_table) for m in (Slot, Booking, Application))
    sql = (
        f"SELECT {counts}, "  # noqa: S608 - the project's own tables
        f"(SELECT SUM(general_booked + student_booked + enterprise_booked + emergency_booked) FROM {slot}), "
        f"(SELECT COUNT(*) FROM {booking} WHERE status = 'booked'), "
        f"(SELECT SUM(slot_id) FROM {booking}), "
        f"(SELECT COUNT(*) FROM {application} WHERE status = 'accepted')"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return tuple(cursor.fetchone())


def error_body(response: Any, status: int | tuple[int, ...]) -> dict[str, Any]:
    """The answer's JSON, after checking its status and that it is exactly the error shape."""
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"code", "detail", "fields"}, body
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["fields"], dict)
    for messages in body["fields"].values():
        assert isinstance(messages, list) and all(isinstance(m, str) and m for m in messages), body
    return body


def is_chinese(text: str, sent: str = "") -> bool:
    """Chinese characters in it, other than those of the request (a message may repeat a
    value it was sent)."""
    return bool(CJK.search("".join(c for c in text if c not in sent)))


def is_english(text: str, sent: str = "") -> bool:
    """No Chinese character in it, other than those of the request."""
    return not is_chinese(text, sent)


def hidden(char: str) -> str:
    """A readable name for a character in a test id."""
    return f"U+{ord(char):04X}-{unicodedata.name(char, unicodedata.category(char))}".replace(" ", "_")


class HeaderClient:
    """A test client with headers of its own. The requests go through one Client and its
    handler, kept for the whole run: each new handler loads the middleware again, and
    WhiteNoise's scans every static file (70 ms) when it does."""

    _shared: Client | None = None

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers

    @classmethod
    def _client(cls) -> Client:
        if cls._shared is None:
            # A crash is answered with the 500 page, as in production, rather than raised
            # into the test: a 500 is then seen as a status, with the body it had.
            cls._shared = Client(raise_request_exception=False)
        cls._shared.cookies.clear()
        return cls._shared

    def generic(self, method: str, path: str, data: Any = "", content_type: str = "", **extra: Any) -> Any:
        return self._client().generic(method, path, data, content_type, headers=self.headers, **extra)

    def get(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self._client().get(path, data, headers=self.headers, **extra)

    def post(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self._client().post(path, data, headers=self.headers, **extra)

    def put(self, path: str, data: Any = "", **extra: Any) -> Any:
        return self._client().put(path, data, headers=self.headers, **extra)


def api_client(**headers: str) -> HeaderClient:
    return HeaderClient(headers)


def page_client(user: User | None = None) -> Client:
    """A client with its own cookies (a session, the CSRF cookie) on the shared handler."""
    client = Client(raise_request_exception=False)
    client.handler = HeaderClient._client().handler
    if user is not None:
        client.force_login(user)
    return client


@dataclass
class WSGIAnswer:
    status_code: int
    headers: dict[str, str]
    content: bytes

    def __getitem__(self, header: str) -> str:
        return self.headers[header.lower()]

    def json(self) -> Any:
        return json.loads(self.content)


_WSGI_APP: Any = None


def wsgi_call(
    method: str,
    path: bytes,
    *,
    query: bytes = b"",
    body: bytes = b"",
    content_type: str = "",
    headers: dict[str, bytes] | None = None,
) -> WSGIAnswer:
    """One request through the WSGI application as gunicorn calls it (bureau/wsgi.py's
    wrapper around Django's handler), with the path, query and headers given as the bytes on
    the wire: the environ holds them decoded as Latin-1, as PEP 3333 says. Unlike the test
    client, nothing is caught: an exception here is what gunicorn would answer with its 500."""
    global _WSGI_APP  # one handler for the run, as HeaderClient
    if _WSGI_APP is None:
        _WSGI_APP = readable_charsets_only(WSGIHandler())
    app = _WSGI_APP
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query.decode("latin-1"),
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **{"HTTP_" + k.upper().replace("-", "_"): v.decode("latin-1") for k, v in (headers or {}).items()},
    }
    started: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        started["status"], started["headers"] = status, response_headers

    # As the test client does: the test's transaction is not a connection to close.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        result = app(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return WSGIAnswer(
        status_code=int(started["status"].split()[0]),
        headers={name.lower(): value for name, value in started["headers"]},
        content=content,
    )


@pytest.fixture(autouse=True)
def frozen_now() -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield


@pytest.fixture(autouse=True)
def _no_rate_limits(settings: SettingsWrapper) -> None:
    """Each test sends the same endpoint many hostile bodies; limits are tested elsewhere."""
    settings.RATE_LIMITS_ENABLED = False
