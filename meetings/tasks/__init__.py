# Celery's autodiscovery imports this module: each topic's tasks are registered here.
from .distribution import plan_deliveries_sweep, plan_delivery_send
from .notices import meeting_notices_requeue, send_meeting_notice_email
from .notifications import notification_emails_requeue, send_notification_email
from .reminders import reminder_send, reminders_sweep

__all__ = [
    "meeting_notices_requeue",
    "notification_emails_requeue",
    "plan_deliveries_sweep",
    "plan_delivery_send",
    "reminder_send",
    "reminders_sweep",
    "send_meeting_notice_email",
    "send_notification_email",
]
