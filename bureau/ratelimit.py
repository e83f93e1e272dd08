"""Fixed-window rate limits in Django's cache (Redis when REDIS_URL is set, so all web
workers share the counts). `cache.add` + `cache.incr` are atomic on Redis."""

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from bureau.identity import compact_id_number


def retry_after(bucket: str, *, limit: int, window: int) -> int | None:
    """Count one attempt; the seconds to wait if this one is over the limit, else None."""
    now = time.time()
    key = f"ratelimit:{bucket}:{int(now // window)}"
    count = 1 if cache.add(key, 1, window + 1) else cache.incr(key)
    if count > limit:
        return max(1, int(window - now % window))
    return None


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind the proxy the header it sets itself
    (CLIENT_ADDRESS_HEADER, e.g. HTTP_X_REAL_IP), which a client cannot forge past it."""
    return str(request.META.get(settings.CLIENT_ADDRESS_HEADER or "REMOTE_ADDR", ""))


def booking_retry_after(*, address: str, id_number: str) -> int | None:
    """None when a booking attempt from this address for this ID number may go ahead."""
    if not settings.BOOKING_RATE_LIMITS:
        return None
    limit, window = settings.BOOKING_RATE_PER_ADDRESS
    wait = retry_after(f"address:{address}", limit=limit, window=window)
    if wait is None and id_number:
        limit, window = settings.BOOKING_RATE_PER_ID_NUMBER
        # The ID number is hashed into the key: cache keys may show up in monitoring.
        wait = retry_after(f"id:{hash_key(compact_id_number(id_number))}", limit=limit, window=window)
    return wait


def hash_key(value: str) -> str:
    return hashlib.sha256(f"{settings.SECRET_KEY}:{value}".encode()).hexdigest()[:32]
