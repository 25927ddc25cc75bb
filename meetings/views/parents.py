"""The parent's pages: the notice of meeting with their answer and their wish about the
SECA, and their children's support teams.

Every view fetches through an access queryset (meetings/services/parents.py), so another
family's child or meeting is a 404 by construction; answers are POST only and go through
the services, whose DomainError is shown next to the field it names.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from staff.models import Student
from staff.services import DomainError, audit_record

from ..forms.parents import NoticeResponseForm, ParentWishForm
from ..models import Meeting, NoticeResponse, ParentWish
from ..services import parents
from ..services.notices import notice_context


def _notice_meeting_for(user, pk) -> Meeting:
    return get_object_or_404(
        parents.notice_meetings_for(user).select_related(
            "student__school", "student__case_manager", "school", "scheduled_by"
        ),
        pk=pk,
    )


def _render_notice(request, meeting, *, answer_form=None, wish_form=None, status=200):
    guardian = parents.guardian_for(user=request.user, student_id=meeting.student_id)
    answer = wish = None
    if guardian is not None:
        answer = NoticeResponse.objects.filter(meeting=meeting, guardian=guardian).first()
        wish = ParentWish.objects.filter(meeting=meeting, guardian=guardian).first()
    else:
        # School staff reading a family's notice: a record view (34 CFR 300.614).
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
        **notice_context(meeting=meeting, guardian=guardian),
        "for_email": False,
        "notice_url": request.build_absolute_uri(reverse("notice", args=[meeting.pk])),
        "is_guardian": guardian is not None,
        "answerable": guardian is not None
        and meeting.state == Meeting.State.SCHEDULED
        and not meeting.has_started,
        "my_answer": answer,
        "my_wish": wish,
        "answer_form": answer_form,
        "wish_form": wish_form,
    }
    return render(request, "meetings/parents/notice.html", context, status=status)


def notice(request, pk):
    """The notice of meeting (34 CFR 300.322), as the family's email says it, with the
    parent's answer and their wish about the SECA."""
    return _render_notice(request, _notice_meeting_for(request.user, pk))


def _guardian_or_404(request, meeting):
    guardian = parents.guardian_for(user=request.user, student_id=meeting.student_id)
    if guardian is None:
        # School staff may read the notice; only the family answers it.
        raise Http404
    return guardian


@require_POST
def notice_answer(request, pk):
    meeting = _notice_meeting_for(request.user, pk)
    guardian = _guardian_or_404(request, meeting)
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
    meeting = _notice_meeting_for(request.user, pk)
    guardian = _guardian_or_404(request, meeting)
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
    try:
        page = parents.child_support_team(user=request.user, student_pk=pk, now=timezone.now())
    except Student.DoesNotExist:
        raise Http404 from None
    return render(request, "meetings/parents/child.html", {"page": page, "student": page.student})


def my_children(request):
    children = parents.children_list(user=request.user, now=timezone.now())
    return render(request, "meetings/parents/children.html", {"children": children})
