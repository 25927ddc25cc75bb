"""The team around the meeting (issue 13, items 5 and 6): feedback after the meeting from a
SECA not honored, the parents invited, answers given by phone or on paper, invitees added
and removed after scheduling, a parent's wish reaching the SECA and the approvers with its
outcome shown to the parent, and coverage by any free staff member who is not a SECA."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from meetings.models import (
    AttendanceRequest,
    Invitation,
    Meeting,
    MeetingNotice,
    NoticeResponse,
    Notification,
    SecaFeedback,
)
from meetings.services import attendance, parents, scheduling
from staff.models import AuditEvent, Role
from staff.services import DomainError

from . import factories as f

S = AttendanceRequest.Status


def _started(meeting, hours=2):
    Meeting.objects.filter(pk=meeting.pk).update(
        starts_at=timezone.now() - datetime.timedelta(hours=hours),
        ends_at=timezone.now() - datetime.timedelta(hours=hours - 1),
    )
    meeting.refresh_from_db()
    return meeting


# --- 5. Feedback when not honored, whenever it happens ---------------------------------------


def test_seca_whose_request_expired_gives_feedback_after_the_meeting_as_an_addendum(
    client, seca, meeting, case_manager, django_capture_on_commit_callbacks
):
    f.AttendanceRequestFactory(meeting=meeting, seca=seca, status=S.EXPIRED)
    _started(meeting)
    client.force_login(seca)
    page = client.get(reverse("feedback_edit", args=[meeting.pk])).content.decode()
    assert "you can still give your feedback" in page and "Submit to the team" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("feedback_edit", args=[meeting.pk]),
            {"strengths": "Calm after lunch", "submit": "1"},
            follow=True,
        )
    assert "addendum to the packet" in response.content.decode()
    feedback = SecaFeedback.objects.get(meeting=meeting, seca=seca)
    assert feedback.after_meeting and feedback.submitted_at is not None
    # The case manager is told, in-app and by email, with a link to the packet's addendum.
    note = Notification.objects.get(user=case_manager, event="feedback_addendum")
    assert note.url == reverse("meeting_packet", args=[meeting.pk]) + "#addendum"
    assert any("gave feedback after" in m.subject for m in mail.outbox)
    # Submitted after the meeting, it is final.
    with pytest.raises(DomainError, match="can no longer be changed"):
        attendance.feedback_save(seca=seca, meeting=meeting, data={"strengths": "x"}, submit=True)


def test_approved_seca_marked_absent_may_give_feedback_after_the_meeting(
    seca, meeting, principal, case_manager
):
    f.AttendanceRequestFactory(
        meeting=meeting,
        seca=seca,
        status=S.APPROVED,
        decided_by=principal,
        decided_at=timezone.now(),
        coverage_note="Music",
    )
    f.InvitationFactory(meeting=meeting, user=seca, role="SECA (requested to attend)")
    _started(meeting)
    scheduling.meeting_mark_held(actor=case_manager, meeting=meeting, attended_ids=[])
    feedback = attendance.feedback_save(
        seca=seca, meeting=meeting, data={"what_works": "A timer"}, submit=True
    )
    assert feedback.after_meeting


def test_seca_who_attended_or_gave_feedback_before_cannot_after_the_meeting(
    seca, meeting, principal
):
    f.AttendanceRequestFactory(
        meeting=meeting,
        seca=seca,
        status=S.DENIED,
        decided_by=principal,
        decided_at=timezone.now(),
        deny_reason="group",
    )
    attendance.feedback_save(seca=seca, meeting=meeting, data={"strengths": "Kind"}, submit=True)
    _started(meeting)
    with pytest.raises(DomainError, match="can no longer be changed"):
        attendance.feedback_save(seca=seca, meeting=meeting, data={"strengths": "x"}, submit=True)
    assert SecaFeedback.objects.get().strengths == "Kind"


def test_seca_without_a_request_not_honored_cannot_give_feedback_after_the_meeting(
    client, seca, meeting
):
    _started(meeting)
    client.force_login(seca)
    page = client.get(reverse("feedback_edit", args=[meeting.pk])).content.decode()
    assert "read-only" in page and "Submit to the team" not in page
    response = client.post(
        reverse("feedback_edit", args=[meeting.pk]), {"strengths": "x", "submit": "1"}
    )
    assert response.status_code == 400 and not SecaFeedback.objects.exists()


def test_packet_shows_the_addendum_with_its_day_and_hides_drafts(
    client, case_manager, seca, meeting, django_assert_num_queries
):
    f.AttendanceRequestFactory(meeting=meeting, seca=seca, status=S.EXPIRED)
    _started(meeting)
    attendance.feedback_save(seca=seca, meeting=meeting, data={"strengths": "Late"}, submit=True)
    other = f.UserFactory(full_name="Drafty Seca", roles=[(Role.Kind.SECA, meeting.school)])
    f.SecaFeedbackFactory(meeting=meeting, seca=other, strengths="Unsent draft")
    client.force_login(case_manager)
    # session, user, standing, the meeting, the packet's audit INSERT, invitations,
    # requests, feedback before the meeting, the addendum, wishes, unread count
    with django_assert_num_queries(11):
        page = client.get(reverse("meeting_packet", args=[meeting.pk])).content.decode()
    addendum = page.split('id="addendum"')[1]
    assert "Jerry Seca (SECA), given after the meeting, on" in addendum and "Late" in addendum
    assert "Unsent draft" not in page


def test_another_secas_feedback_stays_hidden_from_a_seca(client, seca, meeting, student):
    other = f.UserFactory(roles=[(Role.Kind.SECA, student.school)])
    f.AssignmentFactory(student=student, staff=other)
    f.SecaFeedbackFactory(
        meeting=meeting, seca=other, strengths="Not for Jerry", submitted_at=timezone.now()
    )
    f.AttendanceRequestFactory(meeting=meeting, seca=seca, status=S.EXPIRED)
    _started(meeting)
    client.force_login(seca)
    assert (
        "Not for Jerry"
        not in client.get(reverse("meeting_detail", args=[meeting.pk])).content.decode()
    )
    assert client.get(reverse("meeting_packet", args=[meeting.pk])).status_code == 403


def test_seca_home_links_to_the_feedback_still_owed_after_the_meeting(client, seca, meeting):
    f.AttendanceRequestFactory(meeting=meeting, seca=seca, status=S.EXPIRED)
    _started(meeting)
    client.force_login(seca)
    owed = client.get(reverse("home")).content.decode().split('class="feedback-owed"')[1]
    assert reverse("feedback_edit", args=[meeting.pk]) in owed.split("</ul>")[0]


# --- 6a. The parents are invited --------------------------------------------------------------


def test_scheduled_meeting_invites_the_current_guardians(case_manager, student):
    with_account = f.GuardianFactory(student=student, with_account=True)
    no_account = f.GuardianFactory(student=student, email="gran@example.net")
    meeting = scheduling.meeting_schedule(
        actor=case_manager,
        student=student,
        kind="annual",
        starts_at=timezone.now() + datetime.timedelta(days=20),
        ends_at=timezone.now() + datetime.timedelta(days=20, hours=1),
        location="Room 1",
    )
    rows = {(i.guardian_id, i.user_id, i.role) for i in meeting.invitations.exclude(guardian=None)}
    assert rows == {
        (with_account.pk, with_account.user_id, "Parent or guardian"),
        (no_account.pk, None, "Parent or guardian"),
    }


# --- 6b. A parent's answer given by phone or on paper ----------------------------------------


def test_case_manager_records_a_parents_phone_answer(
    client, case_manager, meeting, student, django_assert_num_queries
):
    guardian = f.GuardianFactory(student=student, full_name="Rosa Díaz", email="")
    f.GuardianFactory.create_batch(3, student=student)
    url = reverse("notice_answer_record", args=[meeting.pk])
    client.force_login(case_manager)
    # session, user, standing, the meeting, the guardians to choose from, unread count
    with django_assert_num_queries(6):
        assert client.get(url).status_code == 200
    today = timezone.localdate(timezone.now(), meeting.school.tzinfo)
    response = client.post(
        url,
        {
            "guardian": guardian.pk,
            "answer": "another_time",
            "method": "phone",
            "answered_on": today.isoformat(),
            "note": "Afternoons",
        },
    )
    assert response.status_code == 302
    answer = NoticeResponse.objects.get(meeting=meeting, guardian=guardian)
    assert (answer.recorded_by, answer.method, answer.answered_on) == (case_manager, "phone", today)
    page = client.get(reverse("meeting_detail", args=[meeting.pk])).content.decode()
    assert "Rosa Díaz: I ask for another time" in page
    assert f"By phone on {today:%b} {today.day}, {today.year}, recorded by Casey Manager" in page
    assert AuditEvent.objects.filter(action="notice.answer_recorded", actor=case_manager).exists()


def test_recorded_answer_needs_its_method_and_a_past_day_and_saves_nothing(
    client, case_manager, meeting, student
):
    guardian = f.GuardianFactory(student=student)
    client.force_login(case_manager)
    tomorrow = timezone.localdate() + datetime.timedelta(days=2)
    response = client.post(
        reverse("notice_answer_record", args=[meeting.pk]),
        {"guardian": guardian.pk, "answer": "attend", "method": "phone", "answered_on": tomorrow},
    )
    assert response.status_code == 400
    assert "Record an answer once it was given." in response.content.decode()
    assert not NoticeResponse.objects.exists()


def test_parents_own_answer_replaces_the_one_staff_recorded(case_manager, meeting, parent):
    guardian = parent.guardianships.get()
    parents.notice_response_record(
        actor=case_manager,
        meeting=meeting,
        guardian=guardian,
        answer="attend",
        method="paper",
        answered_on=timezone.localdate(),
    )
    parents.notice_response_save(guardian=guardian, meeting=meeting, answer="not_attend")
    answer = NoticeResponse.objects.get()
    assert (answer.answer, answer.recorded_by, answer.method) == ("not_attend", None, "")


def test_a_guardian_of_another_student_cannot_be_recorded(case_manager, meeting, other_parent):
    with pytest.raises(DomainError, match="parent or guardian of this student"):
        parents.notice_response_record(
            actor=case_manager,
            meeting=meeting,
            guardian=other_parent.guardianships.get(),
            answer="attend",
            method="phone",
            answered_on=timezone.localdate(),
        )


# --- 6c. Invitees added and removed after scheduling -----------------------------------------


def test_case_manager_adds_a_teacher_and_the_family_gets_the_updated_notice(
    client, case_manager, meeting, parent, school, django_capture_on_commit_callbacks,
    django_assert_num_queries,
):  # fmt: skip
    teacher = f.UserFactory(full_name="Tina Teacher", roles=[(Role.Kind.TEACHER, school)])
    f.UserFactory(full_name="Elsewhere Teacher", roles=[(Role.Kind.TEACHER, f.SchoolFactory())])
    f.GuardianFactory.create_batch(3, student=meeting.student)
    url = reverse("meeting_team", args=[meeting.pk])
    client.force_login(case_manager)
    # session, user, standing, the meeting, the audit INSERT, invitations, staff and
    # guardians to choose from, unread count
    with django_assert_num_queries(9):
        page = client.get(url).content.decode()
    assert "Tina Teacher" in page and "Elsewhere Teacher" not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"add-user": teacher.pk})
    assert response.status_code == 302
    assert Invitation.objects.filter(meeting=meeting, user=teacher).exists()
    assert Notification.objects.filter(user=teacher, event="invited").exists()
    notices = MeetingNotice.objects.filter(meeting=meeting, kind=MeetingNotice.Kind.UPDATED)
    assert notices.count() == 4 and notices.filter(guardian__user=parent).exists()
    sent = next(m for m in mail.outbox if m.to == [parent.email])
    assert sent.subject.startswith("Updated notice of meeting") and "Tina Teacher" in sent.body


def test_removed_invitee_is_told_and_a_parent_cannot_be_removed(
    client, case_manager, meeting, school, parent
):
    teacher = f.UserFactory(full_name="Tina Teacher", roles=[(Role.Kind.TEACHER, school)])
    invitation = f.InvitationFactory(meeting=meeting, user=teacher)
    guardian = parent.guardianships.get()
    parent_invitation = Invitation.objects.create(
        meeting=meeting, guardian=guardian, user=parent, name=guardian.full_name, role="Parent"
    )
    client.force_login(case_manager)
    url = reverse("meeting_team", args=[meeting.pk])
    assert client.post(url, {"remove": invitation.pk}).status_code == 302
    assert not Invitation.objects.filter(pk=invitation.pk).exists()
    assert Notification.objects.filter(user=teacher, event="uninvited").exists()
    page = client.post(url, {"remove": parent_invitation.pk}, follow=True).content.decode()
    assert "The parents are always invited" in page
    assert Invitation.objects.filter(pk=parent_invitation.pk).exists()


def test_team_cannot_change_once_the_meeting_started(client, case_manager, meeting, school):
    teacher = f.UserFactory(roles=[(Role.Kind.TEACHER, school)])
    _started(meeting)
    client.force_login(case_manager)
    response = client.post(reverse("meeting_team", args=[meeting.pk]), {"add-user": teacher.pk})
    assert response.status_code == 400
    assert "only before the meeting starts" in response.content.decode()
    assert not Invitation.objects.filter(user=teacher).exists()
    # The meeting page no longer offers it.
    page = client.get(reverse("meeting_detail", args=[meeting.pk])).content.decode()
    assert reverse("meeting_team", args=[meeting.pk]) not in page


def test_another_schools_case_manager_gets_a_404(client, meeting, other_school):
    other = f.UserFactory(roles=[(Role.Kind.CASE_MANAGER, other_school)])
    client.force_login(other)
    assert client.get(reverse("meeting_team", args=[meeting.pk])).status_code == 404
    assert client.get(reverse("notice_answer_record", args=[meeting.pk])).status_code == 404


# --- 6d. A parent's wish reaches the SECA and the approvers; the parent sees the outcome -----


def test_wish_without_a_request_reaches_the_seca_and_the_approvers(
    meeting, parent, seca, principal, designee, case_manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        parents.parent_wish_save(
            guardian=parent.guardianships.get(), meeting=meeting, wish="attend"
        )
    told = dict(Notification.objects.values_list("user_id", "params__audience"))
    assert told == {
        case_manager.pk: None,
        principal.pk: "approver",
        designee.pk: "approver",
        seca.pk: "seca",
    }
    seca_mail = next(m for m in mail.outbox if m.to == [seca.email])
    assert "asks that the SECA attend" in seca_mail.subject
    assert "you may ask to attend" in seca_mail.body


def test_parent_sees_the_outcome_on_the_child_page_and_the_notice(
    client, meeting, parent, seca, principal
):
    guardian = parent.guardianships.get()
    parents.parent_wish_save(guardian=guardian, meeting=meeting, wish="attend")
    client.force_login(parent)
    child = reverse("parent_child", args=[meeting.student_id])
    assert "No SECA has asked to attend this meeting yet." in client.get(child).content.decode()
    req = attendance.attendance_request_submit(seca=seca, meeting=meeting, note="Private note")
    attendance.attendance_request_decide(
        approver=principal,
        attendance_request=req,
        approve=True,
        seen_version=req.version,
        coverage_note="At music",
    )
    for url in (child, reverse("notice", args=[meeting.pk])):
        page = client.get(url).content.decode()
        assert "Jerry Seca (SECA) asked to attend: approved" in page
        assert "Private note" not in page and "At music" not in page


# --- 6e. Coverage by any free staff member, who is told --------------------------------------


def test_a_teacher_invited_to_the_meeting_is_not_free_to_cover(seca, meeting, principal, school):
    teacher = f.UserFactory(full_name="Tina Teacher", roles=[(Role.Kind.TEACHER, school)])
    f.InvitationFactory(meeting=meeting, user=teacher)
    req = attendance.attendance_request_submit(seca=seca, meeting=meeting)
    with pytest.raises(DomainError, match="Tina Teacher is not free then") as error:
        attendance.attendance_request_decide(
            approver=principal,
            attendance_request=req,
            approve=True,
            seen_version=req.version,
            covered_by=teacher,
        )
    assert error.value.field == "covered_by"
    assert AttendanceRequest.objects.get().status == S.PENDING


def test_a_seca_cannot_be_named_to_cover(seca, meeting, principal, school):
    other_seca = f.UserFactory(roles=[(Role.Kind.SECA, school)])
    req = attendance.attendance_request_submit(seca=seca, meeting=meeting)
    with pytest.raises(DomainError, match="not a SECA"):
        attendance.attendance_request_decide(
            approver=principal,
            attendance_request=req,
            approve=True,
            seen_version=req.version,
            covered_by=other_seca,
        )


def test_someone_covering_another_seca_then_is_not_free(seca, meeting, principal, school, student):
    teacher = f.UserFactory(full_name="Tina Teacher", roles=[(Role.Kind.TEACHER, school)])
    other = f.UserFactory(roles=[(Role.Kind.SECA, school)])
    f.AttendanceRequestFactory(
        meeting=f.MeetingFactory(
            student=f.StudentFactory(school=school),
            scheduled_by=principal,
            starts_at=meeting.starts_at,
            ends_at=meeting.ends_at,
        ),
        seca=other,
        status=S.APPROVED,
        decided_by=principal,
        decided_at=timezone.now(),
        covered_by=teacher,
    )
    req = attendance.attendance_request_submit(seca=seca, meeting=meeting)
    with pytest.raises(DomainError, match="covering for another SECA"):
        attendance.attendance_request_decide(
            approver=principal,
            attendance_request=req,
            approve=True,
            seen_version=req.version,
            covered_by=teacher,
        )


def test_coverer_is_told_in_their_language_with_when_and_whom(
    seca, meeting, principal, school, django_capture_on_commit_callbacks
):
    cover = f.UserFactory(
        full_name="Rosa Maestra", roles=[(Role.Kind.TEACHER, school)], preferred_language="es"
    )
    req = attendance.attendance_request_submit(seca=seca, meeting=meeting)
    with django_capture_on_commit_callbacks(execute=True):
        attendance.attendance_request_decide(
            approver=principal,
            attendance_request=req,
            approve=True,
            seen_version=req.version,
            covered_by=cover,
        )
    (sent,) = [m for m in mail.outbox if m.to == [cover.email]]
    assert sent.subject.startswith("Usted cubre a Jerry Seca")
    assert "Pat Principal" in sent.body
