"""The case manager's pages: the caseload, scheduling a meeting (with a preview of
conflicts), moving or cancelling it, contact attempts, attendance and the finalized plan.

Every view fetches through the access layer (staff/access.py, meetings/access.py), so
another school's record is a 404 and a known one without the right a 403; state changes
are POST only and go through the services.
"""

import dataclasses
import hashlib
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from iepcoord.paging import page_of
from staff import access as staff_access
from staff.access import Right
from staff.audit import audit_record, audit_students_viewed
from staff.models import Guardian
from staff.services import DomainError

from .. import access, selectors
from ..access import Action
from ..forms.scheduling import (
    CaseloadFilterForm,
    ContactAttemptForm,
    InviteeAddForm,
    MeetingCancelForm,
    MeetingHeldForm,
    MeetingRescheduleForm,
    MeetingScheduleForm,
    NoticeAnswerRecordForm,
    PlanUploadForm,
)
from ..models import Meeting
from ..services import parents, plans, scheduling, scheduling_checks


def _posted(request, data):
    """The submitted data of a POST, even when empty (no box ticked), else None."""
    return data if request.method == "POST" else None


# --- The caseload ---------------------------------------------------------------------

# A caseload page holds this many students: the table's cost follows the page, not the
# caseload (a case manager may have more than a hundred).
CASELOAD_PAGE = 25


def caseload(request):
    if not staff_access.standing_of(request.user).case_manager_at:
        raise Http404
    form = CaseloadFilterForm(request.GET)
    form.is_valid()
    sort = form.cleaned_data.get("sort") or "annual"
    show = form.cleaned_data.get("show") or "all"
    now = timezone.now()
    students = selectors.caseload(case_manager=request.user, now=now, sort=sort, show=show)
    page = page_of(students, CASELOAD_PAGE, request.GET.get("page"))
    selectors.caseload_rows(page.object_list, now=now)
    audit_students_viewed(actor=request.user, action="caseload.viewed", students=page)
    return render(
        request,
        "meetings/scheduling/caseload.html",
        {
            "page": page,
            "page_query": urlencode({"show": show, "sort": sort}),
            "students": page.object_list,
            "sort": sort,
            "show": show,
            "sorts": CaseloadFilterForm.SORTS,
            "shows": CaseloadFilterForm.SHOWS,
        },
    )


# --- Scheduling -------------------------------------------------------------------------


@dataclasses.dataclass
class SchedulePreview:
    conflicts: list
    short_notice: bool
    transition: bool
    invitees: list
    guests: list
    fingerprint: str


def _fingerprint(form) -> str:
    """What the preview showed: a confirmation of other details shows a new preview."""
    data = form.cleaned_data
    parts = [
        data["kind"],
        data["starts_at"].isoformat(),
        str(data["duration"]),
        ",".join(str(u.pk) for u in data["invitees"]),
        repr(data["guests"]),
        data["location"],
        data["video_link"],
        data["phone_dial_in"],
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _schedule_preview(form, student) -> SchedulePreview:
    data = form.cleaned_data
    return SchedulePreview(
        conflicts=scheduling_checks.meeting_conflicts(
            school=student.school,
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            users=data["invitees"],
        ),
        short_notice=scheduling_checks.is_short_notice(data["starts_at"]),
        transition=scheduling_checks.transition_planning_applies(
            student=student, kind=data["kind"], starts_at=data["starts_at"]
        ),
        invitees=[form.team[u.pk] for u in data["invitees"]],
        guests=data["guests"],
        fingerprint=_fingerprint(form),
    )


def meeting_schedule(request, pk):
    student = staff_access.student_for(
        request.user,
        pk,
        Right.MANAGE,
        related=("school", "case_manager"),
    )
    team = scheduling_checks.team_candidates(student=student, actor=request.user)
    form = MeetingScheduleForm(
        _posted(request, request.POST),
        team=team,
        tz=student.school.tzinfo,
        initial={
            "kind": Meeting.Kind.ANNUAL_REVIEW,
            "duration": 60,
            # SECAs ask to attend, or are ticked here by the case manager.
            "invitees": [m.user.pk for m in team if not m.is_seca],
        },
    )
    preview = None
    if request.method == "POST" and form.is_valid():
        preview = _schedule_preview(form, student)
        confirmed = "confirm" in request.POST
        if confirmed and request.POST.get("previewed") != preview.fingerprint:
            messages.warning(request, _("The details changed: check the preview again."))
        elif confirmed:
            try:
                meeting = scheduling.meeting_schedule(
                    actor=request.user, student=student, **form.service_arguments()
                )
            except DomainError as error:
                error.add_to(form)
            else:
                messages.success(
                    request, _("The meeting is scheduled and the notice sent to the parents.")
                )
                return redirect("meeting_detail", pk=meeting.pk)
    return render(
        request,
        "meetings/scheduling/schedule_form.html",
        {
            "student": student,
            "form": form,
            "preview": preview,
            "notice_days": settings.NOTICE_PERIOD_DAYS,
            # Back to the caseload, or home for a principal, who has none.
            "has_caseload": bool(staff_access.standing_of(request.user).case_manager_at),
        },
        status=400 if form.errors else 200,
    )


def meeting_reschedule(request, pk):
    meeting = access.meeting_for(request.user, pk, Action.RESCHEDULE)
    minutes = int((meeting.ends_at - meeting.starts_at).total_seconds() // 60)
    form = MeetingRescheduleForm(
        _posted(request, request.POST),
        tz=meeting.school.tzinfo,
        initial={"starts_at": meeting.starts_at, "duration": minutes},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            scheduling.meeting_reschedule(
                actor=request.user,
                meeting=meeting,
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                reason=data["reason"],
                short_notice_reason=data["short_notice_reason"],
            )
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(
                request, _("The meeting moved; everyone invited and the parents are told.")
            )
            return redirect("meeting_detail", pk=meeting.pk)
    return _meeting_form(request, meeting, form, "reschedule")


def meeting_cancel(request, pk):
    meeting = access.meeting_for(request.user, pk, Action.CANCEL)
    form = MeetingCancelForm(_posted(request, request.POST))
    if request.method == "POST" and form.is_valid():
        try:
            scheduling.meeting_cancel(
                actor=request.user, meeting=meeting, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(
                request, _("The meeting is cancelled; everyone invited and the parents are told.")
            )
            return redirect("meeting_detail", pk=meeting.pk)
    return _meeting_form(request, meeting, form, "cancel")


def contact_attempt_add(request, pk):
    meeting = access.meeting_for(request.user, pk, Action.LOG_CONTACT)
    form = ContactAttemptForm(
        _posted(request, request.POST),
        tz=meeting.school.tzinfo,
        initial={"attempted_at": timezone.now().replace(second=0, microsecond=0)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            scheduling.contact_attempt_add(actor=request.user, meeting=meeting, **form.cleaned_data)
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(request, _("The contact attempt is recorded."))
            return redirect(reverse("meeting_detail", args=[meeting.pk]) + "#contact-attempts")
    return _meeting_form(request, meeting, form, "contact_attempt")


def meeting_held(request, pk):
    meeting = access.meeting_for(request.user, pk, Action.HOLD)
    invitations = list(meeting.invitations.all())
    form = MeetingHeldForm(
        _posted(request, request.POST),
        invitations=invitations,
        initial={"attended": [inv.pk for inv in invitations if inv.attended]},
    )
    if request.method == "POST" and form.is_valid():
        try:
            scheduling.meeting_mark_held(
                actor=request.user, meeting=meeting, attended_ids=form.cleaned_data["attended"]
            )
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(request, _("The meeting is recorded as held, with who attended."))
            return redirect("meeting_detail", pk=meeting.pk)
    return _meeting_form(request, meeting, form, "held")


# --- The team after scheduling, and the parents' answers given to staff ------------------


def meeting_team(request, pk):
    """Add and remove invitees of a scheduled meeting; the family gets the updated notice."""
    meeting = access.meeting_for(request.user, pk, Action.EDIT_TEAM)
    if request.method == "POST" and "remove" in request.POST:
        return _meeting_team_remove(request, meeting)
    staff, guardians = scheduling.team_addable(meeting=meeting)
    form = InviteeAddForm(_posted(request, request.POST), staff=staff, guardians=guardians)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = scheduling.meeting_invitee_add(
                actor=request.user, meeting=meeting, **form.cleaned_data
            )
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(
                request,
                _("%(name)s is invited; the parents get the updated notice.")
                % {"name": invitation.name},
            )
            return redirect("meeting_team", pk=meeting.pk)
    if request.method == "GET":
        audit_record(
            actor=request.user,
            action="meeting.team_viewed",
            obj=meeting,
            school=meeting.school,
            student=meeting.student,
        )
    return render(
        request,
        "meetings/scheduling/meeting_team.html",
        {
            "meeting": meeting,
            "form": form,
            "invitations": meeting.invitations.select_related("user"),
        },
        status=400 if form.errors else 200,
    )


def _meeting_team_remove(request, meeting):
    """The POST of a "Remove" button on the team page: the invitation's id in `remove`."""
    try:
        invitation = scheduling.meeting_invitee_remove(
            actor=request.user,
            meeting=meeting,
            invitation_id=_int_or_none(request.POST.get("remove")),
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(name)s is no longer invited and is told; the parents get the updated notice.")
            % {"name": invitation.name},
        )
    return redirect("meeting_team", pk=meeting.pk)


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def notice_answer_record(request, pk):
    """A parent's answer to the notice given by phone, on paper or in person."""
    meeting = access.meeting_for(request.user, pk, Action.RECORD_ANSWER)
    form = NoticeAnswerRecordForm(
        _posted(request, request.POST),
        guardians=Guardian.objects.filter(student_id=meeting.student_id).order_by("full_name"),
        initial={"answered_on": timezone.localdate(timezone.now(), meeting.school.tzinfo)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            parents.notice_response_record(actor=request.user, meeting=meeting, **form.cleaned_data)
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(request, _("The parent's answer is recorded."))
            return redirect(reverse("meeting_detail", args=[meeting.pk]) + "#answers")
    return _meeting_form(request, meeting, form, "record_answer")


def _meeting_form(request, meeting, form, action):
    return render(
        request,
        "meetings/scheduling/meeting_form.html",
        {
            "meeting": meeting,
            "form": form,
            "action": action,
            "multipart": action == "plan",
            "notice_days": settings.NOTICE_PERIOD_DAYS,
        },
        status=400 if form.errors else 200,
    )


# --- The finalized plan -------------------------------------------------------------------


def plan_upload(request, pk):
    meeting = access.meeting_for(request.user, pk, Action.UPLOAD_PLAN)
    form = PlanUploadForm(_posted(request, request.POST), _posted(request, request.FILES))
    if request.method == "POST" and form.is_valid():
        try:
            plan = plans.plan_upload(
                actor=request.user, meeting=meeting, upload=form.cleaned_data["file"]
            )
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(
                request,
                _("Version %(version)d of the plan is stored. Finalize it to send it out.")
                % {"version": plan.version},
            )
            return redirect(reverse("meeting_detail", args=[meeting.pk]) + "#plans")
    return _meeting_form(request, meeting, form, "plan")


@require_POST
def plan_finalize(request, pk):
    plan = access.plan_for(request.user, pk, Action.FINALIZE)
    try:
        plan = plans.plan_finalize(actor=request.user, plan=plan)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Version %(version)d is final; it goes to the parents and to the SECAs.")
            % {"version": plan.version},
        )
    return redirect(reverse("meeting_detail", args=[plan.meeting_id]) + "#plans")


def plan_download(request, pk):
    plan = access.plan_for(request.user, pk, Action.DOWNLOAD)
    try:
        handle = plan.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    plans.plan_download_record(actor=request.user, plan=plan)
    student = plan.meeting.student
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"iep-plan-{slugify(student.full_name)}-v{plan.version}.pdf",
        content_type="application/pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- The panel on the meeting page ----------------------------------------------------------


def meeting_panel_lists(user, meeting: Meeting, *, papers: bool) -> dict:
    """What the meeting page's scheduling panel shows, as querysets for the page to read
    together (iepcoord.db.read_together): to the school's staff (`papers`: they may take
    Action.VIEW_PAPERS), the notices sent and the parents' answers, the contact attempts
    and every plan; to others, the plans they may download."""
    lists = {
        "panel_plans": access.plans(user, meeting)
        .select_related("uploaded_by")
        .order_by("-version")
    }
    if papers:
        lists |= {
            "notices": meeting.notices.select_related("guardian"),
            "notice_responses": meeting.responses.select_related("guardian", "recorded_by"),
            "contact_attempts": meeting.contact_attempts.select_related("made_by"),
        }
    return lists


def meeting_panel_context(user, meeting: Meeting, lists: dict, *, actions) -> dict:
    """The panel's lists as read, each plan with its actions; to those who do not see the
    meeting's papers, only the finalized plans."""
    plans = lists["panel_plans"]
    for index, plan in enumerate(plans):
        plan.meeting = meeting
        plan.is_latest = index == 0
        plan.actions = access.allowed_actions(plan, user)
    if Action.VIEW_PAPERS not in actions:
        return {"panel_plans": [plan for plan in plans if plan.finalized_at]}
    return {
        "notices": lists["notices"],
        "notice_responses": lists["notice_responses"],
        "contact_attempts": lists["contact_attempts"],
        "panel_plans": plans,
    }
