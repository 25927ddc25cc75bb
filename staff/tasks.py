"""Celery tasks of the outbox (staff/outbox.py): thin, idempotent, given ids; they call
services and are never imported by them (the outbox queues by the task's name)."""

import logging

from celery import shared_task

from iepcoord.celery import email_task_options

from . import outbox

logger = logging.getLogger(__name__)


@shared_task(name=outbox.SEND_TASK, **email_task_options())
def email_send(email_id: int) -> bool:
    return outbox.email_send(email_id=email_id)


@shared_task
def emails_requeue() -> int:
    requeued = outbox.emails_requeue()
    if requeued:
        logger.warning("Emails queued again: %d", requeued)
    return requeued
