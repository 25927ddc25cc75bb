"""Template filters that say things in the reader's language: a language's own name, a
role on the team, a student's grade, a school's time zone."""

import datetime
import functools
import zoneinfo

import langcodes
from django import template
from django.conf import settings
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from iepcoord.dates import formatted
from meetings.models import TEAM_ROLE_SEPARATOR, Meeting
from staff.models import Student

register = template.Library()


def say(message: str, **values) -> str:
    """A translated sentence with its values, as {% blocktranslate %} writes it: the values
    escaped, the translation (which may hold markup) as it is. For the tags of long lists."""
    return mark_safe(message % {key: conditional_escape(value) for key, value in values.items()})


# The roles the app writes on an invitation (scheduling_checks.team_candidates, the SECA
# approved to attend, the student invited to transition planning), stored in English and
# said in the reader's language. Free text a case manager typed (a guest's role, an
# assignment's detail) stays as it was typed.
TEAM_ROLES = {
    "Case manager": gettext_lazy("Case manager"),
    "Principal, representing the district": gettext_lazy("Principal, representing the district"),
    "SECA": gettext_lazy("SECA"),
    "SECA (requested to attend)": gettext_lazy("SECA (requested to attend)"),
    "Teacher": gettext_lazy("Teacher"),
    "Related-service provider": gettext_lazy("Related-service provider"),
    "Student": gettext_lazy("Student"),
    "Parent or guardian": gettext_lazy("Parent or guardian"),
    "School staff": gettext_lazy("School staff"),
}


def _role(part: str) -> str:
    if part in TEAM_ROLES:
        return str(TEAM_ROLES[part])
    prefix, colon, detail = part.partition(": ")
    if colon and prefix in TEAM_ROLES:
        return f"{TEAM_ROLES[prefix]}: {detail}"
    return part


@register.filter
def team_role(value: str) -> str:
    """An invitation's role, in the reader's language where the app wrote it."""
    return TEAM_ROLE_SEPARATOR.join(
        _role(part) for part in (value or "").split(TEAM_ROLE_SEPARATOR)
    )


@register.filter
def autonym(language_name: str) -> str:
    """A language as its speakers name it: "Spanish" is "español" (the interpreter the
    family needs, in the family's own words). Unknown names stay as written."""
    try:
        return langcodes.find(language_name).autonym()
    except (LookupError, ValueError):
        return language_name


@register.filter
def grade_label(student: Student) -> str:
    """ "Grade 4", but "Kindergarten" and "Pre-K", not "Grade Kindergarten"."""
    if student.grade in (Student.Grade.PRE_K, Student.Grade.KINDERGARTEN, Student.Grade.TRANSITION):
        return student.get_grade_display()
    return _("Grade %(grade)s") % {"grade": student.get_grade_display()}


@register.filter
def meeting_kind(value: str) -> str:
    """A meeting kind's stored value ("annual_review") as the reader's language says it."""
    return Meeting.Kind(value).label if value else ""


@register.filter
def zone_name(tz_name: str) -> str:
    """A school's time zone as people say it: "Central Time (CST)", not "America/Chicago"."""
    tz = zoneinfo.ZoneInfo(tz_name)
    abbreviation = timezone.localtime(timezone.now(), tz).strftime("%Z")
    names = {
        "America/Chicago": _("Central Time"),
        "America/New_York": _("Eastern Time"),
        "America/Denver": _("Mountain Time"),
        "America/Los_Angeles": _("Pacific Time"),
    }
    name = names.get(tz_name)
    return f"{name} ({abbreviation})" if name else f"{tz_name} ({abbreviation})"


# A row's links: reverse() resolved each one (about 10 µs; a caseload page has 125). The
# path of each URL name is found once per script prefix with a marker for the id, then
# the row's id is put in its place.
_ID_MARKER = 987654321987654321


@functools.cache
def _path_around_id(name: str, prefix: str) -> tuple[str, str]:
    before, after = reverse(name, args=[_ID_MARKER]).split(str(_ID_MARKER))
    return before, after


def _url(name: str, pk: int) -> str:
    """reverse(name, args=[pk]) for a URL whose one argument is an id."""
    before, after = _path_around_id(name, get_script_prefix())
    return f"{before}{int(pk)}{after}"


@register.filter
def in_zone(moment: datetime.datetime, tz_name: str) -> datetime.datetime:
    return timezone.localtime(moment, zoneinfo.ZoneInfo(tz_name)) if moment else moment


@register.filter(expects_localtime=True)
def moment(value, name: str) -> str:
    """A date or time as the reader's language writes it (iepcoord/dates.py), in the time
    zone active in the template: {{ meeting.starts_at|moment:"weekday" }}."""
    return formatted(value, name) if value else ""


# Tags for the rows of long lists (a caseload, a home page's tables): the same markup an
# include would give, built in Python, which costs a fraction of an include per row.


@register.simple_tag
def due_badge(date, overdue, due_soon):
    """A due date with its flag: {% due_badge student.annual_review_due overdue soon %}."""
    shown = (
        format_html('<time datetime="{}">{}</time>', date.isoformat(), formatted(date, "date"))
        if date
        else format_html('<span class="text-body-secondary">{}</span>', _("not set"))
    )
    if overdue:
        return format_html('{} <span class="badge text-bg-danger">{}</span>', shown, _("overdue"))
    if due_soon:
        return format_html(
            '{} <span class="badge text-bg-warning">{}</span>', shown, _("due within 30 days")
        )
    return shown


@register.simple_tag
def meeting_when(meeting):
    """A meeting's start in its school's time zone (a school may be in another zone than
    the reader): {% meeting_when meeting %}."""
    starts = in_zone(meeting.starts_at, meeting.school.timezone)
    return format_html(
        '<time datetime="{}">{}</time>',
        starts.strftime("%Y-%m-%dT%H:%M:%S%z"),
        formatted(starts, "day_time"),
    )


@register.simple_tag
def meeting_where(meeting):
    """Where a meeting is held: a room, a video link, a phone line; often more than one."""
    parts = []
    if meeting.location:
        parts.append(format_html('<span class="d-block">{}</span>', meeting.location))
    if meeting.video_link:
        parts.append(
            format_html(
                '<a class="d-block" href="{}" rel="noopener noreferrer">{}</a>',
                meeting.video_link,
                _("Video meeting"),
            )
        )
    if meeting.phone_dial_in:
        parts.append(
            format_html(
                '<span class="d-block">{}</span>',
                _("Phone: %(phone)s") % {"phone": meeting.phone_dial_in},
            )
        )
    return format_html_join("\n", "{}", ((part,) for part in parts))


@register.simple_tag
def measure_row(measures, period):
    """A report's row (meetings.reports.Measures): the school, a link to its report for the
    same period, then the numbers as the reader's language writes them; the district's
    row when `measures.school` is None. A page of the district's report has a thousand
    cells."""
    if measures.school is None:
        heading = _("District")
    else:
        query = f"?start={period.start.isoformat()}&end={period.end.isoformat()}"
        heading = format_html(
            '<a href="{}">{}</a>',
            _url("reports_school", measures.school.pk) + query,
            measures.school.name,
        )
    none = format_html('<span aria-label="{}">—</span>', _("none"))
    # Numbers need no escaping, and without thousands separators a whole number is written
    # alike in every language: then only the fractions go through localize(), which took
    # two thirds of this tag's time.
    plain = int if not settings.USE_THOUSAND_SEPARATOR else ()
    cells = (
        none if value is None else value if isinstance(value, plain) else localize(value)
        for value in measures.row()
    )
    return format_html(
        '<tr>\n  <th scope="row">{}</th>\n  {}\n</tr>',
        heading,
        mark_safe("".join(f'<td class="text-end">{cell}</td>' for cell in cells)),
    )


# The chart's colors, by outcome (meetings.reports.OUTCOMES); the legend's are in the CSS.
CHART_FILLS = {
    "approved": "#146c43",
    "denied": "#b02a37",
    "expired": "#997404",
    "withdrawn": "#6c757d",
}


@register.simple_tag
def chart_marks(chart):
    """The bars and month labels of a report's chart (meetings.reports.chart), each
    followed by the SVG's indentation: up to sixty bars, in a tenth of a loop's time."""
    height = chart["height"]
    bars = "".join(
        f'<rect x="{bar.x}" y="{bar.y}" width="{chart["bar"]}" height="{bar.height}" '
        f'class="outcome-{bar.outcome}" fill="{CHART_FILLS.get(bar.outcome, "#0a58ca")}">'
        f"<title>{bar.count}</title></rect>\n    "
        for bar in chart["bars"]
    )
    labels = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="11" text-anchor="middle" fill="#212529">{}</text>\n    ',
        ((x, height + 16, formatted(month, "month_abbr")) for x, month in chart["labels"]),
    )
    return mark_safe(bars) + labels


@register.simple_tag
def chart_rows(chart):
    """The rows of the table that gives the chart's numbers, a month each."""
    return format_html_join(
        "",
        '<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
        (
            (
                formatted(m["month"], "month"),
                m["approved"],
                m["denied"],
                m["expired"],
                m["withdrawn"],
                m["other"],
            )
            for m in chart["months"]
        ),
    )


@register.simple_tag(takes_context=True)
def family_row(context, guardian, send_url):
    """A row of a school's families without an account (staff/invites/school.html):
    the student, the guardian, their last invitation (`last_invite`, `pending`), and the
    form that sends again. A page holds 50."""
    invite = guardian.last_invite
    if invite is None:
        status = _("Not invited yet.")
    elif guardian.pending:
        if invite.code:
            done = say(_("Letter prepared on %(date)s: print it."), date=_day(invite.created_at))
        elif invite.sent_at:
            done = say(_("Emailed on %(date)s."), date=_day(invite.sent_at))
        else:
            done = _("The email is waiting to be sent.")
        status = format_html(
            "{} {}", done, say(_("Valid until %(date)s."), date=_day(invite.expires_at))
        )
    else:
        status = say(_("The invitation expired on %(date)s."), date=_day(invite.expires_at))
    return format_html(
        "<tr>\n<td>{}, {}</td>\n"
        '<td>{} <span class="text-body-secondary">({}, {})</span><br>\n'
        '<span class="small">{}</span></td>\n'
        '<td class="small">{}</td>\n'
        '<td><form method="post" action="{}">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<input type="hidden" name="guardian" value="{}">'
        '<button type="submit" class="btn btn-sm btn-outline-primary">{}'
        '<span class="visually-hidden"> {}</span></button></form></td>\n</tr>',
        guardian.student.last_name,
        guardian.student.first_name,
        guardian.full_name,
        guardian.relationship,
        guardian.get_preferred_language_display(),
        guardian.email or _("No email address: a printed letter"),
        status,
        send_url,
        context.get("csrf_token"),
        guardian.pk,
        _("Send again") if guardian.email else _("New letter"),
        guardian.full_name,
    )


def _day(moment: datetime.datetime) -> str:
    # As the date filter writes it: the day in the active time zone, the language's format.
    return formatted(timezone.localtime(moment), "date_filter")


@register.simple_tag
def request_badge(req):
    """A request's status as a badge, and whether a change of the meeting re-opened it."""
    if req.status == "approved":
        color = "text-bg-success"
    elif req.status == "pending":
        color = "text-bg-warning"
    elif req.status in ("denied", "expired"):
        color = "text-bg-danger"
    else:
        color = "text-bg-secondary"
    return format_html(
        '<span class="badge request-{} {}">{}{}</span>',
        req.status,
        color,
        req.get_status_display(),
        format_html(" · {}", _("re-opened")) if req.reopened else "",
    )


@register.simple_tag(takes_context=True)
def request_actions(context, meeting, attendance_request, meeting_actions):
    """The SECA's latest request for one meeting, and what they may do next: the allowed
    actions of the meeting (`meeting_actions`) and of the request (its `actions`). A SECA's
    home has a row of these per upcoming meeting."""
    meeting_actions = meeting_actions or ()
    parts = []
    if attendance_request:
        parts.append(request_badge(attendance_request))
        if "withdraw" in attendance_request.actions:
            parts.append(
                format_html(
                    '<form method="post" action="{}">'
                    '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
                    '<button type="submit" class="btn btn-sm btn-outline-secondary">{}</button>'
                    "</form>",
                    _url("request_withdraw", attendance_request.pk),
                    context.get("csrf_token"),
                    _("Withdraw request"),
                )
            )
    status = attendance_request.status if attendance_request else None
    link = None
    if "request" in meeting_actions:
        link = ("btn-primary", "request_create", _("Request to attend"))
    elif "give_feedback" in meeting_actions and status == "approved":
        link = ("btn-outline-primary", "feedback_edit", _("Add feedback (optional)"))
    elif "give_feedback" in meeting_actions and status != "pending":
        link = ("btn-primary", "feedback_edit", _("Give your feedback"))
    if link:
        style, url_name, label = link
        parts.append(
            format_html(
                '<a class="btn btn-sm {}" href="{}">{}</a>',
                style,
                _url(url_name, meeting.pk),
                label,
            )
        )
    return format_html(
        '<div class="request-actions d-flex flex-wrap align-items-center gap-2">\n{}\n</div>',
        format_html_join("\n", "{}", ((part,) for part in parts)),
    )


@register.simple_tag
def access_log_row(entry, show_addresses):
    """One entry of a student's access log (staff/access_log.html, 50 a page), in the time
    zone active in the template."""
    at = timezone.localtime(entry.event.at)
    return format_html(
        '<tr{}>\n      <td><time datetime="{}">{}</time></td>\n      <td>{}</td>\n'
        "      <td>{}</td>\n      <td>{}</td>\n{}    </tr>",
        mark_safe(' class="table-warning"') if entry.event.denied else "",
        at.isoformat(),
        formatted(at, "datetime_filter"),
        entry.who,
        entry.role,
        entry.purpose,
        format_html("      <td>{}</td>\n", entry.event.ip or "—") if show_addresses else "",
    )


# The case manager's worklist (meetings/home/_case_manager_work.html): up to 75 items.


@register.simple_tag
def meeting_to_close(meeting):
    """A held meeting still to record, or whose plan is still to finalize."""
    values = {
        "student": meeting.student.full_name,
        "kind": meeting.get_kind_display(),
        "day": _school_day(meeting),
    }
    url = _url("meeting_detail", meeting.pk)
    if meeting.needs_attendance:
        text = _("%(student)s, %(kind)s on %(day)s: record that it was held and who attended")
    else:
        url += "#plans"
        text = _("%(student)s, %(kind)s on %(day)s: upload and finalize the plan")
    return _linked_item(url, say(text, **values))


@register.simple_tag
def notice_on_paper(notice):
    """A notice to send on paper: the family has no email address."""
    text = say(
        _(
            "%(guardian)s (%(student)s, meeting on %(day)s): no email address, send the "
            "notice on paper"
        ),
        guardian=notice.guardian.full_name,
        student=notice.meeting.student.full_name,
        day=_school_day(notice.meeting),
    )
    return _linked_item(_url("meeting_detail", notice.meeting_id) + "#notices", text)


@register.simple_tag
def review_due(student):
    """A review coming due with no meeting scheduled (students_with_reviews_due)."""
    annual = student.annual_review_due and formatted(student.annual_review_due, "date_filter")
    reeval = student.reevaluation_due and formatted(student.reevaluation_due, "date_filter")
    if student.annual_missing and student.reeval_missing:
        text = say(
            _("%(name)s: annual review due %(annual)s and re-evaluation due %(reeval)s"),
            name=student.full_name,
            annual=annual,
            reeval=reeval,
        )
    elif student.reeval_missing:
        text = say(_("%(name)s: re-evaluation due %(date)s"), name=student.full_name, date=reeval)
    else:
        text = say(_("%(name)s: annual review due %(date)s"), name=student.full_name, date=annual)
    return _linked_item(_url("meeting_schedule", student.pk), text)


def _school_day(meeting) -> str:
    # The meeting's day where its school is, as the date filter writes it.
    return formatted(in_zone(meeting.starts_at, meeting.school.timezone), "date_filter")


def _linked_item(url: str, text: str) -> str:
    return format_html('<li><a href="{}">{}</a></li>', url, text)


@register.simple_tag
def caseload_row(student):
    """A row of the caseload (meetings/scheduling/caseload.html, 25 a page): the student,
    the last IEP, the two due dates, the next meeting, and the student's pages."""
    name = student.full_name
    if student.last_iep_date:
        last_iep = formatted(student.last_iep_date, "date")
    else:
        last_iep = format_html('<span class="text-body-secondary">{}</span>', _("none recorded"))
    if student.next_meeting:
        starts = in_zone(student.next_meeting.starts_at, student.school.timezone)
        next_meeting = format_html(
            '<a href="{}">{}</a>, {}',
            _url("meeting_detail", student.next_meeting.pk),
            meeting_kind(student.next_meeting.kind),
            formatted(starts, "day_time"),
        )
    else:
        next_meeting = format_html(
            '<span class="text-body-secondary">{}</span>', _("none scheduled")
        )
    unstaffed = (
        format_html(' <span class="badge text-bg-danger">{}</span>', _("unstaffed"))
        if student.unstaffed_since
        else ""
    )
    return format_html(
        '<tr id="student-{}">\n'
        '<th scope="row">{}, {}<br><small class="text-body-secondary">{} · {}</small></th>\n'
        "<td>{}</td>\n<td>{}</td>\n<td>{}</td>\n<td>{}</td>\n"
        '<td><ul class="list-unstyled mb-0">\n'
        '<li><a class="btn btn-sm btn-outline-primary mb-1" href="{}">{}</a></li>\n'
        '<li><a href="{}">{}</a></li>\n'
        '<li><a href="{}">{}</a></li>\n'
        '<li><a href="{}">{}</a>{}</li>\n'
        "</ul></td>\n</tr>",
        student.pk,
        student.last_name,
        student.first_name,
        student.school.name,
        grade_label(student),
        last_iep,
        due_badge(
            student.annual_review_due,
            student.annual_review_overdue,
            student.annual_review_due_soon,
        ),
        due_badge(
            student.reevaluation_due, student.reevaluation_overdue, student.reevaluation_due_soon
        ),
        next_meeting,
        _url("meeting_schedule", student.pk),
        say(_('Schedule a meeting<span class="visually-hidden"> for %(name)s</span>'), name=name),
        _url("guardian_list", student.pk),
        say(
            _('Parents and invitations<span class="visually-hidden"> for %(name)s</span>'),
            name=name,
        ),
        _url("access_log", student.pk),
        say(_('Access log<span class="visually-hidden"> for %(name)s</span>'), name=name),
        _url("aide_support_edit", student.pk),
        say(_('Aide support<span class="visually-hidden"> for %(name)s</span>'), name=name),
        unstaffed,
    )


# The SECA's worklist (meetings/home/_seca_work.html): up to 25 of each.


@register.simple_tag
def feedback_owed(req):
    """A request not honored, whose feedback the SECA still owes."""
    text = say(
        _("%(student)s's meeting on %(day)s (%(outcome)s): give your feedback"),
        student=req.meeting.student.full_name,
        day=_school_day(req.meeting),
        outcome=req.get_status_display(),
    )
    return _linked_item(_url("feedback_edit", req.meeting_id), text)


@register.simple_tag
def past_request_row(req):
    """A past request and its outcome (with the reason of a denial)."""
    text = say(
        _("%(student)s, %(day)s"),
        student=req.meeting.student.full_name,
        day=_school_day(req.meeting),
    )
    reason = req.get_deny_reason_display()
    return format_html(
        '<tr><td><a href="{}">{}</a></td><td>{}{}</td></tr>',
        _url("meeting_detail", req.meeting_id),
        text,
        request_badge(req),
        format_html(" {}", reason) if reason else "",
    )


# The approver's home and queue.


@register.simple_tag
def decide_link(req, link_class=""):
    """The link to decide a request, named for screen readers by the SECA who asks."""
    return format_html(
        '<a{} href="{}">{}</a>',
        format_html(' class="{}"', link_class) if link_class else "",
        _url("request_decide", req.pk),
        say(
            _('Decide<span class="visually-hidden"> the request of %(name)s</span>'),
            name=req.seca.full_name,
        ),
    )


@register.simple_tag
def decided_item(req):
    """A request decided in the last 30 days (worklists.decided_requests)."""
    values = {
        "seca": req.seca.full_name,
        "student": req.meeting.student.full_name,
        "who": req.decided_by.full_name,
        "when": _day(req.decided_at),
    }
    if req.status == "approved":
        text = say(
            _("%(seca)s to %(student)s's meeting: approved by %(who)s on %(when)s"), **values
        )
    else:
        text = say(
            _("%(seca)s to %(student)s's meeting: denied by %(who)s on %(when)s (%(reason)s)"),
            reason=req.get_deny_reason_display(),
            **values,
        )
    return _linked_item(_url("request_decide", req.pk), text)
