"""The reports: every measure against hand-built data with its edge cases, the CSV's totals
and columns, the HTML and the CSV agreeing, the union's representatives seeing no name, and
a fixed number of queries whatever the number of schools."""

import csv
import datetime
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from meetings import reports
from meetings.models import (
    AttendanceRequest,
    Invitation,
    Meeting,
    MeetingNotice,
    Plan,
    PlanDelivery,
    SecaFeedback,
)
from meetings.reports import COLUMNS, Period
from staff.models import Role, School, User
from staff.selectors import SCHOOLS_PER_PAGE as DISTRICT_PAGE

from . import factories as f

DAY = datetime.timedelta(days=1)
S = AttendanceRequest.Status


@pytest.fixture
def union_rep(db):
    return f.UserFactory(full_name="Una Union", roles=[(Role.Kind.UNION_REP, None)])


def _meeting(school, *, days_ago, state=Meeting.State.HELD, **extra):
    start = (timezone.now() - days_ago * DAY).replace(microsecond=0)
    student = extra.pop("student", None) or f.StudentFactory(school=school)
    return f.MeetingFactory(
        student=student,
        school=school,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        state=state,
        held_at=start if state == Meeting.State.HELD else None,
        **extra,
    )


def _request(meeting, status, *, hours_to_decision=None, decider=None, **extra):
    seca = f.UserFactory(roles=[(Role.Kind.SECA, meeting.school)])
    created = meeting.starts_at - 10 * DAY
    decided = {}
    if hours_to_decision is not None:
        decided = {
            "decided_by": decider or f.UserFactory(),
            "decided_at": created + datetime.timedelta(hours=hours_to_decision),
        }
    if status == S.APPROVED:
        extra.setdefault("coverage_note", "Class at music")
    if status == S.DENIED:
        extra.setdefault("deny_reason", "group")
    req = f.AttendanceRequestFactory(meeting=meeting, seca=seca, status=status, **decided, **extra)
    AttendanceRequest.objects.filter(pk=req.pk).update(created_at=created)
    return req


@pytest.fixture
def data(school, other_school, principal, case_manager):
    """School A (`school`): one held meeting with a request in every outcome, a cancelled
    and a moved meeting, plans on time, late and corrected, notices on time and late, and
    reviews overdue; school B (`other_school`): two requests."""
    m1 = _meeting(school, days_ago=20, location="Room 1")
    approved = _request(m1, S.APPROVED, hours_to_decision=10, decider=principal)
    Invitation.objects.create(meeting=m1, user=approved.seca, name="x", role="SECA", attended=True)
    absent = _request(m1, S.APPROVED, hours_to_decision=30, decider=principal)
    Invitation.objects.create(meeting=m1, user=absent.seca, name="y", role="SECA", attended=False)
    denied = _request(m1, S.DENIED, hours_to_decision=20, decider=principal,
                      decision_note="A private note about the group")  # fmt: skip
    SecaFeedback.objects.create(
        meeting=m1, seca=denied.seca, strengths="x", submitted_at=timezone.now()
    )
    _request(m1, S.EXPIRED)
    # Withdrawn while pending: the only withdrawal the transitions allow.
    _request(m1, S.WITHDRAWN)
    cancelled = _meeting(school, days_ago=15, state=Meeting.State.CANCELLED)
    _request(cancelled, S.CANCELLED)
    # Rescheduled after the decision: re-opened, pending again.
    moved = _meeting(school, days_ago=-5, state=Meeting.State.SCHEDULED)
    _request(moved, S.PENDING, reopened=True)

    # Plans: m1 finalized in 3 days, then corrected (version 2); m4 finalized 12 days after.
    for version, days in ((1, 3), (2, 9)):
        Plan.objects.create(meeting=m1, version=version, file="p.pdf", sha256="0" * 64,
                            uploaded_by=case_manager, finalized_at=m1.starts_at + days * DAY)  # fmt: skip
    m4 = _meeting(school, days_ago=30)
    plan4 = Plan.objects.create(meeting=m4, version=1, file="p.pdf", sha256="0" * 64,
                                uploaded_by=case_manager, finalized_at=m4.starts_at + 12 * DAY)  # fmt: skip
    _meeting(school, days_ago=10)  # held, no plan yet
    # Copies to SECAs who could not attend: one opened, one not; a parent's copy is not one.
    PlanDelivery.objects.create(plan=plan4, recipient=denied.seca, reason="seca",
                                sent_at=timezone.now(), acknowledged_at=timezone.now())  # fmt: skip
    PlanDelivery.objects.create(plan=plan4, recipient=absent.seca, reason="seca",
                                sent_at=timezone.now())  # fmt: skip
    PlanDelivery.objects.create(plan=plan4, recipient=f.UserFactory(), reason="guardian",
                                sent_at=timezone.now())  # fmt: skip
    # Notices: m1's went 14 days ahead, m4's 3 days ahead (late; a later one does not count).
    for meeting, days in ((m1, 14), (m4, 3)):
        notice = MeetingNotice.objects.create(meeting=meeting, guardian=f.GuardianFactory(
            student=meeting.student), kind="scheduled")  # fmt: skip
        MeetingNotice.objects.filter(pk=notice.pk).update(created_at=meeting.starts_at - days * DAY)
    # Reviews: overdue; overdue then scheduled (still overdue); overdue then held (not).
    today = timezone.localdate()
    overdue = f.StudentFactory(school=school, annual_review_due=today - 5 * DAY)
    scheduled = f.StudentFactory(school=school, annual_review_due=today - 5 * DAY)
    _meeting(school, days_ago=-3, state=Meeting.State.SCHEDULED, student=scheduled)
    held = f.StudentFactory(school=school, annual_review_due=today - 5 * DAY)
    _meeting(school, days_ago=2, student=held)
    # School B.
    b = _meeting(other_school, days_ago=12)
    _request(b, S.APPROVED, hours_to_decision=4)
    _request(b, S.DENIED, hours_to_decision=6, deny_reason="other_student")
    return {"denied": denied, "overdue": overdue, "m1": m1}


EXPECTED_A = {
    "requests": 7,
    "approved": 2,
    "denied": 1,
    "expired": 1,
    "withdrawn": 1,
    "median_hours_to_decision": 20.0,
    "secas_attended": 1,
    "feedback_owed": 3,  # denied, expired, approved but absent
    "feedback_submitted": 1,
    "plans_finalized": 2,
    "plans_finalized_on_time": 1,
    "plan_copies_sent": 2,
    "plan_copies_opened": 1,
    "notices_on_time": 1,
    "notices_late": 1,
    "reviews_overdue": 2,
    "stay_requests": 0,
    "stay_approved": 0,
    "stay_denied": 0,
    "unstaffed_students": 0,
}


def test_each_measure_of_a_school(data, school):
    (row,), total = reports.measures(period=Period.school_year(), schools=[school])
    assert {c: row.values[c] for c in COLUMNS} == EXPECTED_A
    assert row.values["denied_group"] == 1 and row.values["denied_other_student"] == 0


def test_the_district_is_the_sum_of_its_schools(data, school, other_school):
    rows, total = reports.measures(period=Period.school_year())
    by_school = {r.school.pk: r for r in rows}
    assert by_school[other_school.pk].values["requests"] == 2
    for column in COLUMNS:
        if column != "median_hours_to_decision":
            assert total.values[column] == sum(r.values[column] for r in rows), column
    # The district's median is over every decision: 4, 6, 10, 20, 30.
    assert total.values["median_hours_to_decision"] == 10.0


def test_a_period_before_the_meetings_counts_nothing(data, school):
    early = Period(datetime.date(2025, 7, 1), datetime.date(2025, 12, 31))
    (row,), _ = reports.measures(period=early, schools=[school])
    assert row.values["requests"] == 0 and row.values["median_hours_to_decision"] is None
    assert row.values["reviews_overdue"] == 2  # today's, whatever the period


def test_the_csv_has_the_agreed_columns_and_a_district_row(client, district_admin, data):
    client.force_login(district_admin)
    response = client.get(
        reverse("reports_district_csv"), {"from": "2026-07-01", "to": "2027-06-30"}
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "school", "requests", "approved", "denied", "expired", "withdrawn",
        "median_hours_to_decision", "secas_attended", "feedback_owed", "feedback_submitted",
        "plans_finalized", "plans_finalized_on_time", "plan_copies_sent", "plan_copies_opened",
        "notices_on_time", "notices_late", "reviews_overdue", "stay_requests", "stay_approved",
        "stay_denied", "unstaffed_students",
    ]  # fmt: skip
    body, district = rows[1:-1], rows[-1]
    assert district[0] == "District"
    for i, column in enumerate(rows[0][1:], start=1):
        if column != "median_hours_to_decision":
            assert int(district[i]) == sum(int(r[i]) for r in body), column
    skinner = next(r for r in body if r[0] == "Skinner North")
    assert dict(zip(rows[0][1:], skinner[1:], strict=True)) == {
        k: str(v) for k, v in EXPECTED_A.items()
    }


def test_the_html_and_the_csv_agree(client, district_admin, data):
    client.force_login(district_admin)
    page = client.get(reverse("reports_district")).content.decode()
    csv_rows = list(
        csv.reader(io.StringIO(client.get(reverse("reports_district_csv")).content.decode()))
    )
    footer = page.split("<tfoot>")[1].split("</tfoot>")[0]
    cells = [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", footer, re.S)
    ]
    assert [c.replace("—", "") for c in cells] == csv_rows[-1][1:]


def test_a_bad_period_is_refused_next_to_its_field(client, district_admin, data):
    client.force_login(district_admin)
    response = client.get(reverse("reports_district"), {"start": "2027-01-01", "end": "2026-01-01"})
    assert response.status_code == 400
    assert "The end of the period must not be before its start." in response.content.decode()


def test_the_table_sorts_by_a_measure(client, district_admin, data, school, other_school):
    client.force_login(district_admin)
    page = client.get(
        reverse("reports_district"), {"sort": "requests", "desc": "1"}
    ).content.decode()
    assert page.index("Skinner North") < page.index(other_school.name)
    page = client.get(reverse("reports_district"), {"sort": "requests"}).content.decode()
    assert page.index(other_school.name) < page.index("Skinner North</a>")


def test_the_chart_is_an_svg_with_its_numbers_as_a_table(client, district_admin, data):
    client.force_login(district_admin)
    page = client.get(reverse("reports_district")).content.decode()
    assert '<svg width="' in page and "<script" not in page.split("<svg")[1].split("</svg>")[0]
    assert "The numbers of the chart" in page
    # September: 2 approved of the month's 6 requests (the tallest bar, 150 high), its
    # third month; the table gives the same numbers.
    bar = '<rect x="120" y="110" width="28" height="50" class="outcome-approved" fill="#146c43">'
    assert bar + "<title>2</title></rect>" in page
    assert 'text-anchor="middle" fill="#212529">Sep</text>' in page
    row = '<tr><th scope="row">September 2026</th><td>2</td><td>1</td><td>1</td><td>1</td>'
    assert row + "<td>1</td></tr>" in page
    User.objects.filter(pk=district_admin.pk).update(preferred_language="es")
    page = client.get(reverse("reports_district")).content.decode()
    assert 'fill="#212529">Sep</text>' in page and "septiembre de 2026</th>" in page


# --- The school's report, and who reads what -----------------------------------------------


def test_the_principal_reads_the_schools_report_with_every_request(client, principal, data, school):
    client.force_login(principal)
    page = client.get(reverse("reports_school", args=[school.pk])).content.decode()
    assert data["denied"].seca.full_name in page
    assert "A private note about the group" in page
    filtered = client.get(reverse("reports_school", args=[school.pk]), {"outcome": "denied"})
    assert filtered.content.decode().count("request-denied") == 1


def test_a_principal_sees_only_their_schools_report(client, principal, other_school, data):
    client.force_login(principal)
    assert client.get(reverse("reports_school", args=[other_school.pk])).status_code == 404
    assert client.get(reverse("reports_district")).status_code == 404


def test_the_union_sees_the_measures_and_no_name(client, union_rep, data, school):
    client.force_login(union_rep)
    district = client.get(reverse("reports_district")).content.decode()
    school_page = client.get(reverse("reports_school", args=[school.pk])).content.decode()
    csv_body = client.get(reverse("reports_district_csv")).content.decode()
    secret = [
        data["denied"].seca.full_name,
        data["denied"].meeting.student.full_name,
        data["overdue"].full_name,
        "A private note about the group",
        "Class at music",
    ]
    for text in (district, school_page, csv_body):
        for name in secret:
            assert name not in text
    assert "Skinner North" in district and "This report shows measures only" in school_page


@pytest.mark.parametrize("persona", ["seca", "parent", "case_manager", "teacher"])
def test_others_get_a_404(client, request, persona, school, data):
    user = (
        f.UserFactory(roles=[(Role.Kind.TEACHER, school)])
        if persona == "teacher"
        else request.getfixturevalue(persona)
    )
    client.force_login(user)
    for url in (
        reverse("reports_district"),
        reverse("reports_district_csv"),
        reverse("reports_school", args=[school.pk]),
    ):
        assert client.get(url).status_code == 404


@pytest.mark.parametrize("n", [2, 12])
def test_the_district_report_costs_the_same_queries_for_any_number_of_schools(
    client, union_rep, n, django_assert_num_queries
):
    for _ in range(n):
        school = f.SchoolFactory()
        _request(_meeting(school, days_ago=5), S.APPROVED, hours_to_decision=3)
    client.force_login(union_rep)
    # 1 session, 2 user, 3 standing, 4 the schools, 5 the counts of requests, meetings
    # (plans and notices), copies, students (overdue reviews, unstaffed) and requests to
    # stay in one UNION, 6 the medians, 7 the chart's months, 8 the unread notifications.
    with django_assert_num_queries(8):
        assert client.get(reverse("reports_district")).status_code == 200
    # Counted once: the next reader in the next ten minutes reads the same figures.
    with django_assert_num_queries(4):
        page = client.get(reverse("reports_district"), {"sort": "requests"})
    assert "Counted at " in page.content.decode()


def test_the_district_report_shows_schools_a_page_at_a_time_in_the_order_chosen(client, union_rep):
    for n in range(DISTRICT_PAGE + 2):
        school = f.SchoolFactory(name=f"School {n:03}")
        if n >= 2:  # the first two have none
            _request(_meeting(school, days_ago=5), S.APPROVED, hours_to_decision=3)
    client.force_login(union_rep)
    order = {"sort": "requests", "desc": "1"}
    first = client.get(reverse("reports_district"), order).content.decode()
    total = School.objects.count()
    assert f"(schools 1 to {DISTRICT_PAGE} of {total})" in first
    assert "sort=requests&amp;desc=1&amp;page=2" in first
    last = client.get(reverse("reports_district"), {**order, "page": 2}).content.decode()
    assert f"(schools {DISTRICT_PAGE + 1} to {total} of {total})" in last
    # The schools with the most requests come first; the last page has those with none.
    assert "School 002" in first and "School 000" not in first
    assert "School 000" in last and "School 001" in last
    # The district's total counts every school's requests, on every page.
    requests = DISTRICT_PAGE
    assert re.search(
        rf"<th scope=\"row\">District</th>\s*<td class=\"text-end\">{requests}</td>", last
    )


@pytest.mark.parametrize("n", [2, 12])
def test_the_school_report_costs_the_same_queries_however_many_requests(
    client, principal, school, n, django_assert_num_queries
):
    meeting = _meeting(school, days_ago=5)
    for _ in range(n):
        _request(meeting, S.APPROVED, hours_to_decision=3)
    client.force_login(principal)
    # 1-3 session, user, standing; 4 the school; 5-7 the measures, their medians and the
    # chart (as the district's: reports.report_figures); 8 the page of requests and how many
    # there are, 9 this week's coverage, 10 the access log's INSERT, 11 the unread
    # notifications.
    with django_assert_num_queries(11):
        assert client.get(reverse("reports_school", args=[school.pk])).status_code == 200
    # Counted once: the next reader in the next ten minutes reads the same measures.
    with django_assert_num_queries(8):
        page = client.get(reverse("reports_school", args=[school.pk]))
    assert "Counted at " in page.content.decode()
