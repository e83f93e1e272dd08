"""Secrets and personal numbers out of logs. The manage link carries its secret in the path
(an SMS can hold nothing else), and a clerk's exact search in the admin puts an ID or mobile
number in the query string, so every log that could write a URL writes it through
`redact`: the access log (gunicorn's logger class below), Django's log records, and the
console SMS backend."""

import logging
import re
from typing import Any
from urllib.parse import unquote

from gunicorn.glogging import Logger

# /book/manage/<reference>/<token>/..., and the same for an emergency case's and an
# enterprise's private link: the reference stays (staff look them up by it). Any case and
# doubled slashes: the token is the same secret in a link mistyped that way.
MANAGE_LINK_SECRET = re.compile(r"(/(?:book/+manage|emergency|enterprise)/+[^/\s?#]+/+)[^/\s?#\"]+", re.IGNORECASE)
# ?id_number=..., &phone__exact=..., booking__id_number__in=..., and the same inside another
# parameter's value (the admin's ?_changelist_filters=id_number%3D...).
PERSONAL_QUERY_VALUE = re.compile(r"((?:^|[?&;=\s])[\w.]*(?:id_number|phone)(?:__\w+)?=)[^&;#\s\"]*")
# What is typed into an admin list's search box: a person's number, as often as not.
ADMIN_SEARCH = re.compile(r"(/admin/\S*?[?&;]q=)[^&;#\s\"]*")
REDACTED = "[secret]"
# Percent-escapes undone at most this often (a link escaped twice, as a parameter of a link).
UNESCAPE_ROUNDS = 3


def _redact_plain(text: str) -> str:
    for secret in (MANAGE_LINK_SECRET, PERSONAL_QUERY_VALUE, ADMIN_SEARCH):
        text = secret.sub(rf"\g<1>{REDACTED}", text)
    return text


def redact(text: str) -> str:
    """The text with every secret in it taken out. A link written with percent-escapes (%2F
    for its slashes, as a parameter of another link, or a request line that escapes its
    letters, which gunicorn decodes for Django) is one too: the text is then given with the
    escapes undone and its secrets out."""
    cleaned = decoded = _redact_plain(text)
    for _ in range(UNESCAPE_ROUNDS):
        if "%" not in decoded:
            break
        decoded = unquote(decoded)
        redacted = _redact_plain(decoded)
        if redacted != decoded:  # the escapes hid a secret
            cleaned = decoded = redacted
    return cleaned


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
