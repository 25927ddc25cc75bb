"""Browser journeys in real Chromium: Debian's /usr/bin/chromium, never a downloaded one
(`playwright install` cannot reach the internet here)."""

import os

import pytest
from django.db import connection
from django.test import override_settings

from tests.conftest import needs_service

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Skips on a laptop without Chromium; fails in CI (CI=true), which must provide it.
    if not os.path.exists(CHROMIUM):
        needs_service(f"needs Chromium at {CHROMIUM}: apt-get install -y chromium")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session", autouse=True)
def _static_root(tmp_path_factory):
    # The live server loads WhiteNoise once for the session; it warns (an error in the
    # tests) when STATIC_ROOT does not exist, as before the first collectstatic.
    with override_settings(STATIC_ROOT=tmp_path_factory.mktemp("static")):
        yield


@pytest.fixture(scope="session")
def base_url(django_db_setup, django_db_blocker, live_server):
    # Pages open relative to the live server: page.goto(reverse("home")). This also
    # replaces pytest-playwright 0.10's fallback `base_url`, an instance-method fixture
    # that pytest 9 deprecates (PytestRemovedIn10Warning, an error with our filters).
    yield live_server.url
    # Playwright's sync API runs the test in a greenlet with its own context, so an ORM
    # connection opened there is not the one pytest-django closes; left open, it stops
    # the test database from being dropped at the end of the session.
    if connection.vendor == "postgresql":
        with django_db_blocker.unblock():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            connection.close()


@pytest.fixture(autouse=True)
def _fixed_now():
    """The real clock here (tests/conftest.py fixes it elsewhere): another process reads it."""
    yield
