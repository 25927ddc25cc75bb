"""Write a plan (staff/roster/plan.py): in the caller's transaction, in chunks, with one
audit event per row changed, each naming the student it is about so that the student's
record-access log shows it (34 CFR 300.614).

New rows go in with COPY on PostgreSQL (their ids drawn from the table's sequence first,
so the rows that name them and their audit events need no reading back), and with
bulk_create elsewhere; no model instance is made for them. Updates are one UPDATE per row:
a nightly import changes few.

The order matters: schools and people first (the rows that follow name them), then roles
(a case manager keeps a student who moves only with that role at the new school), the
students' moves (staff.services.students_transfer: the one rule of a move), the students,
their guardians, the assignments, and last the accounts whose every relationship ended.
"""

import datetime
import json

from django.contrib.auth.hashers import make_password
from django.db import connection
from django.db.models import JSONField
from django.utils import timezone

from ..middleware import client_ip
from ..models import Assignment, AuditEvent, Guardian, Role, School, Student, User
from ..services import students_transfer, students_unstaffed_refresh
from .plan import CHUNK, Plan, chunks
from .reader import Roster


def insert_rows(model, rows: list[dict], *, now) -> list[int]:
    """Insert `rows` ({field attname: value}; the other fields take their defaults) and
    return their ids, in order."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        created = model._default_manager.bulk_create(
            [model(**row) for row in rows], batch_size=CHUNK
        )
        return [obj.pk for obj in created]
    table = model._meta.db_table
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(rows)],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
    columns = ", ".join(f'"{field.column}"' for field in fields)
    sql = f'COPY "{table}" ("id", {columns}) FROM STDIN'
    writers = [_writer(field, now) for field in fields]
    with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
        for pk, row in zip(ids, rows, strict=True):
            copy.write_row([pk, *(write(row) for write in writers)])
    return ids


def _writer(field, now):
    """The value of `field` for COPY, from a row or the field's default."""
    name = field.attname
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda row: row.get(name, now)
    if isinstance(field, JSONField):
        return lambda row: json.dumps(row.get(name) or {})
    if field.has_default() and callable(field.default):
        return lambda row: row[name] if name in row else field.get_default()
    default = field.get_default()
    return lambda row: row.get(name, default)


class Events:
    """Audit events, written CHUNK at a time."""

    def __init__(self, actor, now):
        self.actor_id = actor.pk if actor is not None and actor.is_authenticated else None
        self.now = now
        self.ip = client_ip.get()
        self.pending: list[dict] = []
        self.written = 0

    def add(self, action, *, object_type, object_id, school_id=None, student_id=None, **kw):
        self.pending.append(
            {
                "at": self.now,
                "actor_id": self.actor_id,
                "action": action,
                "object_type": object_type,
                "object_id": str(object_id),
                "school_id": school_id,
                "student_id": student_id,
                "before": _jsonable(kw.get("before")),
                "after": _jsonable(kw.get("after")),
                "ip": self.ip,
            }
        )
        if len(self.pending) >= CHUNK * 5:
            self.flush()

    def flush(self):
        if self.pending:
            insert_rows(AuditEvent, self.pending, now=self.now)
            self.written += len(self.pending)
            self.pending = []


def _jsonable(values: dict | None) -> dict:
    return {
        key: value.isoformat() if isinstance(value, datetime.date) else value
        for key, value in (values or {}).items()
    }


def _sid_map(model) -> dict[str, int]:
    return dict(model.objects.filter(sourced_id__isnull=False).values_list("sourced_id", "pk"))


def _update(model, updates, *, now, events, ids=None, resolve=None, manager=None):
    """Write each Update's changes, one UPDATE per row (a nightly import changes few; a
    first import creates rather than updates), and audit each as `<model>.roster_updated`
    with the event's ids read from the row (`ids`: event field -> model field)."""
    manager = manager or model._default_manager
    stamped = any(field.name == "updated_at" for field in model._meta.fields)
    written = []
    for update in updates:
        changes = resolve(update.changes) if resolve else dict(update.changes)
        written.append(dict(changes))
        if stamped:
            changes["updated_at"] = now
        manager.filter(pk=update.pk).update(**changes)
    ids = ids or {}
    rows = {}
    if ids:
        fields = sorted(set(ids.values()))
        rows = {
            row["pk"]: row
            for row in manager.filter(pk__in=[u.pk for u in updates]).values("pk", *fields)
        }
    name = model._meta.model_name
    for update, after in zip(updates, written, strict=True):
        row = rows.get(update.pk, {})
        events.add(
            f"{name}.roster_updated",
            object_type=name,
            object_id=update.pk,
            before=update.before,
            after=after,
            **{event_field: row.get(field) for event_field, field in ids.items()},
        )


def apply_plan(plan: Plan, roster: Roster, *, actor, progress=None) -> int:
    """Write `plan` (inside the caller's transaction); the number of audit events."""
    progress = progress or (lambda phase: None)
    now = timezone.now()
    today = plan.today
    events = Events(actor, now)

    progress("schools")
    rows = [{"sourced_id": r.sid, "name": r.name, "code": r.code} for r in plan.schools_create]
    for pk, row in zip(insert_rows(School, rows, now=now), rows, strict=True):
        events.add(
            "school.roster_created",
            object_type="school",
            object_id=pk,
            school_id=pk,
            after={"name": row["name"], "code": row["code"]},
        )
    _update(School, plan.schools_update, now=now, events=events, ids={"school_id": "pk"})
    school_ids = _sid_map(School)

    progress("staff")
    for batch in chunks(plan.users_create):
        rows = [
            {
                "sourced_id": row.sid,
                "email": row.email,
                "full_name": row.full_name,
                "phone": row.phone,
                "preferred_language": row.language or User.Language.ENGLISH,
                # No password: each person sets theirs ("Forgot your password?").
                "password": make_password(None),
                "date_joined": now,
            }
            for row in batch
        ]
        for pk, row in zip(insert_rows(User, rows, now=now), rows, strict=True):
            events.add(
                "user.roster_created",
                object_type="user",
                object_id=pk,
                after={"email": row["email"], "sourced_id": row["sourced_id"]},
            )
    _update(User, plan.users_update, now=now, events=events)
    user_ids = _sid_map(User)

    progress("roles")
    for batch in chunks(plan.roles_create):
        rows = [
            {
                "user_id": user_ids[user],
                "kind": kind,
                "school_id": school_ids.get(school),
                "roster_managed": True,
            }
            for user, kind, school in batch
        ]
        for pk, row in zip(insert_rows(Role, rows, now=now), rows, strict=True):
            events.add(
                "role.roster_added",
                object_type="role",
                object_id=pk,
                school_id=row["school_id"],
                after={"user": row["user_id"], "kind": row["kind"]},
            )
    for batch in chunks(plan.roles_adopt):
        # A role given by hand that the roster also gives: the roster keeps it from now on.
        Role.objects.filter(pk__in=batch).update(roster_managed=True, updated_at=now)
        for pk, school_id in Role.objects.filter(pk__in=batch).values_list("pk", "school_id"):
            events.add(
                "role.roster_adopted",
                object_type="role",
                object_id=pk,
                school_id=school_id,
                after={"roster_managed": True},
            )
    for batch in chunks(plan.roles_remove):
        # A role says what someone may do now: the one row the roster removes; the audit
        # trail keeps it.
        Role.objects.filter(pk__in=[pk for pk, *_rest in batch]).delete()
        for pk, user_id, kind, school_id in batch:
            events.add(
                "role.roster_removed",
                object_type="role",
                object_id=pk,
                school_id=school_id,
                before={"user": user_id, "kind": kind},
            )

    progress("students")
    events.flush()
    # The records follow a student who moves: the same rule as any move.
    students_transfer(
        actor=actor, moves={pk: school_ids[sid] for pk, sid in plan.students_move.items()}
    )
    for batch in chunks(plan.students_create):
        rows = [
            {
                "sourced_id": row.sid,
                "first_name": row.first_name,
                "last_name": row.last_name,
                "district_student_id": row.district_id,
                "school_id": school_ids[row.school],
                "grade": row.grade,
                "plan_type": Student.PlanType.IEP,
                "case_manager_id": user_ids.get(row.case_manager),
                "annual_review_due": row.annual_review_due,
                "reevaluation_due": row.reevaluation_due,
                "aide_support": row.aide_support,
                "aide_minutes_per_day": row.aide_minutes_per_day,
            }
            for row in batch
        ]
        for pk, row in zip(insert_rows(Student, rows, now=now), rows, strict=True):
            events.add(
                "student.roster_created",
                object_type="student",
                object_id=pk,
                school_id=row["school_id"],
                student_id=pk,
                after={"sourced_id": row["sourced_id"], "school": row["school_id"]},
            )

    def resolve(changes):
        changes = dict(changes)
        if "school" in changes:
            changes["school_id"] = school_ids[changes.pop("school")]
        if "case_manager" in changes:
            changes["case_manager_id"] = user_ids.get(changes.pop("case_manager"))
        return changes

    updates = [u for u in plan.students_update if set(u.changes) - {"school"}]
    _update(
        Student,
        updates,
        now=now,
        events=events,
        ids={"school_id": "school_id", "student_id": "pk"},
        resolve=resolve,
    )
    for batch in chunks(plan.students_deactivate):
        # Left the district, or the IEP ended: the record stays where it was.
        Student.objects.filter(pk__in=batch).update(
            inactive_since=today, case_manager=None, updated_at=now
        )
        for pk, school_id in Student.objects.filter(pk__in=batch).values_list("pk", "school_id"):
            events.add(
                "student.roster_deactivated",
                object_type="student",
                object_id=pk,
                school_id=school_id,
                student_id=pk,
                after={"inactive_since": today},
            )
    student_ids = _sid_map(Student)

    progress("guardians")
    for batch in chunks(plan.guardians_create):
        rows = [
            {
                "sourced_id": parent,
                "student_id": student_ids[student],
                "full_name": row.full_name,
                "relationship": row.relationship,
                "email": row.email,
                "phone": row.phone,
                "preferred_language": row.language or User.Language.ENGLISH,
            }
            for parent, student, row in batch
        ]
        for pk, row in zip(insert_rows(Guardian, rows, now=now), rows, strict=True):
            events.add(
                "guardian.roster_created",
                object_type="guardian",
                object_id=pk,
                student_id=row["student_id"],
                after={"sourced_id": row["sourced_id"], "email": row["email"]},
            )
    _update(
        Guardian,
        plan.guardians_update,
        now=now,
        events=events,
        ids={"student_id": "student_id"},
        manager=Guardian.all_objects,
    )
    for batch in chunks(plan.guardians_end):
        Guardian.all_objects.filter(pk__in=[pk for pk, _student in batch]).update(
            ended_on=today, updated_at=now
        )
        for pk, student_id in batch:
            events.add(
                "guardian.roster_ended",
                object_type="guardian",
                object_id=pk,
                student_id=student_id,
                after={"ended_on": today},
            )

    progress("assignments")
    ending = list(plan.assignments_end.items())
    for batch in chunks(ending):
        Assignment.objects.current(today).filter(pk__in=[pk for pk, _s in batch]).update(
            ended_on=today, updated_at=now
        )
        for pk, student_id in batch:
            events.add(
                "assignment.roster_ended",
                object_type="assignment",
                object_id=pk,
                student_id=student_id,
                after={"ended_on": today},
            )
    for batch in chunks(plan.assignments_create):
        rows = [
            {
                "student_id": student_ids[student],
                "staff_id": user_ids[aide],
                "kind": Assignment.Kind.SECA,
                "school_year": plan.school_year,
                "detail": detail,
                "roster_managed": True,
            }
            for student, aide, detail in batch
        ]
        for pk, row in zip(insert_rows(Assignment, rows, now=now), rows, strict=True):
            events.add(
                "assignment.roster_created",
                object_type="assignment",
                object_id=pk,
                student_id=row["student_id"],
                after={"staff": row["staff_id"], "detail": row["detail"]},
            )
    for batch in chunks(plan.assignments_stay_create):
        rows = [
            {
                "student_id": student_id,
                "staff_id": seca_id,
                "kind": Assignment.Kind.SECA,
                "school_year": plan.school_year,
                "detail": "",
                "roster_managed": False,
            }
            for student_id, seca_id, _stay in batch
        ]
        for pk, (student_id, seca_id, stay) in zip(insert_rows(Assignment, rows, now=now), batch, strict=True):  # fmt: skip
            events.add(
                "assignment.stay_honored",
                object_type="assignment",
                object_id=pk,
                student_id=student_id,
                after={"staff": seca_id, "stay_request": stay},
            )
    for pk, stay in plan.assignments_kept.items():
        events.add(
            "assignment.stay_honored",
            object_type="assignment",
            object_id=pk,
            after={"stay_request": stay},
        )
    _update(
        Assignment,
        plan.assignments_update,
        now=now,
        events=events,
        ids={"student_id": "student_id"},
    )
    # Whose required aide support is left without a SECA, or staffed again.
    students_unstaffed_refresh(today=today)

    progress("accounts")
    for batch in chunks(plan.users_deactivate):
        # Django refuses the session of an inactive account at its next request
        # (ModelBackend.get_user), and the sign-in: the person is signed out.
        User.objects.filter(pk__in=batch).update(is_active=False)
        for pk in batch:
            events.add(
                "user.deactivated", object_type="user", object_id=pk, after={"is_active": False}
            )
    events.flush()
    return events.written
