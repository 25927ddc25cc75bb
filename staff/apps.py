from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "staff"
    verbose_name = "Schools and people"

    def ready(self):
        from . import invites, outbox

        outbox.register(
            "guardian_invite", render=invites.invite_email, delivered=invites.invite_delivered
        )
