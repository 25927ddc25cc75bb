"""The aide support a student's IEP requires, and the students whose required support has
no SECA assigned (an IEP not carried out): listed for the school's principal and
designees and the district administrators, with the days it has been unstaffed."""

from django.contrib import messages
from django.db.models import Count, Min, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from .access import Right, school_for, schools, standing_of, student_for
from .audit import audit_students_viewed
from .forms import AideSupportForm
from .models import Student
from .selectors import page_of_schools
from .services import DomainError, student_aide_support_update


def _unstaffed():
    return Student.objects.filter(unstaffed_since__isnull=False)


def unstaffed_students(request, pk):
    """One school's unstaffed students, longest unstaffed first."""
    school = school_for(request.user, pk, "unstaffed")
    standing = standing_of(request.user)
    today = timezone.localdate()
    students = list(
        _unstaffed()
        .filter(standing.filter_for(Right.VIEW), school=school)
        .select_related("school", "case_manager")
        .order_by("unstaffed_since", "last_name", "first_name", "pk")
    )
    for student in students:
        student.days_unstaffed = (today - student.unstaffed_since).days
        student.manageable = Right.MANAGE in standing.rights_on(student)
    audit_students_viewed(actor=request.user, action="unstaffed.viewed", students=students)
    return render(
        request,
        "staff/unstaffed/school.html",
        {"school": school, "students": students, "district": standing.district_admin},
    )


def unstaffed_district(request):
    """Per school: how many students are unstaffed, how many of them 1:1, since when the
    longest; each school's list one click away. Two queries, whatever the district's size."""
    if not standing_of(request.user).district_admin:
        raise Http404
    counts = {
        row["school"]: row
        for row in _unstaffed()
        .order_by()
        .values("school")
        # Counting a column of student_unstaffed_idx: the counts come from the index alone.
        .annotate(
            unstaffed=Count("school"),
            one_to_one=Count("school", filter=Q(aide_support=Student.AideSupport.ONE_TO_ONE)),
            oldest=Min("unstaffed_since"),
        )
    }
    today = timezone.localdate()
    rows = []
    # Ids and names: the district's hundreds of schools as models took longer than counting.
    for pk, name in (
        schools(request.user, right="unstaffed")
        .filter(pk__in=list(counts))
        .values_list("pk", "name")
    ):
        row = counts[pk]
        rows.append((pk, name, row["unstaffed"], row["one_to_one"], (today - row["oldest"]).days))
    rows.sort(key=lambda r: (-r[2], r[1]))
    return render(
        request,
        "staff/unstaffed/district.html",
        {
            "rows": page_of_schools(rows, request.GET.get("page")),
            "total": sum(r[2] for r in rows),
        },
    )


def aide_support_edit(request, pk):
    """The student's case manager or principal records the aide support the IEP requires."""
    student = student_for(request.user, pk, Right.MANAGE)
    form = AideSupportForm(
        request.POST or None,
        initial={
            "aide_support": student.aide_support,
            "aide_minutes_per_day": student.aide_minutes_per_day,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            student_aide_support_update(actor=request.user, student=student, **form.cleaned_data)
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(
                request,
                _("The aide support of %(name)s was saved.") % {"name": student.full_name},
            )
            return redirect("aide_support_edit", pk=student.pk)
    return render(
        request,
        "staff/unstaffed/aide_support.html",
        {
            "student": student,
            "form": form,
            "has_caseload": bool(standing_of(request.user).case_manager_at),
            "lists_unstaffed": schools(request.user, right="unstaffed")
            .filter(pk=student.school_id)
            .exists(),
        },
        status=400 if form.errors else 200,
    )
