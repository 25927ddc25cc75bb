"""The request journeys in real Chromium against the live server."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from meetings.models import AttendanceRequest, SecaFeedback
from staff.models import Role

from .. import factories as f

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, user, password=f.PASSWORD):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill('input[name="login"]', user.email)
    page.fill('input[name="password"]', password)
    page.locator('main form button[type="submit"]').click()
    expect(page.locator("main h1").first).to_be_visible()


def sign_out(page):
    page.locator('form[action="/accounts/logout/"] button').click()
    expect(page.locator('input[name="login"]')).to_be_visible()


@pytest.fixture
def team(school, student, seca, principal, designee, case_manager):
    today = timezone.localdate()
    monday = today + datetime.timedelta(days=14 - today.weekday())
    starts = timezone.make_aware(datetime.datetime.combine(monday, datetime.time(9)))
    meeting = f.MeetingFactory(
        student=student,
        scheduled_by=case_manager,
        starts_at=starts,
        ends_at=starts + datetime.timedelta(hours=1),
        location="Room 104",
    )
    f.ScheduleBlockFactory(
        seca=seca,
        student=None,
        school=school,
        group_name="Room 210 reading group",
        weekday=0,
        starts=datetime.time(8, 30),
        ends=datetime.time(10),
    )
    # A teacher: the contract limits using SECAs to cover for other staff.
    cover = f.UserFactory(full_name="Cora Cover", roles=[(Role.Kind.TEACHER, school)])
    return {"meeting": meeting, "cover": cover}


def test_denied_seca_gives_feedback_that_reaches_the_case_manager(
    page, live_server, team, seca, principal, case_manager
):
    meeting = team["meeting"]
    sign_in(page, live_server, seca)
    page.get_by_role("link", name="Request to attend").first.click()
    page.get_by_label(re.compile("What would you bring")).fill("He trusts me at transitions")
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_text("Your request was sent")).to_be_visible()
    sign_out(page)

    sign_in(page, live_server, principal)
    page.goto(f"{live_server.url}/approvals/")
    item = page.locator(".queue-item").first
    expect(item).to_contain_text("Room 210 reading group")
    expect(item).to_contain_text("He trusts me at transitions")
    expect(item.locator(".free-staff")).to_contain_text("Cora Cover")
    item.get_by_role("link", name=re.compile("Decide")).click()
    page.get_by_label("Reason").select_option(label="Supporting a group of students")
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_text("Denied.")).to_be_visible()
    sign_out(page)

    sign_in(page, live_server, seca)
    page.get_by_role("link", name="Give your feedback").first.click()
    expect(page.locator(".not-honored")).to_contain_text("Supporting a group of students")
    page.get_by_label("The student's strengths").fill("Loves maps and trains")
    page.get_by_label(re.compile("What works")).fill("A visual timer before transitions")
    page.get_by_role("button", name="Submit to the team").click()
    expect(page.get_by_text("Your feedback was submitted")).to_be_visible()
    assert SecaFeedback.objects.get(meeting=meeting, seca=seca).submitted_at
    sign_out(page)

    sign_in(page, live_server, case_manager)
    page.goto(f"{live_server.url}/meetings/{meeting.pk}/")
    expect(page.locator(".requests")).to_contain_text("Denied")
    expect(page.locator(".feedback")).to_contain_text("A visual timer before transitions")
    page.get_by_role("link", name="Printable meeting packet").click()
    expect(page.locator(".packet")).to_contain_text("Loves maps and trains")
    expect(page.locator(".packet")).to_contain_text("Jerry Seca")


def test_designee_approves_with_coverage_and_the_seca_sees_it(
    page, live_server, team, seca, designee
):
    req = f.AttendanceRequestFactory(meeting=team["meeting"], seca=seca, note="I can help")
    sign_in(page, live_server, designee)
    page.goto(f"{live_server.url}/approvals/")
    page.locator(".queue-item").first.get_by_role("link", name=re.compile("Decide")).click()
    page.get_by_label("Who covers the SECA's students").select_option(label="Cora Cover")
    page.get_by_role("button", name="Approve with this coverage").click()
    expect(page.get_by_text("Approved.")).to_be_visible()
    req.refresh_from_db()
    assert req.status == AttendanceRequest.Status.APPROVED and req.decided_by == designee
    sign_out(page)

    sign_in(page, live_server, seca)
    expect(page.locator(".request-approved").first).to_be_visible()
    page.goto(f"{live_server.url}/notifications/")
    expect(page.locator(".notifications")).to_contain_text("Approved: your request to attend")
    # The notification leads to the meeting, where the decision says who made it.
    page.locator(".notifications a").first.click()
    expect(page.locator("table.requests")).to_contain_text("Dana Designee")
