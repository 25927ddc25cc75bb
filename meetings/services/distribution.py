"""Distribution of the finalized plan to the parents and to every SECA who could not
attend (contract: "the SECA receives a copy of the finalized plan"; 34 CFR 300.322(f),
300.323(d)).

`plan_deliveries_create` runs inside `plan_finalize`'s transaction: one PlanDelivery per
recipient (unique on plan and recipient), each with its email in the outbox
(staff/outbox.py), which sends it once and calls `delivery_delivered` to set `sent_at`.
The email carries a link to the plan behind sign-in, never the file. A corrected plan is a
new Plan row: delivered again, as a new version, once per recipient.
"""

from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from staff import outbox
from staff.audit import audit_record
from staff.letters import Letter, compose, date, greeting, in_language, short_name
from staff.models import Assignment, Guardian, OutgoingEmail, User
from staff.services import DomainError

from ..models import Invitation, Notification, Plan, PlanDelivery

Reason = PlanDelivery.Reason


def plan_recipients(*, plan: Plan) -> dict[int, str]:
    """{user id: reason}: every SECA supporting the student now who did not attend the
    meeting (denied, undecided, withdrawn, absent, or never asked), and every guardian with
    an account. Two queries."""
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
    """One delivery per recipient of a finalized plan, each with its email in the outbox;
    the ids of those recorded by this call. Five queries, however many recipients. Safe to
    call twice: the second records nothing."""
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
            .filter(outbox.without_email("plan_delivery"))
            .order_by("id")
            .values_list("id", "recipient_id")
        )
        outbox.emails_record("plan_delivery", unsent)
    return [delivery_id for delivery_id, _ in unsent]


def delivery_email(email: OutgoingEmail) -> EmailMessage | None:
    """The letter in the recipient's language: a link to the plan behind sign-in. The plan
    is never attached: a student record does not travel in a mailbox."""
    delivery = (
        PlanDelivery.objects.select_related(
            "recipient", "plan__meeting__student__school", "plan__meeting__school"
        )
        .filter(pk=email.source_id, plan__finalized_at__isnull=False)
        .first()
    )
    if delivery is None or not delivery.recipient.is_active or not delivery.recipient.email:
        return None
    recipient, plan = delivery.recipient, delivery.plan
    meeting, student = plan.meeting, plan.meeting.student
    with in_language(recipient):
        names = {"student": short_name(student), "version": plan.version}
        if plan.version > 1:
            subject = _("Corrected plan for %(student)s (version %(version)d)") % names
        else:
            subject = _("%(student)s's finalized IEP plan is ready") % names
        if delivery.reason == Reason.SECA_NOT_HONORED:
            first = _(
                "The plan from the IEP meeting of %(student)s on %(date)s is finalized. You could not attend that meeting, so you receive a copy: it says how to support %(student)s every day."
            )
            reason = _(
                "You receive this copy because you support %(student)s and could not attend the meeting."
            )
        else:
            first = _(
                "The plan from the IEP meeting of %(student)s on %(date)s is finalized. As %(student)s's parent or guardian, you receive a copy."
            )
            reason = _(
                "You receive this copy as %(student)s's parent or guardian (34 CFR 300.322(f))."
            )
        values = {
            "student": student.full_name,
            "date": date(timezone.localtime(meeting.starts_at, meeting.school.tzinfo).date()),
        }
        paragraphs = [first % values]
        if plan.version > 1:
            paragraphs.append(
                _(
                    "This is a corrected version (%(version)d): it replaces the copy you received before."
                )
                % names
            )
        paragraphs.append(
            _(
                "Open it after signing in; opening it tells the school you received it. The plan is not attached to this email, to keep the student's record private."
            )
        )
        letter = Letter(
            subject=subject,
            greeting=greeting(recipient.get_short_name()),
            paragraphs=paragraphs,
            action=(_("Open the plan"), reverse("delivery_open", args=[delivery.pk])),
            reason=reason % values,
            school=student.school,
        )  # fmt: skip
        return compose(letter, to=recipient.email)


def delivery_delivered(email: OutgoingEmail, message) -> None:
    """The copy went (or there was no address to send it to): recorded, with an in-app
    notification that leads to it and the access log's entry."""
    delivery = (
        PlanDelivery.objects.select_related(
            "recipient", "plan__meeting__student", "plan__meeting__school"
        )
        .filter(pk=email.source_id, sent_at__isnull=True)
        .first()
    )
    if delivery is None:
        return
    now, sent = timezone.now(), message is not None
    delivery.sent_at = now
    delivery.save(update_fields=["sent_at", "updated_at"])
    recipient, meeting = delivery.recipient, delivery.plan.meeting
    with translation.override(recipient.preferred_language):
        message = _("The finalized plan of %(student)s (version %(version)d) is ready.") % {
            "student": meeting.student.full_name,
            "version": delivery.plan.version,
        }
    Notification.objects.create(
        user=recipient,
        message=message,
        url=reverse("delivery_open", args=[delivery.pk]),
        emailed_at=now if sent else None,
    )
    audit_record(
        actor=None,
        action="plan.sent",
        obj=delivery,
        school=meeting.school,
        student=meeting.student,
        after={"recipient": recipient.email, "version": delivery.plan.version, "emailed": sent},
    )


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
