"""The reports: is the contract honored? The district's compliance report (and its CSV) for
district administrators and the union's representatives, and each school's report for its
principal and designees. The measures are meetings/reports.py's; the union's
representatives see measures only, never a name or a note."""

import csv
import datetime

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from iepcoord.db import compiled, prepared
from iepcoord.paging import page_of
from staff import access as staff_access
from staff.audit import audit_students_viewed
from staff.selectors import page_of_schools

from .. import reports
from ..forms.reports import OutcomeFilterForm, ReportPeriodForm
from ..models import AttendanceRequest

REQUESTS_PER_PAGE = 100


def _district_form(request) -> ReportPeriodForm:
    if not staff_access.standing_of(request.user).reads_district_reports:
        raise Http404
    form = ReportPeriodForm(request.GET)
    form.is_valid()
    return form


def _sorted(rows, form):
    key = form.cleaned_data.get("sort") or "school" if form.is_valid() else "school"
    descending = form.is_valid() and form.cleaned_data.get("desc")
    if key == "school":
        return sorted(rows, key=lambda r: r.school.name, reverse=bool(descending)), key, descending
    # Missing values (a school with no decision has no median) sort last either way.
    present = [r for r in rows if r.values[key] is not None]
    missing = [r for r in rows if r.values[key] is None]
    present.sort(key=lambda r: r.values[key], reverse=bool(descending))
    return present + missing, key, descending


def district_report(request):
    form = _district_form(request)
    period = form.period
    figures = reports.report_figures(period=period)
    rows, sort, desc = _sorted(figures.rows, form)
    page = page_of_schools(rows, request.GET.get("page"))
    others = request.GET.copy()
    others.pop("page", None)
    return render(
        request,
        "meetings/reports/district.html",
        {
            "form": form,
            "period": period,
            "rows": page,
            "page_query": others.urlencode(),
            "total": figures.total,
            "counted_at": figures.counted_at,
            "sort": sort,
            "desc": desc,
            "columns": _columns(),
            "chart": reports.chart(figures.months),
            "csv_url": reverse("reports_district_csv")
            + f"?from={period.start.isoformat()}&to={period.end.isoformat()}",
        },
        status=400 if form.errors else 200,
    )


def district_csv(request):
    form = _district_form(request)
    if form.errors:
        return HttpResponse(
            "\n".join(str(e) for errors in form.errors.values() for e in errors),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    period = form.period
    figures = reports.report_figures(period=period)
    rows, total = figures.rows, figures.total
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"iepcoord-district-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(["school", *reports.COLUMNS])
    for row in rows:
        writer.writerow([row.school.name, *_csv_values(row)])
    writer.writerow(["District", *_csv_values(total)])
    return response


def _csv_values(row) -> list:
    return ["" if value is None else value for value in row.row()]


def school_report(request, pk):
    school = staff_access.school_for(request.user, pk, "report")
    standing = staff_access.standing_of(request.user)
    form = ReportPeriodForm(request.GET)
    form.is_valid()
    period = form.period
    figures = reports.report_figures(period=period, school=school)
    context = {
        "school": school,
        "form": form,
        "period": period,
        "measures": figures.rows[0],
        "counted_at": figures.counted_at,
        "columns": _columns(),
        "chart": reports.chart(figures.months),
        "names": standing.names_in_reports_at(school.pk),
    }
    if context["names"]:
        context.update(_named_parts(request, school, period, standing))
    return render(
        request, "meetings/reports/school.html", context, status=400 if form.errors else 200
    )


@prepared()
def _named_parts(request, school, period, standing) -> dict:
    """Every request of the period, filterable by outcome, and who covers whom today and
    this week: for the school's principal and designees and the district administrators.
    Only the students the reader may see now are named (a student who moved is the new
    school's). The students listed are in their access logs (34 CFR 300.614)."""
    start, end = period.bounds()
    outcome = OutcomeFilterForm(request.GET)
    outcome.is_valid()
    visible = standing.filter_for(staff_access.Right.VIEW_RECORDS, prefix="meeting__student__")
    requests = (
        AttendanceRequest.objects.filter(
            visible,
            meeting__school=school,
            meeting__starts_at__gte=start,
            meeting__starts_at__lt=end,
        )
        # What the table shows, and no more: each join more costs PostgreSQL's planner
        # about a millisecond.
        .select_related("seca", "decided_by", "covered_by", "meeting__student")
        .order_by("-meeting__starts_at", "-pk")
    )
    if outcome.cleaned_data.get("outcome"):
        requests = requests.filter(status=outcome.cleaned_data["outcome"])
    page = page_of(requests, REQUESTS_PER_PAGE, request.GET.get("page"))
    for req in page.object_list:
        if req.decided_at:
            req.hours_to_decision = round(
                (req.decided_at - req.created_at).total_seconds() / 3600, 1
            )
    today = timezone.localdate()
    tz = school.tzinfo
    week_start = datetime.datetime.combine(today, datetime.time(), tzinfo=tz)
    coverage = _coverage(
        visible=visible,
        school_id=school.pk,
        starts_at=week_start,
        ends_at=week_start + datetime.timedelta(days=7),
    )
    audit_students_viewed(
        actor=request.user,
        action="report.viewed",
        students={r.meeting.student_id: r.meeting.student for r in page.object_list}.values(),
    )
    return {
        "outcome_form": outcome,
        "requests": page,
        "coverage_today": [r for r in coverage if timezone.localtime(r.meeting.starts_at, tz).date() == today],
        "coverage_week": coverage,
    }  # fmt: skip


@compiled
def _coverage(*, visible, school_id, starts_at, ends_at):
    """Approved requests of the school's scheduled meetings in this span, and who covers."""
    return (
        AttendanceRequest.objects.filter(
            visible,
            meeting__school_id=school_id,
            status=AttendanceRequest.Status.APPROVED,
            meeting__state="scheduled",
            meeting__starts_at__gte=starts_at,
            meeting__starts_at__lt=ends_at,
        )
        .select_related("seca", "covered_by", "meeting__student")
        .order_by("meeting__starts_at", "pk")
    )


def _columns() -> list[tuple[str, str]]:
    """The measures in the order of the CSV, with their headings."""
    return [
        ("requests", _("Requests")),
        ("approved", _("Approved")),
        ("denied", _("Denied")),
        ("expired", _("Not decided in time")),
        ("withdrawn", _("Withdrawn")),
        ("median_hours_to_decision", _("Median hours to a decision")),
        ("secas_attended", _("SECAs who attended")),
        ("feedback_owed", _("Feedback owed")),
        ("feedback_submitted", _("Feedback given")),
        ("plans_finalized", _("Plans finalized")),
        ("plans_finalized_on_time", _("Plans finalized within 5 school days")),
        ("plan_copies_sent", _("Plan copies sent to SECAs")),
        ("plan_copies_opened", _("Plan copies opened")),
        ("notices_on_time", _("Notices on time")),
        ("notices_late", _("Notices late")),
        ("reviews_overdue", _("Reviews overdue")),
        ("stay_requests", _("Requests to stay with a student")),
        ("stay_approved", _("Requests to stay approved")),
        ("stay_denied", _("Requests to stay denied")),
        ("unstaffed_students", _("Students without their required aide")),
    ]
