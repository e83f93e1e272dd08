"""Pluggable SMS delivery. SMS_BACKEND names a class with `send(phone, text)`:
console (default, logs a masked number), file (one file per message, for tests and
demos), or an HTTP gateway (SMS_GATEWAY_URL + SMS_GATEWAY_TOKEN): one setting away."""

import json
import logging
import urllib.request
from pathlib import Path
from uuid import uuid4

from django.conf import settings
from django.utils.module_loading import import_string

from appointments.rules import mask_phone

logger = logging.getLogger("sms")


class ConsoleBackend:
    def send(self, phone: str, text: str) -> None:
        logger.info("SMS to %s: %s", mask_phone(phone), text)


class FileBackend:
    def send(self, phone: str, text: str) -> None:
        folder = Path(settings.SMS_FILE_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{uuid4().hex}.json").write_text(json.dumps({"phone": phone, "text": text}, ensure_ascii=False))


class HttpGatewayBackend:
    """POSTs {"phone", "text"} as JSON with a bearer token; any non-2xx answer raises, and
    the Celery task retries."""

    def send(self, phone: str, text: str) -> None:
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's setting
            settings.SMS_GATEWAY_URL,
            data=json.dumps({"phone": phone, "text": text}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {settings.SMS_GATEWAY_TOKEN}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            if not 200 <= response.status < 300:
                raise OSError(f"SMS gateway answered {response.status}")


def send_sms(phone: str, text: str) -> None:
    import_string(settings.SMS_BACKEND)().send(phone, text)
