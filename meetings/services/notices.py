"""The notice of meeting to the parents (IDEA, 34 CFR 300.322).

One template says what the notice says, for the page the parent opens and for the email:
`notice_context` gathers it, `notice_email_send` renders it in the guardian's language.
`notices_send` is called by the scheduling services (schedule, reschedule, cancel) inside
their transaction: one MeetingNotice per guardian, each emailed by its own task on commit.
"""

import datetime
import html

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import strip_tags

from staff.models import Assignment, Guardian, User

from ..models import Meeting, MeetingNotice
from .scheduling_checks import transition_planning_applies


def notices_send(*, meeting: Meeting, kind: str) -> list[MeetingNotice]:
    """One notice per guardian of the student, each emailed by its own task after commit
    (34 CFR 300.322(a)). A guardian without an email address still gets the row: the case
    manager sees it unsent and sends the notice on paper."""
    if kind not in MeetingNotice.Kind.values:
        raise ValueError(f"Unknown notice kind {kind!r}")
    # Imported here: the task module calls back into this one.
    from ..tasks.notices import send_meeting_notice_email

    with transaction.atomic():
        notices = MeetingNotice.objects.bulk_create(
            [
                MeetingNotice(meeting=meeting, guardian=guardian, kind=kind)
                for guardian in Guardian.objects.filter(student_id=meeting.student_id)
            ]
        )
        for notice in notices:
            send_meeting_notice_email.delay_on_commit(notice.pk)
    return notices


def guardian_language(guardian: Guardian) -> str:
    """The language a guardian reads: their account's choice once they have one (copied
    from the guardian record when they accepted the invitation), else the school's record."""
    return guardian.user.preferred_language if guardian.user_id else guardian.preferred_language


def guardian_email(guardian: Guardian) -> str:
    return guardian.user.email if guardian.user_id else guardian.email


def notice_context(*, meeting: Meeting, guardian: Guardian | None = None) -> dict:
    """What the notice says (34 CFR 300.322(b)): purpose, time, place, who will attend, the
    right to bring others who know the child (the SECA included), the interpreter, how to
    ask for another time. `meeting` comes with its student and school. Two queries: the
    invitations and the child's SECAs."""
    # Imported here: the scheduling services import this module.

    student = meeting.student
    supporting = Assignment.objects.current().filter(student=student, kind=Assignment.Kind.SECA)
    secas = list(User.objects.filter(pk__in=supporting.values("staff_id")).order_by("full_name"))
    return {
        "meeting": meeting,
        "student": student,
        "school": meeting.school,
        "guardian": guardian,
        "invitations": list(meeting.invitations.order_by("id")),
        "secas": secas,
        "transition": transition_planning_applies(
            student=student, kind=meeting.kind, starts_at=meeting.starts_at
        ),
        "cancelled": meeting.state == Meeting.State.CANCELLED,
    }


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


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


def notice_email(notice: MeetingNotice) -> EmailMultiAlternatives:
    """The notice as an email in the guardian's language, HTML with a plain-text twin."""
    guardian = notice.guardian
    with translation.override(guardian_language(guardian)):
        context = {
            **notice_context(meeting=notice.meeting, guardian=guardian),
            "notice_kind": notice.kind,
            "for_email": True,
            "notice_url": _absolute(reverse("notice", args=[notice.meeting_id])),
            "language_code": translation.get_language(),
        }
        subject = " ".join(render_to_string("meetings/email/notice_subject.txt", context).split())
        body = render_to_string("meetings/email/notice.html", context)
    message = EmailMultiAlternatives(
        subject=subject, body=_text_from_html(body), to=[guardian_email(guardian)]
    )
    message.attach_alternative(body, "text/html")
    return message


def notice_email_send(*, notice_id: int) -> bool:
    """Send one notice, once. The row stays locked while the mail goes out: a second run
    of the task waits, then finds it sent; a worker killed mid-send leaves it unmarked for
    the re-queued run. True when this call sent it."""
    with transaction.atomic():
        notice = (
            MeetingNotice.objects.select_for_update(of=("self",))
            .select_related("guardian__user", "meeting__student", "meeting__school")
            .filter(pk=notice_id, sent_at__isnull=True)
            .first()
        )
        if notice is None or not guardian_email(notice.guardian):
            return False
        notice_email(notice).send()
        notice.sent_at = timezone.now()
        notice.save(update_fields=["sent_at", "updated_at"])
    return True


def notices_unsent(*, now: datetime.datetime, older_than: datetime.timedelta) -> list[int]:
    """Notices queued at least `older_than` ago and still unsent to a guardian who has an
    address: their task was lost (a broker restart, a worker killed before it ran). The
    sweep queues them again; the claim in notice_email_send keeps it to one email. Notices
    of meetings already started are left alone: too late to help. One query."""
    return list(
        MeetingNotice.objects.filter(
            sent_at__isnull=True,
            created_at__lte=now - older_than,
            meeting__starts_at__gt=now,
        )
        .filter(~Q(guardian__email="") | Q(guardian__user__isnull=False))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
