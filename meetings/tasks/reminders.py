"""Reminder tasks: the sweep that celery beat runs, and one send task per reminder, given
its id. Both are safe to run twice: the sweep claims rows, the send task skips a sent one."""

import logging

from celery import shared_task

from iepcoord.celery import email_task_options

logger = logging.getLogger(__name__)


@shared_task(**email_task_options())
def reminder_send(reminder_id: int) -> None:
    # Imported here: the service module queues this task.
    from ..services.reminder_sending import reminder_send as send

    send(reminder_id=reminder_id)


@shared_task
def reminders_sweep() -> dict:
    from ..services.reminders import reminders_sweep as sweep

    counts = sweep()
    logger.info("Reminders sweep: %s", counts)
    return counts
