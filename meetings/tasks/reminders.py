"""The reminder sweep that celery beat runs: it claims the reminders due and records their
emails in the outbox (staff/outbox.py), which sends them. Safe to run twice."""

import logging

from celery import shared_task

from ..services.reminders import reminders_sweep as sweep

logger = logging.getLogger(__name__)


@shared_task
def reminders_sweep() -> dict:
    counts = sweep()
    logger.info("Reminders sweep: %s", counts)
    return counts
