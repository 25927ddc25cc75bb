"""The outbox against a real worker, Redis and SMTP server: a page whose change commits
while the broker is down still succeeds, and once Redis is back every email arrives once."""

import pytest
from django.urls import reverse

from meetings.models import AttendanceRequest
from staff.models import OutgoingEmail, Role
from staff.outbox import emails_requeue
from tests import factories as f

from .conftest import once_each, publishing_to

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_request_made_while_redis_is_down_succeeds_and_its_emails_go_once_it_is_back(
    client, start_worker, own_redis, smtp, settings, meeting, seca, principal, school
):
    settings.JOB_REQUEUE_AFTER_SECONDS = 0
    designee = f.UserFactory(roles=[(Role.Kind.ASSISTANT_PRINCIPAL, school)])
    f.DesignationFactory(school=school, designee=designee, named_by=principal)
    with publishing_to(own_redis.url):
        own_redis.stop()
        client.force_login(seca)
        response = client.post(reverse("request_create", args=[meeting.pk]), {"note": "I know him"})
        # The page answers with success: the committed request stands.
        assert response.status_code == 302
        assert AttendanceRequest.objects.filter(meeting=meeting, seca=seca).exists()
        assert OutgoingEmail.objects.filter(sent_at__isnull=True).count() == 2

        own_redis.start()
        worker = start_worker(broker=own_redis.url)
        assert emails_requeue() == 2
        received = smtp.wait_for(2, quiet=1, detail=worker.log_tail)
        assert emails_requeue() == 0  # held or sent: nothing queued twice

    assert sorted(to for to, _, _ in received) == sorted([principal.email, designee.email])
    assert not once_each(received)
    assert not OutgoingEmail.objects.filter(sent_at__isnull=True).exists()
