"""The only way a parent gets an account: the case manager invites a guardian by email; the
link lets them set a password, and binds the account to that child.

Each state change is atomic, locks its rows, writes an audit event and queues email on
commit, like staff/services.py. A parent who already has an account (a parent who works
as a SECA) signs in as the invited address and the child is added to that account.
"""

import datetime
import secrets

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import outbox
from .access import Right, may_import_roster, schools, standing_of
from .audit import audit_event, audit_record
from .models import AuditEvent, Guardian, GuardianInvite, OutgoingEmail, RosterImport, User
from .outbox import absolute_url
from .roster.jobs import INVITE_TASK, queue_on_commit
from .services import DomainError

INVITE_VALID_FOR = datetime.timedelta(days=14)
# A letter goes home in a backpack or by post: its code lasts longer than an email's link.
LETTER_VALID_FOR = datetime.timedelta(days=60)
# The letter's code: 10 characters of an alphabet without look-alikes (no 0/O, 1/I/L, 2/Z,
# 5/S, 8/B), 25^10 (about 10^14) codes, typed at /invite/code/ with wrong tries limited.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 10
# Guardians per transaction when inviting many.
BULK_CHUNK = 1000


def code_new() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def code_normalize(text: str) -> str:
    """What the parent typed, as stored: capitals, without spaces or dashes."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def code_display(code: str) -> str:
    """As printed on the letter: two groups of five, easier to copy."""
    return f"{code[:5]}-{code[5:]}"


def invite_for_code(text: str) -> GuardianInvite | None:
    code = code_normalize(text)
    if len(code) != CODE_LENGTH:
        return None
    return (
        GuardianInvite.objects.select_related("guardian__student__school").filter(code=code).first()
    )


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
    *,
    invite: GuardianInvite,
    password: str | None = None,
    user: User | None = None,
    email: str | None = None,
) -> User:
    """Use the invitation: create the account with `password` (its validation is the
    form's), or add the child to `user`, who must be signed in as the invited address.
    The invitation proved the address: it is recorded as verified. A letter's invitation
    (no address: the code proved the letter reached the family) creates the account with
    the `email` the parent chose, unverified, or adds the child to whoever is signed in."""
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
    by_letter = not invite.email
    address = invite.email
    if by_letter:
        address = User.objects.normalize_email((email or "").strip()).lower()
        if new_account and not address:
            raise DomainError(_("Enter the email address you will sign in with."), field="email")
    if new_account:
        if account_exists_for(address):
            raise DomainError(
                _("An account with this email address exists: sign in, then open the link again.")
            )
        if not password:
            raise DomainError(_("Choose a password."), field="new_password1")
        user = User.objects.create_user(
            email=address,
            password=password,
            full_name=guardian.full_name,
            phone=guardian.phone,
            preferred_language=guardian.preferred_language,
        )
    elif by_letter:
        address = user.email
    elif user.email.lower() != invite.email.lower():
        raise DomainError(
            _("This invitation is for %(email)s: sign in with that address.")
            % {"email": invite.email}
        )
    if Guardian.objects.filter(student=guardian.student, user=user).exists():
        raise DomainError(_("This child is already linked to your account."))
    record = EmailAddress.objects.filter(user=user, email__iexact=address).first()
    if record is None:
        EmailAddress.objects.create(
            user=user,
            email=address,
            verified=not by_letter,
            primary=not EmailAddress.objects.filter(user=user, primary=True).exists(),
        )
    elif not record.verified and not by_letter:
        record.verified = True
        record.save(update_fields=["verified"])
    guardian.user = user
    changed = ["user", "updated_at"]
    if not guardian.email:
        # The family's address from now on, as the school's record keeps it.
        guardian.email = address
        changed.append("email")
    guardian.save(update_fields=changed)
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


# --- Many families at once: after a roster import, per school ---------------------------


def families_to_invite():
    """Guardians of current students who have no account yet: whom the invitations are
    for (a guardian whose relationship ended is not among Guardian.objects)."""
    return Guardian.objects.filter(user__isnull=True, student__inactive_since__isnull=True)


def _pending(now):
    return Q(accepted_at__isnull=True, expires_at__gt=now)


def _fresh_codes(count: int) -> list[str]:
    """`count` new letter codes, none already given (a collision is about one in 10^14)."""
    codes = {code_new() for _ in range(count)}
    taken = set(GuardianInvite.objects.filter(code__in=codes).values_list("code", flat=True))
    codes -= taken
    while len(codes) < count:
        codes.add(code_new())
    return list(codes)[:count]


def _pace(email_ids: list[int], *, ahead: int, now) -> None:
    """Stamp emails queued behind `ahead` others with when they should go at
    EMAIL_RATE_LIMIT, so that the outbox's requeue (JOB_REQUEUE_AFTER_SECONDS after that)
    does not queue again emails that are only waiting their turn."""
    rate = outbox.rate_per_second()
    if not rate or not email_ids:
        return
    OutgoingEmail.objects.filter(pk__in=email_ids).update(
        queued_at=now + datetime.timedelta(seconds=ahead / rate)
    )


def guardians_invite_bulk(
    *, actor: User, guardian_ids, roster_import: RosterImport | None = None, again: bool = False
) -> dict:
    """Invite these guardians (those still without an account), BULK_CHUNK per
    transaction: by email, in their language, through the outbox; without an address, a
    letter with a one-time code (the school prints it). A guardian with an invitation
    still pending is skipped, unless `again`, which replaces it. Each chunk costs the same
    few queries. {"invited", "letters", "skipped"}."""
    counts = {"invited": 0, "letters": 0, "skipped": 0}
    ids = sorted(guardian_ids)
    for start in range(0, len(ids), BULK_CHUNK):
        with transaction.atomic():
            now = timezone.now()
            guardians = list(
                families_to_invite()
                .filter(pk__in=ids[start : start + BULK_CHUNK])
                .select_for_update(of=("self",))
                .select_related("student")
                .order_by("pk")
            )
            pending = GuardianInvite.objects.filter(
                _pending(now), guardian_id__in=[g.pk for g in guardians]
            )
            if again:
                pending.update(expires_at=now, updated_at=now)
            else:
                waiting = set(pending.values_list("guardian_id", flat=True))
                counts["skipped"] += len(waiting)
                guardians = [g for g in guardians if g.pk not in waiting]
            codes = iter(_fresh_codes(sum(1 for g in guardians if not g.email)))
            invites = GuardianInvite.objects.bulk_create(
                [
                    GuardianInvite(
                        guardian=guardian,
                        email=guardian.email,
                        code=None if guardian.email else next(codes),
                        invited_by=actor,
                        expires_at=now + (INVITE_VALID_FOR if guardian.email else LETTER_VALID_FOR),
                        roster_import=roster_import,
                    )
                    for guardian in guardians
                ]
            )
            emails = outbox.emails_record(
                "guardian_invite", [(invite.pk, None) for invite in invites if invite.email]
            )
            _pace(emails, ahead=counts["invited"], now=now)
            AuditEvent.objects.bulk_create(
                [
                    audit_event(
                        actor=actor,
                        action="guardian.invited" if invite.email else "guardian.letter_prepared",
                        obj=invite,
                        school_id=invite.guardian.student.school_id,
                        student_id=invite.guardian.student_id,
                        after={"email": invite.email, "expires_at": invite.expires_at.isoformat()},
                    )
                    for invite in invites
                ]
            )
            counts["invited"] += len(emails)
            counts["letters"] += len(invites) - len(emails)
    return counts


@transaction.atomic
def roster_families_invite_request(*, actor: User, roster_import: RosterImport) -> RosterImport:
    """ "Invite every family", after an import: a job invites every guardian of a current
    student who has no account and no invitation pending (see roster_families_invite)."""
    if not may_import_roster(actor):
        raise DomainError(_("Only district administrators invite every family."))
    roster_import = RosterImport.objects.select_for_update().get(pk=roster_import.pk)
    if roster_import.status != RosterImport.Status.DONE:
        raise DomainError(_("Families are invited once the import is done."))
    if roster_import.invites_requested_at and not roster_import.invites_summary.get("done"):
        raise DomainError(_("The invitations are being sent: follow them on this page."))
    roster_import.invites_requested_at = timezone.now()
    roster_import.invites_requested_by = actor
    roster_import.invites_summary = {}
    roster_import.save(
        update_fields=[
            "invites_requested_at",
            "invites_requested_by",
            "invites_summary",
            "updated_at",
        ]
    )
    audit_record(actor=actor, action="roster.families_invited", obj=roster_import)
    queue_on_commit(INVITE_TASK, roster_import.pk)
    return roster_import


def roster_families_invite(*, import_id: int) -> dict:
    """The job of "invite every family": every guardian of a current student without an
    account and without a pending invitation, by keyset chunks; its counts are the
    import's progress. Run twice, the second run finds them invited (skipped)."""
    now = timezone.now()
    claimed = (
        RosterImport.objects.filter(
            pk=import_id, status=RosterImport.Status.DONE, invites_requested_at__isnull=False
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + datetime.timedelta(seconds=settings.ROSTER_IMPORT_TIME_LIMIT))
    )
    if claimed != 1:
        return {}
    roster_import = RosterImport.objects.select_related("invites_requested_by").get(pk=import_id)
    actor = roster_import.invites_requested_by
    counts = {"invited": 0, "letters": 0, "skipped": 0, "done": False}
    last = 0
    while True:
        ids = list(
            families_to_invite()
            .filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:BULK_CHUNK]
        )
        if not ids:
            break
        done = guardians_invite_bulk(actor=actor, guardian_ids=ids, roster_import=roster_import)
        for key, value in done.items():
            counts[key] += value
        last = ids[-1]
        RosterImport.objects.filter(pk=import_id).update(invites_summary=counts)
    counts["done"] = True
    RosterImport.objects.filter(pk=import_id).update(invites_summary=counts, claimed_until=None)
    return counts


def school_invitations_send(*, actor: User, school, guardian_id: int | None = None) -> dict:
    """From a school's page of families without an account: send one guardian a new
    invitation (replacing theirs), or invite every guardian of the school whose invitation
    expired or who never had one. For the principal, the school's case managers and
    district administrators (staff.access: "invite_families")."""
    if not schools(actor, right="invite_families").filter(pk=school.pk).exists():
        raise DomainError(_("Only the principal and the case managers of this school do this."))
    families = families_to_invite().filter(student__school=school)
    if guardian_id is not None:
        if not families.filter(pk=guardian_id).exists():
            raise DomainError(_("This family has an account already, or is not at this school."))
        return guardians_invite_bulk(actor=actor, guardian_ids=[guardian_id], again=True)
    ids = list(families.values_list("pk", flat=True))
    return guardians_invite_bulk(actor=actor, guardian_ids=ids)
