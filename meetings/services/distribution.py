"""Distribution of the finalized plan to the parents and to every SECA who could not
attend (contract: "the SECA receives a copy of the finalized plan"; 34 CFR 300.322(f),
300.323(d)).

`plan_deliveries_create` runs inside `plan_finalize`'s transaction: one PlanDelivery per
recipient (unique on plan and recipient), each emailed by its own task after commit. The
email carries a link to the plan behind sign-in, never the file. The send task locks the
row, skips it if `sent_at` is set, sends, sets `sent_at`; the sweep queues again a delivery
still unsent a while after it was queued. A corrected plan is a new Plan row: delivered
again, as a new version, once per recipient.
"""

import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from staff.audit import audit_record
from staff.models import Assignment, Guardian, User
from staff.services import DomainError

from ..models import Invitation, Notification, Plan, PlanDelivery
from ..tasks.distribution import plan_delivery_send as plan_delivery_send_task
from ..tasks.queueing import enqueue_after_commit
from .notifications import meeting_label
from .reminders import keyset_chunks

Reason = PlanDelivery.Reason


def plan_recipients(*, plan: Plan) -> dict[int, str]:
    """{user id: reason}: every SECA supporting the student now who did not attend it (denied, undecided, withdrawn, absent, or never asked), and every
    guardian with an account. Two queries."""
    meeting = plan.meeting
    attended = Invitation.objects.filter(meeting=meeting, user=OuterRef("staff_id"), attended=True)
    # The SECAs who support the student now: they carry the plan out (300.323(d)).
    secas = (
        Assignment.objects.current()
        .filter(student_id=meeting.student_id, kind=Assignment.Kind.SECA, staff__is_active=True)
        .exclude(Exists(attended))
        .values_list("staff_id", flat=True)
    )
    guardians = Guardian.objects.filter(
        student_id=meeting.student_id, user__isnull=False, user__is_active=True
    ).values_list("user_id", flat=True)
    recipients = dict.fromkeys(guardians, Reason.GUARDIAN)
    recipients.update(dict.fromkeys(secas, Reason.SECA_NOT_HONORED))
    return recipients


def plan_deliveries_create(*, plan: Plan) -> list[int]:
    """One delivery per recipient of a finalized plan, each queued on commit; the ids of
    those still to send. Four queries, however many recipients. Safe to call twice."""
    recipients = plan_recipients(plan=plan)
    with transaction.atomic():
        PlanDelivery.objects.bulk_create(
            [
                PlanDelivery(plan=plan, recipient_id=user_id, reason=reason)
                for user_id, reason in recipients.items()
            ],
            ignore_conflicts=True,
        )
        unsent = list(
            PlanDelivery.objects.filter(plan=plan, sent_at__isnull=True)
            .order_by("id")
            .values_list("id", flat=True)
        )
        enqueue_after_commit(plan_delivery_send_task, unsent)
    return unsent


def delivery_email(delivery: PlanDelivery) -> EmailMessage:
    """The email in the recipient's language: a link to the plan behind sign-in. The plan
    is never attached: a student record does not travel in a mailbox."""
    recipient, plan = delivery.recipient, delivery.plan
    with translation.override(recipient.preferred_language):
        context = {
            "recipient": recipient,
            "student": plan.meeting.student,
            "meeting": meeting_label(plan.meeting),
            "version": plan.version,
            "is_seca": delivery.reason == Reason.SECA_NOT_HONORED,
            "url": f"{settings.SITE_URL}{reverse('delivery_open', args=[delivery.pk])}",
        }
        subject = render_to_string("meetings/plans/email/delivery_subject.txt", context)
        body = render_to_string("meetings/plans/email/delivery.txt", context)
        language = translation.get_language()
    return EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        to=[recipient.email],
        headers={"Content-Language": language},
    )


def plan_delivery_send(*, delivery_id: int) -> bool:
    """Send one copy, once; True when this call emailed it. The row stays locked while the
    mail goes out: a second run waits, then finds it sent; a worker killed mid-send leaves
    it unsent for the re-queued run."""
    with transaction.atomic():
        delivery = (
            PlanDelivery.objects.select_for_update(of=("self",))
            .select_related("recipient", "plan__meeting__student", "plan__meeting__school")
            .filter(pk=delivery_id, sent_at__isnull=True, plan__finalized_at__isnull=False)
            .first()
        )
        if delivery is None:
            return False
        recipient, meeting = delivery.recipient, delivery.plan.meeting
        emailed = bool(recipient.is_active and recipient.email)
        if emailed:
            delivery_email(delivery).send()
        now = timezone.now()
        delivery.sent_at = now
        delivery.save(update_fields=["sent_at", "updated_at"])
        with translation.override(recipient.preferred_language):
            message = _("The finalized plan of %(student)s (version %(version)d) is ready.") % {
                "student": meeting.student.full_name,
                "version": delivery.plan.version,
            }
        Notification.objects.create(
            user=recipient,
            message=message,
            url=reverse("delivery_open", args=[delivery.pk]),
            emailed_at=now if emailed else None,
        )
        audit_record(
            actor=None,
            action="plan.sent",
            obj=delivery,
            school=meeting.school,
            student=meeting.student,
            after={"recipient": recipient.email, "version": delivery.plan.version},
        )
    return emailed


def plan_delivery_acknowledge(*, recipient: User, delivery: PlanDelivery) -> bool:
    """The recipient opened their copy: recorded once, at the first open (contract: the
    SECA acknowledges the plan). True when this call recorded it."""
    if delivery.recipient_id != recipient.pk:
        raise DomainError(_("This copy of the plan was sent to someone else."))
    now = timezone.now()
    with transaction.atomic():
        # A conditional update: of two opens at once, exactly one records it.
        changed = PlanDelivery.objects.filter(
            pk=delivery.pk, recipient=recipient, acknowledged_at__isnull=True
        ).update(acknowledged_at=now, updated_at=now)
        if changed:
            meeting = delivery.plan.meeting
            audit_record(
                actor=recipient,
                action="plan.acknowledged",
                obj=delivery,
                school=meeting.school,
                student=meeting.student,
                after={"version": delivery.plan.version},
            )
    return bool(changed)


def plan_deliveries_requeue(*, now: datetime.datetime | None = None) -> int:
    """Queue again the deliveries still unsent JOB_REQUEUE_AFTER_SECONDS after they were
    last queued (their worker died, Redis lost the message, SMTP was down past the last
    retry). `updated_at` is bumped, so each is queued once per period. Two queries per
    chunk; the partial index delivery_unsent_idx keeps the read small."""
    now = now or timezone.now()
    stale = PlanDelivery.objects.filter(
        sent_at__isnull=True,
        plan__finalized_at__isnull=False,
        updated_at__lt=now - datetime.timedelta(seconds=settings.JOB_REQUEUE_AFTER_SECONDS),
    )
    requeued = 0
    for chunk in keyset_chunks(stale, ("id",), settings.JOB_CHUNK_SIZE):
        ids = [pk for (pk,) in chunk]
        with transaction.atomic():
            PlanDelivery.objects.filter(pk__in=ids, sent_at__isnull=True).update(updated_at=now)
            enqueue_after_commit(plan_delivery_send_task, ids)
        requeued += len(ids)
    return requeued
