"""The parent's pages: the notice of meeting with their answer and their wish about the
SECA, and their children's support teams.

Every view fetches through the access layer, so another family's child or meeting is a 404
and a known one without the right a 403; answers are POST only and go through the
services, whose DomainError is shown next to the field it names.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from iepcoord.db import prepared, read_together
from staff.access import Right, student_for
from staff.audit import audit_record
from staff.services import DomainError

from .. import access
from ..access import Action
from ..forms.parents import NoticeResponseForm, ParentWishForm
from ..services import parents
from ..services.notices import notice_context, notice_lists


def _one(lists: dict, name: str):
    """The row of a list read together that holds one at most, or None."""
    rows = lists.get(name)
    return rows[0] if rows else None


@prepared()
def _render_notice(request, meeting, *, answer_form=None, wish_form=None, status=200):
    # The notice's lists and the guardian's own answer, wish and record in one query.
    lists = read_together(
        **notice_lists(meeting), **parents.notice_reads(user=request.user, meeting=meeting)
    )
    guardian, answer, wish = (_one(lists, name) for name in ("guardian", "answer", "wish"))
    if guardian is not None:
        # What came of the SECAs' requests: the parent follows the outcome of their wish.
        parents.attach_outcomes([meeting], lists["outcomes"])
    # A record view (34 CFR 300.614), by the family or by the school's staff.
    audit_record(
        actor=request.user,
        action="notice.viewed",
        obj=meeting,
        school=meeting.school,
        student=meeting.student,
    )
    if answer_form is None:
        answer_form = NoticeResponseForm(
            initial={"answer": answer.answer, "note": answer.note} if answer else None
        )
    if wish_form is None:
        wish_form = ParentWishForm(initial={"wish": wish.wish, "note": wish.note} if wish else None)
    context = {
        **notice_context(meeting=meeting, lists=lists, guardian=guardian),
        "for_email": False,
        "notice_url": request.build_absolute_uri(reverse("notice", args=[meeting.pk])),
        "is_guardian": guardian is not None,
        "manages_student": Right.MANAGE in access.rights_on(request.user, meeting),
        "answerable": Action.ANSWER_NOTICE in access.allowed_actions(meeting, request.user),
        "my_answer": answer,
        "my_wish": wish,
        "seca_outcomes": getattr(meeting, "seca_outcomes", []),
        "answer_form": answer_form,
        "wish_form": wish_form,
    }
    return render(request, "meetings/parents/notice.html", context, status=status)


def notice(request, pk):
    """The notice of meeting (34 CFR 300.322), as the family's email says it, with the
    parent's answer and their wish about the SECA."""
    meeting = access.meeting_for(
        request.user, pk, Action.READ_NOTICE, related=access.MEETING_NOTICE
    )
    return _render_notice(request, meeting)


def _answer_meeting_for(request, pk):
    """The meeting and the person's guardian record, for a guardian of its student."""
    meeting = access.meeting_for(
        request.user, pk, Action.ANSWER_NOTICE, related=access.MEETING_NOTICE
    )
    return meeting, parents.guardian_for(user=request.user, student_id=meeting.student_id)


@require_POST
def notice_answer(request, pk):
    meeting, guardian = _answer_meeting_for(request, pk)
    form = NoticeResponseForm(request.POST)
    if form.is_valid():
        try:
            parents.notice_response_save(guardian=guardian, meeting=meeting, **form.cleaned_data)
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(request, _("Thank you: your answer was sent to the school."))
            return redirect("notice", pk=meeting.pk)
    return _render_notice(request, meeting, answer_form=form, status=400)


@require_POST
def parent_wish(request, pk):
    meeting, guardian = _answer_meeting_for(request, pk)
    form = ParentWishForm(request.POST)
    if form.is_valid():
        try:
            parents.parent_wish_save(guardian=guardian, meeting=meeting, **form.cleaned_data)
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(request, _("Your request about the SECA was saved."))
            return redirect("notice", pk=meeting.pk)
    return _render_notice(request, meeting, wish_form=form, status=400)


def parent_child(request, pk):
    """My child's support team: who works with them this year, how to reach the school,
    upcoming meetings and finalized plans."""
    student = student_for(
        request.user,
        pk,
        Right.GUARDIAN,
        related=("school", "case_manager"),
    )
    page = parents.child_support_team(user=request.user, student=student, now=timezone.now())
    audit_record(
        actor=request.user,
        action="child.viewed",
        obj=student,
        school=student.school,
        student=student,
    )
    return render(request, "meetings/parents/child.html", {"page": page, "student": page.student})


def my_children(request):
    children = parents.children_list(user=request.user, now=timezone.now())
    return render(request, "meetings/parents/children.html", {"children": children})
