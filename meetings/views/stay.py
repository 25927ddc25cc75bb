"""Requests to stay with a student: the SECA asks and follows them; the principal or a
designee decides them from the approval queue, as requests to attend. Every fetch goes
through staff/access.py: another school's request is a 404."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from staff import access as staff_access
from staff.access import Right
from staff.audit import audit_record
from staff.models import StayRequest, Student
from staff.services import DomainError

from ..forms.stay import StayApproveForm, StayClassroomForm, StayDenyForm, StayRequestForm
from ..services import stay as stay_services
from .requests import decision_posted


def stay_request_list(request):
    """The SECA's requests to stay, with their outcomes, and the students and classrooms
    of this year they may ask to stay with."""
    standing = staff_access.standing_of(request.user)
    if not standing.is_seca:
        raise Http404
    return render(
        request,
        "meetings/stay/list.html",
        {
            "stay_requests": StayRequest.objects.filter(seca=request.user)
            .select_related("student", "decided_by")
            .order_by("-created_at", "-pk"),
            "students": staff_access.students(request.user, Right.ASK_TO_STAY)
            .select_related("school")
            .order_by("last_name", "first_name"),
            "classrooms": staff_access.stay_classrooms(request.user),
        },
    )


def stay_request_create(request, pk):
    student = staff_access.fetch_or_refuse(
        request.user,
        Student,
        staff_access.standing_of(request.user).filter_for(Right.ASK_TO_STAY),
        pk,
        related=("school",),
        allowed=lambda student: True,
        action=f"student.{Right.ASK_TO_STAY}",
        student_of=lambda student: student,
    )
    form = StayRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            stay_services.stay_request_submit(
                seca=request.user,
                student=student,
                occasion=form.cleaned_data["occasion"],
                note=form.cleaned_data["note"],
            )
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(request, _("Your request was sent to the principal and designees."))
            return redirect("stay_request_list")
    return render(
        request,
        "meetings/stay/form.html",
        {"student": student, "form": form},
        status=400 if form.errors else 200,
    )


def stay_request_create_classroom(request):
    """A request to stay with a classroom of the SECA's own schedule (staff.access)."""
    if not staff_access.standing_of(request.user).is_seca:
        raise Http404
    classrooms = staff_access.stay_classrooms(request.user)
    form = StayClassroomForm(request.POST or None, classrooms=classrooms)
    if request.method == "POST" and form.is_valid():
        school_id, classroom = form.cleaned_data["classroom"]
        try:
            stay_services.stay_request_submit_classroom(
                seca=request.user,
                school_id=school_id,
                classroom=classroom,
                occasion=form.cleaned_data["occasion"],
                note=form.cleaned_data["note"],
            )
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(request, _("Your request was sent to the principal and designees."))
            return redirect("stay_request_list")
    return render(
        request,
        "meetings/stay/form_classroom.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


def stay_request_withdraw(request, pk):
    """GET: what is withdrawn, to confirm; POST: withdraw it."""
    stay = staff_access.stay_request_for(request.user, pk, "withdraw")
    if request.method == "POST":
        try:
            stay_services.stay_request_withdraw(seca=request.user, stay_request=stay)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Your request was withdrawn."))
        return redirect("stay_request_list")
    return render(request, "meetings/stay/withdraw.html", {"stay": stay})


def stay_request_decide(request, pk):
    stay = staff_access.stay_request_for(request.user, pk, "decide")
    if request.method == "GET":
        audit_record(
            actor=request.user,
            action="stay_request.decision_viewed",
            obj=stay,
            school=stay.school,
            student=stay.student,
        )
    approve_form, deny_form, decided = decision_posted(
        request,
        approve_form=lambda data=None: StayApproveForm(data, initial={"version": stay.version}),
        deny_form=lambda data=None: StayDenyForm(
            data, initial={"version": stay.version}, stay=stay
        ),
        decide=lambda **decision: stay_services.stay_request_decide(
            approver=request.user, stay_request=stay, **decision
        ),
    )
    if decided:
        return decided
    return render(
        request,
        "meetings/stay/decide.html",
        {
            "stay": stay,
            "approve_form": approve_form,
            "deny_form": deny_form,
            "decidable": stay_services.stay_decidable(stay),
        },
        status=400 if request.method == "POST" else 200,
    )
