"""The case manager's side of a meeting: schedule it with its team, move or cancel it,
record attempts to agree a time with the family, and record that it was held and who came.

Each service is atomic, locks the meeting it changes, checks the move against
MEETING_TRANSITIONS, saves with update_fields, writes an audit event, and leaves email to
notify() and notices_send(), which send on commit. Views turn a DomainError into a message
next to the field it names.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from staff.access import Right, holders, standing_of
from staff.audit import audit_record
from staff.models import Guardian, Student, User
from staff.services import DomainError

from .. import access
from ..access import Action
from ..models import (
    MEETING_TRANSITIONS,
    AttendanceRequest,
    ContactAttempt,
    Invitation,
    Meeting,
    MeetingNotice,
)
from .attendance import meeting_lock, requests_follow_meeting
from .notices import notices_send
from .notifications import notify
from .scheduling_checks import (
    is_short_notice,
    team_candidates,
    transition_planning_applies,
)

State = Meeting.State
Status = AttendanceRequest.Status

_REFUSED = {
    "reschedule": gettext_lazy("Only a scheduled meeting can be rescheduled."),
    "cancel": gettext_lazy("Only a scheduled meeting can be cancelled."),
    "hold": gettext_lazy("A cancelled meeting cannot be marked held."),
}


def meeting_next_state(state: str, action: str) -> str:
    try:
        return MEETING_TRANSITIONS[action][state]
    except KeyError:
        raise DomainError(str(_REFUSED[action])) from None


# --- The team, and what the preview shows ----------------------------------------------


def _check_times(starts_at: datetime.datetime, ends_at: datetime.datetime) -> None:
    if starts_at <= timezone.now():
        raise DomainError(
            _("This time is in the past: choose a time still to come."), field="starts_at"
        )
    if ends_at <= starts_at:
        raise DomainError(_("The meeting must end after it starts."), field="ends_at")


def _short_notice_reason(starts_at: datetime.datetime, reason: str) -> str:
    if not is_short_notice(starts_at):
        return ""
    reason = reason.strip()
    if not reason:
        raise DomainError(
            _(
                "This is less than %(days)d days' notice for the parents "
                "(34 CFR 300.322): say why the meeting cannot wait."
            )
            % {"days": settings.NOTICE_PERIOD_DAYS},
            field="short_notice_reason",
        )
    return reason


def _invited_staff(meeting: Meeting, *, exclude=()) -> list[User]:
    """Invited people with an account, the parents aside (they are sent the notice)."""
    exclude_ids = {u.pk for u in exclude if u is not None}
    return [
        inv.user
        for inv in meeting.invitations.select_related("user").filter(
            user__isnull=False, user__is_active=True, guardian__isnull=True
        )
        if inv.user_id not in exclude_ids
    ]


# In English, like every role the app writes (meetings_extras.team_role translates it).
GUARDIAN_TEAM_ROLE = "Parent or guardian"


def _guardian_invitation(meeting: Meeting, guardian: Guardian) -> Invitation:
    return Invitation(
        meeting=meeting,
        guardian=guardian,
        user=guardian.user,
        name=guardian.full_name,
        role=GUARDIAN_TEAM_ROLE,
        email=guardian.user.email if guardian.user_id else guardian.email,
    )


# --- The services -------------------------------------------------------------------------


@transaction.atomic
def meeting_schedule(
    *,
    actor: User,
    student: Student,
    kind: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    location: str = "",
    video_link: str = "",
    phone_dial_in: str = "",
    invitees=(),
    guests=(),
    short_notice_reason: str = "",
) -> Meeting:
    """Schedule a meeting with its invited team, tell the invited staff, and send the
    notice of meeting to the parents (34 CFR 300.322)."""
    if Right.MANAGE not in standing_of(actor).rights_on(student):
        raise DomainError(_("Only the student's case manager or the principal can schedule."))
    if kind not in Meeting.Kind.values:
        raise DomainError(_("Choose what the meeting is for."), field="kind")
    _check_times(starts_at, ends_at)
    short_notice_reason = _short_notice_reason(starts_at, short_notice_reason)
    location, video_link, phone_dial_in = (
        location.strip(),
        video_link.strip(),
        phone_dial_in.strip(),
    )
    if not (location or video_link or phone_dial_in):
        # 34 CFR 300.322: the notice names the place; a video or phone option may stand in.
        raise DomainError(_("Give a place, a video link or a phone dial-in."), field="location")
    team = {m.user.pk: m for m in team_candidates(student=student, actor=actor)}
    invitees = list(dict.fromkeys(invitees))
    if any(user.pk not in team for user in invitees):
        raise DomainError(_("Invite staff from the student's team only."), field="invitees")

    meeting = Meeting.objects.create(
        student=student,
        school=student.school,
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        location=location,
        video_link=video_link,
        phone_dial_in=phone_dial_in,
        scheduled_by=actor,
        short_notice_reason=short_notice_reason,
    )
    invitations = [
        Invitation(
            meeting=meeting,
            user=user,
            name=user.full_name,
            role=team[user.pk].role[:80],
            email=user.email,
        )
        for user in invitees
    ]
    invitations += [
        Invitation(meeting=meeting, name=g.name, role=g.role, email=g.email) for g in guests
    ]
    transition = transition_planning_applies(student=student, kind=kind, starts_at=starts_at)
    if transition:
        # In English: shown in each reader's language (meetings_extras.team_role).
        invitations.append(Invitation(meeting=meeting, name=student.full_name, role="Student"))
    # The parents are members of the team (34 CFR 300.321(a)(1)): invited, so that their
    # attendance is recorded like everyone's. One with an account who is also invited as
    # staff keeps their staff invitation.
    staff_ids = {user.pk for user in invitees}
    invitations += [
        _guardian_invitation(meeting, guardian)
        for guardian in Guardian.objects.filter(student=student).select_related("user")
        if guardian.user_id is None or guardian.user_id not in staff_ids
    ]
    Invitation.objects.bulk_create(invitations)
    audit_record(
        actor=actor,
        action="meeting.scheduled",
        obj=meeting,
        school=meeting.school,
        student=student,
        after={
            "kind": kind,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "invited": [inv.name for inv in invitations],
            "short_notice_reason": short_notice_reason,
            "transition_planning": transition,
        },
    )
    notify([user for user in invitees if user.pk != actor.pk], "invited", meeting=meeting)
    notices_send(meeting=meeting, kind=MeetingNotice.Kind.SCHEDULED)
    return meeting


@transaction.atomic
def meeting_reschedule(
    *,
    actor: User,
    meeting: Meeting,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    reason: str,
    short_notice_reason: str = "",
) -> Meeting:
    """Move a meeting: approved SECA requests go back to the approvers (an approval said
    the SECA was free at the old time); everyone invited and the parents are told."""
    meeting = meeting_lock(meeting)
    access.check(actor, Action.RESCHEDULE, meeting)
    meeting_next_state(meeting.state, "reschedule")
    _check_times(starts_at, ends_at)
    if not reason.strip():
        raise DomainError(_("Give a reason for the change."), field="reason")
    short_notice_reason = _short_notice_reason(starts_at, short_notice_reason)
    before = {
        "starts_at": meeting.starts_at.isoformat(),
        "ends_at": meeting.ends_at.isoformat(),
        "short_notice_reason": meeting.short_notice_reason,
    }
    meeting.starts_at, meeting.ends_at = starts_at, ends_at
    meeting.change_reason = reason.strip()
    meeting.short_notice_reason = short_notice_reason
    meeting.save(
        update_fields=[
            "starts_at",
            "ends_at",
            "change_reason",
            "short_notice_reason",
            "updated_at",
        ]
    )
    audit_record(
        actor=actor,
        action="meeting.rescheduled",
        obj=meeting,
        school=meeting.school,
        student=meeting.student,
        before=before,
        after={
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "reason": meeting.change_reason,
            "short_notice_reason": short_notice_reason,
        },
    )
    reopened = requests_follow_meeting(
        meeting=meeting, action="reopen", actor=actor, statuses=[Status.APPROVED]
    )
    if reopened:
        notify([r.seca for r in reopened], "approval_reopened", meeting=meeting)
        notify(
            User.objects.filter(holders(Right.DECIDE, meeting.student)),
            "requests_reopened",
            meeting=meeting,
            count=len(reopened),
        )
    notify(
        _invited_staff(meeting, exclude=[actor, *(r.seca for r in reopened)]),
        "meeting_moved",
        meeting=meeting,
    )
    notices_send(meeting=meeting, kind=MeetingNotice.Kind.RESCHEDULED)
    return meeting


@transaction.atomic
def meeting_cancel(*, actor: User, meeting: Meeting, reason: str) -> Meeting:
    """Cancel a meeting: its SECA requests are cancelled with it; everyone invited and the
    parents are told."""
    meeting = meeting_lock(meeting)
    access.check(actor, Action.CANCEL, meeting)
    meeting.state = meeting_next_state(meeting.state, "cancel")
    if not reason.strip():
        raise DomainError(_("Give a reason for cancelling."), field="reason")
    meeting.change_reason = reason.strip()
    meeting.save(update_fields=["state", "change_reason", "updated_at"])
    audit_record(
        actor=actor,
        action="meeting.cancelled",
        obj=meeting,
        school=meeting.school,
        student=meeting.student,
        before={"state": State.SCHEDULED},
        after={"state": meeting.state, "reason": meeting.change_reason},
    )
    cancelled = requests_follow_meeting(
        meeting=meeting,
        action="cancel",
        actor=actor,
        statuses=[Status.PENDING, Status.APPROVED, Status.DENIED],
    )
    notify([r.seca for r in cancelled], "meeting_cancelled", meeting=meeting, had_request=True)
    notify(
        _invited_staff(meeting, exclude=[actor, *(r.seca for r in cancelled)]),
        "meeting_cancelled",
        meeting=meeting,
    )
    notices_send(meeting=meeting, kind=MeetingNotice.Kind.CANCELLED)
    return meeting


@transaction.atomic
def meeting_mark_held(*, actor: User, meeting: Meeting, attended_ids) -> Meeting:
    """Record that the meeting took place and who attended: an approved SECA marked absent
    was not honored (contract: then feedback and a copy of the plan)."""
    meeting = meeting_lock(meeting)
    access.check(actor, Action.HOLD, meeting)
    before_state = meeting.state
    meeting.state = meeting_next_state(meeting.state, "hold")
    if not meeting.has_started:
        raise DomainError(_("The meeting has not started yet."))
    invitations = list(meeting.invitations.all())
    attended_ids = {int(pk) for pk in attended_ids}
    if not attended_ids <= {inv.pk for inv in invitations}:
        raise DomainError(_("Choose from the people invited."), field="attended")
    now = timezone.now()
    if meeting.held_at is None:
        meeting.held_at = now
    meeting.save(update_fields=["state", "held_at", "updated_at"])
    meeting.invitations.filter(pk__in=attended_ids).update(attended=True, updated_at=now)
    meeting.invitations.exclude(pk__in=attended_ids).update(attended=False, updated_at=now)
    audit_record(
        actor=actor,
        action="meeting.held",
        obj=meeting,
        school=meeting.school,
        student=meeting.student,
        before={
            "state": before_state,
            "attended": [inv.name for inv in invitations if inv.attended],
        },
        after={
            "state": meeting.state,
            "held_at": meeting.held_at.isoformat(),
            "attended": [inv.name for inv in invitations if inv.pk in attended_ids],
            "absent": [inv.name for inv in invitations if inv.pk not in attended_ids],
        },
    )
    return meeting


@transaction.atomic
def contact_attempt_add(
    *,
    actor: User,
    meeting: Meeting,
    attempted_at: datetime.datetime,
    method: str,
    outcome: str,
) -> ContactAttempt:
    """34 CFR 300.322(d): a record of the attempts to agree a time and place with the
    parents, kept with the meeting."""
    meeting = meeting_lock(meeting)
    access.check(actor, Action.LOG_CONTACT, meeting)
    if attempted_at > timezone.now():
        raise DomainError(_("Record an attempt once it was made."), field="attempted_at")
    if method not in ContactAttempt.Method.values:
        raise DomainError(_("Choose how the family was contacted."), field="method")
    outcome = outcome.strip()
    if not outcome:
        raise DomainError(_("Say what came of it."), field="outcome")
    attempt = ContactAttempt.objects.create(
        student=meeting.student,
        meeting=meeting,
        made_by=actor,
        attempted_at=attempted_at,
        method=method,
        outcome=outcome,
    )
    audit_record(
        actor=actor,
        action="contact_attempt.added",
        obj=attempt,
        school=meeting.school,
        student=meeting.student,
        after={"attempted_at": attempted_at.isoformat(), "method": method, "outcome": outcome},
    )
    return attempt


# --- The team after scheduling --------------------------------------------------------------


def team_addable(*, meeting: Meeting):
    """Whom the case manager may add to a scheduled meeting, as two querysets: active
    staff of the student's school and current guardians of the student, not yet invited."""
    invited = Invitation.objects.filter(meeting=meeting)
    staff = (
        User.objects.staff_of(meeting.student.school)
        .filter(is_active=True)
        .exclude(pk__in=invited.filter(user__isnull=False).values("user_id"))
        .order_by("full_name", "pk")
    )
    guardians = Guardian.objects.filter(student_id=meeting.student_id).exclude(
        pk__in=invited.filter(guardian__isnull=False).values("guardian_id")
    )
    return staff, guardians.order_by("full_name", "pk")


def _team_changed(*, actor: User, meeting: Meeting, action: str, invitation: Invitation) -> None:
    audit_record(
        actor=actor,
        action=action,
        obj=meeting,
        school=meeting.school,
        student=meeting.student,
        after={"name": invitation.name, "role": invitation.role},
    )
    # The notice names who attends: the family gets it again, as when the meeting moves.
    notices_send(meeting=meeting, kind=MeetingNotice.Kind.UPDATED)


@transaction.atomic
def meeting_invitee_add(
    *, actor: User, meeting: Meeting, user: User | None = None, guardian: Guardian | None = None
) -> Invitation:
    """Add someone to a scheduled meeting's team: a staff member of the student's school
    (told, with the calendar file) or a guardian of the student; the family gets the
    updated notice."""
    meeting = meeting_lock(meeting)
    access.check(actor, Action.EDIT_TEAM, meeting)
    if not meeting.is_open:
        raise DomainError(_("The team can be changed only before the meeting starts."))
    if (user is None) == (guardian is None):
        raise DomainError(_("Choose one person to invite."), field="user")
    invited = meeting.invitations.all()
    if guardian is not None:
        if (
            guardian.student_id != meeting.student_id
            or not Guardian.objects.filter(pk=guardian.pk).exists()
        ):
            raise DomainError(_("Choose a parent or guardian of this student."), field="guardian")
        if invited.filter(guardian=guardian).exists() or (
            guardian.user_id and invited.filter(user_id=guardian.user_id).exists()
        ):
            raise DomainError(_("This person is already invited."), field="guardian")
        invitation = _guardian_invitation(meeting, guardian)
        invitation.save()
    else:
        if not (
            user.is_active
            and User.objects.staff_of(meeting.student.school).filter(pk=user.pk).exists()
        ):
            raise DomainError(_("Invite staff of the student's school only."), field="user")
        if invited.filter(user=user).exists():
            raise DomainError(_("This person is already invited."), field="user")
        role = {m.user.pk: m.role for m in team_candidates(student=meeting.student)}.get(
            user.pk, "School staff"
        )
        invitation = Invitation.objects.create(
            meeting=meeting, user=user, name=user.full_name, role=role[:80], email=user.email
        )
        if user.pk != actor.pk:
            notify([user], "invited", meeting=meeting)
    _team_changed(
        actor=actor, meeting=meeting, action="meeting.invitee_added", invitation=invitation
    )
    return invitation


@transaction.atomic
def meeting_invitee_remove(*, actor: User, meeting: Meeting, invitation_id: int) -> Invitation:
    """Take someone off a scheduled meeting's team: they are told, and the family gets the
    updated notice. Not the parents (34 CFR 300.322: the school invites them), nor a SECA
    approved to attend (the approver's decision stands until changed)."""
    meeting = meeting_lock(meeting)
    access.check(actor, Action.EDIT_TEAM, meeting)
    if not meeting.is_open:
        raise DomainError(_("The team can be changed only before the meeting starts."))
    invitation = meeting.invitations.select_related("user").filter(pk=invitation_id).first()
    if invitation is None:
        raise DomainError(_("Choose from the people invited."), field="invitation")
    if invitation.guardian_id:
        raise DomainError(
            _("The parents are always invited: record their answer instead."), field="invitation"
        )
    if (
        invitation.user_id
        and meeting.requests.filter(seca_id=invitation.user_id, status=Status.APPROVED).exists()
    ):
        raise DomainError(
            _("This SECA was approved to attend: the principal or a designee can change that."),
            field="invitation",
        )
    invitation.delete()
    if invitation.user_id and invitation.user_id != actor.pk and invitation.user.is_active:
        notify([invitation.user], "uninvited", meeting=meeting)
    _team_changed(
        actor=actor, meeting=meeting, action="meeting.invitee_removed", invitation=invitation
    )
    return invitation
