"""Who may see and do what with a student's records: every rule in one place.

Rights come only from a person's *current* relationships to the student, read once per
request into a `Standing`:
- a role at the student's **current** school (the records follow a student who moves:
  the new school governs them, the old one keeps nothing; README "Access");
- this year's SECA assignment to the student, until it ends;
- being the student's case manager (with that role at the student's school);
- being a guardian of the student;
- a principal's designation, while the designee still holds an eligible role there.
An invitation to a meeting says who is asked to attend: it grants nothing.

Each right is granted by rows of one table, `Standing.grants()`; the Python check
(`rights_on`) and the database filter (`filter_for`) are both read from those rows, so
they cannot disagree. meetings/access.py builds the meeting-level actions on these rights.
"""

import dataclasses
import datetime
import enum
from functools import cached_property

from django.core.exceptions import PermissionDenied
from django.db.models import CharField, Exists, OuterRef, Q, Value
from django.http import Http404
from django.utils import timezone

from iepcoord.db import compiled, prepared

from .audit import audit_record
from .models import (
    DESIGNEE_KINDS,
    SCHOOL_STAFF_KINDS,
    Assignment,
    Designation,
    Guardian,
    RestraintPolicy,
    Role,
    RosterImport,
    ScheduleBlock,
    School,
    StayRequest,
    Student,
    User,
    current_school_year,
)


class Right(enum.StrEnum):
    # The student's pages: their team and meetings, the finalized plan.
    VIEW = "view"
    # The school's side of the record: every request and decision, SECA feedback, the
    # parents' answers, contact attempts, draft plans, the packet (staff of the school).
    VIEW_RECORDS = "view_records"
    # Schedule and run the student's meetings, invite the guardians, upload the plan.
    MANAGE = "manage"
    # Decide SECA requests to attend (contract: the principal or a designee).
    DECIDE = "decide"
    # Ask to attend, give feedback (the student's SECA this year).
    SUPPORT = "support"
    # The parent's side: notices, answers, wishes about the SECA.
    GUARDIAN = "guardian"
    # Who looked at the record (34 CFR 300.614).
    VIEW_ACCESS_LOG = "view_access_log"
    # Ask to stay with the student (contract): a SECA assigned to them this school year,
    # even when that assignment has ended (a reassignment was announced), while the SECA
    # works at the student's school (a student who moved is the new school's to staff).
    ASK_TO_STAY = "ask_to_stay"


ALL = frozenset(Right)


@dataclasses.dataclass(frozen=True)
class Grant:
    """Rights held on every student of `schools`, on the students in `students`, on the
    students whose case manager is the person at `caseload_schools`, or on all students."""

    rights: frozenset
    schools: frozenset = frozenset()
    students: frozenset = frozenset()
    caseload_schools: frozenset = frozenset()
    everywhere: bool = False

    @property
    def is_empty(self) -> bool:
        return not (self.schools or self.students or self.caseload_schools)

    def covers(self, student: Student, user_id: int) -> bool:
        return (
            self.everywhere
            or student.school_id in self.schools
            or student.pk in self.students
            or (student.case_manager_id == user_id and student.school_id in self.caseload_schools)
        )

    def q(self, prefix: str, user_id: int) -> Q:
        if self.everywhere:
            # Not Q(): an empty Q vanishes when OR-ed with another, and "everything" with it.
            return Q(**{f"{prefix}pk__isnull": False})
        q = Q(pk__in=[])
        if self.schools:
            q |= Q(**{f"{prefix}school_id__in": sorted(self.schools)})
        if self.students:
            key = f"{prefix}pk__in" if prefix else "pk__in"
            q |= Q(**{key: sorted(self.students)})
        if self.caseload_schools:
            q |= Q(
                **{
                    f"{prefix}case_manager_id": user_id,
                    f"{prefix}school_id__in": sorted(self.caseload_schools),
                }
            )
        return q


@dataclasses.dataclass(frozen=True)
class Standing:
    """A person's current relationships, read in one query (see `standing_of`)."""

    user_id: int | None = None
    district_admin: bool = False
    roles: frozenset = frozenset()  # (kind, school id)
    designated_at: frozenset = frozenset()  # school ids, as named by the principal
    seca_of: frozenset = frozenset()  # student ids: this year's SECA assignments
    # student ids: the same, ended ones too, of students at a school where they are a SECA
    seca_this_year: frozenset = frozenset()
    guardian_of: frozenset = frozenset()  # student ids

    def schools_with(self, *kinds) -> frozenset:
        return frozenset(school for kind, school in self.roles if kind in kinds)

    @cached_property
    def staff_schools(self) -> frozenset:
        return self.schools_with(*SCHOOL_STAFF_KINDS)

    @cached_property
    def principal_of(self) -> frozenset:
        return self.schools_with(Role.Kind.PRINCIPAL)

    @cached_property
    def approver_at(self) -> frozenset:
        """Schools whose students this person decides for (RULES: the principal, or a
        designee who still holds an assistant principal or case manager role there)."""
        return frozenset().union(
            *(grant.schools for grant in self.grants() if Right.DECIDE in grant.rights)
        )

    @cached_property
    def case_manager_at(self) -> frozenset:
        return self.schools_with(Role.Kind.CASE_MANAGER)

    @cached_property
    def union_rep(self) -> bool:
        return any(kind == Role.Kind.UNION_REP for kind, _ in self.roles)

    @cached_property
    def reads_district_reports(self) -> bool:
        """The district's compliance report: district administrators and the union's
        representatives (who see measures only, never a name)."""
        return self.district_admin or self.union_rep

    def names_in_reports_at(self, school_id) -> bool:
        """Whether the school's report may name SECAs, students and notes for this person:
        the district administrators, and the school's principal and designees."""
        return self.district_admin or school_id in self.approver_at

    @cached_property
    def leader_of(self) -> frozenset:
        """Schools this person leads: as principal or assistant principal."""
        return self.schools_with(Role.Kind.PRINCIPAL, Role.Kind.ASSISTANT_PRINCIPAL)

    @cached_property
    def is_seca(self) -> bool:
        return bool(self.schools_with(Role.Kind.SECA))

    @cached_property
    def is_employee(self) -> bool:
        return bool(self.roles)

    def grants(self) -> list[Grant]:
        """What each rule of RULES gives this person."""
        return [rule.grant(self) for rule in RULES]

    def rights_on(self, student: Student) -> frozenset:
        """The rights this person holds on this student (its school_id, case_manager_id
        and pk are read; no query)."""
        if self.user_id is None:
            return frozenset()
        held = set()
        for grant in self.grants():
            if grant.covers(student, self.user_id):
                held |= grant.rights
        return frozenset(held)

    def filter_for(self, right: Right, prefix: str = "") -> Q:
        """A filter of the students (or, with prefix "student__", of rows hanging on a
        student) on which this person holds `right`. Literal id lists, no subquery: the
        database uses its indexes and plans for the person's own handful of rows."""
        if self.user_id is None:
            return Q(pk__in=[])
        q = Q(pk__in=[])
        for grant in self.grants():
            if right in grant.rights and (grant.everywhere or not grant.is_empty):
                q |= grant.q(prefix, self.user_id)
        return q

    def filter_on(self, right: Right, student: Student) -> Q:
        """`right` on this one student (read with its school_id and case_manager_id), as a
        filter of rows the caller narrows to that student's (a meeting's lists): every row
        or none, decided here by rights_on, so the query joins nothing to decide it."""
        return Q(pk__isnull=False) if right in self.rights_on(student) else Q(pk__in=[])

    def caseload_filter(self, prefix: str = "") -> Q:
        """The students whose case manager this person is, at a school where they hold the
        role: their caseload."""
        return Grant(frozenset(), caseload_schools=self.case_manager_at).q(prefix, self.user_id)


class Source(enum.Enum):
    """Where a right comes from: the relationships a person can have with a student."""

    DISTRICT_ADMIN = "district administrator"
    SCHOOL_ROLE = "a role at the student's current school"
    CASELOAD = "the student's case manager"
    DESIGNEE = "the principal's designee at the student's school"
    SECA_ASSIGNMENT = "this year's SECA assignment to the student"
    SECA_THIS_YEAR = "a SECA assignment this school year, ended or not, at the student's school"
    GUARDIAN = "a guardian of the student"


@dataclasses.dataclass(frozen=True)
class Rule:
    """`rights` held through `source` (with one of `kinds` of role, for SCHOOL_ROLE). Each
    rule reads both ways: from a person (their standing's Grant) and from a student (who
    holds it: `holders`)."""

    rights: frozenset
    source: Source
    kinds: tuple = ()

    def grant(self, standing: Standing) -> Grant:
        if self.source is Source.DISTRICT_ADMIN:
            return Grant(self.rights, everywhere=standing.district_admin)
        if self.source is Source.SCHOOL_ROLE:
            return Grant(self.rights, schools=standing.schools_with(*self.kinds))
        if self.source is Source.CASELOAD:
            return Grant(self.rights, caseload_schools=standing.case_manager_at)
        if self.source is Source.DESIGNEE:
            eligible = standing.schools_with(*DESIGNEE_KINDS)
            return Grant(self.rights, schools=standing.designated_at & eligible)
        if self.source is Source.SECA_ASSIGNMENT:
            return Grant(self.rights, students=standing.seca_of)
        if self.source is Source.SECA_THIS_YEAR:
            return Grant(self.rights, students=standing.seca_this_year)
        return Grant(self.rights, students=standing.guardian_of)

    def holders(self, student: Student) -> Q:
        """The users who hold this rule's rights on `student`, as a filter of users."""
        roles = Role.objects.filter(user=OuterRef("pk"))
        if self.source is Source.DISTRICT_ADMIN:
            return Q(Exists(roles.filter(kind=Role.Kind.DISTRICT_ADMIN)))
        if self.source is Source.SCHOOL_ROLE:
            return Q(Exists(roles.filter(school_id=student.school_id, kind__in=self.kinds)))
        if self.source is Source.CASELOAD:
            return Q(pk=student.case_manager_id) & Q(
                Exists(roles.filter(school_id=student.school_id, kind=Role.Kind.CASE_MANAGER))
            )
        if self.source is Source.DESIGNEE:
            named = Designation.objects.filter(designee=OuterRef("pk"), school_id=student.school_id)
            eligible = roles.filter(school_id=student.school_id, kind__in=DESIGNEE_KINDS)
            return Q(Exists(named)) & Q(Exists(eligible))
        if self.source is Source.SECA_ASSIGNMENT:
            assigned = Assignment.objects.current().filter(
                staff=OuterRef("pk"), student=student, kind=Assignment.Kind.SECA
            )
            return Q(Exists(assigned))
        if self.source is Source.SECA_THIS_YEAR:
            assigned = Assignment.objects.filter(
                staff=OuterRef("pk"),
                student=student,
                kind=Assignment.Kind.SECA,
                school_year=current_school_year(),
            )
            there = roles.filter(school_id=student.school_id, kind=Role.Kind.SECA)
            return Q(Exists(assigned)) & Q(Exists(there))
        return Q(Exists(Guardian.objects.filter(user=OuterRef("pk"), student=student)))


def _rights(*rights) -> frozenset:
    return frozenset(rights)


# The one table of student access: every right, and where it comes from.
RULES = [
    Rule(_rights(Right.VIEW, Right.VIEW_RECORDS, Right.VIEW_ACCESS_LOG), Source.DISTRICT_ADMIN),
    Rule(_rights(Right.VIEW, Right.VIEW_RECORDS), Source.SCHOOL_ROLE, SCHOOL_STAFF_KINDS),
    Rule(
        _rights(Right.MANAGE, Right.VIEW_ACCESS_LOG, Right.DECIDE),
        Source.SCHOOL_ROLE,
        (Role.Kind.PRINCIPAL,),
    ),
    Rule(_rights(Right.MANAGE, Right.VIEW_ACCESS_LOG), Source.CASELOAD),
    # Contract: "the principal or a designee" decides SECA requests.
    Rule(_rights(Right.DECIDE), Source.DESIGNEE),
    Rule(_rights(Right.VIEW, Right.SUPPORT), Source.SECA_ASSIGNMENT),
    Rule(_rights(Right.ASK_TO_STAY), Source.SECA_THIS_YEAR),
    Rule(_rights(Right.VIEW, Right.GUARDIAN, Right.VIEW_ACCESS_LOG), Source.GUARDIAN),
]


def holders(right: Right, student: Student) -> Q:
    """A filter of the active users who hold `right` on `student`: the same RULES read from
    the student's side (for notifications: nobody hears of a student they may not see)."""
    q = Q(pk__in=[])
    for rule in RULES:
        if right in rule.rights:
            q |= rule.holders(student)
    return q & Q(is_active=True)


NOBODY = Standing()


@compiled
def _standing_rows(*, user_id: int, today: datetime.date, school_year: int):
    """Roles, designations, this year's SECA assignments (current, and all) and
    guardianships: a UNION ALL of five small index reads. The standing is read on every
    request: Django took about 2 ms to build and compile it, twice what PostgreSQL takes
    to run it."""
    text = CharField()
    roles = Role.objects.filter(user_id=user_id).values_list(
        Value("role", output_field=text), "kind", "school_id"
    )
    designations = Designation.objects.filter(designee_id=user_id).values_list(
        Value("designee", output_field=text), Value("", output_field=text), "school_id"
    )
    assignments = (
        Assignment.objects.current(today, school_year=school_year)
        .filter(staff_id=user_id, kind=Assignment.Kind.SECA)
        .values_list(Value("seca", output_field=text), Value("", output_field=text), "student_id")
    )
    this_year = Assignment.objects.filter(
        staff_id=user_id,
        kind=Assignment.Kind.SECA,
        school_year=school_year,
        student__school__in=Role.objects.filter(user_id=user_id, kind=Role.Kind.SECA).values(
            "school"
        ),
    ).values_list(Value("seca_year", output_field=text), Value("", output_field=text), "student_id")
    children = (
        Guardian.objects.filter(user_id=user_id)
        .order_by()
        .values_list(
            Value("guardian", output_field=text), Value("", output_field=text), "student_id"
        )
    )
    return roles.order_by().union(
        designations, assignments, this_year.order_by(), children, all=True
    )


def _read_standing(user: User) -> Standing:
    """The person's relationships, in one query (_standing_rows)."""
    today = timezone.localdate()
    # Prepared: PostgreSQL took 0.35 ms to plan the five reads by the person's id, 0.04 to
    # run them (the approvals page, on the benchmark district).
    with prepared():
        rows = _standing_rows(user_id=user.pk, today=today, school_year=current_school_year(today))
    by_source: dict[str, set] = {
        "role": set(),
        "designee": set(),
        "seca": set(),
        "seca_year": set(),
        "guardian": set(),
    }
    for source, kind, key in rows:
        by_source[source].add((kind, key) if source == "role" else key)
    return Standing(
        user_id=user.pk,
        district_admin=any(kind == Role.Kind.DISTRICT_ADMIN for kind, _ in by_source["role"]),
        roles=frozenset(by_source["role"]),
        designated_at=frozenset(by_source["designee"]),
        seca_of=frozenset(by_source["seca"]),
        seca_this_year=frozenset(by_source["seca_year"]),
        guardian_of=frozenset(by_source["guardian"]),
    )


def standing_of(user) -> Standing:
    """The person's standing, read once and kept on the user object for the rest of the
    request (request.user is a new object on every request, so it is never stale there).
    Anonymous and deactivated people have none."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NOBODY
    cached = user.__dict__.get("_standing")
    if cached is None:
        cached = user.__dict__["_standing"] = _read_standing(user)
    return cached


def forget_standing(user) -> None:
    """Drop the remembered standing, after a change to this person's relationships."""
    if user is not None:
        user.__dict__.pop("_standing", None)


# --- Querysets ------------------------------------------------------------------------------


def students(user, right: Right = Right.VIEW):
    """The students on which this person holds `right`."""
    return Student.objects.filter(standing_of(user).filter_for(right))


def schools(user, *, right: str = "view"):
    """Schools as a subject: "view" (staff and district administrators), "name_designees"
    (the principal), "view_access_list" (the school's leaders, district administrators),
    "report" (the school's report: its principal and designees, and those who read the
    district's), "unstaffed" (its students whose aide support has no SECA: the principal
    and designees, district administrators), "invite_families" (the principal and the case
    managers, district administrators: who has not accepted the invitation yet, letters,
    sending again), "training" (who at the school is due or overdue for training, and has
    not acknowledged the restraint policy: the principal and designees, district
    administrators), "record_training" (recording a SECA's completed training: the
    principal and designees, for SECAs of their school; contract: the school keeps its
    SECAs' training)."""
    standing = standing_of(user)
    if right == "name_designees":
        ids = standing.principal_of
    elif right in ("training", "record_training"):
        if right == "training" and standing.district_admin:
            return School.objects.all()
        ids = standing.approver_at
    elif right == "invite_families":
        if standing.district_admin:
            return School.objects.all()
        ids = standing.principal_of | standing.case_manager_at
    elif right == "report":
        if standing.reads_district_reports:
            return School.objects.all()
        ids = standing.approver_at
    elif right == "unstaffed":
        # The students whose required aide support has no SECA: the school's principal and
        # designees, and the district administrators.
        if standing.district_admin:
            return School.objects.all()
        ids = standing.approver_at
    elif right == "view_access_list":
        if standing.district_admin:
            return School.objects.all()
        ids = standing.leader_of
    else:
        if standing.district_admin:
            return School.objects.all()
        ids = standing.staff_schools | standing.schools_with(Role.Kind.SECA)
    return School.objects.filter(pk__in=sorted(ids))


def may_import_roster(user) -> bool:
    """Bringing the district's roster in (README "Roster import"), and inviting every family
    after it: district administrators."""
    return standing_of(user).district_admin


def may_manage_training(user) -> bool:
    """The district's trainings: importing completions, uploading the restraint and time-out
    policy, the per-school counts: district administrators."""
    return standing_of(user).district_admin


def has_own_training(user) -> bool:
    """A SECA (at any school) sees their own trainings, and only their own."""
    return standing_of(user).is_seca


def policies(user):
    """The restraint and time-out policies a person may open: every employee of the
    district (SECAs above all), none for a parent (a 404)."""
    if standing_of(user).is_employee:
        return RestraintPolicy.objects.all()
    return RestraintPolicy.objects.none()


def roster_imports(user):
    """The roster imports this person may see and act on: all of them for a district
    administrator, none for anyone else (a 404)."""
    if may_import_roster(user):
        return RosterImport.objects.all()
    return RosterImport.objects.none()


# --- Fetch and check ------------------------------------------------------------------------


def refuse(user, *, obj, student: Student | None, action: str) -> None:
    """Record an attempt on an existing record the person may not see or act on (34 CFR
    300.614: the log shows refused attempts too)."""
    audit_record(
        actor=user,
        action=f"denied.{action}",
        obj=obj,
        school=student.school if student else None,
        student=student,
        denied=True,
    )


# A primary key, as PostgreSQL's bigint holds it.
_LARGEST_ID = 2**63 - 1


@compiled
def _record(*, model, visible, pk, related):
    return model._default_manager.filter(visible, pk=pk).select_related(*related)


def fetch_or_refuse(user, model, visible: Q, pk, *, related=(), allowed, action: str, student_of):
    """The `model` row `pk` among those `visible` (this layer's filter of what the person
    may see), read with its `related` relations, if `allowed(found)`. Not found there: a
    404, and when the record exists, the attempt is recorded; found but not allowed:
    recorded, and a 403. `student_of` names the student a record is about."""
    if pk > _LARGEST_ID:
        raise Http404
    # One row by its id: a plan made once serves every id (planning the meeting with its
    # student and schools took longer than reading it).
    with prepared():
        found = next(
            iter(_record(model=model, visible=visible, pk=pk, related=list(related))), None
        )
    if found is not None and allowed(found):
        return found
    existing = found or model._default_manager.filter(pk=pk).first()
    if existing is not None:
        refuse(user, obj=existing, student=student_of(existing), action=action)
    if found is None:
        raise Http404
    raise PermissionDenied


def student_for(user, pk, right: Right = Right.VIEW, *, related=("school",)) -> Student:
    """The student, for someone holding `right` on them. A student they may not see at
    all is a 404; one they see but may not act on this way is a 403. Both are recorded."""
    standing = standing_of(user)
    return fetch_or_refuse(
        user,
        Student,
        standing.filter_for(Right.VIEW),
        pk,
        related=related,
        allowed=lambda student: right in standing.rights_on(student),
        action=f"student.{right}",
        student_of=lambda student: student,
    )


def _stay_kinds(decide: Q, schools) -> tuple[Q, Q]:
    # A student's, by the decider's rights on the student (the student's current school);
    # a classroom's, at the schools they decide for.
    return decide, Q(student__isnull=True, school_id__in=schools)


def stays_decided(decide: Q, schools) -> Q:
    """The stay requests decided by whoever holds DECIDE through `decide` (a filter of
    `stays_decider`), a student's or a classroom's of `schools`, for a list. The two kinds
    are found apart and joined by id: ORed across the join to the students, PostgreSQL
    read all 55,000 students for each list."""
    students, classrooms = (
        StayRequest.objects.order_by().filter(q) for q in _stay_kinds(decide, schools)
    )
    return Q(pk__in=students.values("pk").union(classrooms.values("pk")))


def stays_decider(standing: Standing) -> dict:
    """What `stays_decided` reads of this person: the arguments of a compiled query."""
    return {
        "decide": standing.filter_for(Right.DECIDE, prefix="student__"),
        "schools": sorted(standing.approver_at),
    }


def may_decide_stay(standing: Standing, stay: StayRequest) -> bool:
    if stay.student_id is None:
        return stay.school_id in standing.approver_at
    return Right.DECIDE in standing.rights_on(stay.student)


def stay_request_for(user, pk, action: str) -> StayRequest:
    """A stay request to "withdraw" (the SECA who asked) or "decide" (an approver of its
    school): another school's, or another SECA's, is a 404; a known one without the right
    a 403, both recorded."""
    standing = standing_of(user)

    def allowed(stay):
        if action == "withdraw":
            return stay.seca_id == standing.user_id
        return may_decide_stay(standing, stay)

    # Those this person may see: their own, and those they decide (the principal and
    # designees of the student's current school, or of the classroom's). One by its id:
    # the kinds ORed (stays_decided's union is for lists).
    student, classroom = _stay_kinds(**stays_decider(standing))
    own = Q(seca_id=standing.user_id) if standing.user_id is not None else Q(pk__in=[])
    return fetch_or_refuse(
        user,
        StayRequest,
        own | student | classroom,
        pk,
        related=("student__school", "seca", "decided_by", "school"),
        allowed=allowed,
        action=f"stay_request.{action}",
        student_of=lambda stay: stay.student,
    )


def stay_classrooms(user) -> list[tuple[int, str, str]]:
    """The classrooms a SECA may ask to stay with, as (school id, school name, group): the
    groups of their own schedule this school year, at the schools where they hold the SECA
    role. One query."""
    standing = standing_of(user)
    at = standing.schools_with(Role.Kind.SECA)
    if not at:
        return []
    return list(
        ScheduleBlock.objects.filter(
            seca_id=standing.user_id, school_id__in=sorted(at), school_year=current_school_year()
        )
        .exclude(group_name="")
        .values_list("school_id", "school__name", "group_name")
        .distinct()
        .order_by("school__name", "group_name")
    )


def stay_audience(stay: StayRequest) -> Q:
    """Who may hear of a stay request: its approvers and, for a student, the SECAs who may
    ask to stay with them; for a classroom, the SECA who asked while a SECA there."""
    if stay.student_id is not None:
        return holders(Right.DECIDE, stay.student) | holders(Right.ASK_TO_STAY, stay.student)
    # A classroom has no student: the school-wide rules of DECIDE read only its school.
    school_only = Student(school_id=stay.school_id)
    q = Q(pk=stay.seca_id) & Q(
        Exists(
            Role.objects.filter(user=OuterRef("pk"), school_id=stay.school_id, kind=Role.Kind.SECA)
        )
    )
    for rule in RULES:
        if Right.DECIDE in rule.rights and rule.source in (Source.SCHOOL_ROLE, Source.DESIGNEE):
            q |= rule.holders(school_only)
    return q & Q(is_active=True)


def school_for(user, pk, right: str) -> School:
    """A school the person may act on this way (404 for any other)."""
    found = schools(user, right=right).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


# --- Who holds a right: the other direction, for notifications and reminders --------------


def approvers(school_ids) -> dict[int, list[tuple[int, bool]]]:
    """{school id: [(user id, is principal)]}: the active people who decide SECA requests
    at each school, in one query. The same rule as `Standing.approver_at`."""
    text = CharField()
    principals = (
        Role.objects.filter(
            kind=Role.Kind.PRINCIPAL, school_id__in=school_ids, user__is_active=True
        )
        .order_by()
        .values_list("school_id", "user_id", Value("principal", output_field=text))
    )
    designated = (
        Designation.objects.filter(school_id__in=school_ids, designee__is_active=True)
        .order_by()
        .values_list("school_id", "designee_id", Value("designee", output_field=text))
    )
    eligible = (
        Role.objects.filter(kind__in=DESIGNEE_KINDS, school_id__in=school_ids, user__is_active=True)
        .order_by()
        .values_list("school_id", "user_id", Value("eligible", output_field=text))
    )
    rows = list(principals.union(designated, eligible, all=True))
    eligible_pairs = {(s, u) for s, u, what in rows if what == "eligible"}
    found: dict[int, dict[int, bool]] = {}
    for school_id, user_id, what in rows:
        if what == "principal" or (what == "designee" and (school_id, user_id) in eligible_pairs):
            people = found.setdefault(school_id, {})
            people[user_id] = people.get(user_id, False) or what == "principal"
    return {school: list(people.items()) for school, people in found.items()}
