"""The home page: each role sees its own work, and only its own, in a fixed number of
queries however much data there is."""

import datetime
import re
import time
from html.parser import HTMLParser

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from meetings import selectors
from meetings.models import AttendanceRequest, Meeting
from staff.models import Assignment, Role, School, Student, current_school_year
from staff.selectors import SCHOOLS_PER_PAGE as DISTRICT_SCHOOLS_PAGE

from . import factories as f

HOME = reverse("home")


def _home(client, user):
    client.force_login(user)
    response = client.get(HOME)
    assert response.status_code == 200
    return response.content.decode()


def _row(html: str, text: str) -> str:
    """The table row that mentions `text`."""
    for row in re.findall(r"<tr>.*?</tr>", html, flags=re.S):
        if text in row:
            return row
    raise AssertionError(f"no row mentions {text!r}")


def _denied(meeting, seca, decider):
    return f.AttendanceRequestFactory(
        meeting=meeting,
        seca=seca,
        status=AttendanceRequest.Status.DENIED,
        deny_reason=AttendanceRequest.DenyReason.GROUP,
        decided_by=decider,
        decided_at=timezone.now(),
    )


# --- anonymous, no role, page structure ---------------------------------------------------


def test_anonymous_visitor_is_sent_to_sign_in(client, db):
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={HOME}"


def test_person_without_a_role_is_asked_to_contact_their_school_office(client, db):
    html = _home(client, f.UserFactory(full_name="Nora Nobody"))
    assert "Welcome, Nora" in html
    assert "Please contact your school office" in html
    assert "My students" not in html


class _Landmarks(HTMLParser):
    def __init__(self):
        super().__init__()
        self.first_link = None
        self.main_ids = []
        self.inputs = []  # (id, type)
        self.label_targets = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and self.first_link is None:
            self.first_link = attrs
        elif tag == "main":
            self.main_ids.append(attrs.get("id"))
        elif tag in ("input", "select", "textarea"):
            self.inputs.append((attrs.get("id"), attrs.get("type", tag)))
        elif tag == "label" and attrs.get("for"):
            self.label_targets.add(attrs["for"])


def test_home_page_starts_with_a_skip_link_to_its_main_landmark(client, seca):
    page = _Landmarks()
    page.feed(_home(client, seca))
    assert page.first_link["href"] == "#main"
    assert "visually-hidden-focusable" in page.first_link["class"]
    assert page.main_ids == ["main"]


def test_sign_in_form_fields_have_labels(client, db):
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    page = _Landmarks()
    page.feed(response.content.decode())
    visible = [(id_, kind) for id_, kind in page.inputs if kind not in ("hidden", "submit")]
    assert {"id_login", "id_password"} <= {id_ for id_, _ in visible}
    for id_, _ in visible:
        assert id_ in page.label_targets, f"input #{id_} has no <label for>"
    assert page.first_link["href"] == "#main"
    assert page.main_ids == ["main"]


def test_password_reset_page_uses_the_site_layout_with_a_labelled_email_field(client, db):
    response = client.get(reverse("account_reset_password"))
    page = _Landmarks()
    page.feed(response.content.decode())
    assert page.main_ids == ["main"]
    assert "id_email" in page.label_targets


# --- SECA --------------------------------------------------------------------------------


def test_seca_sees_their_student_and_the_students_upcoming_meeting(client, seca, meeting):
    html = _home(client, seca)
    assert "My students" in html
    assert meeting.student.full_name in html
    assert "Annual review" in html
    assert reverse("meeting_detail", args=[meeting.pk]) in html
    # The request actions partial: nothing requested yet.
    assert reverse("request_create", args=[meeting.pk]) in html


def test_seca_does_not_see_another_secas_student(client, seca, school, other_school_seca):
    colleague = f.UserFactory(roles=[(Role.Kind.SECA, school)])
    theirs = f.StudentFactory(school=school, first_name="Unassigned")
    f.AssignmentFactory(student=theirs, staff=colleague)
    f.MeetingFactory(student=theirs)
    other_school_student = Student.objects.get(assignments__staff=other_school_seca)

    html = _home(client, seca)

    assert theirs.full_name not in html
    assert other_school_student.full_name not in html


def test_seca_does_not_see_last_years_student(client, seca, school):
    last_year = f.StudentFactory(school=school, first_name="Graduated")
    f.AssignmentFactory(student=last_year, staff=seca, school_year=current_school_year() - 1)
    assert last_year.full_name not in _home(client, seca)


def test_seca_sees_only_scheduled_meetings_in_the_next_90_days(client, seca, student):
    now = timezone.now()
    f.MeetingFactory(
        student=student, kind=Meeting.Kind.REEVALUATION, starts_at=now + datetime.timedelta(days=91)
    )
    f.MeetingFactory(student=student, kind=Meeting.Kind.AMENDMENT, state=Meeting.State.CANCELLED)
    f.MeetingFactory(
        student=student, kind=Meeting.Kind.INITIAL, starts_at=now - datetime.timedelta(days=1)
    )
    f.MeetingFactory(
        student=student, kind=Meeting.Kind.TRANSITION, starts_at=now + datetime.timedelta(days=89)
    )

    html = _home(client, seca)

    assert "Transition planning" in html
    assert "Re-evaluation" not in html
    assert "Amendment" not in html
    assert "Initial IEP" not in html


def test_seca_sees_the_state_of_their_latest_request(client, seca, meeting, principal):
    f.AttendanceRequestFactory(
        meeting=meeting, seca=seca, status=AttendanceRequest.Status.WITHDRAWN
    )
    _denied(meeting, seca, principal)

    row = _row(_home(client, seca), "Annual review")

    assert "Denied" in row
    assert "Withdrawn" not in row


def test_seca_does_not_see_another_secas_request_as_their_own(client, seca, meeting, student):
    colleague = f.UserFactory(roles=[(Role.Kind.SECA, student.school)])
    f.AssignmentFactory(student=student, staff=colleague)
    f.AttendanceRequestFactory(meeting=meeting, seca=colleague)

    row = _row(_home(client, seca), "Annual review")

    assert "Pending" not in row
    assert reverse("request_create", args=[meeting.pk]) in row


def test_seca_sees_meeting_time_in_the_schools_time_zone(client, db):
    school = f.SchoolFactory(timezone="America/Los_Angeles")
    with time_machine.travel(datetime.datetime(2026, 11, 2, 12, tzinfo=datetime.UTC), tick=False):
        seca = f.UserFactory(roles=[(Role.Kind.SECA, school)])
        student = f.StudentFactory(school=school)
        f.AssignmentFactory(student=student, staff=seca)
        f.MeetingFactory(
            student=student, starts_at=datetime.datetime(2026, 11, 16, 17, tzinfo=datetime.UTC)
        )
        html = _home(client, seca)
    # 17:00 UTC is 9 a.m. in Los Angeles (PST), 11 a.m. in the server's Chicago.
    assert "Mon Nov 16, 2026, 9:00 AM PST" in html
    assert "11:00 AM" not in html


# --- approvers ---------------------------------------------------------------------------


def test_principal_sees_pending_requests_of_their_school_only(
    client, principal, school, other_school, meeting, seca, other_school_seca
):
    f.AttendanceRequestFactory(meeting=meeting, seca=seca)
    second = f.MeetingFactory(
        student=meeting.student,
        kind=Meeting.Kind.AMENDMENT,
        starts_at=meeting.starts_at + datetime.timedelta(days=1),
    )
    f.AttendanceRequestFactory(meeting=second, seca=f.UserFactory())
    # Not counted: a decided request, a meeting already started, another school's.
    _denied(f.MeetingFactory(student=meeting.student), seca, principal)
    past = f.MeetingFactory(
        student=meeting.student, starts_at=timezone.now() - datetime.timedelta(hours=2)
    )
    f.AttendanceRequestFactory(meeting=past, seca=seca)
    elsewhere = f.MeetingFactory(student=f.StudentFactory(school=other_school))
    f.AttendanceRequestFactory(meeting=elsewhere, seca=other_school_seca)

    html = _home(client, principal)

    assert "2 pending requests" in html
    assert reverse("approval_queue") in html
    assert "Jerry Seca" in _row(html, "Annual review")
    assert elsewhere.student.full_name not in html
    assert "Olive Elsewhere" not in html


def test_designee_sees_the_pending_requests_and_the_queue_link(client, designee, meeting, seca):
    f.AttendanceRequestFactory(meeting=meeting, seca=seca)
    html = _home(client, designee)
    assert "1 pending request " in html
    assert reverse("approval_queue") in html
    assert meeting.student.full_name in html


def test_seca_has_no_approver_section(client, seca, meeting):
    assert reverse("approval_queue") not in _home(client, seca)


# --- case manager ------------------------------------------------------------------------


def test_case_manager_sees_overdue_and_due_soon_flags(client, case_manager, school):
    today = timezone.localdate()
    f.StudentFactory(
        school=school,
        case_manager=case_manager,
        first_name="Late",
        annual_review_due=today - datetime.timedelta(days=1),
    )
    f.StudentFactory(
        school=school,
        case_manager=case_manager,
        first_name="Soon",
        annual_review_due=today + datetime.timedelta(days=10),
        reevaluation_due=today - datetime.timedelta(days=5),
    )
    f.StudentFactory(
        school=school,
        case_manager=case_manager,
        first_name="Fine",
        annual_review_due=today + datetime.timedelta(days=200),
    )

    html = _home(client, case_manager)

    late, soon, fine = _row(html, "Late "), _row(html, "Soon "), _row(html, "Fine ")
    assert "overdue" in late
    assert "due within 30 days" in soon
    assert "overdue" in soon  # its re-evaluation
    assert "overdue" not in fine
    assert "due within 30 days" not in fine
    # Soonest annual review first.
    assert html.index("Late ") < html.index("Soon ") < html.index("Fine ")


def test_case_manager_sees_each_students_next_meeting_and_their_upcoming_meetings(
    client, case_manager, student, meeting
):
    later = f.MeetingFactory(
        student=student,
        kind=Meeting.Kind.AMENDMENT,
        starts_at=meeting.starts_at + datetime.timedelta(days=7),
    )

    html = _home(client, case_manager)

    caseload_row = _row(html, f'<th scope="row">{student.full_name}')
    assert reverse("meeting_detail", args=[meeting.pk]) in caseload_row
    assert reverse("meeting_detail", args=[later.pk]) not in caseload_row
    assert "My upcoming meetings" in html
    assert reverse("meeting_detail", args=[later.pk]) in html


def test_case_manager_does_not_see_another_case_managers_students(client, case_manager, school):
    colleague = f.UserFactory(roles=[(Role.Kind.CASE_MANAGER, school)])
    theirs = f.StudentFactory(school=school, case_manager=colleague)
    f.MeetingFactory(student=theirs)
    assert theirs.full_name not in _home(client, case_manager)


# --- invited staff -----------------------------------------------------------------------


def test_teacher_sees_meetings_they_are_invited_to_and_no_others(client, school, meeting):
    teacher = f.UserFactory(roles=[(Role.Kind.TEACHER, school)])
    f.InvitationFactory(meeting=meeting, user=teacher)
    not_invited = f.MeetingFactory(student=f.StudentFactory(school=school))

    html = _home(client, teacher)

    assert "Meetings I'm invited to" in html
    assert meeting.student.full_name in html
    assert not_invited.student.full_name not in html


# --- parents -----------------------------------------------------------------------------


def test_parent_sees_their_childs_support_team_and_meetings(client, parent, seca, student, meeting):
    teacher = f.UserFactory(full_name="Terry Teacher")
    f.AssignmentFactory(
        student=student, staff=teacher, kind=Assignment.Kind.TEACHER, detail="Grade 4 homeroom"
    )
    f.AssignmentFactory(
        student=student,
        staff=f.UserFactory(full_name="Last Year"),
        school_year=current_school_year() - 1,
    )

    html = _home(client, parent)

    assert student.full_name in html
    assert "Case manager" in _row(html, "Casey Manager")
    assert "SECA" in _row(html, "Jerry Seca")
    assert "Teacher (Grade 4 homeroom)" in _row(html, "Terry Teacher")
    assert "Last Year" not in html
    assert "Annual review" in html
    # 34 CFR 300.321(a)(6): parents are told they may ask for the SECA.
    assert "You may ask that your child's SECA" in html


def test_parent_does_not_see_another_familys_child(client, parent, other_parent):
    other_child = Student.objects.get(guardians__user=other_parent)
    f.MeetingFactory(student=other_child)
    assert other_child.full_name not in _home(client, parent)


def test_parent_who_is_a_seca_elsewhere_sees_both_sections(client, parent, other_school):
    Role.objects.create(user=parent, school=other_school, kind=Role.Kind.SECA)
    supported = f.StudentFactory(school=other_school, first_name="Supported")
    f.AssignmentFactory(student=supported, staff=parent)

    html = _home(client, parent)

    assert "My students" in html
    assert supported.full_name in html
    assert "My children" in html


# --- district administrator --------------------------------------------------------------


def test_district_admin_sees_counts_per_school_and_the_admin_link(
    client, district_admin, school, other_school, meeting, seca, principal
):
    f.StudentFactory(school=school, plan_type=Student.PlanType.SECTION_504)
    f.AttendanceRequestFactory(meeting=meeting, seca=seca)
    _denied(f.MeetingFactory(student=meeting.student), seca, principal)
    f.MeetingFactory(student=meeting.student, state=Meeting.State.CANCELLED)
    f.MeetingFactory(student=meeting.student, starts_at=timezone.now() - datetime.timedelta(days=3))

    html = _home(client, district_admin)

    # Skinner North: 1 student with an IEP (and the SECA's, the same), 2 upcoming, 1 pending.
    assert re.sub(r"\s+", "", _row(html, "Skinner North")).endswith(
        '<tdclass="text-end">1</td><tdclass="text-end">2</td><tdclass="text-end">1</td></tr>'
    )
    assert re.sub(r"\s+", "", _row(html, "Southside Occupational")).endswith(
        '<tdclass="text-end">0</td><tdclass="text-end">0</td><tdclass="text-end">0</td></tr>'
    )
    assert reverse("admin:index") in html


# --- a fixed number of queries per role --------------------------------------------------
# Each test renders the page with 3 and with 30 records of what that role sees; the count
# must not move. Every page also makes these three queries:
#   1. the session, 2. the signed-in user, 3. which sections to show (roles, designations,
#   guardianships, as EXISTS subqueries in one row)
# and, from the header, the unread notification count (counted last, when base.html
# renders the navigation).


@pytest.mark.parametrize("n", [5, 50])
def test_seca_home_query_count_does_not_grow(client, django_assert_num_queries, school, n):
    seca = f.UserFactory(roles=[(Role.Kind.SECA, school)])
    for _ in range(n):
        student = f.StudentFactory(school=school)
        f.AssignmentFactory(student=student, staff=seca)
        f.AttendanceRequestFactory(meeting=f.MeetingFactory(student=student), seca=seca)
    client.force_login(seca)
    # 1-3 as above; 4 my students this year; 5 their meetings in the next 90 days;
    # 6 my requests for those meetings; the worklist: 7 my past requests, 8 the feedback I
    # owe, 9 the plans sent to me, 10 my weekly schedule; 11 unread notifications.
    with django_assert_num_queries(11):
        response = client.get(HOME)
    assert response.content.decode().count("Withdraw request") == n


@pytest.mark.parametrize("persona", ["principal", "designee"])
@pytest.mark.parametrize("n", [5, 50])
def test_approver_home_query_count_does_not_grow(
    client, django_assert_num_queries, request, school, persona, n
):
    approver = request.getfixturevalue(persona)
    for _ in range(n):
        meeting = f.MeetingFactory(student=f.StudentFactory(school=school))
        f.AttendanceRequestFactory(meeting=meeting)
        f.StayRequestFactory(student=meeting.student)
    client.force_login(approver)
    # 1-3 as above; 4 the soonest pending requests with meeting, student, school and
    # SECA joined, and how many there are (a window over them all); 5 the requests decided
    # in the last 30 days; 6 the pending requests to stay with a student; 7 the schools
    # they lead or decide for (their links); then, for the designee (an assistant
    # principal), 8 the meetings they are invited to; last, unread notifications.
    with django_assert_num_queries(8 if persona == "principal" else 9):
        response = client.get(HOME)
    assert f"{n} pending requests" in response.content.decode()


@pytest.mark.parametrize("n", [3, 30])
def test_case_manager_home_query_count_does_not_grow(
    client, django_assert_num_queries, case_manager, school, n
):
    for _ in range(n):
        student = f.StudentFactory(school=school, case_manager=case_manager)
        f.MeetingFactory(student=student)
        f.MeetingFactory(student=student, starts_at=timezone.now() + datetime.timedelta(days=30))
    client.force_login(case_manager)
    # 1-3 as above; 4 the first students of my caseload with their next meeting
    # and the caseload's size; 5 my upcoming meetings; the worklist: 6 meetings to close,
    # 7 notices to send on paper, 8 reviews due with no meeting; 9 my school (its
    # families' invitations); 10 unread notifications.
    with django_assert_num_queries(10):
        response = client.get(HOME)
    page = response.content.decode()
    # The soonest reviews only; the caseload page has them all.
    assert page.count('<th scope="row">') == min(n, selectors.HOME_CASELOAD)
    assert f"{n} students are on your caseload." in page


@pytest.mark.parametrize("n", [3, 30])
def test_invited_teacher_home_query_count_does_not_grow(
    client, django_assert_num_queries, school, n
):
    teacher = f.UserFactory(roles=[(Role.Kind.TEACHER, school)])
    for _ in range(n):
        f.InvitationFactory(
            meeting=f.MeetingFactory(student=f.StudentFactory(school=school)), user=teacher
        )
    client.force_login(teacher)
    # 1-3 as above; 4 the meetings I'm invited to; 5 unread notifications.
    with django_assert_num_queries(5):
        response = client.get(HOME)
    assert response.content.decode().count("Annual review") == n


@pytest.mark.parametrize("n", [3, 30])
def test_parent_home_query_count_does_not_grow(client, django_assert_num_queries, school, n):
    parent = f.UserFactory()
    for _ in range(n):
        child = f.StudentFactory(school=school, case_manager=f.UserFactory())
        f.GuardianFactory(student=child, user=parent)
        f.AssignmentFactory(student=child)
        f.MeetingFactory(student=child)
    client.force_login(parent)
    # 1-3 as above; 4 my children with school and case manager; 5 their support teams
    # this year; 6 their upcoming meetings; 7 unread notifications.
    with django_assert_num_queries(7):
        response = client.get(HOME)
    assert response.content.decode().count("card-title") == n


@pytest.mark.parametrize("n", [3, 30])
def test_district_admin_home_query_count_does_not_grow(
    client, django_assert_num_queries, district_admin, n
):
    for _ in range(n):
        meeting = f.MeetingFactory()
        f.AttendanceRequestFactory(meeting=meeting)
    client.force_login(district_admin)
    # 1-3 as above; 4 whether their two-step sign-in is set up (required of district
    # administrators: staff/mfa.py); 5-7 students with IEPs, upcoming meetings and pending
    # requests, each counted per school in one grouped query; 8 the schools; 9 unread
    # notifications.
    with django_assert_num_queries(9):
        response = client.get(HOME)
    assert response.content.decode().count('<th scope="row">') == n + 1  # and the total
    # Counted once: the next view in the next ten minutes reads the same counts.
    with django_assert_num_queries(5):
        assert client.get(HOME).content.decode().count('<th scope="row">') == n + 1


def test_the_district_overview_says_when_it_counted_and_counts_again_when_the_counts_expire(
    client, district_admin, school, meeting, seca, settings
):
    # Kept FIGURES_CACHE_SECONDS (ten minutes); one second here, as Redis expires keys by
    # its own clock, which the tests' travels in time do not move.
    settings.FIGURES_CACHE_SECONDS = 1
    before = _row(_home(client, district_admin), school.name)
    assert re.sub(r"\s+", "", before).endswith('<tdclass="text-end">0</td></tr>')
    f.AttendanceRequestFactory(meeting=meeting, seca=seca)

    html = _home(client, district_admin)
    assert "Counted at " in html
    assert _row(html, school.name) == before  # the request is not counted yet

    time.sleep(1.2)
    later = _row(_home(client, district_admin), school.name)
    assert re.sub(r"\s+", "", later).endswith('<tdclass="text-end">1</td></tr>')


def test_home_of_a_person_without_a_role_makes_four_queries(client, django_assert_num_queries, db):
    client.force_login(f.UserFactory())
    # 1-3 as above; 4 unread notifications.
    with django_assert_num_queries(4):
        client.get(HOME)


def test_each_role_finds_its_own_pages_from_home(client, seca, parent, student, case_manager):
    pages = {
        seca: [reverse("my_plans"), reverse("calendar_subscribe")],
        parent: [reverse("parent_child", args=[student.pk]), reverse("my_plans")],
        case_manager: [reverse("caseload")],
    }
    for user, links in pages.items():
        client.force_login(user)
        html = client.get(HOME).content.decode()
        assert all(link in html for link in links), user


def test_the_district_overview_lists_schools_a_page_at_a_time_with_district_totals(
    client, district_admin
):
    schools = f.SchoolFactory.create_batch(DISTRICT_SCHOOLS_PAGE + 5)
    f.StudentFactory(school=schools[0])
    client.force_login(district_admin)
    first = client.get(HOME).content.decode()
    total = School.objects.count()
    assert f"(schools 1 to {DISTRICT_SCHOOLS_PAGE} of {total})" in first
    assert 'href="?schools=2#home-district"' in first
    last = client.get(HOME, {"schools": 2}).content.decode()
    assert f"(schools {DISTRICT_SCHOOLS_PAGE + 1} to {total} of {total})" in last
    # The totals count every school, whichever page is shown.
    expected = Student.objects.with_ieps().count()
    assert re.search(rf'<th scope="row">District</th>\s*<td class="text-end">{expected}</td>', last)
