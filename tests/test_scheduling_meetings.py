"""After scheduling, as the case manager sees it: moving or cancelling a meeting, logging
attempts to reach the family, recording that it was held, and the panel on the meeting
page."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from meetings.models import (
    AttendanceRequest,
    ContactAttempt,
    Meeting,
    MeetingNotice,
    NoticeResponse,
    Notification,
    ParentWish,
    Plan,
)
from meetings.services import scheduling
from staff.models import AuditEvent, Role
from staff.services import DomainError

from . import factories as f

S = AttendanceRequest.Status


@pytest.fixture
def teacher(school):
    return f.UserFactory(full_name="Tina Teacher", roles=[(Role.Kind.TEACHER, school)])


@pytest.fixture
def invited(meeting, teacher, case_manager):
    f.InvitationFactory(meeting=meeting, user=teacher, role="Teacher")
    f.InvitationFactory(meeting=meeting, user=case_manager, role="Case manager")
    f.InvitationFactory(meeting=meeting, user=None, name="Ana Ruiz", role="Interpreter")
    return meeting


@pytest.fixture
def approved(meeting, seca, principal):
    return f.AttendanceRequestFactory(
        meeting=meeting,
        seca=seca,
        status=S.APPROVED,
        decided_by=principal,
        decided_at=timezone.now(),
        coverage_note="Gym",
    )


@pytest.fixture
def past_meeting(meeting):
    Meeting.objects.filter(pk=meeting.pk).update(
        starts_at=timezone.now() - datetime.timedelta(hours=2),
        ends_at=timezone.now() - datetime.timedelta(hours=1),
    )
    meeting.refresh_from_db()
    return meeting


def local_fields(moment, prefix="starts_at"):
    local = timezone.localtime(moment)
    return {f"{prefix}_0": local.date().isoformat(), f"{prefix}_1": local.strftime("%H:%M")}


def move_data(meeting, days=7, **extra):
    return {
        **local_fields(meeting.starts_at + datetime.timedelta(days=days)),
        "duration": "60",
        "reason": "The room is booked",
        "short_notice_reason": "",
        **extra,
    }


# --- reschedule --------------------------------------------------------------------------


def test_reschedule_form_shows_the_current_time(client, case_manager, meeting):
    client.force_login(case_manager)
    response = client.get(reverse("meeting_reschedule", args=[meeting.pk]))
    assert response.status_code == 200
    local = timezone.localtime(meeting.starts_at)
    assert f'value="{local:%H:%M}"' in response.content.decode()
    assert response.context["form"]["duration"].value() == 60


def test_case_manager_moves_a_meeting_and_everyone_is_told(
    client,
    case_manager,
    invited,
    approved,
    teacher,
    seca,
    principal,
    parent,
    django_capture_on_commit_callbacks,
):
    meeting = invited
    new_start = (meeting.starts_at + datetime.timedelta(days=7)).replace(second=0, microsecond=0)
    client.force_login(case_manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("meeting_reschedule", args=[meeting.pk]), move_data(meeting))
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.starts_at == new_start and meeting.ends_at == new_start + datetime.timedelta(
        hours=1
    )
    assert meeting.change_reason == "The room is booked"
    approved.refresh_from_db()
    assert approved.status == S.PENDING and approved.reopened  # back with the approvers
    told = Notification.objects.values_list("user", flat=True)
    assert teacher.pk in told and seca.pk in told and principal.pk in told
    assert case_manager.pk not in told  # the one who moved it
    assert MeetingNotice.objects.get().kind == MeetingNotice.Kind.RESCHEDULED
    assert AuditEvent.objects.filter(action="meeting.rescheduled", actor=case_manager).exists()


def test_reschedule_needs_a_reason_next_to_the_field(client, case_manager, meeting):
    client.force_login(case_manager)
    response = client.post(
        reverse("meeting_reschedule", args=[meeting.pk]), move_data(meeting, reason="")
    )
    assert response.status_code == 400
    assert response.context["form"].errors["reason"]
    old = meeting.starts_at
    meeting.refresh_from_db()
    assert meeting.starts_at == old


def test_reschedule_to_the_past_is_refused(client, case_manager, meeting):
    client.force_login(case_manager)
    response = client.post(
        reverse("meeting_reschedule", args=[meeting.pk]), move_data(meeting, days=-20)
    )
    assert response.status_code == 400
    assert "in the past" in response.context["form"].errors["starts_at"][0]
    with pytest.raises(DomainError) as refused:
        scheduling.meeting_reschedule(
            actor=case_manager,
            meeting=meeting,
            reason="x",
            starts_at=timezone.now() - datetime.timedelta(minutes=1),
            ends_at=timezone.now(),
        )
    assert refused.value.field == "starts_at"


def test_reschedule_at_short_notice_needs_its_reason(client, case_manager, meeting, settings):
    settings.NOTICE_PERIOD_DAYS = 10
    client.force_login(case_manager)
    url = reverse("meeting_reschedule", args=[meeting.pk])
    soon = {
        **local_fields(timezone.now() + datetime.timedelta(days=3)),
        "duration": "60",
        "reason": "Parent asked for sooner",
    }
    response = client.post(url, soon)
    assert response.status_code == 400
    assert response.context["form"].errors["short_notice_reason"]
    client.post(url, {**soon, "short_notice_reason": "Parent asked"})
    meeting.refresh_from_db()
    assert meeting.short_notice_reason == "Parent asked"
    # Moved back out of the notice period, the meeting is no longer at short notice.
    client.post(url, move_data(meeting, days=20))
    meeting.refresh_from_db()
    assert meeting.short_notice_reason == ""


# --- cancel ----------------------------------------------------------------------------------


def test_case_manager_cancels_and_everyone_is_told(
    client,
    case_manager,
    invited,
    approved,
    teacher,
    seca,
    parent,
    django_capture_on_commit_callbacks,
):
    meeting = invited
    client.force_login(case_manager)
    assert client.get(reverse("meeting_cancel", args=[meeting.pk])).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("meeting_cancel", args=[meeting.pk]), {"reason": "Student moved away"}
        )
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert (meeting.state, meeting.change_reason) == ("cancelled", "Student moved away")
    approved.refresh_from_db()
    assert approved.status == S.CANCELLED
    assert set(Notification.objects.values_list("user", flat=True)) == {teacher.pk, seca.pk}
    assert MeetingNotice.objects.get().kind == MeetingNotice.Kind.CANCELLED
    assert AuditEvent.objects.filter(action="meeting.cancelled", actor=case_manager).exists()


def test_cancel_needs_a_reason(client, case_manager, meeting):
    client.force_login(case_manager)
    response = client.post(reverse("meeting_cancel", args=[meeting.pk]), {"reason": ""})
    assert response.status_code == 400
    assert response.context["form"].errors["reason"]
    meeting.refresh_from_db()
    assert meeting.state == "scheduled"


def test_a_cancelled_meeting_cannot_be_moved(client, case_manager, meeting):
    scheduling.meeting_cancel(actor=case_manager, meeting=meeting, reason="Ill")
    client.force_login(case_manager)
    response = client.post(reverse("meeting_reschedule", args=[meeting.pk]), move_data(meeting))
    assert response.status_code == 400
    assert "Only a scheduled meeting" in response.content.decode()


def test_the_principal_may_move_the_meeting_but_not_whoever_scheduled_it(
    client, principal, meeting, school
):
    client.force_login(principal)
    assert client.get(reverse("meeting_cancel", args=[meeting.pk])).status_code == 200
    # Rights come from the relationship to the student, not from having scheduled it.
    scheduler = f.UserFactory(roles=[(Role.Kind.TEACHER, school)])
    Meeting.objects.filter(pk=meeting.pk).update(scheduled_by=scheduler)
    client.force_login(scheduler)
    assert client.get(reverse("meeting_reschedule", args=[meeting.pk])).status_code == 403


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("other_school_cm", 404),
        ("other_parent", 404),
        # They see the meeting, but do not run it: a 403.
        ("colleague_cm", 403),
        ("teacher", 403),
        ("seca", 403),
        ("parent", 403),
        ("designee", 403),
        ("district_admin", 403),
    ],
)
@pytest.mark.parametrize(
    "page",
    ["meeting_reschedule", "meeting_cancel", "meeting_held", "contact_attempt_add", "plan_upload"],
)
def test_only_the_students_case_manager_and_the_principal_manage_a_meeting(
    client, who, status, page, request, meeting, school, other_school
):
    if who == "other_school_cm":
        user = f.UserFactory(roles=[(Role.Kind.CASE_MANAGER, other_school)])
    elif who == "colleague_cm":
        user = f.UserFactory(roles=[(Role.Kind.CASE_MANAGER, school)])
    else:
        user = request.getfixturevalue(who)
    client.force_login(user)
    url = reverse(page, args=[meeting.pk])
    assert client.get(url).status_code == status
    assert client.post(url, {"reason": "x"}).status_code == status
    meeting.refresh_from_db()
    assert meeting.state == "scheduled"


def test_the_service_refuses_someone_who_does_not_manage_the_meeting(meeting, teacher):
    with pytest.raises(DomainError, match="case manager or the principal"):
        scheduling.meeting_cancel(actor=teacher, meeting=meeting, reason="No")
    meeting.refresh_from_db()
    assert meeting.state == "scheduled"


# --- contact attempts (34 CFR 300.322(d)) -------------------------------------------------------


def test_case_manager_logs_a_contact_attempt_shown_on_the_meeting_page(
    client, case_manager, meeting
):
    client.force_login(case_manager)
    when = timezone.now().replace(second=0, microsecond=0) - datetime.timedelta(hours=1)
    response = client.post(
        reverse("contact_attempt_add", args=[meeting.pk]),
        {**local_fields(when, "attempted_at"), "method": "phone", "outcome": "Left a voicemail"},
    )
    assert response.status_code == 302
    attempt = ContactAttempt.objects.get()
    assert (attempt.student, attempt.meeting, attempt.made_by, attempt.attempted_at) == (
        meeting.student,
        meeting,
        case_manager,
        when,
    )
    assert AuditEvent.objects.filter(action="contact_attempt.added").exists()
    page = client.get(reverse("meeting_detail", args=[meeting.pk])).content.decode()
    attempts = page.split('class="contact-attempts">')[1].split("</ul>")[0]
    assert "Phone call (Casey Manager): Left a voicemail" in attempts


def test_a_contact_attempt_in_the_future_is_refused(client, case_manager, meeting):
    client.force_login(case_manager)
    response = client.post(
        reverse("contact_attempt_add", args=[meeting.pk]),
        {
            **local_fields(timezone.now() + datetime.timedelta(days=1), "attempted_at"),
            "method": "email",
            "outcome": "Sent",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["attempted_at"]
    assert not ContactAttempt.objects.exists()


# --- held, and who attended --------------------------------------------------------------------


def test_a_meeting_cannot_be_marked_held_before_it_starts(client, case_manager, invited):
    client.force_login(case_manager)
    response = client.post(reverse("meeting_held", args=[invited.pk]), {"attended": []})
    assert response.status_code == 400
    assert "has not started" in response.content.decode()
    invited.refresh_from_db()
    assert invited.state == "scheduled" and invited.held_at is None


def test_case_manager_marks_the_meeting_held_with_who_attended(
    client, case_manager, invited, teacher
):
    meeting = invited
    Meeting.objects.filter(pk=meeting.pk).update(
        starts_at=timezone.now() - datetime.timedelta(hours=2),
        ends_at=timezone.now() - datetime.timedelta(hours=1),
    )
    teacher_inv, cm_inv, interpreter_inv = meeting.invitations.order_by("id")
    client.force_login(case_manager)
    page = client.get(reverse("meeting_held", args=[meeting.pk])).content.decode()
    assert "Ana Ruiz — Interpreter" in page
    response = client.post(
        reverse("meeting_held", args=[meeting.pk]), {"attended": [cm_inv.pk, interpreter_inv.pk]}
    )
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.state == "held" and meeting.held_at is not None
    assert list(meeting.invitations.order_by("id").values_list("attended", flat=True)) == [
        False,
        True,
        True,
    ]
    event = AuditEvent.objects.get(action="meeting.held")
    assert event.after["absent"] == ["Tina Teacher"]
    # Attendance can be corrected afterwards; the time it was held stays.
    held_at = meeting.held_at
    client.post(reverse("meeting_held", args=[meeting.pk]), {"attended": [teacher_inv.pk]})
    meeting.refresh_from_db()
    assert meeting.held_at == held_at
    assert teacher_inv.__class__.objects.get(pk=teacher_inv.pk).attended is True


def test_someone_not_invited_cannot_be_marked_present(case_manager, past_meeting):
    stranger = f.InvitationFactory(meeting=f.MeetingFactory())
    with pytest.raises(DomainError):
        scheduling.meeting_mark_held(
            actor=case_manager, meeting=past_meeting, attended_ids=[stranger.pk]
        )
    past_meeting.refresh_from_db()
    assert past_meeting.state == "scheduled"


def test_a_cancelled_meeting_cannot_be_marked_held(case_manager, past_meeting):
    Meeting.objects.filter(pk=past_meeting.pk).update(state="cancelled")
    with pytest.raises(DomainError, match="cancelled"):
        scheduling.meeting_mark_held(actor=case_manager, meeting=past_meeting, attended_ids=[])


# --- the panel on the meeting page ----------------------------------------------------------------


def test_case_manager_sees_notices_answers_and_wishes_with_the_actions(
    client, case_manager, meeting, parent
):
    guardian = parent.guardianships.get()
    MeetingNotice.objects.create(meeting=meeting, guardian=guardian, kind="scheduled")
    NoticeResponse.objects.create(
        meeting=meeting, guardian=guardian, answer="another_time", note="Afternoons are better"
    )
    ParentWish.objects.create(
        meeting=meeting, guardian=guardian, wish="attend", note="She knows him best"
    )
    client.force_login(case_manager)
    page = client.get(reverse("meeting_detail", args=[meeting.pk])).content.decode()
    notices = page.split('class="notices">')[1].split("</ul>")[0]
    assert f"Notice of meeting — {guardian.full_name}" in notices
    answers = page.split('class="notice-responses">')[1].split("</ul>")[0]
    assert "I ask for another time — “Afternoons are better”" in answers
    assert "I ask that the SECA attend — “She knows him best”" in answers
    for page_name in ("meeting_reschedule", "meeting_cancel", "contact_attempt_add"):
        assert reverse(page_name, args=[meeting.pk]) in page
    # Not yet started: not to be marked held; not held: no plan to upload.
    assert reverse("meeting_held", args=[meeting.pk]) not in page
    assert reverse("plan_upload", args=[meeting.pk]) not in page


def test_after_the_meeting_the_panel_offers_held_then_the_plan(client, case_manager, past_meeting):
    client.force_login(case_manager)
    url = reverse("meeting_detail", args=[past_meeting.pk])
    assert reverse("meeting_held", args=[past_meeting.pk]) in client.get(url).content.decode()
    scheduling.meeting_mark_held(actor=case_manager, meeting=past_meeting, attended_ids=[])
    page = client.get(url).content.decode()
    assert reverse("plan_upload", args=[past_meeting.pk]) in page
    assert reverse("meeting_reschedule", args=[past_meeting.pk]) not in page


def test_a_teacher_of_the_school_sees_the_panel_without_the_actions(client, teacher, meeting):
    client.force_login(teacher)
    page = client.get(reverse("meeting_detail", args=[meeting.pk])).content.decode()
    assert "Notices sent to the parents" in page
    assert reverse("meeting_reschedule", args=[meeting.pk]) not in page


def test_a_parent_does_not_see_the_panel(client, parent, meeting):
    client.force_login(parent)
    page = client.get(reverse("meeting_detail", args=[meeting.pk])).content.decode()
    assert "Notices sent to the parents" not in page
    assert reverse("meeting_cancel", args=[meeting.pk]) not in page


def test_meeting_page_queries_do_not_grow_with_the_panel(
    client, case_manager, meeting, parent, django_assert_max_num_queries
):
    guardian = parent.guardianships.get()

    def add_rows(n):
        for i in range(n):
            MeetingNotice.objects.create(meeting=meeting, guardian=guardian, kind="scheduled")
            ContactAttempt.objects.create(
                student=meeting.student,
                meeting=meeting,
                made_by=case_manager,
                method="phone",
                attempted_at=timezone.now(),
                outcome=f"Try {i}",
            )
            version = meeting.plans.count() + 1
            Plan.objects.create(
                meeting=meeting,
                version=version,
                file=f"plans/p{version}.pdf",
                sha256="0" * 64,
                uploaded_by=case_manager,
            )

    client.force_login(case_manager)
    url = reverse("meeting_detail", args=[meeting.pk])
    add_rows(1)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    add_rows(5)
    with django_assert_max_num_queries(len(one)):
        client.get(url)


@pytest.mark.parametrize(
    ("reader", "queries"),
    [
        # Session, user, standing, the meeting, the audit trail's INSERT, the page's short
        # lists read together (its requests among them), the unread count.
        ("case_manager", 7),
        # The same, and the check of their two-step sign-in.
        ("district_admin", 8),
        # Without the papers: the SECA reads their own requests, a parent none.
        ("seca", 7),
        ("parent", 7),
    ],
)
def test_the_meeting_page_reads_its_lists_in_one_query(
    request, client, invited, approved, parent, reader, queries, django_assert_num_queries
):
    guardian = parent.guardianships.get()
    MeetingNotice.objects.create(meeting=invited, guardian=guardian, kind="scheduled")
    NoticeResponse.objects.create(meeting=invited, guardian=guardian, answer="attend")
    ParentWish.objects.create(meeting=invited, guardian=guardian, wish="attend")
    client.force_login(request.getfixturevalue(reader))
    with django_assert_num_queries(queries):
        page = client.get(reverse("meeting_detail", args=[invited.pk])).content.decode()
    assert "Ana Ruiz" in page  # the invitations, read with the other lists
    assert ("Notices sent to the parents" in page) is (reader in ("case_manager", "district_admin"))
