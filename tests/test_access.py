"""The access layer (staff/access.py, meetings/access.py): rights come from a person's
current relationship to the student, the database filter and the Python check agree, a
transfer moves every right to the new school, and every record view is logged. The page ×
persona matrix is tests/test_access_matrix.py."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from meetings import access as meeting_access
from meetings.access import Action
from meetings.models import ParentWish, Plan
from staff import access
from staff.access import Right, forget_standing, standing_of
from staff.audit import audit_students_viewed
from staff.middleware import client_ip
from staff.models import Assignment, AuditEvent, Guardian, Role, Student, User
from staff.services import student_transfer

from . import factories as f


@pytest.fixture
def teacher(school):
    return f.UserFactory(full_name="Tina Teacher", roles=[(Role.Kind.TEACHER, school)])


PERSONAS = [
    "district_admin",
    "principal",
    "designee",
    "case_manager",
    "teacher",
    "seca",
    "parent",
    "other_school_seca",
    "other_parent",
]


def test_a_standing_is_one_query_and_is_read_once_per_request(
    django_assert_num_queries, seca, parent, student
):
    with django_assert_num_queries(1):
        standing = standing_of(seca)
        assert standing_of(seca) is standing
    assert standing.seca_of == {student.pk} and standing.is_seca
    assert standing_of(parent).guardian_of == {student.pk}


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_database_filter_and_the_python_check_agree(request, persona, student, other_school):
    # Students of every kind of relationship, and of none.
    f.StudentFactory(school=student.school)
    f.StudentFactory(school=other_school)
    user = request.getfixturevalue(persona)
    everyone = list(Student.objects.all())
    standing = standing_of(user)
    for right in Right:
        by_filter = set(access.students(user, right))
        by_check = {s for s in everyone if right in standing.rights_on(s)}
        assert by_filter == by_check, (persona, right)
        # The same rules read from the student's side: who hears of the student.
        by_holders = {
            s
            for s in everyone
            if User.objects.filter(access.holders(right, s), pk=user.pk).exists()
        }
        assert by_holders == by_check, ("holders", persona, right)


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_meetings_lists_decided_on_its_student_match_the_database_filter(
    request, persona, meeting, seca, parent, case_manager
):
    # The meeting page reads its lists with the rights decided on the meeting's student
    # (Standing.filter_on): the same rows as the filter through the student's tables.
    other_seca = f.UserFactory(roles=[(Role.Kind.SECA, meeting.school)])
    f.AttendanceRequestFactory(meeting=meeting, seca=seca)
    f.AttendanceRequestFactory(meeting=meeting, seca=other_seca, status="withdrawn")
    f.SecaFeedbackFactory(meeting=meeting, seca=seca)  # a draft
    f.SecaFeedbackFactory(meeting=meeting, seca=other_seca, submitted_at=timezone.now())
    guardian = Guardian.objects.get(user=parent)
    ParentWish.objects.create(meeting=meeting, guardian=guardian, wish="attend")
    for version, finalized in ((1, timezone.now()), (2, None)):
        Plan.objects.create(meeting=meeting, version=version, file="p.pdf", sha256="0" * 64,
                            uploaded_by=case_manager, finalized_at=finalized)  # fmt: skip
    user = request.getfixturevalue(persona)
    seen = 0
    for rows in (
        meeting_access.requests,
        meeting_access.feedback,
        meeting_access.wishes,
        meeting_access.plans,
    ):
        listed = set(rows(user, meeting))
        assert listed == set(rows(user).filter(meeting=meeting)), (persona, rows)
        seen += len(listed)
    # Everyone with the student sees some of them; the other school's people nothing.
    assert (seen > 0) == (persona not in ("other_school_seca", "other_parent"))


def test_an_invitation_grants_nothing(client, meeting, other_school):
    guest = f.UserFactory(roles=[(Role.Kind.TEACHER, other_school)])
    f.InvitationFactory(meeting=meeting, user=guest)
    client.force_login(guest)
    assert client.get(reverse("meeting_detail", args=[meeting.pk])).status_code == 404
    assert client.get(reverse("meeting_packet", args=[meeting.pk])).status_code == 404


def test_an_id_larger_than_any_row_can_have_is_a_404(client, principal):
    client.force_login(principal)
    for name in ("meeting_detail", "request_decide", "access_log"):
        for pk in (2**63 - 1, 2**63, 10**30):
            assert client.get(reverse(name, args=[pk])).status_code == 404, (name, pk)


def test_an_ended_assignment_ends_the_secas_access(client, seca, meeting):
    client.force_login(seca)
    assert client.get(reverse("meeting_detail", args=[meeting.pk])).status_code == 200
    Assignment.objects.filter(staff=seca).update(ended_on=timezone.localdate())
    for name in ("meeting_detail", "meeting_packet", "feedback_edit", "request_create"):
        assert client.get(reverse(name, args=[meeting.pk])).status_code == 404, name


def test_an_assignment_ending_tomorrow_still_counts_today(seca, student):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    Assignment.objects.filter(staff=seca).update(ended_on=tomorrow)
    assert Right.SUPPORT in standing_of(seca).rights_on(student)
    # The standing's SQL is compiled once (iepcoord.db.compiled): each read puts its own
    # day in it.
    with time_machine.travel(tomorrow + datetime.timedelta(days=1), tick=False):
        forget_standing(seca)
        assert Right.SUPPORT not in standing_of(seca).rights_on(student)


def test_a_designee_decides_only_while_they_hold_an_eligible_role(designee, student, school):
    assert Right.DECIDE in standing_of(designee).rights_on(student)
    Role.objects.filter(user=designee, school=school).delete()
    forget_standing(designee)
    assert Right.DECIDE not in standing_of(designee).rights_on(student)


def test_every_guardian_gets_the_parent_view_invited_or_not(client, meeting, parent, student):
    co_guardian = f.GuardianFactory(student=student, with_account=True).user
    f.InvitationFactory(meeting=meeting, user=parent)
    req = f.AttendanceRequestFactory(meeting=meeting, seca=f.UserFactory(), note="private note")
    for user in (parent, co_guardian):
        client.force_login(user)
        page = client.get(reverse("meeting_detail", args=[meeting.pk])).content.decode()
        assert "private note" not in page and req.seca.full_name not in page
        assert "Printable meeting packet" not in page
        assert client.get(reverse("meeting_packet", args=[meeting.pk])).status_code == 403


# --- A student moves to another school: the records follow them -------------------------


@pytest.fixture
def moved(meeting, student, seca, school, other_school):
    """The student moves from `school` to `other_school`, after `meeting` was scheduled."""
    new_cm = f.UserFactory(roles=[(Role.Kind.CASE_MANAGER, other_school)])
    new_principal = f.UserFactory(roles=[(Role.Kind.PRINCIPAL, other_school)])
    student_transfer(actor=None, student=student, school=other_school)
    student.refresh_from_db()
    student.case_manager = new_cm
    student.save(update_fields=["case_manager"])
    return {"new_cm": new_cm, "new_principal": new_principal}


def test_a_transfer_ends_the_assignments_and_the_old_case_manager(
    moved, student, seca, case_manager
):
    assert Assignment.objects.get(staff=seca).ended_on == timezone.localdate()
    event = AuditEvent.objects.get(action="student.transferred")
    assert event.before["case_manager"] == case_manager.pk and event.after["case_manager"] is None


@pytest.mark.parametrize(
    "name",
    ["meeting_detail", "meeting_packet", "meeting_reschedule", "meeting_cancel", "notice"],
)
def test_the_new_school_governs_the_moved_students_meetings_and_the_old_keeps_none(
    client, moved, meeting, principal, case_manager, seca, name
):
    url = reverse(name, args=[meeting.pk])
    for user in (moved["new_cm"], moved["new_principal"]):
        client.force_login(user)
        assert client.get(url).status_code == 200, user
    for user in (principal, case_manager, seca):
        client.force_login(user)
        assert client.get(url).status_code == 404, user


def test_the_new_schools_approvers_decide_the_moved_students_requests(
    client, moved, meeting, principal, other_school
):
    asking = f.UserFactory(roles=[(Role.Kind.SECA, other_school)])
    f.AssignmentFactory(student=meeting.student, staff=asking)
    req = f.AttendanceRequestFactory(meeting=meeting, seca=asking)
    client.force_login(moved["new_principal"])
    assert client.get(reverse("request_decide", args=[req.pk])).status_code == 200
    client.force_login(principal)
    assert client.get(reverse("request_decide", args=[req.pk])).status_code == 404


# --- The actions a page offers ----------------------------------------------------------


def test_allowed_actions_follow_rights_and_the_meeting_state(meeting, case_manager, teacher):
    meeting.student.case_manager = case_manager
    assert {Action.RESCHEDULE, Action.CANCEL, Action.LOG_CONTACT} <= (
        meeting_access.allowed_actions(meeting, case_manager)
    )
    assert Action.HOLD not in meeting_access.allowed_actions(meeting, case_manager)
    assert not {Action.RESCHEDULE, Action.CANCEL} & meeting_access.allowed_actions(meeting, teacher)
    meeting.state = meeting.State.CANCELLED
    assert not {Action.RESCHEDULE, Action.CANCEL, Action.LOG_CONTACT} & (
        meeting_access.allowed_actions(meeting, case_manager)
    )


def test_the_meeting_page_offers_only_the_allowed_buttons(client, meeting, case_manager, teacher):
    client.force_login(teacher)
    page = client.get(reverse("meeting_detail", args=[meeting.pk])).content.decode()
    assert reverse("meeting_reschedule", args=[meeting.pk]) not in page
    client.force_login(case_manager)
    page = client.get(reverse("meeting_detail", args=[meeting.pk])).content.decode()
    assert reverse("meeting_reschedule", args=[meeting.pk]) in page
    assert reverse("meeting_held", args=[meeting.pk]) not in page  # not started yet


# --- Every record view is logged, with the client's address --------------------------------


def test_viewing_records_is_logged_with_the_address(client, case_manager, meeting, student):
    f.StudentFactory(school=student.school, case_manager=case_manager)
    client.force_login(case_manager)
    client.get(reverse("meeting_detail", args=[meeting.pk]), REMOTE_ADDR="203.0.113.9")
    client.get(reverse("caseload"))
    client.get(reverse("guardian_list", args=[student.pk]))
    client.get(reverse("meeting_ics", args=[meeting.pk]))
    actions = list(
        AuditEvent.objects.filter(actor=case_manager, student=student)
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        "meeting.viewed",
        "caseload.viewed",
        "guardians.viewed",
        "meeting.calendar_downloaded",
    ]
    assert AuditEvent.objects.filter(action="caseload.viewed").count() == 2  # both students
    assert AuditEvent.objects.filter(ip="203.0.113.9", action="meeting.viewed").exists()


def test_a_list_view_logs_one_event_per_student_shown_in_order(client, case_manager, school):
    other_school = f.SchoolFactory()
    students = [
        f.StudentFactory(school=school, case_manager=case_manager),
        f.StudentFactory(school=other_school),
        f.StudentFactory(school=school, case_manager=case_manager),
    ]
    before = timezone.now()
    token = client_ip.set("198.51.100.7")  # as during a request from that address
    try:
        audit_students_viewed(actor=case_manager, action="caseload.viewed", students=students)
    finally:
        client_ip.reset(token)
    events = list(AuditEvent.objects.filter(action="caseload.viewed").order_by("pk"))
    assert [(e.student, e.school, e.object_type, e.object_id) for e in events] == [
        (s, s.school, "student", str(s.pk)) for s in students
    ]
    for event in events:
        assert event.actor == case_manager
        assert event.ip == "198.51.100.7"
        assert (event.before, event.after, event.denied) == ({}, {}, False)
        assert before <= event.at <= timezone.now()
    # The student's access log shows the view.
    client.force_login(case_manager)
    log = client.get(reverse("access_log", args=[students[0].pk])).content.decode()
    assert "Opened the caseload" in log


def test_an_attempt_on_another_schools_record_is_logged_as_denied(
    client, meeting, other_school_seca
):
    client.force_login(other_school_seca)
    assert client.get(reverse("meeting_detail", args=[meeting.pk])).status_code == 404
    event = AuditEvent.objects.get(denied=True)
    assert (event.actor, event.student, event.action) == (
        other_school_seca,
        meeting.student,
        "denied.meeting.view",
    )
    # A record that does not exist writes nothing.
    assert client.get(reverse("meeting_detail", args=[meeting.pk + 999])).status_code == 404
    assert AuditEvent.objects.filter(denied=True).count() == 1


def test_signed_in_pages_are_never_cached(client, parent):
    client.force_login(parent)
    for name in ("home", "notification_list", "my_plans"):
        assert client.get(reverse(name))["Cache-Control"] == "private, no-store", name


# --- The record-access log and the access list ----------------------------------------------


def test_the_access_log_lists_who_looked_and_why(client, case_manager, meeting, parent, student):
    client.force_login(case_manager)
    client.get(reverse("meeting_detail", args=[meeting.pk]), REMOTE_ADDR="198.51.100.7")
    client.force_login(parent)
    page = client.get(reverse("access_log", args=[student.pk])).content.decode()
    assert "Casey Manager" in page and "Opened the meeting page" in page
    assert "Case manager" in page
    # The family sees names, roles, dates and purposes; not addresses.
    assert "198.51.100.7" not in page
    client.force_login(case_manager)
    page = client.get(reverse("access_log", args=[student.pk])).content.decode()
    assert "198.51.100.7" in page
    assert "Read this access log" in page  # the parent's reading, logged in turn


def test_an_access_log_entry_reads_in_the_schools_time_with_refusals_marked(
    client, principal, student
):
    intruder = f.UserFactory(full_name="<b>Nosy</b> Person")
    AuditEvent.objects.create(
        at=datetime.datetime(2026, 10, 6, 14, 5, tzinfo=datetime.UTC), actor=intruder,
        action="meeting.viewed", object_type="student", object_id=str(student.pk),
        student=student, denied=True, ip="203.0.113.9",
    )  # fmt: skip
    client.force_login(principal)
    page = client.get(reverse("access_log", args=[student.pk])).content.decode()
    # 14:05 UTC is 9:05 in the school's Chicago, as Django's DATETIME_FORMAT writes it.
    row = (
        '<tr class="table-warning">\n'
        '      <td><time datetime="2026-10-06T09:05:00-05:00">Oct. 6, 2026, 9:05 a.m.</time></td>\n'
        "      <td>&lt;b&gt;Nosy&lt;/b&gt; Person</td>\n"
        "      <td>No current role with this student</td>\n"
        "      <td>Refused: no access to this record</td>\n"
        "      <td>203.0.113.9</td>\n"
        "    </tr>"
    )
    assert row in page
    User.objects.filter(pk=principal.pk).update(preferred_language="es")
    page = client.get(reverse("access_log", args=[student.pk])).content.decode()
    assert "6 de octubre de 2026 a las 09:05" in page
    assert "Rechazado" in page


def test_the_access_log_costs_the_same_queries_however_long(
    client, django_assert_num_queries, principal, student, meeting
):
    for _ in range(120):
        AuditEvent.objects.create(
            actor=principal, action="meeting.viewed", object_type="meeting",
            object_id=str(meeting.pk), student=student,
        )  # fmt: skip
    client.force_login(principal)
    # 1 session, 2 user, 3 standing, 4 the student, 5 the count, 6 the page of events with
    # their actors, 7 the actors' roles, 8 which actors are the student's guardians,
    # 9 the INSERT logging this view, 10 the unread notifications.
    with django_assert_num_queries(10):
        response = client.get(reverse("access_log", args=[student.pk]), {"page": 2})
    assert response.status_code == 200
    assert "Page 2 of 3" in response.content.decode()


def test_the_access_list_names_every_employee_who_may_see_the_records(
    client, principal, designee, case_manager, seca, district_admin, school, other_school
):
    f.UserFactory(full_name="Gone Teacher", roles=[(Role.Kind.TEACHER, school)], is_active=False)
    f.UserFactory(full_name="Elsewhere Teacher", roles=[(Role.Kind.TEACHER, other_school)])
    client.force_login(principal)
    page = client.get(reverse("access_list", args=[school.pk])).content.decode()
    for name in ("Pat Principal", "Dana Designee", "Casey Manager", "Jerry Seca", "Ada Admin"):
        assert name in page
    assert "principal&#x27;s designee" in page or "principal's designee" in page
    assert "Only the students assigned to them this school year" in page
    assert "Gone Teacher" not in page and "Elsewhere Teacher" not in page


def test_the_principal_reaches_the_access_list_and_designees_from_home(client, principal, school):
    client.force_login(principal)
    page = client.get(reverse("home")).content.decode()
    assert reverse("access_list", args=[school.pk]) in page
    assert reverse("designees", args=[school.pk]) in page


def test_a_guardian_without_the_child_no_longer_sees_the_log(client, parent, student):
    Guardian.objects.filter(user=parent).update(user=None)
    client.force_login(parent)
    assert client.get(reverse("access_log", args=[student.pk])).status_code == 404


def test_a_secas_assignment_ends_with_the_school_year(seca, student):
    # Assignments are per school year (July to June): on July 1 last year's grants nothing.
    # The fixture's assignment is for 2026-27 (the tests run in October 2026).
    june_30 = datetime.datetime(2027, 6, 30, 15, 0, tzinfo=datetime.UTC)
    with time_machine.travel(june_30, tick=False):
        forget_standing(seca)
        assert Right.SUPPORT in standing_of(seca).rights_on(student)
    with time_machine.travel(june_30 + datetime.timedelta(days=1), tick=False):
        forget_standing(seca)
        assert Right.SUPPORT not in standing_of(seca).rights_on(student)
