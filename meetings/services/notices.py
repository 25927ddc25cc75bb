"""The notice of meeting to the parents (IDEA, 34 CFR 300.322).

One template says what the notice says, for the page the parent opens and for the email:
`notice_context` gathers it, `notice_email` renders it in the guardian's language.
`notices_send` is called by the scheduling services (schedule, reschedule, cancel) inside
their transaction: one MeetingNotice per guardian, each emailed by its own task on commit.
"""

import html

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import strip_tags

from iepcoord.db import read_together
from staff import outbox
from staff.models import Assignment, Guardian, OutgoingEmail, User
from staff.outbox import absolute_url

from ..models import Meeting, MeetingNotice
from .scheduling_checks import transition_planning_applies


def notices_send(*, meeting: Meeting, kind: str) -> list[MeetingNotice]:
    """One notice per guardian of the student, each emailed by its own task after commit
    (34 CFR 300.322(a)). A guardian without an email address still gets the row: the case
    manager sees it unsent and sends the notice on paper."""
    if kind not in MeetingNotice.Kind.values:
        raise ValueError(f"Unknown notice kind {kind!r}")
    with transaction.atomic():
        notices = MeetingNotice.objects.bulk_create(
            [
                MeetingNotice(meeting=meeting, guardian=guardian, kind=kind)
                for guardian in Guardian.objects.filter(student_id=meeting.student_id)
            ]
        )
        outbox.emails_record("notice", [(notice.pk, notice.guardian.user_id) for notice in notices])
    return notices


def guardian_language(guardian: Guardian) -> str:
    """The language a guardian reads: their account's choice once they have one (copied
    from the guardian record when they accepted the invitation), else the school's record."""
    return guardian.user.preferred_language if guardian.user_id else guardian.preferred_language


def guardian_email(guardian: Guardian) -> str:
    return guardian.user.email if guardian.user_id else guardian.email


def notice_lists(meeting: Meeting) -> dict:
    """The notice's lists, for `read_together` (iepcoord.db) with what else the page reads:
    who is invited, and the child's SECAs this year (the notice names them: they may
    attend)."""
    supporting = Assignment.objects.current().filter(
        student=meeting.student_id, kind=Assignment.Kind.SECA
    )
    return {
        "invitations": meeting.invitations.order_by("id"),
        "secas": User.objects.filter(pk__in=supporting.values("staff_id")).order_by("full_name"),
    }


def notice_context(*, meeting: Meeting, lists: dict, guardian: Guardian | None = None) -> dict:
    """What the notice says (34 CFR 300.322(b)): purpose, time, place, who will attend, the
    right to bring others who know the child (the SECA included), the interpreter, how to
    ask for another time. `meeting` comes with its student and school; `lists` are
    notice_lists(meeting), read."""
    student = meeting.student
    return {
        "meeting": meeting,
        "student": student,
        "school": meeting.school,
        "guardian": guardian,
        "invitations": lists["invitations"],
        "secas": lists["secas"],
        "transition": transition_planning_applies(
            student=student, kind=meeting.kind, starts_at=meeting.starts_at
        ),
        "cancelled": meeting.state == Meeting.State.CANCELLED,
    }


def _text_from_html(body: str) -> str:
    """The plain-text alternative: the same notice without its tags. The notice shows every
    link's address as its text, so nothing is lost."""
    lines = (line.strip() for line in html.unescape(strip_tags(body)).splitlines())
    text, blank = [], False
    for line in lines:
        if line or not blank:
            text.append(line)
        blank = not line
    return "\n".join(text).strip() + "\n"


def notice_email(email: OutgoingEmail) -> EmailMultiAlternatives | None:
    """The notice as the guardian reads it, in their language; nothing for a guardian
    without an address (the case manager sees it unsent and sends it on paper)."""
    notice = (
        MeetingNotice.objects.select_related(
            "guardian__user", "meeting__student", "meeting__school"
        )
        .filter(pk=email.source_id)
        .first()
    )
    if notice is None or not guardian_email(notice.guardian):
        return None
    guardian = notice.guardian
    lists = read_together(**notice_lists(notice.meeting))
    with translation.override(guardian_language(guardian)):
        context = {
            **notice_context(meeting=notice.meeting, lists=lists, guardian=guardian),
            "notice_kind": notice.kind,
            "for_email": True,
            "notice_url": absolute_url(reverse("notice", args=[notice.meeting_id])),
            "language_code": translation.get_language(),
        }
        subject = " ".join(render_to_string("meetings/email/notice_subject.txt", context).split())
        body = render_to_string("meetings/email/notice.html", context)
        language = translation.get_language()
    message = EmailMultiAlternatives(
        subject=subject,
        body=_text_from_html(body),
        to=[guardian_email(guardian)],
        headers={"Content-Language": language},
    )
    message.attach_alternative(body, "text/html")
    return message


def notice_delivered(email: OutgoingEmail, message) -> None:
    if message is not None:
        MeetingNotice.objects.filter(pk=email.source_id).update(
            sent_at=timezone.now(), updated_at=timezone.now()
        )
