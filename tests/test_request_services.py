"""The attendance request state machine and its side effects, through the services."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from meetings.models import AttendanceRequest, Invitation, Meeting, Notification
from meetings.services import attendance, scheduling
from meetings.services.notifications import notify
from staff import outbox
from staff.models import AuditEvent, OutgoingEmail
from staff.services import DomainError

from . import factories as f

S = AttendanceRequest.Status
ALL = list(S)


def make_request(meeting, seca, status, decider):
    extra = {}
    if status in (S.APPROVED, S.DENIED):
        extra = {"decided_by": decider, "decided_at": timezone.now()}
    if status == S.APPROVED:
        extra["coverage_note"] = "Class is at gym"
    if status == S.DENIED:
        extra["deny_reason"] = AttendanceRequest.DenyReason.GROUP
    return f.AttendanceRequestFactory(meeting=meeting, seca=seca, status=status, **extra)


def run(action, req, principal):
    if action == "withdraw":
        attendance.attendance_request_withdraw(seca=req.seca, attendance_request=req)
    elif action == "approve":
        attendance.attendance_request_decide(
            approver=principal,
            attendance_request=req,
            approve=True,
            seen_version=req.version,
            coverage_note="Para from room 12",
        )
    elif action == "deny":
        attendance.attendance_request_decide(
            approver=principal,
            attendance_request=req,
            approve=False,
            seen_version=req.version,
            deny_reason="other_student",
        )
    elif action == "expire":
        attendance.attendance_requests_expire(now=req.meeting.starts_at)
    elif action == "cancel":
        scheduling.meeting_cancel(actor=principal, meeting=req.meeting, reason="Parent ill")
    elif action == "reschedule":
        scheduling.meeting_reschedule(
            actor=principal,
            meeting=req.meeting,
            starts_at=req.meeting.starts_at + datetime.timedelta(days=1),
            ends_at=req.meeting.ends_at + datetime.timedelta(days=1),
            reason="Room unavailable",
        )


# What each action does from each state: the new state, or None when it is refused.
ALLOWED = {
    "withdraw": {S.PENDING: S.WITHDRAWN},
    "approve": {S.PENDING: S.APPROVED, S.DENIED: S.APPROVED, S.APPROVED: S.APPROVED},
    "deny": {S.PENDING: S.DENIED, S.APPROVED: S.DENIED, S.DENIED: S.DENIED},
    "expire": {S.PENDING: S.EXPIRED},
    "cancel": {S.PENDING: S.CANCELLED, S.APPROVED: S.CANCELLED, S.DENIED: S.CANCELLED},
    "reschedule": {S.APPROVED: S.PENDING},
}
# Meeting-level actions leave requests they don't apply to as they were, without error.
MEETING_LEVEL = {"expire", "cancel", "reschedule"}


@pytest.mark.parametrize("action", list(ALLOWED))
@pytest.mark.parametrize("status", ALL)
def test_request_state_machine(action, status, meeting, seca, principal):
    req = make_request(meeting, seca, status, principal)
    expected = ALLOWED[action].get(status)
    if expected is None and action not in MEETING_LEVEL:
        with pytest.raises(DomainError):
            run(action, req, principal)
        req.refresh_from_db()
        assert req.status == status
        return
    run(action, req, principal)
    req.refresh_from_db()
    assert req.status == (expected or status)
    if action == "reschedule" and expected:
        assert req.reopened


def test_seca_requests_for_assigned_student(
    meeting, seca, principal, designee, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        req = attendance.attendance_request_submit(
            seca=seca, meeting=meeting, note="I know his routines"
        )
    assert req.status == S.PENDING and req.note == "I know his routines"
    # The school's approvers are told, in the app and by email.
    notified = set(Notification.objects.values_list("user__email", flat=True))
    assert notified == {principal.email, designee.email}
    assert sorted(m.to[0] for m in mail.outbox) == sorted(notified)
    assert "Jerry Seca asks to attend" in mail.outbox[0].body
    event = AuditEvent.objects.get(action="request.submitted")
    assert event.actor == seca and event.after["status"] == "pending"


def test_seca_cannot_request_for_unassigned_student(meeting, other_school_seca):
    with pytest.raises(DomainError, match="students you support"):
        attendance.attendance_request_submit(seca=other_school_seca, meeting=meeting)
    assert not AttendanceRequest.objects.exists()


@pytest.mark.parametrize("change", ["started", "cancelled", "held"])
def test_seca_cannot_request_for_closed_meeting(change, meeting, seca):
    if change == "started":
        Meeting.objects.filter(pk=meeting.pk).update(
            starts_at=timezone.now() - datetime.timedelta(minutes=5)
        )
    else:
        Meeting.objects.filter(pk=meeting.pk).update(state=change)
    with pytest.raises(DomainError):
        attendance.attendance_request_submit(seca=seca, meeting=meeting)
    assert not AttendanceRequest.objects.exists()


def test_seca_cannot_open_a_second_request(meeting, seca):
    attendance.attendance_request_submit(seca=seca, meeting=meeting)
    with pytest.raises(DomainError, match="already have an open request"):
        attendance.attendance_request_submit(seca=seca, meeting=meeting)
    assert AttendanceRequest.objects.count() == 1


def test_approval_records_coverage_and_puts_seca_on_the_team(
    meeting, seca, principal, school, django_capture_on_commit_callbacks
):
    # Any staff member of the school free then; not a SECA (contract).
    cover = f.UserFactory(full_name="Cora Cover", roles=[("teacher", school)])
    req = attendance.attendance_request_submit(seca=seca, meeting=meeting)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        attendance.attendance_request_decide(
            approver=principal,
            attendance_request=req,
            approve=True,
            seen_version=req.version,
            covered_by=cover,
        )
    req.refresh_from_db()
    assert (req.status, req.covered_by, req.decided_by) == (S.APPROVED, cover, principal)
    assert Invitation.objects.filter(meeting=meeting, user=seca).exists()
    assert mail.outbox[0].to == [seca.email]
    assert "Pat Principal approved your request" in mail.outbox[0].body
    # The person named to cover is told when and whom.
    (told,) = [m for m in mail.outbox if m.to == [cover.email]]
    assert seca.full_name in told.subject and seca.full_name in told.body
    assert "named you to cover" in told.body
    assert Notification.objects.filter(user=cover, event="coverage_assigned").exists()
    event = AuditEvent.objects.get(action="request.approved")
    assert event.before["status"] == "pending" and event.after["covered_by"] == cover.pk


def test_approval_without_coverage_is_refused(meeting, seca, principal):
    req = attendance.attendance_request_submit(seca=seca, meeting=meeting)
    with pytest.raises(DomainError, match="who covers") as error:
        attendance.attendance_request_decide(
            approver=principal, attendance_request=req, approve=True, seen_version=req.version
        )
    assert error.value.field == "covered_by"
    req.refresh_from_db()
    assert req.status == S.PENDING


def test_coverage_by_someone_of_another_school_is_refused(
    meeting, seca, principal, other_school_seca
):
    req = attendance.attendance_request_submit(seca=seca, meeting=meeting)
    with pytest.raises(DomainError, match="staff member of this school who is not a SECA"):
        attendance.attendance_request_decide(
            approver=principal,
            attendance_request=req,
            approve=True,
            seen_version=req.version,
            covered_by=other_school_seca,
        )


def test_denial_needs_reason_and_other_needs_note(meeting, seca, principal):
    req = attendance.attendance_request_submit(seca=seca, meeting=meeting)
    with pytest.raises(DomainError, match="Choose a reason"):
        attendance.attendance_request_decide(
            approver=principal, attendance_request=req, approve=False, seen_version=req.version
        )
    with pytest.raises(DomainError, match="Other") as error:
        attendance.attendance_request_decide(
            approver=principal,
            attendance_request=req,
            approve=False,
            seen_version=req.version,
            deny_reason="other",
        )
    assert error.value.field == "decision_note"
    req.refresh_from_db()
    assert req.status == S.PENDING


def test_denial_asks_the_seca_for_feedback(
    meeting, seca, designee, django_capture_on_commit_callbacks
):
    req = attendance.attendance_request_submit(seca=seca, meeting=meeting)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        attendance.attendance_request_decide(
            approver=designee,
            attendance_request=req,
            approve=False,
            seen_version=req.version,
            deny_reason="parent_asked",
        )
    req.refresh_from_db()
    assert req.decided_by == designee
    assert "Dana Designee denied your request" in mail.outbox[0].body
    assert "feedback" in mail.outbox[0].body
    assert f"/meetings/{meeting.pk}/feedback/" in mail.outbox[0].body


def test_changed_decision_is_recorded_each_time(meeting, seca, principal, designee):
    req = attendance.attendance_request_submit(seca=seca, meeting=meeting)
    req = attendance.attendance_request_decide(
        approver=principal,
        attendance_request=req,
        approve=False,
        seen_version=req.version,
        deny_reason="group",
    )
    attendance.attendance_request_decide(
        approver=designee,
        attendance_request=req,
        approve=True,
        seen_version=req.version,
        coverage_note="Music class",
    )
    actions = list(
        AuditEvent.objects.filter(object_type="attendancerequest")
        .order_by("at", "id")
        .values_list("action", "actor__email")
    )
    assert actions == [
        ("request.submitted", seca.email),
        ("request.denied", principal.email),
        ("request.approved", designee.email),
    ]


def test_stale_decision_is_told_who_decided_first(meeting, seca, principal, designee):
    req = attendance.attendance_request_submit(seca=seca, meeting=meeting)
    seen = req.version
    attendance.attendance_request_decide(
        approver=principal,
        attendance_request=req,
        approve=True,
        seen_version=seen,
        coverage_note="Gym",
    )
    with pytest.raises(DomainError, match="Pat Principal already approved this request"):
        attendance.attendance_request_decide(
            approver=designee,
            attendance_request=req,
            approve=False,
            seen_version=seen,
            deny_reason="group",
        )
    req.refresh_from_db()
    assert req.status == S.APPROVED and req.decided_by == principal


def test_removed_designee_can_no_longer_decide(meeting, seca, designee, principal):
    from staff.models import Designation
    from staff.services import designation_remove

    req = attendance.attendance_request_submit(seca=seca, meeting=meeting)
    designation_remove(principal=principal, designation=Designation.objects.get(designee=designee))
    with pytest.raises(DomainError, match="principal or a designee"):
        attendance.attendance_request_decide(
            approver=designee,
            attendance_request=req,
            approve=False,
            seen_version=req.version,
            deny_reason="group",
        )


def test_reschedule_reopens_approved_requests_and_tells_everyone(
    meeting, seca, principal, django_capture_on_commit_callbacks
):
    req = attendance.attendance_request_submit(seca=seca, meeting=meeting)
    attendance.attendance_request_decide(
        approver=principal,
        attendance_request=req,
        approve=True,
        seen_version=req.version,
        coverage_note="Gym",
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        scheduling.meeting_reschedule(
            actor=principal,
            meeting=meeting,
            starts_at=meeting.starts_at + datetime.timedelta(hours=3),
            ends_at=meeting.ends_at + datetime.timedelta(hours=3),
            reason="Parent asked for afternoon",
        )
    req.refresh_from_db()
    assert req.status == S.PENDING and req.reopened
    assert {m.to[0] for m in mail.outbox} == {seca.email, principal.email}


def test_cancelled_meeting_cancels_requests_and_tells_the_seca(
    meeting, seca, principal, django_capture_on_commit_callbacks
):
    req = attendance.attendance_request_submit(seca=seca, meeting=meeting)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        scheduling.meeting_cancel(actor=principal, meeting=meeting, reason="Student moved")
    req.refresh_from_db()
    assert req.status == S.CANCELLED
    assert [m.to for m in mail.outbox] == [[seca.email]]
    assert "cancelled" in mail.outbox[0].body


def test_pending_request_expires_when_the_meeting_starts(meeting, seca):
    req = attendance.attendance_request_submit(seca=seca, meeting=meeting)
    assert (
        attendance.attendance_requests_expire(now=meeting.starts_at - datetime.timedelta(minutes=1))
        == 0
    )
    assert attendance.attendance_requests_expire(now=meeting.starts_at) == 1
    req.refresh_from_db()
    assert req.status == S.EXPIRED
    assert req.not_honored_reason(attended=None) == "Not decided before the meeting started"


def test_feedback_draft_then_submit_until_the_meeting_starts(
    meeting, seca, case_manager, django_capture_on_commit_callbacks
):
    attendance.feedback_save(seca=seca, meeting=meeting, data={"strengths": "Kind"}, submit=False)
    assert not Notification.objects.filter(user=case_manager).exists()
    with django_capture_on_commit_callbacks(execute=True):
        feedback = attendance.feedback_save(
            seca=seca,
            meeting=meeting,
            data={"strengths": "Kind", "what_works": "Timers"},
            submit=True,
        )
    assert feedback.submitted_at and feedback.what_works == "Timers"
    assert Notification.objects.filter(user=case_manager, message__contains="feedback").exists()
    Meeting.objects.filter(pk=meeting.pk).update(
        starts_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    with pytest.raises(DomainError, match="can no longer be changed"):
        attendance.feedback_save(seca=seca, meeting=meeting, data={"strengths": "x"}, submit=True)
    feedback.refresh_from_db()
    assert feedback.strengths == "Kind"


def test_empty_feedback_cannot_be_submitted(meeting, seca):
    with pytest.raises(DomainError, match="at least one section"):
        attendance.feedback_save(seca=seca, meeting=meeting, data={}, submit=True)
    assert not meeting.feedback.exists()


def test_a_lost_notification_email_is_queued_again_and_sent_once(
    seca, meeting, mailoutbox, django_capture_on_commit_callbacks
):
    # The broker lost both (nothing ran at the commit); only the old one is due again.
    notify([seca], "invited", meeting=meeting)
    lost = Notification.objects.get()
    OutgoingEmail.objects.update(queued_at=timezone.now() - datetime.timedelta(hours=1))
    notify([seca], "meeting_moved", meeting=meeting)  # fresh: its task is still queued
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.emails_requeue() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.emails_requeue() == 0
    lost.refresh_from_db()
    assert lost.emailed_at is not None
    assert [m.subject[:38] for m in mailoutbox] == ["Invitation: Jordan F.'s IEP meeting on"]
