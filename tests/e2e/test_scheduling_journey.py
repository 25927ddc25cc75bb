"""The scheduling journey in real Chromium: the case manager schedules, the parent reads the
notice in Spanish and asks for the SECA, and the principal sees that wish when deciding."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from meetings.models import Meeting, ParentWish
from meetings.services import attendance

from .test_request_journeys import sign_in, sign_out

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_parent_reads_the_notice_in_spanish_and_asks_for_the_seca(
    page, live_server, student, seca, parent, case_manager, principal
):
    parent.preferred_language = "es"
    parent.save(update_fields=["preferred_language"])
    day = timezone.localdate() + datetime.timedelta(days=15)

    sign_in(page, live_server, case_manager)
    page.goto(f"{live_server.url}/students/{student.pk}/meetings/new/")
    page.locator('select[name="kind"]').select_option("annual")
    page.locator('input[name="starts_at_0"]').fill(day.isoformat())
    page.locator('input[name="starts_at_1"]').fill("10:00")
    page.locator('input[name="location"]').fill("Room 104")
    page.check(f'input[name="invitees"][value="{seca.pk}"]')
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".schedule-preview")).to_contain_text("Jerry Seca")
    page.get_by_role("button", name="Schedule and send the notice").click()
    meeting = Meeting.objects.get(student=student)
    assert timezone.localtime(meeting.starts_at).date() == day
    sign_out(page)

    # The SECA asks to attend, so the request waits in the principal's queue.
    attendance.attendance_request_submit(seca=seca, meeting=meeting)

    sign_in(page, live_server, parent)
    page.goto(f"{live_server.url}/meetings/{meeting.pk}/notice/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("main")).to_contain_text("Aviso de reunión")
    expect(page.locator("main")).to_contain_text("Jerry Seca")
    page.check('input[name="wish-wish"][value="attend"]')
    page.locator('textarea[name="wish-note"]').fill("Él conoce bien a mi hijo")
    page.locator(
        f'form[action="/meetings/{meeting.pk}/notice/seca/"] button[type="submit"]'
    ).click()
    expect(page.locator(".alert-success").first).to_be_visible()
    assert ParentWish.objects.get(meeting=meeting).wish == "attend"
    sign_out(page)

    sign_in(page, live_server, principal)
    page.goto(f"{live_server.url}/approvals/")
    wish = page.locator(".queue-item .parent-wish").first
    expect(wish).to_contain_text("I ask that the SECA attend")
    expect(wish).to_contain_text("Él conoce bien a mi hijo")
