"""District-sized benchmark of the background jobs (README "Performance"). Not a test.

    .venv/bin/python bench/district.py [--recipients 1000] [--concurrency 2] [--reuse]

Needs PostgreSQL (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
iepcoord_bench: dropped and created again unless --reuse finds a district of this
generator there) and redis-server on the PATH (the benchmark starts its own on a free port,
so the machine's Redis is left alone).

1. Generates a district the size of Chicago's with COPY: 650 schools, 55,000 students
   with IEPs, 7,500 SECAs, 70,000 meetings in a school year (most in the spring's IEP
   season) with their invitations, SECA requests, plans, deliveries and the reminders
   already sent for past meetings; and what the pages show (bench/district_rows.py,
   bench/pages.py): a district administrator with two-step sign-in set up, a union
   representative, families with several children, SECAs' weekly schedules, notices and
   the families' answers, feedback, notifications, the audit trail. Its dates follow the
   moment it is generated, which its calendar makes the busiest time of the year (as a
   Wednesday in mid-May is: most of the spring's meetings held, a month of them ahead).
2. Runs one reminder sweep at that moment: seconds, queries, memory. First cold
   (everything due in the next 7 days still to claim, as after a deployment), then five
   minutes later (the steady state), then cold again under tracemalloc for the peak Python
   memory.
3. Finalizes plans until they make `--recipients` copies, and times their delivery
   through a real Celery worker to a local SMTP sink (aiosmtpd).
"""

import argparse
import datetime
import hashlib
import json
import os
import random
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import time
import tracemalloc
import zoneinfo
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from district_rows import contract_rows, page_rows  # noqa: E402  (this folder, as the script's)

from tests.jobs.local_services import RedisServer, SmtpSink  # noqa: E402  (after sys.path)

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/iepcoord_bench"
)

SCHOOLS = 650
STUDENTS = 55_000
SECAS = 7_500
CASE_MANAGERS = 520
TEACHERS_PER_SCHOOL = 10
MEETINGS = 70_000
GUARDIANS_PER_STUDENT = 1.5
GUARDIAN_ACCOUNTS = 0.4
REQUEST_SHARE = 0.08  # meetings with a SECA's request to attend
# How requests stand, for meetings still ahead and for those past.
REQUESTS_AHEAD = {"pending": 40, "approved": 40, "denied": 15, "withdrawn": 5}
REQUESTS_PAST = {"approved": 55, "denied": 30, "expired": 10, "withdrawn": 5}

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")

# The school year laid out around the moment of generation, which is then what a Wednesday
# in mid-May was: the year began 253 days before (1 September), the spring's IEP season
# 53 days before (20 March), and it ends 34 days after (15 June).
DAYS_SINCE_YEAR_START = 253
DAYS_SINCE_SPRING = 53
DAYS_TO_YEAR_END = 34
# Guardian accounts that are also a younger sibling's at the same school: families with
# several children (a parent of four is the busiest parent of bench/pages.py).
SIBLING_SHARE = 0.15
FAMILY_WINDOW = 4  # ... among the school's last accounts
NO_EMAIL_SHARE = 0.05  # guardians without an email address: notices and invitations on paper
ADMIN_EMAIL = "bench-admin@example.org"
UNION_EMAIL = "bench-union@example.org"
# Bumped when the generator adds what the pages need: bench/pages.py and --reuse regenerate
# a district of an older generator (bench_district.version).
DISTRICT_VERSION = 3


def log(message: str):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- Services of our own ------------------------------------------------------------------


# --- Generation ------------------------------------------------------------------------------


def create_database():
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    admin = psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    admin.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{db["NAME"]}"')
    admin.close()


class Copier:
    """Rows into a model's table with COPY. Columns not given take the field's default."""

    def __init__(self, now):
        from django.db import connection

        connection.ensure_connection()
        self.raw = connection.connection
        self.now = now
        self.counts = {}

    def __call__(self, model, rows):
        from django.db.models import JSONField
        from psycopg.types.json import Jsonb

        fields = model._meta.concrete_fields
        filled = []
        for field in fields:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                filled.append((field.attname, self.now))
            elif field.has_default() and callable(field.default):
                filled.append((field.attname, field.default))
            else:
                filled.append((field.attname, field.get_default()))
        json = {i for i, field in enumerate(fields) if isinstance(field, JSONField)}
        columns = ", ".join(f'"{field.column}"' for field in fields)
        n = 0
        sql = f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN'
        with self.raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                values = [
                    row[name] if name in row else (default() if callable(default) else default)
                    for name, default in filled
                ]
                for i in json:
                    values[i] = Jsonb(values[i])
                copy.write_row(values)
                n += 1
        self.raw.commit()
        self.counts[model._meta.label] = n
        return n


def school_day(rng, start: datetime.date, end: datetime.date) -> datetime.date:
    while True:
        day = start + datetime.timedelta(days=rng.randrange((end - start).days))
        if day.weekday() < 5:
            return day


def generate(*, bench_now: datetime.datetime, school_year: int) -> dict:
    """The district, with ids chosen here so relations need no reading back."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection

    from meetings.models import (
        AttendanceRequest,
        Invitation,
        Meeting,
        Plan,
        PlanDelivery,
        Reminder,
    )
    from meetings.services.reminders import Kind, reminder_slot
    from staff.models import Assignment, Designation, Guardian, Role, School, Student, User

    rng = random.Random(2026)
    # What only the pages need draws from its own generator: the jobs' rows are as before.
    extra = random.Random(2027)
    copy = Copier(bench_now - datetime.timedelta(days=200))
    ids = {"user": 0}

    def next_user():
        ids["user"] += 1
        return ids["user"]

    users, roles = [], []

    def person(kind_label: str, school_id, role_kind, language="en"):
        user_id = next_user()
        users.append(
            {
                "id": user_id,
                "password": "!",
                "email": f"{kind_label}{user_id}@bench.example.org",
                "full_name": f"{kind_label.title()} {user_id}",
                "preferred_language": language,
                "calendar_token": secrets.token_urlsafe(),
            }
        )
        if role_kind:
            roles.append(
                {
                    "id": len(roles) + 1,
                    "user_id": user_id,
                    "school_id": school_id,
                    "kind": role_kind,
                }
            )
        return user_id

    schools = list(range(1, SCHOOLS + 1))
    principal = {s: person("principal", s, Role.Kind.PRINCIPAL) for s in schools}
    assistant = {s: person("ap", s, Role.Kind.ASSISTANT_PRINCIPAL) for s in schools}
    managers = {s: [] for s in schools}
    for i in range(CASE_MANAGERS):
        school = schools[i % SCHOOLS] if i < SCHOOLS else rng.choice(schools)
        managers[school].append(person("cm", school, Role.Kind.CASE_MANAGER))
    for s in schools:  # every school has someone managing cases
        if not managers[s]:
            managers[s].append(assistant[s])
            roles.append(
                {
                    "id": len(roles) + 1,
                    "user_id": assistant[s],
                    "school_id": s,
                    "kind": Role.Kind.CASE_MANAGER,
                }
            )
    teachers = {
        s: [person("teacher", s, Role.Kind.TEACHER) for _ in range(TEACHERS_PER_SCHOOL)]
        for s in schools
    }
    related = {s: person("rsp", s, Role.Kind.RELATED_SERVICE) for s in schools}
    secas = {s: [] for s in schools}
    for i in range(SECAS):
        school = schools[i % SCHOOLS]
        secas[school].append(person("seca", school, Role.Kind.SECA))

    log("Schools, staff")
    copy(School, ({"id": s, "name": f"School {s}", "code": f"B{s:05d}"} for s in schools))

    students, guardian_rows, guardian_users, assignments = [], [], {}, []
    families = {s: [] for s in schools}  # the school's guardian accounts, newest last
    for student_id in range(1, STUDENTS + 1):
        school = rng.choice(schools)
        last_iep = bench_now.date() - datetime.timedelta(days=rng.randrange(20, 365))
        students.append(
            {
                "id": student_id,
                "district_student_id": f"{60000000 + student_id}",
                "first_name": f"Kid{student_id}",
                "last_name": f"Family{student_id}",
                "school_id": school,
                "grade": rng.choice(["K", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]),
                "plan_type": "iep",
                "case_manager_id": rng.choice(managers[school]),
                "last_iep_date": last_iep,
                "annual_review_due": last_iep + datetime.timedelta(days=365),
                "reevaluation_due": last_iep + datetime.timedelta(days=rng.randrange(30, 1095)),
            }
        )
        count = 2 if rng.random() < GUARDIANS_PER_STUDENT - 1 else 1
        guardian_users[student_id] = []
        for _ in range(count):
            spanish = rng.random() < 0.25
            user_id = None
            if rng.random() < GUARDIAN_ACCOUNTS:
                siblings = [
                    u
                    for u in families[school][-FAMILY_WINDOW:]
                    if u not in guardian_users[student_id]
                ]
                if siblings and extra.random() < SIBLING_SHARE:
                    user_id = extra.choice(siblings)
                else:
                    user_id = person("parent", None, None, "es" if spanish else "en")
                    families[school].append(user_id)
                guardian_users[student_id].append(user_id)
            paper = user_id is None and extra.random() < NO_EMAIL_SHARE
            guardian_rows.append(
                {
                    "id": len(guardian_rows) + 1,
                    "student_id": student_id,
                    "user_id": user_id,
                    "full_name": f"Parent of {student_id}",
                    "email": "" if paper else f"family{len(guardian_rows) + 1}@bench.example.net",
                    "preferred_language": "es" if spanish else "en",
                }
            )
    # About 1 SECA for 5 of 6 students; each SECA supports several at one school.
    seca_of = {}
    for student in students:
        if rng.random() < 0.83:
            seca = rng.choice(secas[student["school_id"]])
            seca_of[student["id"]] = seca
            assignments.append(
                {
                    "id": len(assignments) + 1,
                    "student_id": student["id"],
                    "staff_id": seca,
                    "kind": Assignment.Kind.SECA,
                    "school_year": school_year,
                }
            )

    # The aide support each IEP requires (seed 003); required support with no SECA is
    # unstaffed since a day this year (Student.unstaffed_since).
    for student in students:
        support = extra.choices(["shared", "one_to_one", "none"], weights=[55, 10, 35])[0]
        student["aide_support"] = support
        if support != "none":
            student["aide_minutes_per_day"] = extra.choice([60, 90, 120, 180, 360])
            if student["id"] not in seca_of:
                days = extra.randrange(1, 120)
                student["unstaffed_since"] = bench_now.date() - datetime.timedelta(days=days)

    # The district's administrator (two-step sign-in set up below) and a union representative.
    admin = person("admin", None, Role.Kind.DISTRICT_ADMIN)
    users[-1].update(email=ADMIN_EMAIL, full_name="Bench Administrator")
    person("union", None, Role.Kind.UNION_REP)
    users[-1].update(email=UNION_EMAIL, full_name="Bench Union Representative")
    copy(User, users)
    copy(Role, roles)
    designated = schools[::2]
    copy(
        Designation,
        (
            {"id": i + 1, "school_id": s, "designee_id": assistant[s], "named_by_id": principal[s]}
            for i, s in enumerate(designated)
        ),
    )
    log("Students, guardians, assignments")
    copy(Student, students)
    copy(Guardian, guardian_rows)
    copy(Assignment, assignments)

    # Meetings: a school year from September to mid-June, most from late March on, laid out
    # so that now is mid-May.
    today = bench_now.astimezone(CHICAGO).date()
    year_start = today - datetime.timedelta(days=DAYS_SINCE_YEAR_START)
    spring = today - datetime.timedelta(days=DAYS_SINCE_SPRING)
    year_end = today + datetime.timedelta(days=DAYS_TO_YEAR_END)
    kinds = ["annual"] * 70 + ["reeval"] * 15 + ["initial"] * 8 + ["amendment"] * 7
    meetings, invitations, requests, plans, deliveries, reminders = [], [], [], [], [], []
    recent_cutoff = bench_now - datetime.timedelta(days=14)
    upcoming = 0
    for meeting_id in range(1, MEETINGS + 1):
        student = students[rng.randrange(STUDENTS)]
        school = student["school_id"]
        if rng.random() < 0.55:
            day = school_day(rng, spring, year_end)
        else:
            day = school_day(rng, year_start, spring)
        local = datetime.datetime.combine(
            day, datetime.time(rng.randrange(8, 15), rng.choice([0, 30])), CHICAGO
        )
        starts = local.astimezone(datetime.UTC)
        past = starts < bench_now
        state = "scheduled"
        if rng.random() < 0.07:
            state = "cancelled"
        elif starts < bench_now - datetime.timedelta(hours=1):
            state = "held"
        meeting = {
            "id": meeting_id,
            "student_id": student["id"],
            "school_id": school,
            "kind": rng.choice(kinds),
            "starts_at": starts,
            "ends_at": starts + datetime.timedelta(hours=1),
            "location": "Conference room",
            "state": state,
            "scheduled_by_id": student["case_manager_id"],
            "held_at": starts + datetime.timedelta(hours=1) if state == "held" else None,
        }
        meetings.append(meeting)
        if not past and state == "scheduled":
            upcoming += 1
        team = [
            (student["case_manager_id"], "Case manager"),
            (rng.choice(teachers[school]), "General education teacher"),
            (related[school], "Related-service provider"),
            (assistant[school], "District representative"),
        ]
        if guardian_users[student["id"]]:
            team.append((guardian_users[student["id"]][0], "Parent"))
        invited = []
        for user_id, role in team:
            if user_id in invited:
                continue
            invited.append(user_id)
            invitations.append(
                {
                    "id": len(invitations) + 1,
                    "meeting_id": meeting_id,
                    "user_id": user_id,
                    "name": f"Person {user_id}",
                    "role": role,
                    "attended": (rng.random() < 0.95) if state == "held" else None,
                }
            )
        # Reminders already sent for past meetings: the claims the sweep conflicts with.
        if past and state == "held":
            for lead in (168, 24):
                at = starts - datetime.timedelta(hours=lead)
                for user_id in invited:
                    reminders.append(
                        {
                            "id": len(reminders) + 1,
                            "kind": Kind.MEETING_UPCOMING,
                            "object_id": meeting_id,
                            "recipient_id": user_id,
                            "slot": reminder_slot(lead, starts),
                            "created_at": at,
                            "sent_at": at,
                        }
                    )
        seca = seca_of.get(student["id"])
        attended_seca = False
        if seca and state != "cancelled" and rng.random() < REQUEST_SHARE / 0.83:
            # Asked nine days ahead, decided three days ahead; none after now.
            request = {
                "id": len(requests) + 1,
                "meeting_id": meeting_id,
                "seca_id": seca,
                "created_at": min(
                    starts - datetime.timedelta(days=9), bench_now - datetime.timedelta(days=1)
                ),
            }
            if past and starts > bench_now - datetime.timedelta(minutes=5):
                status = "pending"  # the meeting just started: the sweep expires it
            else:
                table = REQUESTS_PAST if past else REQUESTS_AHEAD
                status = rng.choices(list(table), weights=list(table.values()))[0]
            request["status"] = status
            if status in ("approved", "denied"):
                request.update(
                    decided_by_id=principal[school],
                    decided_at=min(
                        starts - datetime.timedelta(days=3), bench_now - datetime.timedelta(hours=1)
                    ),
                )
            if status == "approved":
                request["coverage_note"] = "Resource teacher"
            if status == "denied":
                request["deny_reason"] = "group"
            if request["status"] == "approved":
                attended_seca = not past or rng.random() < 0.9
                invitations.append(
                    {
                        "id": len(invitations) + 1,
                        "meeting_id": meeting_id,
                        "user_id": seca,
                        "name": f"SECA {seca}",
                        "role": "SECA (requested to attend)",
                        "attended": attended_seca if state == "held" else None,
                    }
                )
            requests.append(request)
        if state == "held":
            finalized = None
            chance = 0.95 if starts < recent_cutoff else 0.4
            if rng.random() < chance:
                finalized = meeting["held_at"] + datetime.timedelta(days=rng.randrange(1, 12))
                if finalized > bench_now:
                    finalized = None
            plan_id = len(plans) + 1
            plans.append(
                {
                    "id": plan_id,
                    "meeting_id": meeting_id,
                    "version": 1,
                    "file": f"plans/plan-{meeting_id}-v1.pdf",
                    "sha256": hashlib.sha256(str(meeting_id).encode()).hexdigest(),
                    "uploaded_by_id": student["case_manager_id"],
                    "finalized_at": finalized,
                }
            )
            if finalized:
                recipients = list(guardian_users[student["id"]])
                if seca and not attended_seca:
                    recipients.append(seca)
                for user_id in dict.fromkeys(recipients):
                    sent = finalized + datetime.timedelta(minutes=1)
                    opened = sent + datetime.timedelta(hours=rng.randrange(1, 120))
                    deliveries.append(
                        {
                            "id": len(deliveries) + 1,
                            "plan_id": plan_id,
                            "recipient_id": user_id,
                            "reason": "seca" if user_id == seca else "guardian",
                            "sent_at": sent,
                            "acknowledged_at": opened
                            if rng.random() < 0.85 and opened < bench_now
                            else None,
                        }
                    )

    # Requests of the SECAs of cancelled meetings, cancelled with them (every state a page
    # shows), and a few sent back to the approvers because the meeting moved.
    for meeting in meetings:
        seca = seca_of.get(meeting["student_id"])
        if meeting["state"] == "cancelled" and seca and extra.random() < REQUEST_SHARE / 0.83:
            requests.append(
                {
                    "id": len(requests) + 1,
                    "meeting_id": meeting["id"],
                    "seca_id": seca,
                    "status": "cancelled",
                    "created_at": min(
                        meeting["starts_at"] - datetime.timedelta(days=9),
                        bench_now - datetime.timedelta(days=1),
                    ),
                }
            )
    for request in requests:
        if request["status"] == "pending" and extra.random() < 0.1:
            request["reopened"] = True

    log("What the pages show: schedules, notices, feedback, notifications, audit trail")
    pages = page_rows(
        rng=extra,
        now=bench_now,
        school_year=school_year,
        students=students,
        guardian_rows=guardian_rows,
        meetings=meetings,
        invitations=invitations,
        requests=requests,
        plans=plans,
        deliveries=deliveries,
        assignments=assignments,
        secas=secas,
        principal=principal,
        assistant=assistant,
        designated=set(designated),
        admin=admin,
    )
    pages.update(
        contract_rows(
            rng=extra,
            now=bench_now,
            school_year=school_year,
            secas=secas,
            assignments=assignments,
            students=students,
            principal=principal,
            admin=admin,
        )
    )

    log("Meetings, invitations, requests, plans, deliveries, reminders sent before")
    copy(Meeting, meetings)
    copy(Invitation, invitations)
    copy(AttendanceRequest, requests)
    copy(Plan, plans)
    copy(PlanDelivery, deliveries)
    copy(Reminder, reminders)
    log("Schedules, notices, answers, feedback, notifications, invitations, audit trail")
    for label, rows in pages.items():
        copy(apps.get_model(label), rows)
    TOTP.activate(User.objects.get(pk=admin), generate_totp_secret())
    # The administration site's lists are measured too: the administrator has it, as in
    # the demo.
    User.objects.filter(pk=admin).update(is_staff=True, is_superuser=True)

    models = [
        School,
        User,
        Role,
        Designation,
        Student,
        Guardian,
        Assignment,
        Meeting,
        Invitation,
        AttendanceRequest,
        Plan,
        PlanDelivery,
        Reminder,
        Authenticator,
        *(apps.get_model(label) for label in pages),
    ]
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)
        # As a database that has been running would be: statistics, hint bits, visibility.
        cursor.execute("VACUUM ANALYZE")
    copy.counts["upcoming meetings"] = upcoming
    return copy.counts


# --- Measures ----------------------------------------------------------------------------------


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def measure_sweep(now, *, traced: bool = False) -> dict:
    from django.db import connection

    from meetings.services.reminders import reminders_sweep

    counter = QueryCounter()
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        claimed = reminders_sweep(now=now)
    seconds = time.perf_counter() - started
    result = {"seconds": seconds, "queries": counter.count, "claimed": claimed}
    if traced:
        result["peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return result


def start_worker(env: dict, concurrency: int, log_path: Path):
    handle = open(log_path, "w")  # noqa: SIM115 - lives as long as the worker
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "iepcoord",
            "worker",
            "--loglevel",
            "WARNING",
            "--pool",
            "prefork",
            "--concurrency",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return proc, handle


def measure_distribution(*, recipients: int, concurrency: int, broker, sink) -> dict:
    from django.db import connection, transaction
    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    from meetings.models import Meeting, Plan, PlanDelivery
    from meetings.services.distribution import plan_deliveries_create

    # Held meetings whose plan is not finalized yet: finalize them until they make
    # `recipients` copies.
    finalized = Plan.objects.filter(meeting=OuterRef("meeting"), finalized_at__isnull=False)
    pending = list(
        Plan.objects.filter(finalized_at__isnull=True, meeting__state=Meeting.State.HELD)
        .exclude(Exists(finalized))
        .select_related("meeting__school")
        .order_by("id")[:5000]
    )
    broker.client().flushdb()
    # Finalize plans until they make `recipients` copies, each queued on commit; the
    # worker is not started yet, so what follows measures sending alone.
    started = time.perf_counter()
    copies, plans_used = 0, 0
    for plan in pending:
        with transaction.atomic():
            Plan.objects.filter(pk=plan.pk).update(finalized_at=timezone.now())
            plan.finalized_at = timezone.now()
            copies += len(plan_deliveries_create(plan=plan))
        plans_used += 1
        if copies >= recipients:
            break
    queued = time.perf_counter() - started
    connection.close()

    log_path = Path("/tmp") / f"iepcoord-bench-worker-{os.getpid()}.log"
    env = {
        **os.environ,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "EMAIL_USE_TLS": "0",
        "LOG_LEVEL": "WARNING",
    }
    started = time.perf_counter()
    proc, handle = start_worker(env, concurrency, log_path)
    try:
        sink.wait_for(copies, timeout=600, quiet=0)
        sending = sink.arrivals[-1] - sink.arrivals[0]
        unsent = PlanDelivery.objects.filter(sent_at__isnull=True).count()
        time.sleep(2)  # a duplicate would arrive now
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        handle.close()
        connection.close()
    return {
        "copies": copies,
        "plans": plans_used,
        "queued_s": queued,
        "worker_start_to_last_s": sink.arrivals[-1] - started,
        "seconds": sending,
        "per_second": (copies - 1) / sending,
        "unsent": unsent,
        "received": len(sink.received()),
        "concurrency": concurrency,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--reuse", action="store_true", help="keep the generated database")
    parser.add_argument("--phase", choices=["all", "sweep"], default="all", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "sweep":
        # A fresh process, so its memory is the sweep's and not the generator's.
        import django

        django.setup()
        print(json.dumps(sweep_phase(_bench_now())))
        return

    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not on the PATH")
    broker = RedisServer()
    broker.start()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="iepcoord.settings",
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=broker.url,
        DEBUG="1",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    try:
        generated = None
        meta = district_meta() if args.reuse else None
        if meta is None or meta["version"] < DISTRICT_VERSION:
            generated = build_district()
        else:
            call_command("migrate", verbosity=0)
        bench_now = _bench_now()
        _forget_claims_since(bench_now)
        connection.close()

        log("Sweeping")
        child = subprocess.run(
            [sys.executable, __file__, "--phase", "sweep"],
            env=os.environ,
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode:
            raise SystemExit(f"The sweep failed:\n{child.stderr}")
        sweep = json.loads(child.stdout.strip().splitlines()[-1])
        log(f"Sweep: {sweep}")

        reports = measure_reports(bench_now)
        log(f"Reports: {reports}")

        broker.client().flushdb()  # the sweep's reminders: no worker is meant to send them
        sink = SmtpSink()
        sink.start()
        try:
            distribution = measure_distribution(
                recipients=args.recipients, concurrency=args.concurrency, broker=broker, sink=sink
            )
        finally:
            sink.stop()
        log(f"Distribution: {distribution}")
        _report(generated, sweep, distribution, reports)
    finally:
        broker.stop()


def district_meta() -> dict | None:
    """The moment the district in the database was generated (its calendar's "now") and the
    version of the generator; None when there is no district."""
    from django.db import DatabaseError, connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT generated_at, bench_now, version FROM bench_district")
            row = cursor.fetchone()
    except DatabaseError:
        connection.close()
        return None
    if row is None:
        return None
    return {"generated_at": row[0], "bench_now": row[1], "version": row[2]}


def build_district() -> dict:
    """Drops and creates the database, migrates, and generates the district around this
    moment, which bench_district records. Returns the rows copied, by model."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from staff.models import current_school_year

    connection.close()  # the database is dropped: its connections go
    started = time.perf_counter()
    create_database()
    call_command("migrate", verbosity=0)
    log("Migrated; generating the district")
    bench_now = timezone.now().replace(microsecond=0)
    school_year = current_school_year(bench_now.astimezone(CHICAGO).date())
    generated = generate(bench_now=bench_now, school_year=school_year)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_district (generated_at timestamptz NOT NULL,"
            " bench_now timestamptz NOT NULL, version integer NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO bench_district VALUES (now(), %s, %s)", [bench_now, DISTRICT_VERSION]
        )
    generated["seconds"] = time.perf_counter() - started
    log(f"Generated in {generated['seconds']:.0f} s: {generated}")
    return generated


def _bench_now() -> datetime.datetime:
    """The moment the district was generated: the busiest time of its year."""
    meta = district_meta()
    if meta is None:
        raise SystemExit("No benchmark district in the database")
    return meta["bench_now"]


def sweep_phase(bench_now) -> dict:
    def max_rss_mb():
        # VmHWM: the peak of this process's own memory. ru_maxrss would include the
        # generator's, inherited across fork and exec.
        try:
            status = Path("/proc/self/status").read_text()
            return int(status.split("VmHWM:")[1].split()[0]) / 1024
        except (OSError, IndexError):
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    baseline = max_rss_mb()
    cold = measure_sweep(bench_now)
    cold["max_rss_mb"], cold["baseline_rss_mb"] = max_rss_mb(), baseline
    steady = measure_sweep(bench_now + datetime.timedelta(minutes=5))
    _forget_claims_since(bench_now)
    traced = measure_sweep(bench_now, traced=True)
    _forget_claims_since(bench_now)
    return {"cold": cold, "steady": steady, "traced": traced}


def measure_reports(bench_now) -> dict:
    """The district report and the busiest school's, rendered by their views for a district
    administrator at the busiest time of the year: the median of five runs each, and the
    queries of one (fixed, whatever the number of schools)."""
    import statistics

    import time_machine
    from django.db import connection
    from django.db.models import Count
    from django.test import RequestFactory

    from meetings.models import Meeting
    from meetings.views import reports as report_views
    from staff.models import Role, User

    admin, _ = User.objects.get_or_create(
        email="bench-admin@example.org", defaults={"full_name": "Bench Administrator"}
    )
    Role.objects.get_or_create(user=admin, kind=Role.Kind.DISTRICT_ADMIN, school=None)
    busiest = (
        Meeting.objects.values("school").annotate(n=Count("pk")).order_by("-n").first()["school"]
    )
    factory = RequestFactory()

    def run(view, *args):
        timings, queries = [], 0
        for _ in range(5):
            request = factory.get("/")
            request.user = User.objects.get(pk=admin.pk)
            counter = QueryCounter()
            started = time.perf_counter()
            with connection.execute_wrapper(counter):
                response = view(request, *args)
            timings.append((time.perf_counter() - started) * 1000)
            queries = counter.count
            assert response.status_code == 200, response.status_code
        return {"median_ms": statistics.median(timings), "queries": queries}

    with time_machine.travel(bench_now, tick=True):
        return {
            "district": run(report_views.district_report),
            "district_csv": run(report_views.district_csv),
            "school": run(report_views.school_report, busiest),
        }


def _forget_claims_since(moment):
    """Drop the reminders a measured sweep claimed, and their emails in the outbox."""
    from meetings.models import Reminder
    from staff.models import OutgoingEmail

    claimed = Reminder.objects.filter(created_at__gte=moment)
    OutgoingEmail.objects.filter(kind="reminder", source_id__in=claimed.values("pk")).delete()
    claimed.delete()


def _report(generated, sweep, distribution, reports):
    cold, steady, traced = sweep["cold"], sweep["steady"], sweep["traced"]
    claimed = sum(v for k, v in cold["claimed"].items() if k not in ("requeued", "expired"))
    print("\n=== Results ===")
    if generated:
        print(f"generation (database, migrations, COPY): {generated['seconds']:.0f} s")
    print(
        f"cold sweep: {cold['seconds']:.1f} s, {cold['queries']} queries, {claimed} reminders "
        f"claimed and queued, {cold['claimed']['expired']} requests expired; peak Python "
        f"memory {traced['peak_mb']:.1f} MB (tracemalloc); process max RSS "
        f"{cold['max_rss_mb']:.0f} MB ({cold['baseline_rss_mb']:.0f} MB before the sweep)"
    )
    print(f"  per kind: {cold['claimed']}")
    print(
        f"sweep 5 minutes later: {steady['seconds']:.2f} s, {steady['queries']} queries, "
        f"claimed {sum(steady['claimed'].values())}"
    )
    print(
        f"distribution: {distribution['copies']} copies of {distribution['plans']} plans in "
        f"{distribution['seconds']:.1f} s = {distribution['per_second']:.0f} deliveries/s "
        f"(worker concurrency {distribution['concurrency']}; from the worker's start to the "
        f"last email {distribution['worker_start_to_last_s']:.1f} s; finalizing and queueing "
        f"took {distribution['queued_s']:.1f} s; unsent after: {distribution['unsent']}; "
        f"received: {distribution['received']})"
    )
    for name, figure in reports.items():
        print(
            f"report {name}: {figure['median_ms']:.0f} ms (median of 5), {figure['queries']} queries"
        )


if __name__ == "__main__":
    main()
