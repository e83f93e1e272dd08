"""Secrets and personal numbers out of logs. The manage link carries its secret in the path
(an SMS can hold nothing else), and a clerk's exact search in the admin puts an ID or mobile
number in the query string, so every log that could write a URL writes it through
`redact`: the access log (gunicorn's logger class below), Django's log records, and the
console SMS backend."""

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

# /book/manage/<reference>/<token>/...: the reference stays (staff look bookings up by it).
MANAGE_LINK_SECRET = re.compile(r"(/book/manage/[^/\s?#]+/)[^/\s?#\"]+")
# ?id_number=..., &phone__exact=..., and the same names inside other parameters.
PERSONAL_QUERY_VALUE = re.compile(r"((?:^|[?&;\s])[\w.]*(?:id_number|phone)(?:__exact)?=)[^&;#\s\"]*")
REDACTED = "[secret]"


def redact(text: str) -> str:
    text = MANAGE_LINK_SECRET.sub(rf"\g<1>{REDACTED}", text)
    return PERSONAL_QUERY_VALUE.sub(rf"\g<1>{REDACTED}", text)


class RedactSecrets(logging.Filter):
    """A logging filter: the record's message, with secrets taken out."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class AccessLogger(Logger):
    """gunicorn's logger with every access-log field redacted (the request line, the path,
    the referrer: a page opened from the manage page names it)."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        return {
            key: redact(value) if isinstance(value, str) else value
            for key, value in super().atoms(resp, req, environ, request_time).items()
        }
