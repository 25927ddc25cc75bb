"""The approvers' queue: pending requests with everything needed to decide, read with a
fixed number of queries however many requests are waiting."""

import datetime
import functools
import operator
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Prefetch, Q
from django.utils import timezone

from iepcoord.db import compiled, prepared
from staff.access import standing_of, stays_decided, stays_decider
from staff.models import (
    SCHOOL_STAFF_KINDS,
    Role,
    ScheduleBlock,
    School,
    StayRequest,
    User,
    current_school_year,
)

from . import access
from .models import AttendanceRequest, Invitation, Meeting, ParentWish


@dataclass
class QueueItem:
    request: AttendanceRequest
    overlapping_blocks: list = field(default_factory=list)
    free_staff: list = field(default_factory=list)
    requests_that_week: int = 0

    @property
    def meeting(self):
        return self.request.meeting


def coverage_staff_of(school_ids):
    """The people who may cover at these schools, as a filter of users: active, and not a
    SECA there (scheduling_checks.coverage_staff, for several schools at once)."""
    secas = Role.objects.filter(user=OuterRef("pk"), school_id__in=school_ids, kind=Role.Kind.SECA)
    return User.objects.filter(is_active=True).exclude(Exists(secas))


def covering_then(*, starts_at, ends_at, exclude_request=None):
    """Approved requests of scheduled meetings crossing this time, and who covers them: a
    person already covering cannot cover a second SECA at once."""
    covering = AttendanceRequest.objects.filter(
        status=AttendanceRequest.Status.APPROVED,
        covered_by__isnull=False,
        meeting__state=Meeting.State.SCHEDULED,
        meeting__starts_at__lt=ends_at,
        meeting__ends_at__gt=starts_at,
    )
    if exclude_request is not None:
        covering = covering.exclude(pk=exclude_request.pk)
    return covering


def _local_span(meeting: Meeting):
    tz = meeting.school.tzinfo
    return timezone.localtime(meeting.starts_at, tz), timezone.localtime(meeting.ends_at, tz)


def block_overlaps(block: ScheduleBlock, start: datetime.datetime, end: datetime.datetime) -> bool:
    # A weekly block overlaps a meeting on the same weekday whose times cross it.
    return (
        block.weekday == start.weekday()
        and block.school_year == current_school_year(start.date())
        and block.starts < end.time()
        and block.ends > start.time()
    )


def _week_of(moment: datetime.datetime) -> datetime.date:
    return moment.date() - datetime.timedelta(days=moment.weekday())


# The parents' wishes a decision shows, each with its parent's name.
WISHES = Prefetch("meeting__parent_wishes", queryset=ParentWish.objects.select_related("guardian"))


def _shown(requests):
    # What the decision shows (no more: each join costs PostgreSQL's planner about a
    # millisecond).
    return requests.select_related(
        "meeting__student", "meeting__school", "seca", "decided_by", "covered_by"
    ).prefetch_related(WISHES)


def requests_decidable_by(approver: User):
    """Requests this person decides (meetings/access.py), with what the decision shows."""
    return _shown(access.decidable_requests(approver))


@compiled
def _pending_decidable(*, decide, now):
    return (
        _shown(AttendanceRequest.objects.filter(decide))
        .filter(
            status=AttendanceRequest.Status.PENDING,
            meeting__state=Meeting.State.SCHEDULED,
            meeting__starts_at__gt=now,
        )
        .order_by("meeting__starts_at", "id")
    )


@prepared()
def approval_queue(*, approver: User) -> list[QueueItem]:
    """Pending requests of upcoming meetings, soonest meeting first."""
    return decision_context(_pending_decidable(decide=access.decides(approver), now=timezone.now()))


@compiled
def _coverage_roles(*, school_ids):
    return (
        Role.objects.filter(
            school_id__in=school_ids,
            user__in=coverage_staff_of(school_ids),
            kind__in=SCHOOL_STAFF_KINDS,
        )
        .select_related("user")
        .order_by("user__full_name", "user_id")
    )


@compiled
def _blocks(*, seca_ids, overlapping):
    return ScheduleBlock.objects.filter(overlapping, seca_id__in=seca_ids).select_related("student")


@compiled
def _invited_then(*, user_ids, starts_at, ends_at):
    return Invitation.objects.filter(
        user_id__in=user_ids,
        meeting__state=Meeting.State.SCHEDULED,
        meeting__starts_at__lt=ends_at,
        meeting__ends_at__gt=starts_at,
    ).values("user_id", "meeting_id", "meeting__starts_at", "meeting__ends_at")


@compiled
def _covering(*, user_ids, starts_at, ends_at):
    return (
        covering_then(starts_at=starts_at, ends_at=ends_at)
        .filter(covered_by__in=user_ids)
        .values("pk", "covered_by_id", "meeting__starts_at", "meeting__ends_at")
    )


@compiled
def _secas_requests(*, seca_ids, starts_at, ends_at):
    return (
        AttendanceRequest.objects.filter(
            seca_id__in=seca_ids, meeting__starts_at__gte=starts_at, meeting__starts_at__lt=ends_at
        )
        .exclude(
            status__in=[AttendanceRequest.Status.WITHDRAWN, AttendanceRequest.Status.CANCELLED]
        )
        .values("seca_id", "meeting__starts_at", "meeting__school__timezone")
    )


@prepared()
def decision_context(requests) -> list[QueueItem]:
    """For each request: the SECA's overlapping blocks, staff free to cover, and the SECA's
    requests that week. 2 queries for the requests and wishes, then 4 for the rest."""
    requests = list(requests)
    if not requests:
        return []
    # Staff free to cover come from the school that governs the student now.
    school_ids = {r.meeting.student.school_id for r in requests}
    seca_ids = {r.seca_id for r in requests}
    spans = {r.pk: _local_span(r.meeting) for r in requests}
    window_start = min(r.meeting.starts_at for r in requests)
    window_end = max(r.meeting.ends_at for r in requests)

    # Any staff member of the school may cover, not its SECAs (contract: SECAs are not used
    # to cover for other staff); free means not at a meeting, not on a SECA block, and not
    # already covering for another SECA then (scheduling_checks.coverage_staff).
    school_staff = defaultdict(list)
    for school_id in sorted(school_ids):
        school_staff[school_id] = []
    for role in _coverage_roles(school_ids=school_ids):
        people = school_staff[role.school_id]
        if not people or people[-1].pk != role.user_id:
            people.append(role.user)
    all_seca_ids = seca_ids | {u.pk for users in school_staff.values() for u in users}

    # Only the blocks that overlap a meeting (block_overlaps, in SQL).
    blocks_by_seca = defaultdict(list)
    overlapping = functools.reduce(
        operator.or_,
        (
            Q(
                weekday=start.weekday(),
                school_year=current_school_year(start.date()),
                starts__lt=end.time(),
                ends__gt=start.time(),
            )
            for start, end in spans.values()
        ),
    )
    for block in _blocks(seca_ids=all_seca_ids, overlapping=overlapping):
        blocks_by_seca[block.seca_id].append(block)

    busy = defaultdict(list)
    for inv in _invited_then(user_ids=all_seca_ids, starts_at=window_start, ends_at=window_end):
        busy[inv["user_id"]].append(inv)
    covering = defaultdict(list)
    for row in _covering(user_ids=all_seca_ids, starts_at=window_start, ends_at=window_end):
        covering[row["covered_by_id"]].append(row)

    weeks = defaultdict(int)
    first_week = _week_of(timezone.localtime(window_start)) - datetime.timedelta(days=1)
    for row in _secas_requests(
        seca_ids=seca_ids,
        starts_at=datetime.datetime.combine(first_week, datetime.time(), tzinfo=datetime.UTC),
        ends_at=window_end + datetime.timedelta(days=8),
    ):
        local = timezone.localtime(
            row["meeting__starts_at"], School(timezone=row["meeting__school__timezone"]).tzinfo
        )
        weeks[(row["seca_id"], _week_of(local))] += 1

    items = []
    for req in requests:
        start, end = spans[req.pk]
        meeting = req.meeting

        def is_busy(user_id, meeting=meeting, req=req):
            # Invited to this meeting too: they are at it.
            return any(
                b["meeting__starts_at"] < meeting.ends_at
                and b["meeting__ends_at"] > meeting.starts_at
                for b in busy[user_id]
            ) or any(
                c["pk"] != req.pk
                and c["meeting__starts_at"] < meeting.ends_at
                and c["meeting__ends_at"] > meeting.starts_at
                for c in covering[user_id]
            )

        items.append(
            QueueItem(
                request=req,
                overlapping_blocks=[
                    b for b in blocks_by_seca[req.seca_id] if block_overlaps(b, start, end)
                ],
                free_staff=[
                    u
                    for u in school_staff[meeting.student.school_id]
                    if u.pk != req.seca_id
                    and not any(block_overlaps(b, start, end) for b in blocks_by_seca[u.pk])
                    and not is_busy(u.pk)
                ],
                requests_that_week=weeks[(req.seca_id, _week_of(start))],
            )
        )
    return items


@compiled
def _stays(*, decide, schools, statuses, school_year):
    stays = (
        StayRequest.objects.filter(stays_decided(decide, schools))
        .filter(status__in=statuses, school_year__gte=school_year)
        .select_related("student", "school", "seca")
        .order_by("created_at", "pk")
    )
    # A pending request has no decider: joining one anyway made PostgreSQL plan a sixth
    # table, 1.4 ms to plan the approver's home's list instead of 0.7.
    if set(statuses) != {StayRequest.Status.PENDING}:
        stays = stays.select_related("decided_by")
    return stays


@prepared()
def stay_requests_to_decide(
    *, approver: User, statuses=(StayRequest.Status.PENDING,), limit=None
) -> dict[str, list[StayRequest]]:
    """Requests to stay with a student or a classroom of the schools this person decides
    for, for this school year or a later one, by status: pending ones oldest first, decided
    ones (approved: to honor when making assignments) by year and student. One query."""
    standing = standing_of(approver)
    stays = (
        _stays(
            **stays_decider(standing),
            statuses=[str(status) for status in statuses],
            school_year=current_school_year(),
            limit=limit,
        )
        if standing.user_id is not None
        else []
    )
    by_status = {status: [] for status in statuses}
    for stay in stays:
        by_status[stay.status].append(stay)
    for status, listed in by_status.items():
        if status != StayRequest.Status.PENDING:
            listed.sort(
                key=lambda s: (
                    s.school_year,
                    (s.student.last_name, s.student.first_name) if s.student else ("", s.classroom),
                    s.pk,
                )
            )
    return by_status
