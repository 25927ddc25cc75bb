# Celery's autodiscovery imports this module: each topic's tasks are registered here. Every
# email goes through the outbox, whose tasks are staff.tasks.
from .reminders import reminders_sweep

__all__ = ["reminders_sweep"]
