"""SECA training and the restraint and time-out policy (README "Training and the restraint
policy"): each SECA's own page; the school's, for the principal and designees, who record
completions; the district's counts, its CSV import and the policy's upload."""

from django.contrib import messages
from django.db.models import Count, OuterRef, Subquery
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import access
from .forms_training import PolicyUploadForm, TrainingImportForm, TrainingRecordForm
from .models import PolicyCopy, RestraintPolicy, School, Training, User
from .policy import policy_acknowledge, policy_upload
from .selectors import page_of_schools
from .services import DomainError
from .training import (
    State,
    district_counts,
    training_import,
    training_record,
    trainings_of,
)

# The district's list shows this many policies, the newest first.
POLICIES_SHOWN = 20


def _own_copy(user, policy):
    if policy is None:
        return None
    return PolicyCopy.objects.filter(policy=policy, seca=user).first()


@require_GET
def my_training(request):
    """A SECA's own trainings (done, due, overdue) and this year's policy: nobody else's."""
    if not access.has_own_training(request.user):
        raise Http404
    today = timezone.localdate()
    policy = RestraintPolicy.objects.current(today)
    return render(
        request,
        "staff/training/mine.html",
        {
            "trainings": trainings_of([request.user.pk], today=today)[request.user.pk],
            "policy": policy,
            "copy": _own_copy(request.user, policy),
            "State": State,
        },
    )


@require_GET
def training_school(request, pk):
    """Who at the school is overdue or due soon for training, and who has not opened this
    year's policy: the principal and designees (district administrators read it too)."""
    school = access.school_for(request.user, pk, "training")
    today = timezone.localdate()
    policy = RestraintPolicy.objects.current(today)
    acknowledged = PolicyCopy.objects.filter(policy=policy, seca=OuterRef("pk")).values(
        "acknowledged_at"
    )
    secas = list(
        User.objects.active_secas(school.pk)
        .annotate(acknowledged_at=Subquery(acknowledged[:1]))
        .order_by("full_name", "pk")
    )
    statuses = trainings_of([seca.pk for seca in secas], today=today)
    for seca in secas:
        rows = statuses[seca.pk]
        seca.overdue = [row for row in rows if row.state == State.OVERDUE]
        seca.due_soon = [row for row in rows if row.state == State.DUE_SOON]
    counts = {
        "secas": len(secas),
        "overdue": sum(1 for seca in secas if seca.overdue),
        "due_soon": sum(1 for seca in secas if seca.due_soon),
        "unacknowledged": sum(1 for seca in secas if seca.acknowledged_at is None),
    }
    return render(
        request,
        "staff/training/school.html",
        {
            "school": school,
            "secas": secas,
            "counts": counts,
            "policy": policy,
            "may_record": school.pk in access.standing_of(request.user).approver_at,
        },
    )


def training_record_view(request, pk):
    """The principal or a designee records a completed training of a SECA of the school."""
    school = access.school_for(request.user, pk, "record_training")
    secas = User.objects.active_secas(school.pk).order_by("full_name")
    form = TrainingRecordForm(request.POST or None, secas=secas)
    if request.method == "POST" and form.is_valid():
        try:
            completion = training_record(actor=request.user, school=school, **form.cleaned_data)
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(
                request,
                _("Recorded: %(name)s completed %(training)s.")
                % {"name": completion.seca.full_name, "training": completion.training.display_name},
            )
            return redirect("training_school", pk=school.pk)
    return render(
        request,
        "staff/training/record.html",
        {"school": school, "form": form},
        status=400 if form.errors else 200,
    )


@require_GET
def training_district(request):
    """Per school: SECAs overdue or due soon for training, and not having opened this
    year's policy. Counted by the database, at most once every ten minutes
    (training.district_counts)."""
    if not access.may_manage_training(request.user):
        raise Http404
    today = timezone.localdate()
    counts = district_counts(today=today)
    empty = {"secas": 0, "overdue": 0, "due_soon": 0, "unacknowledged": 0}
    schools = list(School.objects.only("name").order_by("name"))
    for school in schools:
        school.counts = counts.by_school.get(school.pk, empty)
    totals = {key: sum(row[key] for row in counts.by_school.values()) for key in empty}
    return render(
        request,
        "staff/training/district.html",
        {
            "schools": page_of_schools(schools, request.GET.get("page")),
            "totals": totals,
            "counted_at": counts.counted_at,
            "policy": RestraintPolicy.objects.current(today),
        },
    )


def training_import_view(request):
    """The district's CSV of completions: all or nothing, every error listed by row."""
    if not access.may_manage_training(request.user):
        raise Http404
    form = TrainingImportForm(request.POST or None, request.FILES or None)
    errors = []
    if request.method == "POST" and form.is_valid():
        try:
            result = training_import(actor=request.user, upload=form.cleaned_data["file"])
        except DomainError as error:
            error.add_to(form)
        else:
            if not result.errors:
                messages.success(
                    request,
                    _("Imported: %(created)d completions recorded, %(already)d already recorded.")
                    % {"created": result.created, "already": result.already},
                )
                return redirect("training_district")
            errors = result.errors
            form.add_error("file", _("Nothing was saved: correct these rows and import again."))
    return render(
        request,
        "staff/training/import.html",
        {"form": form, "errors": errors, "trainings": Training.objects.order_by("code")},
        status=400 if form.errors else 200,
    )


def policy_list(request):
    """The district uploads the year's restraint and time-out policy; each policy with how
    many SECAs were sent it and opened it."""
    if not access.may_manage_training(request.user):
        raise Http404
    form = PolicyUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            policy = policy_upload(actor=request.user, upload=form.cleaned_data["file"], **{
                key: form.cleaned_data[key] for key in ("school_year", "title")
            })  # fmt: skip
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(
                request,
                _("The policy %(title)s was uploaded for %(year)s.")
                % {"title": policy.title, "year": policy.school_year_label},
            )
            return redirect("policy_list")
    policies = (
        access.policies(request.user)
        .select_related("uploaded_by")
        .annotate(
            copies_sent=Count("copies__sent_at"), copies_acknowledged=Count("copies__acknowledged_at")
        )[:POLICIES_SHOWN]
    )  # fmt: skip
    return render(
        request,
        "staff/training/policies.html",
        {"form": form, "policies": policies},
        status=400 if form.errors else 200,
    )


def _policy(request, pk) -> RestraintPolicy:
    policy = get_object_or_404(access.policies(request.user), pk=pk)
    policy_acknowledge(reader=request.user, policy=policy)
    return policy


@require_GET
def policy_detail(request, pk):
    """The policy's page, the link in the SECAs' email: opening it records a SECA's
    acknowledgement (once). Behind sign-in, so a mail scanner cannot acknowledge for them."""
    policy = _policy(request, pk)
    return render(
        request,
        "staff/training/policy.html",
        {"policy": policy, "copy": _own_copy(request.user, policy)},
    )


@require_GET
def policy_download(request, pk):
    """The policy's PDF, shown in the browser; opening it acknowledges it too."""
    policy = _policy(request, pk)
    try:
        handle = policy.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        filename=f"restraint-time-out-policy-{policy.school_year_label}.pdf",
        content_type="application/pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
