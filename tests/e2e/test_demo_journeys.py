"""The journeys of the request and scheduling issues, walked with the demo district's own
logins, as a newcomer would after `make run`."""

import datetime
import io
import re

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from meetings.models import AttendanceRequest, Meeting, SecaFeedback
from meetings.services import attendance
from staff.models import Guardian, User

from .test_request_journeys import sign_in, sign_out

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "iepcoord-demo"


@pytest.fixture
def demo(settings):
    settings.DEBUG = True  # load_demo refuses to run otherwise
    call_command("load_demo", stdout=io.StringIO())
    settings.DEBUG = False
    users = {
        name: User.objects.get(email=f"{name}@demo.iepcoord.org")
        for name in ["principal", "ap", "casemanager", "k.obi", "seca", "seca2", "parent"]
    }
    child = (
        Guardian.objects.filter(user=users["parent"], student__assignments__staff=users["seca"])
        .get()
        .student
    )
    return users, child


def login(page, live_server, user):
    sign_in(page, live_server, user, password=PASSWORD)


def test_demo_seca_is_denied_gives_feedback_and_the_case_manager_reads_it(page, live_server, demo):
    users, child = demo
    meeting = (
        Meeting.objects.upcoming()
        .filter(student=child)
        .exclude(requests__seca=users["seca"])
        .earliest("starts_at")
    )

    login(page, live_server, users["seca"])
    page.goto(f"{live_server.url}/meetings/{meeting.pk}/request/")
    page.get_by_label(re.compile("What would you bring")).fill("I know her morning routine")
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_text("Your request was sent")).to_be_visible()
    req = AttendanceRequest.objects.get(meeting=meeting, seca=users["seca"], status="pending")
    sign_out(page)

    login(page, live_server, users["principal"])
    page.goto(f"{live_server.url}/approvals/")
    item = page.locator(f"article:has(#req-{req.pk}-title)")
    expect(item).to_contain_text("I know her morning routine")
    expect(item.locator(".conflicts")).to_contain_text("would be left")
    # Any staff member free then may cover, not another SECA (contract).
    expect(item.locator(".free-staff")).to_contain_text(users["k.obi"].full_name)
    expect(item.locator(".free-staff")).not_to_contain_text(users["seca2"].full_name)
    item.get_by_role("link", name=re.compile("Decide")).click()
    page.get_by_label("Reason").select_option(label="Scheduled with another student")
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_text("Denied.")).to_be_visible()
    sign_out(page)

    login(page, live_server, users["seca"])
    page.goto(f"{live_server.url}/meetings/{meeting.pk}/feedback/")
    expect(page.locator(".not-honored")).to_contain_text("Scheduled with another student")
    page.get_by_label("The student's strengths").fill("Reads aloud to younger students")
    page.get_by_label(re.compile("What works")).fill("A quiet corner after recess")
    page.get_by_role("button", name="Submit to the team").click()
    expect(page.get_by_text("Your feedback was submitted")).to_be_visible()
    assert SecaFeedback.objects.get(meeting=meeting, seca=users["seca"]).submitted_at
    sign_out(page)

    login(page, live_server, users["casemanager"])
    page.goto(f"{live_server.url}/meetings/{meeting.pk}/")
    expect(page.locator(".feedback").first).to_contain_text("A quiet corner after recess")
    page.get_by_role("link", name="Printable meeting packet").click()
    expect(page.locator(".packet")).to_contain_text("Reads aloud to younger students")


def test_demo_designee_approves_with_coverage_and_the_seca_sees_it(page, live_server, demo):
    users, _ = demo
    req = AttendanceRequest.objects.filter(seca=users["seca"], status="pending").get()
    login(page, live_server, users["ap"])
    page.goto(f"{live_server.url}/requests/{req.pk}/decide/")
    page.get_by_label("Who covers the SECA's students").select_option(
        label=users["k.obi"].full_name
    )
    page.get_by_role("button", name="Approve with this coverage").click()
    expect(page.get_by_text("Approved.")).to_be_visible()
    sign_out(page)

    login(page, live_server, users["seca"])
    expect(page.locator(".request-approved").first).to_be_visible()
    req.refresh_from_db()
    assert (req.status, req.decided_by, req.covered_by) == ("approved", users["ap"], users["k.obi"])


def test_demo_parent_reads_a_new_notice_in_spanish_and_asks_for_the_seca(page, live_server, demo):
    users, child = demo
    day = timezone.localdate() + datetime.timedelta(days=21)
    while day.weekday() > 4:
        day += datetime.timedelta(days=1)

    login(page, live_server, users["casemanager"])
    page.goto(f"{live_server.url}/students/{child.pk}/meetings/new/")
    page.locator('select[name="kind"]').select_option("amendment")
    page.locator('input[name="starts_at_0"]').fill(day.isoformat())
    page.locator('input[name="starts_at_1"]').fill("13:30")
    page.locator('input[name="location"]').fill("Library")
    page.check(f'input[name="invitees"][value="{users["seca"].pk}"]')
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Schedule and send the notice").click()
    meeting = Meeting.objects.get(
        student=child, kind="amendment", state="scheduled", location="Library"
    )
    sign_out(page)
    attendance.attendance_request_submit(seca=users["seca"], meeting=meeting)

    login(page, live_server, users["parent"])
    page.goto(f"{live_server.url}/meetings/{meeting.pk}/notice/")
    page.locator('button[name="language"][value="es"]').click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("main")).to_contain_text("Aviso de reunión")
    page.check('input[name="wish-wish"][value="attend"]')
    page.locator('textarea[name="wish-note"]').fill("Ella conoce bien a mi hija")
    page.locator(
        f'form[action="/meetings/{meeting.pk}/notice/seca/"] button[type="submit"]'
    ).click()
    expect(page.locator(".alert-success").first).to_be_visible()
    sign_out(page)

    login(page, live_server, users["principal"])
    page.goto(f"{live_server.url}/approvals/")
    item = page.locator(f"article:has(#req-{meeting.requests.get().pk}-title)")
    expect(item.locator(".parent-wish")).to_contain_text("Ella conoce bien a mi hija")
