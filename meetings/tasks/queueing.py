"""Queueing tasks once the transaction commits, in one broker connection per batch."""

import logging

from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


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
