"""`manage.py run_sweeps`, which `make run` starts next to runserver: with eager tasks (no
Redis) it runs what celery beat would, so reminders reach the console as in production."""

import datetime
import logging
import os
import signal
import threading

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from iepcoord.celery import app as celery_app
from meetings.models import Reminder
from staff.models import Role

from . import factories as f

LOGGER = "meetings.management.commands.run_sweeps"


@celery_app.task(name="tests.test_run_sweeps.broken_sweep")
def broken_sweep():
    raise RuntimeError("the sweep broke")


@pytest.fixture
def outbox(db):
    """Django's locmem outbox, taken after the database fixture resets it (pytest-django's
    mailoutbox, requested before the database, would hold the list it replaces)."""
    return mail.outbox


@pytest.fixture
def teacher(school):
    return f.UserFactory(full_name="Terry Teacher", roles=[(Role.Kind.TEACHER, school)])


@pytest.fixture
def meeting_tomorrow(meeting, teacher):
    """A meeting 20 hours ahead: the 24-hour reminder to its invited teacher is due."""
    starts = timezone.now() + datetime.timedelta(hours=20)
    meeting.starts_at, meeting.ends_at = starts, starts + datetime.timedelta(hours=1)
    meeting.save(update_fields=["starts_at", "ends_at"])
    f.InvitationFactory(meeting=meeting, user=teacher)
    return meeting


@pytest.fixture
def run_once(django_capture_on_commit_callbacks, caplog):
    """`run_sweeps --once`, with the emails the sweeps queue sent on commit; its log."""

    def run():
        with (
            caplog.at_level(logging.INFO, logger=LOGGER),
            django_capture_on_commit_callbacks(execute=True),
        ):
            call_command("run_sweeps", "--once")
        return [r for r in caplog.records if r.name == LOGGER]

    return run


def round_line(records) -> str:
    [line] = [r.getMessage() for r in records if r.getMessage().startswith("Sweeps at ")]
    return line


def reminders_to(outbox, user, meeting):
    link = f"{django_settings.SITE_URL}/meetings/{meeting.pk}/"
    return [m for m in outbox if m.to == [user.email] and link in m.body]


def test_once_runs_every_beat_sweep_and_the_due_reminder_arrives(
    run_once, outbox, meeting_tomorrow, teacher
):
    records = run_once()

    [email] = reminders_to(outbox, teacher, meeting_tomorrow)
    assert "Reminder" in email.subject
    line = round_line(records)
    for name in django_settings.CELERY_BEAT_SCHEDULE:
        assert f"{name}=" in line
    assert "failed" not in line
    assert not [r for r in records if r.levelno >= logging.WARNING]


def test_a_second_round_sends_nothing_twice(run_once, outbox, meeting_tomorrow, teacher):
    run_once()
    run_once()
    assert len(reminders_to(outbox, teacher, meeting_tomorrow)) == 1


def test_a_failing_sweep_is_logged_with_its_traceback_and_the_others_still_run(
    settings, run_once, outbox, meeting_tomorrow, teacher
):
    settings.CELERY_BEAT_SCHEDULE = {
        "missing": {"task": "meetings.tasks.no_such_sweep"},
        "broken": {"task": broken_sweep.name},
        **settings.CELERY_BEAT_SCHEDULE,
    }

    records = run_once()

    failures = {r.getMessage(): r for r in records if r.levelno == logging.ERROR}
    assert set(failures) == {
        "Sweep missing (meetings.tasks.no_such_sweep) failed",
        f"Sweep broken ({broken_sweep.name}) failed",
    }
    assert all(r.exc_info for r in failures.values())
    line = round_line(records)
    assert "missing=failed (NotRegistered), broken=failed (RuntimeError)" in line
    assert "reminders_sweep={" in line
    assert len(reminders_to(outbox, teacher, meeting_tomorrow)) == 1


@pytest.fixture
def not_eager():
    # As with REDIS_URL set: a worker runs the tasks and celery beat schedules the sweeps.
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True  # as tests/conftest.py sets it for the session


def test_it_refuses_when_tasks_are_not_eager(not_eager, outbox, meeting_tomorrow):
    with pytest.raises(CommandError, match="celery -A iepcoord beat"):
        call_command("run_sweeps", "--once")
    assert not Reminder.objects.exists() and outbox == []


def test_every_must_be_positive(db):
    with pytest.raises(CommandError, match="--every"):
        call_command("run_sweeps", "--every", "0")


# Outside a test transaction, as the command runs: it closes old connections each round.
@pytest.mark.django_db(transaction=True)
def test_it_runs_a_round_every_period_until_sigterm_and_restores_the_handlers(caplog):
    previous = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(2.5, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        with caplog.at_level(logging.INFO, logger=LOGGER):
            call_command("run_sweeps", "--every", "1")
    finally:
        timer.cancel()

    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len([m for m in messages if m.startswith("Sweeps at ")]) >= 2
    assert messages[-1] == "Sweeps stopped."
    assert signal.getsignal(signal.SIGTERM) is previous
