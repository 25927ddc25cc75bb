"""An IEP that requires a shared or 1:1 aide with no SECA assigned is not carried out: the
student is listed for their principal and designees and the district, with the days it
has been unstaffed, and counted in the reports. The case manager records the support."""

import datetime
import io

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from meetings import reports
from meetings.reports import Period
from staff.models import Assignment, AuditEvent, Role, Student
from staff.selectors import SCHOOLS_PER_PAGE as DISTRICT_PAGE
from staff.services import student_transfer, students_unstaffed_refresh

from . import factories as f
from .roster_export import Export

pytestmark = pytest.mark.django_db

ONE_TO_ONE = Student.AideSupport.ONE_TO_ONE


def _unstaffed(school, *, days, support=ONE_TO_ONE, **values):
    since = timezone.localdate() - datetime.timedelta(days=days)
    return f.StudentFactory(school=school, aide_support=support, unstaffed_since=since, **values)


def test_support_without_a_seca_is_unstaffed_since_the_last_assignment_ended(student, seca):
    Student.objects.filter(pk=student.pk).update(aide_support=ONE_TO_ONE)
    students_unstaffed_refresh()
    student.refresh_from_db()
    assert student.unstaffed_since is None  # seca is assigned
    ended = timezone.localdate() - datetime.timedelta(days=1)
    Assignment.objects.filter(student=student).update(ended_on=ended)
    students_unstaffed_refresh()
    student.refresh_from_db()
    assert student.unstaffed_since == ended
    f.AssignmentFactory(student=student, staff=f.UserFactory())  # a new SECA
    students_unstaffed_refresh()
    student.refresh_from_db()
    assert student.unstaffed_since is None


def test_a_student_who_moves_leaves_their_support_unstaffed(student, seca, other_school, district_admin):  # fmt: skip
    Student.objects.filter(pk=student.pk).update(aide_support=Student.AideSupport.SHARED)
    moved = student_transfer(actor=district_admin, student=student, school=other_school)
    assert moved.unstaffed_since == timezone.localdate()


def test_minutes_a_day_are_checked_by_the_database(school):
    with pytest.raises(IntegrityError), transaction.atomic():
        f.StudentFactory(school=school, aide_minutes_per_day=0)


def test_case_manager_records_the_support_and_sees_it_unstaffed(client, case_manager, student):
    client.force_login(case_manager)
    assert (
        f"/students/{student.pk}/aide-support/" in client.get(reverse("caseload")).content.decode()
    )
    url = reverse("aide_support_edit", args=[student.pk])
    response = client.post(url, {"aide_support": "one_to_one", "aide_minutes_per_day": "330"})
    assert response.status_code == 302
    student.refresh_from_db()
    assert (student.aide_support, student.aide_minutes_per_day) == (ONE_TO_ONE, 330)
    assert student.unstaffed_since == timezone.localdate()
    assert AuditEvent.objects.filter(action="student.aide_support_changed").exists()
    assert "No SECA is assigned to this student" in client.get(url).content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"aide_support": "shared", "aide_minutes_per_day": "0"}, "aide_minutes_per_day"),
        ({"aide_support": "none", "aide_minutes_per_day": "60"}, "aide_minutes_per_day"),
    ],
)
def test_bad_minutes_are_refused_next_to_the_field(client, case_manager, student, data, field):
    client.force_login(case_manager)
    response = client.post(reverse("aide_support_edit", args=[student.pk]), data)
    assert response.status_code == 400 and field in response.context["form"].errors
    student.refresh_from_db()
    assert student.aide_support == Student.AideSupport.NONE


def test_principal_lists_their_unstaffed_students_with_the_days(client, principal, school, other_school):  # fmt: skip
    _unstaffed(school, days=12, first_name="Amir")
    _unstaffed(other_school, days=3, first_name="Zoe")
    client.force_login(principal)
    home = client.get(reverse("home")).content.decode()
    assert reverse("unstaffed_students", args=[school.pk]) in home
    response = client.get(reverse("unstaffed_students", args=[school.pk]))
    page = response.content.decode()
    assert "Amir" in page and "Zoe" not in page
    assert [s.days_unstaffed for s in response.context["students"]] == [12]
    assert client.get(reverse("unstaffed_students", args=[other_school.pk])).status_code == 404


@pytest.mark.parametrize("n", [2, 12])
def test_the_school_list_costs_the_same_queries(client, principal, school, n, django_assert_num_queries):  # fmt: skip
    for i in range(n):
        _unstaffed(school, days=i, case_manager=f.UserFactory())
    client.force_login(principal)
    # session, user, standing, the school, the students (with case managers), their audit
    # events (one INSERT), unread notifications
    with django_assert_num_queries(7):
        response = client.get(reverse("unstaffed_students", args=[school.pk]))
    assert len(response.context["students"]) == n


@pytest.mark.parametrize("n", [2, 12])
def test_the_district_list_counts_each_school(client, district_admin, n, django_assert_num_queries):  # fmt: skip
    schools = [f.SchoolFactory() for _ in range(n)]
    for school in schools:
        _unstaffed(school, days=5)
        _unstaffed(school, days=30, support=Student.AideSupport.SHARED)
    client.force_login(district_admin)
    assert reverse("unstaffed_district") in client.get(reverse("home")).content.decode()
    # session, user, the two-step check, standing, the counts by school, the schools,
    # unread notifications
    with django_assert_num_queries(7):
        response = client.get(reverse("unstaffed_district"))
    assert response.context["total"] == 2 * n
    assert {row[2:] for row in response.context["rows"]} == {(2, 1, 30)}
    page = response.content.decode()
    assert reverse("unstaffed_students", args=[schools[0].pk]) in page


def test_other_staff_do_not_see_the_list(client, school):
    teacher = f.UserFactory(roles=[(Role.Kind.TEACHER, school)])
    client.force_login(teacher)
    assert client.get(reverse("unstaffed_students", args=[school.pk])).status_code == 404
    assert client.get(reverse("unstaffed_district")).status_code == 404


def test_the_reports_count_unstaffed_students_and_stay_requests(school, other_school, seca, student):  # fmt: skip
    _unstaffed(school, days=4)
    _unstaffed(other_school, days=4)
    f.StayRequestFactory(seca=seca, student=student)
    f.StayRequestFactory(seca=seca, student=student, status="denied", deny_reason="staffing")
    # A classroom's request counts in the same columns, for its school.
    f.StayRequestFactory(seca=seca, student=None, classroom="Room 210", school=school, status="approved")  # fmt: skip
    rows, total = reports.measures(period=Period.school_year())
    mine = next(r for r in rows if r.school.pk == school.pk)
    assert (mine.unstaffed_students, mine.stay_requests, mine.stay_denied) == (1, 3, 1)
    assert mine.stay_approved == 1
    assert total.unstaffed_students == 2


def test_the_roster_brings_the_minutes_when_the_column_is_there(tmp_path):
    def run(export):
        call_command("import_roster", str(export.write(tmp_path / "e")), stdout=io.StringIO())

    export = Export("1.1")
    export.iep("s-2")["minutes"] = "360"
    run(export)
    assert Student.objects.get(sourced_id="s-2").aide_minutes_per_day == 360
    run(Export("1.1"))  # without the column: the minutes on file stay
    assert Student.objects.get(sourced_id="s-2").aide_minutes_per_day == 360
    # s-1 requires a shared aide, and t-aide1 shares its class: staffed.
    assert Student.objects.get(sourced_id="s-1").unstaffed_since is None


def test_the_daily_sweep_sees_an_assignment_that_ended_on_its_date(student, seca):
    Student.objects.filter(pk=student.pk).update(aide_support=ONE_TO_ONE)
    ends = timezone.localdate() + datetime.timedelta(days=2)
    Assignment.objects.filter(student=student).update(ended_on=ends)
    with time_machine.travel(datetime.datetime.combine(ends, datetime.time(12)), tick=False):
        call_command("run_sweeps", "--once", stdout=io.StringIO(), stderr=io.StringIO())
    student.refresh_from_db()
    assert student.unstaffed_since == ends


def test_the_principal_edits_the_support_from_the_list_and_links_back(client, principal, student):
    Student.objects.filter(pk=student.pk).update(
        aide_support=ONE_TO_ONE, unstaffed_since=timezone.localdate()
    )
    client.force_login(principal)
    page = client.get(reverse("aide_support_edit", args=[student.pk])).content.decode()
    assert reverse("unstaffed_students", args=[student.school_id]) in page
    assert reverse("caseload") not in page  # a principal without a caseload


def test_the_district_list_comes_a_page_of_schools_at_a_time_most_unstaffed_first(
    client, district_admin
):
    schools = [f.SchoolFactory() for _ in range(DISTRICT_PAGE + 3)]
    for n, school in enumerate(schools):
        for _ in range(2 if n < 3 else 1):
            _unstaffed(school, days=5)
    client.force_login(district_admin)
    first = client.get(reverse("unstaffed_district"))
    assert len(first.context["rows"]) == DISTRICT_PAGE
    # The three schools with two come first; the total counts every school.
    assert [row[2] for row in first.context["rows"][:4]] == [2, 2, 2, 1]
    assert first.context["total"] == DISTRICT_PAGE + 6
    assert '?page=2"' in first.content.decode()
    last = client.get(reverse("unstaffed_district"), {"page": 2})
    assert len(last.context["rows"]) == 3
