# Celery's autodiscovery imports this module: each topic's tasks are registered here.
from .notifications import send_notification_email

__all__ = ["send_notification_email"]
