"""One settings module, driven by environment variables.

Production is the default: with DEBUG unset the app is in production mode and refuses to
start without SECRET_KEY, so a deployment that forgets a variable never runs in debug mode
with a published key. `make run`, `make test` and CI set DEBUG=1 (and pytest, through
pytest-env), which gives the embedded default a newcomer needs: SQLite in the project
folder, Celery tasks run eagerly, email printed to the console. DATABASE_URL, REDIS_URL,
ALLOWED_HOSTS and the EMAIL_* variables point it at real services.
"""

import os
import re
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
# Commands that only read the code and write files (migrations, translations) sign nothing:
# they run without a secret, as a checkout with no environment runs them. Anything else
# with DEBUG off (the server, the workers, migrate, check) refuses to start without one.
OFFLINE_COMMANDS = {"makemigrations", "makemessages", "compilemessages"}
if not SECRET_KEY and DEBUG:
    SECRET_KEY = "insecure-development-key-only-for-the-embedded-default"  # noqa: S105
elif not SECRET_KEY and not (len(sys.argv) > 1 and sys.argv[1] in OFFLINE_COMMANDS):
    raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "crispy_forms",
    "crispy_bootstrap5",
    "staff",
    "meetings",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The client's IP for the audit trail (34 CFR 300.614), read as allauth reads it.
    "staff.middleware.AuditContextMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Closed by default: every view needs sign-in unless marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # After LocaleMiddleware and auth: a signed-in person's own language, unless switched.
    "staff.middleware.PreferredLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Two-step sign-in is required of district administrators and admin accounts (staff/mfa.py).
    "staff.mfa.MfaRequiredMiddleware",
    # Pages of a signed-in person hold student records: no browser or proxy keeps them.
    "staff.middleware.PrivateCacheMiddleware",
]

ROOT_URLCONF = "iepcoord.urls"
WSGI_APPLICATION = "iepcoord.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "meetings.context_processors.notifications",
            ],
        },
    },
]

# The embedded default is SQLite in the project folder; production sets DATABASE_URL.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# A page's queries are short; PostgreSQL's JIT compiles a query it estimates at many rows,
# which costs 17-40 ms where the query takes one (README "Pages at district scale").
# POSTGRES_JIT=1 leaves it on.
postgres = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if postgres:
    # Django writes a row's related rows as joins in the order it reads them; with more
    # than six, PostgreSQL spent 2 ms planning the order of eight tables for a request
    # read by its id (0.1 ms to run). Past six tables it orders them in groups of six, in
    # the written order. EXPLAIN ANALYZE of every page's queries on the benchmark district:
    # none slower, the request's decision page planned in 2.9 ms instead of 4.1. At 5, the
    # approvers' stay requests took 12 ms more.
    options = ["-c join_collapse_limit=6"]
    if not env_bool("POSTGRES_JIT", False):
        options.append("-c jit=off")
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = " ".join(options)
    # A form's choices are read with QuerySet.iterator(), which on a server-side cursor
    # costs a DECLARE, a FETCH and a CLOSE: 2.7 ms of the team page's 17.7. The app reads
    # no list too long to hold (its long jobs read in keyset chunks).
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
# Server-side binding: psycopg sends the parameters apart from the query (README "Pages
# at district scale"). Only the statements run in iepcoord.db.prepared() are prepared (a
# row by its id, the pages' lists checked to run as fast from one plan): prepared all
# alike, PostgreSQL's one plan read some lists more slowly (the case manager's upcoming
# meetings 2.0 -> 3.0 ms). A pooler in front of PostgreSQL must keep prepared statements
# per client (PgBouncer 1.21's max_prepared_statements) or run in session mode.
# The backend in iepcoord/postgresql keeps bulk statements under the 65,535 parameters a
# statement takes.
# POSTGRES_SERVER_SIDE_BINDING=0 binds on the client, as Django does by default.
if postgres and env_bool("POSTGRES_SERVER_SIDE_BINDING", True):
    DATABASES["default"]["ENGINE"] = "iepcoord.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "staff.User"

REDIS_URL = os.environ.get("REDIS_URL", "")
# The cache's Redis is REDIS_URL's unless CACHE_REDIS_URL names one (the benchmark's cache
# with no broker).
CACHE_REDIS_URL = os.environ.get("CACHE_REDIS_URL", REDIS_URL)
if CACHE_REDIS_URL:
    # The cache holds allauth's sign-in rate limits and the district's figures, shared by
    # every worker (FIGURES_CACHE_SECONDS). Redis down is not an outage: the backend falls
    # back to this process's memory, so sign-in still works and is still rate-limited
    # (iepcoord/cache.py). The socket timeouts (seconds, passed to redis-py's
    # ConnectionPool) keep a hung Redis from hanging pages.
    CACHES = {
        "default": {
            "BACKEND": "iepcoord.cache.FallbackRedisCache",
            "LOCATION": CACHE_REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# Sign-in: email only, no usernames, no open sign-up (the district provisions accounts).
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "staff.adapters.AccountAdapter"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "reset_password": "20/m/ip,5/m/key",
}
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

# Two-step sign-in (allauth.mfa; README "Two-step sign-in"): an authenticator app (TOTP,
# RFC 6238) with one-time recovery codes for a lost phone. Required of district
# administrators and of Django staff and superusers (staff.mfa.mfa_required), offered to
# every school employee. Turning it on or off asks for the password again
# (MFA_REAUTHENTICATION_REQUIRED, allauth's default).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "iepcoord"
# Accept the code of the previous or next 30-second step too: a phone's clock a few
# seconds off, or a code typed as it changes (RFC 6238 section 5.2 allows one step back).
MFA_TOTP_TOLERANCE = 1
MFA_RECOVERY_CODE_COUNT = 10
# No "trust this browser" cookie: student records are read on shared school computers, so
# every sign-in asks for a code.
MFA_TRUST_ENABLED = False
# Wrong codes are rate-limited by allauth's "login_failed" limit (ACCOUNT_RATE_LIMITS
# above), which allauth.mfa 65.x applies to the code step of sign-in, to re-authentication
# and to TOTP activation, keyed per account: after 5 wrong codes in 5 minutes (or 10 failed
# attempts a minute from one address) even a right code is refused with "Too many failed
# login attempts". A six-digit code must never be guessable without it.
if "key" not in ACCOUNT_RATE_LIMITS.get("login_failed", ""):
    raise ImproperlyConfigured(
        "ACCOUNT_RATE_LIMITS['login_failed'] must limit per key: it limits MFA codes"
    )

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "America/Chicago"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    # Finalized plans are student records: kept outside the web root, served by a view
    # that checks access, never by the web server.
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": Path(os.environ.get("PRIVATE_MEDIA_ROOT", BASE_DIR / "private"))},
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage",
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "iepcoord <noreply@iepcoord.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where links in emails point.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Celery: with no REDIS_URL tasks run eagerly in the web process (the embedded default).
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
# Re-queue a task whose worker died (celery #1628); every task is idempotent.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
# Redis redelivers an unacknowledged task after this; it must exceed the longest task.
# The job tests lower it (CELERY_VISIBILITY_TIMEOUT) so a killed worker's task comes back
# in seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT * 4)
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Email tasks retry SMTP and network errors with exponential backoff (seconds). A retry is
# a message with a countdown: it must stay under the visibility timeout, or Redis hands it
# out again and again (kombu #337).
EMAIL_RETRY_BACKOFF = env_int("EMAIL_RETRY_BACKOFF", 10)
EMAIL_RETRY_BACKOFF_MAX = env_int("EMAIL_RETRY_BACKOFF_MAX", 600)
EMAIL_MAX_RETRIES = env_int("EMAIL_MAX_RETRIES", 10)
if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= EMAIL_RETRY_BACKOFF_MAX:
    raise ImproperlyConfigured("EMAIL_RETRY_BACKOFF_MAX must be below CELERY_VISIBILITY_TIMEOUT")
# Emails each worker sends at most, as Celery's rate_limit on the email task reads it
# ("600/m", "10/s", "20000/h"): the pace the mail server accepts, whatever is queued (a
# whole district's invitations at once). Empty: no limit.
EMAIL_RATE_LIMIT = os.environ.get("EMAIL_RATE_LIMIT", "600/m").strip()
if EMAIL_RATE_LIMIT and not re.fullmatch(r"[1-9]\d*(/[smh])?", EMAIL_RATE_LIMIT):
    raise ImproperlyConfigured(
        f"EMAIL_RATE_LIMIT must be a number of emails per s, m or h (600/m), not {EMAIL_RATE_LIMIT!r}"
    )
# The roster import job (README "Roster import"): its time limit, which must stay under
# the visibility timeout (kombu #337), and the largest export a page accepts.
ROSTER_IMPORT_TIME_LIMIT = env_int("ROSTER_IMPORT_TIME_LIMIT", 900)
if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= ROSTER_IMPORT_TIME_LIMIT:
    raise ImproperlyConfigured("ROSTER_IMPORT_TIME_LIMIT must be below CELERY_VISIBILITY_TIMEOUT")
ROSTER_MAX_BYTES = env_int("ROSTER_MAX_BYTES", 500 * 1024 * 1024)


def env_hours(name: str, default: str) -> list[int]:
    """Lead times in hours, e.g. "168,24": largest first."""
    try:
        hours = sorted({int(item) for item in env_list(name, default)}, reverse=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must list whole hours, e.g. {default!r}") from exc
    if not hours or hours[-1] <= 0:
        raise ImproperlyConfigured(f"{name} must list positive hours, e.g. {default!r}")
    return hours


# Background jobs (README "Background jobs"): plain `celery beat` runs the sweeps. Each
# sweep is safe to run twice or twice at once; due times live in the database, never in
# a countdown.
JOB_SWEEP_SECONDS = env_int("JOB_SWEEP_SECONDS", 300)
# A reminder or plan delivery claimed but still unsent this long after it was queued (its
# worker died, Redis lost the message) is queued again by the sweep.
JOB_REQUEUE_AFTER_SECONDS = env_int("JOB_REQUEUE_AFTER_SECONDS", 1800)
# Rows per query in the sweeps: bounded memory, a fixed number of queries per chunk.
JOB_CHUNK_SIZE = env_int("JOB_CHUNK_SIZE", 1000)
# A sender holds an email this long (staff/outbox.py): longer than the email task may run,
# so a live sender never loses it; a sender killed mid-send loses it when it passes.
EMAIL_CLAIM_SECONDS = env_int("EMAIL_CLAIM_SECONDS", 600)
# Hours before the meeting; a reminder goes at the nearest lead time already reached.
REMINDER_MEETING_HOURS = env_hours("REMINDER_MEETING_HOURS", "168,24")
# Pending requests, to the approvers; at the last one the principal is told themself.
REMINDER_REQUEST_HOURS = env_hours("REMINDER_REQUEST_HOURS", "48,24")
# Feedback due from a SECA whose request was not honored (contract).
REMINDER_FEEDBACK_HOURS = env_hours("REMINDER_FEEDBACK_HOURS", "24")
# School days (Mon-Fri) after a held meeting with no finalized plan; then weekly.
REMINDER_PLAN_SCHOOL_DAYS = env_int("REMINDER_PLAN_SCHOOL_DAYS", 5)
# School days after a plan was sent and not yet opened.
REMINDER_ACKNOWLEDGE_SCHOOL_DAYS = env_int("REMINDER_ACKNOWLEDGE_SCHOOL_DAYS", 3)
# Annual reviews (34 CFR 300.324(b)) and re-evaluations (300.303) due within this many
# days and not yet scheduled: a weekly reminder to the case manager.
REMINDER_REVIEW_DAYS = env_int("REMINDER_REVIEW_DAYS", 30)
# Every sweep runs every JOB_SWEEP_SECONDS; one still queued when the next is due is
# dropped, not piled up. The outbox's requeue queues again every email whose task was lost
# or whose sending failed past its retries; each send claims its row, so nothing goes twice.
CELERY_BEAT_SCHEDULE = {
    task.rsplit(".", 1)[1]: {
        "task": task,
        "schedule": JOB_SWEEP_SECONDS,
        "options": {"expires": JOB_SWEEP_SECONDS},
    }
    for task in [
        "meetings.tasks.reminders.reminders_sweep",
        "staff.tasks.emails_requeue",
        "staff.tasks.training_reminders_sweep",
        "staff.tasks.policy_copies_sweep",
        "staff.tasks.unstaffed_refresh",
    ]
}

# The district-wide figures (the reports, the training page) read a year of the district's
# rows: each is counted at most once in this many seconds, and its page says when.
FIGURES_CACHE_SECONDS = 10 * 60

# IDEA 34 CFR 300.322: notice early enough for parents to attend; Illinois uses 10 days.
NOTICE_PERIOD_DAYS = env_int("NOTICE_PERIOD_DAYS", 10)
# Largest finalized plan (PDF) accepted for upload.
PLAN_MAX_BYTES = env_int("PLAN_MAX_BYTES", 20 * 1024 * 1024)

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
X_FRAME_OPTIONS = "DENY"
# A strict Content Security Policy: everything from our own origin, no inline script or
# style, no framing. Bootstrap is served from static/, so no CDN is needed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
