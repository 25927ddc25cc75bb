"""The restraint and time-out policy, "made available electronically to SECAs at the
beginning of each school year" (contract): the district uploads the year's PDF; every
active SECA is sent it (an email through the outbox, in their language, linking to its
page); opening the page or the file records their acknowledgement, once.

The copies sweep sends this school year's policy to every active SECA without a copy of it:
on July 1 (when next year's policy was uploaded ahead), right after an upload mid-year, and
to SECAs hired later. A copy is claimed by inserting its row (unique per policy and SECA),
so a sweep run twice sends nothing twice.
"""

import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import outbox
from .access import standing_of
from .audit import audit_record
from .letters import Letter, compose, greeting, in_language
from .models import OutgoingEmail, PolicyCopy, RestraintPolicy, User, current_school_year
from .pdf import pdf_checked
from .services import DomainError
from .training import claim_rows


def policy_upload(*, actor: User, school_year: int, title: str, upload) -> RestraintPolicy:
    """Store the year's policy. When it is this school year's, every active SECA is sent it
    at once (the copies are recorded with it). A refused file leaves nothing behind."""
    if not standing_of(actor).district_admin:
        raise DomainError(_("Only district administrators upload the policy."))
    this_year = current_school_year()
    if school_year not in (this_year, this_year + 1):
        raise DomainError(_("Choose this school year or the next one."), field="school_year")
    sha256 = pdf_checked(upload, not_pdf=_("This file is not a PDF: upload the policy as a PDF."))
    with transaction.atomic():
        policy = RestraintPolicy(
            school_year=school_year, title=title, sha256=sha256, uploaded_by=actor
        )
        policy.file.save(f"policy-{school_year}-{sha256[:12]}.pdf", upload, save=False)
        try:
            policy.save()
            audit_record(
                actor=actor,
                action="policy.uploaded",
                obj=policy,
                after={"school_year": school_year, "title": title, "sha256": sha256},
            )
            if school_year == this_year:
                policy_copies_send(policy=policy)
        except BaseException:
            policy.file.delete(save=False)
            raise
    return policy


def policy_copies_send(*, policy: RestraintPolicy, now: datetime.datetime | None = None) -> int:
    """A copy, and its email, to every active SECA without one, in chunks of JOB_CHUNK_SIZE:
    two queries per chunk. The number sent."""
    now = now or timezone.now()
    candidates = (
        User.objects.active_secas()
        .exclude(Exists(PolicyCopy.objects.filter(policy=policy, seca=OuterRef("pk"))))
        .order_by("pk")
    )
    sent, last = 0, 0
    while ids := list(
        candidates.filter(pk__gt=last).values_list("pk", flat=True)[: settings.JOB_CHUNK_SIZE]
    ):
        with transaction.atomic():
            rows = claim_rows(
                PolicyCopy,
                ("policy_id", "seca_id", "created_at", "updated_at"),
                ("policy_id", "seca_id"),
                [(policy.pk, pk, now, now) for pk in ids],
            )
            outbox.emails_record("policy_copy", rows)
        sent += len(rows)
        last = ids[-1]
    return sent


def policy_copies_sweep(*, now: datetime.datetime | None = None) -> int:
    """This school year's policy to every active SECA who has not been sent it."""
    now = now or timezone.now()
    policy = RestraintPolicy.objects.current(timezone.localdate(now))
    return policy_copies_send(policy=policy, now=now) if policy else 0


def policy_acknowledge(*, reader: User, policy: RestraintPolicy) -> bool:
    """A SECA opened the policy: recorded once, at the first open (a copy is made if the
    sweep has not sent them one yet: they have it now). Others open it without a record.
    True when this call recorded it."""
    if not standing_of(reader).is_seca:
        return False
    now = timezone.now()
    with transaction.atomic():
        copy, _created = PolicyCopy.objects.get_or_create(policy=policy, seca=reader)
        # A conditional update: of two opens at once, exactly one records it.
        changed = PolicyCopy.objects.filter(pk=copy.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=now, updated_at=now
        )
        if changed:
            audit_record(
                actor=reader,
                action="policy.acknowledged",
                obj=copy,
                after={"policy": policy.pk, "school_year": policy.school_year},
            )
    return bool(changed)


def policy_copy_email(email: OutgoingEmail) -> EmailMessage | None:
    """The policy's email in the SECA's language, linking to its page; nothing for a SECA
    who left or already opened it."""
    copy = (
        PolicyCopy.objects.select_related("policy", "seca")
        .filter(pk=email.source_id, acknowledged_at__isnull=True)
        .first()
    )
    if copy is None or not copy.seca.email:
        return None
    if not User.objects.active_secas().filter(pk=copy.seca_id).exists():
        return None
    policy = copy.policy
    with in_language(copy.seca):
        names = {"year": policy.school_year_label, "title": policy.title}
        letter = Letter(
            subject=_("The restraint and time-out policy for %(year)s") % names,
            greeting=greeting(copy.seca.get_short_name()),
            paragraphs=[
                _(
                    "The district's restraint and time-out policy for the %(year)s school year, “%(title)s”, is available to you. Please open it and read it: opening it records that you received it."
                )
                % names,
            ],  # fmt: skip
            action=(_("Open the policy"), reverse("policy_detail", args=[policy.pk])),
            reason=_("You receive this because you work as a SECA in the district."),
        )
        return compose(letter, to=copy.seca.email)


def policy_copy_delivered(email: OutgoingEmail, message) -> None:
    if message is not None:
        PolicyCopy.objects.filter(pk=email.source_id).update(sent_at=timezone.now())
