"""Distribution of a finalized plan through a real worker, Redis and SMTP server: a worker
killed half way, or an SMTP server down for a while, leaves every recipient with exactly
one email."""

import datetime
import time

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from meetings.models import Meeting, Plan, PlanDelivery
from meetings.services import plans
from staff.models import Role
from tests import factories as f

from .conftest import once_each
from .local_services import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def plan_for(student, case_manager):
    """A plan ready to finalize for a held meeting whose student has `n` SECAs (none of
    them at the meeting) and `n` parents with an account."""

    def make(n: int) -> Plan:
        for _ in range(n):
            seca = f.UserFactory(roles=[(Role.Kind.SECA, student.school)])
            f.AssignmentFactory(student=student, staff=seca)
            f.GuardianFactory(student=student, with_account=True)
        starts = timezone.now() - datetime.timedelta(days=1)
        meeting = f.MeetingFactory(
            student=student,
            scheduled_by=case_manager,
            starts_at=starts,
            state=Meeting.State.HELD,
            held_at=starts,
        )
        return Plan.objects.create(
            meeting=meeting,
            file=ContentFile(b"%PDF-1.4\n%%EOF\n", name="plan.pdf"),
            sha256="0" * 64,
            uploaded_by=case_manager,
        )

    return make


def test_a_worker_killed_mid_distribution_leaves_everyone_with_exactly_one_copy(
    start_worker, queue_on_redis, smtp, plan_for, case_manager
):
    plan = plan_for(25)
    # Each message takes 0.2 s at MAIL FROM: the kill lands inside one of them.
    smtp.mail_delay = 0.2
    first = start_worker(concurrency=1, CELERY_VISIBILITY_TIMEOUT=3, EMAIL_CLAIM_SECONDS=3)

    plans.plan_finalize(actor=case_manager, plan=plan)
    wait_until(lambda: smtp.mail_started >= 20, timeout=60, what="20 messages begun")
    first.kill()

    delivered = len(smtp.received())
    assert 0 < delivered < 50
    # The message in flight was not accepted, and its row was not marked sent.
    assert plan.deliveries.filter(sent_at__isnull=True).count() == 50 - delivered

    # After the visibility timeout Redis hands the killed worker's task out again, and
    # once the dead sender's claim has run out the email is sent.
    time.sleep(3.5)
    second = start_worker(concurrency=2, CELERY_VISIBILITY_TIMEOUT=3, EMAIL_CLAIM_SECONDS=3)
    received = smtp.wait_for(50, quiet=2, detail=second.log_tail)

    assert len(received) == 50 and not once_each(received)
    assert {to for to, _, _ in received} == set(
        plan.deliveries.values_list("recipient__email", flat=True)
    )
    assert not PlanDelivery.objects.filter(sent_at__isnull=True).exists()
    assert all("/deliveries/" in body for _, _, body in received)


def test_smtp_down_for_a_while_then_every_copy_arrives_once(
    start_worker, queue_on_redis, smtp, plan_for, case_manager
):
    plan = plan_for(5)
    worker = start_worker(concurrency=2)
    smtp.stop()

    plans.plan_finalize(actor=case_manager, plan=plan)
    wait_until(
        lambda: worker.log().count("retry: Retry in") >= 20,
        timeout=30,
        what="the send tasks to fail and retry",
        detail=worker.log_tail,
    )
    assert smtp.received() == []
    assert plan.deliveries.filter(sent_at__isnull=True).count() == 10

    smtp.start()
    received = smtp.wait_for(10, quiet=3, detail=worker.log_tail)
    assert len(received) == 10 and not once_each(received)
    assert not plan.deliveries.filter(sent_at__isnull=True).exists()
