"""The Django cache on Redis, for which Redis down is not an outage.

The cache holds allauth's sign-in rate limits (ACCOUNT_RATE_LIMITS) and the district's
figures (FIGURES_CACHE_SECONDS). Django's RedisCache raises on a refused connection, so
with Redis down every sign-in answered 500. Here a call that cannot reach Redis is served
by a local-memory cache in this process instead:

- SAFE, not open: the rate limits still count, per web process instead of across them
  (a cache that forgot, as django-redis's IGNORE_EXCEPTIONS does, would either let
  passwords be guessed without limit or, through allauth's cache lock, refuse everyone).
- Never slow: short socket timeouts (settings.CACHES OPTIONS, passed to redis-py), and
  after a failure Redis is not tried again for `FALLBACK_SECONDS` (a small circuit
  breaker), so a hung Redis costs one request one timeout, not every call of every page.
- Logged once: a warning when Redis becomes unreachable (at most one a minute, however
  often it flaps) and an info when it answers again.

Values written during an outage stay in the process and are not copied to Redis when it
comes back: a cache, and rate limits of a few minutes, need no more.
"""

import logging
import threading
import time

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

# Redis unreachable or too slow; anything else (a bad command, a full Redis) still raises.
UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


class _Breaker:
    """Whether Redis at one location is worth trying, shared by the threads of a process
    (Django makes one cache backend per thread)."""

    def __init__(self, *, location: str, fallback_seconds: float, warn_every: float):
        self.location = location
        self.fallback_seconds = fallback_seconds
        self.warn_every = warn_every
        self._lock = threading.Lock()
        self._open_until = 0.0  # time.monotonic() before which Redis is not tried
        self._down = False
        self._warned_at: float | None = None
        self._outage_warned = False

    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def failed(self, exc: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            self._open_until = now + self.fallback_seconds
            if self._down:
                return
            self._down = True
            warn = self._warned_at is None or now - self._warned_at >= self.warn_every
            if warn:
                self._warned_at = now
            self._outage_warned = warn
        if warn:
            logger.warning(
                "Redis cache at %s is unreachable (%s): using this process's memory, "
                "rate limits count per process until it is back",
                self.location,
                exc,
            )

    def succeeded(self) -> None:
        if not self._down:  # the common case, without taking the lock
            return
        with self._lock:
            if not self._down:
                return
            self._down = False
            announce = self._outage_warned
        if announce:
            logger.info("Redis cache at %s is reachable again", self.location)


# One breaker per Redis location and process: a warning per outage, not per thread.
_breakers: dict[str, _Breaker] = {}
_breakers_lock = threading.Lock()


class FallbackRedisCache(RedisCache):
    """RedisCache that serves a call from local memory when Redis cannot be reached.

    OPTIONS of its own (the others go to redis-py's ConnectionPool): FALLBACK_SECONDS
    (5) without trying Redis after a failure, WARN_EVERY_SECONDS (60) between warnings,
    FALLBACK_MAX_ENTRIES (10000) in the local cache: rate-limit counters of many
    accounts must not push each other out (LocMemCache's default is 300).
    """

    def __init__(self, server, params):
        super().__init__(server, params)
        options = dict(self._options)
        fallback_seconds = float(options.pop("FALLBACK_SECONDS", 5))
        warn_every = float(options.pop("WARN_EVERY_SECONDS", 60))
        max_entries = int(options.pop("FALLBACK_MAX_ENTRIES", 10_000))
        self._options = options
        location = ",".join(self._servers)
        with _breakers_lock:
            self._breaker = _breakers.setdefault(
                location,
                _Breaker(
                    location=location, fallback_seconds=fallback_seconds, warn_every=warn_every
                ),
            )
        # LocMemCache keeps its data per name, module-wide: the threads of a process share
        # it. Same prefix, version and default timeout as the Redis cache.
        self._fallback = LocMemCache(
            f"iepcoord-redis-fallback:{location}",
            {**params, "OPTIONS": {"MAX_ENTRIES": max_entries}},
        )

    def _call(self, method: str, *args, everywhere: bool = False, **kwargs):
        """`method` on Redis, or on the local cache when Redis is unreachable or was a
        moment ago; `everywhere`: on the local cache as well, first."""
        local = getattr(self._fallback, method)(*args, **kwargs) if everywhere else None
        if not self._breaker.is_open():
            try:
                result = getattr(super(), method)(*args, **kwargs)
            except UNREACHABLE as exc:
                self._breaker.failed(exc)
            else:
                self._breaker.succeeded()
                return result
        return local if everywhere else getattr(self._fallback, method)(*args, **kwargs)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", key, value, timeout, version=version)

    def get(self, key, default=None, version=None):
        return self._call("get", key, default, version=version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", key, value, timeout, version=version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", key, timeout, version=version)

    def get_many(self, keys, version=None):
        return self._call("get_many", keys, version=version)

    def has_key(self, key, version=None):
        return self._call("has_key", key, version=version)

    def incr(self, key, delta=1, version=None):
        return self._call("incr", key, delta, version=version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", data, timeout, version=version)

    # Deletions reach the local cache too, always: a rate limit cleared or a lock released
    # while Redis was up must not come back from memory at the next outage.
    def delete(self, key, version=None):
        return self._call("delete", key, version=version, everywhere=True)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", keys, version=version, everywhere=True)

    def clear(self):
        return self._call("clear", everywhere=True)
