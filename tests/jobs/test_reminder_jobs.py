"""Reminder sweeps against a real worker, Redis and SMTP server: each reminder arrives
once, however often and however concurrently the sweep runs, and a Redis restart loses
nothing."""

import datetime
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from meetings.models import Reminder
from meetings.services import attendance
from meetings.services.reminders import reminders_sweep
from meetings.tasks.reminders import reminders_sweep as reminders_sweep_task
from staff.models import Role
from staff.outbox import emails_requeue
from tests import factories as f

from .conftest import once_each, publishing_to

pytestmark = pytest.mark.django_db(transaction=True)

DAY = datetime.timedelta(days=1)


def meetings_with_teams(school, *, count: int, invitees: int = 3) -> list:
    """`count` meetings three days ahead, each with `invitees` teachers of the school
    invited (an invitation alone grants nothing: reminders go to those who see the
    student)."""
    start = (timezone.now() + 3 * DAY).replace(microsecond=0)
    meetings = []
    for _ in range(count):
        meeting = f.MeetingFactory(student=f.StudentFactory(school=school), starts_at=start)
        for _ in range(invitees):
            f.InvitationFactory(
                meeting=meeting, user=f.UserFactory(roles=[(Role.Kind.TEACHER, school)])
            )
        meetings.append(meeting)
    return meetings


def run_at_once(call, times: int = 2):
    """`call` in `times` threads released together, each on its own database connection."""
    barrier = threading.Barrier(times)
    errors = []

    def run():
        try:
            barrier.wait(timeout=10)
            call()
        except Exception as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


def test_each_reminder_arrives_once_when_sweeps_run_twice_and_at_once(
    start_worker, queue_on_redis, smtp, school, principal, designee
):
    meetings = meetings_with_teams(school, count=10)
    for meeting in meetings[:4]:
        seca = f.UserFactory(roles=[(Role.Kind.SECA, school)])
        f.AssignmentFactory(student=meeting.student, staff=seca)
        attendance.attendance_request_submit(seca=seca, meeting=meeting)
    worker = start_worker(concurrency=2)
    # The submissions' notifications to the approvers (four each).
    smtp.wait_for(8, quiet=0.5, detail=worker.log_tail)
    notified = len(smtp.received())

    # Twice at once in two worker processes, then twice in a row here: the 7-day reminders.
    reminders_sweep_task.delay()
    reminders_sweep_task.delay()
    reminders_sweep()
    reminders_sweep()
    week = smtp.wait_for(notified + 30, detail=worker.log_tail)[notified:]
    assert len(week) == 30 and not once_each(week)
    assert {to for to, _, _ in week} == {
        inv.user.email for m in meetings for inv in m.invitations.select_related("user")
    }

    # Twice at once here, as two beats would: the 1-day reminders, and the pending requests
    # to the designee and, escalated, to the principal.
    run_at_once(lambda: reminders_sweep(now=meetings[0].starts_at - datetime.timedelta(hours=20)))
    day = smtp.wait_for(notified + 30 + 38, detail=worker.log_tail)[notified + 30 :]
    assert len(day) == 38 and not once_each(day)
    assert sum(to == principal.email for to, _, _ in day) == 4
    assert sum("your designees have not acted" in body for _, _, body in day) == 4

    assert Reminder.objects.count() == 68
    assert not Reminder.objects.filter(sent_at__isnull=True).exists()


def test_a_redis_restart_between_sweeps_loses_nothing(
    start_worker, own_redis, smtp, school, settings
):
    settings.JOB_REQUEUE_AFTER_SECONDS = 1
    with publishing_to(own_redis.url):
        worker = start_worker(broker=own_redis.url)

        meetings_with_teams(school, count=5)
        reminders_sweep()
        smtp.wait_for(15, quiet=0.5, detail=worker.log_tail)

        # Redis restarts between two sweeps, the worker attached: it must keep consuming.
        own_redis.stop()
        own_redis.start()
        meetings_with_teams(school, count=5)
        reminders_sweep()
        smtp.wait_for(30, quiet=0.5, detail=worker.log_tail)

        # Redis is down while a sweep claims: the claims and their emails are committed,
        # the messages cannot be queued. The outbox's requeue, once the broker is back,
        # queues them again.
        own_redis.stop()
        meetings_with_teams(school, count=5)
        reminders_sweep()
        assert Reminder.objects.filter(sent_at__isnull=True).count() == 15
        own_redis.start()
        time.sleep(settings.JOB_REQUEUE_AFTER_SECONDS + 0.1)
        assert emails_requeue() == 15
        received = smtp.wait_for(45, detail=worker.log_tail)

    assert len(received) == 45 and not once_each(received)
    assert not Reminder.objects.filter(sent_at__isnull=True).exists()
    assert worker.proc.poll() is None, "the worker gave up on Redis"
