"""Sending one claimed reminder: its message, built when it goes (so a reminder that became
moot is dropped), in the recipient's language, with the row locked so it goes once."""

import dataclasses

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from staff import access
from staff.access import Right
from staff.models import OutgoingEmail, Student
from staff.outbox import absolute_url

from ..models import (
    AttendanceRequest,
    Meeting,
    Notification,
    PlanDelivery,
    Reminder,
    SecaFeedback,
)
from .notifications import meeting_label
from .reminders import Kind, finalized_plan, reminder_slot, students_with_reviews_due

Status = AttendanceRequest.Status


@dataclasses.dataclass(frozen=True)
class ReminderMessage:
    subject: str
    text: str
    path: str
    details: tuple[str, ...] = ()
    # The student it is about, and the right the recipient must still hold on them
    # (staff/access.py): a reminder to someone who lost it since the claim is dropped.
    student: Student | None = None
    needs: Right = Right.VIEW


def _meeting_upcoming(reminder: Reminder, now) -> ReminderMessage | None:
    meeting = (
        Meeting.objects.select_related("student", "school")
        .filter(pk=reminder.object_id, state=Meeting.State.SCHEDULED, starts_at__gt=now)
        .first()
    )
    # Moved since the claim: the new time has reminders of its own.
    if meeting is None or not reminder.slot.endswith(reminder_slot(0, meeting.starts_at)[2:]):
        return None
    where = [meeting.location, meeting.video_link, meeting.phone_dial_in]
    return ReminderMessage(
        subject=_("Reminder: %(meeting)s") % {"meeting": meeting_label(meeting)},
        text=_("Reminder: the %(meeting)s.") % {"meeting": meeting_label(meeting)},
        path=reverse("meeting_detail", args=[meeting.pk]),
        details=tuple(filter(None, where)),
        student=meeting.student,
    )


def _request_pending(reminder: Reminder, now) -> ReminderMessage | None:
    req = (
        AttendanceRequest.objects.select_related("seca", "meeting__student", "meeting__school")
        .filter(
            pk=reminder.object_id,
            status=Status.PENDING,
            meeting__state=Meeting.State.SCHEDULED,
            meeting__starts_at__gt=now,
        )
        .first()
    )
    if req is None:
        return None
    values = {"seca": req.seca.full_name, "meeting": meeting_label(req.meeting)}
    if reminder.kind == Kind.REQUEST_ESCALATED:
        text = _(
            "%(seca)s's request to attend the %(meeting)s is still undecided and the meeting "
            "is close: your designees have not acted. Please decide it, as the principal."
        )
    else:
        text = _("%(seca)s's request to attend the %(meeting)s is waiting for your decision.")
    return ReminderMessage(
        subject=_("%(seca)s's request to attend is waiting for a decision") % values,
        text=text % values,
        path=reverse("request_decide", args=[req.pk]),
        student=req.meeting.student,
        needs=Right.DECIDE,
    )


def _feedback_due(reminder: Reminder, now) -> ReminderMessage | None:
    meeting = (
        Meeting.objects.select_related("student", "school")
        .filter(pk=reminder.object_id, state=Meeting.State.SCHEDULED, starts_at__gt=now)
        .exclude(
            Exists(
                SecaFeedback.objects.filter(
                    meeting=OuterRef("pk"),
                    seca_id=reminder.recipient_id,
                    submitted_at__isnull=False,
                )
            )
        )
        .first()
    )
    if meeting is None:
        return None
    return ReminderMessage(
        subject=_("Your feedback is due before the meeting"),
        text=_(
            "Your feedback for the %(meeting)s is due before it starts: it reaches the team "
            "with the meeting's papers."
        )
        % {"meeting": meeting_label(meeting)},
        path=reverse("feedback_edit", args=[meeting.pk]),
        student=meeting.student,
        needs=Right.SUPPORT,
    )


def _plan_not_finalized(reminder: Reminder, now) -> ReminderMessage | None:
    meeting = (
        Meeting.objects.select_related("student", "school")
        .filter(pk=reminder.object_id, state=Meeting.State.HELD)
        .exclude(Exists(finalized_plan()))
        .first()
    )
    if meeting is None:
        return None
    return ReminderMessage(
        subject=_("A plan is not finalized yet"),
        text=_(
            "The plan of the %(meeting)s is not finalized yet: once it is, the family and the "
            "SECAs who could not attend receive their copy."
        )
        % {"meeting": meeting_label(meeting)},
        path=reverse("meeting_detail", args=[meeting.pk]) + "#plans",
        student=meeting.student,
        needs=Right.MANAGE,
    )


REVIEWS_LISTED = 50


def _reviews_due(reminder: Reminder, now) -> ReminderMessage | None:
    students = list(
        students_with_reviews_due(now=now)
        .filter(access.standing_of(reminder.recipient).caseload_filter())
        .order_by("annual_review_due", "last_name", "first_name")[: REVIEWS_LISTED + 1]
    )
    if not students:
        return None
    lines = []
    for student in students[:REVIEWS_LISTED]:
        due = [
            _("annual review due %(date)s") % {"date": date_format(student.annual_review_due)}
            if student.annual_review_due
            else "",
            _("re-evaluation due %(date)s") % {"date": date_format(student.reevaluation_due)}
            if student.reevaluation_due
            else "",
        ]
        lines.append(f"- {student.full_name}: {'; '.join(filter(None, due))}")
    if len(students) > REVIEWS_LISTED:
        lines.append(_("… and more on your caseload page."))
    return ReminderMessage(
        subject=_("Reviews coming due on your caseload"),
        text=_(
            "Students on your caseload have an annual review or a re-evaluation due within "
            "%(days)d days, or overdue, and no meeting scheduled for it."
        )
        % {"days": settings.REMINDER_REVIEW_DAYS},
        path=reverse("caseload"),
        details=tuple(lines),
    )


def _plan_not_acknowledged(reminder: Reminder, now) -> ReminderMessage | None:
    delivery = (
        PlanDelivery.objects.select_related("plan__meeting__student", "plan__meeting__school")
        .filter(pk=reminder.object_id, acknowledged_at__isnull=True)
        .first()
    )
    if delivery is None:
        return None
    return ReminderMessage(
        subject=_("Please open the finalized plan"),
        text=_(
            "The finalized plan of %(student)s (version %(version)d) was sent to you and you "
            "have not opened it yet. Please open it: it says how to support the student."
        )
        % {"student": delivery.plan.meeting.student.full_name, "version": delivery.plan.version},
        path=reverse("delivery_open", args=[delivery.pk]),
        student=delivery.plan.meeting.student,
    )


MESSAGES = {
    Kind.MEETING_UPCOMING: _meeting_upcoming,
    Kind.REQUEST_PENDING: _request_pending,
    Kind.REQUEST_ESCALATED: _request_pending,
    Kind.FEEDBACK_DUE: _feedback_due,
    Kind.PLAN_NOT_FINALIZED: _plan_not_finalized,
    Kind.REVIEWS_DUE: _reviews_due,
    Kind.PLAN_NOT_ACKNOWLEDGED: _plan_not_acknowledged,
}


def reminder_email(email: OutgoingEmail) -> EmailMessage | None:
    """The claimed reminder's message, built as it goes, in the recipient's language;
    nothing when it became moot (the request was decided, the plan finalized, the meeting
    moved) or the recipient no longer holds the right it is about."""
    reminder = Reminder.objects.select_related("recipient").filter(pk=email.source_id).first()
    if reminder is None or reminder.kind not in MESSAGES:
        return None
    recipient = reminder.recipient
    if not recipient.is_active or not recipient.email:
        return None
    with translation.override(recipient.preferred_language):
        message = MESSAGES[reminder.kind](reminder, timezone.now())
        if message is not None and message.student is not None:
            rights = access.standing_of(recipient).rights_on(message.student)
            message = message if message.needs in rights else None
        if message is None:
            return None
        return _email(recipient, message)


def reminder_delivered(email: OutgoingEmail, message: EmailMessage | None) -> None:
    """Marked done either way; when it went, it also appears among the notifications."""
    now = timezone.now()
    Reminder.objects.filter(pk=email.source_id).update(sent_at=now)
    if message is not None:
        Notification.objects.create(
            user_id=email.recipient_id,
            message=message.reminder.text[:300],
            url=message.reminder.path,
            emailed_at=now,
        )


def _email(recipient, message: ReminderMessage) -> EmailMessage:
    body = [message.text, *(["", *message.details] if message.details else []), ""]
    body.append(absolute_url(message.path))
    email = EmailMessage(
        subject=f"iepcoord: {message.subject}",
        body="\n".join(body) + "\n",
        to=[recipient.email],
        headers={"Content-Language": translation.get_language()},
    )
    email.reminder = message  # for the in-app notification (reminder_delivered)
    return email
