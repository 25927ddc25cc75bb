"""State changes of the staff app. Each one is atomic and writes an audit event."""

import datetime

from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from .access import Right, standing_of
from .audit import audit_event, audit_record
from .models import (
    AIDE_REQUIRED,
    DESIGNEE_KINDS,
    Assignment,
    AuditEvent,
    Designation,
    Role,
    School,
    Student,
    User,
    current_school_year,
)


class DomainError(Exception):
    """A refused action, with a message to show the person who tried it."""

    def __init__(self, message, *, field=None):
        super().__init__(message)
        self.message = message
        self.field = field

    def add_to(self, form) -> None:
        """Show the message next to its field, or above the form when it has none."""
        form.add_error(self.field if self.field in form.fields else None, self.message)


def designee_candidates(*, school: School):
    """Assistant principals and case managers of the school: who may be named."""
    return User.objects.filter(
        is_active=True, roles__school=school, roles__kind__in=DESIGNEE_KINDS
    ).distinct()


@transaction.atomic
def designation_add(*, principal: User, school: School, designee: User) -> Designation:
    if school.pk not in standing_of(principal).principal_of:
        raise DomainError(_("Only the principal of this school can name designees."))
    if not designee_candidates(school=school).filter(pk=designee.pk).exists():
        raise DomainError(
            _("A designee must be an assistant principal or case manager of this school."),
            field="designee",
        )
    designation, created = Designation.objects.get_or_create(
        school=school, designee=designee, defaults={"named_by": principal}
    )
    if not created:
        raise DomainError(
            _("%(name)s is already a designee.") % {"name": designee.full_name}, field="designee"
        )
    audit_record(
        actor=principal,
        action="designee.named",
        obj=designation,
        school=school,
        after={"designee": designee.email},
    )
    return designation


@transaction.atomic
def designation_remove(*, principal: User, designation: Designation) -> None:
    school = designation.school
    if school.pk not in standing_of(principal).principal_of:
        raise DomainError(_("Only the principal of this school can remove designees."))
    audit_record(
        actor=principal,
        action="designee.removed",
        obj=designation,
        school=school,
        before={"designee": designation.designee.email},
    )
    designation.delete()


@transaction.atomic
def student_transfer(*, actor: User | None, student: Student, school: School) -> Student:
    """The student moves to another school, and their records follow them: the new
    school's staff govern their meetings and papers from now on, and the old school's
    SECAs, teachers and case manager lose access. Assignments of this year end today
    (the new school assigns its own staff); a case manager without that role at the new
    school is cleared. Nothing is deleted: the history stays, and the audit trail says who
    moved the student when."""
    student = Student.objects.select_for_update().select_related("school").get(pk=student.pk)
    if student.school_id == school.pk:
        raise DomainError(
            _("%(student)s is already at %(school)s.")
            % {"student": student.full_name, "school": school.name},
            field="school",
        )
    students_transfer(actor=actor, moves={student.pk: school.pk})
    return Student.objects.select_related("school").get(pk=student.pk)


# Rows per statement of a transfer of many students (the roster import's moves).
TRANSFER_CHUNK = 1000


@transaction.atomic
def students_transfer(*, actor: User | None, moves: dict[int, int]) -> int:
    """Move students to other schools ({student id: school id}), by the one rule of a move
    (student_transfer's): this year's assignments end today, a case manager who holds no
    case manager role at the new school is cleared, and each move is audited as
    "student.transferred". A student already at that school is left alone. A few queries
    per TRANSFER_CHUNK students, whatever their number; the number moved."""
    today = timezone.localdate()
    now = timezone.now()
    moved = 0
    ids = sorted(moves)
    for start in range(0, len(ids), TRANSFER_CHUNK):
        batch = ids[start : start + TRANSFER_CHUNK]
        students = [
            student
            for student in Student.objects.select_for_update().filter(pk__in=batch).order_by("pk")
            if student.school_id != moves[student.pk]
        ]
        if not students:
            continue
        ended: dict[int, list[int]] = {student.pk: [] for student in students}
        for pk, student_id in (
            Assignment.objects.current(today)
            .filter(student_id__in=list(ended))
            .values_list("pk", "student_id")
        ):
            ended[student_id].append(pk)
        Assignment.objects.filter(pk__in=[pk for pks in ended.values() for pk in pks]).update(
            ended_on=today, updated_at=now
        )
        managers = {s.case_manager_id for s in students if s.case_manager_id}
        holding = set(
            Role.objects.filter(
                kind=Role.Kind.CASE_MANAGER,
                user_id__in=managers,
                school_id__in={moves[s.pk] for s in students},
            ).values_list("user_id", "school_id")
        )
        events = []
        for student in students:
            before = {"school": student.school_id, "case_manager": student.case_manager_id}
            student.school_id = moves[student.pk]
            if (student.case_manager_id, student.school_id) not in holding:
                student.case_manager_id = None
            student.updated_at = now
            events.append(
                audit_event(
                    actor=actor,
                    action="student.transferred",
                    obj=student,
                    school_id=student.school_id,
                    student_id=student.pk,
                    before=before,
                    after={
                        "school": student.school_id,
                        "case_manager": student.case_manager_id,
                        "assignments_ended": ended[student.pk],
                    },
                )
            )
        Student.objects.bulk_update(students, ["school", "case_manager", "updated_at"])
        AuditEvent.objects.bulk_create(events)
        students_unstaffed_refresh(student_ids=[s.pk for s in students], today=today)
        moved += len(students)
    return moved


def students_unstaffed_refresh(*, student_ids=None, today: datetime.date | None = None) -> int:
    """Keep Student.unstaffed_since true of `student_ids` (all students when None): set for
    a student whose IEP requires a shared or 1:1 aide and who has no current SECA
    assignment (to the day their last SECA assignment this year ended, or today), cleared
    for the others. Two set-based updates, whatever the number of students; the number of
    students changed. Called inside the transactions that end or make assignments, and by
    the daily sweep (an assignment may be given an end date to come)."""
    today = today or timezone.localdate()
    students = (
        Student.objects.all()
        if student_ids is None
        else Student.objects.filter(pk__in=list(student_ids))
    )
    seca = Assignment.objects.filter(student=OuterRef("pk"), kind=Assignment.Kind.SECA)
    staffed = Exists(seca.current(today))
    last_end = (
        seca.filter(school_year=current_school_year(today), ended_on__lte=today)
        .order_by()
        .values("student")
        .annotate(last=Max("ended_on"))
        .values("last")
    )
    needs = Q(aide_support__in=AIDE_REQUIRED, inactive_since__isnull=True)
    now = timezone.now()
    changed = students.filter(needs, ~staffed, unstaffed_since__isnull=True).update(
        unstaffed_since=Coalesce(Subquery(last_end), today), updated_at=now
    )
    changed += students.filter(~needs | Q(staffed), unstaffed_since__isnull=False).update(
        unstaffed_since=None, updated_at=now
    )
    return changed


@transaction.atomic
def student_aide_support_update(
    *, actor: User, student: Student, aide_support: str, aide_minutes_per_day: int | None
) -> Student:
    """The aide support the student's IEP requires, recorded by their case manager or
    principal; whether it is staffed follows."""
    student = Student.objects.select_for_update().select_related("school").get(pk=student.pk)
    if Right.MANAGE not in standing_of(actor).rights_on(student):
        raise DomainError(_("Only the student's case manager or the principal can do this."))
    if aide_support == Student.AideSupport.NONE and aide_minutes_per_day:
        raise DomainError(
            _("A student without aide support has no aide minutes: leave the minutes empty."),
            field="aide_minutes_per_day",
        )
    before = {"aide_support": student.aide_support, "minutes": student.aide_minutes_per_day}
    student.aide_support = aide_support
    student.aide_minutes_per_day = aide_minutes_per_day
    student.save(update_fields=["aide_support", "aide_minutes_per_day", "updated_at"])
    students_unstaffed_refresh(student_ids=[student.pk])
    student.refresh_from_db(fields=["unstaffed_since"])
    audit_record(
        actor=actor,
        action="student.aide_support_changed",
        obj=student,
        school=student.school,
        student=student,
        before=before,
        after={"aide_support": aide_support, "minutes": aide_minutes_per_day},
    )
    return student
