from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from .access import Right, school_for, schools, standing_of, student_for
from .audit import audit_record
from .forms import DesignationForm
from .models import Designation, User
from .selectors import school_access_list, student_access_log
from .services import DomainError, designation_add, designation_remove, designee_candidates


# Public, so a signed-out parent can read the sign-in page in Spanish.
@login_not_required
@require_POST
def set_language(request):
    """The language switch: this browser's pages (Django's cookie), and for a signed-in
    person their preference too, which their emails and notices follow."""
    response = django_set_language(request)
    language = request.POST.get("language")
    user = request.user
    if user.is_authenticated and language in dict(settings.LANGUAGES):
        User.objects.filter(pk=user.pk).exclude(preferred_language=language).update(
            preferred_language=language
        )
    return response


def designees(request, school_pk):
    """A principal names and removes the designees who decide SECA requests with them."""
    school = school_for(request.user, school_pk, "name_designees")
    school.current_designations = list(school.designations.select_related("designee", "named_by"))
    candidates = designee_candidates(school=school).exclude(designations__school=school)
    form = DesignationForm(request.POST or None, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        try:
            designation_add(
                principal=request.user, school=school, designee=form.cleaned_data["designee"]
            )
        except DomainError as error:
            form.add_error("designee", error.message)
        else:
            messages.success(
                request,
                _("%(name)s can now decide requests.")
                % {"name": form.cleaned_data["designee"].full_name},
            )
            return redirect("designees", school_pk=school.pk)
    return render(
        request,
        "staff/designees.html",
        {"school": school, "form": form},
        status=400 if form.errors else 200,
    )


@require_POST
def designee_remove(request, pk):
    designation = get_object_or_404(
        Designation.objects.filter(
            school__in=schools(request.user, right="name_designees")
        ).select_related("designee", "school"),
        pk=pk,
    )
    designation_remove(principal=request.user, designation=designation)
    messages.success(
        request, _("%(name)s is no longer a designee.") % {"name": designation.designee.full_name}
    )
    return redirect("designees", school_pk=designation.school_id)


def access_log(request, pk):
    """Who viewed or changed the student's record, when and why (34 CFR 300.614): for the
    student's case manager, the principal, district administrators and the student's
    guardians (who see names, roles, dates and purposes, not addresses)."""
    student = student_for(request.user, pk, Right.VIEW_ACCESS_LOG)
    page = student_access_log(student=student, page_number=request.GET.get("page"))
    audit_record(
        actor=request.user,
        action="access_log.viewed",
        obj=student,
        school=student.school,
        student=student,
    )
    return render(
        request,
        "staff/access_log.html",
        {
            "student": student,
            "page": page,
            "show_addresses": Right.VIEW_RECORDS in standing_of(request.user).rights_on(student),
        },
    )


def access_list(request, pk):
    """The printable list of the employees who may see the school's students' records, with
    their positions (34 CFR 300.623(d)); for the school's leaders and the district."""
    school = school_for(request.user, pk, "view_access_list")
    return render(
        request,
        "staff/access_list.html",
        {
            "school": school,
            "entries": school_access_list(school=school),
            "printed_at": timezone.now(),
        },
    )
