"""The Django admin: every model is there, searchable and filterable, and list pages do a
fixed number of queries however large the table. Workflow records are read-only; what
stays editable is audited, and opening a student's record is audited as a read."""

import datetime

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.apps import apps
from django.contrib import admin
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from meetings.models import (
    AttendanceRequest,
    ContactAttempt,
    Invitation,
    Meeting,
    MeetingNotice,
    NoticeResponse,
    Notification,
    ParentWish,
    Plan,
    PlanDelivery,
    Reminder,
    SecaFeedback,
)
from staff.models import AuditEvent, Designation, GuardianInvite, Role, User

from . import factories as f

MODELS = [*apps.get_app_config("staff").get_models(), *apps.get_app_config("meetings").get_models()]


@pytest.fixture
def superuser(db):
    user = f.UserFactory(is_staff=True, is_superuser=True)
    # Admin accounts must use two-step sign-in (staff/mfa.py): enrolled, as allauth.mfa
    # records an authenticator app.
    TOTP.activate(user, generate_totp_secret())
    return user


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_every_model_is_in_the_admin_searchable_and_filterable(model):
    model_admin = admin.site._registry.get(model)
    assert model_admin is not None, f"{model.__name__} is not in the admin"
    assert model_admin.search_fields
    assert model_admin.list_filter or model_admin.date_hierarchy


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_every_list_page_opens_with_a_search(model, client, superuser):
    client.force_login(superuser)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert client.get(url, {"q": "jordan"}).status_code == 200


def make_rows(n, school, case_manager):
    for _ in range(n):
        seca = f.UserFactory()
        meeting = f.MeetingFactory(
            student=f.StudentFactory(school=school), scheduled_by=case_manager
        )
        req = f.AttendanceRequestFactory(meeting=meeting, seca=seca)
        AuditEvent.objects.create(
            actor=seca,
            action="request.submitted",
            object_type="attendancerequest",
            object_id=str(req.pk),
            school=school,
            student=meeting.student,
        )
        guardian = f.GuardianFactory(student=meeting.student)
        GuardianInvite.objects.create(
            guardian=guardian,
            email=guardian.email,
            invited_by=case_manager,
            expires_at=timezone.now() + datetime.timedelta(days=14),
        )
        MeetingNotice.objects.create(meeting=meeting, guardian=guardian, kind="scheduled")
        NoticeResponse.objects.create(meeting=meeting, guardian=guardian, answer="attend")
        ParentWish.objects.create(meeting=meeting, guardian=guardian, wish="attend")


@pytest.mark.parametrize("n", [3, 30])
@pytest.mark.parametrize(
    ("page", "queries"),
    [
        # session, user, the user's two-step standing (staff/mfa.py's middleware, on
        # every page), the count (estimated from PostgreSQL's statistics on large tables),
        # the page of rows with its joins; with a date hierarchy, its first and last date
        # and the dates to drill into
        ("staff_student", 7),
        ("meetings_meeting", 7),
        ("meetings_attendancerequest", 5),
        ("staff_auditevent", 5),
        # Each row names a guardian with their student (Guardian.__str__): joined.
        ("staff_guardianinvite", 5),
        ("meetings_meetingnotice", 5),
        ("meetings_noticeresponse", 5),
        ("meetings_parentwish", 5),
    ],
)
def test_list_pages_do_a_fixed_number_of_queries(
    page, queries, n, client, superuser, school, case_manager, django_assert_num_queries
):
    make_rows(n, school, case_manager)
    client.force_login(superuser)
    # On PostgreSQL the paginator first reads the table's estimated size.
    with django_assert_num_queries(queries + (connection.vendor == "postgresql")):
        response = client.get(reverse(f"admin:{page}_changelist"))
    assert response.status_code == 200


def test_a_huge_unfiltered_list_is_counted_from_statistics(postgres, client, superuser):
    from django.db import connection as conn

    from staff.admin import LargeTablePaginator

    with conn.cursor() as cursor:  # as ANALYZE would record for a table of 5 million rows
        cursor.execute("UPDATE pg_class SET reltuples = 5000000 WHERE relname = 'staff_auditevent'")
    paginator = LargeTablePaginator(AuditEvent.objects.all(), 50)
    assert paginator.count == 5_000_000
    assert LargeTablePaginator(AuditEvent.objects.filter(action="x"), 50).count == 0


# --- Workflow records are read-only: their state changes only through the services --------

READ_ONLY = [
    Meeting,
    Invitation,
    AttendanceRequest,
    SecaFeedback,
    Plan,
    PlanDelivery,
    ParentWish,
    Notification,
    ContactAttempt,
    MeetingNotice,
    NoticeResponse,
    Reminder,
    AuditEvent,
    GuardianInvite,
    Designation,
]


@pytest.fixture
def records(meeting, case_manager, designee, seca):
    """One row of every read-only model, about the `student` of the meeting."""
    guardian = f.GuardianFactory(student=meeting.student)
    plan = Plan.objects.create(
        meeting=meeting, file="plans/2026/05/plan.pdf", sha256="0" * 64, uploaded_by=case_manager
    )
    rows = [
        meeting,
        f.InvitationFactory(meeting=meeting),
        f.AttendanceRequestFactory(meeting=meeting, seca=seca),
        f.SecaFeedbackFactory(meeting=meeting, seca=seca),
        plan,
        PlanDelivery.objects.create(plan=plan, recipient=seca, reason=PlanDelivery.Reason.GUARDIAN),
        ParentWish.objects.create(meeting=meeting, guardian=guardian, wish=ParentWish.Wish.ATTEND),
        Notification.objects.create(user=seca, message="Your request was approved."),
        ContactAttempt.objects.create(
            student=meeting.student,
            meeting=meeting,
            made_by=case_manager,
            attempted_at=timezone.now(),
            method=ContactAttempt.Method.PHONE,
            outcome="Left a message.",
        ),
        MeetingNotice.objects.create(
            meeting=meeting, guardian=guardian, kind=MeetingNotice.Kind.SCHEDULED
        ),
        NoticeResponse.objects.create(
            meeting=meeting, guardian=guardian, answer=NoticeResponse.Answer.WILL_ATTEND
        ),
        Reminder.objects.create(
            kind=Reminder.Kind.MEETING_UPCOMING, object_id=meeting.pk, recipient=seca, slot="7d"
        ),
        AuditEvent.objects.create(
            action="meeting.scheduled", object_type="meeting", object_id=str(meeting.pk)
        ),
        GuardianInvite.objects.create(
            guardian=guardian,
            email=guardian.email,
            invited_by=case_manager,
            expires_at=timezone.now() + datetime.timedelta(days=7),
        ),
        Designation.objects.get(designee=designee),
    ]
    return {type(row): row for row in rows}


def stored(obj):
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


@pytest.mark.parametrize("model", READ_ONLY, ids=[m.__name__ for m in READ_ONLY])
def test_workflow_records_open_but_cannot_be_added_changed_or_deleted(
    model, records, client, superuser
):
    obj = records[model]
    before = stored(obj)
    client.force_login(superuser)
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    change = reverse(f"{name}_change", args=[obj.pk])
    # Every text field rewritten, as a hand-made POST would.
    edits = {
        field.name: "changed"
        for field in model._meta.concrete_fields
        if isinstance(field, models.CharField | models.TextField)
    }

    assert client.get(change).status_code == 200
    assert client.get(reverse(f"{name}_add")).status_code == 403
    assert client.post(reverse(f"{name}_add"), edits).status_code == 403
    assert client.post(change, edits).status_code == 403
    assert client.get(reverse(f"{name}_delete", args=[obj.pk])).status_code == 403
    assert client.post(reverse(f"{name}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
    assert model.objects.count() == 1
    obj.refresh_from_db()
    assert stored(obj) == before


def test_a_meetings_invitations_are_shown_not_editable(client, superuser, meeting):
    f.InvitationFactory(meeting=meeting, name="Gina Teacher")
    client.force_login(superuser)
    response = client.get(reverse("admin:meetings_meeting_change", args=[meeting.pk]))
    assert "Gina Teacher" in response.text
    assert 'name="invitations-0-name"' not in response.text
    assert 'name="invitations-0-DELETE"' not in response.text


def test_a_guardian_invitations_token_is_never_shown(client, superuser, records):
    invite = records[GuardianInvite]
    client.force_login(superuser)
    response = client.get(reverse("admin:staff_guardianinvite_change", args=[invite.pk]))
    assert response.status_code == 200
    assert invite.token not in response.text


# --- What stays editable is audited --------------------------------------------------------


def form_data(response):
    """What the admin page's form posts back untouched, its inline rows included."""
    forms = [response.context["adminform"].form]
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        forms += [formset.management_form, *formset.forms]
    for form in forms:
        for bound in form:
            value = bound.value()
            if value is None or value is False or value == []:
                continue
            data[bound.html_name] = "on" if value is True else value
    return data


def test_editing_a_students_name_is_audited_with_before_and_after(client, superuser, student):
    client.force_login(superuser)
    url = reverse("admin:staff_student_change", args=[student.pk])
    data = form_data(client.get(url)) | {"first_name": "Jordana"}

    assert client.post(url, data).status_code == 302
    student.refresh_from_db()
    assert student.first_name == "Jordana"
    event = AuditEvent.objects.get(action="admin.changed")
    assert (event.before, event.after) == ({"first_name": "Jordan"}, {"first_name": "Jordana"})
    assert (event.actor, event.student, event.school) == (superuser, student, student.school)
    assert (event.object_type, event.object_id) == ("student", str(student.pk))
    # The test client's REMOTE_ADDR.
    assert event.ip == "127.0.0.1"


def test_changing_a_students_school_in_the_admin_transfers_them(
    client, superuser, student, seca, other_school
):
    assignment = student.assignments.get()
    client.force_login(superuser)
    url = reverse("admin:staff_student_change", args=[student.pk])
    data = form_data(client.get(url)) | {"school": other_school.pk, "grade": "5"}

    assert client.post(url, data).status_code == 302
    student.refresh_from_db()
    assignment.refresh_from_db()
    assert (student.school, student.grade) == (other_school, "5")
    # The old school's case manager has no role at the new one.
    assert student.case_manager is None
    assert assignment.ended_on == timezone.localdate()
    transferred = AuditEvent.objects.get(action="student.transferred")
    assert transferred.after["assignments_ended"] == [assignment.pk]
    assert transferred.ip == "127.0.0.1"
    changed = AuditEvent.objects.get(action="admin.changed")
    assert (changed.before, changed.after) == ({"grade": "4"}, {"grade": "5"})
    assert changed.school == other_school


def test_adding_a_role_to_a_user_in_the_admin_is_audited(client, superuser, case_manager, school):
    client.force_login(superuser)
    url = reverse("admin:staff_user_change", args=[case_manager.pk])
    data = form_data(client.get(url))
    row = int(data["roles-TOTAL_FORMS"])
    data |= {
        "roles-TOTAL_FORMS": row + 1,
        f"roles-{row}-kind": Role.Kind.TEACHER,
        f"roles-{row}-school": school.pk,
    }

    assert client.post(url, data).status_code == 302
    role = case_manager.roles.get(kind=Role.Kind.TEACHER)
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.object_id) == (
        "admin.added",
        "role",
        str(role.pk),
    )
    assert event.after["kind"] == "teacher"
    assert event.after["school"] == str(school.pk)
    assert (event.school, event.student, event.ip) == (school, None, "127.0.0.1")


def test_removing_a_guardian_from_a_student_is_audited(client, superuser, student):
    guardian = f.GuardianFactory(student=student, full_name="Gloria Guardian")
    client.force_login(superuser)
    url = reverse("admin:staff_student_change", args=[student.pk])
    data = form_data(client.get(url)) | {"guardians-0-DELETE": "on"}

    assert client.post(url, data).status_code == 302
    assert not student.guardians.exists()
    event = AuditEvent.objects.get(action="admin.deleted")
    assert (event.object_type, event.object_id) == ("guardian", str(guardian.pk))
    assert event.before["full_name"] == "Gloria Guardian"
    assert event.student == student


def test_a_new_users_password_is_never_in_the_audit_trail(client, superuser):
    client.force_login(superuser)
    password = "a-long-unusual-passphrase-42"
    response = client.post(
        reverse("admin:staff_user_add"),
        {
            "email": "new.teacher@example.org",
            "full_name": "New Teacher",
            "usable_password": "true",
            "password1": password,
            "password2": password,
            "roles-TOTAL_FORMS": 0,
            "roles-INITIAL_FORMS": 0,
        },
    )

    assert response.status_code == 302
    user = User.objects.get(email="new.teacher@example.org")
    event = AuditEvent.objects.get()
    assert (event.action, event.object_id) == ("admin.added", str(user.pk))
    assert event.after == {"email": "new.teacher@example.org", "full_name": "New Teacher"}
    assert password not in str(event.after) and user.password not in str(event.after)


def test_a_password_set_in_the_admin_is_audited_without_the_hash(client, superuser, seca):
    client.force_login(superuser)
    password = "another-long-passphrase-77"
    response = client.post(
        reverse("admin:auth_user_password_change", args=[seca.pk]),
        {"usable_password": "true", "password1": password, "password2": password},
    )

    assert response.status_code == 302
    seca.refresh_from_db()
    assert seca.check_password(password)
    event = AuditEvent.objects.get()
    assert (event.action, event.object_id, event.after) == (
        "admin.changed",
        str(seca.pk),
        {"password": "changed"},
    )


# --- Opening a student's record is a read, audited (34 CFR 300.614) -----------------------


@pytest.mark.parametrize("page", ["staff_student", "meetings_meeting"])
def test_opening_a_students_record_is_audited_with_one_insert(page, client, superuser, meeting):
    obj = meeting if page == "meetings_meeting" else meeting.student
    client.force_login(superuser)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(f"admin:{page}_change", args=[obj.pk]))

    assert response.status_code == 200
    audit_queries = [q["sql"] for q in queries if "staff_auditevent" in q["sql"]]
    assert len(audit_queries) == 1 and audit_queries[0].startswith("INSERT")
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.object_id) == (
        "admin.viewed",
        obj._meta.model_name,
        str(obj.pk),
    )
    assert (event.actor, event.student, event.school) == (
        superuser,
        meeting.student,
        meeting.school,
    )
    assert event.ip == "127.0.0.1"


def test_list_pages_are_not_audited_per_row(client, superuser, meeting):
    client.force_login(superuser)
    for page in ("staff_student", "meetings_meeting", "meetings_attendancerequest"):
        assert client.get(reverse(f"admin:{page}_changelist")).status_code == 200
    assert not AuditEvent.objects.exists()
