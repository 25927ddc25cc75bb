"""Production settings: Django's deployment checks pass, and a missing secret stops the app
from starting. Each test runs manage.py in a fresh process, as a server would."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PRODUCTION = {"DEBUG": "0", "ALLOWED_HOSTS": "iepcoord.example.org"}
# Set for the tests (conftest.py lets Playwright and the ORM share a thread); never in production.
TEST_ONLY = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE")


def manage(*args, **env):
    environ = {k: v for k, v in os.environ.items() if k not in TEST_ONLY}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_the_deployment_checks():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING",
        **PRODUCTION, SECRET_KEY=secrets.token_urlsafe(64),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_settings_refuse_to_load_without_a_secret_key():
    result = manage("check", **PRODUCTION)
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is required when DEBUG is off" in result.stderr
