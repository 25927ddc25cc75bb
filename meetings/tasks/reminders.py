"""Reminder tasks: the sweep that celery beat runs, and one send task per reminder, given
its id. Both are safe to run twice: the sweep claims rows, the send task skips a sent one."""

import logging
import smtplib

from celery import shared_task
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# Email tasks: retries only around the outside call (SMTP), with exponential backoff.
EMAIL_TASK_OPTIONS = {
    "autoretry_for": (smtplib.SMTPException, OSError),
    "retry_backoff": settings.EMAIL_RETRY_BACKOFF,
    "retry_backoff_max": settings.EMAIL_RETRY_BACKOFF_MAX,
    "retry_jitter": True,
    "max_retries": settings.EMAIL_MAX_RETRIES,
    # One email: far below the visibility timeout, so Redis never hands it out twice
    # while it runs.
    "soft_time_limit": 90,
    "time_limit": 120,
}


def enqueue_after_commit(task, ids) -> None:
    """Queue `task(id)` for each id once the current transaction commits, never before.
    If the broker is down the rest are left for the sweep to queue again, and the caller's
    committed work is not turned into an error (robust)."""
    ids = list(ids)

    def publish_after_commit():
        _publish(task, ids)

    if ids:
        transaction.on_commit(publish_after_commit, robust=True)


def _publish(task, ids: list[int]) -> None:
    app = task.app
    if app.conf.task_always_eager:
        # The embedded default: no broker, each task runs here.
        for pk in ids:
            task.apply_async((pk,))
        return
    done = 0
    try:
        # One connection for the whole batch.
        with app.producer_or_acquire() as producer:
            for pk in ids:
                task.apply_async((pk,), producer=producer)
                done += 1
    except (OperationalError, OSError):
        logger.warning(
            "Broker unavailable: %d of %d %s tasks left for the sweep to queue again",
            len(ids) - done,
            len(ids),
            task.name,
            exc_info=True,
        )


@shared_task(**EMAIL_TASK_OPTIONS)
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
