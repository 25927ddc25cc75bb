"""Reminders: one sweep, run by celery beat every few minutes, calls one service per kind.

Each kind reads its candidates in chunks by keyset (`id > last ORDER BY id LIMIT n`), so
memory stays bounded and every chunk costs the same few queries however many meetings the
district has. A reminder is claimed by inserting its Reminder row, unique on (kind, object,
recipient, slot), with `INSERT ... ON CONFLICT DO NOTHING RETURNING id`: only the sweep that
inserted a row records its email in the outbox, in the same transaction, so a sweep run
twice, or two sweeps at once, send nothing twice. The outbox (staff/outbox.py) sends it,
building the message only then (reminder_sending.py: a reminder that became moot is
dropped), and queues it again if it was lost.

A slot names the moment a reminder is for: `24h@202705121400` is "24 hours before the
meeting at 14:00 UTC on 12 May 2027", so a meeting moved to another time is reminded again.
Due times live in the database and the sweep finds them; nothing waits in a countdown
(kombu #337).
"""

import datetime
import zoneinfo
from collections.abc import Iterator

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from staff import access, outbox
from staff.models import (
    Assignment,
    Student,
)

from ..models import (
    AttendanceRequest,
    Invitation,
    Meeting,
    Plan,
    PlanDelivery,
    Reminder,
    SecaFeedback,
    not_honored,
)
from .attendance import attendance_requests_expire

Status = AttendanceRequest.Status


Kind = Reminder.Kind


# A held meeting is reminded weekly for this long; older ones belong to the district's
# compliance report, not to weekly email.
PLAN_REMINDER_HORIZON = datetime.timedelta(days=365)
# Deliveries sent longer ago than this are not reminded any more.
ACKNOWLEDGE_REMINDER_HORIZON = datetime.timedelta(days=60)


# --- Time -----------------------------------------------------------------------------


def school_days_after(day: datetime.date, count: int) -> datetime.date:
    """The date `count` school days (Monday to Friday) after `day`. Holidays are not in
    the data: a reminder may come a day early around one."""
    while count > 0:
        day += datetime.timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def _windows(now: datetime.datetime, hours: list[int]):
    """(lead, after, until) for each lead time, largest first: a meeting starting in
    (after, until] is due for that lead's reminder and for no earlier one, so a meeting
    scheduled 12 hours ahead gets the 24-hour reminder only, not the 7-day one too."""
    bounds = [*hours, 0]
    for lead, nearer in zip(bounds, bounds[1:], strict=False):
        yield (
            lead,
            now + datetime.timedelta(hours=nearer),
            now + datetime.timedelta(hours=lead),
        )


def reminder_slot(lead: int, starts_at: datetime.datetime) -> str:
    return f"{lead}h@{starts_at.astimezone(datetime.UTC):%Y%m%d%H%M}"


def _local_date(moment: datetime.datetime, tz_name: str) -> datetime.date:
    return moment.astimezone(zoneinfo.ZoneInfo(tz_name)).date()


# --- Reading in chunks, claiming ---------------------------------------------------------


def keyset_chunks(queryset: QuerySet, fields: tuple, size: int) -> Iterator[list[tuple]]:
    """The rows of `queryset` as tuples of `fields`, `size` at a time, by keyset on the
    first field (unique in the result): one query per chunk, however far it goes."""
    key, last = fields[0], None
    while True:
        page = queryset if last is None else queryset.filter(**{f"{key}__gt": last})
        rows = list(page.order_by(key).values_list(*fields)[:size])
        if rows:
            yield rows
        if len(rows) < size:
            return
        last = rows[-1][0]


def reminders_claim(rows, *, now: datetime.datetime) -> list[tuple[int, int]]:
    """Insert a Reminder per (kind, object_id, recipient_id, slot) not claimed yet, in one
    statement; (id, recipient id) of the rows this call inserted. A row another sweep
    claimed first is not returned: that sweep records its email."""
    rows = sorted(set(rows))
    if not rows:
        return []
    table = connection.ops.quote_name(Reminder._meta.db_table)
    columns = "(kind, object_id, recipient_id, slot, created_at)"
    conflict = (
        "ON CONFLICT (kind, object_id, recipient_id, slot) DO NOTHING RETURNING id, recipient_id"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            kinds, objects, recipients, slots = (list(column) for column in zip(*rows, strict=True))
            cursor.execute(
                f"INSERT INTO {table} {columns} "
                "SELECT k, o, r, s, %s FROM unnest(%s::varchar[], %s::bigint[], %s::bigint[], "
                f"%s::varchar[]) AS t(k, o, r, s) {conflict}",
                [now, kinds, objects, recipients, slots],
            )
            return [tuple(row) for row in cursor.fetchall()]
        # SQLite (the embedded default): the same statement in batches of bound values.
        claimed = []
        for start in range(0, len(rows), 500):
            batch = rows[start : start + 500]
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(batch))
            cursor.execute(
                f"INSERT INTO {table} {columns} VALUES {values} {conflict}",
                [value for row in batch for value in (*row, now)],
            )
            claimed += [tuple(row) for row in cursor.fetchall()]
        return claimed


def _claim_and_queue(rows, *, now: datetime.datetime) -> int:
    """Claim the reminders, and record an email for each one this sweep claimed, in one
    transaction: the outbox sends it (staff/outbox.py)."""
    with transaction.atomic():
        claimed = reminders_claim(rows, now=now)
        outbox.emails_record("reminder", claimed)
    return len(claimed)


# --- One service per kind ----------------------------------------------------------------


def reminders_meeting_upcoming(*, now: datetime.datetime, chunk_size: int) -> int:
    """7 days and 1 day before (REMINDER_MEETING_HOURS): everyone invited with an account,
    and every SECA whose request was approved. Three queries per chunk of meetings."""
    claimed = 0
    for lead, after, until in _windows(now, settings.REMINDER_MEETING_HOURS):
        meetings = Meeting.objects.filter(
            state=Meeting.State.SCHEDULED, starts_at__gt=after, starts_at__lte=until
        )
        for chunk in keyset_chunks(meetings, ("id", "starts_at"), chunk_size):
            starts = dict(chunk)
            # Unordered: a UNION takes no ORDER BY in its parts (SQLite).
            invited = (
                Invitation.objects.filter(
                    meeting_id__in=starts, user__isnull=False, user__is_active=True
                )
                .order_by()
                .values_list("meeting_id", "user_id")
            )
            approved = (
                AttendanceRequest.objects.filter(
                    meeting_id__in=starts, status=Status.APPROVED, seca__is_active=True
                )
                .order_by()
                .values_list("meeting_id", "seca_id")
            )
            rows = [
                (
                    Kind.MEETING_UPCOMING,
                    meeting_id,
                    user_id,
                    reminder_slot(lead, starts[meeting_id]),
                )
                for meeting_id, user_id in invited.union(approved)
            ]
            claimed += _claim_and_queue(rows, now=now)
    return claimed


def reminders_request_pending(*, now: datetime.datetime, chunk_size: int) -> int:
    """48 and 24 hours before the meeting (REMINDER_REQUEST_HOURS), a request still pending
    goes to the school's approvers; at the last lead time the principal is told themself
    that their designees have not acted. Three queries per chunk of requests."""
    claimed = 0
    last_lead = settings.REMINDER_REQUEST_HOURS[-1]
    for lead, after, until in _windows(now, settings.REMINDER_REQUEST_HOURS):
        pending = AttendanceRequest.objects.filter(
            status=Status.PENDING,
            meeting__state=Meeting.State.SCHEDULED,
            meeting__starts_at__gt=after,
            meeting__starts_at__lte=until,
        )
        # The school that governs the student now decides (staff/access.py).
        fields = ("id", "meeting__student__school_id", "meeting__starts_at")
        for chunk in keyset_chunks(pending, fields, chunk_size):
            approvers = access.approvers({school_id for _, school_id, _ in chunk})
            rows = []
            for request_id, school_id, starts_at in chunk:
                people = approvers.get(school_id, [])
                has_designees = not all(is_principal for _, is_principal in people)
                for user_id, is_principal in people:
                    escalate = lead == last_lead and is_principal and has_designees
                    kind = Kind.REQUEST_ESCALATED if escalate else Kind.REQUEST_PENDING
                    rows.append((kind, request_id, user_id, reminder_slot(lead, starts_at)))
            claimed += _claim_and_queue(rows, now=now)
    return claimed


def requests_not_honored() -> QuerySet:
    """Requests not honored (meetings.models.not_honored)."""
    return AttendanceRequest.objects.filter(not_honored())


def reminders_feedback_due(*, now: datetime.datetime, chunk_size: int) -> int:
    """24 hours before the meeting (REMINDER_FEEDBACK_HOURS), to a SECA still assigned to
    the student whose request was not honored and who has not submitted feedback
    (contract). Two queries per chunk of requests."""
    claimed = 0
    submitted = SecaFeedback.objects.filter(
        meeting=OuterRef("meeting"), seca=OuterRef("seca"), submitted_at__isnull=False
    )
    assigned = Assignment.objects.current(timezone.localdate(now)).filter(
        staff=OuterRef("seca"), student=OuterRef("meeting__student"), kind=Assignment.Kind.SECA
    )
    for lead, after, until in _windows(now, settings.REMINDER_FEEDBACK_HOURS):
        due = requests_not_honored().filter(
            Exists(assigned),
            ~Exists(submitted),
            meeting__state=Meeting.State.SCHEDULED,
            meeting__starts_at__gt=after,
            meeting__starts_at__lte=until,
            seca__is_active=True,
        )
        for chunk in keyset_chunks(
            due, ("id", "meeting_id", "seca_id", "meeting__starts_at"), chunk_size
        ):
            rows = [
                (Kind.FEEDBACK_DUE, meeting_id, seca_id, reminder_slot(lead, starts_at))
                for _, meeting_id, seca_id, starts_at in chunk
            ]
            claimed += _claim_and_queue(rows, now=now)
    return claimed


def finalized_plan():
    return Plan.objects.filter(meeting=OuterRef("pk"), finalized_at__isnull=False)


def reminders_plan_not_finalized(*, now: datetime.datetime, chunk_size: int) -> int:
    """To the case manager (or whoever scheduled the meeting, when the student has none),
    REMINDER_PLAN_SCHOOL_DAYS school days after a held meeting with no finalized plan, then
    weekly. Two queries per chunk of meetings."""
    claimed = 0
    days = settings.REMINDER_PLAN_SCHOOL_DAYS
    held = (
        Meeting.objects.filter(
            state=Meeting.State.HELD,
            # n school days later is at least n calendar dates later (decided below).
            held_at__lte=now - datetime.timedelta(days=days - 1),
            held_at__gte=now - PLAN_REMINDER_HORIZON,
        )
        .exclude(Exists(finalized_plan()))
        .annotate(manager_id=Coalesce("student__case_manager_id", "scheduled_by_id"))
    )
    fields = ("id", "held_at", "manager_id", "school__timezone")
    for chunk in keyset_chunks(held, fields, chunk_size):
        rows = []
        for meeting_id, held_at, manager_id, tz_name in chunk:
            due = school_days_after(_local_date(held_at, tz_name), days)
            today = _local_date(now, tz_name)
            if today >= due:
                this_week = due + datetime.timedelta(weeks=(today - due).days // 7)
                rows.append(
                    (Kind.PLAN_NOT_FINALIZED, meeting_id, manager_id, this_week.isoformat())
                )
        claimed += _claim_and_queue(rows, now=now)
    return claimed


def review_horizon(now: datetime.datetime) -> datetime.date:
    """The last due date of the reviews coming due (REMINDER_REVIEW_DAYS from today)."""
    return timezone.localdate(now) + datetime.timedelta(days=settings.REMINDER_REVIEW_DAYS)


def students_with_reviews_due(
    *, now: datetime.datetime, horizon: datetime.date | None = None
) -> QuerySet:
    """Students with an IEP whose annual review (34 CFR 300.324(b)) or re-evaluation
    (300.303) is due by `horizon` (review_horizon), or overdue, and not yet scheduled: no
    scheduled meeting ahead of a kind that covers it. Each says which is missing:
    `annual_missing` (a re-evaluation meeting covers the review too) and `reeval_missing`."""
    horizon = horizon or review_horizon(now)
    ahead = Meeting.objects.filter(
        student=OuterRef("pk"), state=Meeting.State.SCHEDULED, starts_at__gte=now
    )
    review_kinds = [Meeting.Kind.ANNUAL_REVIEW, Meeting.Kind.REEVALUATION]
    annual_missing = Q(annual_review_due__lte=horizon) & ~Exists(
        ahead.filter(kind__in=review_kinds)
    )
    reeval_missing = Q(reevaluation_due__lte=horizon) & ~Exists(
        ahead.filter(kind=Meeting.Kind.REEVALUATION)
    )
    return (
        Student.objects.with_ieps()
        .filter(annual_missing | reeval_missing)
        .annotate(
            annual_missing=ExpressionWrapper(annual_missing, output_field=BooleanField()),
            reeval_missing=ExpressionWrapper(reeval_missing, output_field=BooleanField()),
        )
    )


def reminders_reviews_due(*, now: datetime.datetime, chunk_size: int) -> int:
    """Weekly (the slot is the ISO week), one reminder per case manager listing their
    students with reviews coming due. Two queries per chunk of case managers."""
    claimed = 0
    year, week, _ = timezone.localdate(now).isocalendar()
    managers = (
        students_with_reviews_due(now=now)
        .filter(case_manager__isnull=False, case_manager__is_active=True)
        .values("case_manager_id")
        .distinct()
    )
    for chunk in keyset_chunks(managers, ("case_manager_id",), chunk_size):
        rows = [(Kind.REVIEWS_DUE, cm, cm, f"{year}-W{week:02d}") for (cm,) in chunk]
        claimed += _claim_and_queue(rows, now=now)
    return claimed


def reminders_plan_not_acknowledged(*, now: datetime.datetime, chunk_size: int) -> int:
    """To a recipient who has not opened their copy of the finalized plan
    REMINDER_ACKNOWLEDGE_SCHOOL_DAYS school days after it was sent; once. Two queries per
    chunk of deliveries."""
    claimed = 0
    days = settings.REMINDER_ACKNOWLEDGE_SCHOOL_DAYS
    unopened = PlanDelivery.objects.filter(
        acknowledged_at__isnull=True,
        sent_at__lte=now - datetime.timedelta(days=days - 1),
        sent_at__gte=now - ACKNOWLEDGE_REMINDER_HORIZON,
    )
    fields = ("id", "recipient_id", "sent_at", "plan__meeting__school__timezone")
    for chunk in keyset_chunks(unopened, fields, chunk_size):
        rows = [
            (Kind.PLAN_NOT_ACKNOWLEDGED, delivery_id, recipient_id, f"{days}sd")
            for delivery_id, recipient_id, sent_at, tz_name in chunk
            if _local_date(now, tz_name) >= school_days_after(_local_date(sent_at, tz_name), days)
        ]
        claimed += _claim_and_queue(rows, now=now)
    return claimed


def requests_expire(*, now: datetime.datetime, chunk_size: int) -> int:
    """At the start of the meeting a still-pending request is not honored, and the SECA is
    asked for feedback (attendance_requests_expire notifies): a chunk per transaction."""
    total = 0
    while True:
        expired = attendance_requests_expire(now=now, limit=chunk_size)
        total += expired
        if expired < chunk_size:
            return total


def reminders_sweep(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Every kind, once; what each claimed. Safe to run twice, or twice at once."""
    now = now or timezone.now()
    size = settings.JOB_CHUNK_SIZE
    return {
        "expired": requests_expire(now=now, chunk_size=size),
        Kind.MEETING_UPCOMING: reminders_meeting_upcoming(now=now, chunk_size=size),
        Kind.REQUEST_PENDING: reminders_request_pending(now=now, chunk_size=size),
        Kind.FEEDBACK_DUE: reminders_feedback_due(now=now, chunk_size=size),
        Kind.PLAN_NOT_FINALIZED: reminders_plan_not_finalized(now=now, chunk_size=size),
        Kind.REVIEWS_DUE: reminders_reviews_due(now=now, chunk_size=size),
        Kind.PLAN_NOT_ACKNOWLEDGED: reminders_plan_not_acknowledged(now=now, chunk_size=size),
    }
