"""SECA training and the restraint and time-out policy: each SECA's own page, the school's
(who is due or overdue, who has not opened the policy) where the principal or a designee
records completions, the district's counts, its all-or-nothing CSV import, the policy's
upload and copies, and the reminders before a due date. Today is Wednesday, October 14,
2026 (tests/conftest.py): school year 2026-27."""

import datetime
import io

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfWriter

from staff.models import (
    AuditEvent,
    OutgoingEmail,
    PolicyCopy,
    RestraintPolicy,
    Role,
    Training,
    TrainingCompletion,
    TrainingReminder,
)
from staff.outbox import email_send
from staff.policy import policy_copies_sweep
from staff.training import training_reminders_sweep

from . import factories as f

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 10, 14)


def pdf_bytes() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def _no_seeded_trainings(db):
    # Each test defines the trainings it counts (migration 0007 seeds the contract's).
    Training.objects.all().delete()


@pytest.fixture
def annual(db):
    # The contract's yearly de-escalation, due by September 30: overdue this school year.
    return f.TrainingFactory(
        code="annual-de-escalation",
        name="Annual de-escalation training",
        recurrence=Training.Recurrence.YEARLY,
        due_on=datetime.date(2026, 9, 30),
    )


@pytest.fixture
def restraint(db):
    # Due in 27 days: "due soon".
    return f.TrainingFactory(
        code="test-restraint", name="Restraint drill", due_on=TODAY + datetime.timedelta(days=27)
    )


@pytest.fixture
def curriculum(db):
    return f.TrainingFactory(code="personal-care", name="Personal care")


@pytest.fixture
def trainings(annual, restraint, curriculum):
    return [annual, restraint, curriculum]


@pytest.fixture
def seca2(school):
    return f.UserFactory(
        full_name="Sam Second", preferred_language="es", roles=[(Role.Kind.SECA, school)]
    )


@pytest.fixture
def policy(district_admin):
    return f.RestraintPolicyFactory(uploaded_by=district_admin, title="Policy 2026-27")


# --- The SECA's own page ------------------------------------------------------------------


def test_seca_sees_their_trainings_done_overdue_and_due_soon(
    client, django_assert_num_queries, seca, trainings, annual, curriculum, principal, policy
):
    f.TrainingCompletionFactory(seca=seca, training=curriculum, recorded_by=principal)
    # Last school year's de-escalation does not count for this one.
    f.TrainingCompletionFactory(
        seca=seca, training=annual, completed_on=datetime.date(2026, 5, 1), recorded_by=principal
    )
    client.force_login(seca)
    # 1 session, 2 user, 3 standing; 4 this year's policy; 5 trainings; 6 my latest
    # completions; 7 my copy of the policy; 8 unread notifications (the menu).
    with django_assert_num_queries(8):
        response = client.get(reverse("my_training"))
    states = {row.training.code: row.state for row in response.context["trainings"]}
    assert states == {
        "annual-de-escalation": "overdue",
        "test-restraint": "due_soon",
        "personal-care": "done",
    }
    page = response.content.decode()
    assert "Overdue" in page and "Policy 2026-27" in page
    assert "You have not opened it yet" in page


def test_seca_page_in_spanish(client, seca2, trainings):
    client.force_login(seca2)
    response = client.get(reverse("my_training"), headers={"accept-language": "es"})
    page = response.content.decode()
    assert "Mis capacitaciones" in page
    assert "Capacitación anual en desescalada" in page


def test_only_secas_have_a_training_page(client, principal, parent):
    for person in (principal, parent):
        client.force_login(person)
        assert client.get(reverse("my_training")).status_code == 404


# --- The school's page, and recording a completion ----------------------------------------


def test_principal_sees_who_is_overdue_and_who_has_not_opened_the_policy(
    client, django_assert_num_queries, principal, school, seca, seca2, trainings, annual, policy
):
    f.TrainingCompletionFactory(seca=seca2, training=annual, recorded_by=principal)
    PolicyCopy.objects.create(policy=policy, seca=seca2, acknowledged_at=policy.created_at)
    client.force_login(principal)
    # 1-3 session, user, standing; 4 the school; 5 the policy; 6 the school's SECAs with
    # their acknowledgement; 7 trainings; 8 their latest completions; 9 unread notifications.
    with django_assert_num_queries(9):
        response = client.get(reverse("training_school", args=[school.pk]))
    assert response.context["counts"] == {
        "secas": 2,
        "overdue": 1,
        "due_soon": 2,
        "unacknowledged": 1,
    }
    page = response.content.decode()
    assert "1 SECA has a training overdue." in page
    assert "Record a completed training" in page


def test_another_schools_training_page_is_404(client, principal, other_school, district_admin):
    client.force_login(principal)
    assert client.get(reverse("training_school", args=[other_school.pk])).status_code == 404
    assert client.get(reverse("training_record", args=[other_school.pk])).status_code == 404
    # The district reads every school's page, and records nothing.
    client.force_login(district_admin)
    assert client.get(reverse("training_school", args=[other_school.pk])).status_code == 200
    assert client.get(reverse("training_record", args=[other_school.pk])).status_code == 404


def test_designee_records_a_completion_for_a_seca_of_their_school(
    client, designee, seca, school, annual
):
    client.force_login(designee)
    response = client.post(
        reverse("training_record", args=[school.pk]),
        {"seca": seca.pk, "training": annual.pk, "completed_on": "2026-10-09"},
    )
    assert response.status_code == 302
    completion = TrainingCompletion.objects.get(seca=seca, training=annual)
    assert (completion.recorded_by, completion.school, completion.source) == (
        designee,
        school,
        "school",
    )
    assert AuditEvent.objects.filter(action="training.recorded", actor=designee).exists()
    # Now done: not overdue any more.
    client.force_login(seca)
    rows = client.get(reverse("my_training")).context["trainings"]
    assert next(row for row in rows if row.training == annual).state == "done"


def test_recording_refuses_another_schools_seca_a_future_day_and_a_repeat(
    client, principal, seca, other_school_seca, school, annual
):
    client.force_login(principal)
    url = reverse("training_record", args=[school.pk])
    response = client.post(
        url, {"seca": other_school_seca.pk, "training": annual.pk, "completed_on": "2026-10-01"}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    response = client.post(url, {"seca": seca.pk, "training": annual.pk, "completed_on": "2026-10-20"})  # fmt: skip
    assert "cannot be in the future" in response.content.decode()
    client.post(url, {"seca": seca.pk, "training": annual.pk, "completed_on": "2026-10-01"})
    response = client.post(url, {"seca": seca.pk, "training": annual.pk, "completed_on": "2026-10-01"})  # fmt: skip
    assert response.status_code == 400 and "already recorded" in response.content.decode()
    assert TrainingCompletion.objects.count() == 1


# --- The district -------------------------------------------------------------------------


def test_district_counts_per_school(
    client, django_assert_num_queries, district_admin, seca, seca2, other_school_seca, trainings
):
    f.TrainingCompletionFactory(seca=seca, training=trainings[0], recorded_by=district_admin)
    client.force_login(district_admin)
    # 1-3 session, user, standing; 4 two-step sign-in (staff/mfa.py); 5 trainings with a
    # due date; 6 the policy; 7 the counts per school; 8 the schools; 9 the policy (the
    # warning when there is none); 10 unread notifications.
    with django_assert_num_queries(10):
        response = client.get(reverse("training_district"))
    assert "Counted at " in response.content.decode()
    # Counted once: the next view in the next ten minutes reads the same counts (5-7 less).
    with django_assert_num_queries(7):
        assert client.get(reverse("training_district")).context["totals"]["secas"] == 3
    by_school = {school.name: school.counts for school in response.context["schools"]}
    assert by_school["Skinner North"] == {
        "secas": 2,
        "overdue": 1,
        "due_soon": 2,
        "unacknowledged": 2,
    }
    assert by_school["Southside Occupational"]["overdue"] == 1
    assert response.context["totals"]["secas"] == 3


def test_district_pages_are_404_to_anyone_else(client, principal, seca):
    for person in (principal, seca):
        client.force_login(person)
        for name in ("training_district", "training_import", "policy_list"):
            assert client.get(reverse(name)).status_code == 404


def csv_upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("completions.csv", text.encode(), "text/csv")


def test_import_is_all_or_nothing_with_errors_per_row(client, district_admin, seca, annual):
    seca.sourced_id = "staff-77"
    seca.save(update_fields=["sourced_id"])
    client.force_login(district_admin)
    bad = (
        "email,staff_sourced_id,training_code,completed_on\n"
        f"{seca.email},,annual-de-escalation,2026-10-01\n"
        "nobody@example.org,,annual-de-escalation,2026-10-01\n"
        ",staff-77,no-such-training,10/01/2026\n"
    )
    response = client.post(reverse("training_import"), {"file": csv_upload(bad)})
    assert response.status_code == 400
    errors = response.context["errors"]
    assert errors == [
        "Row 3: no active SECA has the email nobody@example.org",
        "Row 4: unknown training_code no-such-training; completed_on 10/01/2026 is not a date (YYYY-MM-DD)",
    ]  # fmt: skip
    assert "Nothing was saved" in response.content.decode()
    assert not TrainingCompletion.objects.exists()

    good = (
        "email,staff_sourced_id,training_code,completed_on\n"
        f"{seca.email.upper()},,annual-de-escalation,2026-10-01\n"
        ",staff-77,annual-de-escalation,2026-09-01\n"
    )
    response = client.post(reverse("training_import"), {"file": csv_upload(good)})
    assert response.status_code == 302
    assert TrainingCompletion.objects.filter(seca=seca, source="import").count() == 2
    # The same file again: nothing new.
    client.post(reverse("training_import"), {"file": csv_upload(good)})
    assert TrainingCompletion.objects.count() == 2


def test_import_refuses_a_file_without_the_columns(client, district_admin):
    client.force_login(district_admin)
    response = client.post(reverse("training_import"), {"file": csv_upload("name,date\nx,y\n")})
    assert response.status_code == 400
    assert "The first line must name the columns" in response.content.decode()


# --- The policy -----------------------------------------------------------------------------


def test_district_uploads_the_policy_and_every_seca_is_sent_it_in_their_language(
    client, district_admin, seca, seca2, other_school_seca, django_capture_on_commit_callbacks
):
    client.force_login(district_admin)
    upload = SimpleUploadedFile("policy.pdf", pdf_bytes(), "application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("policy_list"),
            {"school_year": "2026", "title": "Restraint and time-out 2026-27", "file": upload},
        )
    assert response.status_code == 302
    policy = RestraintPolicy.objects.get()
    assert set(policy.copies.values_list("seca", flat=True)) == {
        seca.pk,
        seca2.pk,
        other_school_seca.pk,
    }
    assert not policy.copies.filter(sent_at__isnull=True).exists()
    subjects = {message.to[0]: message.subject for message in mail.outbox}
    assert subjects[seca.email] == "The restraint and time-out policy for 2026-27"
    assert subjects[seca2.email] == "La política de restricción y aislamiento para 2026-27"
    assert reverse("policy_detail", args=[policy.pk]) in mail.outbox[0].body


def test_a_file_that_is_not_a_pdf_is_refused_and_nothing_is_saved(client, district_admin, seca):
    client.force_login(district_admin)
    upload = SimpleUploadedFile("policy.pdf", b"not a pdf", "application/pdf")
    response = client.post(
        reverse("policy_list"), {"school_year": "2026", "title": "Policy", "file": upload}
    )
    assert response.status_code == 400
    assert "upload the policy as a PDF" in response.content.decode()
    assert not RestraintPolicy.objects.exists() and not PolicyCopy.objects.exists()


def test_opening_the_policy_records_the_acknowledgement_once(client, seca, policy, principal):
    client.force_login(seca)
    assert client.get(reverse("policy_detail", args=[policy.pk])).status_code == 200
    first = PolicyCopy.objects.get(policy=policy, seca=seca).acknowledged_at
    assert first is not None
    with time_machine.travel(datetime.timedelta(hours=2)):
        response = client.get(reverse("policy_download", args=[policy.pk]))
    assert response["Content-Type"] == "application/pdf"
    b"".join(response.streaming_content)
    assert PolicyCopy.objects.get(policy=policy, seca=seca).acknowledged_at == first
    assert AuditEvent.objects.filter(action="policy.acknowledged").count() == 1
    # The principal now counts the SECA as acknowledged; opening it records nothing for them.
    client.force_login(principal)
    response = client.get(reverse("training_school", args=[seca.roles.get().school_id]))
    assert response.context["counts"]["unacknowledged"] == 0
    client.get(reverse("policy_detail", args=[policy.pk]))
    assert PolicyCopy.objects.count() == 1


def test_parents_cannot_open_the_policy(client, parent, policy):
    client.force_login(parent)
    assert client.get(reverse("policy_detail", args=[policy.pk])).status_code == 404
    assert client.get(reverse("policy_download", args=[policy.pk])).status_code == 404


def test_the_sweep_sends_the_policy_to_secas_hired_later_once(
    school, seca, policy, django_capture_on_commit_callbacks
):
    PolicyCopy.objects.create(policy=policy, seca=seca, sent_at=policy.created_at)
    hired = f.UserFactory(roles=[(Role.Kind.SECA, school)])
    f.UserFactory(roles=[(Role.Kind.SECA, school)], is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert policy_copies_sweep() == 1
    assert [message.to for message in mail.outbox] == [[hired.email]]
    with django_capture_on_commit_callbacks(execute=True):
        assert policy_copies_sweep() == 0
    assert len(mail.outbox) == 1


def test_no_policy_this_year_sends_nothing(school, seca, district_admin):
    f.RestraintPolicyFactory(school_year=2025, uploaded_by=district_admin)
    assert policy_copies_sweep() == 0


# --- Reminders ------------------------------------------------------------------------------


def test_reminders_30_and_7_days_before_and_once_overdue(
    seca, seca2, restraint, principal, django_capture_on_commit_callbacks
):
    def sweep(day):
        moment = datetime.datetime.combine(day, datetime.time(9), tzinfo=datetime.UTC)
        with (
            time_machine.travel(moment, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            return training_reminders_sweep()

    due = restraint.due_on
    assert sweep(TODAY) == 2  # 27 days before: the 30-day step
    assert sweep(TODAY) == 0  # run twice: nothing twice
    subjects = {message.to[0]: message.subject for message in mail.outbox}
    assert subjects[seca.email] == "Training due on November 10, 2026: Restraint drill"
    assert subjects[seca2.email] == "Capacitación para el 10 de noviembre de 2026: Restraint drill"
    # seca2 completes it: only seca is reminded again.
    f.TrainingCompletionFactory(seca=seca2, training=restraint, recorded_by=principal)
    assert sweep(due - datetime.timedelta(days=5)) == 1
    assert sweep(due + datetime.timedelta(days=1)) == 1
    assert sweep(due + datetime.timedelta(days=8)) == 0
    steps = list(
        TrainingReminder.objects.filter(seca=seca).order_by("pk").values_list("step", flat=True)
    )
    assert steps == ["30d", "7d", "overdue"]
    assert mail.outbox[-1].subject.startswith("Overdue:")


def test_a_reminder_done_before_it_goes_is_dropped(seca, restraint, principal):
    assert training_reminders_sweep() == 1
    f.TrainingCompletionFactory(seca=seca, training=restraint, recorded_by=principal)
    email = OutgoingEmail.objects.get(kind="training_reminder")
    assert email_send(email_id=email.pk) is False
    email.refresh_from_db()
    assert email.skipped and not mail.outbox


def test_a_training_recorded_counts_on_the_district_page_at_once(
    client, django_capture_on_commit_callbacks, district_admin, principal, school, seca, trainings
):
    client.force_login(district_admin)
    before = client.get(reverse("training_district")).context["totals"]
    client.force_login(principal)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("training_record", args=[school.pk]),
            {"seca": seca.pk, "training": trainings[0].pk, "completed_on": "2026-10-01"},
        )
    client.force_login(district_admin)
    after = client.get(reverse("training_district")).context["totals"]
    assert after["overdue"] == before["overdue"] - 1
