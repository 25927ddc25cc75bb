"""Celery tasks: thin, idempotent, given ids. Each one re-reads its row and claims it."""

import datetime

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation

from iepcoord.celery import email_task_options

from ..models import Notification


@shared_task(**email_task_options())
def send_notification_email(notification_id: int) -> None:
    # The row stays locked while the mail goes out: a second run of this task waits, then
    # finds it emailed; a worker killed mid-send leaves it unmarked for the re-queued run.
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(pk=notification_id, emailed_at__isnull=True)
            .first()
        )
        if notification is None or not notification.user.email:
            return
        user = notification.user
        with translation.override(user.preferred_language):
            link = (
                f"{settings.SITE_URL}{notification.url}" if notification.url else settings.SITE_URL
            )
            send_mail(
                subject=f"iepcoord: {notification.message[:70]}",
                message=f"{notification.message}\n\n{link}\n",
                from_email=None,
                recipient_list=[user.email],
            )
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])


@shared_task
def notification_emails_requeue() -> int:
    """For celery beat: queue again the notification emails whose task was lost (Redis
    without persistence, a publish that failed after commit). Safe to run twice: the send
    task claims its row."""
    now = timezone.now()
    ids = list(
        Notification.objects.filter(
            emailed_at__isnull=True,
            created_at__lt=now - datetime.timedelta(minutes=30),
            created_at__gte=now - datetime.timedelta(days=2),
        ).values_list("pk", flat=True)[:5000]
    )
    for notification_id in ids:
        send_notification_email.delay(notification_id)
    return len(ids)
