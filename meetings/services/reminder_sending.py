"""What a claimed reminder says, built when its email goes (so a reminder that became moot
is dropped) as a letter (staff/letters.py) in the recipient's language; the outbox sends it
once (staff/outbox.py)."""

import dataclasses

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from staff import access
from staff.access import Right
from staff.letters import Letter, compose, date, greeting, in_language, short_name
from staff.models import OutgoingEmail, Student

from ..letters import meeting_facts
from ..models import (
    AttendanceRequest,
    Meeting,
    Notification,
    PlanDelivery,
    Reminder,
    SecaFeedback,
)
from .reminders import Kind, finalized_plan, reminder_slot, students_with_reviews_due

Status = AttendanceRequest.Status


@dataclasses.dataclass(frozen=True)
class Reminding:
    """A reminder's letter, the student it is about and the right its reader must still
    hold on them (staff/access.py): one to someone who lost it since the claim is dropped."""

    letter: Letter
    student: Student | None = None
    needs: Right = Right.VIEW


def _meeting_upcoming(reminder: Reminder, user, now) -> Reminding | None:
    meeting = (
        Meeting.objects.select_related("student__school", "school")
        .filter(pk=reminder.object_id, state=Meeting.State.SCHEDULED, starts_at__gt=now)
        .first()
    )
    # Moved since the claim: the new time has reminders of its own.
    if meeting is None or not reminder.slot.endswith(reminder_slot(0, meeting.starts_at)[2:]):
        return None
    hours = int((meeting.starts_at - now).total_seconds() // 3600)
    names = {"student": short_name(meeting.student), "days": max(1, round(hours / 24))}
    subject = (
        _("Reminder: %(student)s's IEP meeting is tomorrow") % names
        if hours < 36
        else ngettext(
            "Reminder: %(student)s's IEP meeting is in %(days)d day",
            "Reminder: %(student)s's IEP meeting is in %(days)d days",
            names["days"],
        )
        % names
    )
    letter = Letter(
        subject=subject,
        greeting=greeting(user.get_short_name()),
        paragraphs=[
            _("A reminder of the IEP meeting of %(student)s.") % {"student": meeting.student.full_name}
        ],
        facts=meeting_facts(meeting),
        action=(_("Open the meeting"), reverse("meeting_detail", args=[meeting.pk])),
        reason=_("You receive this reminder because you take part in this meeting."),
        school=meeting.student.school,
    )  # fmt: skip
    return Reminding(letter, meeting.student)


def _request_pending(reminder: Reminder, user, now) -> Reminding | None:
    req = (
        AttendanceRequest.objects.select_related(
            "seca", "meeting__student__school", "meeting__school"
        )
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
    meeting = req.meeting
    names = {"seca": req.seca.full_name, "student": short_name(meeting.student)}
    if reminder.kind == Kind.REQUEST_ESCALATED:
        subject = _("Still undecided: %(seca)s's request to attend %(student)s's IEP meeting")
        text = _(
            "%(seca)s's request to attend the IEP meeting of %(student)s is still undecided and the meeting is close: your designees have not acted. Please decide it, as the principal."
        )  # fmt: skip
    else:
        subject = _("Waiting for you: %(seca)s's request to attend %(student)s's IEP meeting")
        text = _(
            "%(seca)s's request to attend the IEP meeting of %(student)s is waiting for your decision. Undecided when the meeting starts, it counts as not honored."
        )  # fmt: skip
    letter = Letter(
        subject=subject % names,
        greeting=greeting(user.get_short_name()),
        paragraphs=[text % {**names, "student": meeting.student.full_name}],
        facts=meeting_facts(meeting),
        action=(_("Decide the request"), reverse("request_decide", args=[req.pk])),
        reason=_("You receive this reminder because you decide SECA requests at %(school)s.")
        % {"school": meeting.student.school.name},
        school=meeting.student.school,
    )
    return Reminding(letter, meeting.student, Right.DECIDE)


def _feedback_due(reminder: Reminder, user, now) -> Reminding | None:
    meeting = (
        Meeting.objects.select_related("student__school", "school")
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
    letter = Letter(
        subject=_("Your feedback for %(student)s's IEP meeting is due before it starts")
        % {"student": short_name(meeting.student)},
        greeting=greeting(user.get_short_name()),
        paragraphs=[
            _(
                "Your request to attend the IEP meeting of %(student)s was not honored. Your feedback, in the agreed format, reaches the team with the meeting's papers: please give it before the meeting starts."
            )
            % {"student": meeting.student.full_name},
        ],  # fmt: skip
        facts=meeting_facts(meeting),
        action=(_("Give your feedback"), reverse("feedback_edit", args=[meeting.pk])),
        reason=_("You receive this reminder because you asked to attend this meeting."),
        school=meeting.student.school,
    )
    return Reminding(letter, meeting.student, Right.SUPPORT)


def _plan_not_finalized(reminder: Reminder, user, now) -> Reminding | None:
    meeting = (
        Meeting.objects.select_related("student__school", "school")
        .filter(pk=reminder.object_id, state=Meeting.State.HELD)
        .exclude(Exists(finalized_plan()))
        .first()
    )
    if meeting is None:
        return None
    letter = Letter(
        subject=_("The plan of %(student)s's IEP meeting is not finalized yet")
        % {"student": short_name(meeting.student)},
        greeting=greeting(user.get_short_name()),
        paragraphs=[
            _("The IEP meeting of %(student)s was held, and its plan is not finalized yet. Once it is, the family and the SECAs who could not attend receive their copy.") % {"student": meeting.student.full_name},
        ],  # fmt: skip
        facts=meeting_facts(meeting),
        action=(_("Upload or finalize the plan"), reverse("meeting_detail", args=[meeting.pk]) + "#plans"),
        reason=_("You receive this reminder because you run %(student)s's IEP meetings.")
        % {"student": meeting.student.full_name},
        school=meeting.student.school,
    )  # fmt: skip
    return Reminding(letter, meeting.student, Right.MANAGE)


REVIEWS_LISTED = 50


def _review_line(student) -> str:
    missing = []
    if student.annual_missing:
        missing.append(
            _("annual review due %(date)s, not scheduled") % {"date": date(student.annual_review_due)}
        )  # fmt: skip
    if student.reeval_missing:
        missing.append(
            _("re-evaluation due %(date)s, not scheduled") % {"date": date(student.reevaluation_due)}
        )  # fmt: skip
    return _("%(student)s: %(missing)s") % {
        "student": student.full_name,
        "missing": "; ".join(missing),
    }


def _reviews_due(reminder: Reminder, user, now) -> Reminding | None:
    students = list(
        students_with_reviews_due(now=now)
        .filter(access.standing_of(reminder.recipient).caseload_filter())
        .order_by("annual_review_due", "last_name", "first_name")[: REVIEWS_LISTED + 1]
    )
    if not students:
        return None
    paragraphs = [
        _("These students on your caseload have an annual review or a re-evaluation due within %(days)d days, or overdue, with no meeting scheduled for it (34 CFR 300.324(b), 300.303):") % {"days": settings.REMINDER_REVIEW_DAYS},
        *(_review_line(student) for student in students[:REVIEWS_LISTED]),
    ]  # fmt: skip
    if len(students) > REVIEWS_LISTED:
        paragraphs.append(_("… and more on your caseload page."))
    letter = Letter(
        subject=ngettext(
            "%(count)d review to schedule on your caseload",
            "%(count)d reviews to schedule on your caseload",
            len(students),
        )
        % {"count": len(students)},
        greeting=greeting(user.get_short_name()),
        paragraphs=paragraphs,
        action=(_("Open your caseload"), reverse("caseload") + "?show=due_soon"),
        reason=_("You receive this weekly reminder because you are these students' case manager."),
    )
    return Reminding(letter)


def _plan_not_acknowledged(reminder: Reminder, user, now) -> Reminding | None:
    delivery = (
        PlanDelivery.objects.select_related(
            "plan__meeting__student__school", "plan__meeting__school"
        )
        .filter(pk=reminder.object_id, acknowledged_at__isnull=True)
        .first()
    )
    if delivery is None:
        return None
    student = delivery.plan.meeting.student
    letter = Letter(
        subject=_("Please open %(student)s's finalized plan") % {"student": short_name(student)},
        greeting=greeting(user.get_short_name()),
        paragraphs=[
            _(
                "The finalized plan of %(student)s (version %(version)d) was sent to you and you have not opened it yet. Please open it: it says how to support the student."
            )
            % {"student": student.full_name, "version": delivery.plan.version},
        ],  # fmt: skip
        action=(_("Open the plan"), reverse("delivery_open", args=[delivery.pk])),
        reason=_("You receive this reminder because the plan was sent to you."),
        school=student.school,
    )
    return Reminding(letter, student)


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
    """The claimed reminder's letter, built as it goes, in the recipient's language;
    nothing when it became moot (the request was decided, the plan finalized, the meeting
    moved) or the recipient no longer holds the right it is about."""
    reminder = Reminder.objects.select_related("recipient").filter(pk=email.source_id).first()
    if reminder is None or reminder.kind not in MESSAGES:
        return None
    recipient = reminder.recipient
    if not recipient.is_active or not recipient.email:
        return None
    with in_language(recipient):
        reminding = MESSAGES[reminder.kind](reminder, recipient, timezone.now())
        if reminding is None:
            return None
        if reminding.student is not None:
            rights = access.standing_of(recipient).rights_on(reminding.student)
            if reminding.needs not in rights:
                return None
        return compose(reminding.letter, to=recipient.email)


def reminder_delivered(email: OutgoingEmail, message: EmailMessage | None) -> None:
    """Marked done either way; when it went, it also appears among the notifications."""
    now = timezone.now()
    Reminder.objects.filter(pk=email.source_id).update(sent_at=now)
    if message is not None:
        Notification.objects.create(
            user_id=email.recipient_id,
            message=message.subject[:300],
            url=message.letter.path,
            emailed_at=now,
        )
