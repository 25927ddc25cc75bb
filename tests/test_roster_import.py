"""`manage.py import_roster`: a OneRoster export (1.1 or 1.2, however messy) brings the
district in; a second import keeps it in step (a student who moved, an assignment that
ended, a new guardian, a SECA to be deleted); the same export twice changes nothing; a
dry run changes nothing; an export that cannot be read is refused whole, with every
problem as file:line: column: message."""

import datetime
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from staff.models import (
    Assignment,
    AuditEvent,
    Guardian,
    Role,
    RosterImport,
    School,
    Student,
    User,
)

from . import factories as f
from .roster_export import Export

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


def run(export: Export, tmp_path: Path, *args, name="export") -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_roster", str(export.write(tmp_path / name)), *args, stdout=out, stderr=err)
    assert err.getvalue() == ""
    return out.getvalue()


def refused(export: Export, tmp_path: Path, *args) -> list[str]:
    err = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(
            "import_roster",
            str(export.write(tmp_path / "bad")),
            *args,
            stdout=io.StringIO(),
            stderr=err,
        )
    assert raised.value.returncode == 1
    assert "nothing was changed" in str(raised.value)
    return err.getvalue().splitlines()


def said(output: str, label: str) -> str:
    """What the summary says of one kind of record: "created 3, updated 0, deactivated 0"."""
    for line in output.splitlines():
        if line.strip().startswith(label + "  "):
            return " ".join(line.strip()[len(label) :].split())
    raise AssertionError(f"No line for {label!r} in:\n{output}")


def snapshot() -> dict:
    """Everything an import may change."""
    return {
        "schools": sorted(School.objects.values_list("sourced_id", "name", "code")),
        "users": sorted(
            User.objects.values_list(
                "sourced_id", "email", "full_name", "is_active", "preferred_language"
            )
        ),
        "roles": sorted(
            Role.objects.values_list(
                "user__sourced_id", "kind", "school__sourced_id", "roster_managed"
            ),
            key=str,
        ),
        "students": sorted(
            Student.objects.values_list(
                "sourced_id",
                "school__sourced_id",
                "case_manager__sourced_id",
                "annual_review_due",
                "reevaluation_due",
                "aide_support",
                "grade",
                "inactive_since",
            ),
            key=str,
        ),
        "guardians": sorted(
            Guardian.all_objects.values_list(
                "sourced_id", "student__sourced_id", "email", "preferred_language", "ended_on"
            ),
            key=str,
        ),
        "assignments": sorted(
            Assignment.objects.values_list(
                "student__sourced_id", "staff__sourced_id", "detail", "ended_on", "roster_managed"
            ),
            key=str,
        ),
    }


def user(sid) -> User:
    return User.objects.get(sourced_id=sid)


def student(sid) -> Student:
    return Student.objects.get(sourced_id=sid)


def seca_assignments():
    return {
        (a.student.sourced_id, a.staff.sourced_id): (a.detail, a.ended_on)
        for a in Assignment.objects.select_related("student", "staff")
    }


FIRST_IMPORT = {
    "schools": [("sch-a", "Skinner North", "A100"), ("sch-b", "Old School", "B200")],
    "roles": {
        ("t-da", "district_admin", None),
        ("t-pa", "principal", "sch-a"),
        ("t-cm", "teacher", "sch-a"),
        ("t-cm", "case_manager", "sch-a"),
        ("t-aide1", "seca", "sch-a"),
        ("t-aide2", "seca", "sch-a"),
        ("t-pb", "principal", "sch-b"),
        ("t-cmb", "teacher", "sch-b"),
        ("t-cmb", "case_manager", "sch-b"),
        ("t-aideb", "seca", "sch-b"),
    },
    "assignments": {
        ("s-1", "t-aide1"): ("", None),
        ("s-2", "t-aide1"): ("", None),
        ("s-2", "t-aide2"): ("1:1 aide", None),
        ("s-3", "t-aideb"): ("", None),
    },
}


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_an_export_brings_the_district_in(tmp_path, version):
    output = run(Export(version), tmp_path)

    assert f"OneRoster {version} export" in output
    assert said(output, "Students with IEPs") == (
        "created 3, updated 0, deactivated 0 (moved to another school: 0)"
    )
    assert (
        sorted(School.objects.values_list("sourced_id", "name", "code")) == FIRST_IMPORT["schools"]
    )
    staff = User.objects.filter(sourced_id__startswith="t-")
    assert staff.count() == 8 and all(u.is_active and not u.has_usable_password() for u in staff)
    assert user("t-pa").email == "pat@district.org" and user("t-pa").full_name == "Pat Principal"
    roles = set(Role.objects.values_list("user__sourced_id", "kind", "school__sourced_id"))
    assert roles == FIRST_IMPORT["roles"]
    # Only the students of iep.csv are kept: s-4 has no IEP.
    assert set(Student.objects.values_list("sourced_id", flat=True)) == {"s-1", "s-2", "s-3"}
    jordan = student("s-1")
    assert (jordan.first_name, jordan.last_name, jordan.district_student_id) == (
        "Jordan",
        "Quintanilla",
        "70000001",
    )
    assert jordan.school.sourced_id == "sch-a" and jordan.grade == "4"
    assert jordan.case_manager == user("t-cm")
    assert jordan.annual_review_due == datetime.date(2027, 3, 1)
    assert jordan.reevaluation_due == datetime.date(2028, 9, 15)
    assert jordan.aide_support == Student.AideSupport.SHARED
    assert student("s-2").aide_support == Student.AideSupport.ONE_TO_ONE
    assert student("s-2").reevaluation_due is None and student("s-2").grade == "K"
    # Guardians linked from either side; the family of s-4 is not kept.
    guardians = {
        (g.sourced_id, g.student.sourced_id): g for g in Guardian.objects.select_related("student")
    }
    assert set(guardians) == {("p-1", "s-1"), ("p-2", "s-2"), ("p-3", "s-3")}
    maria = guardians[("p-1", "s-1")]
    assert (maria.full_name, maria.email, maria.preferred_language) == (
        "María Quintanilla",
        "maria@example.net",
        "es",
    )
    assert guardians[("p-2", "s-2")].relationship == "Guardian"
    assert guardians[("p-2", "s-2")].email == "" and guardians[("p-3", "s-3")].user is None
    # A shared class makes a classroom SECA assignment; iep.csv's 1:1 aide, one of its own.
    assert seca_assignments() == FIRST_IMPORT["assignments"]
    assert all(a.roster_managed for a in Assignment.objects.all())
    # Every student's record-access log shows where the record came from.
    assert AuditEvent.objects.filter(action="student.roster_created", student=jordan).exists()
    history = RosterImport.objects.get()
    assert history.status == RosterImport.Status.DONE and history.version == version
    assert history.summary["changes"]["guardians"]["created"] == 3


def test_a_messy_1_2_export_reads_as_a_clean_1_1_one(tmp_path):
    run(Export("1.1"), tmp_path, name="clean")
    clean = snapshot()
    # BOM, CRLF, quoted commas, an unknown and an empty trailing column,
    # dataLastModified, dates with a time, a blank line at the end.
    output = run(Export("1.2", messy=True), tmp_path, name="messy")
    assert snapshot() == clean
    assert "Nothing to change: iepcoord already matches this export." in output


def test_names_with_commas_and_quotes_are_read_whole(tmp_path):
    export = Export("1.1", messy=True)
    export.user("s-1")["family"] = 'Quintanilla, "Jr."'
    run(export, tmp_path)
    assert student("s-1").last_name == 'Quintanilla, "Jr."'


def test_the_same_export_twice_changes_nothing_and_says_so(tmp_path):
    export = Export("1.1")
    run(export, tmp_path)
    before = snapshot()
    last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()

    output = run(export, tmp_path)

    assert "Nothing to change: iepcoord already matches this export." in output
    for label in ("Schools", "Staff", "Roles", "Parents and guardians", "SECA assignments"):
        assert said(output, label) == "created 0, updated 0, deactivated 0"
    assert snapshot() == before
    # Only the run itself is recorded.
    assert list(AuditEvent.objects.filter(pk__gt=last).values_list("action", flat=True)) == [
        "roster.imported"
    ]


def test_a_dry_run_says_what_would_change_and_changes_nothing(tmp_path):
    run(Export("1.1"), tmp_path)
    export = Export("1.1")
    export.user("s-1")["orgs"] = ["sch-b"]
    before, events = snapshot(), AuditEvent.objects.count()

    output = run(export, tmp_path, "--dry-run")

    assert "Dry run: what the import would change (nothing was changed):" in output
    assert said(output, "Students with IEPs") == (
        "created 0, updated 0, deactivated 0 (moved to another school: 1)"
    )
    assert snapshot() == before
    assert AuditEvent.objects.count() == events and RosterImport.objects.count() == 1


def test_a_dry_run_of_a_first_import_writes_nothing(tmp_path):
    output = run(Export("1.2"), tmp_path, "--dry-run")
    assert said(output, "Staff") == "created 8, updated 0, deactivated 0"
    assert not School.objects.exists() and not User.objects.exists()
    assert not RosterImport.objects.exists()


def second_export() -> Export:
    """The night after: s-1 moved to Old School (its case manager is t-cmb now); t-aide1
    no longer works in s-2's class; s-2 has a new guardian; t-aideb is to be deleted."""
    export = Export("1.1")
    export.user("s-1")["orgs"] = ["sch-b"]
    export.iep("s-1")["manager"] = "t-cmb"
    export.enrollment("e-1").update({"class": "c-b1"})
    export.data["enrollments"].remove(export.enrollment("e-5"))
    export.add_user("p-5", "parent", ["sch-a"], "Ana", "Lopez", "ana@example.net", agents=["s-2"])
    export.user("t-aideb")["status"] = "tobedeleted"
    return export


def test_the_second_import_keeps_the_district_in_step(tmp_path, client):
    run(Export("1.1"), tmp_path)
    leaving = user("t-aideb")
    leaving.set_password(f.PASSWORD)
    leaving.save()
    client.force_login(leaving)
    assert client.get(reverse("home")).status_code == 200

    output = run(second_export(), tmp_path)

    assert said(output, "Students with IEPs") == (
        "created 0, updated 1, deactivated 0 (moved to another school: 1)"
    )
    assert said(output, "Parents and guardians") == "created 1, updated 0, deactivated 0"
    assert said(output, "SECA assignments") == "created 0, updated 0, deactivated 3"
    assert said(output, "Staff") == "created 0, updated 0, deactivated 1"
    # The moved student: at the new school, with its case manager; the move is audited.
    jordan = student("s-1")
    assert jordan.school.sourced_id == "sch-b" and jordan.case_manager == user("t-cmb")
    moved = AuditEvent.objects.get(action="student.transferred", student=jordan)
    assert moved.before["school"] == School.objects.get(sourced_id="sch-a").pk
    today = timezone.localdate()
    assert seca_assignments() == {
        ("s-1", "t-aide1"): ("", today),  # ended by the move
        ("s-2", "t-aide1"): ("", today),  # no longer in the same class
        ("s-2", "t-aide2"): ("1:1 aide", None),
        ("s-3", "t-aideb"): ("", today),  # the SECA is to be deleted
    }
    assert Guardian.objects.filter(sourced_id="p-5", student__sourced_id="s-2").exists()
    # The SECA to be deleted: the account is kept, inactive; its role removed (audited).
    leaving.refresh_from_db()
    assert not leaving.is_active
    assert not Role.objects.filter(user=leaving).exists()
    assert AuditEvent.objects.filter(action="role.roster_removed", before__user=leaving.pk).exists()
    # Signed out at the next page, and refused at sign-in.
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    client.logout()
    client.post(reverse("account_login"), {"login": leaving.email, "password": f.PASSWORD})
    assert "_auth_user_id" not in client.session


def test_after_a_move_the_old_school_keeps_nothing_and_the_new_one_governs(tmp_path, client):
    run(Export("1.1"), tmp_path)
    run(second_export(), tmp_path)
    jordan = student("s-1")
    pages = [
        reverse("access_log", args=[jordan.pk]),
        reverse("guardian_list", args=[jordan.pk]),
        reverse("parent_child", args=[jordan.pk]),
    ]
    # README "Access": the old school's principal, case manager and SECA get a 404.
    for sid in ("t-pa", "t-cm", "t-aide1"):
        client.force_login(user(sid))
        assert [client.get(page).status_code for page in pages] == [404, 404, 404], sid
    # The new school's principal and case manager govern the record.
    for sid in ("t-pb", "t-cmb"):
        client.force_login(user(sid))
        assert client.get(pages[1]).status_code == 200, sid


def test_a_student_no_longer_in_iep_csv_keeps_the_record_and_loses_its_team(tmp_path):
    run(Export("1.1"), tmp_path)
    export = Export("1.1")
    export.data["iep"].remove(export.iep("s-2"))

    output = run(export, tmp_path)

    assert said(output, "Students with IEPs") == (
        "created 0, updated 0, deactivated 1 (moved to another school: 0)"
    )
    mia = student("s-2")
    assert mia.inactive_since == timezone.localdate() and mia.case_manager is None
    assert not Assignment.objects.current().filter(student=mia).exists()
    # The family keeps its view of the child's record.
    assert Guardian.objects.filter(student=mia, sourced_id="p-2").exists()
    assert AuditEvent.objects.filter(action="student.roster_deactivated", student=mia).exists()


def test_an_ended_guardianship_is_kept_and_its_account_closes_when_nothing_is_left(tmp_path):
    run(Export("1.1"), tmp_path)
    maria = Guardian.objects.get(sourced_id="p-1")
    maria.user = f.UserFactory(email="maria@example.net")
    maria.save()
    # Wanda has an account and a child of her own at another school, added by hand.
    wanda = Guardian.objects.get(sourced_id="p-3")
    wanda.user = f.UserFactory(email="wanda@example.net")
    wanda.save()
    f.GuardianFactory(student=f.StudentFactory(), user=wanda.user)
    export = Export("1.1")
    export.user("p-1")["status"] = "tobedeleted"
    export.user("s-3")["agents"] = []

    output = run(export, tmp_path)

    assert said(output, "Parents and guardians") == "created 0, updated 0, deactivated 2"
    # The rows stay, ended; no page, right or notice sees them.
    assert not Guardian.objects.filter(sourced_id__in=["p-1", "p-3"]).exists()
    ended = Guardian.all_objects.filter(sourced_id__in=["p-1", "p-3"])
    assert {g.ended_on for g in ended} == {timezone.localdate()}
    maria.user.refresh_from_db()
    wanda.user.refresh_from_db()
    assert not maria.user.is_active  # nothing left
    assert wanda.user.is_active  # still the guardian of another child


def test_rows_made_by_hand_are_adopted_not_duplicated(tmp_path):
    school = f.SchoolFactory(code="A100", name="Skinner North (old name)")
    principal = f.UserFactory(email="pat@district.org", roles=[(Role.Kind.PRINCIPAL, school)])
    jordan = f.StudentFactory(district_student_id="70000001", school=school)
    hand_made = f.GuardianFactory(student=jordan, full_name="María Quintanilla", email="")

    run(Export("1.1"), tmp_path)

    school.refresh_from_db()
    principal.refresh_from_db()
    jordan.refresh_from_db()
    hand_made.refresh_from_db()
    assert (school.sourced_id, school.name) == ("sch-a", "Skinner North")
    assert principal.sourced_id == "t-pa" and principal.has_usable_password()
    assert Role.objects.get(user=principal).roster_managed
    assert jordan.sourced_id == "s-1" and jordan.case_manager == user("t-cm")
    assert hand_made.sourced_id == "p-1" and hand_made.email == "maria@example.net"
    assert School.objects.count() == 2 and Student.objects.count() == 3


def test_an_address_already_taken_by_another_roster_person_is_refused(tmp_path):
    run(Export("1.1"), tmp_path)
    export = Export("1.1")
    export.user("t-pb")["email"] = "pat@district.org"
    export.user("t-pa")["email"] = "pat.new@district.org"
    export.user("t-pa")["status"] = "tobedeleted"
    before = snapshot()

    lines = refused(export, tmp_path)

    assert lines == [
        "users.csv:7: email: pat@district.org is already the address of another person in iepcoord"
    ]
    assert snapshot() == before


# --- What cannot be read: refused whole, nothing changed --------------------------------


def _missing_file(export):
    export.drop_files.add("enrollments.csv")


def _missing_roles(export):
    export.version = "1.2"
    export.drop_files.add("roles.csv")


def _missing_column(export):
    export.drop_columns["users.csv"] = {"givenName"}


def _bad_date(export):
    export.iep("s-1")["annual"] = "03/01/2027"


def _impossible_date(export):
    export.iep("s-2")["reeval"] = "2027-02-30"


def _bad_enrollment_date(export):
    export.enrollment("e-2")["end"] = "2027-06-31T00:00:00Z"


def _duplicate_user(export):
    export.add_user("t-pa", "teacher", ["sch-a"], "Pat", "Again", "pat2@district.org")


def _duplicate_enrollment(export):
    export.data["enrollments"].append(
        {"sid": "e-3", "class": "c-a1", "user": "s-2", "role": "student"}
    )


def _missing_class(export):
    export.data["enrollments"].append(
        {"sid": "e-9", "class": "c-zz", "user": "s-2", "role": "student"}
    )


def _missing_student(export):
    export.data["iep"].append(
        {
            "student": "s-99",
            "manager": "t-cm",
            "annual": "",
            "reeval": "",
            "support": "none",
            "aide": "",
        }
    )


def _missing_agent(export):
    export.user("p-1")["agents"] = ["s-1", "s-404"]


def _unknown_role(export):
    export.user("t-cm")["role"] = "janitor"


def _unknown_role_12(export):
    export.version = "1.2"
    export.user("t-cm")["role"] = "janitor"


def _bad_support(export):
    export.iep("s-3")["support"] = "full_time"


def _delta(export):
    export.manifest_extra["file.users"] = "delta"


def _unknown_version(export):
    export.version = "1.0"


BAD = {
    "missing file": (_missing_file, "enrollments.csv:0: -: the file is missing from the export"),
    "missing roles.csv in 1.2": (
        _missing_roles,
        "roles.csv:0: -: the file is missing from the export",
    ),
    "missing column": (_missing_column, "users.csv:1: givenName: a required column is missing"),
    "bad date": (
        _bad_date,
        "iep.csv:2: annualReviewDue: 03/01/2027 is not a date (expected YYYY-MM-DD)",
    ),
    "impossible date": (
        _impossible_date,
        "iep.csv:3: reevaluationDue: 2027-02-30 is not a date (expected YYYY-MM-DD)",
    ),
    "bad date and time": (
        _bad_enrollment_date,
        "enrollments.csv:3: endDate: 2027-06-31T00:00:00Z is not a date (expected YYYY-MM-DD)",
    ),
    "duplicate sourcedId": (
        _duplicate_user,
        "users.csv:19: sourcedId: t-pa appears more than once in the file",
    ),
    "duplicate sourcedId in a big file": (
        _duplicate_enrollment,
        "enrollments.csv:8: sourcedId: e-3 appears more than once in the file",
    ),
    "reference to no class": (
        _missing_class,
        "enrollments.csv:8: classSourcedId: no record with sourcedId c-zz in classes.csv",
    ),
    "reference to no student": (
        _missing_student,
        "iep.csv:5: studentSourcedId: no record with sourcedId s-99 in users.csv",
    ),
    "reference to no agent": (
        _missing_agent,
        "users.csv:14: agentSourcedIds: no record with sourcedId s-404 in users.csv",
    ),
    "unknown role": (_unknown_role, "users.csv:4: role: unknown role janitor"),
    "unknown role in roles.csv": (_unknown_role_12, "roles.csv:4: role: unknown role janitor"),
    "unknown aide support": (
        _bad_support,
        "iep.csv:4: aideSupport: full_time is not one of none, shared, one_to_one",
    ),
    "delta export": (
        _delta,
        "manifest.csv:10: file.users: a delta export cannot be imported: export the whole roster (bulk)",
    ),
    "unknown version": (
        _unknown_version,
        "manifest.csv:3: oneroster.version: iepcoord reads OneRoster 1.1 and 1.2, not 1.0",
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_what_cannot_be_read_is_refused_whole_and_changes_nothing(tmp_path, case):
    run(Export("1.1"), tmp_path)
    export = second_export()  # changes that would otherwise be written
    break_it, message = BAD[case]
    break_it(export)
    before, events = snapshot(), AuditEvent.objects.count()

    lines = refused(export, tmp_path)

    assert message in lines
    assert snapshot() == before
    assert AuditEvent.objects.count() == events
    # The refusal is in the imports' history, with its problems.
    failed = RosterImport.objects.get(status=RosterImport.Status.FAILED)
    assert message in failed.problems


def test_every_problem_is_listed_not_only_the_first(tmp_path):
    export = Export("1.1")
    _bad_date(export)
    _unknown_role(export)
    _missing_class(export)

    lines = refused(export, tmp_path, "--dry-run")

    assert lines == [
        "iep.csv:2: annualReviewDue: 03/01/2027 is not a date (expected YYYY-MM-DD)",
        "users.csv:4: role: unknown role janitor",
        "enrollments.csv:9: classSourcedId: no record with sourcedId c-zz in classes.csv",
    ]


def test_a_broken_export_exits_1_without_a_traceback(tmp_path):
    export = Export("1.1")
    _missing_column(export)
    export.drop_columns["classes.csv"] = {"schoolSourcedId"}
    folder = export.write(tmp_path / "broken")
    result = _command(folder)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    # Every missing column at once, read from every file's header first.
    assert result.stderr.splitlines() == [
        "classes.csv:1: schoolSourcedId: a required column is missing",
        "users.csv:1: givenName: a required column is missing",
        "CommandError: The export was refused (2 problems): nothing was changed.",
    ]


def test_a_line_that_is_not_utf8_is_named(tmp_path):
    folder = Export("1.1").write(tmp_path / "latin1")
    with open(folder / "orgs.csv", "ab") as orgs:
        orgs.write("org-x,active,2026-09-01,Escuela Peña,school,X1,dist\n".encode("latin-1"))
    result = _command(folder)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0] == "orgs.csv:5: -: the file is not UTF-8 text"


def _command(folder):
    return subprocess.run(
        [sys.executable, "manage.py", "import_roster", str(folder), "--dry-run"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_zip_is_read_like_a_folder(tmp_path):
    out = io.StringIO()
    call_command(
        "import_roster", str(Export("1.2", messy=True).zip(tmp_path / "x.zip")), stdout=out
    )
    assert Student.objects.count() == 3 and Guardian.objects.count() == 3


def test_rows_longer_or_shorter_than_the_header_are_read(tmp_path):
    folder = Export("1.1").write(tmp_path / "ragged")
    users = (folder / "users.csv").read_text().splitlines()
    # Two extra fields on every row past the header; the last row cut after its grades.
    ragged = [users[0]] + [line + ",extra,," for line in users[1:-1]]
    ragged.append(",".join(users[-1].split(",")[:17]))
    (folder / "users.csv").write_text("\n".join(ragged) + "\n")
    out = io.StringIO()
    call_command("import_roster", str(folder), stdout=out)
    assert Student.objects.count() == 3 and Guardian.objects.count() == 3
