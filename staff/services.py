"""State changes of the staff app. Each one is atomic and writes an audit event."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .access import standing_of
from .audit import audit_record
from .models import DESIGNEE_KINDS, Assignment, Designation, Role, School, Student, User


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
    before = {"school": student.school_id, "case_manager": student.case_manager_id}
    today = timezone.localdate()
    ended = list(
        Assignment.objects.current(today).filter(student=student).values_list("pk", flat=True)
    )
    Assignment.objects.filter(pk__in=ended).update(ended_on=today, updated_at=timezone.now())
    changed = ["school", "updated_at"]
    student.school = school
    if (
        student.case_manager_id
        and not Role.objects.filter(
            user_id=student.case_manager_id, school=school, kind=Role.Kind.CASE_MANAGER
        ).exists()
    ):
        student.case_manager = None
        changed.append("case_manager")
    student.save(update_fields=changed)
    audit_record(
        actor=actor,
        action="student.transferred",
        obj=student,
        school=school,
        student=student,
        before=before,
        after={
            "school": school.pk,
            "case_manager": student.case_manager_id,
            "assignments_ended": ended,
        },
    )
    return student
