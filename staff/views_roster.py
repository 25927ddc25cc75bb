"""The district administrators' roster pages (README "Roster import"): upload an export,
see its dry run, confirm, follow the job, invite every family; the imports' history."""

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .access import may_import_roster, roster_imports
from .forms_roster import RosterUploadForm
from .invites import roster_families_invite_request
from .models import GuardianInvite, RosterImport
from .roster.jobs import roster_import_confirm, roster_import_upload
from .roster.plan import KIND_LABELS, KINDS
from .selectors import district_families, page_of_schools
from .services import DomainError

HISTORY_SHOWN = 50
# Seconds between two refreshes of a page following a job.
REFRESH_SECONDS = 5


def roster_import_list(request):
    """The upload form and the history of imports (the nightly command's runs too)."""
    if not may_import_roster(request.user):
        raise Http404
    form = RosterUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            roster_import = roster_import_upload(
                actor=request.user, file=form.cleaned_data["export"]
            )
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(
                request, _("The export was uploaded: it is being checked. Nothing has changed.")
            )
            return redirect("roster_import_detail", pk=roster_import.pk)
    imports = roster_imports(request.user).select_related("uploaded_by", "confirmed_by")
    return render(
        request,
        "staff/roster/list.html",
        {"form": form, "imports": imports[:HISTORY_SHOWN]},
        status=400 if form.errors else 200,
    )


def _summary_rows(summary: dict) -> list:
    changes = summary.get("changes") or {}
    return [(KIND_LABELS[kind], changes[kind]) for kind in KINDS if kind in changes]


def roster_import_detail(request, pk):
    """One import: its progress while a job runs (the page refreshes itself), what it
    would change or changed, its problems; once done, inviting every family, with who has
    an account per school."""
    roster_import = get_object_or_404(
        roster_imports(request.user).select_related(
            "uploaded_by", "confirmed_by", "invites_requested_by"
        ),
        pk=pk,
    )
    inviting = bool(
        roster_import.invites_requested_at and not roster_import.invites_summary.get("done")
    )
    context = {
        "roster_import": roster_import,
        "summary_rows": _summary_rows(roster_import.summary),
        "refresh": REFRESH_SECONDS if roster_import.in_progress or inviting else None,
        "inviting": inviting,
        "another_running": roster_import.status == RosterImport.Status.DRY_RUN_DONE
        and RosterImport.objects.filter(status=RosterImport.Status.RUNNING).exists(),
    }
    if roster_import.status == RosterImport.Status.DONE:
        # Five counts of this import's invitations in one query.
        context["invites"] = GuardianInvite.objects.filter(roster_import=roster_import).aggregate(
            emails=Count("pk", filter=Q(code__isnull=True)),
            sent=Count("sent_at"),
            letters=Count("code"),
            accepted=Count("accepted_at"),
        )
        # Per school: the families of current students, and those with an account.
        families = district_families()
        context["counted_at"] = families.counted_at
        page = page_of_schools(families.schools, request.GET.get("page"))
        context["families"] = page
    return render(request, "staff/roster/detail.html", context)


def _act(request, pk, service, success):
    roster_import = get_object_or_404(roster_imports(request.user), pk=pk)
    try:
        service(actor=request.user, roster_import=roster_import)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect("roster_import_detail", pk=roster_import.pk)


@require_POST
def roster_import_confirm_view(request, pk):
    return _act(
        request,
        pk,
        roster_import_confirm,
        _("The import has started. This page shows its progress."),
    )


@require_POST
def roster_invite_families(request, pk):
    return _act(
        request,
        pk,
        roster_families_invite_request,
        _("Every family without an account is being invited. This page shows the progress."),
    )
