"""State changes of the staff app. Each one is atomic and writes an audit event."""

from django.db import transaction

from .models import DESIGNEE_KINDS, AuditEvent, Designation, School, User


class DomainError(Exception):
    """A refused action, with a message to show the person who tried it."""

    def __init__(self, message, *, field=None):
        super().__init__(message)
        self.message = message
        self.field = field

    def add_to(self, form) -> None:
        """Show the message next to its field, or above the form when it has none."""
        form.add_error(self.field if self.field in form.fields else None, self.message)


def audit_record(*, actor, action, obj, school=None, student=None, before=None, after=None):
    return AuditEvent.objects.create(
        actor=actor if actor and actor.is_authenticated else None,
        action=action,
        object_type=obj._meta.model_name,
        object_id=str(obj.pk),
        school=school,
        student=student,
        before=before or {},
        after=after or {},
    )


def designee_candidates(*, school: School):
    """Assistant principals and case managers of the school: who may be named."""
    return User.objects.filter(
        is_active=True, roles__school=school, roles__kind__in=DESIGNEE_KINDS
    ).distinct()


@transaction.atomic
def designation_add(*, principal: User, school: School, designee: User) -> Designation:
    if not School.objects.where_principal(principal).filter(pk=school.pk).exists():
        raise DomainError("Only the principal of this school can name designees.")
    if not designee_candidates(school=school).filter(pk=designee.pk).exists():
        raise DomainError(
            "A designee must be an assistant principal or case manager of this school.",
            field="designee",
        )
    designation, created = Designation.objects.get_or_create(
        school=school, designee=designee, defaults={"named_by": principal}
    )
    if not created:
        raise DomainError(f"{designee} is already a designee.", field="designee")
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
    if not School.objects.where_principal(principal).filter(pk=school.pk).exists():
        raise DomainError("Only the principal of this school can remove designees.")
    audit_record(
        actor=principal,
        action="designee.removed",
        obj=designation,
        school=school,
        before={"designee": designation.designee.email},
    )
    designation.delete()
