"""Is the contract honored? The measures of the district and school reports, counted by the
database: each family of measures is one query grouped by school, whatever the number of
schools or meetings (pinned in tests/test_reports.py); Python only adds the schools' rows up
for the district's total.

A meeting counts for the school that held it (Meeting.school) and for the period its start
falls in. The definitions, as the README's "Reports" section gives them:

requests          every request to attend a meeting of the period
approved, denied, expired, withdrawn
                  requests in that state now (a request re-opened by a move and not decided
                  again is pending; a cancelled meeting's requests are in none of them)
median_hours_to_decision
                  from the request to its (latest) decision, approved or denied ones
secas_attended    approved requests whose SECA was recorded present
feedback_owed     requests not honored (denied or undecided in time, or approved and absent:
                  meetings.models.not_honored); feedback_submitted: of those, with feedback
plans_finalized   held meetings with a finalized plan; on time: finalized within 5 school
                  days of the meeting (7 calendar days: meetings are held on weekdays)
plan_copies_sent  copies sent to SECAs who could not attend; opened: acknowledged
notices_on_time   meetings whose first notice was issued at least NOTICE_PERIOD_DAYS ahead
                  (34 CFR 300.322(a)); late: less
reviews_overdue   students of the school now with an IEP whose annual review or
                  re-evaluation due date has passed with no meeting of that kind held since
                  a year (three for a re-evaluation) before it: scheduled is not held
stay_requests     SECAs' requests to stay with a student asked in the period (for the
                  school of the student then); stay_approved, stay_denied: in that state now
unstaffed_students
                  students of the school now whose IEP requires a shared or 1:1 aide and who
                  have no SECA assigned (Student.unstaffed_since)
"""

import dataclasses
import datetime
from typing import NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from iepcoord.db import Row
from iepcoord.figures import figures
from staff.models import School, StayRequest, Student

from .models import (
    AttendanceRequest,
    Invitation,
    Meeting,
    MeetingNotice,
    Plan,
    PlanDelivery,
    SecaFeedback,
    not_honored,
)

Status = AttendanceRequest.Status
Reason = AttendanceRequest.DenyReason

# The CSV's columns, in this order (the contract with the union's tools).
COLUMNS = [
    "requests",
    "approved",
    "denied",
    "expired",
    "withdrawn",
    "median_hours_to_decision",
    "secas_attended",
    "feedback_owed",
    "feedback_submitted",
    "plans_finalized",
    "plans_finalized_on_time",
    "plan_copies_sent",
    "plan_copies_opened",
    "notices_on_time",
    "notices_late",
    "reviews_overdue",
    "stay_requests",
    "stay_approved",
    "stay_denied",
    "unstaffed_students",
]
# Shown in HTML too: the denials by reason.
DENIED_BY = [f"denied_{reason}" for reason in Reason.values]
COUNTS = [c for c in COLUMNS if c != "median_hours_to_decision"] + DENIED_BY
# The chart's outcomes; "other": pending, or cancelled with the meeting.
OUTCOMES = ["approved", "denied", "expired", "withdrawn", "other"]
# Plans finalized within this long of the meeting are on time (5 school days, Mon-Fri).
PLAN_ON_TIME = datetime.timedelta(days=7)


@dataclasses.dataclass(frozen=True)
class Period:
    start: datetime.date
    end: datetime.date  # inclusive

    @classmethod
    def school_year(cls, today: datetime.date | None = None) -> "Period":
        """This school year (July to June), up to today."""
        today = today or timezone.localdate()
        year = today.year if today.month >= 7 else today.year - 1
        return cls(datetime.date(year, 7, 1), datetime.date(year + 1, 6, 30))

    def bounds(self) -> tuple[datetime.datetime, datetime.datetime]:
        tz = timezone.get_default_timezone()
        start = datetime.datetime.combine(self.start, datetime.time(), tzinfo=tz)
        end = datetime.datetime.combine(
            self.end + datetime.timedelta(days=1), datetime.time(), tzinfo=tz
        )
        return start, end


class SchoolName(NamedTuple):
    """The school a row of measures names. The district's rows are kept in the cache: a
    tuple unpickles in a fraction of a model instance's time."""

    pk: int
    name: str


@dataclasses.dataclass
class Measures:
    """One row of the report: a school's measures, or the district's."""

    school: SchoolName | None
    values: dict

    def __getattr__(self, name):
        if name.startswith("__"):  # pickle's lookups, before `values` is set
            raise AttributeError(name)
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __setstate__(self, state):
        # Unpickled from the cache, 650 rows a view: without this, pickle asks __getattr__
        # once a row, a quarter of the unpickling.
        self.__dict__.update(state)

    def row(self) -> list:
        return [self.values[c] for c in COLUMNS]


def _meetings(period: Period, schools):
    start, end = period.bounds()
    meetings = Meeting.objects.filter(starts_at__gte=start, starts_at__lt=end)
    return meetings if schools is None else meetings.filter(school__in=schools)


def _by_school(queryset, key: str, **aggregates):
    """One family of counts grouped by school: (school id, {name: count}) rows, for
    measures() to read all families in one query."""
    return (
        queryset.order_by().values(key).annotate(counts=Row(aggregates)).values_list(key, "counts")
    )


def _request_counts(period, schools):
    start, end = period.bounds()
    requests = AttendanceRequest.objects.filter(
        meeting__starts_at__gte=start, meeting__starts_at__lt=end
    )
    if schools is not None:
        requests = requests.filter(meeting__school__in=schools)
    attended = Invitation.objects.filter(
        meeting=OuterRef("meeting"), user=OuterRef("seca"), attended=True
    )
    submitted = SecaFeedback.objects.filter(
        meeting=OuterRef("meeting"), seca=OuterRef("seca"), submitted_at__isnull=False
    )
    owed = not_honored()
    return _by_school(
        requests,
        "meeting__school",
        requests=Count("pk"),
        approved=Count("pk", filter=Q(status=Status.APPROVED)),
        denied=Count("pk", filter=Q(status=Status.DENIED)),
        expired=Count("pk", filter=Q(status=Status.EXPIRED)),
        withdrawn=Count("pk", filter=Q(status=Status.WITHDRAWN)),
        secas_attended=Count("pk", filter=Q(status=Status.APPROVED) & Q(Exists(attended))),
        feedback_owed=Count("pk", filter=owed),
        feedback_submitted=Count("pk", filter=owed & Q(Exists(submitted))),
        **{
            f"denied_{reason}": Count("pk", filter=Q(status=Status.DENIED, deny_reason=reason))
            for reason in Reason.values
        },
    )


def _median_hours(period, schools) -> dict[int | None, float | None]:
    """{school id: median hours from request to decision} and the district's under None.
    The median is computed by the database (a window over the decided requests): one
    query, on PostgreSQL and SQLite alike."""
    start, end = period.bounds()
    hours = (
        "EXTRACT(EPOCH FROM (r.decided_at - r.created_at)) / 3600.0"
        if connection.vendor == "postgresql"
        else "(julianday(r.decided_at) - julianday(r.created_at)) * 24.0"
    )
    school_filter, params = "", [start, end]
    if schools is not None:
        ids = [s.pk if isinstance(s, School) else s for s in schools]
        school_filter = f"AND m.school_id IN ({', '.join(['%s'] * len(ids))})"
        params += ids
    request_table = AttendanceRequest._meta.db_table
    meeting_table = Meeting._meta.db_table
    sql = f"""
        WITH decided AS (
            SELECT m.school_id AS school, {hours} AS h
            FROM {request_table} r JOIN {meeting_table} m ON m.id = r.meeting_id
            WHERE r.status IN ('approved', 'denied') AND r.decided_at IS NOT NULL
              AND m.starts_at >= %s AND m.starts_at < %s {school_filter}
        ), ranked AS (
            SELECT school, h,
                   ROW_NUMBER() OVER (PARTITION BY school ORDER BY h) AS n,
                   COUNT(*) OVER (PARTITION BY school) AS total,
                   ROW_NUMBER() OVER (ORDER BY h) AS dn,
                   COUNT(*) OVER () AS dtotal
            FROM decided
        )
        SELECT school, AVG(CASE WHEN n IN ((total + 1) / 2, (total + 2) / 2) THEN h END),
               AVG(CASE WHEN dn IN ((dtotal + 1) / 2, (dtotal + 2) / 2) THEN h END)
        FROM ranked GROUP BY school
    """
    medians: dict[int | None, float | None] = {None: None}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for school, median, district in cursor.fetchall():
            medians[school] = round(float(median), 1) if median is not None else None
            if district is not None:
                medians[None] = round(float(district), 1)
    return medians


def _meeting_counts(period, schools):
    """In one pass over the period's meetings: the held ones whose plan was finalized, and
    on time; the meetings whose first notice went out at least NOTICE_PERIOD_DAYS ahead,
    and those whose first went out later. The first notice is on time exactly when some
    notice is, so no per-meeting "first notice" is computed."""
    first_final = Plan.objects.filter(meeting=OuterRef("pk"), finalized_at__isnull=False)
    plan_on_time = first_final.filter(finalized_at__lte=OuterRef("starts_at") + PLAN_ON_TIME)
    held = Q(state=Meeting.State.HELD)
    ahead = datetime.timedelta(days=settings.NOTICE_PERIOD_DAYS)
    scheduled = MeetingNotice.objects.filter(
        meeting=OuterRef("pk"), kind=MeetingNotice.Kind.SCHEDULED
    )
    issued = Q(Exists(scheduled))
    notice_on_time = Q(Exists(scheduled.filter(created_at__lte=OuterRef("starts_at") - ahead)))
    return _by_school(
        _meetings(period, schools),
        "school",
        plans_finalized=Count("pk", filter=held & Q(Exists(first_final))),
        plans_finalized_on_time=Count("pk", filter=held & Q(Exists(plan_on_time))),
        notices_on_time=Count("pk", filter=issued & notice_on_time),
        notices_late=Count("pk", filter=issued & ~notice_on_time),
    )


def _copy_counts(period, schools):
    start, end = period.bounds()
    copies = PlanDelivery.objects.filter(
        reason=PlanDelivery.Reason.SECA_NOT_HONORED,
        sent_at__isnull=False,
        plan__meeting__starts_at__gte=start,
        plan__meeting__starts_at__lt=end,
    )
    if schools is not None:
        copies = copies.filter(plan__meeting__school__in=schools)
    return _by_school(
        copies,
        "plan__meeting__school",
        plan_copies_sent=Count("pk"),
        plan_copies_opened=Count("pk", filter=Q(acknowledged_at__isnull=False)),
    )


def overdue_reviews(today: datetime.date) -> Q:
    """Students whose annual review (34 CFR 300.324(b)) or re-evaluation (300.303) is past
    due with no meeting of that kind held since the period before it began."""
    held = Meeting.objects.filter(student=OuterRef("pk"), state=Meeting.State.HELD)
    annual = held.filter(
        kind__in=[Meeting.Kind.ANNUAL_REVIEW, Meeting.Kind.REEVALUATION, Meeting.Kind.INITIAL],
        starts_at__date__gt=F("student__annual_review_due") - datetime.timedelta(days=365),
    )
    reeval = held.filter(
        kind__in=[Meeting.Kind.REEVALUATION, Meeting.Kind.INITIAL],
        starts_at__date__gt=F("student__reevaluation_due") - datetime.timedelta(days=3 * 365),
    )
    return Q(annual_review_due__lt=today) & ~Exists(annual) | Q(
        reevaluation_due__lt=today
    ) & ~Exists(reeval)


def _student_counts(schools, today):
    """Students with an IEP whose review is overdue, and students without the aide
    support their IEP requires, in one pass over the students."""
    students = Student.objects.all()
    if schools is not None:
        students = students.filter(school__in=schools)
    return _by_school(
        students,
        "school",
        reviews_overdue=Count(
            "pk", filter=Q(plan_type=Student.PlanType.IEP) & overdue_reviews(today)
        ),
        unstaffed_students=Count("pk", filter=Q(unstaffed_since__isnull=False)),
    )


def _stay_counts(period, schools):
    start, end = period.bounds()
    stays = StayRequest.objects.filter(created_at__gte=start, created_at__lt=end)
    if schools is not None:
        stays = stays.filter(school__in=schools)
    return _by_school(
        stays,
        "school",
        stay_requests=Count("pk"),
        stay_approved=Count("pk", filter=Q(status=StayRequest.Status.APPROVED)),
        stay_denied=Count("pk", filter=Q(status=StayRequest.Status.DENIED)),
    )


def measures(*, period: Period, schools=None, today=None) -> tuple[list[Measures], Measures]:
    """Each school's row (every school, or `schools`), alphabetical, and the total. Three
    queries whatever the number of schools (two when `schools` are School objects): the
    schools, the five families of counts in one UNION, the medians."""
    today = today or timezone.localdate()
    if schools is None:
        school_list = School.objects.order_by("name").values_list("pk", "name")
    elif all(isinstance(s, School) for s in schools):
        school_list = sorted(((s.pk, s.name) for s in schools), key=lambda s: s[1])
    else:
        school_list = (
            School.objects.filter(pk__in=schools).order_by("name").values_list("pk", "name")
        )
    first, *families = [
        _request_counts(period, schools),
        _meeting_counts(period, schools),
        _copy_counts(period, schools),
        _student_counts(schools, today),
        _stay_counts(period, schools),
    ]
    counts: dict[int, dict] = {}
    for school_id, values in first.union(*families, all=True):
        counts.setdefault(school_id, {}).update(values)
    medians = _median_hours(period, schools)
    rows = []
    for school in map(SchoolName._make, school_list):
        values = dict.fromkeys(COUNTS, 0)
        values.update(counts.get(school.pk, {}))
        values["median_hours_to_decision"] = medians.get(school.pk)
        rows.append(Measures(school, values))
    total = {name: sum(row.values[name] for row in rows) for name in COUNTS}
    total["median_hours_to_decision"] = (
        medians[None]
        if schools is None
        else (rows[0].values["median_hours_to_decision"] if len(rows) == 1 else medians[None])
    )
    return rows, Measures(None, total)


@dataclasses.dataclass
class Figures:
    rows: list[Measures]
    total: Measures
    months: list[dict]
    counted_at: datetime.datetime


def report_figures(*, period: Period, school: School | None = None) -> Figures:
    """measures() and requests_by_month() of every school, or of one, counted at most once
    every FIGURES_CACHE_SECONDS (four queries when counted, three for one school). For the
    whole district they take about a second at 650 schools."""
    today = timezone.localdate()
    whose = "district" if school is None else f"school:{school.pk}"
    key = f"reports:{whose}:{period.start.isoformat()}:{period.end.isoformat()}:{today}"

    def count() -> Figures:
        schools = None if school is None else [school]
        rows, total = measures(period=period, schools=schools, today=today)
        months = requests_by_month(period=period, schools=schools)
        return Figures(rows, total, months, timezone.now())

    return figures(key, count)


def requests_by_month(*, period: Period, schools=None) -> list[dict]:
    """[{"month": date, "approved": n, "denied": n, "expired": n, "withdrawn": n,
    "other": n}], for the chart. One query."""
    start, end = period.bounds()
    requests = AttendanceRequest.objects.filter(
        meeting__starts_at__gte=start, meeting__starts_at__lt=end
    )
    if schools is not None:
        requests = requests.filter(meeting__school__in=schools)
    rows = (
        requests.annotate(month=TruncMonth("meeting__starts_at"))
        .order_by()
        .values("month", "status")
        .annotate(n=Count("pk"))
    )
    months: dict[datetime.date, dict] = {}
    month = period.start.replace(day=1)
    while month <= period.end:
        months[month] = dict.fromkeys(OUTCOMES, 0)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    for row in rows:
        key = (
            timezone.localtime(row["month"]).date().replace(day=1)
            if isinstance(row["month"], datetime.datetime)
            else row["month"].replace(day=1)
        )
        if key in months:
            outcome = row["status"] if row["status"] in OUTCOMES else "other"
            months[key][outcome] += row["n"]
    return [{"month": month, **counts} for month, counts in months.items()]


@dataclasses.dataclass(frozen=True)
class Bar:
    x: int
    y: int
    height: int
    outcome: str
    count: int


def chart(months: list[dict], *, height: int = 160, bar: int = 28, gap: int = 12) -> dict:
    """The requests by month as stacked bars, drawn on the server as SVG (no script: the
    strict CSP allows it). Geometry only; the template labels it and the table beside it
    gives the numbers to screen readers."""
    most = max((sum(m[o] for o in OUTCOMES) for m in months), default=0) or 1
    bars, labels = [], []
    for i, month in enumerate(months):
        x, top = 40 + i * (bar + gap), height
        for outcome in OUTCOMES:
            h = round(month[outcome] * (height - 10) / most)
            if h:
                top -= h
                bars.append(Bar(x, top, h, outcome, month[outcome]))
        labels.append((x + bar // 2, month["month"]))
    return {
        "bars": bars,
        "labels": labels,
        "width": 40 + len(months) * (bar + gap),
        "height": height,
        "bar": bar,
        "most": most,
        "months": months,
    }
