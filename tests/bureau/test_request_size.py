"""A multipart body over MULTIPART_MAX_BYTES (files have no limit of Django's own) is a 413
before anything reads it: the error body under /api/, a page elsewhere."""

import pytest
from django.test import Client

BOUNDARY = "multipart/form-data; boundary=xyz"
BODY = b'--xyz\r\nContent-Disposition: form-data; name="office"\r\n\r\nXH\r\n--xyz--\r\n'


@pytest.mark.parametrize("path", ["/api/v1/emergency-cases/", "/emergency/"])
def test_a_multipart_body_declared_over_the_limit_is_413_unread(client: Client, settings, path: str) -> None:
    settings.MULTIPART_MAX_BYTES = 2 * 1024 * 1024
    response = client.generic(
        "POST",
        path,
        BODY,
        content_type=BOUNDARY,
        CONTENT_LENGTH=str(3 * 1024 * 1024),
        headers={"accept-language": "en"},
    )
    assert response.status_code == 413
    if path.startswith("/api/"):
        assert response.json()["code"] == "request_too_large"
        assert "at most 2 MB" in response.json()["detail"]
    else:
        assert "Files too large" in response.content.decode()


@pytest.mark.django_db
def test_a_multipart_body_within_the_limit_reaches_the_view(client: Client, settings) -> None:
    settings.MULTIPART_MAX_BYTES = 1000
    response = client.generic("POST", "/api/v1/emergency-cases/", BODY, content_type=BOUNDARY)
    assert response.status_code != 413
