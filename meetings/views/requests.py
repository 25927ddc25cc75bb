"""SECA attendance requests, their decisions, SECA feedback and the meeting's papers.

Every view fetches through an access queryset, so another school's or family's record is a
404 by construction; state changes are POST only and go through meetings.attendance.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from staff.models import Role, School, User
from staff.services import DomainError, audit_record

from ..forms.attendance import ApproveForm, AttendanceRequestForm, DenyForm, FeedbackForm
from ..models import AttendanceRequest, Invitation, Meeting, Notification, SecaFeedback
from ..queue import approval_queue as build_queue
from ..queue import decision_context, requests_decidable_by
from ..services import attendance
from .scheduling import meeting_panel_context


def _meeting_for(user, pk) -> Meeting:
    return get_object_or_404(
        Meeting.objects.visible_to(user).select_related(
            "student__case_manager", "school", "scheduled_by"
        ),
        pk=pk,
    )


def _team_meeting_for(user, pk) -> Meeting:
    """The meeting, for someone who may see the team's papers (requests and feedback)."""
    return get_object_or_404(
        Meeting.objects.team_visible_to(user).select_related(
            "student__case_manager", "school", "scheduled_by"
        ),
        pk=pk,
    )


def meeting_detail(request, pk):
    meeting = _meeting_for(request.user, pk)
    is_team = Meeting.objects.team_visible_to(request.user).filter(pk=meeting.pk).exists()
    requests = meeting.requests.select_related("seca", "decided_by", "covered_by")
    feedback = meeting.feedback.select_related("seca")
    if is_team:
        feedback = feedback.filter(submitted_at__isnull=False)
    else:
        # A SECA sees only their own request and feedback; a parent neither.
        requests = requests.filter(seca=request.user)
        feedback = feedback.filter(seca=request.user)
    audit_record(
        actor=request.user,
        action="meeting.viewed",
        obj=meeting,
        school=meeting.school,
        student=meeting.student,
    )
    return render(
        request,
        "meetings/meeting_detail.html",
        {
            "meeting": meeting,
            "is_team": is_team,
            "invitations": meeting.invitations.select_related("user"),
            "requests": requests,
            "feedback_list": feedback,
            "parent_wishes": meeting.parent_wishes.select_related("guardian") if is_team else [],
            **meeting_panel_context(request.user, meeting, is_team=is_team),
        },
    )


def meeting_packet(request, pk):
    meeting = _team_meeting_for(request.user, pk)
    audit_record(
        actor=request.user,
        action="meeting.packet_printed",
        obj=meeting,
        school=meeting.school,
        student=meeting.student,
    )
    return render(
        request,
        "meetings/meeting_packet.html",
        {
            "meeting": meeting,
            "invitations": meeting.invitations.select_related("user"),
            "requests": meeting.requests.select_related("seca", "decided_by", "covered_by"),
            "feedback_list": meeting.feedback.filter(submitted_at__isnull=False).select_related(
                "seca"
            ),
            "parent_wishes": meeting.parent_wishes.select_related("guardian"),
            "printed_at": timezone.now(),
        },
    )


def _seca_meeting_for(user, pk) -> Meeting:
    """The meeting, for a SECA assigned to its student this year; anyone else gets a 404."""
    meeting = _meeting_for(user, pk)
    if not attendance.is_assigned_seca(seca=user, student=meeting.student):
        raise Http404
    return meeting


def request_create(request, pk):
    meeting = _seca_meeting_for(request.user, pk)
    form = AttendanceRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            attendance.attendance_request_submit(
                seca=request.user, meeting=meeting, note=form.cleaned_data["note"]
            )
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(request, _("Your request was sent to the principal and designees."))
            return redirect("home")
    return render(
        request,
        "meetings/request_form.html",
        {"meeting": meeting, "form": form},
        status=400 if form.errors else 200,
    )


@require_POST
def request_withdraw(request, pk):
    req = get_object_or_404(AttendanceRequest.objects.filter(seca=request.user), pk=pk)
    try:
        attendance.attendance_request_withdraw(seca=request.user, attendance_request=req)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your request was withdrawn."))
    return redirect("home")


def feedback_edit(request, pk):
    meeting = _seca_meeting_for(request.user, pk)
    feedback = SecaFeedback.objects.filter(meeting=meeting, seca=request.user).first()
    attendance_request = (
        meeting.requests.filter(seca=request.user)
        .select_related("decided_by")
        .order_by("-created_at")
        .first()
    )
    attended = (
        Invitation.objects.filter(meeting=meeting, user=request.user)
        .values_list("attended", flat=True)
        .first()
    )
    editable = meeting.state == Meeting.State.SCHEDULED and not meeting.has_started
    form = FeedbackForm(request.POST or None, instance=feedback)
    if request.method == "POST" and form.is_valid():
        submit = "submit" in request.POST
        try:
            attendance.feedback_save(
                seca=request.user, meeting=meeting, data=form.cleaned_data, submit=submit
            )
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(
                request,
                _("Your feedback was submitted to the team.")
                if submit
                else _("Your draft was saved."),
            )
            return redirect("feedback_edit", pk=meeting.pk)
    if not editable:
        for field in form.fields.values():
            field.disabled = True
    return render(
        request,
        "meetings/feedback_form.html",
        {
            "meeting": meeting,
            "form": form,
            "feedback": feedback,
            "editable": editable,
            "attendance_request": attendance_request,
            "not_honored": attendance_request.not_honored_reason(attended)
            if attendance_request
            else None,
        },
        status=400 if form.errors else 200,
    )


def approval_queue(request):
    if not School.objects.where_approver(request.user).exists():
        raise Http404
    return render(
        request, "meetings/approval_queue.html", {"items": build_queue(approver=request.user)}
    )


def request_decide(request, pk):
    req = get_object_or_404(requests_decidable_by(request.user), pk=pk)
    (item,) = decision_context([req])
    staff = (
        User.objects.staff_of(req.meeting.school)
        .exclude(pk=req.seca_id)
        .filter(roles__kind=Role.Kind.SECA)
        .distinct()
    )
    approve_form = ApproveForm(initial={"version": req.version}, staff=staff)
    deny_form = DenyForm(initial={"version": req.version})
    if request.method == "POST":
        approving = "approve" in request.POST
        form = ApproveForm(request.POST, staff=staff) if approving else DenyForm(request.POST)
        if approving:
            approve_form = form
        else:
            deny_form = form
        if form.is_valid():
            try:
                attendance.attendance_request_decide(
                    approver=request.user,
                    attendance_request=req,
                    approve=approving,
                    seen_version=form.cleaned_data["version"],
                    **{k: v for k, v in form.cleaned_data.items() if k != "version"},
                )
            except DomainError as error:
                error.add_to(form)
            else:
                messages.success(request, _("Approved.") if approving else _("Denied."))
                return redirect("approval_queue")
    return render(
        request,
        "meetings/request_decide.html",
        {
            "item": item,
            "approve_form": approve_form,
            "deny_form": deny_form,
            "decidable": req.meeting.state == Meeting.State.SCHEDULED
            and not req.meeting.has_started
            and req.status in ("pending", "approved", "denied"),
        },
        status=400 if request.method == "POST" else 200,
    )


def notification_list(request):
    notifications = Notification.objects.filter(user=request.user)[:100]
    return render(request, "meetings/notification_list.html", {"notifications": notifications})


@require_POST
def notifications_mark_read(request):
    Notification.objects.filter(user=request.user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    return redirect("notification_list")
