"""In-app notifications, each also emailed through the outbox (staff/outbox.py).

A notification is an event (meetings/letters.py EVENTS) about a meeting, or about a SECA's
request to stay with a student (STAY_EVENTS, without a meeting): its in-app text is
the letter's subject, built in the reader's language when it is created; its email is the
whole letter, built again in the reader's language when it goes.
"""

from django.core.mail import EmailMessage
from django.utils import timezone

from staff import outbox
from staff.access import Right, holders, stay_audience
from staff.letters import compose, fit, in_language
from staff.models import OutgoingEmail, StayRequest, User

from ..letters import EVENTS, STAY_EVENTS, meeting_ics
from ..models import AttendanceRequest, Meeting, Notification


def notify(users, event: str, *, meeting: Meeting | None = None, request=None, **params) -> None:
    """One notification per user, each emailed through the outbox. Only to those who may
    still see the meeting's student (staff/access.py): a SECA whose assignment ended or the
    old school's staff of a student who moved hear nothing of them. A stay request's events
    (no meeting; `request` is the StayRequest) reach its approvers and the SECAs who may ask
    to stay with its student this year (for a classroom: the SECA who asked). `params` are the event's (JSON) details. Three
    queries: the recipients, the rows, their emails."""
    if event not in EVENTS or (meeting is None) != (event in STAY_EVENTS):
        raise ValueError(f"Unknown notification event {event!r}")
    ids = {user.pk for user in users}
    if not ids:
        return
    audience = stay_audience(request) if meeting is None else holders(Right.VIEW, meeting.student)
    recipients = User.objects.filter(audience, pk__in=ids)
    stored = {
        "meeting": meeting.pk if meeting else None,
        "request": request.pk if request else None,
        **params,
    }
    rows = []
    for user in recipients:
        with in_language(user):
            letter = EVENTS[event](user, meeting, request, params)
        rows.append(
            Notification(
                user=user,
                message=fit(letter.subject)[:300],
                url=letter.path,
                event=event,
                params=stored,
            )
        )
    Notification.objects.bulk_create(rows)
    outbox.emails_record("notification", [(row.pk, row.user_id) for row in rows])


def notification_email(email: OutgoingEmail) -> EmailMessage | None:
    """The notification's letter, in its reader's language, with the meeting's calendar
    file when it has one; nothing for a reader without an address or gone."""
    notification = Notification.objects.select_related("user").filter(pk=email.source_id).first()
    if notification is None or notification.event not in EVENTS:
        return None
    user = notification.user
    if not user.is_active or not user.email:
        return None
    params = dict(notification.params)
    if notification.event in STAY_EVENTS:
        stay = (
            StayRequest.objects.select_related("student__school", "school", "seca", "decided_by")
            .filter(pk=params.pop("request", None))
            .first()
        )
        if stay is None:
            return None
        with in_language(user):
            return compose(EVENTS[notification.event](user, None, stay, params), to=user.email)
    meeting = (
        Meeting.objects.select_related("student__school", "school")
        .filter(pk=params.pop("meeting", None))
        .first()
    )
    request_id = params.pop("request", None)
    request = (
        AttendanceRequest.objects.select_related("seca", "decided_by", "covered_by")
        .filter(pk=request_id)
        .first()
    )
    if meeting is None or (request_id and request is None):
        return None
    with in_language(user):
        letter = EVENTS[notification.event](user, meeting, request, params)
        if letter.calendar is not None:
            letter.attachments += meeting_ics(letter.calendar, user)
        return compose(letter, to=user.email)


def notification_delivered(email: OutgoingEmail, message) -> None:
    if message is not None:
        Notification.objects.filter(pk=email.source_id).update(emailed_at=timezone.now())
