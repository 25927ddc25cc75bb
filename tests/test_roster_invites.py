"""Every family invited: after an import, one action invites every guardian without an
account, by email in their language through the outbox, at the mail server's pace, or by
a printed letter with a one-time code; each school sees who has not accepted yet and sends
again; a parent types the letter's code at /invite/code/ (wrong codes limited)."""

import datetime
import io
import re

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings as django_settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from iepcoord.celery import app
from staff import invites
from staff.invites import code_display, guardians_invite_bulk
from staff.models import (
    AuditEvent,
    Guardian,
    GuardianInvite,
    OutgoingEmail,
    Role,
    RosterImport,
    School,
    User,
)
from staff.selectors import SCHOOLS_PER_PAGE
from staff.views_invites import FAMILIES_PER_PAGE

from . import factories as f
from .roster_export import Export

pytestmark = pytest.mark.django_db


@pytest.fixture
def district(tmp_path, district_admin):
    """The test district imported by the nightly command; its run in the history."""
    call_command("import_roster", str(Export().write(tmp_path / "export")), stdout=io.StringIO())
    return RosterImport.objects.get()


def guardian(sid) -> Guardian:
    return Guardian.objects.select_related("student__school").get(sourced_id=sid)


def invite_everyone(client, district_admin, district, capture):
    client.force_login(district_admin)
    with capture(execute=True):
        return client.post(reverse("roster_invite_families", args=[district.pk]))


def test_every_family_is_invited_in_its_language_or_by_letter(
    client, district_admin, district, django_capture_on_commit_callbacks, mailoutbox
):
    response = invite_everyone(client, district_admin, district, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    district.refresh_from_db()
    assert district.invites_summary == {"invited": 2, "letters": 1, "skipped": 0, "done": True}
    # By email, through the outbox, each in the family's language.
    by_address = {message.to[0]: message for message in mailoutbox}
    assert set(by_address) == {"maria@example.net", "wanda@example.net"}
    assert by_address["maria@example.net"].extra_headers["Content-Language"] == "es"
    assert "Estimada/o María Quintanilla" in by_address["maria@example.net"].body
    assert by_address["wanda@example.net"].extra_headers["Content-Language"] == "en"
    assert OutgoingEmail.objects.filter(kind="guardian_invite", sent_at__isnull=False).count() == 2
    # No email address: a letter with a one-time code, and no email.
    letter = GuardianInvite.objects.get(guardian=guardian("p-2"))
    assert letter.email == "" and re.fullmatch(r"[ACDEFGHJKMNPQRTUVWXY34679]{10}", letter.code)
    assert letter.expires_at - timezone.now() > datetime.timedelta(days=59)
    assert GuardianInvite.objects.filter(roster_import=district).count() == 3
    assert AuditEvent.objects.filter(
        action="guardian.letter_prepared", actor=district_admin
    ).exists()
    page = client.get(reverse("roster_import_detail", args=[district.pk])).content.decode()
    assert "2 invitations by email, 2 sent so far; 1 letters to print; 0 accepted." in page


def test_inviting_again_skips_families_with_an_invitation_waiting(
    client, district_admin, district, django_capture_on_commit_callbacks, mailoutbox
):
    invite_everyone(client, district_admin, district, django_capture_on_commit_callbacks)
    mailoutbox.clear()

    invite_everyone(client, district_admin, district, django_capture_on_commit_callbacks)

    district.refresh_from_db()
    assert district.invites_summary == {"invited": 0, "letters": 0, "skipped": 3, "done": True}
    assert mailoutbox == []


def test_only_families_without_an_account_of_current_students_are_invited(district_admin, district):
    with_account = guardian("p-1")
    with_account.user = f.UserFactory(email="maria@example.net")
    with_account.save()
    Guardian.objects.filter(sourced_id="p-3").update(ended_on=timezone.localdate())
    ids = Guardian.all_objects.values_list("pk", flat=True)

    counts = guardians_invite_bulk(actor=district_admin, guardian_ids=ids)

    assert counts == {"invited": 0, "letters": 1, "skipped": 0}
    assert list(GuardianInvite.objects.values_list("guardian__sourced_id", flat=True)) == ["p-2"]


def test_emails_go_at_the_pace_the_mail_server_accepts(settings, district_admin, monkeypatch):
    # Celery's per-worker rate limit on the one email task.
    app.loader.import_default_modules()
    assert app.tasks["staff.tasks.email_send"].rate_limit == django_settings.EMAIL_RATE_LIMIT
    assert django_settings.EMAIL_RATE_LIMIT == "600/m"
    # Emails waiting their turn are stamped with it: the outbox's requeue leaves them be.
    settings.EMAIL_RATE_LIMIT = "60/m"
    monkeypatch.setattr(invites, "BULK_CHUNK", 2)
    school = f.SchoolFactory()
    families = [f.GuardianFactory(student=f.StudentFactory(school=school)) for _ in range(6)]

    guardians_invite_bulk(actor=district_admin, guardian_ids=[g.pk for g in families])

    stamps = list(OutgoingEmail.objects.order_by("pk").values_list("queued_at", flat=True))
    offsets = [round((stamp - stamps[0]).total_seconds()) for stamp in stamps]
    assert offsets == [0, 0, 2, 2, 4, 4]


def test_the_home_link_and_the_district_page_show_families_per_school(
    client, district_admin, district
):
    client.force_login(district_admin)
    page = client.get(reverse("roster_import_detail", args=[district.pk])).content.decode()
    school = School.objects.get(sourced_id="sch-a")
    assert reverse("school_invitations", args=[school.pk]) in page
    assert "Invite every family without an account" in page


def test_the_district_page_counts_families_per_school_a_page_of_schools_at_a_time(
    client, district_admin, district
):
    school = School.objects.get(sourced_id="sch-a")
    families = Guardian.objects.filter(student__school=school, student__inactive_since=None)
    with_account = families.exclude(user=None).count()
    # More schools than a page holds: the table pages, its links keep the anchor.
    f.SchoolFactory.create_batch(SCHOOLS_PER_PAGE, name="Zeta school")
    client.force_login(district_admin)

    first = client.get(reverse("roster_import_detail", args=[district.pk]))
    last = client.get(reverse("roster_import_detail", args=[district.pk]), {"page": 2})

    rows = first.context["families"]
    assert len(rows) == SCHOOLS_PER_PAGE
    row = next(r for r in rows if r.pk == school.pk)
    assert (row.total, row.with_account) == (families.count(), with_account)
    assert row.waiting == families.count() - with_account
    assert 'href="?page=2#families"' in first.content.decode()
    assert all(r.name == "Zeta school" and r.total == 0 for r in last.context["families"])


def test_the_district_page_says_when_it_counted_the_families_and_an_import_counts_again(
    client, district_admin, district, tmp_path, django_capture_on_commit_callbacks
):
    def skinner_row():
        page = client.get(reverse("roster_import_detail", args=[district.pk]))
        assert "Counted at " in page.content.decode()
        return next(r for r in page.context["families"] if r.name == "Skinner North")

    client.force_login(district_admin)
    before = skinner_row()
    assert (before.total, before.with_account) == (2, 0)
    maria = guardian("p-1")
    maria.user = f.UserFactory(email="maria@example.net")
    maria.save()
    # Kept ten minutes: the account is not counted yet.
    assert skinner_row() == before

    # An import counts again at the next view: p-1 left the roster, the new account too.
    export = Export()
    export.user("p-1")["status"] = "tobedeleted"
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_roster", str(export.write(tmp_path / "again")), stdout=io.StringIO())
    after = skinner_row()
    assert (after.total, after.with_account) == (1, 0)


# --- A school's families without an account -----------------------------------------------


@pytest.fixture
def skinner(district):
    return School.objects.get(sourced_id="sch-a")


def user(sid) -> User:
    return User.objects.get(sourced_id=sid)


def test_the_principal_sees_who_has_not_accepted_and_sends_again(
    client, skinner, district_admin, django_capture_on_commit_callbacks, mailoutbox
):
    guardians_invite_bulk(
        actor=district_admin, guardian_ids=Guardian.objects.values_list("pk", flat=True)
    )
    first = GuardianInvite.objects.get(guardian=guardian("p-1"))
    principal = user("t-pa")
    client.force_login(principal)

    page = client.get(reverse("school_invitations", args=[skinner.pk])).content.decode()

    assert "0 of 2 parents and guardians of the school's students have an account." in page
    assert "María Quintanilla" in page and "Luis Lopez" in page
    assert "Wanda Wells" not in page  # Old School's family
    assert "No email address: a printed letter" in page and "Print 1 letter" in page
    # The families' addresses are part of each student's record.
    assert AuditEvent.objects.filter(action="invitations.viewed", actor=principal).count() == 2

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("school_invitations_send", args=[skinner.pk]),
            {"guardian": guardian("p-1").pk},
            follow=True,
        )

    assert "Invitations sent by email: 1. Letters to print: 0." in response.content.decode()
    first.refresh_from_db()
    assert first.expires_at <= timezone.now()  # replaced: its link no longer works
    newest = GuardianInvite.objects.filter(guardian=guardian("p-1")).latest("created_at")
    assert newest.invited_by == principal and newest.expires_at > timezone.now()
    assert [m.to for m in mailoutbox] == [["maria@example.net"]]


def test_each_family_shows_where_its_newest_invitation_stands(
    client, skinner, district_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        guardians_invite_bulk(
            actor=district_admin, guardian_ids=[guardian("p-1").pk, guardian("p-2").pk]
        )
    # María's first invitation expired; the one sent after it is the one that counts.
    GuardianInvite.objects.filter(guardian=guardian("p-1")).update(
        expires_at=timezone.now() - datetime.timedelta(days=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        guardians_invite_bulk(actor=district_admin, guardian_ids=[guardian("p-1").pk])
    # Luis's letter was never used and has expired.
    GuardianInvite.objects.filter(guardian=guardian("p-2")).update(
        expires_at=datetime.datetime(2026, 10, 1, 12, tzinfo=datetime.UTC)
    )
    f.GuardianFactory(student=guardian("p-1").student, full_name="Nora Newcomer", email="")
    client.force_login(user("t-pa"))

    page = client.get(reverse("school_invitations", args=[skinner.pk])).content.decode()

    def status(name):
        return re.search(rf"{name} <span.*?<td class=\"small\">(.*?)</td>", page, re.S).group(1)

    assert status("María Quintanilla").startswith("Emailed on Oct. 14, 2026. Valid until ")
    assert status("Luis Lopez") == "The invitation expired on Oct. 1, 2026."
    assert status("Nora Newcomer") == "Not invited yet."


def test_the_families_without_an_account_come_a_page_at_a_time(
    client, skinner, district_admin, django_assert_num_queries
):
    for n in range(FAMILIES_PER_PAGE):
        student = f.StudentFactory(school=skinner, last_name=f"Zz{n:02d}")
        f.GuardianFactory(student=student, full_name=f"Family {n:02d}", email="")
    guardians_invite_bulk(
        actor=district_admin, guardian_ids=Guardian.objects.values_list("pk", flat=True)
    )
    principal = user("t-pa")
    client.force_login(principal)
    url = reverse("school_invitations", args=[skinner.pk])
    # 1-3 session, user, standing; 4 the school; 5 the counts (guardians, with an account,
    # letters to print); 6 the page of families with each one's newest invitation; 7 the
    # access log's INSERT; 8 unread notifications.
    with django_assert_num_queries(8):
        first = client.get(url).content.decode()
    second = client.get(url, {"page": 2}).content.decode()

    # The school's two families sort first by their child's name, the new ones after.
    assert "María Quintanilla" in first and "Family 47" in first and "Family 48" not in first
    assert "Family 48" in second and "Family 49" in second and "María Quintanilla" not in second
    assert 'aria-label="Pages of the families"' in first
    # Every family without an email has a letter, whatever its page; the button prints them.
    assert f"Print {FAMILIES_PER_PAGE + 1} letters" in first
    letters = client.get(reverse("school_invitation_letters", args=[skinner.pk]))
    assert len(letters.context["invites"]) == FAMILIES_PER_PAGE + 1
    # Only the students shown are recorded as viewed.
    viewed = AuditEvent.objects.filter(action="invitations.viewed", actor=principal)
    assert viewed.count() == FAMILIES_PER_PAGE + 2


def test_invite_everyone_not_invited_yet_at_one_school(
    client, skinner, django_capture_on_commit_callbacks, mailoutbox
):
    client.force_login(user("t-cm"))  # a case manager of the school
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("school_invitations_send", args=[skinner.pk]), follow=True)
    assert (
        "Invitations sent by email: 1. Letters to print: 1. Already invited and still waiting: 0."
        in response.content.decode()
    )
    assert [m.to for m in mailoutbox] == [["maria@example.net"]]
    assert not GuardianInvite.objects.filter(guardian=guardian("p-3")).exists()


@pytest.mark.parametrize("who", ["t-cmb", "t-aide1", "teacher"])
def test_another_school_or_another_role_gets_a_404(client, skinner, who):
    person = f.UserFactory(roles=[(Role.Kind.TEACHER, skinner)]) if who == "teacher" else user(who)
    client.force_login(person)
    for name in ("school_invitations", "school_invitation_letters"):
        assert client.get(reverse(name, args=[skinner.pk])).status_code == 404
    response = client.post(reverse("school_invitations_send", args=[skinner.pk]))
    assert response.status_code == 404
    assert not GuardianInvite.objects.exists()


def test_the_letters_print_one_a_page_in_each_familys_language(client, skinner, district_admin):
    luis = guardian("p-2")
    Guardian.objects.filter(pk=luis.pk).update(preferred_language="es")
    guardians_invite_bulk(actor=district_admin, guardian_ids=[luis.pk])
    code = GuardianInvite.objects.get(guardian=luis).code
    client.force_login(user("t-pa"))

    page = client.get(reverse("school_invitation_letters", args=[skinner.pk])).content.decode()

    assert page.count('class="letter"') == 1
    assert code_display(code) in page
    assert f"{django_settings.SITE_URL}/invite/code/" in page
    assert 'lang="es"' in page
    assert AuditEvent.objects.filter(
        action="invitation_letters.printed", student=luis.student
    ).exists()


# --- The letter's code ----------------------------------------------------------------------


@pytest.fixture
def letter(district, district_admin):
    luis = guardian("p-2")
    guardians_invite_bulk(actor=district_admin, guardian_ids=[luis.pk])
    return GuardianInvite.objects.get(guardian=luis)


def test_a_parent_types_the_code_and_makes_an_account(client, letter):
    typed = code_display(letter.code).lower().replace("-", " - ")
    response = client.post(reverse("invite_code"), {"code": typed})

    assert response.status_code == 302
    assert response.url == reverse("invite_accept", args=[letter.token])
    page = client.get(response.url).content.decode()
    assert "Choose the email address you will sign in with, and a password." in page
    response = client.post(
        response.url,
        {
            "email": "Luis.Lopez@Example.net",
            "new_password1": "a-long-family-passphrase",
            "new_password2": "a-long-family-passphrase",
        },
    )

    luis = guardian("p-2")
    assert response.status_code == 302
    assert response.url == reverse("parent_child", args=[luis.student_id])
    assert luis.user.email == "luis.lopez@example.net" and luis.email == "luis.lopez@example.net"
    assert not EmailAddress.objects.get(user=luis.user).verified
    letter.refresh_from_db()
    assert letter.accepted_at is not None
    # The code worked once.
    response = client.post(reverse("invite_code"), {"code": letter.code})
    assert "This invitation was already used." in response.content.decode()


def test_a_signed_in_parent_adds_the_child_with_the_code(client, letter):
    parent = f.GuardianFactory(with_account=True).user
    client.force_login(parent)
    response = client.post(reverse("invite_code"), {"code": letter.code})
    response = client.post(response.url)
    assert response.status_code == 302
    assert guardian("p-2").user == parent


def test_wrong_codes_are_limited_per_address(client, letter):
    for _ in range(5):
        response = client.post(reverse("invite_code"), {"code": "AAAAA-AAAAA"})
        assert response.status_code == 400
        assert "This code is not valid. Check the letter and type it again." in (
            response.content.decode()
        )
    # Even the right code waits a minute now.
    response = client.post(reverse("invite_code"), {"code": letter.code})
    assert response.status_code == 429
    assert "Too many wrong codes were typed from this connection." in response.content.decode()


def test_an_expired_code_says_so(client, letter):
    GuardianInvite.objects.filter(pk=letter.pk).update(expires_at=timezone.now())
    response = client.post(reverse("invite_code"), {"code": letter.code})
    assert response.status_code == 400
    assert "This invitation has expired. Ask your child&#x27;s school for a new one." in (
        response.content.decode()
    )


def test_the_code_page_opens_signed_out_in_spanish(client):
    client.cookies["django_language"] = "es"
    page = client.get(reverse("invite_code"))
    assert page.status_code == 200 and 'lang="es"' in page.content.decode()


def test_a_schools_page_costs_the_same_queries_for_2_families_or_20(
    client, skinner, district_admin, django_assert_num_queries
):
    principal = user("t-pa")
    client.force_login(principal)
    url = reverse("school_invitations", args=[skinner.pk])
    client.get(url)
    # The session, the user, their standing, the school, the families with their newest
    # invitations, the school's totals, the audit events (one INSERT), the unread
    # notifications.
    with django_assert_num_queries(8):
        client.get(url)
    for _ in range(18):
        f.GuardianFactory(student=f.StudentFactory(school=skinner))
    guardians_invite_bulk(
        actor=district_admin, guardian_ids=Guardian.objects.values_list("pk", flat=True)
    )
    with django_assert_num_queries(8):
        page = client.get(url)
    assert "0 of 20 parents and guardians" in page.content.decode()
