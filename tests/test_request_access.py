"""Who may open which page or take which action: own school or student allowed, anything
else a 404 (FERPA: not even whether the record exists leaks)."""

import pytest
from django.urls import reverse

from meetings.models import AttendanceRequest, Meeting
from staff.models import Designation, Role

from . import factories as f


@pytest.fixture
def other_principal(other_school):
    return f.UserFactory(roles=[(Role.Kind.PRINCIPAL, other_school)])


@pytest.fixture
def teacher(school):
    return f.UserFactory(roles=[(Role.Kind.TEACHER, school)])


@pytest.fixture
def pending(meeting, seca):
    return f.AttendanceRequestFactory(meeting=meeting, seca=seca)


PERSONAS = [
    "seca",
    "other_school_seca",
    "principal",
    "designee",
    "other_principal",
    "case_manager",
    "teacher",
    "parent",
    "other_parent",
    "district_admin",
]

# page -> the personas who get a 200; everyone else gets a 404.
MATRIX = {
    "meeting_detail": {
        "seca",
        "principal",
        "designee",
        "case_manager",
        "teacher",
        "parent",
        "district_admin",
    },
    "meeting_packet": {"principal", "designee", "case_manager", "teacher", "district_admin"},
    "request_create": {"seca"},
    "feedback_edit": {"seca"},
    # Every approver has a queue; another school's principal sees nothing of this school.
    "approval_queue": {"principal", "designee", "other_principal"},
    "request_decide": {"principal", "designee"},
    "designees": {"principal"},
}


def url_for(page, meeting, pending, school):
    if page in ("meeting_detail", "meeting_packet", "request_create", "feedback_edit"):
        return reverse(page, args=[meeting.pk])
    if page == "request_decide":
        return reverse(page, args=[pending.pk])
    if page == "designees":
        return reverse(page, args=[school.pk])
    return reverse(page)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("page", list(MATRIX))
def test_access_matrix(page, persona, request, client, meeting, pending, school, designee):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    response = client.get(url_for(page, meeting, pending, school))
    assert response.status_code == (200 if persona in MATRIX[page] else 404)


@pytest.mark.parametrize("page", list(MATRIX))
def test_anonymous_is_sent_to_sign_in(page, client, meeting, pending, school):
    response = client.get(url_for(page, meeting, pending, school))
    assert response.status_code == 302 and "/accounts/login/" in response.url


@pytest.mark.parametrize("persona", ["other_school_seca", "principal", "parent"])
def test_only_the_requesting_seca_can_withdraw(persona, request, client, pending):
    client.force_login(request.getfixturevalue(persona))
    assert client.post(reverse("request_withdraw", args=[pending.pk])).status_code == 404
    pending.refresh_from_db()
    assert pending.status == AttendanceRequest.Status.PENDING


@pytest.mark.parametrize("persona", ["other_principal", "case_manager", "seca", "district_admin"])
def test_only_approvers_of_the_school_can_decide(persona, request, client, pending):
    client.force_login(request.getfixturevalue(persona))
    response = client.post(
        reverse("request_decide", args=[pending.pk]),
        {"deny-version": pending.version, "deny-deny_reason": "group", "deny": ""},
    )
    assert response.status_code == 404
    pending.refresh_from_db()
    assert pending.status == AttendanceRequest.Status.PENDING


def test_other_principal_cannot_remove_a_designee(client, other_principal, designee):
    client.force_login(other_principal)
    designation = Designation.objects.get(designee=designee)
    assert client.post(reverse("designee_remove", args=[designation.pk])).status_code == 404
    assert Designation.objects.filter(pk=designation.pk).exists()


@pytest.mark.parametrize("name", ["request_withdraw", "designee_remove", "notifications_mark_read"])
def test_state_changes_refuse_get(name, client, seca, pending, designee):
    client.force_login(seca)
    args = {
        "request_withdraw": [pending.pk],
        "designee_remove": [Designation.objects.get(designee=designee).pk],
    }.get(name, [])
    assert client.get(reverse(name, args=args)).status_code == 405


def test_seca_sees_only_own_request_on_the_meeting_page(client, meeting, seca, school):
    other = f.UserFactory(full_name="Sam Otherseca", roles=[(Role.Kind.SECA, school)])
    f.AssignmentFactory(student=meeting.student, staff=other)
    f.AttendanceRequestFactory(meeting=meeting, seca=other, note="private note")
    client.force_login(seca)
    page = client.get(reverse("meeting_detail", args=[meeting.pk])).content.decode()
    assert "Sam Otherseca" not in page and "private note" not in page


def test_cancelled_meeting_page_still_opens_for_its_team(client, meeting, case_manager):
    Meeting.objects.filter(pk=meeting.pk).update(state=Meeting.State.CANCELLED)
    client.force_login(case_manager)
    assert client.get(reverse("meeting_detail", args=[meeting.pk])).status_code == 200


def test_another_schools_queue_does_not_show_this_schools_requests(
    client, other_principal, pending
):
    client.force_login(other_principal)
    page = client.get(reverse("approval_queue")).content.decode()
    assert pending.meeting.student.full_name not in page
    assert "No requests are waiting" in page
