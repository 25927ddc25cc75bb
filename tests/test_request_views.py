"""The request pages as their users see them: SECA, approvers, the case manager."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from meetings.models import AttendanceRequest, Meeting, ParentWish, SecaFeedback
from staff.models import AuditEvent, Designation, Role

from . import factories as f


def monday_at(hour, weeks_ahead=2):
    today = timezone.localdate()
    monday = today + datetime.timedelta(days=7 * weeks_ahead - today.weekday())
    return timezone.make_aware(datetime.datetime.combine(monday, datetime.time(hour)))


@pytest.fixture
def monday_meeting(student, case_manager):
    return f.MeetingFactory(
        student=student, scheduled_by=case_manager, starts_at=monday_at(9), ends_at=monday_at(10)
    )


def test_seca_requests_with_a_note_and_sees_it_pending(client, seca, meeting):
    client.force_login(seca)
    response = client.post(
        reverse("request_create", args=[meeting.pk]),
        {"note": "He trusts me during transitions"},
        follow=True,
    )
    assert "Your request was sent" in response.content.decode()
    req = AttendanceRequest.objects.get(meeting=meeting, seca=seca)
    assert req.status == "pending" and req.note == "He trusts me during transitions"


def test_second_request_is_refused_with_a_message_and_nothing_saved(client, seca, meeting):
    f.AttendanceRequestFactory(meeting=meeting, seca=seca)
    client.force_login(seca)
    response = client.post(reverse("request_create", args=[meeting.pk]), {"note": "again"})
    assert response.status_code == 400
    assert "already have an open request" in response.content.decode()
    assert AttendanceRequest.objects.filter(meeting=meeting).count() == 1


def test_seca_withdraws_a_pending_request(client, seca, meeting):
    req = f.AttendanceRequestFactory(meeting=meeting, seca=seca)
    client.force_login(seca)
    response = client.post(reverse("request_withdraw", args=[req.pk]), follow=True)
    assert "withdrawn" in response.content.decode()
    req.refresh_from_db()
    assert req.status == "withdrawn"
    assert AuditEvent.objects.filter(action="request.withdrawn", actor=seca).exists()


def test_queue_shows_what_is_needed_to_decide(
    client, principal, seca, school, student, monday_meeting, parent
):
    # The SECA is with this student's class 8:30-9:30 and a group 9:30-11 on Mondays.
    f.ScheduleBlockFactory(
        seca=seca,
        student=student,
        weekday=0,
        starts=datetime.time(8, 30),
        ends=datetime.time(9, 30),
    )
    f.ScheduleBlockFactory(
        seca=seca,
        student=None,
        school=school,
        group_name="Room 210 reading",
        weekday=0,
        starts=datetime.time(9, 30),
        ends=datetime.time(11),
    )
    f.ScheduleBlockFactory(seca=seca, student=student, weekday=1)  # Tuesday: no conflict
    # Any staff member free then may cover; SECAs are not offered (contract).
    f.UserFactory(full_name="Fran Free", roles=[(Role.Kind.TEACHER, school)])
    f.UserFactory(full_name="Sam Seca", roles=[(Role.Kind.SECA, school)])
    busy = f.UserFactory(full_name="Bea Busy", roles=[(Role.Kind.SECA, school)])
    f.ScheduleBlockFactory(
        seca=busy, student=student, weekday=0, starts=datetime.time(9, 45), ends=datetime.time(12)
    )
    in_meeting = f.UserFactory(full_name="Mo Meeting", roles=[(Role.Kind.SECA, school)])
    other = f.MeetingFactory(
        student=f.StudentFactory(school=school),
        starts_at=monday_at(9, 2) + datetime.timedelta(minutes=30),
        ends_at=monday_at(11),
    )
    f.InvitationFactory(meeting=other, user=in_meeting)
    guardian = parent.guardianships.get()
    ParentWish.objects.create(
        meeting=monday_meeting, guardian=guardian, wish="attend", note="She knows him best"
    )
    req = f.AttendanceRequestFactory(meeting=monday_meeting, seca=seca, note="I can help")
    f.AttendanceRequestFactory(meeting=other, seca=seca, status="withdrawn")

    client.force_login(principal)
    page = client.get(reverse("approval_queue")).content.decode()
    assert "Jerry Seca" in page and "I can help" in page and "Room 104" in page
    assert "would be left without the SECA" in page and "Room 210 reading" in page
    assert "Tuesday" not in page
    free_list = page.split('class="mb-0 free-staff">')[1].split("</ul>")[0]
    assert "Fran Free" in free_list and "Sam Seca" not in free_list
    assert "Bea Busy" not in free_list and "Mo Meeting" not in free_list
    assert "I ask that the SECA attend" in page and "She knows him best" in page
    assert "1 request by this SECA this week" in page
    assert reverse("request_decide", args=[req.pk]) in page


def test_each_request_shows_the_blocks_crossing_its_own_meeting_only(
    client, principal, seca, school, student
):
    monday = f.MeetingFactory(student=student, starts_at=monday_at(9), ends_at=monday_at(10))
    wednesday = f.MeetingFactory(
        student=student,
        starts_at=monday_at(13) + datetime.timedelta(days=2),
        ends_at=monday_at(14) + datetime.timedelta(days=2),
    )
    requests = [f.AttendanceRequestFactory(meeting=m, seca=seca) for m in (monday, wednesday)]

    def block(weekday, starts, ends, group):
        f.ScheduleBlockFactory(
            seca=seca,
            student=None,
            school=school,
            group_name=group,
            weekday=weekday,
            starts=datetime.time(*starts),
            ends=datetime.time(*ends),
        )

    block(0, (8,), (9,), "Ends as Monday starts")
    block(0, (9, 59), (10, 30), "Crosses Monday end")
    block(2, (9,), (10,), "Wednesday at Monday time")
    block(2, (13, 30), (15,), "Crosses Wednesday")
    # Another teacher at Wednesday's time is free on Monday only.
    f.UserFactory(full_name="Fran Free", roles=[(Role.Kind.TEACHER, school)])
    wed_busy = f.UserFactory(full_name="Wes Wednesday", roles=[(Role.Kind.TEACHER, school)])
    f.ScheduleBlockFactory(
        seca=wed_busy, student=student, weekday=2, starts=datetime.time(12), ends=datetime.time(16)
    )

    client.force_login(principal)
    page = client.get(reverse("approval_queue")).content.decode()
    cards = {
        req: page.split(f'id="req-{req.pk}-title"')[1].split("</article>")[0] for req in requests
    }
    on_monday, on_wednesday = (cards[req] for req in requests)
    assert "Crosses Monday end" in on_monday and "Ends as Monday starts" not in on_monday
    assert "Wednesday" not in on_monday.split('class="mb-0 conflicts">')[1].split("</ul>")[0]
    assert "Crosses Wednesday" in on_wednesday
    assert "Wednesday at Monday time" not in on_wednesday and "Monday" not in on_wednesday
    assert "Wes Wednesday" in on_monday and "Fran Free" in on_monday
    assert "Wes Wednesday" not in on_wednesday and "Fran Free" in on_wednesday


def test_queue_is_soonest_meeting_first(client, principal, seca, student, case_manager):
    later = f.MeetingFactory(student=student, starts_at=monday_at(9, 4), ends_at=monday_at(10, 4))
    sooner = f.MeetingFactory(student=student, starts_at=monday_at(9, 1), ends_at=monday_at(10, 1))
    r_later = f.AttendanceRequestFactory(meeting=later, seca=seca)
    r_sooner = f.AttendanceRequestFactory(meeting=sooner, seca=seca)
    client.force_login(principal)
    page = client.get(reverse("approval_queue")).content.decode()
    assert page.index(f"req-{r_sooner.pk}-title") < page.index(f"req-{r_later.pk}-title")


def test_principal_denies_with_a_reason_and_the_seca_is_asked_for_feedback(
    client, principal, seca, meeting, django_capture_on_commit_callbacks, mailoutbox
):
    req = f.AttendanceRequestFactory(meeting=meeting, seca=seca)
    client.force_login(principal)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("request_decide", args=[req.pk]),
            {"deny-version": req.version, "deny-deny_reason": "other_student", "deny": ""},
        )
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.status == "denied" and req.decided_by == principal
    assert mailoutbox[-1].to == [seca.email]

    client.force_login(seca)
    page = client.get(reverse("feedback_edit", args=[meeting.pk])).content.decode()
    assert "not honored" in page and "Scheduled with another student" in page
    assert "Pat Principal" in page


def test_deny_other_without_note_shows_the_error_next_to_the_note(client, principal, seca, meeting):
    req = f.AttendanceRequestFactory(meeting=meeting, seca=seca)
    client.force_login(principal)
    response = client.post(
        reverse("request_decide", args=[req.pk]),
        {"deny-version": req.version, "deny-deny_reason": "other", "deny": ""},
    )
    assert response.status_code == 400
    form = response.context["deny_form"]
    assert "Explain the reason" in form.errors["decision_note"][0]
    # The summary above the form (it takes the focus) links to the field with the error.
    summary = response.content.decode().split("data-error-summary", 1)[1].split("</div>", 1)[0]
    assert 'href="#id_deny-decision_note"' in summary and "Note to the SECA: Explain" in summary
    req.refresh_from_db()
    assert req.status == "pending"


def test_designee_approves_with_coverage(client, designee, seca, meeting, school):
    cover = f.UserFactory(full_name="Cora Cover", roles=[(Role.Kind.TEACHER, school)])
    req = f.AttendanceRequestFactory(meeting=meeting, seca=seca)
    client.force_login(designee)
    client.post(
        reverse("request_decide", args=[req.pk]),
        {"approve-version": req.version, "approve-covered_by": cover.pk, "approve": ""},
    )
    req.refresh_from_db()
    assert (req.status, req.decided_by, req.covered_by) == ("approved", designee, cover)


def test_the_decision_page_offers_free_staff_to_cover_and_costs_12_queries(
    client, designee, seca, meeting, school, django_assert_num_queries
):
    free = f.UserFactory(full_name="Cora Cover", roles=[(Role.Kind.TEACHER, school)])
    other_seca = f.UserFactory(full_name="Sam Seca", roles=[(Role.Kind.SECA, school)])
    req = f.AttendanceRequestFactory(meeting=meeting, seca=seca)
    # Two parents' wishes, each shown with its parent's name (read with the wishes).
    for name in ("Ana Parent", "Beto Parent"):
        guardian = f.GuardianFactory(student=meeting.student, full_name=name)
        ParentWish.objects.create(meeting=meeting, guardian=guardian, wish="attend")
    client.force_login(designee)
    # session, user, standing; the request, the parent's wishes, the access log's INSERT;
    # staff who may cover, schedule blocks, invitations overlapping, who already covers
    # then, requests that week; the unread count. The choices are the staff already read.
    with django_assert_num_queries(12):
        page = client.get(reverse("request_decide", args=[req.pk])).content.decode()
    assert "Ana Parent:" in page and "Beto Parent:" in page
    assert f'<option value="{free.pk}">Cora Cover</option>' in page
    assert f'value="{other_seca.pk}"' not in page  # SECAs do not cover for others
    # A name not offered is refused next to the field.
    response = client.post(
        reverse("request_decide", args=[req.pk]),
        {"approve-version": req.version, "approve-covered_by": other_seca.pk, "approve": ""},
    )
    assert "Select a valid choice" in response.content.decode()
    req.refresh_from_db()
    assert req.status == "pending"


def test_second_approver_is_told_who_decided_first(client, principal, designee, seca, meeting):
    req = f.AttendanceRequestFactory(meeting=meeting, seca=seca)
    seen = req.version
    client.force_login(principal)
    client.post(
        reverse("request_decide", args=[req.pk]),
        {"approve-version": seen, "approve-coverage_note": "Music class", "approve": ""},
    )
    client.force_login(designee)
    response = client.post(
        reverse("request_decide", args=[req.pk]),
        {"deny-version": seen, "deny-deny_reason": "group", "deny": ""},
    )
    assert "Pat Principal already approved this request" in response.content.decode()
    req.refresh_from_db()
    assert req.status == "approved"


def test_feedback_draft_submit_and_read_only_after_start(client, seca, meeting, case_manager):
    client.force_login(seca)
    url = reverse("feedback_edit", args=[meeting.pk])
    client.post(url, {"strengths": "Curious", "save": ""})
    feedback = SecaFeedback.objects.get(meeting=meeting, seca=seca)
    assert feedback.submitted_at is None
    client.post(url, {"strengths": "Curious", "what_works": "First-then board", "submit": ""})
    feedback.refresh_from_db()
    assert feedback.submitted_at is not None

    client.force_login(case_manager)
    detail = client.get(reverse("meeting_detail", args=[meeting.pk])).content.decode()
    packet = client.get(reverse("meeting_packet", args=[meeting.pk])).content.decode()
    assert "First-then board" in detail and "First-then board" in packet

    Meeting.objects.filter(pk=meeting.pk).update(
        starts_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    client.force_login(seca)
    page = client.get(url).content.decode()
    assert "read-only" in page and "Submit to the team" not in page
    response = client.post(url, {"strengths": "Changed", "submit": ""})
    assert response.status_code == 400
    feedback.refresh_from_db()
    assert feedback.strengths == "Curious"


def test_drafts_are_not_shown_to_the_team(client, seca, meeting, case_manager):
    f.SecaFeedbackFactory(meeting=meeting, seca=seca, strengths="draft words")
    client.force_login(case_manager)
    page = client.get(reverse("meeting_detail", args=[meeting.pk])).content.decode()
    assert "draft words" not in page


def test_principal_names_and_removes_a_designee(client, principal, school, case_manager):
    client.force_login(principal)
    url = reverse("designees", args=[school.pk])
    client.post(url, {"designee": case_manager.pk})
    designation = Designation.objects.get(school=school, designee=case_manager)
    assert designation.named_by == principal
    client.post(reverse("designee_remove", args=[designation.pk]))
    assert not Designation.objects.filter(pk=designation.pk).exists()
    assert list(
        AuditEvent.objects.filter(object_type="designation")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["designee.named", "designee.removed"]


def test_only_aps_and_case_managers_can_be_designees(client, principal, school, seca):
    client.force_login(principal)
    response = client.post(reverse("designees", args=[school.pk]), {"designee": seca.pk})
    assert response.status_code == 400
    assert "Select a valid choice" in response.context["form"].errors["designee"][0]
    assert not Designation.objects.exists()


def test_notifications_show_unread_count_and_mark_read(client, seca, meeting, principal):
    from meetings.services import attendance

    req = attendance.attendance_request_submit(seca=seca, meeting=meeting)
    attendance.attendance_request_decide(
        approver=principal,
        attendance_request=req,
        approve=True,
        seen_version=req.version,
        coverage_note="Gym",
    )
    client.force_login(seca)
    page = client.get(reverse("notification_list")).content.decode()
    assert "Approved: your request to attend Jordan F.&#x27;s IEP meeting" in page
    assert '1<span class="visually-hidden"> unread' in page
    client.post(reverse("notifications_mark_read"))
    page = client.get(reverse("notification_list")).content.decode()
    assert 'visually-hidden"> unread' not in page


@pytest.mark.parametrize("count", [5, 50])
def test_queue_query_count_is_constant(
    count, client, principal, school, case_manager, django_assert_num_queries
):
    for i in range(count):
        seca = f.UserFactory(roles=[(Role.Kind.SECA, school)])
        student = f.StudentFactory(school=school)
        f.AssignmentFactory(student=student, staff=seca)
        f.ScheduleBlockFactory(seca=seca, student=student, weekday=i % 5)
        meeting = f.MeetingFactory(
            student=student,
            scheduled_by=case_manager,
            starts_at=monday_at(9, 1 + i % 3) + datetime.timedelta(days=i % 5),
            ends_at=monday_at(10, 1 + i % 3) + datetime.timedelta(days=i % 5),
        )
        f.InvitationFactory(meeting=meeting, user=seca)
        f.AttendanceRequestFactory(meeting=meeting, seca=seca)
        f.StayRequestFactory(student=student, seca=seca)
    client.force_login(principal)
    # session, user, "is an approver?", pending requests, their parent wishes, staff of
    # the schools who may cover, schedule blocks, invitations overlapping, who is already
    # covering then, requests that week, requests to stay (pending and approved), unread
    # count
    with django_assert_num_queries(12):
        response = client.get(reverse("approval_queue"))
    assert response.content.decode().count("queue-item") == count
    assert response.content.decode().count("stay-item") == count


def test_principal_home_links_to_designees_and_designee_home_does_not(
    client, principal, designee, school
):
    link = reverse("designees", args=[school.pk])
    client.force_login(principal)
    assert link in client.get(reverse("home")).content.decode()
    client.force_login(designee)
    assert link not in client.get(reverse("home")).content.decode()
