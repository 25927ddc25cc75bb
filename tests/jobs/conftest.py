"""The background jobs for real: a Celery worker subprocess (so it can be SIGKILLed) on
Redis, reading the test database, mailing a real SMTP server (aiosmtpd) run in the test.

No broker, database or mail server is mocked. The test process publishes to Redis too: it
is switched off eager mode for these tests and back afterwards. Every worker and server
started here is stopped by a finalizer, whatever the test's outcome."""

import collections
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import kombu.pools
import pytest
import redis
from django.db import connection

from iepcoord.celery import app as celery_app
from tests.conftest import needs_service

from .local_services import RedisServer, SmtpSink, redis_reachable, wait_until

ROOT = Path(__file__).resolve().parents[2]
# CI gives REDIS_URL; on a laptop the local Redis, if there is one.
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


# --- SMTP ---------------------------------------------------------------------------------


def once_each(messages) -> collections.Counter:
    """The messages received more than once by the same recipient."""
    counts = collections.Counter(messages)
    return collections.Counter({key: n for key, n in counts.items() if n > 1})


@pytest.fixture
def smtp():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


# --- Redis ------------------------------------------------------------------------------------


@pytest.fixture
def broker_url():
    """The Redis database the worker and the test publish to, emptied first so no message
    of an earlier run is left in the queue."""
    if not redis_reachable(REDIS_URL):
        needs_service(f"needs Redis at {REDIS_URL}: set REDIS_URL")
    redis.Redis.from_url(REDIS_URL).flushdb()
    return REDIS_URL


@pytest.fixture
def own_redis():
    if shutil.which("redis-server") is None:
        needs_service("needs redis-server on the PATH")
    server = RedisServer()
    server.start()
    yield server
    server.stop()


# --- Celery -------------------------------------------------------------------------------------


def _drop_broker_connections():
    # kombu keeps its pools in a registry of its own: close and forget them all.
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextlib.contextmanager
def publishing_to(url: str):
    """The test process queues tasks on `url` instead of running them eagerly."""
    conf = celery_app.conf
    saved = conf.task_always_eager, conf.broker_url
    conf.task_always_eager, conf.broker_url = False, url
    _drop_broker_connections()
    try:
        yield
    finally:
        conf.task_always_eager, conf.broker_url = saved
        _drop_broker_connections()


class Worker:
    """`celery -A iepcoord worker` in its own process group, so a SIGKILL takes the
    parent and its pool children at once, as a crashed machine would."""

    def __init__(self, env: dict, log_path: Path, concurrency: int):
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "iepcoord",
                "worker",
                "--loglevel",
                "INFO",
                "--pool",
                "prefork",
                "--concurrency",
                str(concurrency),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--hostname",
                f"jobs-{uuid.uuid4().hex[:8]}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def wait_ready(self, timeout: float = 30):
        wait_until(
            lambda: " ready." in self.log() or self.proc.poll() is not None,
            timeout=timeout,
            what="the worker to be ready",
            detail=self.log_tail,
        )
        if self.proc.poll() is not None:
            pytest.fail(f"The worker exited with {self.proc.returncode}:\n{self.log_tail()}")

    def kill(self):
        """SIGKILL: no warm shutdown, no ack, no cleanup."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        # Pool children left behind by a parent that died first.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()


def worker_database_url() -> str:
    """The database pytest-django created for this run, as the worker must read it."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"])
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{credentials}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def start_worker(postgres, broker_url, smtp, tmp_path):
    """Start a worker: `start_worker(concurrency=2, broker=url, **env)`. It reads the test
    database and mails `smtp`; retries wait a second or two instead of minutes."""
    workers = []

    def start(*, concurrency: int = 2, broker: str | None = None, **extra_env) -> Worker:
        env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": broker or broker_url,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp.port),
            "EMAIL_USE_TLS": "0",
            "EMAIL_TIMEOUT": "5",
            "EMAIL_RETRY_BACKOFF": "1",
            "EMAIL_RETRY_BACKOFF_MAX": "2",
            "EMAIL_MAX_RETRIES": "30",
            "CELERY_VISIBILITY_TIMEOUT": "30",
            # Under the visibility timeout, as the settings require (no roster job here).
            "ROSTER_IMPORT_TIME_LIMIT": "2",
            "PYTHONUNBUFFERED": "1",
            **{key: str(value) for key, value in extra_env.items()},
        }
        worker = Worker(env, tmp_path / f"worker-{len(workers)}.log", concurrency)
        workers.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def queue_on_redis(broker_url):
    with publishing_to(broker_url):
        yield broker_url


@pytest.fixture(autouse=True)
def _fixed_now():
    """The real clock here (tests/conftest.py fixes it elsewhere): another process reads it."""
    yield
