"""Scheduling a meeting as the case manager sees it: the team to invite, the preview of
conflicts, the notice period, transition planning, and who may schedule at all."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from meetings.models import Invitation, Meeting, MeetingNotice, Notification
from meetings.services import scheduling, scheduling_checks
from staff.models import Assignment, AuditEvent, Role, current_school_year
from staff.services import DomainError

from . import factories as f

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def monday(weeks_ahead=3):
    today = timezone.localdate()
    return today + datetime.timedelta(days=7 * weeks_ahead - today.weekday())


def at(day, hour, minute=0, tz=CHICAGO):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=tz)


@pytest.fixture
def teacher(student):
    user = f.UserFactory(full_name="Tina Teacher", roles=[(Role.Kind.TEACHER, student.school)])
    f.AssignmentFactory(
        student=student, staff=user, kind=Assignment.Kind.TEACHER, detail="Special education"
    )
    return user


@pytest.fixture
def team(teacher, seca, principal, case_manager, parent):
    return {"teacher": teacher, "seca": seca, "principal": principal, "cm": case_manager}


def schedule_data(day, *, hour=9, minute=0, invitees=(), **extra):
    data = {
        "kind": "annual",
        "starts_at_0": day.isoformat(),
        "starts_at_1": f"{hour:02d}:{minute:02d}",
        "duration": "60",
        "location": "Room 104",
        "video_link": "",
        "phone_dial_in": "",
        "invitees": [u.pk for u in invitees],
        "guests": "",
        "short_notice_reason": "",
    }
    data.update(extra)
    return data


def preview_then_confirm(client, url, data):
    """Press Preview, then confirm what the preview showed."""
    preview = client.post(url, {**data, "preview": ""})
    assert preview.status_code == 200, preview.context["form"].errors
    fingerprint = preview.context["preview"].fingerprint
    return client.post(url, {**data, "confirm": "", "previewed": fingerprint})


# --- who may schedule ---------------------------------------------------------------


def test_case_manager_sees_the_students_team_to_invite(client, case_manager, student, team):
    client.force_login(case_manager)
    response = client.get(reverse("meeting_schedule", args=[student.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Tina Teacher — Teacher: Special education" in page
    assert "Jerry Seca — SECA" in page
    assert "Casey Manager — Case manager" in page
    assert "Pat Principal — Principal, representing the district" in page
    # SECAs ask to attend, or are ticked by hand; the rest of the team is ticked already.
    assert response.context["form"]["invitees"].initial == [
        case_manager.pk,
        team["principal"].pk,
        team["teacher"].pk,
    ]


def test_the_principal_may_schedule_too(client, principal, student):
    client.force_login(principal)
    assert client.get(reverse("meeting_schedule", args=[student.pk])).status_code == 200


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("other_school_cm", 404),
        # Another case manager of the school sees the student but does not run their
        # meetings: the caseload is the student's case manager's.
        ("colleague_cm", 403),
        ("seca", 403),
        ("parent", 403),
        ("teacher", 403),
    ],
)
def test_only_the_students_case_manager_and_the_principal_reach_the_schedule_page(
    client, who, status, request, student, school, other_school
):
    if who == "other_school_cm":
        user = f.UserFactory(roles=[(Role.Kind.CASE_MANAGER, other_school)])
    elif who == "colleague_cm":
        user = f.UserFactory(roles=[(Role.Kind.CASE_MANAGER, school)])
    else:
        user = request.getfixturevalue(who)
    client.force_login(user)
    url = reverse("meeting_schedule", args=[student.pk])
    assert client.get(url).status_code == status
    assert client.post(url, {**schedule_data(monday()), "confirm": ""}).status_code == status
    assert not Meeting.objects.exists()


# --- preview, then confirm ------------------------------------------------------------------


def test_preview_shows_the_conflicts_and_saves_nothing(client, case_manager, student, team, school):
    day = monday()
    f.ScheduleBlockFactory(
        seca=team["seca"],
        student=student,
        weekday=0,
        starts=datetime.time(8, 30),
        ends=datetime.time(9, 30),
    )
    other = f.MeetingFactory(
        student=f.StudentFactory(school=school), starts_at=at(day, 9, 30), ends_at=at(day, 10, 30)
    )
    f.InvitationFactory(meeting=other, user=team["teacher"])
    client.force_login(case_manager)
    response = client.post(
        reverse("meeting_schedule", args=[student.pk]),
        {
            **schedule_data(day, invitees=[team["teacher"], team["seca"], case_manager]),
            "preview": "",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Check before you send" in page
    conflicts = page.split('class="conflicts">')[1].split("</ul>")[0]
    assert "Tina Teacher</strong>: invited to another meeting, 9:30 AM–10:30 AM" in conflicts
    assert "Jerry Seca</strong>: scheduled 8:30 AM–9:30 AM, Jordan" in conflicts
    assert "Casey Manager" not in conflicts
    assert Meeting.objects.count() == 1  # only the other meeting


def test_confirm_schedules_invites_tells_the_staff_and_sends_the_notice(
    client, case_manager, student, team, parent, django_capture_on_commit_callbacks, mailoutbox
):
    day = monday()
    client.force_login(case_manager)
    url = reverse("meeting_schedule", args=[student.pk])
    data = schedule_data(
        day,
        hour=14,
        invitees=[case_manager, team["teacher"], team["seca"]],
        video_link="https://meet.example.org/iep",
        guests="Ana Ruiz, Interpreter, ana@example.org\nDr. Lee, Psychologist",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = preview_then_confirm(client, url, data)
    meeting = Meeting.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("meeting_detail", args=[meeting.pk])
    assert (meeting.starts_at, meeting.ends_at) == (at(day, 14), at(day, 15))
    assert meeting.scheduled_by == case_manager and meeting.school == student.school
    assert meeting.short_notice_reason == ""
    assert [(i.name, i.role, i.email) for i in meeting.invitations.all()] == [
        ("Casey Manager", "Case manager", case_manager.email),
        ("Tina Teacher", "Teacher: Special education", team["teacher"].email),
        ("Jerry Seca", "SECA", team["seca"].email),
        ("Ana Ruiz", "Interpreter", "ana@example.org"),
        ("Dr. Lee", "Psychologist", ""),
        # The parents are invited, so that their attendance is recorded.
        (parent.guardianships.get().full_name, "Parent or guardian", parent.email),
    ]
    assert meeting.invitations.get(user=parent).guardian.user == parent
    # The invited staff are told, not the one who scheduled; the parents get the notice.
    told = set(Notification.objects.values_list("user__email", flat=True))
    assert told == {team["teacher"].email, team["seca"].email}
    assert {m.to[0] for m in mailoutbox} >= told
    notice = MeetingNotice.objects.get()
    assert (notice.guardian.user, notice.kind) == (parent, MeetingNotice.Kind.SCHEDULED)
    assert AuditEvent.objects.filter(
        action="meeting.scheduled", actor=case_manager, object_id=str(meeting.pk), student=student
    ).exists()


def test_changed_details_after_the_preview_show_a_new_preview(client, case_manager, student, team):
    client.force_login(case_manager)
    url = reverse("meeting_schedule", args=[student.pk])
    data = schedule_data(monday(), invitees=[case_manager])
    fingerprint = client.post(url, {**data, "preview": ""}).context["preview"].fingerprint
    response = client.post(
        url, {**data, "starts_at_1": "11:00", "confirm": "", "previewed": fingerprint}, follow=True
    )
    assert "check the preview again" in response.content.decode()
    assert response.context["preview"].fingerprint != fingerprint
    assert not Meeting.objects.exists()


def test_meeting_time_is_read_in_the_schools_time_zone(client, case_manager, student):
    student.school.timezone = "America/New_York"
    student.school.save()
    day = monday()
    client.force_login(case_manager)
    preview_then_confirm(
        client, reverse("meeting_schedule", args=[student.pk]), schedule_data(day, hour=9)
    )
    meeting = Meeting.objects.get()
    assert meeting.starts_at == at(day, 9, tz=zoneinfo.ZoneInfo("America/New_York"))
    assert meeting.starts_at == at(day, 8)  # 8 AM in Chicago


def test_start_in_the_past_is_refused_next_to_the_start(client, case_manager, student):
    client.force_login(case_manager)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    response = client.post(
        reverse("meeting_schedule", args=[student.pk]), {**schedule_data(yesterday), "preview": ""}
    )
    assert response.status_code == 400
    assert "in the past" in response.context["form"].errors["starts_at"][0]
    assert response.context["preview"] is None
    assert not Meeting.objects.exists()


def test_the_service_refuses_a_past_start_too(case_manager, student):
    start = timezone.now() - datetime.timedelta(minutes=1)
    with pytest.raises(DomainError) as refused:
        scheduling.meeting_schedule(
            actor=case_manager,
            student=student,
            kind="annual",
            starts_at=start,
            ends_at=start + datetime.timedelta(hours=1),
            location="Room 104",
        )
    assert refused.value.field == "starts_at"
    assert not Meeting.objects.exists()


def test_a_meeting_needs_a_place_or_a_remote_option(client, case_manager, student):
    client.force_login(case_manager)
    response = client.post(
        reverse("meeting_schedule", args=[student.pk]),
        {**schedule_data(monday(), location=""), "preview": ""},
    )
    assert response.status_code == 400
    assert "video link" in response.context["form"].errors["location"][0]


def test_a_badly_written_guest_line_is_shown_next_to_the_field(client, case_manager, student):
    client.force_login(case_manager)
    response = client.post(
        reverse("meeting_schedule", args=[student.pk]),
        {**schedule_data(monday(), guests="Ana Ruiz, Interpreter\nJust a name"), "preview": ""},
    )
    assert response.status_code == 400
    assert "Line 2" in response.context["form"].errors["guests"][0]


def test_staff_outside_the_students_team_cannot_be_invited(case_manager, student, school):
    outsider = f.UserFactory(roles=[(Role.Kind.TEACHER, school)])
    start = at(monday(), 9)
    with pytest.raises(DomainError) as refused:
        scheduling.meeting_schedule(
            actor=case_manager,
            student=student,
            kind="annual",
            starts_at=start,
            ends_at=start + datetime.timedelta(hours=1),
            location="Room 104",
            invitees=[outsider],
        )
    assert refused.value.field == "invitees"
    assert not Meeting.objects.exists()


# --- conflicts at their edges -----------------------------------------------------------------


def conflicts_for(user, school, start, minutes=60):
    return scheduling_checks.meeting_conflicts(
        school=school,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=minutes),
        users=[user],
    )


def test_a_block_ending_when_the_meeting_starts_is_not_a_conflict(seca, student, school):
    f.ScheduleBlockFactory(
        seca=seca, student=student, weekday=0, starts=datetime.time(8), ends=datetime.time(9)
    )
    f.ScheduleBlockFactory(
        seca=seca, student=student, weekday=0, starts=datetime.time(10), ends=datetime.time(11)
    )
    assert conflicts_for(seca, school, at(monday(), 9)) == []


def test_a_block_overlapping_by_one_minute_is_a_conflict(seca, student, school):
    f.ScheduleBlockFactory(
        seca=seca, student=student, weekday=0, starts=datetime.time(8), ends=datetime.time(9, 1)
    )
    (conflict,) = conflicts_for(seca, school, at(monday(), 9))
    assert conflict.person == "Jerry Seca"
    assert conflict.detail == f"scheduled 8:00 AM–9:01 AM, {student.full_name}"


def test_a_block_on_another_weekday_or_school_year_is_not_a_conflict(seca, student, school):
    f.ScheduleBlockFactory(seca=seca, student=student, weekday=1)
    f.ScheduleBlockFactory(
        seca=seca, student=student, weekday=0, school_year=current_school_year() - 1
    )
    assert conflicts_for(seca, school, at(monday(), 9)) == []


def test_a_block_at_another_school_does_not_name_its_student(seca, other_school, school):
    f.ScheduleBlockFactory(
        seca=seca, student=f.StudentFactory(school=other_school, first_name="Secret"), weekday=0
    )
    (conflict,) = conflicts_for(seca, school, at(monday(), 9))
    assert "Secret" not in conflict.detail and "another school" in conflict.detail


def test_another_meeting_conflicts_only_when_the_times_cross(teacher, school):
    day = monday()
    earlier = f.MeetingFactory(
        student=f.StudentFactory(school=school), starts_at=at(day, 8), ends_at=at(day, 9)
    )
    f.InvitationFactory(meeting=earlier, user=teacher)
    assert conflicts_for(teacher, school, at(day, 9)) == []
    assert len(conflicts_for(teacher, school, at(day, 8, 59))) == 1
    Meeting.objects.filter(pk=earlier.pk).update(state=Meeting.State.CANCELLED)
    assert conflicts_for(teacher, school, at(day, 8, 59)) == []


# --- the notice period at its edges -------------------------------------------------------------


NOW = datetime.datetime(2026, 11, 2, 12, 0, tzinfo=CHICAGO)  # a Monday at noon


def schedule_at(case_manager, student, start, reason=""):
    return scheduling.meeting_schedule(
        actor=case_manager,
        student=student,
        kind="annual",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        location="Room 104",
        short_notice_reason=reason,
    )


@time_machine.travel(NOW, tick=False)
def test_exactly_the_notice_period_ahead_needs_no_reason(case_manager, student, settings):
    settings.NOTICE_PERIOD_DAYS = 10
    meeting = schedule_at(case_manager, student, NOW + datetime.timedelta(days=10))
    assert meeting.short_notice_reason == ""


@time_machine.travel(NOW, tick=False)
def test_one_minute_short_of_the_notice_period_needs_a_reason(case_manager, student, settings):
    settings.NOTICE_PERIOD_DAYS = 10
    start = NOW + datetime.timedelta(days=10) - datetime.timedelta(minutes=1)
    with pytest.raises(DomainError) as refused:
        schedule_at(case_manager, student, start)
    assert refused.value.field == "short_notice_reason"
    assert not Meeting.objects.exists()
    meeting = schedule_at(case_manager, student, start, reason="  Placement change next week ")
    assert meeting.short_notice_reason == "Placement change next week"


@time_machine.travel(NOW, tick=False)
def test_short_notice_is_warned_and_refused_without_a_reason_next_to_the_field(
    client, case_manager, student, settings
):
    settings.NOTICE_PERIOD_DAYS = 10
    client.force_login(case_manager)
    url = reverse("meeting_schedule", args=[student.pk])
    data = schedule_data(datetime.date(2026, 11, 9), hour=9)  # seven days ahead
    preview = client.post(url, {**data, "preview": ""})
    assert "less than 10 days' notice" in preview.content.decode()
    response = client.post(
        url, {**data, "confirm": "", "previewed": preview.context["preview"].fingerprint}
    )
    assert response.status_code == 400
    assert "less than 10 days' notice" in response.context["form"].errors["short_notice_reason"][0]
    assert not Meeting.objects.exists()
    preview_then_confirm(client, url, {**data, "short_notice_reason": "Parent's request"})
    assert Meeting.objects.get().short_notice_reason == "Parent's request"


# --- transition planning (34 CFR 300.322(b)(2)) ---------------------------------------------------


def test_a_student_of_16_is_invited_and_the_preview_names_transition_planning(
    client, case_manager, student
):
    day = monday()
    student.date_of_birth = day.replace(year=day.year - 16)  # 16 on the day of the meeting
    student.save()
    client.force_login(case_manager)
    url = reverse("meeting_schedule", args=[student.pk])
    preview = client.post(url, {**schedule_data(day), "preview": ""})
    assert "names transition planning" in preview.content.decode()
    preview_then_confirm(client, url, schedule_data(day))
    invitation = Invitation.objects.get(role="Student")
    assert (invitation.name, invitation.user) == (student.full_name, None)


def test_a_student_of_15_is_not_invited_to_an_annual_review(case_manager, student):
    day = monday()
    student.date_of_birth = day.replace(year=day.year - 16) + datetime.timedelta(days=1)
    student.save()
    schedule_at(case_manager, student, at(day, 9))
    assert not Invitation.objects.filter(role="Student").exists()


def test_a_transition_meeting_invites_the_student_whatever_the_age(case_manager, student):
    start = at(monday(), 9)
    scheduling.meeting_schedule(
        actor=case_manager,
        student=student,
        kind="transition",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        location="Room 104",
    )
    assert Invitation.objects.filter(role="Student", name=student.full_name).exists()
