"""The finalized plan reaches every SECA who could not attend and every parent with an
account, once per version; its recipients open it from their email and see it listed.

Celery is eager here (each send task runs in the test on commit) and email goes to
Django's locmem outbox; tests/jobs/ distributes through a real worker and SMTP server."""

import datetime

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from meetings.models import AttendanceRequest, Meeting, Notification, Plan, PlanDelivery
from meetings.services import distribution, plans
from staff import outbox as email_outbox
from staff.models import AuditEvent, OutgoingEmail, Role, User, current_school_year

from . import factories as f

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
Status = AttendanceRequest.Status


@pytest.fixture
def outbox(db):
    """Django's locmem outbox, taken after the database fixture resets it."""
    return mail.outbox


@pytest.fixture
def held_meeting(student, case_manager):
    starts = timezone.now() - datetime.timedelta(days=2)
    return f.MeetingFactory(
        student=student,
        scheduled_by=case_manager,
        starts_at=starts,
        state=Meeting.State.HELD,
        held_at=starts + datetime.timedelta(hours=1),
    )


def upload(meeting, by, version=1) -> Plan:
    return Plan.objects.create(
        meeting=meeting,
        version=version,
        file=ContentFile(PDF, name=f"plan-{meeting.pk}-v{version}.pdf"),
        sha256="0" * 64,
        uploaded_by=by,
    )


def finalize(plan, by, capture):
    with capture(execute=True):
        return plans.plan_finalize(actor=by, plan=plan)


def seca_of(student, name):
    user = f.UserFactory(full_name=name, roles=[(Role.Kind.SECA, student.school)])
    f.AssignmentFactory(student=student, staff=user)
    return user


def decided(meeting, seca, status, principal, **fields):
    return f.AttendanceRequestFactory(
        meeting=meeting,
        seca=seca,
        status=status,
        decided_by=principal,
        decided_at=timezone.now(),
        **fields,
    )


@pytest.fixture
def team(held_meeting, student, principal, seca, parent):
    """Who was at the meeting and who was not, one SECA per way of missing it."""
    m = held_meeting
    people = {"never_asked": seca, "parent": parent}
    people["denied"] = seca_of(student, "Dee Denied")
    decided(m, people["denied"], Status.DENIED, principal, deny_reason="group")
    people["expired"] = seca_of(student, "Ex Pired")
    f.AttendanceRequestFactory(meeting=m, seca=people["expired"], status=Status.EXPIRED)
    people["withdrawn"] = seca_of(student, "Will Drawn")
    f.AttendanceRequestFactory(meeting=m, seca=people["withdrawn"], status=Status.WITHDRAWN)
    for key, attended in (("absent", False), ("attended", True)):
        people[key] = seca_of(student, key.title())
        decided(m, people[key], Status.APPROVED, principal, coverage_note="Gym")
        f.InvitationFactory(meeting=m, user=people[key], attended=attended)
    # Not recipients: a SECA of last school year, a parent without an account, another
    # student's parent.
    last_year = f.UserFactory(roles=[(Role.Kind.SECA, student.school)])
    f.AssignmentFactory(student=student, staff=last_year, school_year=current_school_year() - 1)
    people["last_year"] = last_year
    f.GuardianFactory(student=student, with_account=False)
    people["other_parent"] = f.GuardianFactory(with_account=True).user
    return people


NOT_THERE = ("never_asked", "denied", "expired", "withdrawn", "absent")


def test_finalized_plan_goes_to_every_seca_who_was_not_there_and_to_the_parents(
    outbox, team, held_meeting, case_manager, django_capture_on_commit_callbacks
):
    plan = finalize(
        upload(held_meeting, case_manager), case_manager, django_capture_on_commit_callbacks
    )

    expected = {team[k].email for k in (*NOT_THERE, "parent")}
    assert sorted(m.to[0] for m in outbox) == sorted(expected)
    reasons = dict(plan.deliveries.values_list("recipient__email", "reason"))
    assert reasons == {
        **{team[k].email: PlanDelivery.Reason.SECA_NOT_HONORED for k in NOT_THERE},
        team["parent"].email: PlanDelivery.Reason.GUARDIAN,
    }
    assert not plan.deliveries.filter(sent_at__isnull=True).exists()
    for message in outbox:
        delivery = plan.deliveries.get(recipient__email=message.to[0])
        # A link behind sign-in, never the record itself.
        assert f"/deliveries/{delivery.pk}/" in message.body
        assert message.attachments == []
        assert message.subject == "Jordan F.'s finalized IEP plan is ready"
    assert Notification.objects.filter(user=team["denied"], message__contains="is ready").exists()
    assert AuditEvent.objects.filter(action="plan.sent").count() == len(expected)


def test_the_seca_email_says_why_they_get_a_copy(
    outbox, team, held_meeting, case_manager, django_capture_on_commit_callbacks
):
    finalize(upload(held_meeting, case_manager), case_manager, django_capture_on_commit_callbacks)
    [to_seca] = [m for m in outbox if m.to == [team["denied"].email]]
    assert "You could not attend that meeting" in to_seca.body
    [to_parent] = [m for m in outbox if m.to == [team["parent"].email]]
    assert "parent or guardian" in to_parent.body


def test_the_email_is_in_the_recipients_language(
    outbox, team, held_meeting, case_manager, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=team["parent"].pk).update(preferred_language="es")
    finalize(upload(held_meeting, case_manager), case_manager, django_capture_on_commit_callbacks)
    languages = {m.to[0]: m.extra_headers["Content-Language"] for m in outbox}
    assert languages[team["parent"].email] == "es"
    assert languages[team["denied"].email] == "en"
    [to_parent] = [m for m in outbox if m.to == [team["parent"].email]]
    assert to_parent.subject == "El plan del IEP finalizado de Jordan F. está listo"
    assert "Ábralo después de iniciar sesión" in to_parent.body


def test_a_corrected_version_is_delivered_again_once_per_recipient(
    outbox, team, held_meeting, case_manager, django_capture_on_commit_callbacks
):
    finalize(upload(held_meeting, case_manager), case_manager, django_capture_on_commit_callbacks)
    first = len(outbox)
    v2 = finalize(
        upload(held_meeting, case_manager, version=2),
        case_manager,
        django_capture_on_commit_callbacks,
    )
    assert len(outbox) == 2 * first
    assert all(m.subject == "Corrected plan for Jordan F. (version 2)" for m in outbox[first:])
    # Creating the deliveries again, or running a send task again, sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assert distribution.plan_deliveries_create(plan=v2) == []
    for email in OutgoingEmail.objects.filter(
        kind="plan_delivery", source_id__in=v2.deliveries.values("pk")
    ):
        assert email_outbox.email_send(email_id=email.pk) is False
    assert len(outbox) == 2 * first
    assert PlanDelivery.objects.filter(recipient=team["denied"]).count() == 2


def _recorded_delivery(held_meeting, case_manager, parent):
    """A finalized plan's delivery to the parent, recorded in the outbox but not queued
    (as when the broker was down at the commit)."""
    plan = upload(held_meeting, case_manager)
    Plan.objects.filter(pk=plan.pk).update(finalized_at=timezone.now())
    delivery = PlanDelivery.objects.create(plan=plan, recipient=parent, reason="guardian")
    (email_id,) = email_outbox.emails_record("plan_delivery", [(delivery.pk, parent.pk)])
    return delivery, email_id


def test_a_send_task_run_twice_sends_one_email(outbox, held_meeting, case_manager, parent):
    delivery, email_id = _recorded_delivery(held_meeting, case_manager, parent)
    assert email_outbox.email_send(email_id=email_id) is True
    assert email_outbox.email_send(email_id=email_id) is False
    assert len(outbox) == 1
    delivery.refresh_from_db()
    assert delivery.sent_at is not None


def test_an_unsent_delivery_is_queued_again_by_the_sweep(
    outbox, held_meeting, case_manager, parent, django_capture_on_commit_callbacks
):
    _, email_id = _recorded_delivery(held_meeting, case_manager, parent)
    with django_capture_on_commit_callbacks(execute=True):
        assert email_outbox.emails_requeue() == 0
    OutgoingEmail.objects.filter(pk=email_id).update(
        queued_at=timezone.now() - datetime.timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert email_outbox.emails_requeue() == 1
    assert [m.to for m in outbox] == [[parent.email]]


@pytest.mark.parametrize("n", [2, 20])
def test_creating_the_deliveries_costs_the_same_queries_for_any_team(
    held_meeting, student, case_manager, n
):
    for i in range(n):
        seca_of(student, f"Seca {i}")
        f.GuardianFactory(student=student, with_account=True)
    plan = upload(held_meeting, case_manager)
    with CaptureQueriesContext(connection) as queries:
        ids = distribution.plan_deliveries_create(plan=plan)
    assert len(ids) == 2 * n
    # 1 the SECAs assigned who did not attend; 2 the guardians with an account; 3 the
    # insert; 4 the deliveries still without an email; 5 their emails in the outbox.
    assert sum(1 for q in queries if "SAVEPOINT" not in q["sql"]) == 5


# --- opening the link -----------------------------------------------------------------------


@pytest.fixture
def delivered(outbox, team, held_meeting, case_manager, django_capture_on_commit_callbacks):
    plan = finalize(
        upload(held_meeting, case_manager), case_manager, django_capture_on_commit_callbacks
    )
    return {key: plan.deliveries.filter(recipient=team[key]).first() for key in team}


@pytest.mark.parametrize("who", ["denied", "parent"])
def test_the_recipient_opens_the_link_and_it_is_acknowledged_once(client, team, delivered, who):
    delivery = delivered[who]
    client.force_login(team[who])
    response = client.get(reverse("delivery_open", args=[delivery.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("plan_download", args=[delivery.plan_id])
    delivery.refresh_from_db()
    first_open = delivery.acknowledged_at
    assert first_open is not None
    assert AuditEvent.objects.filter(action="plan.acknowledged", actor=team[who]).count() == 1

    response = client.get(reverse("delivery_open", args=[delivery.pk]), follow=True)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF
    delivery.refresh_from_db()
    assert delivery.acknowledged_at == first_open


@pytest.mark.parametrize("who", ["attended", "other_parent", "last_year", "never_asked"])
def test_anyone_but_the_recipient_gets_404_and_nothing_is_recorded(client, team, delivered, who):
    delivery = delivered["denied"]
    client.force_login(team[who])
    assert client.get(reverse("delivery_open", args=[delivery.pk])).status_code == 404
    delivery.refresh_from_db()
    assert delivery.acknowledged_at is None


def test_the_case_manager_cannot_acknowledge_for_the_seca(client, case_manager, delivered):
    client.force_login(case_manager)
    assert client.get(reverse("delivery_open", args=[delivered["denied"].pk])).status_code == 404


def test_opening_is_a_get(client, team, delivered):
    client.force_login(team["denied"])
    assert client.post(reverse("delivery_open", args=[delivered["denied"].pk])).status_code == 405


# --- the list of plans delivered to me -----------------------------------------------------------


def test_my_plans_lists_what_was_delivered_to_me_with_whether_i_opened_it(client, team, delivered):
    client.force_login(team["parent"])
    page = client.get(reverse("my_plans")).content.decode()
    assert "Jordan" in page and "not opened yet" in page
    assert reverse("delivery_open", args=[delivered["parent"].pk]) in page
    assert reverse("delivery_open", args=[delivered["denied"].pk]) not in page

    client.get(reverse("delivery_open", args=[delivered["parent"].pk]))
    page = client.get(reverse("my_plans")).content.decode()
    assert "not opened yet" not in page and "opened" in page


def test_someone_with_no_plans_sees_an_empty_list(client, team, delivered):
    client.force_login(team["attended"])
    assert (
        "No plan has been delivered to you yet." in client.get(reverse("my_plans")).content.decode()
    )


@pytest.mark.parametrize("n", [3, 30])
def test_my_plans_query_count_does_not_grow(
    client, django_assert_num_queries, school, case_manager, seca, n
):
    for _ in range(n):
        student = f.StudentFactory(school=school, case_manager=case_manager)
        f.AssignmentFactory(student=student, staff=seca)
        meeting = f.MeetingFactory(student=student, state="held", held_at=timezone.now())
        plan = upload(meeting, case_manager)
        Plan.objects.filter(pk=plan.pk).update(finalized_at=timezone.now())
        PlanDelivery.objects.create(plan=plan, recipient=seca, reason="seca")
    client.force_login(seca)
    # 1 the session; 2 the signed-in user; 3 their standing (staff/access.py: a copy
    # opens only while they still support or parent the student); 4 my deliveries with
    # their plan, meeting, student and school; 5 the unread notification count.
    with django_assert_num_queries(5):
        response = client.get(reverse("my_plans"))
    assert response.content.decode().count("Open the plan") == n
