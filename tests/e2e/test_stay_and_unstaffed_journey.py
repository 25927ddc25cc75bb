"""Staying with a student, and the students left without their aide, in real Chromium:
the SECA asks to stay (with a student, or with a classroom of their schedule), the
principal decides from their home, the SECA sees the outcome; the principal opens the
unstaffed list from their home."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from staff.models import Student

from .. import factories as f
from .test_request_journeys import sign_in, sign_out

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_seca_asks_to_stay_and_the_principal_approves_from_home(
    page, live_server, seca, student, principal
):
    sign_in(page, live_server, seca)
    page.get_by_role("link", name="Ask to stay with my students").click()
    page.get_by_role("link", name=f"Ask to stay with {student.full_name}").click()
    page.get_by_label("For the next school year").check()
    page.get_by_label(re.compile("Why should you stay")).fill("Changes of aide set him back")
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_text("Your request was sent")).to_be_visible()
    expect(page.locator(".stay-requests")).to_contain_text("Pending")
    sign_out(page)

    sign_in(page, live_server, principal)
    home = page.locator(".stay-pending")
    expect(home).to_contain_text(f"{seca.full_name} asks to stay with {student.full_name}")
    home.get_by_role("link", name=re.compile("Decide")).click()
    expect(page.locator(".stay-item")).to_contain_text("Changes of aide set him back")
    page.get_by_label("Note to the SECA (optional)").fill("Yes: same room next year")
    page.get_by_role("button", name="Approve the request to stay").click()
    expect(page.get_by_text("Approved.")).to_be_visible()
    expect(page.locator(".stay-approved")).to_contain_text(student.full_name)
    sign_out(page)

    sign_in(page, live_server, seca)
    page.get_by_role("link", name="Ask to stay with my students").click()
    row = page.locator(".stay-requests tbody tr").first
    expect(row).to_contain_text("Approved")
    expect(row).to_contain_text("Yes: same room next year")


def test_seca_asks_to_stay_with_a_classroom_and_the_principal_denies(
    page, live_server, seca, school, principal
):
    f.ScheduleBlockFactory(seca=seca, school=school, student=None, group_name="Room 210 reading")
    sign_in(page, live_server, seca)
    page.get_by_role("link", name="Ask to stay with my students").click()
    expect(page.locator(".stay-classrooms")).to_contain_text("Room 210 reading")
    page.get_by_role("link", name="Ask to stay with a classroom").click()
    page.get_by_label("Classroom").select_option(label=f"Room 210 reading · {school.name}")
    page.get_by_label("A reassignment was announced").check()
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_text("Your request was sent")).to_be_visible()
    expect(page.locator(".stay-requests")).to_contain_text("classroom Room 210 reading")
    sign_out(page)

    sign_in(page, live_server, principal)
    home = page.locator(".stay-pending")
    expect(home).to_contain_text(f"{seca.full_name} asks to stay with classroom Room 210 reading")
    home.get_by_role("link", name=re.compile("Decide")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Decide a request to stay with a classroom"
    )
    page.get_by_label("Reason").select_option("staffing")
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_text("Denied.")).to_be_visible()
    sign_out(page)

    sign_in(page, live_server, seca)
    page.get_by_role("link", name="Ask to stay with my students").click()
    row = page.locator(".stay-requests tbody tr").first
    expect(row).to_contain_text("classroom Room 210 reading")
    expect(row).to_contain_text("Denied")


def test_principal_opens_the_unstaffed_list_from_home(page, live_server, school, principal):
    since = timezone.localdate() - datetime.timedelta(days=17)
    f.StudentFactory(
        school=school,
        first_name="Amir",
        last_name="Hassan",
        aide_support=Student.AideSupport.ONE_TO_ONE,
        aide_minutes_per_day=390,
        unstaffed_since=since,
    )
    sign_in(page, live_server, principal)
    page.get_by_role("link", name=f"Students without their required aide at {school.name}").click()
    row = page.locator("table.unstaffed tbody tr").first
    expect(row).to_contain_text("Amir Hassan")
    expect(row).to_contain_text("One-to-one aide")
    expect(row).to_contain_text("390")
    expect(row.locator("td").nth(3)).to_have_text("17")
