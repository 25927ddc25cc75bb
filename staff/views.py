from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .forms import DesignationForm
from .models import Designation, School
from .services import DomainError, designation_add, designation_remove, designee_candidates


def designees(request, school_pk):
    """A principal names and removes the designees who decide SECA requests with them."""
    school = get_object_or_404(
        School.objects.where_principal(request.user).prefetch_related(
            Prefetch(
                "designations", queryset=Designation.objects.select_related("designee", "named_by")
            )
        ),
        pk=school_pk,
    )
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
            school__in=School.objects.where_principal(request.user)
        ).select_related("designee", "school"),
        pk=pk,
    )
    designation_remove(principal=request.user, designation=designation)
    messages.success(
        request, _("%(name)s is no longer a designee.") % {"name": designation.designee.full_name}
    )
    return redirect("designees", school_pk=designation.school_id)
