"""Celery tasks of the staff app: thin, idempotent, given ids."""

import smtplib

from celery import shared_task


@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=10,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=10,
)
def send_guardian_invite_email(invite_id: int) -> None:
    # Imported here: the service module queues this task.
    from .invites import invite_email_send

    invite_email_send(invite_id=invite_id)
