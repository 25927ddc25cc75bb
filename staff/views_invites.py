"""Inviting parents: the case manager's list of a student's guardians, a school's families
without an account (sending again, printing letters), and the pages a parent opens
(public: they have no account yet): the link of an email, the code of a letter."""

from allauth.core.internal.httpkit import get_client_ip
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import SetPasswordForm
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from iepcoord.db import first_row, row_instance

from .access import Right, fetch_or_refuse, school_for, standing_of, student_for
from .audit import audit_record, audit_students_viewed
from .forms_invites import GuardianInviteForm, InviteCodeForm, LetterAccountForm
from .invites import (
    account_exists_for,
    code_display,
    families_to_invite,
    guardian_invite_accept,
    invite_for_code,
    invite_for_token,
    invite_problem,
    school_invitations_send,
)
from .invites import guardian_invite as invite_guardian
from .models import Guardian, GuardianInvite, User
from .services import DomainError

# Wrong codes one address may type in a minute (a code has about 10^14 values; this keeps
# guessing out of reach and a mistyped letter easy to retry).
CODE_ATTEMPTS_PER_MINUTE = 5
# A school's families without an account, a page at a time.
FAMILIES_PER_PAGE = 50

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
        Guardian,
        standing.filter_for(Right.VIEW, prefix="student__"),
        pk,
        related=("student__school",),
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
        # A letter's code names no address: whoever typed it adds the child to theirs.
        if invite.email and user.email.lower() != invite.email.lower():
            # Nothing changes: the child goes only to the invited address's account.
            return render(request, "staff/invites/wrong_account.html", context, status=403)
        return _accept_signed_in(request, invite, context)
    if not invite.email:
        return _accept_letter(request, invite, context)
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


def _accept_letter(request, invite, context):
    """A family invited by letter, signed out: the address they will sign in with and a
    password make the account (the code proved the letter reached them)."""
    candidate = User(full_name=invite.guardian.full_name)
    form = LetterAccountForm(candidate, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = guardian_invite_accept(
                invite=invite,
                password=form.cleaned_data["new_password1"],
                email=form.cleaned_data["email"],
            )
        except DomainError as error:
            form.add_error(
                "email" if error.field in (None, "email") else error.field, error.message
            )
        else:
            login(request, user, backend=AUTH_BACKEND)
            messages.success(request, _("Welcome! Your account is ready."))
            return redirect("parent_child", pk=invite.guardian.student_id)
    login_url = reverse("account_login") + "?" + urlencode({"next": request.path})
    return render(
        request,
        "staff/invites/accept_letter.html",
        {**context, "form": form, "login_url": login_url},
        status=400 if form.errors else 200,
    )


# Public: a parent with a printed letter types its code here; a right code leads to the
# invitation's page. Wrong codes are limited per address (CODE_ATTEMPTS_PER_MINUTE).
@login_not_required
def invite_code(request):
    form = InviteCodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        key = f"invite-code-failures:{get_client_ip(request)}"
        if cache.get(key, 0) >= CODE_ATTEMPTS_PER_MINUTE:
            form.add_error(
                "code",
                _(
                    "Too many wrong codes were typed from this connection. Wait a minute, then try again."
                ),
            )
            status = 429
        else:
            invite = invite_for_code(form.cleaned_data["code"])
            if invite is None:
                cache.add(key, 0, timeout=60)
                cache.incr(key)
                form.add_error(
                    "code", _("This code is not valid. Check the letter and type it again.")
                )
            elif problem := invite_problem(invite):
                form.add_error("code", problem)
            else:
                return redirect("invite_accept", token=invite.token)
    if form.errors and status == 200:
        status = 400
    return render(request, "staff/invites/code.html", {"form": form}, status=status)


# --- A school's families without an account ----------------------------------------------


FAMILY_ROW = (
    "student__first_name",
    "student__last_name",
    "student__school_id",
    "full_name",
    "relationship",
    "email",
    "preferred_language",
)
FAMILY_ROW_INVITE = (
    "guardian_id",
    "created_at",
    "code",
    "sent_at",
    "expires_at",
    "accepted_at",
)


def school_invitations(request, pk):
    """Who has not accepted yet, at one school: every guardian of a current student
    without an account, with their last invitation, FAMILIES_PER_PAGE at a time; sending
    again; the letters to print. For the principal, the school's case managers and district
    administrators."""
    school = school_for(request.user, pk, "invite_families")
    now = timezone.now()
    letter = GuardianInvite.objects.filter(
        guardian=OuterRef("pk"), code__isnull=False, accepted_at__isnull=True, expires_at__gt=now
    )
    totals = Guardian.objects.filter(
        student__school=school, student__inactive_since__isnull=True
    ).aggregate(
        total=Count("pk"),
        with_account=Count("user_id"),
        letters=Count("pk", filter=Q(user__isnull=True) & Q(Exists(letter))),
    )
    # The families to invite are the guardians counted without an account: the page is cut
    # from that count instead of counting them again.
    page = Paginator(range(totals["total"] - totals["with_account"]), FAMILIES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    first = (page.number - 1) * FAMILIES_PER_PAGE
    guardians = list(
        families_to_invite()
        .filter(student__school=school)
        .select_related("student")
        # The columns the rows show: a student's are 21, of which a row shows 2.
        .only(*FAMILY_ROW)
        .annotate(
            newest=first_row(
                GuardianInvite.objects.filter(guardian=OuterRef("pk")).order_by(
                    "-created_at", "-pk"
                ),
                *FAMILY_ROW_INVITE,
            )
        )
        .order_by("student__last_name", "student__first_name", "full_name", "pk")[
            first : first + FAMILIES_PER_PAGE
        ]
    )
    for guardian in guardians:
        guardian.last_invite = row_instance(GuardianInvite, guardian.newest, FAMILY_ROW_INVITE)
        guardian.pending = bool(
            guardian.last_invite
            and guardian.last_invite.accepted_at is None
            and guardian.last_invite.expires_at > now
        )
    students = {g.student_id: g.student for g in guardians}
    for student in students.values():
        student.school = school
    # The families' addresses are part of each student's record (34 CFR 300.614).
    audit_students_viewed(
        actor=request.user, action="invitations.viewed", students=list(students.values())
    )
    return render(
        request,
        "staff/invites/school.html",
        {"school": school, "guardians": guardians, "page": page, "totals": totals},
    )


@require_POST
def school_invitations_send_view(request, pk):
    school = school_for(request.user, pk, "invite_families")
    guardian_id = request.POST.get("guardian")
    try:
        counts = school_invitations_send(
            actor=request.user,
            school=school,
            guardian_id=int(guardian_id) if guardian_id and guardian_id.isdigit() else None,
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _(
                "Invitations sent by email: %(invited)s. Letters to print: %(letters)s. "
                "Already invited and still waiting: %(skipped)s."
            )
            % counts,
        )
    return redirect("school_invitations", pk=school.pk)


def school_invitation_letters(request, pk):
    """The letters of a school's families without an email address: one a page, each in
    the family's language, with the code to type at /invite/code/. Printing them shows
    every child's name and code: audited per student."""
    school = school_for(request.user, pk, "invite_families")
    invites = list(
        GuardianInvite.objects.filter(
            code__isnull=False,
            accepted_at__isnull=True,
            expires_at__gt=timezone.now(),
            guardian__user__isnull=True,
            guardian__ended_on__isnull=True,
            guardian__student__school=school,
            guardian__student__inactive_since__isnull=True,
        )
        .select_related("guardian__student")
        .order_by("guardian__student__last_name", "guardian__student__first_name", "pk")
    )
    for invite in invites:
        invite.code_shown = code_display(invite.code)
    students = {invite.guardian.student_id: invite.guardian.student for invite in invites}
    for student in students.values():
        student.school = school
    audit_students_viewed(
        actor=request.user, action="invitation_letters.printed", students=list(students.values())
    )
    return render(
        request,
        "staff/invites/letters.html",
        {
            "school": school,
            "invites": invites,
            "code_url": settings.SITE_URL + reverse("invite_code"),
            "printed_at": timezone.now(),
        },
    )
