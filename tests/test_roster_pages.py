"""The district administrator's roster pages: upload an export, see the dry run, confirm,
follow the job (a page that refreshes itself), see the problems of a refused export and
the history of imports. Nobody else sees them. The jobs claim their import once."""

import datetime
import io

import pytest
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from staff.models import AuditEvent, Role, RosterImport, School, Student
from staff.roster.jobs import roster_import_check, roster_import_run

from . import factories as f
from .roster_export import Export

pytestmark = pytest.mark.django_db


def upload(client, tmp_path, export: Export, capture, name="district.zip"):
    with capture(execute=True):
        return client.post(
            reverse("roster_import_list"),
            {"export": SimpleUploadedFile(name, export.zip_bytes(tmp_path), "application/zip")},
        )


def test_upload_dry_run_confirm_and_the_history(
    client, district_admin, tmp_path, django_capture_on_commit_callbacks
):
    client.force_login(district_admin)
    home = client.get(reverse("home")).content.decode()
    assert reverse("roster_import_list") in home

    response = upload(client, tmp_path, Export("1.2"), django_capture_on_commit_callbacks)

    roster_import = RosterImport.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("roster_import_detail", args=[roster_import.pk])
    # The dry run ran (a job, on commit): what would change, and nothing changed.
    assert roster_import.status == RosterImport.Status.DRY_RUN_DONE
    assert roster_import.uploaded_by == district_admin and roster_import.version == "1.2"
    assert not School.objects.exists() and not Student.objects.exists()
    page = client.get(response.url).content.decode()
    assert "Checked: nothing has changed yet." in page
    assert "What the import would change" in page
    assert "Confirm: import this export" in page
    assert 'http-equiv="refresh"' not in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("roster_import_confirm", args=[roster_import.pk]))

    assert response.status_code == 302
    roster_import.refresh_from_db()
    assert roster_import.status == RosterImport.Status.DONE
    assert roster_import.confirmed_by == district_admin
    assert Student.objects.count() == 3 and School.objects.count() == 2
    assert roster_import.summary["changes"]["students"]["created"] == 3
    page = client.get(response.url).content.decode()
    assert "What the import changed" in page and "Invite every family" in page
    # Every change names who confirmed it.
    assert (
        AuditEvent.objects.filter(action="student.roster_created", actor=district_admin).count()
        == 3
    )
    history = client.get(reverse("roster_import_list")).content.decode()
    assert "district.zip" in history and "Imported" in history


def test_a_refused_export_lists_its_problems_and_changes_nothing(
    client, district_admin, tmp_path, django_capture_on_commit_callbacks
):
    client.force_login(district_admin)
    export = Export("1.1")
    export.iep("s-1")["annual"] = "tomorrow"
    export.user("t-cm")["role"] = "janitor"

    response = upload(client, tmp_path, export, django_capture_on_commit_callbacks)

    roster_import = RosterImport.objects.get()
    assert roster_import.status == RosterImport.Status.FAILED
    page = client.get(response.url).content.decode()
    assert "The export was refused: 2 problems, listed below. Nothing was changed." in page
    assert "iep.csv:2: annualReviewDue: tomorrow is not a date (expected YYYY-MM-DD)" in page
    assert "users.csv:4: role: unknown role janitor" in page
    assert "Confirm" not in page
    assert not Student.objects.exists()
    # It cannot be confirmed.
    response = client.post(reverse("roster_import_confirm", args=[roster_import.pk]), follow=True)
    assert "This export is not waiting for confirmation." in response.content.decode()
    roster_import.refresh_from_db()
    assert roster_import.status == RosterImport.Status.FAILED


def test_a_file_that_is_not_a_zip_is_refused_at_the_form(client, district_admin):
    client.force_login(district_admin)
    response = client.post(
        reverse("roster_import_list"),
        {"export": SimpleUploadedFile("users.csv", b"sourcedId\n1\n", "text/csv")},
    )
    assert response.status_code == 400
    assert "This is not a .zip file." in response.content.decode()
    assert not RosterImport.objects.exists()


def test_the_page_of_a_job_in_progress_refreshes_itself_and_says_where_it_is(
    client, district_admin
):
    roster_import = RosterImport.objects.create(
        uploaded_by=district_admin,
        source="district.zip",
        progress={"phase": "reading", "file": "enrollments.csv", "rows": 1200000},
    )
    client.force_login(district_admin)
    page = client.get(reverse("roster_import_detail", args=[roster_import.pk])).content.decode()
    assert '<meta http-equiv="refresh" content="5">' in page
    assert "Checking the export: nothing is changed while it is checked." in page
    assert "Reading enrollments.csv: 1200000 rows so far." in page


def test_only_district_administrators_see_the_roster_pages(
    client, principal, tmp_path, django_capture_on_commit_callbacks
):
    roster_import = RosterImport.objects.create(
        source="district.zip", status=RosterImport.Status.DRY_RUN_DONE
    )
    client.force_login(principal)
    assert client.get(reverse("roster_import_list")).status_code == 404
    assert client.get(reverse("roster_import_detail", args=[roster_import.pk])).status_code == 404
    assert upload(client, tmp_path, Export(), django_capture_on_commit_callbacks).status_code == 404
    response = client.post(reverse("roster_import_confirm", args=[roster_import.pk]))
    assert response.status_code == 404
    assert RosterImport.objects.get().status == RosterImport.Status.DRY_RUN_DONE


def test_confirming_is_a_post(client, district_admin):
    roster_import = RosterImport.objects.create(status=RosterImport.Status.DRY_RUN_DONE)
    client.force_login(district_admin)
    assert client.get(reverse("roster_import_confirm", args=[roster_import.pk])).status_code == 405


def test_one_import_runs_at_a_time(client, district_admin):
    RosterImport.objects.create(status=RosterImport.Status.RUNNING, source="tonight")
    waiting = RosterImport.objects.create(status=RosterImport.Status.DRY_RUN_DONE)
    client.force_login(district_admin)
    page = client.get(reverse("roster_import_detail", args=[waiting.pk])).content.decode()
    assert "Another import is running: confirm this one once it has ended." in page
    response = client.post(reverse("roster_import_confirm", args=[waiting.pk]), follow=True)
    assert "Another import is running: wait for it to end, then confirm." in (
        response.content.decode()
    )
    waiting.refresh_from_db()
    assert waiting.status == RosterImport.Status.DRY_RUN_DONE


def test_a_job_delivered_twice_runs_once_and_a_dead_one_is_taken_over(
    district_admin, tmp_path, settings
):
    roster_import = RosterImport(uploaded_by=district_admin, source="district.zip")
    with Export().zip(tmp_path / "d.zip").open("rb") as export:
        roster_import.file.save("district.zip", File(export))
    # Another worker holds it.
    RosterImport.objects.filter(pk=roster_import.pk).update(
        claimed_until=timezone.now() + datetime.timedelta(minutes=5)
    )
    assert roster_import_check(import_id=roster_import.pk) is False
    # That worker was killed: its claim ran out.
    RosterImport.objects.filter(pk=roster_import.pk).update(
        claimed_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert roster_import_check(import_id=roster_import.pk) is True
    assert roster_import_check(import_id=roster_import.pk) is False  # checked already
    RosterImport.objects.filter(pk=roster_import.pk).update(
        status=RosterImport.Status.RUNNING, confirmed_by=district_admin
    )
    assert roster_import_run(import_id=roster_import.pk) is True
    assert roster_import_run(import_id=roster_import.pk) is False
    assert Student.objects.count() == 3
    roster_import.refresh_from_db()
    assert roster_import.status == RosterImport.Status.DONE and roster_import.claimed_until is None


def test_the_roster_removes_only_the_roles_it_gave(tmp_path):
    """An administrator's own role given by hand is not the roster's to remove."""
    call_command("import_roster", str(Export().write(tmp_path / "e")), stdout=io.StringIO())
    school = School.objects.get(sourced_id="sch-a")
    pat = f.UserFactory(email="someone@district.org")
    hand_made = Role.objects.create(user=pat, kind=Role.Kind.ASSISTANT_PRINCIPAL, school=school)
    call_command("import_roster", str(Export().write(tmp_path / "e")), stdout=io.StringIO())
    assert Role.objects.filter(pk=hand_made.pk).exists()


def test_the_page_of_a_done_import_costs_a_fixed_number_of_queries(
    client, district_admin, tmp_path, django_assert_num_queries
):
    call_command("import_roster", str(Export().write(tmp_path / "e")), stdout=io.StringIO())
    roster_import = RosterImport.objects.get()
    client.force_login(district_admin)
    url = reverse("roster_import_detail", args=[roster_import.pk])
    client.get(url)
    # The session, the user, their standing, their authenticator (two-step sign-in), the
    # import, its invitations' five counts, the notifications: the families per school
    # were counted by the first view (the schools' names and their families, two more).
    with django_assert_num_queries(7):
        page = client.get(url).content.decode()
    assert "Skinner North" in page and "Old School" in page
