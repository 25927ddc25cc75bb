"""What an export changes: the rows the reader kept, compared with the database by
sourcedId. A row made by hand that is the same school (by code), person (by email),
student (by district id), guardian (by the child and the email or name), role or
assignment is adopted: from then on the roster keeps it in step. Nothing is written here.

The database is read in a few queries of its roster rows (ids and the compared fields,
never model instances); the plan holds ids and the changed fields only.
"""

import dataclasses
import datetime
from collections import defaultdict

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import (
    Assignment,
    Guardian,
    Role,
    School,
    StayRequest,
    Student,
    User,
    current_school_year,
)
from .reader import ORGS, USERS, Problem, Roster

CHUNK = 2000

KINDS = ("schools", "staff", "roles", "students", "guardians", "assignments")
KIND_LABELS = {
    "schools": gettext_lazy("Schools"),
    "staff": gettext_lazy("Staff"),
    "roles": gettext_lazy("Roles"),
    "students": gettext_lazy("Students with IEPs"),
    "guardians": gettext_lazy("Parents and guardians"),
    "assignments": gettext_lazy("SECA assignments"),
}


def chunks(items, size=CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclasses.dataclass
class Update:
    pk: int
    # New values; a foreign key by sourcedId ("school", "case_manager"), resolved when
    # written (the row it names may be created by the same import).
    changes: dict
    before: dict


@dataclasses.dataclass
class Plan:
    today: datetime.date
    school_year: int
    schools_create: list = dataclasses.field(default_factory=list)
    schools_update: list[Update] = dataclasses.field(default_factory=list)
    users_create: list = dataclasses.field(default_factory=list)
    users_update: list[Update] = dataclasses.field(default_factory=list)
    users_deactivate: set[int] = dataclasses.field(default_factory=set)
    roles_create: list[tuple] = dataclasses.field(default_factory=list)
    roles_adopt: list[int] = dataclasses.field(default_factory=list)
    # (pk, user id, kind, school id)
    roles_remove: list[tuple] = dataclasses.field(default_factory=list)
    students_create: list = dataclasses.field(default_factory=list)
    students_update: list[Update] = dataclasses.field(default_factory=list)
    # student pk -> the sourcedId of the school they move to
    students_move: dict[int, str] = dataclasses.field(default_factory=dict)
    students_deactivate: set[int] = dataclasses.field(default_factory=set)
    # (parent sourcedId, student sourcedId, GuardianRow)
    guardians_create: list[tuple] = dataclasses.field(default_factory=list)
    guardians_update: list[Update] = dataclasses.field(default_factory=list)
    # (pk, student id)
    guardians_end: list[tuple] = dataclasses.field(default_factory=list)
    # (student sourcedId, aide sourcedId, detail)
    assignments_create: list[tuple] = dataclasses.field(default_factory=list)
    assignments_update: list[Update] = dataclasses.field(default_factory=list)
    # pk -> student id: ended today (not in the export, or their student or SECA left)
    assignments_end: dict[int, int] = dataclasses.field(default_factory=dict)
    # Contract: a SECA approved to stay with a student keeps them. pk -> stay request pk:
    # not ended though the export no longer gives it; (student id, SECA id, stay request
    # pk): made for the year though the export does not give it.
    assignments_kept: dict[int, int] = dataclasses.field(default_factory=dict)
    assignments_stay_create: list[tuple] = dataclasses.field(default_factory=list)
    problems: list[Problem] = dataclasses.field(default_factory=list)
    # pk -> sourcedId of the rows the roster keeps in step, or adopts in this import.
    school_sids: dict[int, str] = dataclasses.field(default_factory=dict)
    user_sids: dict[int, str] = dataclasses.field(default_factory=dict)
    student_sids: dict[int, str] = dataclasses.field(default_factory=dict)
    adopted_users: set[int] = dataclasses.field(default_factory=set)
    adopted_students: set[int] = dataclasses.field(default_factory=set)

    def summary(self) -> dict:
        """{kind: {"created", "updated", "deactivated"}} (and the students' moves)."""
        moved_only = {u.pk for u in self.students_update if set(u.changes) <= {"school"}}
        return {
            "schools": _counts(len(self.schools_create), len(self.schools_update), 0),
            "staff": _counts(
                len(self.users_create), len(self.users_update), len(self.users_deactivate)
            ),
            "roles": _counts(len(self.roles_create), len(self.roles_adopt), len(self.roles_remove)),
            "students": {
                **_counts(
                    len(self.students_create),
                    len(self.students_update) - len(moved_only & set(self.students_move)),
                    len(self.students_deactivate),
                ),
                "moved": len(self.students_move),
            },
            "guardians": _counts(
                len(self.guardians_create), len(self.guardians_update), len(self.guardians_end)
            ),
            "assignments": {
                **_counts(
                    len(self.assignments_create) + len(self.assignments_stay_create),
                    len(self.assignments_update),
                    len(self.assignments_end),
                ),
                "kept_for_stay": len(self.assignments_kept) + len(self.assignments_stay_create),
            },
        }

    @property
    def changes_nothing(self) -> bool:
        # Keeping an assignment changes nothing: the kept count is only said.
        return not any(
            any(v for k, v in counts.items() if k != "kept_for_stay")
            for counts in self.summary().values()
        )


def _counts(created, updated, deactivated) -> dict:
    return {"created": created, "updated": updated, "deactivated": deactivated}


def _diff(current: dict, wanted: dict) -> tuple[dict, dict]:
    changes = {k: v for k, v in wanted.items() if current[k] != v}
    return changes, {k: current[k] for k in changes}


def plan_import(roster: Roster, *, today: datetime.date) -> Plan:
    plan = Plan(today=today, school_year=current_school_year(today))
    _plan_schools(plan, roster)
    staff_pks = _plan_users(plan, roster)
    _plan_roles(plan, roster)
    _plan_students(plan, roster)
    ended_users = _plan_guardians(plan, roster)
    _plan_user_deactivations(plan, roster, staff_pks, ended_users)
    _plan_assignments(plan, roster)
    return plan


def _plan_schools(plan: Plan, roster: Roster):
    existing = {
        sid: (pk, name, code)
        for pk, sid, name, code in School.objects.filter(sourced_id__isnull=False).values_list(
            "pk", "sourced_id", "name", "code"
        )
    }
    codes = dict(School.objects.values_list("code", "sourced_id"))
    by_code = dict(School.objects.filter(sourced_id__isnull=True).values_list("code", "pk"))
    plan.school_sids = {pk: sid for sid, (pk, _name, _code) in existing.items()}
    for sid, row in roster.schools.items():
        found = existing.get(sid)
        if found is None:
            if row.code in by_code:  # a school made by hand: adopted
                pk = by_code[row.code]
                plan.schools_update.append(Update(pk, {"sourced_id": sid, "name": row.name}, {}))
                plan.school_sids[pk] = sid
            elif row.code in codes:
                plan.problems.append(
                    Problem(
                        ORGS,
                        row.line,
                        "identifier",
                        _("%(code)s is already the code of another school in iepcoord")
                        % {"code": row.code},
                    )
                )
            else:
                plan.schools_create.append(row)
            continue
        pk, name, code = found
        changes, before = _diff({"name": name, "code": code}, {"name": row.name, "code": row.code})
        if "code" in changes and codes.get(row.code, sid) != sid:
            plan.problems.append(
                Problem(
                    ORGS,
                    row.line,
                    "identifier",
                    _("%(code)s is already the code of another school in iepcoord")
                    % {"code": row.code},
                )
            )
        elif changes:
            plan.schools_update.append(Update(pk, changes, before))


def _plan_users(plan: Plan, roster: Roster) -> dict[str, int]:
    """Staff accounts; their sourcedId -> pk (existing ones)."""
    fields = ("full_name", "email", "phone", "preferred_language", "is_active")
    existing = {}
    for pk, sid, *values in User.objects.filter(sourced_id__isnull=False).values_list(
        "pk", "sourced_id", *fields
    ):
        existing[sid] = (pk, dict(zip(fields, values, strict=True)))
    # Every address of the export, as iepcoord knows it: adopted, or taken by another.
    holders = {}
    for batch in chunks(row.email for row in roster.staff.values()):
        for pk, email, sid, *values in User.objects.filter(email__in=batch).values_list(
            "pk", "email", "sourced_id", *fields
        ):
            holders[email] = (pk, sid, dict(zip(fields, values, strict=True)))
    pks = {}
    for sid, row in roster.staff.items():
        wanted = {"full_name": row.full_name, "email": row.email, "phone": row.phone}
        wanted["is_active"] = True
        if row.language:
            wanted["preferred_language"] = row.language
        found = existing.get(sid)
        holder = holders.get(row.email)
        if found is None:
            if holder is None:
                plan.users_create.append(row)
                continue
            if holder[1] is not None:
                plan.problems.append(_email_taken(row))
                continue
            # An account made by hand (or a parent's) with this address: adopted.
            pk, _sid, current = holder
            changes, before = _diff(current, wanted)
            changes["sourced_id"] = sid
            plan.adopted_users.add(pk)
            plan.users_update.append(Update(pk, changes, before))
            pks[sid] = pk
            continue
        pk, current = found
        pks[sid] = pk
        if holder is not None and holder[0] != pk:
            plan.problems.append(_email_taken(row))
            continue
        changes, before = _diff(current, {k: v for k, v in wanted.items() if k in current})
        if changes:
            plan.users_update.append(Update(pk, changes, before))
    # Accounts the roster made whose person is no longer in it (or is to be deleted).
    plan.users_deactivate = {
        pk
        for sid, (pk, current) in existing.items()
        if sid not in roster.staff and current["is_active"]
    }
    plan.user_sids = {pk: sid for sid, (pk, _current) in existing.items()}
    plan.user_sids.update({pk: sid for sid, pk in pks.items()})
    return pks


def _email_taken(row) -> Problem:
    return Problem(
        USERS,
        row.line,
        "email",
        _("%(email)s is already the address of another person in iepcoord") % {"email": row.email},
    )


def _plan_roles(plan: Plan, roster: Roster):
    """Roles of the roster's people. A role the roster gave and no longer gives is removed
    (its end is in the audit trail); one given by hand stays."""
    existing = {}
    rows = Role.objects.filter(
        Q(user__sourced_id__isnull=False) | Q(user_id__in=plan.adopted_users)
    ).values_list("pk", "user_id", "kind", "school_id", "roster_managed")
    for pk, user_id, kind, school_id, managed in rows:
        if school_id is not None and school_id not in plan.school_sids:
            continue  # at a school made by hand and not in the export: not the roster's
        key = (plan.user_sids[user_id], kind, plan.school_sids.get(school_id))
        existing[key] = (pk, managed, user_id, school_id)
    for key in roster.roles:
        found = existing.get(key)
        if found is None:
            plan.roles_create.append(key)
        elif not found[1]:
            plan.roles_adopt.append(found[0])
    plan.roles_remove = [
        (pk, user_id, key[1], school_id)
        for key, (pk, managed, user_id, school_id) in existing.items()
        if managed and key not in roster.roles
    ]


STUDENT_FIELDS = (
    "first_name",
    "last_name",
    "district_student_id",
    "grade",
    "plan_type",
    "annual_review_due",
    "reevaluation_due",
    "aide_support",
    "aide_minutes_per_day",
    "inactive_since",
)


def _student_wanted(row, *, minutes_given: bool) -> dict:
    wanted = {
        "first_name": row.first_name,
        "last_name": row.last_name,
        "district_student_id": row.district_id,
        "plan_type": Student.PlanType.IEP,
        "annual_review_due": row.annual_review_due,
        "reevaluation_due": row.reevaluation_due,
        "aide_support": row.aide_support,
        "inactive_since": None,
        "case_manager": row.case_manager,
        "school": row.school,
    }
    if row.grade:
        wanted["grade"] = row.grade
    if minutes_given:  # an export without the optional column keeps the minutes on file
        wanted["aide_minutes_per_day"] = row.aide_minutes_per_day
    return wanted


def _plan_students(plan: Plan, roster: Roster):
    columns = ("pk", "sourced_id", *STUDENT_FIELDS, "school_id", "case_manager_id")
    existing = {}
    for values in Student.objects.filter(sourced_id__isnull=False).values_list(*columns):
        current = dict(zip(columns, values, strict=True))
        existing[current["sourced_id"]] = current
    unmatched = [row for sid, row in roster.students.items() if sid not in existing]
    adoptable, taken = {}, {}
    for batch in chunks(row.district_id for row in roster.students.values()):
        for values in Student.objects.filter(district_student_id__in=batch).values_list(*columns):
            current = dict(zip(columns, values, strict=True))
            if current["sourced_id"] is None:
                adoptable[current["district_student_id"]] = current
            taken[current["district_student_id"]] = current["sourced_id"]
    plan.student_sids = {current["pk"]: sid for sid, current in existing.items()}
    for row in unmatched:
        current = adoptable.get(row.district_id)
        if current is None:
            if row.district_id in taken:
                plan.problems.append(_district_id_taken(row))
            else:
                plan.students_create.append(row)
            continue
        plan.student_sids[current["pk"]] = row.sid
        plan.adopted_students.add(current["pk"])
        _student_update(plan, current, row, adopt=True, minutes=roster.aide_minutes_given)
    for sid, current in existing.items():
        row = roster.students.get(sid)
        if row is None:
            if current["inactive_since"] is None:
                plan.students_deactivate.add(current["pk"])
            continue
        if taken.get(row.district_id, sid) != sid:
            plan.problems.append(_district_id_taken(row))
            continue
        _student_update(plan, current, row, adopt=False, minutes=roster.aide_minutes_given)


def _student_update(plan, current, row, *, adopt: bool, minutes: bool):
    wanted = _student_wanted(row, minutes_given=minutes)
    # Foreign keys compared by sourcedId (the export names the case manager: a case
    # manager set by hand is replaced, or cleared when iep.csv names none).
    manager_id = current["case_manager_id"]
    current = {
        **current,
        "case_manager": plan.user_sids.get(manager_id, ("#", manager_id))
        if manager_id is not None
        else None,
        "school": plan.school_sids.get(current["school_id"]),
    }
    changes, before = _diff(current, wanted)
    for key in ("case_manager", "school"):
        if key in changes:
            before[key] = current[f"{key}_id"]
    if adopt:
        changes["sourced_id"] = row.sid
    if "school" in changes and current["school_id"] is not None:
        plan.students_move[current["pk"]] = row.school
    if changes:
        plan.students_update.append(Update(current["pk"], changes, before))


def _district_id_taken(row) -> Problem:
    return Problem(
        USERS,
        row.line,
        "identifier",
        _("%(value)s is already the district id of another student in iepcoord")
        % {"value": row.district_id},
    )


GUARDIAN_FIELDS = ("full_name", "relationship", "email", "phone", "preferred_language", "ended_on")


def _plan_guardians(plan: Plan, roster: Roster) -> set[int]:
    """Guardians of the roster's students: the parent's sourcedId and the child name the
    row. Returns the accounts of the guardians whose relationship ends."""
    columns = ("pk", "sourced_id", "student_id", "user_id", *GUARDIAN_FIELDS)
    existing, by_hand = {}, defaultdict(list)
    rows = Guardian.all_objects.filter(
        Q(student__sourced_id__isnull=False) | Q(student_id__in=plan.adopted_students)
    ).values_list(*columns)
    for values in rows:
        current = dict(zip(columns, values, strict=True))
        current["student__sourced_id"] = plan.student_sids.get(current["student_id"])
        # Only the guardians of the students this export keeps are governed by it: a
        # student who left keeps their family's view of the record.
        if current["student__sourced_id"] not in roster.students:
            continue
        if current["sourced_id"] is None:
            if current["ended_on"] is None:
                by_hand[current["student__sourced_id"]].append(current)
        else:
            existing[(current["sourced_id"], current["student__sourced_id"])] = current
    for key, row in roster.guardians.items():
        wanted = {
            "full_name": row.full_name,
            "relationship": row.relationship,
            "email": row.email,
            "phone": row.phone,
            "ended_on": None,
        }
        if row.language:
            wanted["preferred_language"] = row.language
        current = existing.get(key)
        adopt = False
        if current is None:
            current = _adoptable(by_hand.get(key[1], ()), row)
            if current is None:
                plan.guardians_create.append((key[0], key[1], row))
                continue
            adopt = True
        changes, before = _diff(current, wanted)
        if adopt:
            changes["sourced_id"] = row.sid
        if changes:
            plan.guardians_update.append(Update(current["pk"], changes, before))
    ended_users = set()
    for key, current in existing.items():
        if key not in roster.guardians and current["ended_on"] is None:
            plan.guardians_end.append((current["pk"], current["student_id"]))
            if current["user_id"]:
                ended_users.add(current["user_id"])
    return ended_users


def _adoptable(candidates, row):
    for current in candidates:
        if current.get("adopted"):
            continue
        if (row.email and current["email"].lower() == row.email) or (
            current["full_name"].lower() == row.full_name.lower()
        ):
            current["adopted"] = True
            return current
    return None


def _plan_user_deactivations(plan: Plan, roster: Roster, staff_pks, ended_users: set[int]):
    """An account whose every relationship ended is deactivated: a person no longer in the
    roster's staff, and a parent whose every guardianship ended. A staff member who is
    still a guardian of a current student, or holds a role given by hand, keeps theirs
    (without the roster's roles); so does a parent who works for a school."""
    leaving = plan.users_deactivate | ended_users
    if not leaving:
        return
    ended = {pk for pk, _student in plan.guardians_end}
    removed = {pk for pk, *_rest in plan.roles_remove}
    staying = set(staff_pks.values())
    # What ends is left out here, not in SQL: a district's new school year ends more
    # guardianships than one statement takes parameters.
    for batch in chunks(leaving):
        for model, going in ((Guardian, ended), (Role, removed)):
            staying |= {
                user_id
                for pk, user_id in model.objects.filter(user_id__in=batch).values_list(
                    "pk", "user_id"
                )
                if pk not in going
            }
    active = set()
    for batch in chunks(ended_users):
        active |= set(
            User.objects.filter(pk__in=batch, is_active=True).values_list("pk", flat=True)
        )
    plan.users_deactivate = (plan.users_deactivate | active) - staying


def _plan_assignments(plan: Plan, roster: Roster):
    """This school year's SECA assignments of the roster's students: a shared class, or a
    1:1 aide in iep.csv. One the roster made and no longer gives ends today; so does every
    current assignment of a student or SECA who left."""
    today = plan.today
    moved = set(plan.students_move)
    existing = {}
    rows = Assignment.objects.filter(
        Q(student__sourced_id__isnull=False) | Q(student_id__in=plan.adopted_students),
        school_year=plan.school_year,
        kind=Assignment.Kind.SECA,
    ).values_list("pk", "student_id", "staff_id", "detail", "ended_on", "roster_managed")
    held = {}
    for pk, student_id, staff_id, detail, ended_on, managed in rows:
        held[student_id, staff_id] = (pk, ended_on)
        if staff_id in plan.user_sids:
            key = (plan.student_sids[student_id], plan.user_sids[staff_id])
            existing[key] = (pk, detail, ended_on, managed, student_id, staff_id)
    for key, detail in roster.assignments.items():
        found = existing.get(key)
        if found is None:
            plan.assignments_create.append((*key, detail))
            continue
        pk, old_detail, ended_on, managed, student_id, _staff_id = found
        changes = {}
        # Ended (or ending today with the student's move): the export says it goes on.
        if (ended_on is not None and ended_on <= today) or student_id in moved:
            changes["ended_on"] = None
        if old_detail != detail and (managed or detail):
            changes["detail"] = detail
        if not managed:
            changes["roster_managed"] = True
        if changes:
            before = {"ended_on": ended_on, "detail": old_detail, "roster_managed": managed}
            plan.assignments_update.append(Update(pk, changes, {k: before[k] for k in changes}))
    stays = {
        (student_id, seca_id): pk
        # A classroom's (no student) is the principal's to honor: the roster has none.
        for pk, student_id, seca_id in StayRequest.objects.filter(
            status=StayRequest.Status.APPROVED, school_year=plan.school_year, student__isnull=False
        ).values_list("pk", "student_id", "seca_id")
    }
    for key, (pk, _detail, ended_on, managed, student_id, staff_id) in existing.items():
        current = ended_on is None or ended_on > today
        if managed and current and key not in roster.assignments and student_id not in moved:
            if (student_id, staff_id) in stays:
                plan.assignments_kept[pk] = stays[student_id, staff_id]
            else:
                plan.assignments_end[pk] = student_id
    # A SECA approved to stay is assigned to the student for the year though the export
    # does not say so (made, or its end undone); not when either leaves, or the student
    # changes school (the new school assigns its own staff).
    student_pks = {sid: pk for pk, sid in plan.student_sids.items()}
    user_pks = {sid: pk for pk, sid in plan.user_sids.items()}
    given = {(student_pks.get(s), user_pks.get(u)) for s, u in roster.assignments}
    gone = plan.students_deactivate | moved
    for pair, stay in stays.items():
        if pair in given or pair[0] in gone or pair[1] in plan.users_deactivate:
            continue
        if pair not in held:
            plan.assignments_stay_create.append((*pair, stay))
        elif held[pair][1] is not None and held[pair][1] <= today:
            pk, ended_on = held[pair]
            plan.assignments_update.append(Update(pk, {"ended_on": None}, {"ended_on": ended_on}))
            plan.assignments_kept[pk] = stay
    # A student or SECA who left: every current assignment ends (made by hand too). A
    # student who moves: the transfer ends them (staff.services.students_transfer).
    left = Q(pk__in=[])
    for batch in chunks(plan.students_deactivate | moved):
        left |= Q(student_id__in=batch)
    for batch in chunks(plan.users_deactivate):
        left |= Q(staff_id__in=batch)
    reopened = {u.pk for u in plan.assignments_update if "ended_on" in u.changes}
    for pk, student_id in (
        Assignment.objects.current(today).filter(left).values_list("pk", "student_id")
    ):
        if pk not in reopened:
            plan.assignments_end[pk] = student_id
