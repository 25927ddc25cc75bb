"""The parent's side: who may open a notice, the parent's answer to it, their wish about
the SECA attending, and the reads of the "my child's support team" page.

State changes follow meetings/services/attendance.py: atomic, the meeting row locked, the
rule checked with a DomainError naming the field, saved with update_fields, an audit event,
then notify() (email on commit)."""

import dataclasses
import datetime

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from staff.access import Right, holders, standing_of
from staff.audit import audit_record
from staff.models import Assignment, Guardian, Student, User
from staff.services import DomainError

from .. import access
from ..access import Action
from ..models import AttendanceRequest, Meeting, NoticeResponse, ParentWish, Plan
from .attendance import meeting_lock
from .notifications import notify


def guardian_for(*, user: User, student_id: int) -> Guardian | None:
    """The user's guardian record for this student, or None (staff reading the notice).
    No query for someone who is not a guardian of the student."""
    if student_id not in standing_of(user).guardian_of:
        return None
    return Guardian.objects.filter(user=user, student_id=student_id).first()


# --- the parent's answer and wish -----------------------------------------------------------


def _check_answerable(*, guardian: Guardian, meeting: Meeting) -> None:
    if guardian.student_id != meeting.student_id or guardian.user is None:
        raise DomainError(_("Only a parent or guardian of this student can answer."))
    access.check(guardian.user, Action.ANSWER_NOTICE, meeting)
    if meeting.state == Meeting.State.CANCELLED:
        raise DomainError(_("This meeting was cancelled."))
    if meeting.state == Meeting.State.HELD or meeting.has_started:
        raise DomainError(_("The meeting has started: your answer can no longer be changed."))


def _tell_the_team(meeting: Meeting, event: str, **params) -> None:
    """Tell the student's case manager and whoever scheduled the meeting, each in their own
    language (notify builds each reader's letter in theirs, not the parent's)."""
    notify(
        {meeting.scheduled_by, meeting.student.case_manager} - {None},
        event,
        meeting=meeting,
        **params,
    )


def _guardian_row_save(
    model, *, guardian: Guardian, meeting: Meeting, action: str, values, actor: User | None = None
):
    """Create or change this guardian's one row for the meeting (an answer, a wish) and
    audit the change; (row, False) when nothing changed. The caller holds the meeting's
    lock, so two submissions of one guardian cannot both create a row."""
    row = model.objects.filter(meeting=meeting, guardian=guardian).first()
    before = {name: getattr(row, name) for name in values} if row else {}
    if before == values:
        return row, False
    if row is None:
        row = model.objects.create(meeting=meeting, guardian=guardian, **values)
    else:
        for name, value in values.items():
            setattr(row, name, value)
        row.save(update_fields=[*values, "updated_at"])
    audit_record(
        actor=actor or guardian.user,
        action=action,
        obj=row,
        school=meeting.school,
        student=meeting.student,
        before=_plain(before),
        after=_plain(values),
    )
    return row, True


def _plain(values: dict) -> dict:
    """The values as the audit trail stores them (JSON): a person by id, a day as text."""

    def plain(value):
        if isinstance(value, User):
            return value.pk
        if isinstance(value, datetime.date):
            return value.isoformat()
        return value

    return {name: plain(value) for name, value in values.items()}


@transaction.atomic
def notice_response_save(
    *, guardian: Guardian, meeting: Meeting, answer: str, note: str = ""
) -> NoticeResponse:
    """The guardian's answer to the notice: one per guardian per meeting, changeable until
    the meeting starts. Asking for another time needs a note saying when suits them
    (34 CFR 300.322(a)(2): a mutually agreed time)."""
    meeting = meeting_lock(meeting)
    _check_answerable(guardian=guardian, meeting=meeting)
    note = note.strip()
    if answer not in NoticeResponse.Answer.values:
        raise DomainError(_("Choose your answer."), field="answer")
    if answer == NoticeResponse.Answer.ANOTHER_TIME and not note:
        raise DomainError(_("Say which days and times would work for you."), field="note")
    response, changed = _guardian_row_save(
        NoticeResponse,
        guardian=guardian,
        meeting=meeting,
        action="notice.answered",
        # The parent's own answer replaces one staff recorded for them.
        values={
            "answer": answer,
            "note": note,
            "recorded_by": None,
            "method": "",
            "answered_on": None,
        },
    )
    if not changed:
        return response
    _tell_the_team(
        meeting, "parent_answered", guardian=guardian.full_name, answer=answer, note=note
    )
    return response


@transaction.atomic
def parent_wish_save(
    *, guardian: Guardian, meeting: Meeting, wish: str, note: str = ""
) -> ParentWish:
    """The parent asks that the SECA attend, or not attend (34 CFR 300.321(a)(6): at the
    parent's discretion; the contract lets the approver deny a SECA's request when the
    parent asked). Changeable until the meeting starts; the approvers' queue shows it."""
    meeting = meeting_lock(meeting)
    _check_answerable(guardian=guardian, meeting=meeting)
    if wish not in ParentWish.Wish.values:
        raise DomainError(_("Choose whether you ask the SECA to attend."), field="wish")
    note = note.strip()
    parent_wish, changed = _guardian_row_save(
        ParentWish,
        guardian=guardian,
        meeting=meeting,
        action="parent_wish.saved",
        values={"wish": wish, "note": note},
    )
    if not changed:
        return parent_wish
    params = {"guardian": guardian.full_name, "wish": wish, "note": note}
    _tell_the_team(meeting, "parent_wish", **params)
    # The wish reaches the approvers and the child's SECAs even before anyone asked to
    # attend (the SECA may then ask; the approvers weigh it when they decide).
    team = {meeting.scheduled_by_id, meeting.student.case_manager_id}
    approvers = list(
        User.objects.filter(holders(Right.DECIDE, meeting.student)).exclude(pk__in=team - {None})
    )
    notify(approvers, "parent_wish", meeting=meeting, audience="approver", **params)
    secas = User.objects.filter(holders(Right.SUPPORT, meeting.student)).exclude(
        pk__in=(team | {u.pk for u in approvers}) - {None}
    )
    notify(secas, "parent_wish", meeting=meeting, audience="seca", **params)
    return parent_wish


@transaction.atomic
def notice_response_record(
    *,
    actor: User,
    meeting: Meeting,
    guardian: Guardian,
    answer: str,
    method: str,
    answered_on: datetime.date,
    note: str = "",
) -> NoticeResponse:
    """A parent's answer given by phone, on paper or in person, recorded by the case
    manager: who recorded it, how and on what day it was given. It stands for the parent's
    own answer (one per guardian per meeting) until the parent answers themselves."""
    meeting = meeting_lock(meeting)
    access.check(actor, Action.RECORD_ANSWER, meeting)
    if not meeting.is_open:
        raise DomainError(_("The meeting has started: answers can no longer be recorded."))
    if guardian.student_id != meeting.student_id:
        raise DomainError(_("Choose a parent or guardian of this student."), field="guardian")
    if answer not in NoticeResponse.Answer.values:
        raise DomainError(_("Choose the parent's answer."), field="answer")
    if method not in NoticeResponse.Method.values:
        raise DomainError(_("Choose how the parent answered."), field="method")
    if answered_on > timezone.localdate(timezone.now(), meeting.school.tzinfo):
        raise DomainError(_("Record an answer once it was given."), field="answered_on")
    note = note.strip()
    if answer == NoticeResponse.Answer.ANOTHER_TIME and not note:
        raise DomainError(_("Say which days and times would work for the parent."), field="note")
    response, changed = _guardian_row_save(
        NoticeResponse,
        guardian=guardian,
        meeting=meeting,
        action="notice.answer_recorded",
        actor=actor,
        values={
            "answer": answer,
            "note": note,
            "recorded_by": actor,
            "method": method,
            "answered_on": answered_on,
        },
    )
    if changed:
        notify(
            {meeting.scheduled_by, meeting.student.case_manager} - {None, actor},
            "parent_answered",
            meeting=meeting,
            guardian=guardian.full_name,
            answer=answer,
            note=note,
        )
    return response


def outcome_requests(*, user: User, meeting_ids):
    """The SECAs' requests to attend these meetings as a parent may follow them (their name
    and the status: approved, denied, pending...), oldest first."""
    return (
        access.request_outcomes(user)
        .filter(meeting__in=meeting_ids)
        .exclude(status=AttendanceRequest.Status.CANCELLED)
        .select_related("seca")
        .order_by("created_at", "pk")
    )


def attach_outcomes(meetings, requests) -> None:
    """On each meeting, `seca_outcomes`: each SECA's latest of `requests` (outcome_requests
    of the meetings); none when no one asked."""
    by_meeting: dict[int, dict[int, object]] = {}
    for req in requests:
        by_meeting.setdefault(req.meeting_id, {})[req.seca_id] = req
    for meeting in meetings:
        meeting.seca_outcomes = list(by_meeting.get(meeting.pk, {}).values())


def request_outcomes(*, user: User, meetings) -> None:
    """`seca_outcomes` on each meeting (attach_outcomes). One query for all the meetings."""
    attach_outcomes(meetings, outcome_requests(user=user, meeting_ids=[m.pk for m in meetings]))


def notice_reads(*, user: User, meeting: Meeting) -> dict:
    """What the notice page shows a guardian of their own, for `read_together` with the
    notice's lists: their guardian record, their answer and their wish (one each at most:
    constraints), and the SECAs' requests whose outcome they follow. Nothing for anyone
    else (staff reading the notice)."""
    if meeting.student_id not in standing_of(user).guardian_of:
        return {}
    theirs = {"guardian__user": user, "guardian__student_id": meeting.student_id}
    return {
        "guardian": Guardian.objects.filter(user=user, student_id=meeting.student_id),
        "answer": NoticeResponse.objects.filter(meeting=meeting, **theirs),
        "wish": ParentWish.objects.filter(meeting=meeting, **theirs),
        "outcomes": outcome_requests(user=user, meeting_ids=[meeting.pk]),
    }


# --- reads: the support team page -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SupportTeam:
    student: Student
    team: list[Assignment]
    upcoming_meetings: list[Meeting]
    plans: list[Plan]


def child_support_team(*, user: User, student: Student, now: datetime.datetime) -> SupportTeam:
    """One of the parent's children (fetched through the access layer, with school and
    case manager) with this year's team (SECAs, teachers, related-service providers; the
    case manager comes with the student), upcoming meetings with this parent's answer, their
    wish about the SECA and what came of the SECAs' requests, and finalized plans. Six
    queries however large the team or the history: the team, the meetings, the answers,
    the wishes, the requests, the plans."""
    team = list(
        Assignment.objects.current()
        .filter(student=student)
        .select_related("staff")
        .order_by("kind", "staff__full_name", "pk")
    )
    answers = NoticeResponse.objects.filter(guardian__user=user)
    wishes = ParentWish.objects.filter(guardian__user=user)
    upcoming = list(
        Meeting.objects.upcoming(now)
        .filter(student=student)
        .select_related("school")
        .prefetch_related(
            Prefetch("responses", queryset=answers, to_attr="my_answers"),
            Prefetch("parent_wishes", queryset=wishes, to_attr="my_wishes"),
        )
    )
    request_outcomes(user=user, meetings=upcoming)
    plans = list(
        Plan.objects.filter(meeting__student=student, finalized_at__isnull=False)
        .select_related("meeting")
        .order_by("-finalized_at", "-pk")
    )
    return SupportTeam(student=student, team=team, upcoming_meetings=upcoming, plans=plans)


def children_list(*, user: User, now: datetime.datetime) -> list[Student]:
    """The parent's children, each with `next_meetings` (the next scheduled one, at most
    one). Two queries."""
    return list(
        Student.objects.filter(pk__in=sorted(standing_of(user).guardian_of))
        .select_related("school")
        .prefetch_related(
            Prefetch(
                "meetings",
                queryset=Meeting.objects.upcoming(now).select_related("school")[:1],
                to_attr="next_meetings",
            )
        )
        .order_by("first_name", "last_name")
    )
