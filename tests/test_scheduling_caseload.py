"""The caseload page: my students, what is coming due or overdue (34 CFR 300.324(b),
300.303), their next meeting, sorted and filtered, in a fixed number of queries."""

import datetime
import re
import zoneinfo

import pytest
from django.test.utils import override_script_prefix
from django.urls import reverse
from django.utils import timezone

from iepcoord.dates import formatted
from meetings.models import Meeting
from meetings.views.scheduling import CASELOAD_PAGE
from staff.models import AuditEvent, Role, Student

from . import factories as f

CASELOAD = reverse("caseload")


def days(n):
    return timezone.localdate() + datetime.timedelta(days=n)


def names(response):
    return [s.first_name for s in response.context["students"]]


def row(page, student):
    return re.search(rf'<tr id="student-{student.pk}">.*?</tr>', page, flags=re.S).group(0)


@pytest.fixture
def caseload(school, case_manager):
    """Three students: overdue, due within 30 days, and fine."""
    make = f.StudentFactory
    return {
        "late": make(
            school=school,
            case_manager=case_manager,
            first_name="Late",
            last_name="Zed",
            annual_review_due=days(-3),
            reevaluation_due=days(400),
        ),
        "soon": make(
            school=school,
            case_manager=case_manager,
            first_name="Soon",
            last_name="Young",
            annual_review_due=days(200),
            reevaluation_due=days(20),
        ),
        "fine": make(
            school=school,
            case_manager=case_manager,
            first_name="Fine",
            last_name="Adams",
            annual_review_due=days(100),
            reevaluation_due=days(500),
        ),
    }


def test_case_manager_sees_due_dates_flags_and_the_next_meeting(
    client, case_manager, caseload, school
):
    later = timezone.now() + datetime.timedelta(days=30)
    soonest = f.MeetingFactory(
        student=caseload["soon"], starts_at=later - datetime.timedelta(days=10)
    )
    f.MeetingFactory(student=caseload["soon"], starts_at=later)
    f.MeetingFactory(
        student=caseload["soon"],
        state=Meeting.State.CANCELLED,
        starts_at=later - datetime.timedelta(days=20),
    )
    f.MeetingFactory(
        student=caseload["fine"],
        state=Meeting.State.HELD,
        starts_at=timezone.now() - datetime.timedelta(days=3),
    )
    client.force_login(case_manager)
    response = client.get(CASELOAD)
    assert response.status_code == 200
    page = response.content.decode()
    assert names(response) == ["Late", "Fine", "Soon"]  # soonest annual review first
    assert "overdue" in row(page, caseload["late"])
    assert "due within 30 days" in row(page, caseload["soon"])
    assert "overdue" not in row(page, caseload["fine"])
    assert "due within" not in row(page, caseload["fine"])
    soon_row = row(page, caseload["soon"])
    assert reverse("meeting_detail", args=[soonest.pk]) in soon_row
    assert soonest.get_kind_display() in soon_row
    local = timezone.localtime(soonest.starts_at, zoneinfo.ZoneInfo(school.timezone))
    assert formatted(local, "day_time") in soon_row
    assert "none scheduled" in row(page, caseload["fine"])
    assert reverse("meeting_schedule", args=[caseload["fine"].pk]) in row(page, caseload["fine"])


def test_a_caseload_rows_links_follow_where_the_app_is_served(client, case_manager, caseload):
    # The rows' links are built from a path found once per URL name (meetings_extras._url):
    # served under a prefix, as a district may mount it, they carry it.
    student = caseload["fine"]
    client.force_login(case_manager)
    page = client.get(CASELOAD).content.decode()
    assert f'href="/students/{student.pk}/access-log/"' in row(page, student)
    with override_script_prefix("/iep/"):
        page = client.get(CASELOAD).content.decode()
    links = re.findall(r'href="([^"]+)"', row(page, student))
    assert f"/iep/students/{student.pk}/access-log/" in links
    assert f"/iep/students/{student.pk}/meetings/new/" in links
    assert all(link.startswith("/iep/") for link in links)


def test_caseload_sorts_by_name_and_by_reevaluation(client, case_manager, caseload):
    client.force_login(case_manager)
    assert names(client.get(CASELOAD, {"sort": "name"})) == ["Fine", "Soon", "Late"]
    assert names(client.get(CASELOAD, {"sort": "reeval"})) == ["Soon", "Late", "Fine"]
    assert names(client.get(CASELOAD, {"sort": "nonsense"})) == ["Late", "Fine", "Soon"]


def test_caseload_filters_overdue_and_due_soon(client, case_manager, caseload):
    client.force_login(case_manager)
    assert names(client.get(CASELOAD, {"show": "overdue"})) == ["Late"]
    assert names(client.get(CASELOAD, {"show": "due_soon"})) == ["Soon"]
    assert names(client.get(CASELOAD, {"show": "all", "sort": "name"})) == ["Fine", "Soon", "Late"]


def test_caseload_has_only_my_students_at_schools_where_i_am_case_manager(
    client, case_manager, caseload, school, other_school
):
    colleague = f.UserFactory(roles=[(Role.Kind.CASE_MANAGER, school)])
    f.StudentFactory(school=school, case_manager=colleague, first_name="Theirs")
    # Still named my student at a school where I hold no case manager role: not shown.
    f.StudentFactory(school=other_school, case_manager=case_manager, first_name="Elsewhere")
    client.force_login(case_manager)
    assert sorted(names(client.get(CASELOAD))) == ["Fine", "Late", "Soon"]


@pytest.mark.parametrize("who", ["seca", "parent", "principal", "district_admin"])
def test_caseload_is_only_for_case_managers(client, who, request):
    client.force_login(request.getfixturevalue(who))
    assert client.get(CASELOAD).status_code == 404


def _fill(case_manager, school, n):
    for i in range(n):
        student = f.StudentFactory(
            school=school, case_manager=case_manager, annual_review_due=days(i - 5)
        )
        f.MeetingFactory(student=student, starts_at=timezone.now() + datetime.timedelta(days=i + 1))


@pytest.mark.parametrize("n", [3, 30])
def test_caseload_costs_the_same_queries_for_3_or_30_students(
    client, case_manager, school, n, django_assert_num_queries
):
    _fill(case_manager, school, n)
    client.force_login(case_manager)
    # 1 session, 2 user, 3 their standing ("holds a case manager role", staff/access.py),
    # 4 a page of students with their next meeting (one JSON row each: its time and kind
    # read with it, not one by one) and how many there are (the pages), 5 one INSERT of an access-log event per student shown
    # (34 CFR 300.614), 6 the unread notifications.
    with django_assert_num_queries(6):
        response = client.get(CASELOAD, {"sort": "reeval", "show": "all"})
    assert len(response.context["students"]) == min(n, CASELOAD_PAGE)


def test_a_long_caseload_comes_in_pages_that_keep_the_sort_and_filter(client, case_manager, school):
    _fill(case_manager, school, 30)
    client.force_login(case_manager)
    first = client.get(CASELOAD, {"sort": "name", "show": "all"}).content.decode()
    assert "Students 1 to 25 of 30" in first
    assert 'href="?show=all&amp;sort=name&amp;page=2"' in first
    second = client.get(CASELOAD, {"sort": "name", "show": "all", "page": 2})
    names = [s.last_name for s in second.context["students"]]
    assert len(names) == 5
    assert "Students 26 to 30 of 30" in second.content.decode()
    everyone = sorted(
        Student.objects.filter(case_manager=case_manager),
        key=lambda s: (s.last_name, s.first_name, s.pk),
    )
    assert names == [s.last_name for s in everyone[25:]]
    # Only the students shown are recorded as viewed.
    assert AuditEvent.objects.filter(actor=case_manager, action="caseload.viewed").count() == 30
