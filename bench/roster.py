"""District-sized benchmark of the roster import (README "Performance"). Not a test.

    .venv/bin/python bench/roster.py [--version 1.2] [--out /tmp/iepcoord-roster-bench]
                                     [--reuse-export]

1. Writes a OneRoster CSV export the size of Chicago's, streaming with csv.writer: 650
   schools, 320,000 students (55,000 of them in iep.csv), 40,000 staff (7,500 aides),
   400,000 parents and guardians, about 80,000 classes and 2,000,000 enrollments.
2. Creates its own PostgreSQL database (BENCH_ROSTER_DATABASE_URL, default
   postgres://postgres@127.0.0.1:5432/iepcoord_roster_bench: dropped and created again),
   migrates it, and imports the export twice with `manage.py import_roster`, each in a
   fresh process: the first import (an empty database), then the same export again (no
   change). For each: wall time and the importing process's peak resident memory
   (VmHWM, /proc/self/status).
"""

import argparse
import csv
import datetime
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The files' columns, as the import's tests write them.
from tests.roster_export import CLASSES, ENROLLMENTS, IEP, ROLES_12, USERS_11, USERS_12  # noqa: E402

DATABASE_URL = os.environ.get(
    "BENCH_ROSTER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/iepcoord_roster_bench"
)

SCHOOLS = 650
STUDENTS = 320_000
IEP_STUDENTS = 55_000
STAFF = 40_000
AIDES = 7_500
DISTRICT_ADMINS = 20
GUARDIANS = 400_000
CLASSES_PER_STUDENT = 6
CLASS_SIZE = 25
CLASSES_PER_AIDE = 2
SPECIAL_ED_TEACHERS_PER_SCHOOL = 3

MODIFIED = "2026-09-01T02:00:00.000Z"


def log(message: str):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def sid(kind: int, n: int) -> str:
    """A sourcedId shaped like the GUIDs exports carry (36 characters)."""
    return f"{kind:08x}-0000-4000-8000-{n:012x}"


SCHOOL, STAFF_KIND, STUDENT, PARENT, KLASS, ENROLLMENT, ROLE, TERM, DISTRICT = range(1, 10)


def write_export(out: Path, version: str) -> dict:
    """The export, written row by row: memory stays small whatever its size."""
    rng = random.Random(2026)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}

    def table(name, header, rows):
        with open(out / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            n = 0
            for row in rows:
                writer.writerow(row)
                n += 1
        counts[name] = n

    files = ["academicSessions", "classes", "enrollments", "orgs", "users"]
    files += ["roles"] if version == "1.2" else []
    table(
        "manifest.csv",
        ["propertyName", "value"],
        [["manifest.version", "1.0"], ["oneroster.version", version]]
        + [[f"file.{name}", "bulk"] for name in files]
        + [["source.systemName", "bench/roster.py"]],
    )
    district = sid(DISTRICT, 1)
    table(
        "orgs.csv",
        [
            "sourcedId",
            "status",
            "dateLastModified",
            "name",
            "type",
            "identifier",
            "parentSourcedId",
        ],
        [[district, "active", MODIFIED, "City District", "district", "D1", ""]]
        + [
            [sid(SCHOOL, s), "active", MODIFIED, f"School {s}", "school", f"R{s:05d}", district]
            for s in range(SCHOOLS)
        ],
    )
    term = sid(TERM, 1)
    table(
        "academicSessions.csv",
        ["sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate"]
        + ["parentSourcedId", "schoolYear"],
        [
            [
                term,
                "active",
                MODIFIED,
                "2026-27",
                "schoolYear",
                "2026-08-24",
                "2027-06-10",
                "",
                "2027",
            ]
        ],
    )

    # Staff: per school a principal and a site administrator, special education teachers
    # (the case managers), aides, teachers; a few district administrators.
    log("Staff")
    staff_rows = []  # (sid, role, school or None, given, family)
    principals = [
        (sid(STAFF_KIND, len(staff_rows) + i), "principal", s) for i, s in enumerate(range(SCHOOLS))
    ]
    staff_rows += principals
    staff_rows += [
        (sid(STAFF_KIND, len(staff_rows) + s), "siteAdministrator", s) for s in range(SCHOOLS)
    ]
    staff_rows += [
        (sid(STAFF_KIND, len(staff_rows) + i), "districtAdministrator", None)
        for i in range(DISTRICT_ADMINS)
    ]
    case_managers = {s: [] for s in range(SCHOOLS)}
    for s in range(SCHOOLS):
        for _ in range(SPECIAL_ED_TEACHERS_PER_SCHOOL):
            row = (sid(STAFF_KIND, len(staff_rows)), "teacher", s)
            staff_rows.append(row)
            case_managers[s].append(row[0])
    aides = {s: [] for s in range(SCHOOLS)}
    for i in range(AIDES):
        row = (sid(STAFF_KIND, len(staff_rows)), "aide", i % SCHOOLS)
        staff_rows.append(row)
        aides[i % SCHOOLS].append(row[0])
    teachers = {s: [] for s in range(SCHOOLS)}
    while len(staff_rows) < STAFF:
        s = len(staff_rows) % SCHOOLS
        row = (sid(STAFF_KIND, len(staff_rows)), "teacher", s)
        staff_rows.append(row)
        teachers[s].append(row[0])

    # Students, at a school each; 55,000 with an IEP. Parents: one per student, a second
    # for a quarter of them; both sides name the link (agentSourcedIds).
    log("Students, families, classes")
    student_school = [rng.randrange(SCHOOLS) for _ in range(STUDENTS)]
    iep = set(rng.sample(range(STUDENTS), IEP_STUDENTS))
    parents_of = [[] for _ in range(STUDENTS)]
    parent_child = []
    for n in range(GUARDIANS):
        child = n if n < STUDENTS else rng.randrange(STUDENTS)
        parents_of[child].append(n)
        parent_child.append(child)

    # Classes: students of a school in groups of CLASS_SIZE, six classes each.
    by_school = {s: [] for s in range(SCHOOLS)}
    for n, s in enumerate(student_school):
        by_school[s].append(n)
    classes = []  # (sid, school, teacher, [students])
    for s, pupils in by_school.items():
        for period in range(CLASSES_PER_STUDENT):
            order = pupils[:]
            rng.shuffle(order)
            for start in range(0, len(order), CLASS_SIZE):
                teacher = teachers[s][(period * 7 + start) % len(teachers[s])]
                classes.append(
                    (sid(KLASS, len(classes)), s, teacher, order[start : start + CLASS_SIZE])
                )
    aide_classes = {}
    school_classes = {s: [] for s in range(SCHOOLS)}
    for k, c in enumerate(classes):
        school_classes[c[1]].append(k)
    for s, names in aides.items():
        for aide in names:
            aide_classes[aide] = rng.sample(school_classes[s], CLASSES_PER_AIDE)

    log("Writing users.csv" + (" and roles.csv" if version == "1.2" else ""))
    school_ids = [sid(SCHOOL, s) for s in range(SCHOOLS)]

    def users():
        for n, (user, role, s) in enumerate(staff_rows):
            org = district if s is None else school_ids[s]
            yield _user(
                version,
                user,
                role,
                org,
                f"Staff{n}",
                f"Person{n}",
                f"staff{n}@bench.example.org",
                "",
                "",
                "",
            )
        for n in range(STUDENTS):
            agents = ",".join(sid(PARENT, p) for p in parents_of[n])
            yield _user(
                version,
                sid(STUDENT, n),
                "student",
                school_ids[student_school[n]],
                f"Kid{n}",
                f"Family{n}",
                "",
                agents,
                f"{70000000 + n}",
                rng.choice(
                    ["KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12"]
                ),
            )
        for n in range(GUARDIANS):
            child = parent_child[n]
            email = f"family{n}@bench.example.net" if rng.random() < 0.85 else ""
            row = _user(
                version,
                sid(PARENT, n),
                rng.choice(["parent", "parent", "parent", "guardian"]),
                school_ids[student_school[child]],
                f"Parent{n}",
                f"Family{child}",
                email,
                sid(STUDENT, child),
                "",
                "",
            )
            row.append("es" if rng.random() < 0.25 else "en")
            yield row

    header = USERS_11 if version == "1.1" else USERS_12
    table(
        "users.csv",
        header + ["metadata.language"],
        (row + [""] * (len(header) + 1 - len(row)) for row in users()),
    )
    if version == "1.2":

        def roles():
            n = 0
            for user, role, s in staff_rows:
                n += 1
                yield [
                    sid(ROLE, n),
                    "active",
                    MODIFIED,
                    user,
                    "primary",
                    role,
                    "",
                    "",
                    district if s is None else school_ids[s],
                    "",
                ]
            for k in range(STUDENTS):
                n += 1
                yield [
                    sid(ROLE, n),
                    "active",
                    MODIFIED,
                    sid(STUDENT, k),
                    "primary",
                    "student",
                    "",
                    "",
                    school_ids[student_school[k]],
                    "",
                ]
            for p in range(GUARDIANS):
                n += 1
                yield [
                    sid(ROLE, n),
                    "active",
                    MODIFIED,
                    sid(PARENT, p),
                    "primary",
                    "parent",
                    "",
                    "",
                    school_ids[student_school[parent_child[p]]],
                    "",
                ]

        table(
            "roles.csv",
            ROLES_12,
            roles(),
        )

    log("Writing classes.csv and enrollments.csv")
    table(
        "classes.csv",
        CLASSES,
        (
            [
                c[0],
                "active",
                MODIFIED,
                f"Class {k}",
                "",
                "",
                f"C{k}",
                "scheduled",
                "",
                school_ids[c[1]],
                term,
                "",
                "",
                "",
            ]
            for k, c in enumerate(classes)
        ),
    )

    def enrollments():
        n = 0
        for c in classes:
            n += 1
            yield [
                sid(ENROLLMENT, n),
                "active",
                MODIFIED,
                c[0],
                school_ids[c[1]],
                c[2],
                "teacher",
                "true",
                "",
                "",
            ]
            for pupil in c[3]:
                n += 1
                yield [
                    sid(ENROLLMENT, n),
                    "active",
                    MODIFIED,
                    c[0],
                    school_ids[c[1]],
                    sid(STUDENT, pupil),
                    "student",
                    "false",
                    "2026-08-24",
                    "",
                ]
        for aide, ks in aide_classes.items():
            for k in ks:
                n += 1
                c = classes[k]
                yield [
                    sid(ENROLLMENT, n),
                    "active",
                    MODIFIED,
                    c[0],
                    school_ids[c[1]],
                    aide,
                    "aide",
                    "false",
                    "",
                    "",
                ]

    table(
        "enrollments.csv",
        ENROLLMENTS,
        enrollments(),
    )

    log("Writing iep.csv")
    today = datetime.date(2026, 9, 1)

    def ieps():
        for n in sorted(iep):
            s = student_school[n]
            support = rng.choices(["shared", "one_to_one", "none"], weights=[60, 10, 30])[0]
            aide = rng.choice(aides[s]) if support == "one_to_one" and aides[s] else ""
            annual = today + datetime.timedelta(days=rng.randrange(1, 365))
            reeval = today + datetime.timedelta(days=rng.randrange(30, 1095))
            yield [
                sid(STUDENT, n),
                rng.choice(case_managers[s]),
                annual.isoformat(),
                reeval.isoformat(),
                support,
                aide,
            ]

    table(
        "iep.csv",
        IEP,
        ieps(),
    )
    return counts


def _user(version, user, role, org, given, family, email, agents, identifier, grades) -> list:
    if version == "1.1":
        return [
            user,
            "active",
            MODIFIED,
            "true",
            org,
            role,
            user[-12:],
            "",
            given,
            family,
            "",
            identifier,
            email,
            "",
            "",
            agents,
            grades,
            "",
        ]
    return [
        user,
        "active",
        MODIFIED,
        "true",
        user[-12:],
        "",
        given,
        family,
        "",
        identifier,
        email,
        "",
        "",
        agents,
        grades,
        "",
        identifier,
        "",
        "",
        "",
        "",
        org,
        "",
    ]


# --- Measures ----------------------------------------------------------------------------------


def import_phase(path: str) -> dict:
    """In a fresh process: one `import_roster`, its time and this process's peak memory."""
    import io

    import django

    django.setup()
    from django.core.management import call_command

    out = io.StringIO()
    started = time.perf_counter()
    call_command("import_roster", path, stdout=out)
    seconds = time.perf_counter() - started
    status = Path("/proc/self/status").read_text()
    peak = int(status.split("VmHWM:")[1].split()[0]) / 1024
    return {"seconds": seconds, "peak_rss_mb": peak, "output": out.getvalue()}


def create_database():
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    admin = psycopg.connect(DATABASE_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", choices=["1.1", "1.2"], default="1.2")
    parser.add_argument("--out", default="/tmp/iepcoord-roster-bench")
    parser.add_argument("--reuse-export", action="store_true", help="keep a written export")
    parser.add_argument("--phase", default="all", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="iepcoord.settings",
        DATABASE_URL=DATABASE_URL,
        DEBUG="1",
        LOG_LEVEL="WARNING",
        # Generous, for a slow disk: the job's own limit is not what is measured here.
        ROSTER_IMPORT_TIME_LIMIT="1800",
        CELERY_TASK_TIME_LIMIT="1800",
    )
    if args.phase == "import":
        print(json.dumps(import_phase(args.out)))
        return

    out = Path(args.out)
    if not (args.reuse_export and (out / "manifest.csv").exists()):
        started = time.perf_counter()
        counts = write_export(out, args.version)
        size = sum(p.stat().st_size for p in out.iterdir()) / 1e6
        log(f"Export written in {time.perf_counter() - started:.0f} s, {size:.0f} MB: {counts}")
    create_database()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True
    )
    results = {}
    for run in ("first import", "same export again"):
        log(f"Importing: {run}")
        child = subprocess.run(
            [sys.executable, __file__, "--phase", "import", "--out", str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode:
            raise SystemExit(f"The import failed:\n{child.stdout}\n{child.stderr}")
        results[run] = json.loads(child.stdout.strip().splitlines()[-1])
        log(f"{run}: {results[run]['seconds']:.0f} s, peak {results[run]['peak_rss_mb']:.0f} MB")
        print(results[run]["output"])
    print("\n=== Results ===")
    for run, result in results.items():
        print(
            f"{run}: {result['seconds']:.0f} s, peak resident memory {result['peak_rss_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
