"""Contract: "SECAs can request to stay with the student or classroom they were previously
assigned to". The SECA asks, the principal or a designee of the student's school decides
through the approval queue, the SECA is told; the roster import honors an approval."""

import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from meetings.models import Notification
from meetings.services.stay import (
    stay_request_decide,
    stay_request_submit,
    stay_request_submit_classroom,
    stay_request_withdraw,
)
from staff.models import (
    Assignment,
    AuditEvent,
    Role,
    StayRequest,
    Student,
    User,
    current_school_year,
)
from staff.services import DomainError

from . import factories as f
from .roster_export import Export

pytestmark = pytest.mark.django_db

Status = StayRequest.Status
NEXT = StayRequest.Occasion.NEXT_YEAR


def _stay(seca, student, **values):
    return f.StayRequestFactory(seca=seca, student=student, **values)


def test_seca_asks_to_stay_and_the_approvers_are_told(seca, student, principal, designee):
    stay = stay_request_submit(seca=seca, student=student, occasion=NEXT, note=" He trusts me ")
    assert (stay.status, stay.school_year, stay.note) == (
        Status.PENDING,
        current_school_year() + 1,
        "He trusts me",
    )
    assert AuditEvent.objects.filter(action="stay_request.submitted", student=student).exists()
    told = set(Notification.objects.filter(event="stay_submitted").values_list("user", flat=True))
    assert told == {principal.pk, designee.pk}


def test_seca_cannot_ask_for_a_student_never_assigned(seca, school):
    stranger = f.StudentFactory(school=school)
    with pytest.raises(DomainError):
        stay_request_submit(seca=seca, student=stranger, occasion=NEXT)
    assert not StayRequest.objects.exists()


def test_a_reassigned_seca_may_still_ask_this_year(client, seca, student):
    Assignment.objects.filter(staff=seca).update(ended_on=student.created_at.date())
    client.force_login(seca)
    response = client.post(
        reverse("stay_request_create", args=[student.pk]),
        {"occasion": StayRequest.Occasion.REASSIGNMENT, "note": ""},
    )
    assert response.status_code == 302
    assert StayRequest.objects.get().school_year == current_school_year()


def test_asking_twice_for_the_same_year_is_refused_next_to_the_field(client, seca, student):
    _stay(seca, student)
    client.force_login(seca)
    response = client.post(
        reverse("stay_request_create", args=[student.pk]), {"occasion": NEXT, "note": ""}
    )
    assert response.status_code == 400
    assert "already asked to stay" in response.context["form"].errors["occasion"][0]
    assert StayRequest.objects.count() == 1


def test_seca_of_another_student_gets_404_and_the_attempt_is_recorded(client, school, student):
    other = f.UserFactory(roles=[(Role.Kind.SECA, school)])
    client.force_login(other)
    assert client.get(reverse("stay_request_create", args=[student.pk])).status_code == 404
    assert AuditEvent.objects.filter(actor=other, denied=True, student=student).exists()


def test_principal_approves_from_the_queue_and_the_seca_is_told(client, principal, seca, student):
    stay = _stay(seca, student)
    client.force_login(principal)
    assert f"/stay/{stay.pk}/decide/" in client.get(reverse("approval_queue")).content.decode()
    response = client.post(
        reverse("stay_request_decide", args=[stay.pk]),
        {"approve-version": "0", "approve-decision_note": "See you in September", "approve": "1"},
    )
    assert response.status_code == 302
    stay.refresh_from_db()
    assert (stay.status, stay.decided_by, stay.decision_note) == (
        Status.APPROVED,
        principal,
        "See you in September",
    )
    [told] = Notification.objects.filter(user=seca)
    assert told.event == "stay_approved" and told.url == reverse("stay_request_list")
    client.force_login(seca)
    page = client.get(reverse("stay_request_list")).content.decode()
    assert "Approved" in page and "See you in September" in page


def test_a_denial_needs_a_reason_and_other_needs_a_note(principal, seca, student):
    stay = _stay(seca, student)
    with pytest.raises(DomainError) as no_reason:
        stay_request_decide(approver=principal, stay_request=stay, approve=False, seen_version=0)
    assert no_reason.value.field == "deny_reason"
    with pytest.raises(DomainError) as no_note:
        stay_request_decide(
            approver=principal,
            stay_request=stay,
            approve=False,
            seen_version=0,
            deny_reason="other",
        )
    assert no_note.value.field == "decision_note"
    stay_request_decide(
        approver=principal,
        stay_request=stay,
        approve=False,
        seen_version=0,
        deny_reason=StayRequest.DenyReason.STAFFING,
    )
    stay.refresh_from_db()
    assert stay.status == Status.DENIED and stay.get_deny_reason_display().startswith("The school")
    assert Notification.objects.get(user=seca).event == "stay_denied"


def test_two_approvers_at_once_the_first_wins(principal, designee, seca, student):
    stay = _stay(seca, student)
    stay_request_decide(approver=designee, stay_request=stay, approve=True, seen_version=0)
    with pytest.raises(DomainError, match="changed since you opened it"):
        stay_request_decide(
            approver=principal, stay_request=stay, approve=False, seen_version=0, deny_reason="staffing"
        )  # fmt: skip
    stay.refresh_from_db()
    assert stay.status == Status.APPROVED and stay.decided_by == designee


def test_seca_withdraws_while_pending_not_after(client, seca, student, principal):
    stay = _stay(seca, student)
    client.force_login(seca)
    assert client.get(reverse("stay_request_withdraw", args=[stay.pk])).status_code == 200
    assert client.post(reverse("stay_request_withdraw", args=[stay.pk])).status_code == 302
    stay.refresh_from_db()
    assert stay.status == Status.WITHDRAWN
    with pytest.raises(DomainError, match="withdrawn and can no longer be withdrawn"):
        stay_request_withdraw(seca=seca, stay_request=stay)


def test_another_schools_principal_gets_404(client, seca, student, other_school):
    stay = _stay(seca, student)
    outsider = f.UserFactory(roles=[(Role.Kind.PRINCIPAL, other_school)])
    client.force_login(outsider)
    assert client.get(reverse("stay_request_decide", args=[stay.pk])).status_code == 404
    response = client.post(
        reverse("stay_request_decide", args=[stay.pk]), {"approve-version": "0", "approve": "1"}
    )
    assert response.status_code == 404
    stay.refresh_from_db()
    assert stay.status == Status.PENDING


@pytest.mark.parametrize("n", [2, 12])
def test_seca_list_query_count_is_fixed(client, seca, school, n, django_assert_num_queries):
    for i in range(n):
        student = f.StudentFactory(school=school)
        f.AssignmentFactory(student=student, staff=seca)
        _stay(seca, student, status=Status.DENIED, deny_reason="staffing", decided_by=seca)
        _group(seca, school, f"Room {i}")
    client.force_login(seca)
    # session, user, standing, my requests (with student and decider), my students
    # (with their school), my classrooms, unread notifications
    with django_assert_num_queries(7):
        response = client.get(reverse("stay_request_list"))
    assert response.content.decode().count("stay-denied") == n


def test_decide_page_query_count(client, principal, seca, student, django_assert_num_queries):
    stay = _stay(seca, student)
    client.force_login(principal)
    # session, user, standing, the request (with student, school, SECA, decider), the
    # audit event of the view, unread notifications
    with django_assert_num_queries(6):
        assert client.get(reverse("stay_request_decide", args=[stay.pk])).status_code == 200


# --- A classroom: a group of the SECA's own schedule -------------------------------------


def _group(seca, school, name, **values):
    return f.ScheduleBlockFactory(seca=seca, school=school, student=None, group_name=name, **values)


def test_seca_asks_to_stay_with_a_classroom_and_the_approvers_are_told(
    seca, school, principal, designee
):
    _group(seca, school, "Room 210 reading group")
    stay = stay_request_submit_classroom(
        seca=seca, school_id=school.pk, classroom="Room 210 reading group", occasion=NEXT
    )
    assert (stay.student, stay.classroom, stay.school, stay.status) == (
        None,
        "Room 210 reading group",
        school,
        Status.PENDING,
    )
    assert AuditEvent.objects.filter(action="stay_request.submitted", school=school).exists()
    told = Notification.objects.filter(event="stay_submitted")
    assert set(told.values_list("user", flat=True)) == {principal.pk, designee.pk}
    assert "classroom Room 210 reading group" in told.first().message


def test_a_classroom_not_in_the_secas_schedule_is_refused_next_to_the_field(
    client, seca, school, other_school
):
    _group(f.UserFactory(roles=[(Role.Kind.SECA, school)]), school, "Someone else's group")
    _group(seca, school, "Last year's group", school_year=current_school_year() - 1)
    _group(seca, other_school, "A group where I am no SECA")
    for school_id, name in [
        (school.pk, "Someone else's group"),
        (school.pk, "Last year's group"),
        (other_school.pk, "A group where I am no SECA"),
    ]:
        with pytest.raises(DomainError) as refused:
            stay_request_submit_classroom(
                seca=seca, school_id=school_id, classroom=name, occasion=NEXT
            )
        assert refused.value.field == "classroom"
    assert not StayRequest.objects.exists()
    client.force_login(seca)
    response = client.post(
        reverse("stay_request_create_classroom"),
        {"classroom": f"{school.pk}:Someone else's group", "occasion": NEXT},
    )
    assert response.status_code == 400
    assert "id_classroom" in response.content.decode() and "is-invalid" in response.content.decode()
    assert not StayRequest.objects.exists()


def test_a_request_is_for_a_student_or_a_classroom_and_one_open_per_classroom(
    seca, student, school
):
    with pytest.raises(IntegrityError), transaction.atomic():
        _stay(seca, student, classroom="Room 210")
    with pytest.raises(IntegrityError), transaction.atomic():
        _stay(seca, None, school=school)
    _group(seca, school, "Room 210")
    stay_request_submit_classroom(
        seca=seca, school_id=school.pk, classroom="Room 210", occasion=NEXT
    )
    with pytest.raises(DomainError, match="already asked to stay with this classroom"):
        stay_request_submit_classroom(
            seca=seca, school_id=school.pk, classroom="Room 210", occasion=NEXT
        )
    assert StayRequest.objects.filter(classroom="Room 210").count() == 1


def test_classroom_request_pages_in_english_and_spanish(
    client, seca, school, principal, other_school
):
    _group(seca, school, "Room 210")
    client.force_login(seca)
    page = client.get(reverse("stay_request_list")).content.decode()
    assert "Room 210 · Skinner North" in page
    response = client.post(
        reverse("stay_request_create_classroom"),
        {"classroom": f"{school.pk}:Room 210", "occasion": NEXT, "note": "We read together"},
    )
    assert response.status_code == 302
    stay = StayRequest.objects.get()
    assert "classroom Room 210" in client.get(reverse("stay_request_list")).content.decode()
    client.force_login(principal)
    assert "classroom Room 210" in client.get(reverse("home")).content.decode()
    assert "classroom Room 210" in client.get(reverse("approval_queue")).content.decode()
    assert (
        "classroom Room 210"
        in client.get(reverse("stay_request_decide", args=[stay.pk])).content.decode()
    )
    response = client.post(
        reverse("stay_request_decide", args=[stay.pk]), {"approve-version": "0", "approve": "1"}
    )
    assert response.status_code == 302
    stay.refresh_from_db()
    assert stay.status == Status.APPROVED
    told = Notification.objects.get(event="stay_approved", user=seca)
    assert "classroom Room 210" in told.message
    queue = client.get(reverse("approval_queue")).content.decode()
    assert "honor them when making assignments" in queue and "classroom Room 210" in queue
    # Another school's principal: a 404.
    client.force_login(f.UserFactory(roles=[(Role.Kind.PRINCIPAL, other_school)]))
    assert client.get(reverse("stay_request_decide", args=[stay.pk])).status_code == 404


def test_a_classroom_is_not_denied_for_a_students_iep_or_parent(client, seca, school, principal):
    _group(seca, school, "Room 210")
    stay = stay_request_submit_classroom(
        seca=seca, school_id=school.pk, classroom="Room 210", occasion=NEXT
    )
    with pytest.raises(DomainError) as refused:
        stay_request_decide(
            approver=principal, stay_request=stay, approve=False, seen_version=0,
            deny_reason=StayRequest.DenyReason.PARENT_ASKED,
        )  # fmt: skip
    assert refused.value.field == "deny_reason"
    client.force_login(principal)
    page = client.get(reverse("stay_request_decide", args=[stay.pk])).content.decode()
    assert "The school&#x27;s staffing for that year does not allow it" in page
    assert "The parent asked for another SECA" not in page
    stay.refresh_from_db()
    assert stay.status == Status.PENDING


def test_classroom_decide_page_query_count(
    client, principal, seca, school, django_assert_num_queries
):
    _group(seca, school, "Room 210")
    stay = stay_request_submit_classroom(
        seca=seca, school_id=school.pk, classroom="Room 210", occasion=NEXT
    )
    client.force_login(principal)
    # session, user, standing, the request (with school, SECA, decider), the audit event
    # of the view, unread notifications: as a student's
    with django_assert_num_queries(6):
        assert client.get(reverse("stay_request_decide", args=[stay.pk])).status_code == 200


# --- Honored when the year's assignments are made -----------------------------------------


def run(export, tmp_path) -> str:
    out = io.StringIO()
    call_command("import_roster", str(export.write(tmp_path / "export")), stdout=out)
    return out.getvalue()


def _approved(student_sid, aide_sid):
    student = Student.objects.get(sourced_id=student_sid)
    aide = User.objects.get(sourced_id=aide_sid)
    return f.StayRequestFactory(
        student=student,
        seca=aide,
        school_year=current_school_year(),
        occasion=StayRequest.Occasion.REASSIGNMENT,
        status=Status.APPROVED,
    )


def test_the_roster_import_keeps_an_assignment_a_stay_approval_protects(tmp_path):
    run(Export("1.1"), tmp_path)
    _approved("s-2", "t-aide1")
    export = Export("1.1")
    export.data["enrollments"].remove(export.enrollment("e-5"))  # t-aide1 leaves c-a1

    output = run(export, tmp_path)

    assert "(kept for SECAs approved to stay: 1)" in output
    kept = Assignment.objects.current().filter(staff__sourced_id="t-aide1")
    assert set(kept.values_list("student__sourced_id", flat=True)) == {"s-2"}
    assert AuditEvent.objects.filter(action="assignment.stay_honored").count() == 1


def test_the_new_year_assignment_is_made_for_an_approved_stay(tmp_path):
    run(Export("1.1"), tmp_path)
    stay = _approved("s-2", "t-aide1")
    Assignment.objects.filter(student=stay.student, staff=stay.seca).delete()  # a new year
    export = Export("1.1")
    export.data["enrollments"].remove(export.enrollment("e-5"))

    run(export, tmp_path)

    assert Assignment.objects.current().filter(student=stay.student, staff=stay.seca).exists()


def test_the_roster_import_leaves_an_approved_classroom_to_the_principal(tmp_path):
    run(Export("1.1"), tmp_path)
    stay = _approved("s-2", "t-aide1")
    stay.student, stay.classroom = None, "Room 210"
    stay.save()
    export = Export("1.1")
    export.data["enrollments"].remove(export.enrollment("e-5"))  # t-aide1 leaves c-a1

    output = run(export, tmp_path)

    assert "kept for" not in output
    assert not Assignment.objects.current().filter(staff__sourced_id="t-aide1").exists()
