import os
import smtplib

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iepcoord.settings")

app = Celery("iepcoord")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def email_task_options() -> dict:
    """Options of every task that sends one email: retries only around the outside call
    (SMTP, the network) with jittered exponential backoff, time limits far below the
    visibility timeout, so Redis never hands a running task out twice, and a rate limit per
    worker (EMAIL_RATE_LIMIT), so a whole district's invitations go at the pace the mail
    server accepts."""
    from django.conf import settings

    return {
        "rate_limit": settings.EMAIL_RATE_LIMIT or None,
        "autoretry_for": (smtplib.SMTPException, OSError),
        "retry_backoff": settings.EMAIL_RETRY_BACKOFF,
        "retry_backoff_max": settings.EMAIL_RETRY_BACKOFF_MAX,
        "retry_jitter": True,
        "max_retries": settings.EMAIL_MAX_RETRIES,
        "soft_time_limit": 90,
        "time_limit": 120,
    }
