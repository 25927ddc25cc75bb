"""The worklists on the home pages: what each person still has to do, reached from home."""

import datetime

from django.urls import reverse
from django.utils import timezone

from meetings.models import AttendanceRequest, Meeting, MeetingNotice, Plan, PlanDelivery
from staff.models import Role, ScheduleBlock

from . import factories as f

DAY = datetime.timedelta(days=1)
HOME = reverse("home")


def _past(student, case_manager, *, days, state=Meeting.State.SCHEDULED):
    start = timezone.now() - days * DAY
    return f.MeetingFactory(
        student=student,
        scheduled_by=case_manager,
        starts_at=start,
        state=state,
        held_at=start if state == Meeting.State.HELD else None,
    )


def test_the_case_manager_sees_meetings_to_close_notices_and_reviews(
    client, case_manager, student, school
):
    unrecorded = _past(student, case_manager, days=3)
    no_plan = _past(student, case_manager, days=9, state=Meeting.State.HELD)
    closed = _past(student, case_manager, days=20, state=Meeting.State.HELD)
    Plan.objects.create(meeting=closed, version=1, file="p.pdf", sha256="0" * 64,
                        uploaded_by=case_manager, finalized_at=timezone.now())  # fmt: skip
    upcoming = f.MeetingFactory(student=student, scheduled_by=case_manager)
    paper = f.GuardianFactory(student=student, full_name="Paula Paper", email="")
    MeetingNotice.objects.create(meeting=upcoming, guardian=paper, kind="scheduled")
    due = f.StudentFactory(school=school, case_manager=case_manager, first_name="Duey",
                           reevaluation_due=timezone.localdate() + 5 * DAY)  # fmt: skip
    someone_elses = f.StudentFactory(school=school, first_name="Notmine")
    _past(someone_elses, case_manager, days=4)

    client.force_login(case_manager)
    page = client.get(HOME).content.decode()
    section = page.split('id="home-case-manager-work"')[1].split("</section>")[0]
    assert reverse("meeting_detail", args=[unrecorded.pk]) in section
    assert "record that it was held and who attended" in section
    assert reverse("meeting_detail", args=[no_plan.pk]) + "#plans" in section
    assert reverse("meeting_detail", args=[closed.pk]) not in section
    assert "Paula Paper" in section and "send the notice on paper" in section
    assert f"{due.full_name}: re-evaluation due" in section
    assert reverse("meeting_schedule", args=[due.pk]) in section
    assert "Notmine" not in section  # not on this case manager's caseload


def test_the_principal_sees_the_requests_decided_in_the_last_30_days(
    client, principal, meeting, seca
):
    recent = f.AttendanceRequestFactory(meeting=meeting, seca=seca, status="denied",
        deny_reason="group", decided_by=principal, decided_at=timezone.now() - 2 * DAY)  # fmt: skip
    old_seca = f.UserFactory(full_name="Olden Seca")
    f.AttendanceRequestFactory(meeting=meeting, seca=old_seca, status="approved",
        coverage_note="x", decided_by=principal, decided_at=timezone.now() - 40 * DAY)  # fmt: skip
    client.force_login(principal)
    page = client.get(HOME).content.decode()
    assert "Decided in the last 30 days" in page
    assert reverse("request_decide", args=[recent.pk]) in page
    assert "denied by Pat Principal" in page and "Olden Seca" not in page


def test_the_seca_sees_past_requests_feedback_owed_plans_and_their_schedule(
    client, seca, student, case_manager, school
):
    past = _past(student, case_manager, days=6, state=Meeting.State.HELD)
    denied = f.AttendanceRequestFactory(meeting=past, seca=seca, status="denied",
        deny_reason="group", decided_by=case_manager, decided_at=timezone.now() - 8 * DAY)  # fmt: skip
    plan = Plan.objects.create(meeting=past, version=1, file="p.pdf", sha256="0" * 64,
                               uploaded_by=case_manager, finalized_at=timezone.now())  # fmt: skip
    PlanDelivery.objects.create(plan=plan, recipient=seca, reason="seca", sent_at=timezone.now())
    f.ScheduleBlockFactory(seca=seca, student=student, weekday=ScheduleBlock.Weekday.TUESDAY)
    client.force_login(seca)
    page = client.get(HOME).content.decode()
    assert reverse("feedback_edit", args=[past.pk]) in page and "give your feedback" in page
    assert "1 finalized plan received" in page and "1 not opened yet" in page
    assert 'class="badge request-denied' in page.split("past-requests")[1]
    assert "Tuesday" in page.split("weekly-schedule")[1]
    assert denied.pk  # the request the page shows
    assert AttendanceRequest.objects.filter(seca=seca).count() == 1


def test_the_union_reaches_the_district_report_from_home(client, db):
    union = f.UserFactory(roles=[(Role.Kind.UNION_REP, None)])
    client.force_login(union)
    page = client.get(HOME).content.decode()
    assert reverse("reports_district") in page
    assert client.get(reverse("reports_district")).status_code == 200


def test_the_principal_reaches_the_schools_report_from_home(client, principal, school):
    client.force_login(principal)
    assert reverse("reports_school", args=[school.pk]) in client.get(HOME).content.decode()
