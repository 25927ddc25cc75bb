"""The Celery wiring: beat runs tasks that exist, and the email task retries SMTP errors."""

import smtplib

from django.conf import settings

from iepcoord.celery import app

# Every email goes through the outbox's one send task.
EMAIL_TASKS = ["staff.tasks.email_send"]


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    assert settings.CELERY_BEAT_SCHEDULE
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks


def test_every_email_task_retries_smtp_errors_with_the_configured_backoff():
    app.loader.import_default_modules()
    for name in EMAIL_TASKS:
        task = app.tasks[name]
        assert smtplib.SMTPException in task.autoretry_for, name
        assert task.retry_backoff_max == settings.EMAIL_RETRY_BACKOFF_MAX, name
        assert task.max_retries == settings.EMAIL_MAX_RETRIES, name
        assert task.time_limit < settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
