"""HTTP for the benchmarks' clients: no Django, no side effects."""

import http.client
import json


def kept_alive_request(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: dict | None = None,
    extra_headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """One request on a kept-alive connection; a connection the server closed while idle is
    opened again once, as any HTTP client does."""
    headers = {"Content-Type": "application/json", "Accept-Language": "zh-hans", **(extra_headers or {})}
    for attempt in (1, 2):
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            conn.close()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
