"""The only way a parent gets an account: the case manager invites a guardian by email; the
link lets them set a password, and binds the account to that child.

Each state change is atomic, locks its rows, writes an audit event and queues email on
commit, like staff/services.py. A parent who already has an account (a parent who works
as a SECA) signs in as the invited address and the child is added to that account.
"""

import datetime

from allauth.account.models import EmailAddress
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import outbox
from .access import Right, standing_of
from .audit import audit_record
from .models import Guardian, GuardianInvite, OutgoingEmail, User
from .outbox import absolute_url
from .services import DomainError

INVITE_VALID_FOR = datetime.timedelta(days=14)


def invite_for_token(token: str) -> GuardianInvite | None:
    return (
        GuardianInvite.objects.select_related("guardian__student__school", "invited_by")
        .filter(token=token)
        .first()
    )


def account_exists_for(email: str) -> bool:
    """Whether someone already signs in with this address (their own, or a verified
    second address of theirs)."""
    return (
        User.objects.filter(email__iexact=email).exists()
        or EmailAddress.objects.filter(email__iexact=email, verified=True).exists()
    )


def invite_problem(invite: GuardianInvite, now: datetime.datetime | None = None) -> str | None:
    """Why this invitation can no longer be used, or None."""
    if invite.accepted_at is not None:
        return _("This invitation was already used. Sign in with your email address and password.")
    if invite.expires_at <= (now or timezone.now()):
        return _("This invitation has expired. Ask your child's school for a new one.")
    return None


@transaction.atomic
def guardian_invite(*, case_manager: User, guardian: Guardian, email: str) -> GuardianInvite:
    """Invite a guardian by email: a secret link valid INVITE_VALID_FOR. A new invitation
    replaces the earlier ones, whose links stop working."""
    guardian = (
        Guardian.objects.select_for_update(of=("self",))
        .select_related("student__school")
        .get(pk=guardian.pk)
    )
    student = guardian.student
    if Right.MANAGE not in standing_of(case_manager).rights_on(student):
        raise DomainError(
            _("Only the student's case manager or the principal can invite a parent.")
        )
    if guardian.user_id:
        raise DomainError(_("%(name)s already has an account.") % {"name": guardian.full_name})
    email = User.objects.normalize_email(email.strip()).lower()
    if not email:
        raise DomainError(_("Enter the parent's email address."), field="email")
    now = timezone.now()
    GuardianInvite.objects.filter(
        guardian=guardian, accepted_at__isnull=True, expires_at__gt=now
    ).update(expires_at=now, updated_at=now)
    before = {"email": guardian.email}
    if guardian.email != email:
        # The address the invitation goes to is the family's address from now on.
        guardian.email = email
        guardian.save(update_fields=["email", "updated_at"])
    invite = GuardianInvite.objects.create(
        guardian=guardian, email=email, invited_by=case_manager, expires_at=now + INVITE_VALID_FOR
    )
    audit_record(
        actor=case_manager,
        action="guardian.invited",
        obj=invite,
        school=student.school,
        student=student,
        before=before,
        after={"email": email, "expires_at": invite.expires_at.isoformat()},
    )
    outbox.emails_record("guardian_invite", [(invite.pk, None)])
    return invite


@transaction.atomic
def guardian_invite_accept(
    *, invite: GuardianInvite, password: str | None = None, user: User | None = None
) -> User:
    """Use the invitation: create the account with `password` (its validation is the
    form's), or add the child to `user`, who must be signed in as the invited address.
    The invitation proved the address: it is recorded as verified."""
    invite = GuardianInvite.objects.select_for_update().get(pk=invite.pk)
    problem = invite_problem(invite)
    if problem:
        raise DomainError(problem)
    guardian = (
        Guardian.objects.select_for_update(of=("self",))
        .select_related("student__school")
        .get(pk=invite.guardian_id)
    )
    if guardian.user_id:
        raise DomainError(_("This parent already has an account. Sign in instead."))
    new_account = user is None
    if new_account:
        if account_exists_for(invite.email):
            raise DomainError(
                _("An account with this email address exists: sign in, then open the link again.")
            )
        if not password:
            raise DomainError(_("Choose a password."), field="new_password1")
        user = User.objects.create_user(
            email=invite.email,
            password=password,
            full_name=guardian.full_name,
            phone=guardian.phone,
            preferred_language=guardian.preferred_language,
        )
    elif user.email.lower() != invite.email.lower():
        raise DomainError(
            _("This invitation is for %(email)s: sign in with that address.")
            % {"email": invite.email}
        )
    if Guardian.objects.filter(student=guardian.student, user=user).exists():
        raise DomainError(_("This child is already linked to your account."))
    address = EmailAddress.objects.filter(user=user, email__iexact=invite.email).first()
    if address is None:
        EmailAddress.objects.create(
            user=user,
            email=invite.email,
            verified=True,
            primary=not EmailAddress.objects.filter(user=user, primary=True).exists(),
        )
    elif not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])
    guardian.user = user
    guardian.save(update_fields=["user", "updated_at"])
    invite.accepted_at = timezone.now()
    invite.save(update_fields=["accepted_at", "updated_at"])
    audit_record(
        actor=user,
        action="guardian.invite_accepted",
        obj=invite,
        school=guardian.student.school,
        student=guardian.student,
        after={"user": user.pk, "new_account": new_account},
    )
    return user


def invite_email(email: OutgoingEmail) -> EmailMultiAlternatives | None:
    """The invitation link, in the guardian's language; nothing once it was used or
    replaced (a newer invitation expires the older ones)."""
    invite = (
        GuardianInvite.objects.select_related("guardian__student__school", "invited_by")
        .filter(pk=email.source_id, accepted_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if invite is None:
        return None
    guardian = invite.guardian
    with translation.override(guardian.preferred_language):
        context = {
            "invite": invite,
            "guardian": guardian,
            "student": guardian.student,
            "school": guardian.student.school,
            "url": absolute_url(reverse("invite_accept", args=[invite.token])),
            "language_code": translation.get_language(),
        }
        subject = " ".join(render_to_string("staff/invites/email_subject.txt", context).split())
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string("staff/invites/email.txt", context),
            to=[invite.email],
            headers={"Content-Language": translation.get_language()},
        )
        message.attach_alternative(
            render_to_string("staff/invites/email.html", context), "text/html"
        )
    return message


def invite_delivered(email: OutgoingEmail, message) -> None:
    if message is not None:
        GuardianInvite.objects.filter(pk=email.source_id).update(sent_at=timezone.now())
