"""Settings of the pages benchmark (bench/pages.py, README "Pages at district scale"):
production's (iepcoord/settings.py, DEBUG off) on the benchmark district, served over plain
http on 127.0.0.1 with persistent database connections, plus what the benchmark needs and
production must not have: a minimal signed-in page to compare every page with
(bench/urls.py), and query counts in response headers on request (bench/middleware.py).

    DJANGO_SETTINGS_MODULE=bench.settings gunicorn iepcoord.wsgi -k sync -w 3
"""

import os
from pathlib import Path

# Production, whatever the environment says (the Makefile exports DEBUG=1), on the
# benchmark's own database, never the one DATABASE_URL names for the tests.
os.environ["DEBUG"] = "0"
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/iepcoord_bench"
)
os.environ.setdefault("SECRET_KEY", "bench-only-key-never-deployed-" + "x" * 32)
os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost"
# Plain http on 127.0.0.1: no redirect to https, no HSTS.
os.environ["SECURE_SSL_REDIRECT"] = "0"
os.environ["SECURE_HSTS_SECONDS"] = "0"
# Persistent connections, as production keeps them (iepcoord/settings.py reads CONN_MAX_AGE).
os.environ.setdefault("CONN_MAX_AGE", "600")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("STATIC_ROOT", "/tmp/iepcoord-bench-static")
# No broker: a page served by GET queues nothing. The cache production has, one Redis
# shared by the workers, which count the district's figures once (FIGURES_CACHE_SECONDS),
# not once each: its own database, emptied when a run starts; without Redis each worker
# keeps its own (iepcoord/cache.py).
os.environ.pop("REDIS_URL", None)
os.environ["CACHE_REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")

from iepcoord.settings import *  # noqa: E402, F403
from iepcoord.settings import MIDDLEWARE, TEMPLATES  # noqa: E402

# Cookies a browser sends over plain http.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

ROOT_URLCONF = "bench.urls"
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], Path(__file__).resolve().parent / "templates"]
# Outermost, so that it counts the queries of every middleware too.
MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]
