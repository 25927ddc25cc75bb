"""The demo district that `make run` loads: what it holds, that loading it twice changes
nothing, that each of its eight logins signs in, and that every page is reached by links
from a home page."""

import collections
import datetime
import hashlib
import html
import io
import re
import zoneinfo
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.auth import get_user
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import Resolver404, URLPattern, get_resolver, resolve, reverse
from django.utils import timezone
from pypdf import PdfReader

from meetings import reports, worklists
from meetings.letters import EVENTS, STAY_EVENTS
from meetings.models import (
    AttendanceRequest,
    ContactAttempt,
    Invitation,
    Meeting,
    MeetingNotice,
    Notification,
    Plan,
    PlanDelivery,
    SecaFeedback,
    not_honored,
)
from staff import access
from staff.models import (
    Assignment,
    Designation,
    Guardian,
    OutgoingEmail,
    PolicyCopy,
    RestraintPolicy,
    Role,
    ScheduleBlock,
    School,
    Student,
    User,
    current_school_year,
)
from staff.training import State, school_counts, trainings_of
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


def storages(location):
    default = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    return {**django_settings.STORAGES, "default": {**default, "OPTIONS": {"location": location}}}


@pytest.fixture(scope="module")
def demo_media(tmp_path_factory):
    """Where the demo's plans are stored for this module (never the checkout's private/)."""
    return tmp_path_factory.mktemp("demo-private")


@pytest.fixture(scope="module")
def demo_loaded(django_db_setup, django_db_blocker, demo_media):
    """The demo, loaded once for this module: each test still runs in a transaction rolled
    back at its end. Emptied again for the modules that run after this one."""
    with (
        django_db_blocker.unblock(),
        override_settings(DEBUG=True, PASSWORD_HASHERS=FAST_HASHERS, STORAGES=storages(demo_media)),
        time_machine.travel(FIXED_NOW, tick=True),  # the day every test runs on
    ):
        output = load_demo()
    yield output
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def demo(demo_loaded, db, settings, demo_media):
    settings.PASSWORD_HASHERS = FAST_HASHERS
    settings.STORAGES = storages(demo_media)
    return demo_loaded


def snapshot():
    """Every row of every table, as tuples of values, by model."""
    rows = {}
    for model in apps.get_models(include_auto_created=True):
        fields = [f.attname for f in model._meta.concrete_fields if f.name not in VOLATILE]
        rows[model._meta.label] = list(model._default_manager.order_by("pk").values_list(*fields))
    return rows


def stored_files(root):
    """{path: sha256} of every file the demo stored."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in Path(root).rglob("*")
        if path.is_file()
    }


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


def test_loading_the_demo_twice_changes_nothing(demo, settings, demo_media):
    settings.DEBUG = True
    before, files = snapshot(), stored_files(demo_media)
    output = load_demo()
    after = snapshot()
    # The plans' PDFs are reused, not stored again under another name.
    assert stored_files(demo_media) == files
    assert len(files) == Plan.objects.count() + RestraintPolicy.objects.count()
    assert {label: len(rows) for label, rows in after.items()} == {
        label: len(rows) for label, rows in before.items()
    }
    for label, rows in before.items():
        assert after[label] == rows, f"{label} changed on the second run"
    assert "0 rows created, 0 updated" in output


def test_the_demo_moves_with_the_calendar_without_duplicating_rows(demo, settings, tmp_path):
    settings.DEBUG = True
    settings.STORAGES = storages(tmp_path)  # other days' plans: not in the module's storage
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
    parent, seca, k_obi = user("parent"), user("seca"), user("k.obi")
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
    # Left for the journeys: seca@ asks to attend, the designee approves with another case
    # manager covering (not a SECA: contract), who is not invited to the meeting.
    assert not meeting.requests.filter(seca=seca).exists()
    assert meeting.invitations.filter(user=parent, guardian__isnull=False).exists()
    assert overlaps(seca, meeting)
    assert not meeting.invitations.filter(user=k_obi).exists()


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


# --- Everything a page shows, for each login --------------------------------------------------


def now():
    return timezone.now()


def test_demo_plans_are_small_real_pdfs_some_finalized_one_corrected(demo):
    plans = list(Plan.objects.select_related("meeting__student"))
    for plan in plans:
        assert plan.meeting.state == Meeting.State.HELD
        with default_storage.open(plan.file.name, "rb") as stored:
            content = stored.read()
        assert content.startswith(b"%PDF-") and len(content) < 4096
        assert hashlib.sha256(content).hexdigest() == plan.sha256
        reader = PdfReader(io.BytesIO(content))
        assert len(reader.pages) == 1
        assert "Individualized Education Program" in reader.pages[0].extract_text()
    assert any(plan.finalized_at for plan in plans)
    assert any(plan.finalized_at is None for plan in plans)  # uploaded, not finalized yet
    corrected = [plan for plan in plans if plan.version == 2]
    assert corrected and all(plan.finalized_at for plan in corrected)
    for plan in corrected:
        first = Plan.objects.get(meeting=plan.meeting, version=1)
        assert first.finalized_at < plan.finalized_at
    # The case manager's "meetings to close": one to record, and held ones with no final plan.
    work = worklists.case_manager_work(user=user("casemanager"), now=now())
    assert {meeting.needs_attendance for meeting in work.meetings_to_close} == {True, False}


def test_demo_copies_of_plans_were_sent_some_opened_and_no_email_is_queued(demo):
    deliveries = PlanDelivery.objects.select_related("plan", "recipient")
    assert deliveries.exists()
    for delivery in deliveries:
        assert delivery.plan.finalized_at and delivery.sent_at >= delivery.plan.finalized_at
        assert delivery.acknowledged_at is None or delivery.acknowledged_at > delivery.sent_at
        # As delivery_delivered records it: an emailed notification leads to the copy.
        notification = delivery.recipient.notifications.get(
            url=reverse("delivery_open", args=[delivery.pk])
        )
        assert notification.emailed_at and notification.message
    for local, reason in [("parent", "guardian"), ("seca", "seca")]:
        mine = deliveries.filter(recipient=user(local), reason=reason)
        assert mine.filter(acknowledged_at__isnull=False).exists(), local
        assert mine.filter(acknowledged_at__isnull=True).exists(), local
    assert deliveries.filter(plan__version=2).exists()
    # The demo records what was sent as sent: nothing waits in the outbox for `make run`.
    assert not OutgoingEmail.objects.exists()


@pytest.mark.parametrize("local", ["principal", "ap", "casemanager", "seca", "seca2", "parent"])
def test_demo_logins_have_notifications_read_and_unread(demo, local):
    notifications = Notification.objects.filter(user=user(local))
    assert notifications.filter(read_at__isnull=True).exists()
    assert notifications.filter(read_at__isnull=False).exists()
    for notification in notifications:
        assert notification.event in EVENTS or notification.event == ""
        assert notification.message and notification.url.startswith("/")
        assert notification.emailed_at and notification.created_at <= now()
        if notification.event:
            # About a meeting, or (a stay request's) about the request.
            key = "request" if notification.event in STAY_EVENTS else "meeting"
            assert notification.params[key]
    if local != "parent":  # a parent hears of their copies of the plan only
        assert notifications.exclude(event="").exists()


def test_demo_district_administrator_and_union_are_notified_of_nothing(demo):
    # No event is theirs: the administrator reads only; the union sees no names.
    assert not Notification.objects.filter(user__in=[user("admin"), user("union")]).exists()


def test_demo_requests_end_in_every_outcome_in_the_past_and_are_pending_ahead(demo):
    past = AttendanceRequest.objects.filter(meeting__starts_at__lt=now())
    assert set(past.values_list("status", flat=True)) == set(AttendanceRequest.Status.values) - {
        "pending"
    }
    reasons = past.filter(status="denied").values_list("deny_reason", flat=True)
    assert set(reasons) == set(AttendanceRequest.DenyReason.values)
    attended = {
        req.meeting.invitations.get(user=req.seca).attended
        for req in past.filter(status="approved").select_related("meeting")
    }
    assert attended == {True, False}  # one approved SECA was marked absent
    assert past.filter(status="cancelled", meeting__state=Meeting.State.CANCELLED).exists()
    assert not AttendanceRequest.objects.filter(status="cancelled").exclude(
        meeting__state=Meeting.State.CANCELLED
    )
    ahead = AttendanceRequest.objects.filter(meeting__in=Meeting.objects.upcoming())
    assert ahead.filter(status="pending").count() >= 2
    for req in AttendanceRequest.objects.all():
        assert req.created_at < now()
        assert req.decided_at is None or req.created_at < req.decided_at


def test_demo_seca_gave_feedback_and_still_owes_some(demo):
    assert SecaFeedback.objects.filter(
        submitted_at__isnull=False,
        meeting__requests__in=AttendanceRequest.objects.filter(not_honored()),
    ).exists()
    work = worklists.seca_work(user=user("seca"), now=now())
    assert work.feedback_owed and work.past_requests
    assert work.plans_received > work.plans_unopened > 0


def test_demo_held_meetings_record_who_attended(demo):
    for meeting in Meeting.objects.filter(state=Meeting.State.HELD):
        assert meeting.held_at
        assert not meeting.invitations.filter(attended__isnull=True).exists(), meeting
    held = Invitation.objects.filter(meeting__state=Meeting.State.HELD)
    assert set(held.values_list("attended", flat=True)) == {True, False}


def test_demo_case_manager_logged_contact_attempts_and_has_notices_to_send_on_paper(demo):
    case_manager = user("casemanager")
    attempts = ContactAttempt.objects.filter(
        meeting__in=Meeting.objects.upcoming(), meeting__student__case_manager=case_manager
    )
    assert attempts.count() >= 3
    assert all(attempt.outcome and attempt.attempted_at < now() for attempt in attempts)
    upcoming = Meeting.objects.upcoming()
    for meeting in upcoming:
        notices = meeting.notices.filter(kind=MeetingNotice.Kind.SCHEDULED)
        assert notices.count() == meeting.student.guardians.count(), meeting
    notices = MeetingNotice.objects.filter(meeting__in=upcoming, kind="scheduled")
    assert notices.filter(sent_at__isnull=False).exists()
    # A guardian with no email address: unsent, on the case manager's list to print.
    assert not notices.filter(sent_at__isnull=True).exclude(guardian__email="").exists()
    work = worklists.case_manager_work(user=case_manager, now=now())
    assert work.notices_unsent


def test_demo_reports_count_a_late_notice_a_late_plan_and_opened_copies(demo):
    late = Meeting.objects.upcoming().exclude(short_notice_reason="").get()
    first = late.notices.filter(kind="scheduled").order_by("created_at").first()
    assert first.created_at < now()
    assert first.created_at > late.starts_at - datetime.timedelta(days=10)
    (row,), _total = reports.measures(period=reports.Period.school_year(), schools=[late.school])
    values = row.values
    assert values["notices_late"] == 1 and values["notices_on_time"] > 1
    assert 0 < values["plans_finalized_on_time"] < values["plans_finalized"]
    assert 0 < values["plan_copies_opened"] < values["plan_copies_sent"]
    assert values["secas_attended"] >= 1
    assert values["feedback_owed"] > values["feedback_submitted"] > 0
    assert values["median_hours_to_decision"] > 0


def test_demo_school_report_shows_a_case_manager_covering_this_week(demo, client):
    client.force_login(user("principal"))
    school = School.objects.get(roles__user=user("principal"))
    response = client.get(reverse("reports_school", args=[school.pk]))
    assert response.status_code == 200
    coverage = response.context["coverage_week"]
    # Not a SECA: the contract limits using SECAs to cover for other staff.
    assert [req.covered_by for req in coverage] == [user("k.obi")]
    assert coverage[0].seca == user("seca")


def test_demo_secas_have_trainings_due_and_done_and_the_policy_opened_by_some(demo):
    today = timezone.localdate()
    states = {row.training.code: row.state for row in trainings_of([user("seca").pk], today=today)[user("seca").pk]}  # fmt: skip
    assert states["iep-procedures"] == State.DONE
    assert states["annual-de-escalation"] == State.OVERDUE  # due September 30
    assert states["lifting-positioning"] == State.TO_DO
    policy = RestraintPolicy.objects.current()
    copies = PolicyCopy.objects.filter(policy=policy)
    assert copies.count() == User.objects.active_secas().count()
    assert copies.filter(acknowledged_at__isnull=True).filter(seca=user("seca")).exists()
    assert copies.filter(acknowledged_at__isnull=False, seca=user("seca2")).exists()
    counts = school_counts(today=today)
    assert sum(row["overdue"] for row in counts.values()) == 3  # each school's first SECA
    assert sum(row["unacknowledged"] for row in counts.values()) == 3


# --- Every page is reached by links from a home page -----------------------------------------

# Named routes of the app that are no page to link to: state changes (POST only), public
# addresses given out of band (an invitation's link or code, the private calendar feed).
NOT_PAGES = {
    "request_withdraw", "notifications_mark_read", "plan_finalize", "notice_answer",
    "parent_wish", "calendar_token_reset", "designee_remove", "guardian_invite",
    "invite_accept", "invite_code", "calendar_feed", "school_invitations_send",
    "roster_import_confirm", "roster_invite_families",
}  # fmt: skip
# Pages of things the demo does not hold (none: it has a roster import and letters to print).
NOT_IN_DEMO: set[str] = set()
# Reached only by typing their address (or from a page of NOT_IN_DEMO), and where a link
# belongs. A page linked since may leave this list; a new page missing from it fails.
UNLINKED: set[str] = set()
# Each login follows links from their home page, visiting each page this often at most; the
# meeting page more, as its actions differ with the meeting's state (to come, started, held,
# cancelled): enough to pass a case manager's caseload and reach the meetings to close.
VISITS_PER_PAGE = {"meeting_detail": 20}
# Not the app's pages: another site, the Django admin, allauth's, static files.
OUTSIDE = ("//", "/admin/", "/accounts/", "/static/")


def app_pages():
    names = set()
    for module in ("staff.urls", "meetings.urls"):
        names |= {p.name for p in get_resolver(module).url_patterns if isinstance(p, URLPattern)}
    return names - NOT_PAGES - NOT_IN_DEMO


def pages_reached(client):
    """The names of the pages reached by following links from the home page."""
    reached, seen = set(), {"/"}
    visits, queue = collections.Counter(), collections.deque(["/"])
    while queue:
        path = queue.popleft()
        try:
            name = resolve(path).url_name
        except Resolver404:
            continue
        reached.add(name)
        visits[name] += 1
        if visits[name] > VISITS_PER_PAGE.get(name, 3):
            continue
        response = client.get(path)
        if response.streaming:  # a download: read to the end, as a browser would, to close it
            b"".join(response.streaming_content)
        if response.status_code != 200 or "html" not in response["Content-Type"]:
            continue
        for href in re.findall(r'href="([^"]+)"', response.content.decode()):
            # Sorting, filters and pages (the query) show the same page.
            target = urlsplit(urljoin(path, html.unescape(href))).path
            if target.startswith("/") and not target.startswith(OUTSIDE) and target not in seen:
                seen.add(target)
                queue.append(target)
    return reached


def test_every_page_is_reached_by_links_from_a_home_page(demo, client):
    TOTP.activate(user("admin"), generate_totp_secret())
    reached = set()
    for email in LOGINS:
        client.force_login(User.objects.get(email=email))
        reached |= pages_reached(client)
    assert app_pages() - reached <= UNLINKED
