"""The secret of a manage link never reaches a log (STYLE: secrets in URLs that reach an
access log): bureau.redaction.redact in every way a link can be written, the logging filter
on the console handler, gunicorn's access log through bureau.redaction.AccessLogger, and the
console SMS backend, now that the confirmation SMS carries the link."""

import io
import logging
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock
from urllib.parse import quote, unquote

import pytest
from django.test import Client
from gunicorn.config import Config

from bureau.models import OutboxMessage
from bureau.redaction import REDACTED, AccessLogger, RedactSecrets, redact
from bureau.sms import ConsoleBackend

REFERENCE = "K7M2Q9RX3D"
TOKEN = "3f9a0c27b1e84d5c9a6f0e2d7b4c1a98"  # the shape of appointments.selectors.booking_token
LINK = f"/book/manage/{REFERENCE}/{TOKEN}/"


def leaks(text: str) -> bool:
    """Whether the secret, or enough of it to use, is in the text, written plainly or with
    percent-escapes."""
    decoded = text
    for _ in range(3):
        decoded = unquote(decoded)
    return any(TOKEN[i : i + 8].lower() in decoded.lower() for i in range(len(TOKEN) - 7))


WRITTEN = {
    "path": LINK,
    "no trailing slash": LINK.rstrip("/"),
    "query string": f"{LINK}?new=1",
    "fragment": f"{LINK}#cancel",
    "calendar file": f"{LINK}calendar.ics",
    "cancel": f"{LINK}cancel/",
    "reschedule with query": f"{LINK}reschedule/?date=2026-12-03",
    "absolute": f"https://exit-entry.example.cn{LINK}",
    "request line": f"GET {LINK}?new=1 HTTP/1.1",
    "quoted": f'"{LINK}"',
    "in an SMS": f"已预约，预约号{REFERENCE}。改约或取消：https://x.example{LINK} 请携带身份证。",
    "two links": f"{LINK} and /book/manage/ABCDEFGHJK/{TOKEN[::-1]}/",
    "slashes escaped": quote(LINK, safe=""),
    "slashes escaped lower case": quote(LINK, safe="").lower(),
    "last slash escaped": f"/book/manage/{REFERENCE}%2F{TOKEN}/",
    "letters escaped": f"/%62ook/%6Danage/{REFERENCE}/{TOKEN}/",
    "token escaped": f"/book/manage/{REFERENCE}/%{ord(TOKEN[0]):02X}{TOKEN[1:]}/",
    "escaped twice": quote(quote(LINK, safe=""), safe=""),
    "in a next parameter": f"/accounts/login/?next={quote(LINK, safe='')}",
    "in a referrer with a query": f"https://x.example/book/?back={quote(LINK + '?new=1', safe='')}",
    "doubled slashes": f"/book//manage//{REFERENCE}//{TOKEN}/",
    "upper case": LINK.upper(),
    "an emergency case's link": f"/emergency/{REFERENCE}/{TOKEN}/",
    "an enterprise's link": f"https://x.example/enterprise/{REFERENCE}/{TOKEN}/?filed=1",
}


@pytest.mark.parametrize("text", WRITTEN.values(), ids=WRITTEN.keys())
def test_redact_takes_the_secret_out_however_the_link_is_written(text: str) -> None:
    assert leaks(text)  # the case is about a link with its secret
    cleaned = redact(text)
    assert not leaks(cleaned), cleaned
    assert REDACTED in cleaned
    assert REFERENCE in unquote(unquote(cleaned)).upper()  # staff look bookings up by it


@pytest.mark.parametrize(
    "text",
    [
        "GET /book/XH/?service=1&date=2026-12-03 HTTP/1.1",
        "/api/v1/bookings/K7M2Q9RX3D/",
        "next=%2Fstaff%2F",
        "100% sure",
        "/book/manage/",
        "Not Found: /static/css/site.css",
    ],
)
def test_redact_leaves_other_text_as_it_is(text: str) -> None:
    assert redact(text) == text


def record(msg: str, args: Any) -> logging.LogRecord:
    return logging.LogRecord("django.request", logging.WARNING, __file__, 1, msg, args, None)


@pytest.mark.parametrize(
    ("msg", "args"),
    [
        ("Not Found: %s", (f"{LINK}nope/",)),
        ("%s %s", ("GET", quote(LINK, safe=""))),
        ("%(method)s %(path)s", {"method": "POST", "path": f"{LINK}cancel/"}),
        (f"Bad Request: {LINK}", ()),
        (f"Bad Request: {LINK}", None),
    ],
)
def test_logging_filter_redacts_records_with_args(msg: str, args: Any) -> None:
    entry = record(msg, args)
    assert leaks(entry.getMessage())
    assert RedactSecrets().filter(entry) is True  # redacted, never dropped
    assert not leaks(entry.getMessage())
    assert REDACTED in entry.getMessage()


def test_logging_filter_leaves_other_records_and_their_args_alone() -> None:
    entry = record("Not Found: %s", ("/no-such-page/",))
    assert RedactSecrets().filter(entry) is True
    assert (entry.msg, entry.args) == ("Not Found: %s", ("/no-such-page/",))


@pytest.fixture
def console() -> Any:
    """What the settings' console handler (the one with the redact filter) writes."""
    handlers = [h for h in logging.getLogger().handlers if any(isinstance(f, RedactSecrets) for f in h.filters)]
    assert handlers, "LOGGING's console handler has lost the redact filter"
    stream = io.StringIO()
    with mock.patch.object(handlers[0], "stream", stream):
        yield stream


def test_django_request_log_of_a_404_under_a_manage_link_has_no_secret(console: io.StringIO, db: None) -> None:
    response = Client().get(f"{LINK}no-such-page/")
    assert response.status_code == 404
    written = console.getvalue()
    assert "Not Found" in written
    assert REFERENCE in written
    assert not leaks(written), written


def test_any_logger_through_the_console_handler_has_no_secret(console: io.StringIO) -> None:
    logging.getLogger("bureau.anything").warning("opened %s", quote(LINK, safe=""))
    assert REDACTED in console.getvalue()
    assert not leaks(console.getvalue())


# --- gunicorn's access log -------------------------------------------------------------------


def access_line(raw_uri: str, *, referer: str = "-", location: str = "") -> str:
    """The line gunicorn writes for one request, with `access_log_format` covering every atom
    that can hold an address."""
    config = Config()
    config.set("accesslog", "-")
    config.set(
        "access_log_format",
        '%(h)s "%(r)s" %(s)s "%(U)s" "%(q)s" "%(f)s" "%(a)s" "%({referer}i)s" "%({location}o)s" "%({raw_uri}e)s"',
    )
    logger = AccessLogger(config)
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    logger.access_log.addHandler(capture)
    path, _, query = raw_uri.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": raw_uri,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": unquote(path),  # gunicorn hands Django the path decoded
        "QUERY_STRING": query,
        "REMOTE_ADDR": "10.0.0.1",
        "HTTP_REFERER": referer,
        "HTTP_USER_AGENT": "Mozilla/5.0",
    }
    request = SimpleNamespace(headers=[("REFERER", referer), ("USER-AGENT", "Mozilla/5.0")])
    response = SimpleNamespace(status="302 Found", sent=0, headers=[("Location", location)] if location else [])
    try:
        logger.access(response, request, environ, timedelta(milliseconds=12))
    finally:
        logger.access_log.removeHandler(capture)
    return stream.getvalue()


REQUEST_TARGETS = {
    "path": LINK,
    "query string": f"{LINK}?new=1",
    "calendar file": f"{LINK}calendar.ics",
    "slashes escaped": "/" + quote(LINK[1:], safe=""),
    "last slash escaped": f"/book/manage/{REFERENCE}%2F{TOKEN}/",
    "letters escaped": f"/%62ook/%6Danage/{REFERENCE}/{TOKEN}/",
    "escaped twice": "/" + quote(quote(LINK[1:], safe=""), safe=""),
    "doubled slashes": f"/book//manage//{REFERENCE}//{TOKEN}/",
    "upper case": LINK.upper(),
    "in a next parameter": f"/accounts/login/?next={quote(LINK, safe='')}",
}


@pytest.mark.parametrize("target", REQUEST_TARGETS.values(), ids=REQUEST_TARGETS.keys())
def test_access_log_request_line_path_and_query_have_no_secret(target: str) -> None:
    line = access_line(target)
    assert line.startswith("10.0.0.1 ")
    assert not leaks(line), line


def test_access_log_referrer_and_location_have_no_secret() -> None:
    """The manage page's own requests (the calendar file, cancel, reschedule) name it as
    their referrer; the booking's redirect names it as its Location."""
    line = access_line(f"{LINK}calendar.ics", referer=f"https://x.example{LINK}?new=1", location=f"{LINK}?new=1")
    assert line.count(REDACTED) >= 4, line
    assert not leaks(line), line


def test_access_log_is_gunicorns_logger_class_in_the_config() -> None:
    config = Path(__file__).resolve().parent.parent.parent / "gunicorn.conf.py"
    assert 'logger_class = "bureau.redaction.AccessLogger"' in config.read_text()


# --- the console SMS backend ------------------------------------------------------------------


def test_console_sms_backend_logs_the_text_without_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    text = f"已预约：12月2日 09:00，预约号 {REFERENCE}。改约或取消：https://x.example{LINK}"
    with caplog.at_level(logging.INFO, logger="sms"):
        ConsoleBackend().send("13812345678", text, key="confirmation:1")
    logged = caplog.records[-1].getMessage()
    assert REFERENCE in logged and REDACTED in logged
    assert not leaks(logged)
    assert "13812345678" not in logged  # and the number masked


@pytest.mark.django_db
def test_the_confirmation_sms_carries_the_link_and_its_log_line_does_not(
    caplog: pytest.LogCaptureFixture, settings: Any
) -> None:
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from appointments import services as booking_services
    from appointments.models import SlotTemplate
    from appointments.selectors import booking_token
    from bureau import services
    from tests.factories import OfficeFactory, ServiceFactory

    now = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    with mock.patch("django.utils.timezone.now", return_value=now):
        office, service = OfficeFactory.create(code="XH"), ServiceFactory.create()
        template = SlotTemplate.objects.create(office=office, day_kind="weekday", starts_at=time(9), ends_at=time(10))
        template.services.set([service])
        booking_services.slots_generate(today=now.date())
        booking = booking_services.booking_create(
            office=office,
            service=service,
            start=now.replace(day=2, hour=9),
            name="王小晶",
            id_number="33010619900101123X",
            phone="13812345678",
            now=now,
        )
    settings.SMS_BACKEND = "bureau.sms.ConsoleBackend"
    message = OutboxMessage.objects.get(kind=OutboxMessage.Kind.CONFIRMATION, reference=booking.reference)
    token = booking_token(booking.reference)
    assert token in message.text  # the SMS itself carries the link
    with caplog.at_level(logging.INFO, logger="sms"):
        assert services.message_deliver(message_id=message.pk) is True
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "sms")
    assert booking.reference in logged
    assert token not in logged and token not in unquote(logged)


@pytest.mark.parametrize(
    ("line", "number"),
    [
        # The admin carries an exact search into the change page's link, escaped.
        (
            "GET /admin/appointments/booking/273/change/?_changelist_filters=id_number%3D330106199001010018",
            "330106199001010018",
        ),
        ("GET /admin/bureau/application/?_changelist_filters=phone__exact%3D13812345678%26o%3D1", "13812345678"),
        ("GET /admin/appointments/booking/?id_number__in=330106199001010018,11010519491231002X", "330106199001010018"),
        ("GET /admin/appointments/booking/?q=330106199001010018&o=2", "330106199001010018"),
        ("GET /admin/appointments/booking/?o=2&q=13812345678", "13812345678"),
    ],
)
def test_personal_numbers_in_admin_links_and_searches_are_redacted(line: str, number: str) -> None:
    assert number not in redact(line)
    assert "[secret]" in redact(line)


def test_a_search_outside_the_admin_is_kept() -> None:
    assert redact("GET /book/?q=hello") == "GET /book/?q=hello"
