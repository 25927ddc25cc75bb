"""A SECA signs in through the form, sees their student's upcoming meeting, signs out."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from meetings.models import Meeting
from staff.models import Role
from tests import factories as f


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_seca_signs_in_sees_their_students_meeting_and_signs_out(live_server, page):
    school = f.SchoolFactory(name="Skinner North")
    seca = f.UserFactory(
        email="jerry.seca@example.org", full_name="Jerry Seca", roles=[(Role.Kind.SECA, school)]
    )
    student = f.StudentFactory(school=school, first_name="Jordan", last_name="Rivera")
    f.AssignmentFactory(student=student, staff=seca)
    meeting = f.MeetingFactory(
        student=student, kind=Meeting.Kind.ANNUAL_REVIEW, location="Room 104"
    )
    # The strict CSP: an inline script or style="" would be refused, and logged.
    csp_violations = []
    page.on(
        "console",
        lambda m: csp_violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    login_path = reverse("account_login")

    page.goto(reverse("home"))
    expect(page).to_have_url(re.compile(re.escape(login_path)))
    page.get_by_label("Email").fill("jerry.seca@example.org")
    page.get_by_label("Password").fill(f.PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(live_server.url + reverse("home"))
    expect(page.get_by_role("heading", name="My students")).to_be_visible()
    card = page.locator(".card", has=page.get_by_role("heading", name="Jordan Rivera"))
    expect(card).to_be_visible()
    row = card.get_by_role("row", name=re.compile("Annual review"))
    expect(row).to_contain_text("Room 104")
    expect(row.get_by_role("link", name="Annual review")).to_have_attribute(
        "href", reverse("meeting_detail", args=[meeting.pk])
    )

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(re.escape(login_path)))
    page.goto(reverse("home"))
    expect(page).to_have_url(re.compile(re.escape(login_path)))
    assert csp_violations == []
