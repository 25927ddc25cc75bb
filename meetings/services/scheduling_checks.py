"""What the case manager sees before a meeting is saved: the student's team to choose
from, conflicts of the invited staff (another meeting, a SECA's schedule block), whether
the notice period is met, and whether transition planning applies. Reads only."""

import dataclasses
import datetime

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from iepcoord.dates import formatted
from staff.models import (
    SCHOOL_STAFF_KINDS,
    Assignment,
    Role,
    ScheduleBlock,
    Student,
    User,
    current_school_year,
)

from ..models import TEAM_ROLE_SEPARATOR, Invitation, Meeting
from ..queue import block_overlaps, covering_then

State = Meeting.State

# 34 CFR 300.322(b)(2): from age 16 the notice names transition planning, and the
# student is invited.
TRANSITION_AGE = 16


@dataclasses.dataclass(frozen=True)
class TeamMember:
    """Someone who may be invited, with the role the invitation names."""

    user: User
    role: str
    is_seca: bool = False


@dataclasses.dataclass(frozen=True)
class Guest:
    """Someone invited by name and role, without an account (34 CFR 300.321(a)(6))."""

    name: str
    role: str
    email: str = ""


@dataclasses.dataclass(frozen=True)
class Conflict:
    person: str
    detail: str


def team_candidates(*, student: Student, actor: User | None = None) -> list[TeamMember]:
    """Whom the case manager chooses the invited team from (34 CFR 300.321(a)): the
    student's case manager (and the one scheduling), the principal as the person who
    represents the district, and this year's teachers, related-service providers and
    SECAs. One person appears once, with all their roles. Three queries."""
    members: dict[int, list] = {}

    def add(user: User, role: str, is_seca: bool = False) -> None:
        if not user.is_active:
            return
        entry = members.setdefault(user.pk, [user, [], False])
        if role not in entry[1]:
            entry[1].append(role)
        entry[2] = entry[2] or is_seca

    # Roles are stored in English and said in each reader's language when shown
    # (meetings_extras.team_role): a notice in Spanish names them in Spanish.
    if student.case_manager_id:
        add(student.case_manager, "Case manager")
    if actor is not None and actor.pk != student.case_manager_id:
        add(actor, "Case manager")
    for principal in User.objects.filter(
        roles__school_id=student.school_id, roles__kind=Role.Kind.PRINCIPAL
    ).order_by("full_name"):
        add(principal, "Principal, representing the district")
    order = {
        Assignment.Kind.TEACHER: 0,
        Assignment.Kind.RELATED_SERVICE: 1,
        Assignment.Kind.SECA: 2,
    }
    assignments = sorted(
        Assignment.objects.current().filter(student=student).select_related("staff"),
        key=lambda a: (order[a.kind], a.staff.full_name),
    )
    for assignment in assignments:
        with translation.override("en"):
            role = str(assignment.get_kind_display())
        if assignment.detail:
            role = f"{role}: {assignment.detail}"
        add(assignment.staff, str(role), is_seca=assignment.kind == Assignment.Kind.SECA)
    return [
        TeamMember(user=user, role=TEAM_ROLE_SEPARATOR.join(roles), is_seca=is_seca)
        for user, roles, is_seca in members.values()
    ]


def is_short_notice(starts_at: datetime.datetime, now: datetime.datetime | None = None) -> bool:
    """34 CFR 300.322(a)(1): notice early enough for the parents to attend; Illinois
    gives NOTICE_PERIOD_DAYS (10) days. Exactly that many days ahead is enough."""
    now = now or timezone.now()
    return starts_at - now < datetime.timedelta(days=settings.NOTICE_PERIOD_DAYS)


def transition_planning_applies(*, student: Student, kind: str, starts_at) -> bool:
    """34 CFR 300.322(b)(2): a transition meeting, or a student 16 or older on the day of
    the meeting: the notice names transition planning and the student is invited."""
    if kind == Meeting.Kind.TRANSITION:
        return True
    born = student.date_of_birth
    if born is None:
        return False
    on = timezone.localtime(starts_at, student.school.tzinfo).date()
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return age >= TRANSITION_AGE


def meeting_conflicts(
    *,
    school,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    users,
    exclude_meeting: Meeting | None = None,
) -> list[Conflict]:
    """What the invited people are doing then: another scheduled meeting they are invited
    to, or (for SECAs) a block of their weekly schedule, read in the school's time zone.
    Two queries. Another meeting is shown by its times only: it may be of a student the
    case manager may not see (FERPA)."""
    user_ids = [u.pk for u in users]
    if not user_ids:
        return []
    tz = school.tzinfo
    start, end = timezone.localtime(starts_at, tz), timezone.localtime(ends_at, tz)
    conflicts = []
    busy = (
        Invitation.objects.filter(
            user_id__in=user_ids,
            meeting__state=State.SCHEDULED,
            meeting__starts_at__lt=ends_at,
            meeting__ends_at__gt=starts_at,
        )
        .select_related("user", "meeting__school")
        .order_by("user__full_name", "meeting__starts_at")
    )
    if exclude_meeting is not None:
        busy = busy.exclude(meeting=exclude_meeting)
    for invitation in busy:
        other = invitation.meeting
        conflicts.append(
            Conflict(
                person=invitation.user.full_name,
                detail=_("invited to another meeting, %(start)s–%(end)s")
                % {
                    "start": formatted(timezone.localtime(other.starts_at, tz), "time"),
                    "end": formatted(timezone.localtime(other.ends_at, tz), "time"),
                },
            )
        )
    blocks = ScheduleBlock.objects.filter(
        seca_id__in=user_ids,
        weekday=start.weekday(),
        school_year=current_school_year(start.date()),
    ).select_related("seca", "student")
    for block in sorted(blocks, key=lambda b: (b.seca.full_name, b.starts)):
        if not block_overlaps(block, start, end):
            continue
        # A block at another school may name a student this case manager may not see.
        supports = block.supports if block.school_id == school.pk else _("at another school")
        conflicts.append(
            Conflict(
                person=block.seca.full_name,
                detail=_("scheduled %(start)s–%(end)s, %(supports)s")
                % {
                    "start": formatted(block.starts, "time"),
                    "end": formatted(block.ends, "time"),
                    "supports": supports,
                },
            )
        )
    return conflicts


# --- Checks shared by schedule and reschedule --------------------------------------------


# --- Coverage while an approved SECA attends ------------------------------------------------


def coverage_staff(school):
    """Who may cover an approved SECA's duties: any active staff member of the school who
    sees its students (teachers, case managers, related-service providers, leaders), but
    not its SECAs: the contract limits using SECAs to cover for other staff."""
    roles = Role.objects.filter(user=OuterRef("pk"), school=school)
    return (
        User.objects.filter(is_active=True)
        .filter(Exists(roles.filter(kind__in=SCHOOL_STAFF_KINDS)))
        .exclude(Exists(roles.filter(kind=Role.Kind.SECA)))
    )


def coverage_conflicts(*, meeting: Meeting, user: User, request=None) -> list[Conflict]:
    """Why this person is not free to cover during the meeting: invited to a meeting then
    (this one included: they are at it), a SECA schedule block, or already covering for
    another SECA. Three queries."""
    conflicts = meeting_conflicts(
        school=meeting.school, starts_at=meeting.starts_at, ends_at=meeting.ends_at, users=[user]
    )
    if (
        covering_then(starts_at=meeting.starts_at, ends_at=meeting.ends_at, exclude_request=request)
        .filter(covered_by=user)
        .exists()
    ):
        conflicts.append(Conflict(person=user.full_name, detail=_("covering for another SECA")))
    return conflicts
