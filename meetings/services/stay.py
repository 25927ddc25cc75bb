"""Requests to stay with a student or a classroom (contract: "SECAs can request to stay
with the student or classroom they were previously assigned to"): submitted by the SECA,
withdrawn while pending, decided by the principal or a designee of the student's current
school (or the classroom's) through the same queue as requests to attend. Each service is
atomic, locks the row, checks the transition against STAY_TRANSITIONS, saves with
update_fields, writes an audit event and notifies."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from staff.access import (
    Right,
    holders,
    may_decide_stay,
    standing_of,
    stay_audience,
    stay_classrooms,
)
from staff.audit import audit_record
from staff.models import STAY_TRANSITIONS, StayRequest, Student, User, current_school_year
from staff.services import DomainError

from .notifications import notify

Status = StayRequest.Status

_ACTION_PAST = {"submit": "submitted", "withdraw": "withdrawn", "approve": "approved", "deny": "denied"}  # fmt: skip


def stay_next_status(status, action):
    try:
        return STAY_TRANSITIONS[action][status]
    except KeyError:
        label = Status(status).label if status else _("new")
        raise DomainError(
            _("This request is %(status)s and can no longer be %(action)s.")
            % {"status": str(label).lower(), "action": _ACTION_PAST[action]}
        ) from None


def stay_decidable(stay: StayRequest) -> bool:
    """Whether an approver may still decide (or change the decision): a year to come."""
    return stay.school_year >= current_school_year() and any(
        stay.status in STAY_TRANSITIONS[action] for action in ("approve", "deny")
    )


def stay_year(occasion: str) -> int:
    """The school year a request is for: the next one, or this one (a reassignment)."""
    this_year = current_school_year()
    return this_year + 1 if occasion == StayRequest.Occasion.NEXT_YEAR else this_year


def _snapshot(stay: StayRequest) -> dict:
    return {
        "status": stay.status,
        "deny_reason": stay.deny_reason,
        "decision_note": stay.decision_note,
        "decided_by": stay.decided_by_id,
    }


def _transition(stay: StayRequest, *, action: str, actor: User, changes=None) -> None:
    before = _snapshot(stay)
    changes = {"status": stay_next_status(stay.status, action), **(changes or {})}
    for name, value in changes.items():
        setattr(stay, name, value)
    stay.version += 1
    stay.save(update_fields=[*changes, "version", "updated_at"])
    audit_record(
        actor=actor,
        action=f"stay_request.{_ACTION_PAST[action]}",
        obj=stay,
        school=stay.school,
        student=stay.student,
        before=before,
        after=_snapshot(stay),
    )


def _lock(stay: StayRequest) -> StayRequest:
    StayRequest.objects.select_for_update().filter(pk=stay.pk).values_list("pk").get()
    return StayRequest.objects.select_related(
        "student__school", "school", "seca", "decided_by"
    ).get(pk=stay.pk)


@transaction.atomic
def stay_request_submit(*, seca: User, student: Student, occasion: str, note: str = "") -> StayRequest:  # fmt: skip
    if Right.ASK_TO_STAY not in standing_of(seca).rights_on(student):
        raise DomainError(_("You can only ask to stay with a student you support this year."))
    if occasion not in StayRequest.Occasion.values:
        raise DomainError(_("Say when you would stay with the student."), field="occasion")
    stay_next_status(None, "submit")
    school_year = stay_year(occasion)
    try:
        with transaction.atomic():
            stay = StayRequest.objects.create(
                seca=seca,
                student=student,
                school=student.school,
                occasion=occasion,
                school_year=school_year,
                note=note.strip(),
            )
    except IntegrityError:
        raise DomainError(
            _("You already asked to stay with this student that year."), field="occasion"
        ) from None
    audit_record(
        actor=seca,
        action="stay_request.submitted",
        obj=stay,
        school=student.school,
        student=student,
        after=_snapshot(stay),
    )
    notify(User.objects.filter(holders(Right.DECIDE, student)), "stay_submitted", request=stay)
    return stay


@transaction.atomic
def stay_request_submit_classroom(
    *, seca: User, school_id: int, classroom: str, occasion: str, note: str = ""
) -> StayRequest:
    """A request to stay with a classroom: one of the groups of the SECA's own schedule
    this year, at a school where they are a SECA (staff.access.stay_classrooms)."""
    mine = {(school, group) for school, _name, group in stay_classrooms(seca)}
    if (school_id, classroom) not in mine:
        raise DomainError(
            _("Choose a classroom of your schedule this school year."), field="classroom"
        )
    if occasion not in StayRequest.Occasion.values:
        raise DomainError(_("Say when you would stay with the classroom."), field="occasion")
    stay_next_status(None, "submit")
    try:
        with transaction.atomic():
            stay = StayRequest.objects.create(
                seca=seca,
                classroom=classroom,
                school_id=school_id,
                occasion=occasion,
                school_year=stay_year(occasion),
                note=note.strip(),
            )
    except IntegrityError:
        raise DomainError(
            _("You already asked to stay with this classroom that year."), field="occasion"
        ) from None
    stay = StayRequest.objects.select_related("school", "seca").get(pk=stay.pk)
    audit_record(
        actor=seca,
        action="stay_request.submitted",
        obj=stay,
        school=stay.school,
        after=_snapshot(stay),
    )
    notify(
        User.objects.filter(stay_audience(stay)).exclude(pk=seca.pk), "stay_submitted", request=stay
    )
    return stay


@transaction.atomic
def stay_request_withdraw(*, seca: User, stay_request: StayRequest) -> None:
    stay = _lock(stay_request)
    if stay.seca_id != seca.pk:
        raise DomainError(_("Only the SECA who asked can withdraw this request."))
    _transition(stay, action="withdraw", actor=seca)


@transaction.atomic
def stay_request_decide(
    *,
    approver: User,
    stay_request: StayRequest,
    approve: bool,
    seen_version: int,
    deny_reason: str = "",
    decision_note: str = "",
) -> StayRequest:
    stay = _lock(stay_request)
    if not may_decide_stay(standing_of(approver), stay):
        raise DomainError(_("Only the principal or a designee of this school can decide."))
    if stay.version != seen_version:
        # Another approver acted since this one opened the request: the first one wins.
        raise DomainError(
            _("This request changed since you opened it: it is now %(status)s.")
            % {"status": stay.get_status_display().lower()}
        )
    if stay.school_year < current_school_year():
        raise DomainError(_("The school year this request is for has ended."))
    action = "approve" if approve else "deny"
    stay_next_status(stay.status, action)
    decision_note = decision_note.strip()
    if not approve:
        if deny_reason not in dict(stay.deny_reasons()):
            raise DomainError(_("Choose a reason for the denial."), field="deny_reason")
        if deny_reason == StayRequest.DenyReason.OTHER and not decision_note:
            raise DomainError(
                _("Explain the reason in a note when it is “Other”."), field="decision_note"
            )
    _transition(
        stay,
        action=action,
        actor=approver,
        changes={
            "deny_reason": "" if approve else deny_reason,
            "decision_note": decision_note,
            "decided_by": approver,
            "decided_at": timezone.now(),
        },
    )
    notify([stay.seca], "stay_approved" if approve else "stay_denied", request=stay)
    return stay
