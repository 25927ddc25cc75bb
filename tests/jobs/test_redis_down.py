"""Redis down is not an outage: with the cache's Redis stopped (or hung), people still
sign in and see their pages, the sign-in rate limits still hold (in the web process's
memory), the outage is logged once, and the cache goes back to Redis when it returns.

Against a redis-server of the test's own (tests/jobs/local_services.py), stopped and
started for real; nothing is mocked. The shared Redis on port 6379 is never touched."""

import logging
import os
import signal
import time

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests import factories as f

# The breaker is shortened so the tests need not wait out the production 5 seconds.
FALLBACK_SECONDS = 0.5


@pytest.fixture
def redis_cache(own_redis, settings):
    """settings.CACHES as production has it (iepcoord/settings.py), on `own_redis`."""
    settings.CACHES = {
        "default": {
            "BACKEND": "iepcoord.cache.FallbackRedisCache",
            "LOCATION": own_redis.url,
            "OPTIONS": {
                "socket_connect_timeout": 0.5,
                "socket_timeout": 1,
                "FALLBACK_SECONDS": FALLBACK_SECONDS,
            },
        }
    }
    cache.clear()
    return own_redis


@pytest.fixture
def cache_log(caplog):
    caplog.set_level(logging.INFO, logger="iepcoord.cache")

    def records(level):
        return [r for r in caplog.records if r.name == "iepcoord.cache" and r.levelno == level]

    return records


def login(client, email, password):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def rate_limit_keys(server) -> list[bytes]:
    return [key for key in server.client().keys("*") if b"allauth" in key]


def test_staff_sign_in_and_see_home_while_redis_is_down(client, redis_cache, seca):
    # Redis up: the sign-in's rate-limit counters are kept in Redis.
    response = login(client, seca.email, f.PASSWORD)
    assert response.status_code == 302 and response.url == reverse("home")
    assert rate_limit_keys(redis_cache)

    redis_cache.stop()
    # Sessions are in the database: the signed-in person is not signed out.
    assert client.get(reverse("home")).status_code == 200

    client.logout()
    response = login(client, seca.email, f.PASSWORD)
    assert response.status_code == 302 and response.url == reverse("home")
    assert client.get(reverse("home")).status_code == 200


def test_wrong_passwords_are_still_limited_while_redis_is_down(client, redis_cache, seca):
    redis_cache.stop()
    for _ in range(5):
        response = login(client, seca.email, "wrong-password")
        assert response.status_code == 200
        assert "Too many failed login attempts" not in response.content.decode()
    # allauth's login_failed limit, 5 per 5 minutes per account, counted in memory now:
    # even the right password is refused.
    response = login(client, seca.email, f.PASSWORD)
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert not signed_in(client)


def test_an_outage_is_logged_once_and_its_end_once(client, redis_cache, seca, cache_log):
    redis_cache.stop()
    # Many cache calls per sign-in, and Redis tried again after each breaker period.
    for _ in range(3):
        assert login(client, seca.email, "wrong-password").status_code == 200
        time.sleep(FALLBACK_SECONDS + 0.1)
    assert login(client, seca.email, f.PASSWORD).status_code == 302

    [warning] = cache_log(logging.WARNING)
    assert redis_cache.url in warning.getMessage()
    assert "unreachable" in warning.getMessage()
    assert not cache_log(logging.INFO)

    redis_cache.start()
    time.sleep(FALLBACK_SECONDS + 0.1)
    client.logout()
    assert login(client, seca.email, f.PASSWORD).status_code == 302
    [info] = cache_log(logging.INFO)
    assert "reachable again" in info.getMessage()
    assert len(cache_log(logging.WARNING)) == 1


def test_the_cache_uses_redis_again_once_it_is_back(client, redis_cache, seca):
    redis_cache.stop()
    cache.set("during-the-outage", "in memory")
    assert cache.get("during-the-outage") == "in memory"

    redis_cache.start()  # empty: no persistence
    time.sleep(FALLBACK_SECONDS + 0.1)
    cache.set("after", "in redis")
    assert redis_cache.client().get(cache.make_and_validate_key("after")) is not None
    # Reads come from Redis again, not from the outage's memory.
    assert cache.get("during-the-outage") is None

    response = login(client, seca.email, f.PASSWORD)
    assert response.status_code == 302
    assert rate_limit_keys(redis_cache)


def test_a_hung_redis_costs_one_timeout_not_one_per_call(client, redis_cache, seca):
    # SIGSTOP: connections are accepted by the kernel, never answered, as on a frozen host.
    os.kill(redis_cache.proc.pid, signal.SIGSTOP)
    started = time.monotonic()
    for _ in range(3):
        assert login(client, seca.email, "wrong-password").status_code == 200
    assert login(client, seca.email, f.PASSWORD).status_code == 302
    assert client.get(reverse("home")).status_code == 200
    # Each sign-in makes several cache calls: without the breaker each would wait out the
    # 1 s socket timeout. With it, one waits, then Redis is retried every 0.5 s at most.
    assert time.monotonic() - started < 6
