"""In-app notifications, each also emailed by a Celery task queued on commit."""

from django.utils import timezone
from django.utils.formats import date_format

from staff.access import Right, holders
from staff.models import User

from ..models import Meeting, Notification
from ..tasks.notifications import send_notification_email


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
    for row in rows:
        send_notification_email.delay_on_commit(row.pk)
