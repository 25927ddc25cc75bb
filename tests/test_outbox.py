"""The outbox (staff/outbox.py): one path for every email. A claim that must change one
row, the SMTP conversation with no transaction open, a failure that frees the claim, and
a requeue stamped once per period."""

import datetime
import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection
from django.utils import timezone

from meetings.models import Notification
from meetings.services.notifications import notify
from staff import outbox
from staff.models import OutgoingEmail

HOUR = datetime.timedelta(hours=1)


class NoTransactionBackend(EmailBackend):
    """Django's test outbox, refusing to send while a transaction is open."""

    def send_messages(self, messages):
        assert not connection.in_atomic_block, "an email was sent inside a transaction"
        return super().send_messages(messages)


class RefusingBackend(EmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.mark.django_db(transaction=True)
def test_the_smtp_conversation_happens_with_no_transaction_open(settings, seca, meeting):
    settings.EMAIL_BACKEND = "tests.test_outbox.NoTransactionBackend"
    # A transaction=True test: on_commit runs at the real commit, eagerly, as in the
    # embedded default.
    notify([seca], "invited", meeting=meeting)
    assert [m.to for m in mail.outbox] == [[seca.email]]
    assert OutgoingEmail.objects.get().sent_at is not None


def _recorded(seca, meeting):
    notify([seca], "invited", meeting=meeting)  # not queued: no commit
    return OutgoingEmail.objects.get()


def test_an_email_is_sent_once_and_marked(seca, meeting, mailoutbox):
    email = _recorded(seca, meeting)
    assert outbox.email_send(email_id=email.pk) is True
    assert outbox.email_send(email_id=email.pk) is False
    assert len(mailoutbox) == 1
    email.refresh_from_db()
    assert (email.to, email.attempts) == (seca.email, 1)
    assert email.subject.startswith("Invitation: Jordan F.'s IEP meeting on ")
    assert email.language == "en"
    assert Notification.objects.get().emailed_at is not None


def test_a_claimed_email_is_not_sent_by_another_sender(seca, meeting, mailoutbox):
    email = _recorded(seca, meeting)
    OutgoingEmail.objects.filter(pk=email.pk).update(claimed_until=timezone.now() + HOUR)
    assert outbox.email_send(email_id=email.pk) is False
    # A claim that ran out (its sender was killed) is taken over.
    OutgoingEmail.objects.filter(pk=email.pk).update(claimed_until=timezone.now() - HOUR)
    assert outbox.email_send(email_id=email.pk) is True
    assert len(mailoutbox) == 1


def test_an_smtp_failure_frees_the_claim_for_the_retry(settings, seca, meeting, mailoutbox):
    email = _recorded(seca, meeting)
    settings.EMAIL_BACKEND = "tests.test_outbox.RefusingBackend"
    with pytest.raises(smtplib.SMTPServerDisconnected):
        outbox.email_send(email_id=email.pk)
    email.refresh_from_db()
    assert email.sent_at is None and email.claimed_until is None
    assert email.last_error.startswith("SMTPServerDisconnected")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert outbox.email_send(email_id=email.pk) is True
    assert len(mailoutbox) == 1


def test_the_requeue_is_stamped_once_per_period(
    seca, meeting, mailoutbox, django_capture_on_commit_callbacks
):
    email = _recorded(seca, meeting)
    OutgoingEmail.objects.filter(pk=email.pk).update(queued_at=timezone.now() - HOUR)
    with django_capture_on_commit_callbacks() as queued:
        assert outbox.emails_requeue() == 1
        # The broker lost it again: stamped, so the next sweep does not queue it again.
        assert outbox.emails_requeue() == 0
    assert len(queued) == 1
    later = timezone.now() + HOUR
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.emails_requeue(now=later) == 1
    assert len(mailoutbox) == 1


def test_an_email_that_failed_too_often_waits_for_a_person(seca, meeting):
    email = _recorded(seca, meeting)
    OutgoingEmail.objects.filter(pk=email.pk).update(
        queued_at=timezone.now() - HOUR, attempts=outbox.MAX_ATTEMPTS
    )
    assert outbox.emails_requeue() == 0


def test_a_message_with_nothing_left_to_say_is_done_without_an_email(seca, meeting, mailoutbox):
    email = _recorded(seca, meeting)
    seca.is_active = False
    seca.save(update_fields=["is_active"])
    assert outbox.email_send(email_id=email.pk) is False
    email.refresh_from_db()
    assert email.skipped and email.sent_at is not None and mailoutbox == []
    assert Notification.objects.get().emailed_at is None


def test_recording_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="No renderer"):
        outbox.emails_record("carrier_pigeon", [(1, None)])
