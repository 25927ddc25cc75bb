"""The demo district that `make run` loads: what it holds, that loading it twice changes
nothing, and that each of its eight logins signs in."""

import datetime
import io
import zoneinfo

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.apps import apps
from django.contrib.auth import get_user
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from meetings.models import AttendanceRequest, Meeting
from staff import access
from staff.models import (
    Assignment,
    Designation,
    Guardian,
    Role,
    ScheduleBlock,
    School,
    Student,
    User,
    current_school_year,
)
from tests.conftest import FIXED_NOW

PASSWORD = "iepcoord-demo"
LOGINS = [
    f"{name}@demo.iepcoord.org"
    for name in ("admin", "principal", "ap", "casemanager", "seca", "seca2", "parent", "union")
]
# Set by the database on every save or sign-in; everything else must come out the same.
# The password hash stays in: the demo sets a password only when it is missing or wrong.
VOLATILE = {"created_at", "updated_at", "date_joined", "last_login"}
CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
# PBKDF2 is slow on purpose; the demo's logic does not depend on the hasher.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def load_demo():
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def demo_loaded(django_db_setup, django_db_blocker):
    """The demo, loaded once for this module: each test still runs in a transaction rolled
    back at its end. Emptied again for the modules that run after this one."""
    with (
        django_db_blocker.unblock(),
        override_settings(DEBUG=True, PASSWORD_HASHERS=FAST_HASHERS),
        time_machine.travel(FIXED_NOW, tick=True),  # the day every test runs on
    ):
        output = load_demo()
    yield output
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def demo(demo_loaded, db, settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS
    return demo_loaded


def snapshot():
    """Every row of every table, as tuples of values, by model."""
    rows = {}
    for model in apps.get_models(include_auto_created=True):
        fields = [f.attname for f in model._meta.concrete_fields if f.name not in VOLATILE]
        rows[model._meta.label] = list(model._default_manager.order_by("pk").values_list(*fields))
    return rows


def user(local):
    return User.objects.get(email=f"{local}@demo.iepcoord.org")


def local_time(moment):
    return timezone.localtime(moment, CHICAGO)


def test_demo_refuses_to_load_with_debug_off(db, settings):
    settings.DEBUG = False
    users = User.objects.count()
    with pytest.raises(CommandError, match="DEBUG"):
        load_demo()
    assert User.objects.count() == users


def test_loading_the_demo_twice_changes_nothing(demo, settings):
    settings.DEBUG = True
    before = snapshot()
    output = load_demo()
    after = snapshot()
    assert {label: len(rows) for label, rows in after.items()} == {
        label: len(rows) for label, rows in before.items()
    }
    for label, rows in before.items():
        assert after[label] == rows, f"{label} changed on the second run"
    assert "0 rows created, 0 updated" in output


def test_the_demo_moves_with_the_calendar_without_duplicating_rows(demo, settings):
    settings.DEBUG = True
    monday = datetime.datetime(2026, 11, 16, 9, 0, tzinfo=CHICAGO)
    with time_machine.travel(monday, tick=False):
        load_demo()
    counts = {label: len(rows) for label, rows in snapshot().items()}
    with time_machine.travel(monday + datetime.timedelta(days=3), tick=False):
        output = load_demo()
    assert {label: len(rows) for label, rows in snapshot().items()} == counts
    assert "0 rows created" in output


def test_demo_prints_the_logins_and_what_it_loaded(demo):
    for email in LOGINS:
        assert email in demo
    assert PASSWORD in demo
    assert "Demo district loaded: 3 schools" in demo


def test_demo_has_schools_students_every_role_and_every_state(demo):
    today = timezone.localdate()
    assert School.objects.count() >= 3
    assert Student.objects.with_ieps().count() >= 40
    assert Student.objects.filter(plan_type=Student.PlanType.SECTION_504).exists()
    assert set(Student.objects.values_list("school", flat=True)) == set(
        School.objects.values_list("pk", flat=True)
    )
    assert set(Role.objects.values_list("kind", flat=True)) == set(Role.Kind.values)
    assert Role.objects.get(kind=Role.Kind.DISTRICT_ADMIN).school is None
    assert set(Meeting.objects.values_list("state", flat=True)) == set(Meeting.State.values)
    statuses = set(AttendanceRequest.objects.values_list("status", flat=True))
    assert {"pending", "approved", "denied", "withdrawn"} <= statuses
    # Deadlines the case managers see: overdue, and due within 30 days.
    assert Student.objects.filter(annual_review_due__lt=today).exists()
    soon = (today, today + datetime.timedelta(days=30))
    assert Student.objects.filter(annual_review_due__range=soon).exists()
    assert Student.objects.filter(home_language="Spanish").exists()
    assert Student.objects.filter(interpreter_needed=True).exists()
    assert Guardian.objects.filter(preferred_language="es").exists()
    sixteen = today - datetime.timedelta(days=16 * 366)  # a little over 16 years
    assert Student.objects.filter(date_of_birth__lte=sixteen).count() >= 2
    assert not Student.objects.filter(date_of_birth__isnull=True).exists()


def test_demo_meetings_are_on_school_days_in_school_hours(demo):
    for meeting in Meeting.objects.all():
        starts, ends = local_time(meeting.starts_at), local_time(meeting.ends_at)
        assert starts.weekday() < 5, meeting
        assert datetime.time(8, 0) <= starts.time() and ends.time() <= datetime.time(16, 0)
    assert Meeting.objects.filter(starts_at__lt=timezone.now()).exists()
    assert Meeting.objects.upcoming().exists()


def test_demo_decisions_record_who_when_and_coverage_or_reason(demo):
    approved = AttendanceRequest.objects.filter(status=AttendanceRequest.Status.APPROVED)
    assert approved.filter(covered_by__isnull=False).exists()
    for request in approved:
        assert request.decided_by and request.decided_at
    denied = AttendanceRequest.objects.filter(status=AttendanceRequest.Status.DENIED)
    for request in denied:
        assert request.deny_reason and request.decided_by and request.decided_at
    # Every request is by a SECA assigned to the student this year.
    for request in AttendanceRequest.objects.select_related("meeting"):
        assert (
            Assignment.objects.current()
            .filter(staff=request.seca, student=request.meeting.student_id, kind="seca")
            .exists()
        )


def test_demo_staff_logins_hold_their_roles(demo):
    admin = user("admin")
    assert admin.is_staff and admin.is_superuser
    (school_id,) = access.standing_of(user("principal")).principal_of
    school = School.objects.get(pk=school_id)
    assert access.standing_of(user("ap")).approver_at == {school.pk}
    assert Designation.objects.filter(school=school, designee=user("ap")).exists()
    assert 12 <= user("casemanager").caseload.filter(school=school).count() <= 18
    for local in ("seca", "seca2"):
        assert Role.objects.filter(user=user(local), kind=Role.Kind.SECA, school=school).exists()
    assert Assignment.objects.current().filter(staff=user("seca"), kind="seca").count() == 3
    for seca in User.objects.filter(roles__kind=Role.Kind.SECA):
        weekdays = set(seca.schedule_blocks.values_list("weekday", flat=True))
        assert weekdays == {0, 1, 2, 3, 4}, seca
    assert ScheduleBlock.objects.exclude(group_name="").exists()
    assert ScheduleBlock.objects.filter(student__isnull=False).exists()


def overlaps(seca, meeting):
    starts, ends = local_time(meeting.starts_at), local_time(meeting.ends_at)
    return seca.schedule_blocks.filter(
        school_year=current_school_year(),
        weekday=starts.weekday(),
        starts__lt=ends.time(),
        ends__gt=starts.time(),
    ).exists()


def test_parents_child_is_supported_by_seca_and_has_a_meeting_to_ask_for(demo):
    parent, seca, seca2 = user("parent"), user("seca"), user("seca2")
    children = Student.objects.filter(guardians__user=parent)
    assert set(access.students(parent)) == set(children)
    supported = children.filter(
        assignments__staff=seca,
        assignments__kind=Assignment.Kind.SECA,
        assignments__school_year=current_school_year(),
    )
    assert supported.exists()
    today = timezone.localdate()
    window = (today + datetime.timedelta(days=12), today + datetime.timedelta(days=20))
    meeting = Meeting.objects.upcoming().get(student__in=supported, starts_at__date__range=window)
    # Left for the journeys: seca@ asks to attend, the principal approves with seca2@ covering.
    assert not meeting.requests.filter(seca=seca).exists()
    assert meeting.invitations.filter(user=parent).exists()
    assert overlaps(seca, meeting)
    assert not overlaps(seca2, meeting)


def test_principals_queue_has_a_pending_request_from_seca(demo):
    pending = AttendanceRequest.objects.filter(
        seca=user("seca"),
        status=AttendanceRequest.Status.PENDING,
        meeting__in=Meeting.objects.upcoming(),
    )
    assert pending.count() == 1
    assert overlaps(user("seca"), pending.get().meeting)


def test_reloading_the_demo_drops_requests_made_while_trying_it(demo, settings):
    seca = user("seca")
    meeting = Meeting.objects.get(student__guardians__user=user("parent"), kind="annual")
    AttendanceRequest.objects.create(meeting=meeting, seca=seca)
    settings.DEBUG = True
    load_demo()
    assert not meeting.requests.exists()


@pytest.mark.parametrize("email", LOGINS)
def test_each_demo_login_signs_in_and_sees_the_home_page(demo, client, email):
    response = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("home")
    signed_in = get_user(client)
    assert signed_in.is_authenticated and signed_in.email == email
    home = client.get(reverse("home"))
    if email == LOGINS[0]:
        # The district administrator must set up two-step sign-in first (staff/mfa.py).
        assert home.url == reverse("mfa_activate_totp")
    else:
        assert home.status_code == 200


def test_demo_admin_can_use_the_django_admin_once_two_step_sign_in_is_set_up(demo, client):
    admin = User.objects.get(email=LOGINS[0])
    TOTP.activate(admin, generate_totp_secret())
    client.force_login(admin)
    assert client.get(reverse("admin:index")).status_code == 200


def test_other_demo_staff_cannot_sign_in(demo, client):
    # Only the eight published logins have the demo password.
    assert not User.objects.exclude(email__in=LOGINS).filter(password__startswith="md5$").exists()
    response = client.post(
        reverse("account_login"), {"login": "m.brennan@demo.iepcoord.org", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert not get_user(client).is_authenticated
