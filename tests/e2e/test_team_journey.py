"""The team around the meeting in real Chromium: the case manager records a parent's phone
answer and adds an invitee; a parent, in English and in Spanish, states a wish about the
SECA and later sees its outcome; a SECA marked absent gives feedback after the meeting and
the case manager reads it in the packet's addendum."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from meetings.models import Invitation, Meeting, NoticeResponse, SecaFeedback
from meetings.services import attendance, scheduling
from staff.models import Role

from .. import factories as f
from .test_request_journeys import sign_in, sign_out

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_case_manager_records_a_phone_answer_and_adds_an_invitee(
    page, live_server, case_manager, meeting, student, school
):
    f.GuardianFactory(student=student, full_name="Rosa Díaz", relationship="Mother", email="")
    f.UserFactory(full_name="Tina Teacher", roles=[(Role.Kind.TEACHER, school)])
    sign_in(page, live_server, case_manager)
    page.goto(f"{live_server.url}/meetings/{meeting.pk}/")

    page.get_by_role("link", name="Record a parent's answer given by phone or on paper").click()
    page.get_by_label("Parent or guardian").select_option(label="Rosa Díaz (Mother)")
    page.check('input[name="answer"][value="attend"]')
    page.check('input[name="method"][value="phone"]')
    page.get_by_role("button", name="Record the answer").click()
    answers = page.locator(".notice-responses")
    expect(answers).to_contain_text("Rosa Díaz: I will attend")
    expect(answers).to_contain_text("By phone on")
    expect(answers).to_contain_text("recorded by Casey Manager")
    assert NoticeResponse.objects.get(meeting=meeting).recorded_by == case_manager

    page.get_by_role("link", name="Change who is invited").click()
    page.get_by_label("A staff member of the school").select_option(label="Tina Teacher")
    page.get_by_role("button", name="Invite and update the notice").click()
    expect(page.locator(".alert-success").first).to_contain_text("Tina Teacher is invited")
    expect(page.locator(".team-list")).to_contain_text("Tina Teacher")
    assert Invitation.objects.filter(meeting=meeting, user__full_name="Tina Teacher").exists()


@pytest.mark.parametrize(
    ("language", "none_yet", "approved"),
    [
        (
            "en",
            "No SECA has asked to attend this meeting yet.",
            "Jerry Seca (SECA) asked to attend: approved, they will be at the meeting.",
        ),
        (
            "es",
            "Ningún SECA ha pedido asistir a esta reunión todavía.",
            "Jerry Seca (SECA) pidió asistir: aprobado, estará en la reunión.",
        ),
    ],
)
def test_parent_states_a_wish_and_later_sees_the_outcome(
    page, live_server, parent, seca, principal, meeting, school, language, none_yet, approved
):
    parent.preferred_language = language
    parent.save(update_fields=["preferred_language"])
    sign_in(page, live_server, parent)
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.goto(f"{live_server.url}/meetings/{meeting.pk}/notice/")
    page.check('input[name="wish-wish"][value="attend"]')
    page.locator(
        f'form[action="/meetings/{meeting.pk}/notice/seca/"] button[type="submit"]'
    ).click()
    expect(page.locator(".alert-success").first).to_be_visible()
    expect(page.locator(".seca-outcome")).to_contain_text(none_yet)
    sign_out(page)

    # The SECA, told of the wish, asks; the principal approves with a teacher covering.
    cover = f.UserFactory(full_name="Tina Teacher", roles=[(Role.Kind.TEACHER, school)])
    req = attendance.attendance_request_submit(seca=seca, meeting=meeting)
    attendance.attendance_request_decide(
        approver=principal,
        attendance_request=req,
        approve=True,
        seen_version=req.version,
        covered_by=cover,
    )

    sign_in(page, live_server, parent)
    page.goto(f"{live_server.url}/children/{meeting.student_id}/")
    expect(page.locator(".seca-outcome")).to_contain_text(approved)
    page.goto(f"{live_server.url}/meetings/{meeting.pk}/notice/")
    expect(page.locator(".seca-outcome")).to_contain_text(approved)


def test_absent_seca_gives_feedback_after_the_meeting_and_the_case_manager_reads_it(
    page, live_server, seca, principal, case_manager, meeting
):
    attendance.attendance_request_submit(seca=seca, meeting=meeting)
    req = meeting.requests.get()
    attendance.attendance_request_decide(
        approver=principal,
        attendance_request=req,
        approve=True,
        seen_version=req.version,
        coverage_note="The class is at music",
    )
    Meeting.objects.filter(pk=meeting.pk).update(
        starts_at=timezone.now() - datetime.timedelta(days=1),
        ends_at=timezone.now() - datetime.timedelta(days=1) + datetime.timedelta(hours=1),
    )
    meeting.refresh_from_db()
    scheduling.meeting_mark_held(actor=case_manager, meeting=meeting, attended_ids=[])

    sign_in(page, live_server, seca)
    page.locator(".feedback-owed a").first.click()
    expect(page.locator(".after-meeting")).to_contain_text("you can still give your feedback")
    page.get_by_label("The student's strengths").fill("He settles fastest with a visual timer")
    page.get_by_role("button", name="Submit to the team").click()
    expect(page.locator(".alert-success").first).to_contain_text("addendum to the packet")
    assert SecaFeedback.objects.get(meeting=meeting).after_meeting
    sign_out(page)

    sign_in(page, live_server, case_manager)
    page.goto(f"{live_server.url}/notifications/")
    page.get_by_role("link", name="gave feedback after").first.click()
    addendum = page.locator("#addendum")
    expect(addendum).to_contain_text("given after the meeting")
    expect(addendum).to_contain_text("He settles fastest with a visual timer")
