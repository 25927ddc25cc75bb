from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    name = "meetings"
    verbose_name = "IEP meetings"

    def ready(self):
        # The kinds of email this app sends through the outbox (staff/outbox.py).
        from staff import outbox

        from .services import distribution, notices, notifications, reminder_sending

        outbox.register(
            "notification",
            render=notifications.notification_email,
            delivered=notifications.notification_delivered,
        )
        outbox.register("notice", render=notices.notice_email, delivered=notices.notice_delivered)
        outbox.register(
            "reminder",
            render=reminder_sending.reminder_email,
            delivered=reminder_sending.reminder_delivered,
        )
        outbox.register(
            "plan_delivery",
            render=distribution.delivery_email,
            delivered=distribution.delivery_delivered,
        )
