"""A Spanish-speaking parent opens the invitation, sets a password, lands on their child's
team in Spanish, switches to English with the language button (a plain form: no script),
and answers the notice of meeting; the strict CSP refuses nothing."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from meetings.models import NoticeResponse
from staff.invites import guardian_invite
from staff.models import Role
from tests import factories as f


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_spanish_parent_accepts_the_invitation_and_answers_the_notice(live_server, page):
    school = f.SchoolFactory(name="Skinner North")
    case_manager = f.UserFactory(
        full_name="Casey Manager", roles=[(Role.Kind.CASE_MANAGER, school)]
    )
    student = f.StudentFactory(
        school=school, first_name="Jordan", last_name="Rivera", case_manager=case_manager
    )
    guardian = f.GuardianFactory(
        student=student, full_name="María López", email="maria@example.net", preferred_language="es"
    )
    meeting = f.MeetingFactory(
        student=student,
        scheduled_by=case_manager,
        starts_at=timezone.now() + datetime.timedelta(days=12),
    )
    invite = guardian_invite(case_manager=case_manager, guardian=guardian, email=guardian.email)
    csp_violations = []
    page.on(
        "console",
        lambda m: csp_violations.append(m.text) if "Content Security Policy" in m.text else None,
    )

    page.goto(reverse("invite_accept", args=[invite.token]))
    expect(page.get_by_role("heading", name="Siga las reuniones del IEP de Jordan")).to_be_visible()
    page.get_by_label(re.compile(r"^\s*Contraseña nueva\s*\*?\s*$")).fill(
        "a-long-family-passphrase"
    )
    page.get_by_label("Contraseña nueva (confirmación)").fill("a-long-family-passphrase")
    page.get_by_role("button", name="Crear mi cuenta").click()

    expect(page).to_have_url(live_server.url + reverse("parent_child", args=[student.pk]))
    expect(page.get_by_role("heading", name="Equipo de apoyo de Jordan Rivera")).to_be_visible()
    expect(page.get_by_text("Casey Manager")).to_be_visible()

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Jordan Rivera's support team")).to_be_visible()

    page.get_by_role("link", name="Annual review").click()
    expect(page).to_have_url(live_server.url + reverse("notice", args=[meeting.pk]))
    expect(page.get_by_role("heading", name="Notice of meeting")).to_be_visible()
    page.get_by_label("I ask for another time").check()
    page.get_by_role("button", name="Send my answer").click()
    expect(
        page.get_by_text("Say which days and times would work for you.", exact=True)
    ).to_be_visible()
    page.get_by_label("Note to the school").fill("Any afternoon after 3")
    page.get_by_role("button", name="Send my answer").click()
    expect(page.get_by_text("your answer was sent to the school")).to_be_visible()

    answer = NoticeResponse.objects.get(meeting=meeting)
    assert (answer.answer, answer.note) == ("another_time", "Any afternoon after 3")
    assert re.search("Español", page.content())
    assert csp_violations == []
