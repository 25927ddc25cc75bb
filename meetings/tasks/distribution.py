"""Distribution of the finalized plan: one send task per delivery, given its id, and the
sweep that queues again a delivery left unsent. Both are safe to run twice."""

import logging

from celery import shared_task

from iepcoord.celery import email_task_options

logger = logging.getLogger(__name__)


@shared_task(**email_task_options())
def plan_delivery_send(delivery_id: int) -> None:
    # Imported here: the service module queues this task.
    from ..services.distribution import plan_delivery_send as send

    send(delivery_id=delivery_id)


@shared_task
def plan_deliveries_sweep() -> int:
    from ..services.distribution import plan_deliveries_requeue

    requeued = plan_deliveries_requeue()
    if requeued:
        logger.warning("Plan deliveries queued again: %d", requeued)
    return requeued
