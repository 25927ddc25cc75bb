"""Read-side queries for the home page: each role's own work, in a fixed number of queries.

Every function here costs the same number of queries however many students, meetings or
requests there are (pinned in tests/test_home.py): rows come with `select_related`,
related lists with `Prefetch(..., to_attr=...)`, counts are computed by the database.
Each returns lists, not lazy querysets, so the queries run here and not in a template.
"""

import dataclasses
import datetime

from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    Window,
)
from django.utils import timezone

from iepcoord.db import compiled, first_row, prepared, row_instance
from iepcoord.figures import figures
from staff import access
from staff.access import Right
from staff.models import Assignment, Role, School, Student, User

from . import access as meeting_access
from .models import AttendanceRequest, Invitation, Meeting

# The home page looks this far ahead for meetings (the SECA's "next 90 days").
UPCOMING_HORIZON = datetime.timedelta(days=90)
# Case managers see a due date flagged this many days before it passes.
DUE_SOON = datetime.timedelta(days=30)
# The case manager's home lists this many students, soonest review first; the caseload
# page has them all.
HOME_CASELOAD = 10
# The approver's home lists this many pending requests; the queue has them all.
APPROVER_PREVIEW = 5
# What a caseload row shows of the student's next meeting (besides its id).
NEXT_MEETING = ("starts_at", "kind")

INVITEE_ROLE_KINDS = (
    Role.Kind.TEACHER,
    Role.Kind.RELATED_SERVICE,
    Role.Kind.ASSISTANT_PRINCIPAL,
)


@dataclasses.dataclass(frozen=True)
class HomeSections:
    """Which sections of the home page a person sees: one per role they hold."""

    seca: bool = False
    approver: bool = False
    case_manager: bool = False
    invitee: bool = False
    parent: bool = False
    district_admin: bool = False
    union: bool = False

    @property
    def any(self) -> bool:
        return any(dataclasses.astuple(self))


@dataclasses.dataclass(frozen=True)
class SchoolCounts:
    pk: int
    name: str
    students_with_ieps: int
    upcoming_meetings: int
    pending_requests: int


@dataclasses.dataclass(frozen=True)
class DistrictCounts:
    schools: list[SchoolCounts]
    students_with_ieps: int
    upcoming_meetings: int
    pending_requests: int
    counted_at: datetime.datetime


@dataclasses.dataclass(frozen=True)
class ApproverSummary:
    pending_count: int
    next_pending: list[AttendanceRequest]


def _upcoming_meetings(*, now: datetime.datetime, until: datetime.datetime | None = None):
    """Scheduled meetings from now to the horizon (`until`, by default UPCOMING_HORIZON
    ahead), soonest first."""
    return Meeting.objects.upcoming(now).filter(starts_at__lt=until or now + UPCOMING_HORIZON)


def home_sections_for_user(*, user: User) -> HomeSections:
    """The roles a person holds, anywhere in the district: read from their standing (the
    access layer's one query, which the rest of the page reuses)."""
    standing = access.standing_of(user)
    return HomeSections(
        seca=standing.is_seca,
        approver=bool(standing.approver_at),
        case_manager=bool(standing.case_manager_at),
        invitee=bool(standing.schools_with(*INVITEE_ROLE_KINDS)),
        parent=bool(standing.guardian_of),
        district_admin=standing.district_admin,
        union=standing.union_rep,
    )


@prepared()
def students_for_seca(*, seca: User, now: datetime.datetime) -> list[Student]:
    """The students this SECA supports this school year, each with `upcoming_meetings`
    (next 90 days), and on each meeting `my_request` (the SECA's latest attendance request,
    or None) and `actions` (access.allowed_actions). Three queries: students, meetings,
    requests."""
    my_requests = AttendanceRequest.objects.filter(seca=seca).order_by("-created_at", "-pk")
    meetings = _upcoming_meetings(now=now).select_related("school")
    students = list(
        Student.objects.filter(pk__in=sorted(access.standing_of(seca).seca_of))
        .select_related("school")
        .prefetch_related(
            Prefetch(
                "meetings",
                queryset=meetings.prefetch_related(
                    Prefetch("requests", queryset=my_requests, to_attr="my_requests")
                ),
                to_attr="upcoming_meetings",
            )
        )
    )
    for student in students:
        for meeting in student.upcoming_meetings:
            meeting.student = student
            meeting.my_request = meeting.my_requests[0] if meeting.my_requests else None
            if meeting.my_request:
                meeting.my_request.meeting = meeting
                meeting.my_request.actions = meeting_access.allowed_actions(
                    meeting.my_request, seca
                )
            meeting.actions = meeting_access.allowed_actions(
                meeting, seca, own_request=meeting.my_request
            )
    return students


@prepared()
def pending_requests_for_approver(
    *, approver: User, now: datetime.datetime, limit: int = APPROVER_PREVIEW
) -> ApproverSummary:
    """Pending requests for meetings still to come at the schools this person decides
    for: how many, and the soonest few. One query: the count is a window over them all."""
    preview = _pending_preview(decide=meeting_access.decides(approver), now=now, limit=limit)
    return ApproverSummary(
        pending_count=preview[0].pending_count if preview else 0,
        next_pending=preview,
    )


@compiled
def _pending_preview(*, decide, now):
    return (
        AttendanceRequest.objects.filter(
            decide,
            status=AttendanceRequest.Status.PENDING,
            meeting__state=Meeting.State.SCHEDULED,
            meeting__starts_at__gt=now,
        )
        .select_related("meeting__student", "meeting__school", "seca")
        .annotate(pending_count=Window(Count("pk")))
        .order_by("meeting__starts_at", "pk")
    )


def my_schools(*, user: User) -> list[School]:
    """The schools whose pages this person's home links to: those they lead (principal,
    assistant principal), decide requests for (a designee) or manage a caseload at, each
    with `is_principal` (they name designees), `is_leader` (they read its access list),
    `reports` (they read its report) and `invites` (they follow its families' invitations).
    One query, none for anyone else."""
    standing = access.standing_of(user)
    inviting = standing.principal_of | standing.case_manager_at
    ids = standing.leader_of | standing.approver_at | inviting
    if not ids:
        return []
    schools = list(School.objects.filter(pk__in=sorted(ids)).order_by("name"))
    for school in schools:
        school.is_principal = school.pk in standing.principal_of
        school.is_leader = school.pk in standing.leader_of
        school.reports = school.pk in standing.approver_at
        school.unstaffed = school.pk in standing.approver_at
        school.invites = school.pk in inviting
    return schools


CASELOAD_ORDER = {
    "name": ["last_name", "first_name", "pk"],
    "annual": [F("annual_review_due").asc(nulls_last=True), "last_name", "first_name", "pk"],
    "reeval": [F("reevaluation_due").asc(nulls_last=True), "last_name", "first_name", "pk"],
}


def caseload(*, case_manager: User, now: datetime.datetime, sort="annual", show="all"):
    """The students this case manager manages at the schools where they hold the role,
    each with its next scheduled meeting as one JSON row (`next_meeting_row`, read back by
    `caseload_rows`). A queryset: the caseload page takes one page of it, the home page
    its first rows."""
    mine = access.standing_of(case_manager).caseload_filter()
    return _caseload(mine, now=now, sort=sort, show=show)


def _caseload(mine: Q, *, now: datetime.datetime, sort: str, show: str):
    today = timezone.localdate(now)
    soon = today + DUE_SOON
    next_meeting = Meeting.objects.filter(
        student=OuterRef("pk"), state=Meeting.State.SCHEDULED, starts_at__gte=now
    ).order_by("starts_at", "pk")
    students = (
        Student.objects.filter(mine)
        .select_related("school")
        .annotate(next_meeting_row=first_row(next_meeting, *NEXT_MEETING))
    )
    if show == "overdue":
        students = students.filter(Q(annual_review_due__lt=today) | Q(reevaluation_due__lt=today))
    elif show == "due_soon":
        students = students.filter(
            Q(annual_review_due__range=(today, soon)) | Q(reevaluation_due__range=(today, soon))
        )
    return students.order_by(*CASELOAD_ORDER[sort])


def caseload_rows(students: list[Student], *, now: datetime.datetime) -> list[Student]:
    """The caseload's rows as its tables show them: each with its due-date flags (34 CFR
    300.324(b) yearly review, 300.303 re-evaluation every three years) as the `show`
    filters of `caseload` read them, and `next_meeting` (its `starts_at` and `kind`, or
    None). Computed from the row here: as annotations, the flags and three subqueries for
    the next meeting cost more to compile than the query took to run."""
    today = timezone.localdate(now)
    soon = today + DUE_SOON

    def flags(due):
        return due is not None and due < today, due is not None and today <= due <= soon

    for student in students:
        student.annual_review_overdue, student.annual_review_due_soon = flags(
            student.annual_review_due
        )
        student.reevaluation_overdue, student.reevaluation_due_soon = flags(
            student.reevaluation_due
        )
        student.next_meeting = row_instance(Meeting, student.next_meeting_row, NEXT_MEETING)
    return students


@prepared()
def caseload_for_home(*, case_manager: User, now: datetime.datetime) -> list[Student]:
    """The first HOME_CASELOAD students of the caseload, soonest annual review first, each
    with `caseload_size` (the whole caseload, counted in the same query). One query."""
    mine = access.standing_of(case_manager).caseload_filter()
    return caseload_rows(_home_caseload(mine=mine, now=now, limit=HOME_CASELOAD), now=now)


@compiled
def _home_caseload(*, mine, now):
    return _caseload(mine, now=now, sort="annual", show="all").annotate(
        caseload_size=Window(Count("pk"))
    )


def meetings_for_case_manager(*, case_manager: User, now: datetime.datetime) -> list[Meeting]:
    """The case manager's upcoming meetings: of their caseload, scheduled by them, or
    to which they are invited, of students they may see. One query.

    The three ways a meeting is theirs are a UNION of ids, each read through its own index:
    as an OR, PostgreSQL read every upcoming meeting of the district (13,500) to keep 29."""
    standing = access.standing_of(case_manager)
    return _case_manager_meetings(
        caseload=standing.caseload_filter(prefix="student__"),
        view=standing.filter_for(Right.VIEW, prefix="student__"),
        user_id=case_manager.pk,
        now=now,
        until=now + UPCOMING_HORIZON,
    )


@compiled
def _case_manager_meetings(*, caseload, view, user_id, now, until):
    theirs = (
        Meeting.objects.filter(caseload)
        .order_by()
        .values("pk")
        .union(
            Meeting.objects.filter(scheduled_by_id=user_id).order_by().values("pk"),
            Invitation.objects.filter(user_id=user_id).order_by().values("meeting_id"),
            all=True,
        )
    )
    return (
        _upcoming_meetings(now=now, until=until)
        .filter(view, pk__in=theirs)
        .select_related("student", "school")
        .order_by("starts_at", "pk")
    )


def meetings_for_invitee(*, user: User, now: datetime.datetime) -> list[Meeting]:
    """Upcoming meetings this person is invited to, of students they may see. One query."""
    return _invited_meetings(
        view=access.standing_of(user).filter_for(Right.VIEW, prefix="student__"),
        user_id=user.pk,
        now=now,
        until=now + UPCOMING_HORIZON,
    )


@compiled
def _invited_meetings(*, view, user_id, now, until):
    invited = Invitation.objects.filter(meeting=OuterRef("pk"), user_id=user_id)
    return (
        _upcoming_meetings(now=now, until=until)
        .filter(view)
        .filter(Exists(invited))
        .select_related("student", "school")
    )


def children_for_parent(*, parent: User, now: datetime.datetime) -> list[Student]:
    """The parent's own children, each with `team` (this year's SECAs, teachers and
    related-service providers; the case manager comes with the student) and
    `upcoming_meetings`. Three queries: children, team, meetings."""
    team = (
        Assignment.objects.current()
        .select_related("staff")
        .order_by("kind", "staff__full_name", "pk")
    )
    return list(
        Student.objects.filter(pk__in=sorted(access.standing_of(parent).guardian_of))
        .select_related("school", "case_manager")
        .prefetch_related(
            Prefetch("assignments", queryset=team, to_attr="team"),
            Prefetch(
                "meetings",
                queryset=_upcoming_meetings(now=now).select_related("school"),
                to_attr="upcoming_meetings",
            ),
        )
    )


def school_counts_for_district_admin(*, now: datetime.datetime) -> DistrictCounts:
    """Every school with its students with IEPs, upcoming meetings and pending requests,
    and the district totals, counted at most once every FIGURES_CACHE_SECONDS: counting
    reads the whole district (about 16 ms in PostgreSQL at 650 schools) and the page says
    when. Each count is one grouped pass over its table, not a subquery per school. Four
    queries when counted, none otherwise."""

    def per_school(queryset, school="school_id") -> dict[int, int]:
        rows = queryset.order_by().values(school).annotate(n=Count("pk"))
        return {row[school]: row["n"] for row in rows}

    def count() -> DistrictCounts:
        students = per_school(Student.objects.with_ieps())
        upcoming = per_school(Meeting.objects.upcoming(now))
        pending = per_school(
            AttendanceRequest.objects.filter(
                status=AttendanceRequest.Status.PENDING,
                meeting__state=Meeting.State.SCHEDULED,
                meeting__starts_at__gt=now,
            ),
            school="meeting__school",
        )
        schools = [
            SchoolCounts(
                pk,
                name,
                students.get(pk, 0),
                upcoming.get(pk, 0),
                pending.get(pk, 0),
            )
            for pk, name in School.objects.order_by("name").values_list("pk", "name")
        ]
        return DistrictCounts(
            schools=schools,
            students_with_ieps=sum(students.values()),
            upcoming_meetings=sum(upcoming.values()),
            pending_requests=sum(pending.values()),
            counted_at=timezone.now(),
        )

    return figures("home:district", count)
