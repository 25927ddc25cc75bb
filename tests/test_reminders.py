"""Reminders as their recipients get them: who is reminded of what, when, and only once.

The sweep runs here with Celery eager (each send task runs in the test on commit) and
Django's locmem outbox; tests/jobs/ runs it against a real worker, Redis and SMTP server."""

import datetime
import math

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from meetings.models import AttendanceRequest, Invitation, Meeting, Notification, Plan, Reminder
from meetings.services import attendance
from meetings.services.reminders import (
    Kind,
    reminders_meeting_upcoming,
    reminders_sweep,
    school_days_after,
)
from staff import access
from staff.models import Assignment, Designation, OutgoingEmail, Role, School, User
from staff.outbox import email_send, emails_requeue

from . import factories as f

MINUTE = datetime.timedelta(minutes=1)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


@pytest.fixture
def outbox(db):
    """Django's locmem outbox, taken after the database fixture resets it."""
    return mail.outbox


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    """Run the sweep as if it were `moment`, with the emails it queues sent at once."""

    def run(moment, *, send=True):
        with (
            time_machine.travel(moment, tick=False),
            django_capture_on_commit_callbacks(execute=send),
        ):
            return reminders_sweep()

    return run


def send_claimed(reminder) -> bool:
    """Send the email of a claimed reminder, as the outbox's task would."""
    email = OutgoingEmail.objects.get(kind="reminder", source_id=reminder.pk)
    return email_send(email_id=email.pk)


def sent(outbox, *, to=None, containing=""):
    return [m for m in outbox if (to is None or m.to == [to.email]) and containing in m.body]


def statement_count(queries) -> int:
    """Queries without the savepoints the test's own transaction adds to each atomic block."""
    return sum(1 for q in queries if "SAVEPOINT" not in q["sql"])


@pytest.fixture
def teacher(school):
    return f.UserFactory(full_name="Terry Teacher", roles=[(Role.Kind.TEACHER, school)])


@pytest.fixture
def team_meeting(meeting, case_manager, teacher):
    for user in (case_manager, teacher):
        f.InvitationFactory(meeting=meeting, user=user)
    # A guest without an account is told by the case manager, not by us.
    Invitation.objects.create(meeting=meeting, name="Dr. Guest", role="Psychologist")
    return meeting


def approve(req, approver):
    return attendance.attendance_request_decide(
        approver=approver,
        attendance_request=req,
        approve=True,
        seen_version=req.version,
        coverage_note="Gym with Mr. Lee",
    )


def deny(req, approver):
    return attendance.attendance_request_decide(
        approver=approver,
        attendance_request=req,
        approve=False,
        seen_version=req.version,
        deny_reason=AttendanceRequest.DenyReason.GROUP,
    )


# --- upcoming meetings ---------------------------------------------------------------------


def test_invited_team_and_approved_seca_are_reminded_a_week_and_a_day_before_once_each(
    sweep, outbox, team_meeting, seca, principal, case_manager, teacher
):
    approve(attendance.attendance_request_submit(seca=seca, meeting=team_meeting), principal)
    outbox.clear()
    week_before = team_meeting.starts_at - 6 * DAY

    assert sweep(week_before)[Kind.MEETING_UPCOMING] == 3
    assert sweep(week_before + HOUR)[Kind.MEETING_UPCOMING] == 0

    for user in (case_manager, teacher, seca):
        [email] = sent(outbox, to=user)
        assert email.subject == "Reminder: Jordan F.'s IEP meeting is in 6 days"
        assert "A reminder of the IEP meeting of Jordan" in email.body
        assert f"/meetings/{team_meeting.pk}/" in email.body
    assert len(outbox) == 3
    assert Notification.objects.filter(user=seca, message__startswith="Reminder").count() == 1

    outbox.clear()
    assert sweep(team_meeting.starts_at - 20 * HOUR)[Kind.MEETING_UPCOMING] == 3
    assert sweep(team_meeting.starts_at - 19 * HOUR)[Kind.MEETING_UPCOMING] == 0
    assert sorted(m.to[0] for m in outbox) == sorted(u.email for u in (case_manager, teacher, seca))


def test_an_invited_seca_whose_assignment_ended_is_not_reminded(sweep, outbox, team_meeting, seca):
    # An invitation grants nothing: the SECA no longer supports the student.
    f.InvitationFactory(meeting=team_meeting, user=seca)
    Assignment.objects.filter(staff=seca).update(ended_on=timezone.localdate())
    sweep(team_meeting.starts_at - 6 * DAY)
    assert not sent(outbox, to=seca)
    assert Reminder.objects.get(recipient=seca).sent_at is not None  # done, without an email
    assert len(outbox) == 2


def test_a_meeting_scheduled_at_short_notice_gets_only_the_nearest_reminder(
    sweep, outbox, team_meeting
):
    sweep(team_meeting.starts_at - 12 * HOUR)
    assert {r.slot.split("@")[0] for r in Reminder.objects.all()} == {"24h"}
    assert len(outbox) == 2


def test_no_reminder_for_a_cancelled_or_past_meeting(sweep, outbox, team_meeting):
    sweep(team_meeting.starts_at + HOUR)
    Meeting.objects.filter(pk=team_meeting.pk).update(state=Meeting.State.CANCELLED)
    sweep(team_meeting.starts_at - 20 * HOUR)
    assert outbox == [] and not Reminder.objects.exists()


def test_a_moved_meeting_is_reminded_again_for_its_new_time(sweep, outbox, team_meeting):
    sweep(team_meeting.starts_at - 6 * DAY)
    new_start = team_meeting.starts_at + 3 * DAY
    Meeting.objects.filter(pk=team_meeting.pk).update(starts_at=new_start, ends_at=new_start + HOUR)
    sweep(new_start - 6 * DAY)
    assert len(outbox) == 4


def test_a_reminder_claimed_before_the_meeting_moved_is_not_sent(sweep, outbox, team_meeting):
    moment = team_meeting.starts_at - 6 * DAY
    sweep(moment, send=False)
    Meeting.objects.filter(pk=team_meeting.pk).update(
        starts_at=team_meeting.starts_at + DAY, ends_at=team_meeting.ends_at + DAY
    )
    reminder = Reminder.objects.first()

    assert send_claimed(reminder) is False
    reminder.refresh_from_db()
    assert reminder.sent_at is not None and outbox == []


def test_reminder_is_written_in_the_recipients_language(sweep, outbox, team_meeting, teacher):
    User.objects.filter(pk=teacher.pk).update(preferred_language="es")
    sweep(team_meeting.starts_at - 6 * DAY)
    [email] = sent(outbox, to=teacher)
    assert email.extra_headers["Content-Language"] == "es"


# --- pending requests --------------------------------------------------------------------------


def test_pending_request_reminds_the_approvers_then_escalates_to_the_principal(
    sweep, outbox, meeting, seca, principal, designee
):
    req = attendance.attendance_request_submit(seca=seca, meeting=meeting)
    outbox.clear()

    sweep(meeting.starts_at - 40 * HOUR)
    for approver in (principal, designee):
        [email] = sent(outbox, to=approver)
        assert "is waiting for your decision" in email.body
        assert f"/requests/{req.pk}/decide/" in email.body

    outbox.clear()
    sweep(meeting.starts_at - 20 * HOUR)
    sweep(meeting.starts_at - 19 * HOUR)
    [to_designee] = sent(outbox, to=designee)
    assert "is waiting for your decision" in to_designee.body
    [to_principal] = sent(outbox, to=principal)
    assert "your designees have not acted" in to_principal.body
    kinds = Reminder.objects.filter(slot__startswith="24h").values_list("kind", "recipient")
    assert set(kinds) == {
        (Kind.REQUEST_PENDING, designee.pk),
        (Kind.REQUEST_ESCALATED, principal.pk),
    }


def test_a_principal_without_designees_gets_the_plain_reminder(
    sweep, outbox, meeting, seca, principal
):
    attendance.attendance_request_submit(seca=seca, meeting=meeting)
    outbox.clear()
    sweep(meeting.starts_at - 20 * HOUR)
    [email] = sent(outbox, to=principal)
    assert "is waiting for your decision" in email.body


def test_a_request_decided_after_the_claim_sends_no_reminder(
    sweep, outbox, meeting, seca, principal
):
    req = attendance.attendance_request_submit(seca=seca, meeting=meeting)
    sweep(meeting.starts_at - 40 * HOUR, send=False)
    deny(req, principal)
    outbox.clear()

    reminder = Reminder.objects.get(kind=Kind.REQUEST_PENDING)
    assert send_claimed(reminder) is False
    assert outbox == []


def test_requests_still_pending_at_the_start_expire_and_the_secas_are_asked_for_feedback(
    sweep, settings, school, principal
):
    settings.JOB_CHUNK_SIZE = 2
    start = timezone.now() + DAY
    requests = []
    for _ in range(5):
        student = f.StudentFactory(school=school)
        seca = f.UserFactory(roles=[(Role.Kind.SECA, school)])
        f.AssignmentFactory(student=student, staff=seca)
        meeting = f.MeetingFactory(student=student, starts_at=start)
        requests.append(attendance.attendance_request_submit(seca=seca, meeting=meeting))

    assert sweep(start + 5 * 60 * datetime.timedelta(seconds=1))["expired"] == 5
    assert {r.status for r in AttendanceRequest.objects.all()} == {"expired"}
    for req in requests:
        assert Notification.objects.filter(
            user=req.seca, message__startswith="Not decided in time"
        ).exists()


# --- feedback due ----------------------------------------------------------------------------


def test_feedback_due_reminds_a_denied_seca_who_has_not_given_feedback(
    sweep, outbox, meeting, seca, student, school, principal
):
    deny(attendance.attendance_request_submit(seca=seca, meeting=meeting), principal)
    gave_feedback = f.UserFactory(roles=[(Role.Kind.SECA, school)])
    f.AssignmentFactory(student=student, staff=gave_feedback)
    deny(attendance.attendance_request_submit(seca=gave_feedback, meeting=meeting), principal)
    f.SecaFeedbackFactory(meeting=meeting, seca=gave_feedback, submitted_at=timezone.now())
    approved = f.UserFactory(roles=[(Role.Kind.SECA, school)])
    f.AssignmentFactory(student=student, staff=approved)
    approve(attendance.attendance_request_submit(seca=approved, meeting=meeting), principal)
    outbox.clear()

    sweep(meeting.starts_at - 30 * HOUR)
    assert not Reminder.objects.filter(kind=Kind.FEEDBACK_DUE).exists()
    sweep(meeting.starts_at - 20 * HOUR)
    sweep(meeting.starts_at - 10 * HOUR)

    [email] = [m for m in outbox if "Your feedback" in m.body]
    assert email.to == [seca.email] and f"/meetings/{meeting.pk}/feedback/" in email.body


# --- plans not finalized ------------------------------------------------------------------------


def _at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def test_school_days_skip_the_weekend():
    friday = datetime.date(2027, 4, 16)
    assert school_days_after(friday, 1) == datetime.date(2027, 4, 19)
    assert school_days_after(friday, 5) == datetime.date(2027, 4, 23)
    assert school_days_after(datetime.date(2027, 4, 17), 5) == datetime.date(2027, 4, 23)


def test_plan_not_finalized_reminds_the_case_manager_after_five_school_days_then_weekly(
    sweep, outbox, student, case_manager
):
    friday = datetime.date(2027, 4, 16)
    held = f.MeetingFactory(
        student=student,
        scheduled_by=case_manager,
        starts_at=_at(friday, 9),
        ends_at=_at(friday, 10),
        state=Meeting.State.HELD,
        held_at=_at(friday, 10),
    )
    reminded = []
    for day in range(1, 16):
        moment = _at(friday + datetime.timedelta(days=day), 8)
        if sweep(moment)[Kind.PLAN_NOT_FINALIZED]:
            reminded.append(moment.date())
    # Five school days after Friday the 16th is Friday the 23rd; then each Friday.
    assert reminded == [datetime.date(2027, 4, 23), datetime.date(2027, 4, 30)]
    reminders = sent(outbox, containing="is not finalized yet")
    assert [m.to for m in reminders] == [[case_manager.email]] * 2

    Plan.objects.create(
        meeting=held,
        file="plans/p.pdf",
        sha256="0" * 64,
        uploaded_by=case_manager,
        finalized_at=_at(friday + datetime.timedelta(days=15)),
    )
    assert sweep(_at(friday + datetime.timedelta(days=21), 8))[Kind.PLAN_NOT_FINALIZED] == 0


# --- reviews coming due -----------------------------------------------------------------------


def test_reviews_coming_due_are_a_weekly_list_to_the_case_manager(
    sweep, outbox, school, case_manager
):
    today = timezone.localdate()
    due = f.StudentFactory(
        school=school, case_manager=case_manager, annual_review_due=today + 20 * DAY
    )
    scheduled = f.StudentFactory(
        school=school, case_manager=case_manager, annual_review_due=today + 20 * DAY
    )
    f.MeetingFactory(student=scheduled, starts_at=timezone.now() + 10 * DAY)
    f.StudentFactory(school=school, case_manager=case_manager, annual_review_due=today + 60 * DAY)

    monday = _at(today - datetime.timedelta(days=today.weekday()) + 7 * DAY, 7)
    assert sweep(monday)[Kind.REVIEWS_DUE] == 1
    assert sweep(monday + DAY)[Kind.REVIEWS_DUE] == 0
    assert sweep(monday + 7 * DAY)[Kind.REVIEWS_DUE] == 1

    email = sent(outbox, to=case_manager)[0]
    assert due.full_name in email.body and scheduled.full_name not in email.body
    assert "/caseload/" in email.body


# --- plans not opened -----------------------------------------------------------------------


def test_a_plan_not_opened_is_reminded_once_after_three_school_days(
    sweep, outbox, student, case_manager, parent
):
    monday = datetime.date(2027, 5, 3)
    meeting = f.MeetingFactory(
        student=student,
        starts_at=_at(monday - 7 * DAY),
        state="held",
        held_at=_at(monday - 7 * DAY),
    )
    plan = Plan.objects.create(
        meeting=meeting,
        file="plans/p.pdf",
        sha256="0" * 64,
        uploaded_by=case_manager,
        finalized_at=_at(monday, 9),
    )
    delivery = plan.deliveries.create(recipient=parent, reason="guardian", sent_at=_at(monday, 9))

    assert sweep(_at(monday + 2 * DAY, 17))[Kind.PLAN_NOT_ACKNOWLEDGED] == 0
    assert sweep(_at(monday + 3 * DAY, 8))[Kind.PLAN_NOT_ACKNOWLEDGED] == 1
    assert sweep(_at(monday + 10 * DAY, 8))[Kind.PLAN_NOT_ACKNOWLEDGED] == 0
    [email] = sent(outbox, to=parent)
    assert f"/deliveries/{delivery.pk}/" in email.body


# --- nothing lost, nothing twice ---------------------------------------------------------------


def test_a_reminder_claimed_but_never_sent_is_queued_again_by_the_outbox(
    sweep, outbox, team_meeting, case_manager, django_capture_on_commit_callbacks
):
    moment = team_meeting.starts_at - 6 * DAY
    # The worker that should have sent them died: the claims stay unsent.
    sweep(moment, send=False)
    assert outbox == []

    def requeue(at):
        with (
            time_machine.travel(at, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            return emails_requeue()

    assert requeue(moment + 5 * MINUTE) == 0
    assert requeue(moment + HOUR) == 2
    assert len(outbox) == 2
    assert not Reminder.objects.filter(sent_at__isnull=True).exists()
    assert requeue(moment + 2 * HOUR) == 0


@pytest.mark.parametrize("n", [5, 50])
def test_the_sweep_costs_the_same_queries_however_many_meetings(settings, school, case_manager, n):
    settings.JOB_CHUNK_SIZE = 1000
    start = timezone.now() + 3 * DAY
    for _ in range(n):
        meeting = f.MeetingFactory(student=f.StudentFactory(school=school), starts_at=start)
        f.InvitationFactory(meeting=meeting, user=case_manager)
        f.AttendanceRequestFactory(meeting=meeting)
    with CaptureQueriesContext(connection) as queries:
        reminders_sweep()
    # 1 requests to expire; 2-5 upcoming meetings in the 7-day window: the meetings,
    # their recipients, the claim, the claims' emails in the outbox; 6 the 1-day window
    # (empty); 7-8 pending requests in the 48-hour and 24-hour windows (none yet);
    # 9 feedback due; 10 plans not finalized; 11 case managers with reviews due; 12 plans
    # not opened. (Emails lost on their way are the outbox's requeue, a sweep of its own.)
    assert statement_count(queries) == 12


def test_each_chunk_costs_four_queries(settings, school, case_manager):
    start = timezone.now() + 3 * DAY
    for _ in range(25):
        meeting = f.MeetingFactory(student=f.StudentFactory(school=school), starts_at=start)
        f.InvitationFactory(meeting=meeting, user=case_manager)
    with CaptureQueriesContext(connection) as queries:
        claimed = reminders_meeting_upcoming(now=timezone.now(), chunk_size=10)
    assert claimed == 25
    # 7-day window: 3 chunks of meetings (10, 10, 5) at 4 queries each (the meetings,
    # their recipients, the claim, the emails); 1-day window: 1.
    assert statement_count(queries) == math.ceil(25 / 10) * 4 + 1


def test_the_approvers_reminded_are_those_who_may_decide(school, other_school, designee):
    # The reminders read "who decides" for many schools at once; each person's own pages
    # read it from their standing. Both come from staff/access.py and must agree.
    lost_role = f.UserFactory(roles=[(Role.Kind.TEACHER, school)])
    Designation.objects.create(school=school, designee=lost_role, named_by=designee)
    f.UserFactory(roles=[(Role.Kind.PRINCIPAL, other_school)], is_active=False)
    f.UserFactory(roles=[(Role.Kind.PRINCIPAL, other_school)])
    found = access.approvers([school.pk, other_school.pk])
    for s in School.objects.all():
        expected = {
            user.pk for user in User.objects.all() if s.pk in access.standing_of(user).approver_at
        }
        assert {user_id for user_id, _ in found.get(s.pk, [])} == expected
    assert designee.pk in {user_id for user_id, _ in found[school.pk]}
    assert lost_role.pk not in {user_id for user_id, _ in found[school.pk]}
