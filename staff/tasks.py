"""Celery tasks of the staff app: the outbox's (staff/outbox.py), the roster import's
(staff/roster/jobs.py), and the sweeps of training reminders and of the restraint policy's
copies (staff/training.py, staff/policy.py). Thin, idempotent, given ids; they call
services and are never imported by them (services queue by the task's name)."""

import logging

from celery import shared_task
from django.conf import settings

from iepcoord.celery import email_task_options

from . import invites, outbox, policy, services, training
from .roster import jobs as roster_jobs

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


@shared_task
def training_reminders_sweep() -> int:
    return training.training_reminders_sweep()


@shared_task
def policy_copies_sweep() -> int:
    return policy.policy_copies_sweep()


@shared_task
def unstaffed_refresh() -> int:
    """An assignment given an end date to come ends with no service called that day."""
    return services.students_unstaffed_refresh()


# A district's export takes minutes: its own time limit, below the visibility timeout,
# and a tenth of it to record the failure once the soft limit is reached.
ROSTER_TASK_OPTIONS = {
    "time_limit": settings.ROSTER_IMPORT_TIME_LIMIT,
    "soft_time_limit": settings.ROSTER_IMPORT_TIME_LIMIT * 9 // 10,
}


@shared_task(name=roster_jobs.CHECK_TASK, **ROSTER_TASK_OPTIONS)
def roster_check(import_id: int) -> bool:
    return roster_jobs.roster_import_check(import_id=import_id)


@shared_task(name=roster_jobs.IMPORT_TASK, **ROSTER_TASK_OPTIONS)
def roster_import(import_id: int) -> bool:
    return roster_jobs.roster_import_run(import_id=import_id)


@shared_task(name=roster_jobs.INVITE_TASK, **ROSTER_TASK_OPTIONS)
def roster_invite_families(import_id: int) -> dict:
    return invites.roster_families_invite(import_id=import_id)
