"""The parent's side: who may open a notice, the parent's answer to it, their wish about
the SECA attending, and the reads of the "my child's support team" page.

State changes follow meetings/services/attendance.py: atomic, the meeting row locked, the
rule checked with a DomainError naming the field, saved with update_fields, an audit event,
then notify() (email on commit)."""

import dataclasses
import datetime

from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from staff.access import standing_of
from staff.audit import audit_record
from staff.models import Assignment, Guardian, Student, User
from staff.services import DomainError

from .. import access
from ..access import Action
from ..models import Meeting, NoticeResponse, ParentWish, Plan
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


def _guardian_row_save(model, *, guardian: Guardian, meeting: Meeting, action: str, values):
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
        actor=guardian.user,
        action=action,
        obj=row,
        school=meeting.school,
        student=meeting.student,
        before=before,
        after=values,
    )
    return row, True


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
        values={"answer": answer, "note": note},
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
    _tell_the_team(meeting, "parent_wish", guardian=guardian.full_name, wish=wish, note=note)
    return parent_wish


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
    case manager comes with the student), upcoming meetings with this parent's answer, and
    finalized plans. Three queries however large the team or the history: the team, the
    meetings with the answers, the plans."""
    team = list(
        Assignment.objects.current()
        .filter(student=student)
        .select_related("staff")
        .order_by("kind", "staff__full_name", "pk")
    )
    answers = NoticeResponse.objects.filter(guardian__user=user)
    upcoming = list(
        Meeting.objects.upcoming(now)
        .filter(student=student)
        .select_related("school")
        .prefetch_related(Prefetch("responses", queryset=answers, to_attr="my_answers"))
    )
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
