"""Notices of meeting to the parents: one task per notice, given its id."""

import datetime

from celery import shared_task
from django.utils import timezone

from iepcoord.celery import email_task_options

# A notice still unsent this long after it was queued lost its task: queue it again.
REQUEUE_AFTER = datetime.timedelta(minutes=30)


@shared_task(**email_task_options())
def send_meeting_notice_email(notice_id: int) -> None:
    # Imported here: the service module queues this task.
    from ..services.notices import notice_email_send

    notice_email_send(notice_id=notice_id)


@shared_task
def meeting_notices_requeue() -> int:
    """For celery beat: queue again the notices whose task was lost. Safe to run twice."""
    from ..services.notices import notices_unsent

    ids = notices_unsent(now=timezone.now(), older_than=REQUEUE_AFTER)
    for notice_id in ids:
        send_meeting_notice_email.delay(notice_id)
    return len(ids)
