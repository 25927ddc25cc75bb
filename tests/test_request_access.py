"""Requests and decisions: who may withdraw, decide and read them. A record the person may
not see is a 404 (FERPA: not even whether it exists leaks); one they see without the right
is a 403. The whole matrix of pages and personas is tests/test_access_matrix.py."""

import pytest
from django.urls import reverse

from meetings.models import AttendanceRequest, Meeting
from staff.models import AuditEvent, Designation, Role

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


@pytest.mark.parametrize(
    ("persona", "status"), [("other_school_seca", 404), ("parent", 404), ("principal", 403)]
)
def test_only_the_requesting_seca_can_withdraw(persona, status, request, client, pending):
    client.force_login(request.getfixturevalue(persona))
    assert client.post(reverse("request_withdraw", args=[pending.pk])).status_code == status
    pending.refresh_from_db()
    assert pending.status == AttendanceRequest.Status.PENDING


@pytest.mark.parametrize(
    ("persona", "status"),
    [("other_principal", 404), ("case_manager", 403), ("seca", 403), ("district_admin", 403)],
)
def test_only_approvers_of_the_school_can_decide(persona, status, request, client, pending):
    # The school's staff and the SECA see the request; only the approvers decide it.
    client.force_login(request.getfixturevalue(persona))
    response = client.post(
        reverse("request_decide", args=[pending.pk]),
        {"deny-version": pending.version, "deny-deny_reason": "group", "deny": ""},
    )
    assert response.status_code == status
    pending.refresh_from_db()
    assert pending.status == AttendanceRequest.Status.PENDING


def test_a_designee_who_lost_the_role_no_longer_decides(client, designee, pending, school):
    Role.objects.filter(user=designee, school=school).delete()
    client.force_login(designee)
    assert client.get(reverse("request_decide", args=[pending.pk])).status_code == 404
    assert client.get(reverse("approval_queue")).status_code == 404


def test_a_refused_attempt_on_a_request_is_in_the_students_access_log(
    client, case_manager, pending
):
    client.force_login(case_manager)
    assert client.get(reverse("request_decide", args=[pending.pk])).status_code == 403
    event = AuditEvent.objects.get(denied=True)
    assert (event.actor, event.student, event.object_id) == (
        case_manager,
        pending.meeting.student,
        str(pending.pk),
    )
    assert event.ip == "127.0.0.1"


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
