"""The sweeps of `celery beat`, for the embedded default (no Redis, tasks eager): `make run`
starts this next to runserver so that reminders go out on a laptop as they do in production.

The sweeps are read from CELERY_BEAT_SCHEDULE and run by task name through the Celery app,
so this runs exactly what beat runs, however that list changes. Each sweep is safe to run
twice or twice at once (README "Background jobs").
"""

import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.utils import timezone

from iepcoord.celery import app

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Run the sweeps of CELERY_BEAT_SCHEDULE every JOB_SWEEP_SECONDS in this process; "
        "only with eager tasks (no REDIS_URL): otherwise run `celery -A iepcoord beat`."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--every",
            type=int,
            metavar="SECONDS",
            help="seconds between rounds (JOB_SWEEP_SECONDS)",
        )
        parser.add_argument("--once", action="store_true", help="run one round and exit")

    def handle(self, *args, every=None, once=False, **options):
        if not app.conf.task_always_eager:
            # With a broker, a worker runs the tasks and beat schedules them; this process
            # would only run the sweeps a second time.
            raise CommandError(
                "Tasks are not eager (REDIS_URL is set): run `celery -A iepcoord beat` and "
                "`celery -A iepcoord worker` instead of run_sweeps."
            )
        every = settings.JOB_SWEEP_SECONDS if every is None else every
        if every <= 0:
            raise CommandError("--every must be a positive number of seconds.")
        # Registers every app's tasks (celery.py's autodiscovery is lazy: a worker runs it).
        app.autodiscover_tasks(force=True)
        self.busy = self.stopping = False
        if once:
            self.sweep_round()
            return
        # A signal ignored at start stays ignored: under `make run` sh ignores Ctrl-C for
        # this background command, and its trap sends one TERM, not an INT and then a TERM
        # that would abort the sweep under way.
        previous = {
            sig: signal.signal(sig, self.on_signal)
            for sig in (signal.SIGINT, signal.SIGTERM)
            if signal.getsignal(sig) is not signal.SIG_IGN
        }
        logger.info("Running the sweeps every %d s (Ctrl-C to stop).", every)
        try:
            while not self.stopping:
                # As a worker does around each task: drop a connection past CONN_MAX_AGE
                # or broken (the database restarted), so one outage is not every round's.
                close_old_connections()
                self.busy = True
                self.sweep_round()
                self.busy = False
                if not self.stopping:
                    time.sleep(every)
        except KeyboardInterrupt:
            pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        logger.info("Sweeps stopped.")

    def on_signal(self, signum, frame):
        # During a sweep the first signal lets it finish (its email is sent and recorded);
        # while waiting, or at a second signal, stop at once.
        if self.busy and not self.stopping:
            self.stopping = True
            return
        raise KeyboardInterrupt

    def sweep_round(self) -> None:
        """Each sweep once, in the order of CELERY_BEAT_SCHEDULE; one line for the round. A
        sweep that fails is logged with its traceback and the others still run."""
        results = []
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            if self.stopping:
                break
            try:
                task = app.tasks[entry["task"]]
                value = task.apply(entry.get("args", ()), entry.get("kwargs", {})).get()
            except Exception as exc:
                logger.exception("Sweep %s (%s) failed", name, entry.get("task"))
                value = f"failed ({type(exc).__name__})"
            results.append(f"{name}={brief(value)}")
        logger.info(
            "Sweeps at %s: %s", timezone.localtime().strftime("%H:%M:%S"), ", ".join(results)
        )


def brief(value) -> str:
    """A sweep's result for the log: counts by kind as `{meeting_upcoming: 1}` (str() of a
    TextChoices key is its value, where repr() is `Reminder.Kind.MEETING_UPCOMING`)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {count}" for key, count in value.items()) + "}"
    return str(value)
