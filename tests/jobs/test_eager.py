"""The embedded default: with no REDIS_URL, Celery runs each task in the web process, so a
newcomer's `make run` sends its emails with no broker and no worker."""

import datetime
import os
import subprocess
import sys

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.utils import timezone

from meetings.models import Meeting, Plan
from meetings.services import plans
from meetings.services.reminders import reminders_sweep
from tests import factories as f

from .conftest import ROOT


def test_without_redis_url_tasks_run_eagerly_in_process():
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    script = (
        "import django; django.setup(); from iepcoord.celery import app; "
        "print(app.conf.task_always_eager, app.conf.broker_url)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.split() == ["True", "memory://"]


@pytest.mark.django_db(transaction=True)
def test_in_eager_mode_a_finalized_plan_is_emailed_when_the_transaction_commits(
    student, case_manager, seca, parent
):
    starts = timezone.now() - datetime.timedelta(days=1)
    meeting = f.MeetingFactory(
        student=student,
        scheduled_by=case_manager,
        starts_at=starts,
        state=Meeting.State.HELD,
        held_at=starts,
    )
    plan = Plan.objects.create(
        meeting=meeting,
        file=ContentFile(b"%PDF-1.4\n%%EOF\n", name="plan.pdf"),
        sha256="0" * 64,
        uploaded_by=case_manager,
    )
    mail.outbox.clear()

    plans.plan_finalize(actor=case_manager, plan=plan)

    assert sorted(m.to[0] for m in mail.outbox) == sorted([seca.email, parent.email])
    assert not plan.deliveries.filter(sent_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_in_eager_mode_the_sweep_sends_its_reminders_itself(meeting, case_manager):
    f.InvitationFactory(meeting=meeting, user=case_manager)
    mail.outbox.clear()
    reminders_sweep(now=meeting.starts_at - datetime.timedelta(days=6))
    assert [m.to for m in mail.outbox] == [[case_manager.email]]
