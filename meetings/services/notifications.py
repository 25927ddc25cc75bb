"""In-app notifications, each also emailed through the outbox (staff/outbox.py)."""

from django.core.mail import EmailMessage
from django.utils import timezone, translation
from django.utils.formats import date_format

from staff import outbox
from staff.access import Right, holders
from staff.models import OutgoingEmail, User

from ..models import Meeting, Notification


def when(meeting: Meeting) -> str:
    local = timezone.localtime(meeting.starts_at, meeting.school.tzinfo)
    return date_format(local, "l, F j, g:i A")


def meeting_label(meeting: Meeting) -> str:
    return f"{meeting.get_kind_display()} for {meeting.student.full_name}, {when(meeting)}"


def notify(users, message: str, url: str = "", *, meeting: Meeting) -> None:
    """An in-app notification per user, each emailed by its own task after commit. Only to
    those who may still see the meeting's student (staff/access.py): a SECA whose assignment
    ended or the old school's staff of a student who moved hear nothing of them. One query
    to check the recipients, one to insert."""
    ids = {user.pk for user in users}
    if not ids:
        return
    recipients = User.objects.filter(holders(Right.VIEW, meeting.student), pk__in=ids)
    rows = Notification.objects.bulk_create(
        [Notification(user=user, message=message[:300], url=url) for user in recipients]
    )
    outbox.emails_record("notification", [(row.pk, row.user_id) for row in rows])


def notification_email(email: OutgoingEmail) -> EmailMessage | None:
    notification = Notification.objects.select_related("user").filter(pk=email.source_id).first()
    if notification is None or not notification.user.is_active or not notification.user.email:
        return None
    user = notification.user
    with translation.override(user.preferred_language):
        link = outbox.absolute_url(notification.url or "/")
        return EmailMessage(
            subject=f"iepcoord: {notification.message[:70]}",
            body=f"{notification.message}\n\n{link}\n",
            to=[user.email],
            headers={"Content-Language": translation.get_language()},
        )


def notification_delivered(email: OutgoingEmail, message) -> None:
    if message is not None:
        Notification.objects.filter(pk=email.source_id).update(emailed_at=timezone.now())
