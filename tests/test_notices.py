"""The notice of meeting (34 CFR 300.322) as the family receives it: one email per guardian,
in their language, sent once however often its task runs, saying everything the rule asks."""

import datetime
import re
import threading
import time

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection
from django.utils import timezone

from meetings.models import MeetingNotice
from meetings.services.notices import notices_send
from staff import outbox
from staff.models import Guardian, OutgoingEmail
from staff.tasks import email_send, emails_requeue

from . import factories as f


def monday_at(hour, weeks_ahead=3):
    today = timezone.localdate()
    monday = today + datetime.timedelta(days=7 * weeks_ahead - today.weekday())
    return timezone.make_aware(datetime.datetime.combine(monday, datetime.time(hour)))


@pytest.fixture
def full_meeting(student, case_manager, seca):
    """A meeting with everything a notice names: a room, video and phone, a team."""
    student.interpreter_needed = True
    student.home_language = "Spanish"
    student.save()
    meeting = f.MeetingFactory(
        student=student,
        scheduled_by=case_manager,
        starts_at=monday_at(9),
        ends_at=monday_at(10),
        location="Room 104",
        video_link="https://meet.example.org/iep-104",
        phone_dial_in="+1 312 555 0199 PIN 4411",
    )
    f.InvitationFactory(
        meeting=meeting, user=case_manager, name="Casey Manager", role="Case manager"
    )
    f.InvitationFactory(
        meeting=meeting, user=None, name="Dr. Rosa Speech", role="Speech-language pathologist"
    )
    return meeting


@pytest.fixture
def spanish_guardian(student):
    return f.GuardianFactory(
        student=student, full_name="María López", email="maria@example.net", preferred_language="es"
    )


def _send(meeting, kind, capture):
    with capture(execute=True):
        return notices_send(meeting=meeting, kind=kind)


def _html(message):
    ((body, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return body


def test_one_notice_per_guardian_each_emailed_after_commit(
    full_meeting, parent, spanish_guardian, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks() as callbacks:
        notices = notices_send(meeting=full_meeting, kind=MeetingNotice.Kind.SCHEDULED)
        assert mailoutbox == []  # nothing leaves before the transaction commits
    # One callback hands both emails to the broker, in one connection.
    assert len(notices) == 2 and len(callbacks) == 1
    for callback in callbacks:
        callback()
    assert sorted(m.to[0] for m in mailoutbox) == sorted([parent.email, "maria@example.net"])
    assert all(n.sent_at for n in MeetingNotice.objects.filter(meeting=full_meeting))


def test_email_is_sent_once_even_when_the_task_runs_twice(
    full_meeting, parent, django_capture_on_commit_callbacks, mailoutbox
):
    (notice,) = _send(
        full_meeting, MeetingNotice.Kind.SCHEDULED, django_capture_on_commit_callbacks
    )
    email = OutgoingEmail.objects.get(kind="notice", source_id=notice.pk)
    email_send.delay(email.pk)
    email_send.delay(email.pk)
    assert len(mailoutbox) == 1
    assert outbox.email_send(email_id=email.pk) is False


def test_a_notice_whose_worker_died_before_sending_is_sent_by_the_retry(
    full_meeting, parent, mailoutbox
):
    notice = MeetingNotice.objects.create(
        meeting=full_meeting, guardian=parent.guardianships.get(), kind="scheduled"
    )
    (email_id,) = outbox.emails_record("notice", [(notice.pk, parent.pk)])  # not queued: no commit
    assert outbox.email_send(email_id=email_id) is True
    assert len(mailoutbox) == 1
    notice.refresh_from_db()
    assert notice.sent_at is not None


def test_english_notice_names_every_item_the_rule_asks_for(
    full_meeting, parent, seca, django_capture_on_commit_callbacks, mailoutbox
):
    _send(full_meeting, MeetingNotice.Kind.SCHEDULED, django_capture_on_commit_callbacks)
    (message,) = mailoutbox
    assert message.subject.startswith("Notice of meeting: Jordan")
    html, text = _html(message), message.body
    assert "<" not in text and "&#x27;" not in text  # the plain-text twin has no markup
    for body in (html, text):
        assert "Annual review" in body  # purpose
        assert "Monday" in body and "9 a.m." in body and "10 a.m." in body  # date, time
        assert re.search(r"\(C[SD]T\)", body)  # in the school's time zone
        assert "Room 104" in body  # place
        assert "https://meet.example.org/iep-104" in body  # video
        assert "+1 312 555 0199 PIN 4411" in body  # phone
        assert "Casey Manager — Case manager" in body  # who will attend, by name and role
        assert "Dr. Rosa Speech — Speech-language pathologist" in body
        assert "knowledge or special expertise about your child" in body
        assert "includes your child's SECA" in body.replace("&#x27;", "'")
        assert "ask that the SECA attend the meeting, or that the SECA not attend" in body
        assert "Jerry Seca" in body  # the child's SECA, named
        assert "An interpreter (español) will be at the meeting, at no cost to you." in body
        assert "ask for another time" in body
        assert "773-555-0100" in body  # the school's phone
        assert f"/meetings/{full_meeting.pk}/notice/" in body  # where to answer
    assert "transition planning" not in text


def test_spanish_guardian_receives_the_notice_in_spanish(
    full_meeting, spanish_guardian, django_capture_on_commit_callbacks, mailoutbox
):
    _send(full_meeting, MeetingNotice.Kind.SCHEDULED, django_capture_on_commit_callbacks)
    (message,) = mailoutbox
    assert message.subject.startswith("Aviso de reunión: Jordan")
    for body in (message.body, _html(message)):
        assert "Aviso de reunión" in body
        assert "Estimada/o María López:" in body
        assert "Revisión anual" in body  # Meeting.Kind in Spanish
        assert "lunes" in body and "09:00" in body
        assert "Puede pedir que el/la SECA asista a la reunión, o que no asista." in body
        assert "conocimientos o experiencia especial sobre su hijo/a" in body
        assert "Habrá un intérprete (español) en la reunión, sin costo para usted." in body
        assert "pedir otro horario" in body
        assert "773-555-0100" in body
        assert "Notice of meeting" not in body


def test_the_linked_accounts_language_is_used_once_the_parent_has_one(
    full_meeting, parent, django_capture_on_commit_callbacks, mailoutbox
):
    parent.preferred_language = "es"
    parent.save()
    _send(full_meeting, MeetingNotice.Kind.SCHEDULED, django_capture_on_commit_callbacks)
    assert mailoutbox[0].subject.startswith("Aviso de reunión")


def test_from_age_16_the_notice_names_transition_planning_and_invites_the_student(
    full_meeting, parent, django_capture_on_commit_callbacks, mailoutbox
):
    student = full_meeting.student
    student.date_of_birth = timezone.localdate() - datetime.timedelta(days=365 * 16 + 10)
    student.save()
    _send(full_meeting, MeetingNotice.Kind.SCHEDULED, django_capture_on_commit_callbacks)
    body = mailoutbox[0].body
    assert "The meeting will include transition planning" in body
    assert "Jordan is invited to attend." in body


def test_a_transition_meeting_names_transition_planning_at_any_age(
    full_meeting, parent, django_capture_on_commit_callbacks, mailoutbox
):
    full_meeting.kind = "transition"
    full_meeting.save()
    _send(full_meeting, MeetingNotice.Kind.SCHEDULED, django_capture_on_commit_callbacks)
    assert "The meeting will include transition planning" in mailoutbox[0].body


def test_moved_and_cancelled_notices_say_so(
    full_meeting, parent, django_capture_on_commit_callbacks, mailoutbox
):
    full_meeting.change_reason = "The speech pathologist is ill"
    full_meeting.save()
    _send(full_meeting, MeetingNotice.Kind.RESCHEDULED, django_capture_on_commit_callbacks)
    assert mailoutbox[-1].subject.startswith("Meeting moved")
    assert "The meeting was moved to a new time." in mailoutbox[-1].body
    assert "The speech pathologist is ill" in mailoutbox[-1].body

    full_meeting.state = "cancelled"
    full_meeting.save()
    _send(full_meeting, MeetingNotice.Kind.CANCELLED, django_capture_on_commit_callbacks)
    body = mailoutbox[-1].body
    assert mailoutbox[-1].subject.startswith("Meeting cancelled")
    assert "was cancelled" in body and "agree on a new time" in body
    assert "Who will attend" not in body


def test_a_guardian_without_email_gets_a_notice_to_send_on_paper(
    full_meeting, student, django_capture_on_commit_callbacks, mailoutbox
):
    f.GuardianFactory(student=student, email="")
    (notice,) = _send(
        full_meeting, MeetingNotice.Kind.SCHEDULED, django_capture_on_commit_callbacks
    )
    assert mailoutbox == []
    notice.refresh_from_db()
    assert notice.sent_at is None


def test_another_students_guardians_get_nothing(
    full_meeting, parent, other_parent, django_capture_on_commit_callbacks, mailoutbox
):
    _send(full_meeting, MeetingNotice.Kind.SCHEDULED, django_capture_on_commit_callbacks)
    assert [m.to for m in mailoutbox] == [[parent.email]]
    other = Guardian.objects.get(user=other_parent)
    assert not MeetingNotice.objects.filter(guardian=other).exists()


def test_an_unknown_kind_is_refused(full_meeting):
    with pytest.raises(ValueError):
        notices_send(meeting=full_meeting, kind="postponed")


class SlowBackend(locmem.EmailBackend):
    """Holds the send long enough for a second worker to arrive mid-send."""

    def send_messages(self, messages):
        time.sleep(0.3)
        return super().send_messages(messages)


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_notice_at_once_send_it_once(
    postgres, settings, full_meeting, parent, mailoutbox
):
    settings.EMAIL_BACKEND = "tests.test_notices.SlowBackend"
    notice = MeetingNotice.objects.create(
        meeting=full_meeting, guardian=parent.guardianships.get(), kind="scheduled"
    )
    email = OutgoingEmail.objects.create(kind="notice", source_id=notice.pk, recipient=parent)
    barrier = threading.Barrier(2)
    results = []

    def worker():
        try:
            barrier.wait(timeout=10)
            results.append(outbox.email_send(email_id=email.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False, True]
    assert len(mail.outbox) == 1


def test_a_notice_whose_task_was_lost_is_sent_by_the_sweep_once(
    full_meeting, parent, student, mailoutbox, django_capture_on_commit_callbacks
):
    def recorded(guardian):
        notice = MeetingNotice.objects.create(
            meeting=full_meeting, guardian=guardian, kind="scheduled"
        )
        outbox.emails_record("notice", [(notice.pk, guardian.user_id)])  # lost: no commit
        return notice

    lost = recorded(parent.guardianships.get())
    paper_only = recorded(f.GuardianFactory(student=student, email=""))
    just_queued = recorded(f.GuardianFactory(student=student))
    hour_ago = timezone.now() - datetime.timedelta(hours=1)
    OutgoingEmail.objects.filter(source_id__in=[lost.pk, paper_only.pk]).update(queued_at=hour_ago)

    with django_capture_on_commit_callbacks(execute=True):
        assert emails_requeue.delay().get() == 2
    assert [m.to for m in mailoutbox] == [[parent.email]]
    with django_capture_on_commit_callbacks(execute=True):
        assert emails_requeue.delay().get() == 0  # done: nothing to queue again
    assert len(mailoutbox) == 1
    paper_only.refresh_from_db()
    assert paper_only.sent_at is None  # no address: the case manager sends it on paper
    assert OutgoingEmail.objects.get(source_id=paper_only.pk).skipped
    just_queued.refresh_from_db()
    assert just_queued.sent_at is None  # its own task is still on its way
