"""Services of our own on free local ports: a real SMTP server that keeps what it accepts,
and a redis-server to stop and start. Used by the job tests and by bench/district.py."""

import asyncio
import email
import email.policy
import socket
import subprocess
import threading
import time

import redis
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, *, timeout: float, what: str, every: float = 0.05, detail=lambda: ""):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"Timed out after {timeout}s waiting for {what}\n{detail()}")
        time.sleep(every)


class SmtpSink:
    """A real SMTP server keeping what it accepted, and when. `mail_delay` slows each
    message down at MAIL FROM, before any of it is accepted, so a worker killed meanwhile
    has sent nothing of that message; `mail_started` counts the messages begun."""

    def __init__(self, mail_delay: float = 0.0):
        self.port = free_port()
        self.mail_delay = mail_delay
        self.mail_started = 0
        self.messages: list[tuple[str, str, str]] = []
        self.arrivals: list[float] = []
        self._lock = threading.Lock()
        self._controller = None

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        with self._lock:
            self.mail_started += 1
        if self.mail_delay:
            await asyncio.sleep(self.mail_delay)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",)).get_content()
        with self._lock:
            for recipient in envelope.rcpt_tos:
                self.messages.append((recipient, str(message["Subject"]), body))
                self.arrivals.append(time.perf_counter())
        return "250 Message accepted for delivery"

    def start(self):
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self) -> list[tuple[str, str, str]]:
        with self._lock:
            return list(self.messages)

    def wait_for(self, count: int, *, timeout: float = 60, quiet: float = 1.5, detail=lambda: ""):
        """Wait for `count` messages, then for `quiet` seconds more: a duplicate would
        arrive then."""
        wait_until(
            lambda: len(self.received()) >= count,
            timeout=timeout,
            what=f"{count} emails (got {len(self.received())})",
            detail=detail,
        )
        time.sleep(quiet)
        return self.received()


def redis_reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


class RedisServer:
    """Our own redis-server on a free port, to stop and start without touching the one
    the rest of the machine uses. No persistence, like the default install: a restart
    loses what was queued."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(lambda: redis_reachable(self.url), timeout=10, what="redis-server to start")

    def client(self):
        return redis.Redis.from_url(self.url)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None
