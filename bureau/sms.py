"""Pluggable SMS delivery, called only by the outbox's sender (bureau.services.message_deliver).
SMS_BACKEND names a class with `send(phone, text, key)`: console (default, logs a masked
number), file (one file per message, for tests and demos), or an HTTP gateway
(SMS_GATEWAY_URL + SMS_GATEWAY_TOKEN). `key` is the message's unique key: a gateway that
honours an idempotency key drops a repeat of a message it already took."""

import json
import logging
import urllib.request
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

from bureau.identity import mask_phone
from bureau.redaction import redact

logger = logging.getLogger("sms")


class ConsoleBackend:
    def send(self, phone: str, text: str, key: str) -> None:
        logger.info("SMS to %s: %s", mask_phone(phone), redact(text))


class FileBackend:
    """One JSON file per message, named by its key: a repeated send overwrites, so the folder
    holds what the applicant received, once."""

    def send(self, phone: str, text: str, key: str) -> None:
        folder = Path(settings.SMS_FILE_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        name = "".join(c if c.isalnum() else "-" for c in key)
        (folder / f"{name}.json").write_text(json.dumps({"phone": phone, "text": text, "key": key}, ensure_ascii=False))


class HttpGatewayBackend:
    """POSTs {"phone", "text"} as JSON with a bearer token and the key as Idempotency-Key;
    any non-2xx answer raises, and the outbox tries again later."""

    def send(self, phone: str, text: str, key: str) -> None:
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's setting
            settings.SMS_GATEWAY_URL,
            data=json.dumps({"phone": phone, "text": text}).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.SMS_GATEWAY_TOKEN}",
                "Idempotency-Key": key,
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            if not 200 <= response.status < 300:
                raise OSError(f"SMS gateway answered {response.status}")


def send_sms(phone: str, text: str, *, key: str) -> None:
    import_string(settings.SMS_BACKEND)().send(phone, text, key)
