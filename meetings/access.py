"""Who may see and do what with a meeting and what hangs on it: requests, feedback,
notices, plans and their deliveries. Built on staff/access.py: a right on the meeting is a
right on its student, held through a current relationship, at the student's current school
(a student who moves takes their meetings to the new school). An invitation grants nothing.

For each kind of object: a queryset of what a person may see, a fetch-and-check helper
(`<object>_for(user, pk, action)`: 404 for what they may not see, 403 for a known object
and a missing right, both recorded in the audit trail), and `allowed_actions(obj, user)`,
which joins the person's rights with the state machines of meetings/models.py. Views,
templates, services and selectors all ask here; none keeps a rule of its own.
"""

import enum

from django.db.models import Exists, Q
from django.utils.translation import gettext_lazy as _

from staff.access import Right, fetch_or_refuse, standing_of
from staff.services import DomainError

from .models import (
    MEETING_TRANSITIONS,
    REQUEST_TRANSITIONS,
    AttendanceRequest,
    Meeting,
    ParentWish,
    Plan,
    PlanDelivery,
    SecaFeedback,
    not_honored,
)


class Action(enum.StrEnum):
    # Meetings
    VIEW = "view"
    VIEW_PAPERS = "view_papers"  # every request, decision and feedback; the packet
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    HOLD = "hold"  # record that it was held, and who attended
    LOG_CONTACT = "log_contact"
    UPLOAD_PLAN = "upload_plan"
    REQUEST = "request"  # a SECA asks to attend
    GIVE_FEEDBACK = "give_feedback"
    READ_NOTICE = "read_notice"
    ANSWER_NOTICE = "answer_notice"  # the parent's answer and wish about the SECA
    RECORD_ANSWER = "record_answer"  # a parent's answer given by phone, on paper, in person
    EDIT_TEAM = "edit_team"  # add and remove invitees after scheduling
    VIEW_ACCESS_LOG = "view_access_log"  # of the meeting's student (34 CFR 300.614)
    # Requests
    WITHDRAW = "withdraw"
    DECIDE = "decide"
    # Plans
    DOWNLOAD = "download"
    FINALIZE = "finalize"


def _in(action):
    return lambda meeting: meeting.state in MEETING_TRANSITIONS[action]


def _always(meeting):
    return True


# Meeting actions: (the rights that allow it, any one; whether the meeting's state allows it
# now). The states come from MEETING_TRANSITIONS; what is taken "until the meeting starts"
# from Meeting.is_open.
MEETING_ACTIONS = {
    Action.VIEW: ({Right.VIEW}, _always),
    Action.VIEW_PAPERS: ({Right.VIEW_RECORDS}, _always),
    Action.RESCHEDULE: ({Right.MANAGE}, _in("reschedule")),
    Action.CANCEL: ({Right.MANAGE}, _in("cancel")),
    Action.HOLD: (
        {Right.MANAGE},
        lambda m: _in("hold")(m) and (m.state == Meeting.State.HELD or m.has_started),
    ),
    Action.LOG_CONTACT: ({Right.MANAGE}, lambda m: m.state != Meeting.State.CANCELLED),
    Action.UPLOAD_PLAN: ({Right.MANAGE}, lambda m: m.state == Meeting.State.HELD),
    Action.REQUEST: ({Right.SUPPORT}, lambda m: m.is_open),
    # Until the meeting starts; after it, only from a SECA not honored (allowed_actions).
    Action.GIVE_FEEDBACK: ({Right.SUPPORT}, lambda m: m.state != Meeting.State.CANCELLED),
    Action.READ_NOTICE: ({Right.GUARDIAN, Right.VIEW_RECORDS}, _always),
    Action.ANSWER_NOTICE: ({Right.GUARDIAN}, lambda m: m.is_open),
    Action.RECORD_ANSWER: ({Right.MANAGE}, lambda m: m.is_open),
    Action.EDIT_TEAM: ({Right.MANAGE}, lambda m: m.is_open),
    Action.VIEW_ACCESS_LOG: ({Right.VIEW_ACCESS_LOG}, _always),
}

# What refuses an action a person has no right to, as a service says it.
REFUSALS = {
    Action.RESCHEDULE: _("Only the student's case manager or the principal can do this."),
    Action.CANCEL: _("Only the student's case manager or the principal can do this."),
    Action.HOLD: _("Only the student's case manager or the principal can do this."),
    Action.LOG_CONTACT: _("Only the student's case manager or the principal can do this."),
    Action.UPLOAD_PLAN: _("Only the student's case manager or the principal can do this."),
    Action.FINALIZE: _("Only the student's case manager or the principal can do this."),
    Action.REQUEST: _("You can only ask to attend meetings of students you support."),
    Action.GIVE_FEEDBACK: _("You can only give feedback on students you support."),
    Action.ANSWER_NOTICE: _("Only a parent or guardian of this student can answer."),
    Action.RECORD_ANSWER: _("Only the student's case manager or the principal can do this."),
    Action.EDIT_TEAM: _("Only the student's case manager or the principal can do this."),
    Action.WITHDRAW: _("Only the SECA who asked can withdraw this request."),
    Action.DECIDE: _("Only the principal or a designee of this school can decide."),
}


# --- Rights on one object -------------------------------------------------------------------


def rights_on(user, obj) -> frozenset:
    """The person's rights on the student a meeting, request, plan or delivery is about.
    The object must come with its student (select_related): no query."""
    return standing_of(user).rights_on(_student_of(obj))


def _student_of(obj):
    if isinstance(obj, Meeting):
        return obj.student
    if isinstance(obj, AttendanceRequest | Plan):
        return obj.meeting.student
    if isinstance(obj, PlanDelivery):
        return obj.plan.meeting.student
    raise TypeError(f"No access rules for {type(obj).__name__}")


def _may(user, rights, action, obj) -> bool:
    """The role part of an action, regardless of state."""
    if isinstance(obj, Meeting):
        return bool(MEETING_ACTIONS[action][0] & rights)
    if isinstance(obj, AttendanceRequest):
        if action == Action.WITHDRAW:
            return Right.SUPPORT in rights and obj.seca_id == user.pk
        if action == Action.DECIDE:
            return Right.DECIDE in rights
        if action == Action.VIEW:
            return bool({Right.VIEW_RECORDS, Right.DECIDE} & rights) or (
                Right.SUPPORT in rights and obj.seca_id == user.pk
            )
    if isinstance(obj, Plan):
        if action == Action.FINALIZE:
            return Right.MANAGE in rights
        if action == Action.DOWNLOAD:
            return Right.VIEW_RECORDS in rights or (
                Right.VIEW in rights and obj.finalized_at is not None
            )
    return False


def _state_allows(action, obj) -> bool:
    if isinstance(obj, Meeting):
        return MEETING_ACTIONS[action][1](obj)
    if isinstance(obj, AttendanceRequest):
        transitions = {
            Action.WITHDRAW: ("withdraw",),
            Action.DECIDE: ("approve", "deny"),
        }.get(action)
        if transitions is None:
            return True
        return obj.meeting.is_open and any(
            obj.status in REQUEST_TRANSITIONS[name] for name in transitions
        )
    if isinstance(obj, Plan):
        if action == Action.FINALIZE:
            return obj.finalized_at is None and getattr(obj, "is_latest", True)
        return True
    return False


def may(user, action: Action, obj) -> bool:
    """Whether the person holds the right for this action on this object (its state aside)."""
    return _may(user, rights_on(user, obj), action, obj)


def allowed_actions(
    obj,
    user,
    *,
    own_request: AttendanceRequest | None = None,
    late_feedback: bool = False,
) -> frozenset:
    """The actions this person may take on this object now: their rights joined with the
    object's state. Pages offer exactly these. For a SECA's view of a meeting, pass their
    latest request: while it stands they withdraw it or give feedback, not ask again; and
    once the meeting started, whether they may still give feedback (`late_feedback_allowed`)."""
    rights = rights_on(user, obj)
    candidates = MEETING_ACTIONS if isinstance(obj, Meeting) else Action
    allowed = {
        action
        for action in candidates
        if _may(user, rights, action, obj) and _state_allows(action, obj)
    }
    if (
        isinstance(obj, Meeting)
        and own_request is not None
        and own_request.status in AttendanceRequest.STANDING_STATUSES
    ):
        allowed.discard(Action.REQUEST)
    if isinstance(obj, Meeting) and not obj.is_open and not late_feedback:
        allowed.discard(Action.GIVE_FEEDBACK)
    return frozenset(allowed)


def late_feedback_allowed(user, meeting: Meeting) -> bool:
    """Contract: feedback when not honored, whenever it happens. Once the meeting has
    started, a SECA whose request was not honored (expired undecided, or approved but
    marked absent; denied) and who gave no feedback before may still give it: it reaches
    the case manager as an addendum to the packet. Submitted, it is final. One query."""
    if meeting.is_open or meeting.state == Meeting.State.CANCELLED:
        return False
    submitted = SecaFeedback.objects.filter(meeting=meeting, seca=user, submitted_at__isnull=False)
    return (
        AttendanceRequest.objects.filter(meeting=meeting, seca=user)
        # Still pending at the start: not honored, before the expiry sweep marks it.
        .filter(not_honored() | Q(status=AttendanceRequest.Status.PENDING))
        .exclude(Exists(submitted))
        .exists()
    )


def check(user, action: Action, obj) -> None:
    """For services: refuse with a message when the person lacks the right. The state is
    the service's to check, against the same transition tables, with its own message."""
    if not may(user, action, obj):
        raise DomainError(str(REFUSALS.get(action, _("You cannot do this."))))


# --- Querysets ------------------------------------------------------------------------------


def meetings(user, right: Right = Right.VIEW):
    """Meetings of the students on which this person holds `right`."""
    return Meeting.objects.filter(standing_of(user).filter_for(right, prefix="student__"))


def _held_by(user, meeting: Meeting | None, prefix: str):
    """A filter of rows by a right of `user` on their student: through `prefix` for every
    student's rows, or, given the meeting the rows hang on (read with its student), decided
    on that student without a join (Standing.filter_on)."""
    standing = standing_of(user)
    if meeting is None:
        return lambda right: standing.filter_for(right, prefix=prefix)
    return lambda right: standing.filter_on(right, meeting.student)


def _of(queryset, meeting: Meeting | None):
    return queryset if meeting is None else queryset.filter(meeting=meeting)


def requests(user, meeting: Meeting | None = None):
    """Requests this person may see: all of their students' for the school's staff and the
    approvers; a SECA their own, while they support the student. Given `meeting`, that
    meeting's only (the lists of a meeting read through meeting_for)."""
    return _of(AttendanceRequest.objects.filter(_requests_seen(user, meeting)), meeting)


def _requests_seen(user, meeting: Meeting | None = None) -> Q:
    held = _held_by(user, meeting, "meeting__student__")
    return (
        held(Right.VIEW_RECORDS) | held(Right.DECIDE) | (held(Right.SUPPORT) & Q(seca_id=user.pk))
    )


def decides(user) -> Q:
    """The filter of requests this person decides: of the students whose school they decide
    for (principal, designee)."""
    return standing_of(user).filter_for(Right.DECIDE, prefix="meeting__student__")


def decidable_requests(user):
    return AttendanceRequest.objects.filter(decides(user))


def feedback(user, meeting: Meeting | None = None):
    """SECA feedback this person may read: what was submitted, for the school's staff; a
    SECA's own, drafts included, while they support the student. Given `meeting`, that
    meeting's only."""
    held = _held_by(user, meeting, "meeting__student__")
    return _of(
        SecaFeedback.objects.filter(
            (held(Right.VIEW_RECORDS) & Q(submitted_at__isnull=False))
            | (held(Right.SUPPORT) & Q(seca=user))
        ),
        meeting,
    )


def request_outcomes(user):
    """Requests to attend as a parent may follow them (a wish about the SECA has an
    outcome): who asked and whether it was approved, of their own child's meetings. The
    pages show the SECA's name and the status only, never notes or reasons."""
    return AttendanceRequest.objects.filter(
        standing_of(user).filter_for(Right.GUARDIAN, prefix="meeting__student__")
    )


def wishes(user, meeting: Meeting | None = None):
    """Parents' wishes about the SECA: all of them for the school's staff and the approvers
    (contract: a reason to deny); a guardian sees their own. Given `meeting`, that
    meeting's only."""
    held = _held_by(user, meeting, "meeting__student__")
    return _of(
        ParentWish.objects.filter(
            held(Right.VIEW_RECORDS)
            | held(Right.DECIDE)
            | (held(Right.GUARDIAN) & Q(guardian__user=user))
        ),
        meeting,
    )


def plans(user, meeting: Meeting | None = None):
    """Plans this person may download: any version for the school's staff; once finalized,
    for everyone who sees the student (their guardians, their SECAs this year: 34 CFR
    300.322(f), 300.323(d)). Given `meeting`, that meeting's only."""
    return _of(Plan.objects.filter(_plans_downloadable(user, meeting)), meeting)


def _plans_downloadable(user, meeting: Meeting | None = None) -> Q:
    held = _held_by(user, meeting, "meeting__student__")
    return held(Right.VIEW_RECORDS) | (held(Right.VIEW) & Q(finalized_at__isnull=False))


def deliveries(user):
    """Copies of finalized plans sent to this person, of students they still see."""
    return PlanDelivery.objects.filter(_deliveries_to(user))


def _deliveries_to(user) -> Q:
    return standing_of(user).filter_for(Right.VIEW, prefix="plan__meeting__student__") & Q(
        recipient_id=user.pk, plan__finalized_at__isnull=False
    )


# --- Fetch and check ------------------------------------------------------------------------

# What every meeting page shows of a meeting's relations (the services re-read the meeting
# they change, locked). The notice names the case manager too (MEETING_NOTICE).
MEETING_SHOWN = ("student__school", "school")
MEETING_NOTICE = (*MEETING_SHOWN, "student__case_manager")


def _fetch(user, model, visible: Q, pk, action, related):
    return fetch_or_refuse(
        user,
        model,
        visible,
        pk,
        related=related,
        allowed=lambda found: may(user, action, found),
        action=f"{model._meta.model_name}.{action}",
        student_of=_student_of,
    )


def meeting_for(user, pk, action: Action = Action.VIEW, *, related=MEETING_SHOWN) -> Meeting:
    """The meeting, for someone who may take `action` on it (whatever its state), read
    with `related` (each join more cost PostgreSQL's planner and Django about 0.4 ms)."""
    visible = standing_of(user).filter_for(Right.VIEW, prefix="student__")
    return _fetch(user, Meeting, visible, pk, action, related)


def request_for(user, pk, action: Action = Action.VIEW) -> AttendanceRequest:
    related = ("meeting__student__school", "meeting__school", "seca", "decided_by", "covered_by")
    return _fetch(user, AttendanceRequest, _requests_seen(user), pk, action, related)


def plan_for(user, pk, action: Action = Action.DOWNLOAD) -> Plan:
    visible = (
        _plans_downloadable(user)
        if action == Action.DOWNLOAD
        else standing_of(user).filter_for(Right.VIEW, prefix="meeting__student__")
    )
    related = ("meeting__student__school", "meeting__school")
    return _fetch(user, Plan, visible, pk, action, related)


def delivery_for(user, pk) -> PlanDelivery:
    """A copy sent to this person, of a student they still see; anyone else's is a 404."""
    return fetch_or_refuse(
        user,
        PlanDelivery,
        _deliveries_to(user),
        pk,
        related=("plan__meeting__student__school", "plan__meeting__school"),
        allowed=lambda found: True,
        action="plandelivery.open",
        student_of=_student_of,
    )
