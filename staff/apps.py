from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "staff"
    verbose_name = "Schools and people"

    def ready(self):
        from . import invites, outbox, policy, training

        outbox.register(
            "guardian_invite", render=invites.invite_email, delivered=invites.invite_delivered
        )
        outbox.register("training_reminder", render=training.training_reminder_email)
        outbox.register(
            "policy_copy", render=policy.policy_copy_email, delivered=policy.policy_copy_delivered
        )
