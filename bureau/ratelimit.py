"""The one guard on what a stranger may try: booking, look-ups, link resends, staff logins.

Each scope allows at most N attempts in any moving window of W seconds (settings.RATE_LIMITS;
the `limits` package's moving-window strategy), so no burst passes at a window boundary.
The counts are shared through Redis when REDIS_URL is set. Redis never decides: when it
fails, each process counts on its own (a per-process limit) and asks Redis again after
REDIS_RETRY_SECONDS, so the limits come back by themselves when it does.
"""

import hashlib
import ipaddress
import logging
import math
import threading
import time
from functools import cache

from django.conf import settings
from django.http import HttpRequest
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter
from redis import ConnectionPool
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

REDIS_RETRY_SECONDS = 5.0


class _Fallback:
    """Until when this process counts on its own."""

    lock = threading.Lock()
    until = 0.0


_local = MovingWindowRateLimiter(MemoryStorage())


@cache
def _parsed(limit: str) -> RateLimitItem:
    return parse(limit)


def forget_local_counts() -> None:
    """Forget this process's own counts (tests; an operator after an incident)."""
    _local.storage.reset()


def _shared() -> MovingWindowRateLimiter | None:
    """The limiter on the cache's Redis (its connection pool, so its timeouts), if any."""
    if not settings.REDIS_URL or time.monotonic() < _Fallback.until:
        return None
    from django_redis import get_redis_connection

    return _redis_limiter(get_redis_connection("default").connection_pool)


@cache
def _redis_limiter(pool: ConnectionPool) -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(RedisStorage(settings.REDIS_URL, connection_pool=pool))


def _key(identity: tuple[str, ...]) -> str:
    """Identities (addresses, ID numbers) are keyed by an HMAC: keys show up in monitoring.
    Any string hashes, even one with a lone surrogate that UTF-8 cannot encode."""
    text = "\x1f".join(identity).encode("utf-8", "surrogatepass")
    return hashlib.sha256(settings.SECRET_KEY.encode() + b"\x00" + text).hexdigest()[:32]


def retry_after(scope: str, *identity: str) -> int | None:
    """Count one attempt in `scope` by `identity`; the seconds to wait when it is over the
    limit (the attempt is then not counted), else None."""
    if not settings.RATE_LIMITS_ENABLED:
        return None
    item, key = _parsed(settings.RATE_LIMITS[scope]), _key(identity)
    limiter = _shared()
    if limiter is not None:
        try:
            return _hit(limiter, item, scope, key)
        except RedisError:
            with _Fallback.lock:
                if time.monotonic() >= _Fallback.until:
                    logger.warning("Redis is unreachable: rate limits count per process for a while")
                _Fallback.until = time.monotonic() + REDIS_RETRY_SECONDS
    return _hit(_local, item, scope, key)


def _hit(limiter: MovingWindowRateLimiter, item: RateLimitItem, scope: str, key: str) -> int | None:
    if limiter.hit(item, scope, key):
        return None
    reset_at = limiter.get_window_stats(item, scope, key).reset_time
    return max(1, math.ceil(reset_at - time.time()))


@cache
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _is_trusted_proxy(address: str) -> bool:
    if not settings.TRUSTED_PROXIES:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, unless that is a configured proxy (TRUSTED_PROXIES,
    none by default); then the nearest address in X-Forwarded-For that is not one of ours.
    Anything a client writes into the header before our proxy's entry is not looked at."""
    address = str(request.META.get("REMOTE_ADDR", ""))
    if not _is_trusted_proxy(address):
        return address
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    for hop in reversed([part.strip() for part in forwarded.split(",")]):
        if not _is_trusted_proxy(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                break  # our proxy wrote something that is no address: count the proxy
    return address
