"""SECA attendance requests, their decisions, SECA feedback and the meeting's papers.

Every view fetches through meetings/access.py, so another school's or family's record is a
404 by construction and a known record without the right is a 403; the actions a page
offers are access.allowed_actions(). State changes are POST only and go through the
services.
"""

from django.contrib import messages
from django.db.models import prefetch_related_objects
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from iepcoord.db import read_together
from staff.access import Right, standing_of
from staff.audit import audit_record
from staff.models import StayRequest
from staff.services import DomainError

from .. import access
from ..access import Action
from ..forms.attendance import ApproveForm, AttendanceRequestForm, DenyForm, FeedbackForm
from ..models import Invitation, Notification, SecaFeedback
from ..queue import WISHES, decision_context, stay_requests_to_decide
from ..queue import approval_queue as build_queue
from ..services import attendance
from .scheduling import meeting_panel_context, meeting_panel_lists


def _latest(requests, user):
    """The person's own latest request among `requests`, or None."""
    own = [r for r in requests if r.seca_id == user.pk]
    return max(own, key=lambda r: (r.created_at, r.pk), default=None)


def meeting_detail(request, pk):
    user = request.user
    meeting = access.meeting_for(user, pk)
    papers = access.may(user, Action.VIEW_PAPERS, meeting)
    audit_record(
        actor=user,
        action="meeting.viewed",
        obj=meeting,
        school=meeting.school,
        student=meeting.student,
    )
    # What the person may read of the papers comes from the access layer: the school's
    # staff every request and submitted feedback; a SECA their own; a parent neither.
    lists = {
        # One meeting's: the model's order (by the meeting's start, then made) is the order
        # they were made, with no join to the meeting to sort by.
        "requests": access.requests(user, meeting)
        .select_related("seca", "decided_by", "covered_by")
        .order_by("pk"),
        "invitations": meeting.invitations.all(),
        "feedback_list": access.feedback(user, meeting).select_related("seca"),
        **meeting_panel_lists(user, meeting, papers=papers),
    }
    if papers:
        lists["parent_wishes"] = access.wishes(user, meeting).select_related("guardian")
    # The page's short lists in one query: read one by one, they cost more in round trips
    # and planning than in rows.
    lists = read_together(**lists)
    requests = lists["requests"]
    for req in requests:
        req.meeting = meeting
        req.actions = access.allowed_actions(req, user)
    own = _latest(requests, user)
    actions = access.allowed_actions(
        meeting,
        user,
        own_request=own,
        # After the meeting, a SECA not honored may still give feedback (one query).
        late_feedback=own is not None and access.late_feedback_allowed(user, meeting),
    )
    return render(
        request,
        "meetings/meeting_detail.html",
        {
            "meeting": meeting,
            "actions": actions,
            # The student's pages the meeting page links to (they check the same right).
            "manages_student": Right.MANAGE in access.rights_on(user, meeting),
            "invitations": lists["invitations"],
            "requests": requests,
            "feedback_list": lists["feedback_list"],
            "parent_wishes": lists.get("parent_wishes", []),
            **meeting_panel_context(user, meeting, lists, actions=actions),
        },
    )


def meeting_packet(request, pk):
    meeting = access.meeting_for(request.user, pk, Action.VIEW_PAPERS)
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
            "feedback_list": meeting.feedback.filter(
                submitted_at__isnull=False, after_meeting=False
            ).select_related("seca"),
            # Contract: feedback when not honored, whenever it happens (after the meeting).
            "addenda": meeting.feedback.filter(
                submitted_at__isnull=False, after_meeting=True
            ).select_related("seca"),
            "parent_wishes": meeting.parent_wishes.select_related("guardian"),
            "printed_at": timezone.now(),
        },
    )


def request_create(request, pk):
    meeting = access.meeting_for(request.user, pk, Action.REQUEST)
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
    req = access.request_for(request.user, pk, Action.WITHDRAW)
    try:
        attendance.attendance_request_withdraw(seca=request.user, attendance_request=req)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your request was withdrawn."))
    return redirect("home")


def feedback_edit(request, pk):
    meeting = access.meeting_for(request.user, pk, Action.GIVE_FEEDBACK)
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
    late = access.late_feedback_allowed(request.user, meeting)
    editable = Action.GIVE_FEEDBACK in access.allowed_actions(
        meeting, request.user, late_feedback=late
    )
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
            if submit and late:
                done = _("Your feedback reaches the case manager as an addendum to the packet.")
            elif submit:
                done = _("Your feedback was submitted to the team.")
            else:
                done = _("Your draft was saved.")
            messages.success(request, done)
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
            "after_meeting": late,
            "attendance_request": attendance_request,
            "not_honored": attendance_request.not_honored_reason(attended)
            if attendance_request
            else None,
        },
        status=400 if form.errors else 200,
    )


def approval_queue(request):
    if not standing_of(request.user).approver_at:
        raise Http404
    stays = stay_requests_to_decide(
        approver=request.user,
        statuses=(StayRequest.Status.PENDING, StayRequest.Status.APPROVED),
    )
    return render(
        request,
        "meetings/approval_queue.html",
        {
            "items": build_queue(approver=request.user),
            # Contract: requests to stay with a student, in the same queue; the approved ones
            # are honored when next year's assignments are made.
            "stay_pending": stays[StayRequest.Status.PENDING],
            "stay_approved": stays[StayRequest.Status.APPROVED],
        },
    )


def decision_posted(request, *, approve_form, deny_form, decide):
    """The two forms of a decision page (a request to attend, a request to stay), and on a
    POST the pressed one checked and `decide(approve=..., seen_version=..., **fields)`
    called; a refusal goes next to its field. (approve form, deny form, the redirect once
    decided, or None). `approve_form` and `deny_form` make a form from the POST or None."""
    forms = {True: approve_form(), False: deny_form()}
    if request.method != "POST":
        return forms[True], forms[False], None
    approving = "approve" in request.POST
    form = forms[approving] = (approve_form if approving else deny_form)(request.POST)
    if form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        try:
            decide(approve=approving, seen_version=form.cleaned_data["version"], **fields)
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(request, _("Approved.") if approving else _("Denied."))
            return forms[True], forms[False], redirect("approval_queue")
    return forms[True], forms[False], None


def request_decide(request, pk):
    req = access.request_for(request.user, pk, Action.DECIDE)
    prefetch_related_objects([req], WISHES)
    if request.method == "GET":
        audit_record(
            actor=request.user,
            action="request.decision_viewed",
            obj=req,
            school=req.meeting.school,
            student=req.meeting.student,
        )
    (item,) = decision_context([req])
    approve_form, deny_form, decided = decision_posted(
        request,
        approve_form=lambda data=None: ApproveForm(
            # Any staff member of the school free then, not a SECA (the service checks
            # it again).
            data,
            initial={"version": req.version},
            staff=item.free_staff,
        ),
        deny_form=lambda data=None: DenyForm(data, initial={"version": req.version}),
        decide=lambda **decision: attendance.attendance_request_decide(
            approver=request.user, attendance_request=req, **decision
        ),
    )
    if decided:
        return decided
    return render(
        request,
        "meetings/request_decide.html",
        {
            "item": item,
            "approve_form": approve_form,
            "deny_form": deny_form,
            "decidable": Action.DECIDE in access.allowed_actions(req, request.user),
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
