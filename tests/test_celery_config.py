"""The Celery wiring: beat runs tasks that exist, and every email task retries the same way."""

import smtplib

from django.conf import settings

from iepcoord.celery import app

EMAIL_TASKS = [
    "meetings.tasks.notifications.send_notification_email",
    "meetings.tasks.notices.send_meeting_notice_email",
    "meetings.tasks.reminders.reminder_send",
    "meetings.tasks.distribution.plan_delivery_send",
    "staff.tasks.send_guardian_invite_email",
]


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
