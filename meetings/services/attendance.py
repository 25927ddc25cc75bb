"""Every state change of a meeting and of what hangs on it.

Each service is atomic, locks the row it changes, checks the transition against
REQUEST_TRANSITIONS, saves with update_fields, writes an audit event and only then queues
email, on commit. Views turn a DomainError into a message next to the form.
"""

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from iepcoord.dates import formatted
from staff.access import Right, holders
from staff.audit import audit_record
from staff.models import ScheduleBlock, User, current_school_year
from staff.services import DomainError

from .. import access
from ..access import Action
from ..models import REQUEST_TRANSITIONS, AttendanceRequest, Invitation, Meeting, SecaFeedback
from ..queue import block_overlaps
from .notifications import notify
from .scheduling_checks import coverage_conflicts, coverage_staff

Status = AttendanceRequest.Status

SECA_TEAM_ROLE = "SECA (requested to attend)"


def request_next_status(status, action):
    try:
        return REQUEST_TRANSITIONS[action][status]
    except KeyError:
        label = Status(status).label if status else _("new")
        raise DomainError(
            _("This request is %(status)s and can no longer be %(action)s.")
            % {"status": str(label).lower(), "action": _ACTION_PAST[action]}
        ) from None


_ACTION_PAST = {
    "submit": "submitted",
    "withdraw": "withdrawn",
    "approve": "approved",
    "deny": "denied",
    "reopen": "re-opened",
    "expire": "expired",
    "cancel": "cancelled",
}


def _snapshot(req: AttendanceRequest) -> dict:
    return {
        "status": req.status,
        "deny_reason": req.deny_reason,
        "decision_note": req.decision_note,
        "covered_by": req.covered_by_id,
        "coverage_note": req.coverage_note,
        "decided_by": req.decided_by_id,
    }


def _request_transition(req: AttendanceRequest, *, action: str, actor, changes=None) -> None:
    """Apply one transition to a locked request: its new status and fields, the version
    bumped, saved with update_fields, and an audit event with before and after."""
    before = _snapshot(req)
    changes = {"status": request_next_status(req.status, action), **(changes or {})}
    for name, value in changes.items():
        setattr(req, name, value)
    req.version += 1
    req.save(update_fields=[*changes, "version", "updated_at"])
    audit_record(
        actor=actor,
        action=f"request.{_ACTION_PAST[action].replace('-', '')}",
        obj=req,
        school=req.meeting.school,
        student=req.meeting.student,
        before=before,
        after=_snapshot(req),
    )


def _meeting_open_for_requests(meeting: Meeting) -> None:
    if meeting.state == Meeting.State.CANCELLED:
        raise DomainError(_("This meeting was cancelled."))
    if meeting.state == Meeting.State.HELD or meeting.has_started:
        raise DomainError(_("This meeting has already started."))


# Lock the bare row first, then read it with its relations in a new statement: a locking
# query that joins re-reads only the locked row after waiting, so the joined columns
# (who decided) would be stale.
def meeting_lock(meeting: Meeting) -> Meeting:
    Meeting.objects.select_for_update().filter(pk=meeting.pk).values_list("pk").get()
    return Meeting.objects.select_related("student__school", "school").get(pk=meeting.pk)


def _lock_request(req: AttendanceRequest) -> AttendanceRequest:
    AttendanceRequest.objects.select_for_update().filter(pk=req.pk).values_list("pk").get()
    return AttendanceRequest.objects.select_related(
        "meeting__student__school", "meeting__school", "seca", "decided_by"
    ).get(pk=req.pk)


@transaction.atomic
def attendance_request_submit(*, seca: User, meeting: Meeting, note: str = "") -> AttendanceRequest:
    meeting = meeting_lock(meeting)
    access.check(seca, Action.REQUEST, meeting)
    _meeting_open_for_requests(meeting)
    if AttendanceRequest.objects.filter(
        meeting=meeting, seca=seca, status__in=AttendanceRequest.OPEN_STATUSES
    ).exists():
        raise DomainError(_("You already have an open request for this meeting."))
    request_next_status(None, "submit")
    try:
        with transaction.atomic():
            req = AttendanceRequest.objects.create(meeting=meeting, seca=seca, note=note.strip())
    except IntegrityError:
        # Two submissions at once: the database's unique constraint let one through.
        raise DomainError(_("You already have an open request for this meeting.")) from None
    audit_record(
        actor=seca,
        action="request.submitted",
        obj=req,
        school=meeting.school,
        student=meeting.student,
        after=_snapshot(req),
    )
    notify(
        User.objects.filter(holders(Right.DECIDE, meeting.student)),
        "request_submitted",
        meeting=meeting,
        request=req,
    )
    return req


@transaction.atomic
def attendance_request_withdraw(*, seca: User, attendance_request: AttendanceRequest) -> None:
    req = _lock_request(attendance_request)
    access.check(seca, Action.WITHDRAW, req)
    _meeting_open_for_requests(req.meeting)
    _request_transition(req, action="withdraw", actor=seca)


@transaction.atomic
def attendance_request_decide(
    *,
    approver: User,
    attendance_request: AttendanceRequest,
    approve: bool,
    seen_version: int,
    deny_reason: str = "",
    decision_note: str = "",
    covered_by: User | None = None,
    coverage_note: str = "",
) -> AttendanceRequest:
    req = _lock_request(attendance_request)
    meeting = req.meeting
    access.check(approver, Action.DECIDE, req)
    if req.version != seen_version:
        # Another approver acted since this one opened the request: the first one wins.
        if req.decided_by_id and req.status in (Status.APPROVED, Status.DENIED):
            already = (
                _("%(who)s already approved this request at %(when)s.")
                if req.status == Status.APPROVED
                else _("%(who)s already denied this request at %(when)s.")
            )
            raise DomainError(
                already
                % {
                    "who": req.decided_by.full_name,
                    "when": formatted(
                        timezone.localtime(req.decided_at, meeting.school.tzinfo), "time"
                    ),
                }
            )
        raise DomainError(
            _("This request changed since you opened it: it is now %(status)s.")
            % {"status": req.get_status_display().lower()}
        )
    _meeting_open_for_requests(meeting)
    action = "approve" if approve else "deny"
    request_next_status(req.status, action)  # refuse a closed request before the form
    previous_coverer = req.covered_by_id if req.status == Status.APPROVED else None
    decision_note = decision_note.strip()
    if approve:
        coverage_note = coverage_note.strip()
        if covered_by is None and not coverage_note:
            raise DomainError(
                _("Say who covers the SECA's students, or why no one needs to."), field="covered_by"
            )
        if covered_by is not None:
            _check_coverer(req, covered_by)
        outcome = {"deny_reason": "", "covered_by": covered_by, "coverage_note": coverage_note}
    else:
        if deny_reason not in AttendanceRequest.DenyReason.values:
            raise DomainError(_("Choose a reason for the denial."), field="deny_reason")
        if deny_reason == AttendanceRequest.DenyReason.OTHER and not decision_note:
            raise DomainError(
                _("Explain the reason in a note when it is “Other”."), field="decision_note"
            )
        outcome = {"deny_reason": deny_reason, "covered_by": None, "coverage_note": ""}
    _request_transition(
        req,
        action=action,
        actor=approver,
        changes={
            **outcome,
            "decision_note": decision_note,
            "decided_by": approver,
            "decided_at": timezone.now(),
            "reopened": False,
        },
    )
    _sync_seca_invitation(req)
    notify(
        [req.seca],
        "request_approved" if approve else "request_denied",
        meeting=meeting,
        request=req,
    )
    if approve and covered_by is not None and covered_by.pk != previous_coverer:
        notify([covered_by], "coverage_assigned", meeting=meeting, request=req, duties=_duties(req))
    return req


def _check_coverer(req: AttendanceRequest, covered_by: User) -> None:
    """Any staff member of the student's school free during the meeting, not a SECA
    (contract: SECAs are not used to cover for other staff)."""
    meeting = req.meeting
    if (
        covered_by.pk == req.seca_id
        or not coverage_staff(meeting.student.school).filter(pk=covered_by.pk).exists()
    ):
        raise DomainError(
            _("Choose a staff member of this school who is not a SECA to cover."),
            field="covered_by",
        )
    conflicts = coverage_conflicts(meeting=meeting, user=covered_by, request=req)
    if conflicts:
        raise DomainError(
            _("%(name)s is not free then: %(why)s.")
            % {"name": covered_by.full_name, "why": conflicts[0].detail},
            field="covered_by",
        )


def _duties(req: AttendanceRequest) -> list[str]:
    """What the SECA's weekly schedule has them doing during the meeting (what the person
    covering takes over), in the school's time zone. One query."""
    meeting = req.meeting
    tz = meeting.school.tzinfo
    start, end = timezone.localtime(meeting.starts_at, tz), timezone.localtime(meeting.ends_at, tz)
    blocks = ScheduleBlock.objects.filter(
        seca_id=req.seca_id, weekday=start.weekday(), school_year=current_school_year(start.date())
    ).select_related("student")
    return [
        f"{formatted(b.starts, 'time')}–{formatted(b.ends, 'time')} {b.supports}"
        for b in sorted(blocks, key=lambda b: b.starts)
        if b.school_id == meeting.school_id and block_overlaps(b, start, end)
    ]


def _sync_seca_invitation(req: AttendanceRequest) -> None:
    """An approved SECA is on the meeting's team, where attendance is recorded."""
    if req.status == Status.APPROVED:
        Invitation.objects.get_or_create(
            meeting=req.meeting,
            user=req.seca,
            defaults={"name": req.seca.full_name, "role": SECA_TEAM_ROLE, "email": req.seca.email},
        )
    else:
        Invitation.objects.filter(
            meeting=req.meeting, user=req.seca, role=SECA_TEAM_ROLE, attended__isnull=True
        ).delete()


def requests_follow_meeting(*, meeting: Meeting, action: str, actor: User | None, statuses) -> list:
    """Move the meeting's requests in `statuses` by `action`: the meeting moved (re-open)
    or was cancelled. Called by the scheduling services with the meeting locked."""
    changed = []
    for req in (
        AttendanceRequest.objects.select_for_update(of=("self",))
        .select_related("seca")
        .filter(meeting=meeting, status__in=statuses)
    ):
        req.meeting = meeting
        _request_transition(
            req, action=action, actor=actor, changes={"reopened": action == "reopen"}
        )
        # Re-opened, the SECA is no longer on the team the notice names until re-approved.
        _sync_seca_invitation(req)
        changed.append(req)
    return changed


@transaction.atomic
def attendance_requests_expire(
    *, now: datetime.datetime | None = None, limit: int | None = None
) -> int:
    """Requests still pending when their meeting starts are not honored (contract). At
    most `limit` per call: the reminder sweep calls it until fewer come back."""
    now = now or timezone.now()
    expired = list(
        AttendanceRequest.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("meeting__student__school", "meeting__school", "seca")
        .filter(status=Status.PENDING, meeting__starts_at__lte=now)
        .order_by("id")[:limit]
    )
    for req in expired:
        _request_transition(req, action="expire", actor=None)
        notify([req.seca], "request_expired", meeting=req.meeting, request=req)
    return len(expired)


FEEDBACK_FIELDS = [
    "strengths",
    "what_works",
    "challenges",
    "progress",
    "care_notes",
    "suggestions",
    "questions",
]


@transaction.atomic
def feedback_save(*, seca: User, meeting: Meeting, data: dict, submit: bool) -> SecaFeedback:
    """Save the SECA's feedback as a draft, or submit it; editable until the meeting starts.
    After it, a SECA not honored who gave none before may still give it (contract:
    feedback when not honored, whenever it happens): marked as given after the meeting,
    it reaches the case manager as an addendum to the packet, and is final once submitted."""
    meeting = meeting_lock(meeting)
    access.check(seca, Action.GIVE_FEEDBACK, meeting)
    if meeting.state == Meeting.State.CANCELLED:
        raise DomainError(_("This meeting was cancelled."))
    after_meeting = not meeting.is_open
    if after_meeting and not access.late_feedback_allowed(seca, meeting):
        raise DomainError(_("The meeting has started: your feedback can no longer be changed."))
    cleaned = {name: (data.get(name) or "").strip() for name in FEEDBACK_FIELDS}
    if submit and not any(cleaned.values()):
        raise DomainError(_("Write at least one section before submitting."), field="strengths")
    feedback, created = SecaFeedback.objects.select_for_update().get_or_create(
        meeting=meeting, seca=seca, defaults=cleaned
    )
    before = {"submitted_at": feedback.submitted_at and feedback.submitted_at.isoformat()}
    for name, value in cleaned.items():
        setattr(feedback, name, value)
    first_submission = submit and feedback.submitted_at is None
    if submit:
        feedback.submitted_at = timezone.now()
    feedback.after_meeting = after_meeting
    feedback.save()
    audit_record(
        actor=seca,
        action="feedback.submitted" if submit else "feedback.saved",
        obj=feedback,
        school=meeting.school,
        student=meeting.student,
        before=before,
        after={
            "submitted_at": feedback.submitted_at and feedback.submitted_at.isoformat(),
            "after_meeting": after_meeting,
        },
    )
    if first_submission:
        team = {meeting.scheduled_by, meeting.student.case_manager} - {None}
        notify(
            team,
            "feedback_addendum" if after_meeting else "feedback_submitted",
            meeting=meeting,
            seca=seca.full_name,
        )
    return feedback
