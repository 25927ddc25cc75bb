"""Celery tasks of the staff app: thin, idempotent, given ids."""

from celery import shared_task

from iepcoord.celery import email_task_options


@shared_task(**email_task_options())
def send_guardian_invite_email(invite_id: int) -> None:
    # Imported here: the service module queues this task.
    from .invites import invite_email_send

    invite_email_send(invite_id=invite_id)
