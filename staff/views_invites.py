"""Inviting parents: the case manager's list of a student's guardians, and the link the
parent opens (public: they have no account yet)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import SetPasswordForm
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .access import Right, fetch_or_refuse, standing_of, student_for
from .audit import audit_record
from .forms_invites import GuardianInviteForm
from .invites import (
    account_exists_for,
    guardian_invite_accept,
    invite_for_token,
    invite_problem,
)
from .invites import guardian_invite as invite_guardian
from .models import Guardian, GuardianInvite, User
from .services import DomainError

AUTH_BACKEND = "allauth.account.auth_backends.AuthenticationBackend"


def _guardian_page(request, student, *, failed=None, status=200):
    guardians = list(
        student.guardians.select_related("user").prefetch_related(
            Prefetch("invites", queryset=GuardianInvite.objects.order_by("-created_at"))
        )
    )
    for guardian in guardians:
        if failed is not None and failed[0] == guardian.pk:
            guardian.form = failed[1]
        else:
            guardian.form = GuardianInviteForm(
                prefix=f"g{guardian.pk}", initial={"email": guardian.email}
            )
        guardian.last_invite = next(iter(guardian.invites.all()), None)
    return render(
        request,
        "staff/invites/guardians.html",
        {"student": student, "guardians": guardians},
        status=status,
    )


def guardian_list(request, pk):
    """A student's parents and guardians, with their accounts and invitations."""
    student = student_for(request.user, pk, Right.MANAGE)
    # The family's contacts are part of the record (34 CFR 300.614).
    audit_record(
        actor=request.user,
        action="guardians.viewed",
        obj=student,
        school=student.school,
        student=student,
    )
    return _guardian_page(request, student)


@require_POST
def guardian_invite(request, pk):
    standing = standing_of(request.user)
    guardian = fetch_or_refuse(
        request.user,
        Guardian.objects.filter(standing.filter_for(Right.VIEW, prefix="student__")).select_related(
            "student__school"
        ),
        pk,
        allowed=lambda found: Right.MANAGE in standing.rights_on(found.student),
        action="guardian.invite",
        student_of=lambda found: found.student,
    )
    form = GuardianInviteForm(request.POST, prefix=f"g{guardian.pk}")
    if form.is_valid():
        try:
            invite_guardian(
                case_manager=request.user, guardian=guardian, email=form.cleaned_data["email"]
            )
        except DomainError as error:
            error.add_to(form)
        else:
            messages.success(
                request,
                _("The invitation was sent to %(email)s.") % {"email": form.cleaned_data["email"]},
            )
            return redirect("guardian_list", pk=guardian.student_id)
    return _guardian_page(request, guardian.student, failed=(guardian.pk, form), status=400)


def _speak_the_guardians_language(request, invite):
    """The link comes from an email in the guardian's language: the page speaks it too,
    unless the visitor chose a language with the switcher."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if chosen not in dict(settings.LANGUAGES) and not request.user.is_authenticated:
        translation.activate(invite.guardian.preferred_language)
        request.LANGUAGE_CODE = translation.get_language()


# Public: the parent has no account yet; the secret token in the link is the key.
@login_not_required
def invite_accept(request, token):
    invite = invite_for_token(token)
    if invite is None:
        return render(
            request,
            "staff/invites/invalid.html",
            {"problem": _("This invitation link is not valid. Check that you copied all of it.")},
            status=404,
        )
    _speak_the_guardians_language(request, invite)
    problem = invite_problem(invite)
    if problem:
        return render(request, "staff/invites/invalid.html", {"problem": problem}, status=410)
    context = {"invite": invite, "student": invite.guardian.student}
    user = request.user
    if user.is_authenticated:
        if user.email.lower() != invite.email.lower():
            # Nothing changes: the child goes only to the invited address's account.
            return render(request, "staff/invites/wrong_account.html", context, status=403)
        return _accept_signed_in(request, invite, context)
    if account_exists_for(invite.email):
        login_url = reverse("account_login") + "?" + urlencode({"next": request.path})
        return render(
            request, "staff/invites/sign_in_first.html", {**context, "login_url": login_url}
        )
    candidate = User(email=invite.email, full_name=invite.guardian.full_name)
    form = SetPasswordForm(candidate, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = guardian_invite_accept(
                invite=invite, password=form.cleaned_data["new_password1"]
            )
        except DomainError as error:
            error.add_to(form)
        else:
            login(request, user, backend=AUTH_BACKEND)
            messages.success(request, _("Welcome! Your account is ready."))
            return redirect("parent_child", pk=invite.guardian.student_id)
    return render(
        request,
        "staff/invites/accept.html",
        {**context, "form": form},
        status=400 if form.errors else 200,
    )


def _accept_signed_in(request, invite, context):
    """Someone who already has an account, signed in as the invited address: a button
    adds the child to it (a POST, never on opening the link)."""
    error = None
    if request.method == "POST":
        try:
            guardian_invite_accept(invite=invite, user=request.user)
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(
                request,
                _("%(name)s was added to your account.")
                % {"name": invite.guardian.student.full_name},
            )
            return redirect("parent_child", pk=invite.guardian.student_id)
    return render(
        request,
        "staff/invites/accept_signed_in.html",
        {**context, "error": error},
        status=400 if error else 200,
    )
