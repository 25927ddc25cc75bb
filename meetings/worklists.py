"""The worklists on the home pages, so nothing is forgotten: what each person still has to
do, or should know, from their own work. Each list is one query (pinned in
tests/test_worklists.py); the rows come from the access layer, so a list never names a
student its reader may not see."""

import dataclasses
import datetime

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from iepcoord.db import compiled, prepared
from staff import access
from staff.access import Right
from staff.models import ScheduleBlock, Student, User, current_school_year

from . import access as meeting_access
from .models import (
    AttendanceRequest,
    Meeting,
    MeetingNotice,
    Plan,
    SecaFeedback,
    not_honored,
)
from .services.reminders import review_horizon, students_with_reviews_due

# How far back a held meeting still waits for its attendance or its plan.
HELD_HORIZON = datetime.timedelta(days=365)
# How far back the principal's and the SECA's lists of decided requests go.
DECIDED_HORIZON = datetime.timedelta(days=30)
PAST_HORIZON = datetime.timedelta(days=365)
LISTED = 25


@dataclasses.dataclass(frozen=True)
class CaseManagerWork:
    # Meetings that started: not yet recorded as held (`needs_attendance`), or held with
    # no finalized plan.
    meetings_to_close: list[Meeting]
    notices_unsent: list[MeetingNotice]
    reviews_due: list[Student]


@prepared()
def case_manager_work(*, user: User, now: datetime.datetime) -> CaseManagerWork:
    """The case manager's meetings still to close, notices still to send (on paper: the
    family has no email), and caseload reviews coming due with no meeting. Three queries."""
    standing = access.standing_of(user)
    to_close = _meetings_to_close(
        caseload=standing.caseload_filter(prefix="student__"),
        now=now,
        since=now - HELD_HORIZON,
        limit=LISTED,
    )
    for meeting in to_close:
        meeting.needs_attendance = meeting.state == Meeting.State.SCHEDULED
    notices = _notices_unsent(
        caseload=standing.caseload_filter(prefix="meeting__student__"), now=now, limit=LISTED
    )
    reviews = _reviews_due(
        caseload=standing.caseload_filter(), now=now, horizon=review_horizon(now), limit=LISTED
    )
    return CaseManagerWork(to_close, notices, reviews)


@compiled
def _meetings_to_close(*, caseload, now, since):
    finalized = Plan.objects.filter(meeting=OuterRef("pk"), finalized_at__isnull=False)
    return (
        Meeting.objects.filter(caseload, starts_at__lte=now, starts_at__gte=since)
        .filter(Q(state=Meeting.State.SCHEDULED) | Q(state=Meeting.State.HELD) & ~Exists(finalized))
        .select_related("student", "school")
        .order_by("starts_at", "pk")
    )


@compiled
def _notices_unsent(*, caseload, now):
    return (
        MeetingNotice.objects.filter(
            caseload,
            sent_at__isnull=True,
            meeting__state=Meeting.State.SCHEDULED,
            meeting__starts_at__gt=now,
        )
        .select_related("guardian", "meeting__student", "meeting__school")
        .order_by("meeting__starts_at", "pk")
    )


@compiled
def _reviews_due(*, caseload, now, horizon):
    return (
        students_with_reviews_due(now=now, horizon=horizon)
        .filter(caseload)
        .order_by("annual_review_due", "last_name", "first_name")
    )


@prepared()
def decided_requests(*, user: User, now: datetime.datetime) -> list[AttendanceRequest]:
    """The requests decided in the last 30 days at the schools this person decides for,
    latest first. One query."""
    return _decided(
        decide=meeting_access.decides(user),
        since=now - DECIDED_HORIZON,
        limit=LISTED,
    )


@compiled
def _decided(*, decide, since):
    return (
        AttendanceRequest.objects.filter(
            decide,
            decided_at__gte=since,
            status__in=[AttendanceRequest.Status.APPROVED, AttendanceRequest.Status.DENIED],
        )
        .select_related("seca", "decided_by", "meeting__student")
        .order_by("-decided_at", "-pk")
    )


@dataclasses.dataclass(frozen=True)
class SecaWork:
    past_requests: list[AttendanceRequest]
    feedback_owed: list[AttendanceRequest]
    plans_unopened: int
    plans_received: int
    schedule: list[ScheduleBlock]


@prepared()
def seca_work(*, user: User, now: datetime.datetime) -> SecaWork:
    """The SECA's past requests with their outcomes, the feedback they still owe (requests
    not honored without feedback, for students they still support), the plans they
    received, and their own weekly schedule this year. Four queries."""
    support = access.standing_of(user).filter_for(Right.SUPPORT, prefix="meeting__student__")
    since = now - PAST_HORIZON
    past = _secas_past(support=support, seca_id=user.pk, now=now, since=since, limit=LISTED)
    owed = _feedback_owed(support=support, seca_id=user.pk, since=since, limit=LISTED)
    counts = meeting_access.deliveries(user).aggregate(
        received=Count("pk"),
        unopened=Count("pk", filter=Q(acknowledged_at__isnull=True)),
    )
    schedule = _schedule(seca_id=user.pk, school_year=current_school_year(timezone.localdate(now)))
    return SecaWork(past, owed, counts["unopened"], counts["received"], schedule)


def _secas_requests(support: Q, seca_id: int):
    return AttendanceRequest.objects.filter(support, seca_id=seca_id).select_related(
        "meeting__student", "meeting__school", "decided_by"
    )


@compiled
def _secas_past(*, support, seca_id, now, since):
    return (
        _secas_requests(support, seca_id)
        .filter(meeting__starts_at__lt=now, meeting__starts_at__gte=since)
        .order_by("-meeting__starts_at", "-pk")
    )


@compiled
def _feedback_owed(*, support, seca_id, since):
    # Feedback is owed for meetings to come too (a denial before the meeting).
    submitted = SecaFeedback.objects.filter(
        meeting=OuterRef("meeting"), seca=OuterRef("seca"), submitted_at__isnull=False
    )
    return (
        _secas_requests(support, seca_id)
        .filter(not_honored(), ~Exists(submitted), meeting__starts_at__gte=since)
        .exclude(meeting__state=Meeting.State.CANCELLED)
        .order_by("meeting__starts_at", "pk")
    )


@compiled
def _schedule(*, seca_id, school_year):
    return (
        ScheduleBlock.objects.filter(seca_id=seca_id, school_year=school_year)
        .select_related("student", "school")
        .order_by("weekday", "starts")
    )
