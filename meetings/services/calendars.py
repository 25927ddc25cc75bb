"""Calendars (RFC 5545): one meeting as an .ics file, and each person's private feed.

A feed is fetched by Google Calendar or Outlook without a session, so its URL carries a
secret (User.calendar_token) the person can reset. It holds only that person's meetings,
each still filtered through the access layer (FERPA: nothing of another family).
"""

import dataclasses
import datetime
import hashlib
import secrets
from urllib.parse import urlsplit

import icalendar
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import CharField, Count, IntegerField, Max, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from staff.access import standing_of
from staff.audit import audit_record
from staff.models import AuditEvent, Guardian, User

from .. import access
from ..models import AttendanceRequest, Invitation, Meeting

# The feed keeps recent meetings too: a parent looks back at the last one.
FEED_HISTORY = datetime.timedelta(days=60)
PRODID = "-//iepcoord//IEP meetings//EN"


def with_sequence(meetings):
    """Annotate `reschedules`: how many times each meeting moved, from the audit trail.
    SEQUENCE (RFC 5545 3.8.7.4) must grow with each significant change, and a calendar
    keeps the old time if it does not. Served by audit_object_idx."""
    moved = (
        AuditEvent.objects.filter(
            object_type=Meeting._meta.model_name,
            object_id=Cast(OuterRef("pk"), output_field=CharField()),
            action="meeting.rescheduled",
        )
        .order_by()
        .values("object_type")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return meetings.annotate(
        reschedules=Coalesce(Subquery(moved, output_field=IntegerField()), Value(0))
    )


def _feed_meetings(user: User, now: datetime.datetime):
    """This person's meetings from FEED_HISTORY ago on, cancelled ones included (a calendar
    removes them when it sees STATUS:CANCELLED): invited, their children's, the SECA's
    approved requests, the case manager's caseload. The ids come from a union of one
    indexed lookup per relation: ORed EXISTS would make PostgreSQL scan the district's
    meetings for each feed."""
    mine = (
        Invitation.objects.order_by()
        .filter(user=user)
        .values("meeting_id")
        .union(
            Meeting.objects.order_by()
            .filter(student__in=Guardian.objects.filter(user=user).values("student"))
            .values("pk"),
            AttendanceRequest.objects.order_by()
            .filter(seca=user, status=AttendanceRequest.Status.APPROVED)
            .values("meeting_id"),
            Meeting.objects.order_by().filter(student__case_manager=user).values("pk"),
        )
    )
    return access.meetings(user).filter(pk__in=mine, starts_at__gte=now - FEED_HISTORY)


def calendar_meetings_for(*, user: User, now: datetime.datetime) -> list[Meeting]:
    """The feed's meetings (_feed_meetings) with their student and school. One query."""
    return list(
        with_sequence(
            _feed_meetings(user, now).select_related("student__school", "school")
        ).order_by("starts_at", "pk")
    )


@dataclasses.dataclass(frozen=True)
class FeedVersion:
    etag: str
    last_modified: datetime.datetime | None


def feed_version(*, user: User, now: datetime.datetime) -> FeedVersion:
    """A fingerprint of everything the feed shows: which meetings, when each last changed
    (moving or cancelling one saves it), its student and school, and the reader's language
    and address. The same while nothing the feed shows changed: its ETag, and the key of
    the feed kept in the cache. One query, with no rows loaded."""
    seen = _feed_meetings(user, now).aggregate(
        n=Count("pk"),
        ids=Sum("pk"),
        meeting_changed=Max("updated_at"),
        student_changed=Max("student__updated_at"),
        school_changed=Max("school__updated_at"),
        student_school_changed=Max("student__school__updated_at"),
    )
    parts = [*map(str, seen.values()), user.preferred_language, user.calendar_token]
    parts.append(settings.SITE_URL)
    changed = [moment for moment in list(seen.values())[2:] if moment]
    return FeedVersion(
        etag=hashlib.sha256("|".join(parts).encode()).hexdigest()[:32],
        last_modified=max(changed, default=None),
    )


# A feed built once serves every poll until what it shows changes (feed_version); the
# cache forgets it after a day without a poll.
FEED_CACHE_SECONDS = 24 * 60 * 60


def feed_for(*, user: User, now: datetime.datetime, version: FeedVersion) -> dict:
    """The feed's body and its students as (pk, school_id) (for the access log): from the
    cache when this version was built before, else built (one query) and kept."""
    key = f"calendar-feed:{user.pk}:{version.etag}"
    feed = cache.get(key)
    if feed is None:
        meetings = calendar_meetings_for(user=user, now=now)
        with translation.override(user.preferred_language):
            body = meetings_ics(meetings, user=user, name=_("My IEP meetings"))
        students = sorted({(m.student_id, m.student.school_id) for m in meetings})
        feed = {"body": body, "students": students}
        cache.set(key, feed, FEED_CACHE_SECONDS)
    return feed


def _event(meeting: Meeting, *, page_url: str, host: str, now: datetime.datetime):
    tz = meeting.school.tzinfo
    cancelled = meeting.state == Meeting.State.CANCELLED
    event = icalendar.Event()
    # Stable per meeting: a calendar updates the event rather than adding another.
    event.add("uid", f"meeting-{meeting.pk}@{host}")
    event.add("dtstamp", now.astimezone(datetime.UTC))
    event.add("last-modified", meeting.updated_at.astimezone(datetime.UTC))
    # In the school's time zone (TZID, with its VTIMEZONE): a parent's phone set to
    # another zone still shows the right hour.
    event.add("dtstart", timezone.localtime(meeting.starts_at, tz))
    event.add("dtend", timezone.localtime(meeting.ends_at, tz))
    # Cancelling is a change too: the calendar must take the cancelled version.
    event.add("sequence", meeting.reschedules + (1 if cancelled else 0))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add(
        "summary",
        _("IEP meeting: %(kind)s, %(student)s")
        % {"kind": meeting.get_kind_display(), "student": meeting.student.full_name},
    )
    where = ", ".join(filter(None, [meeting.location, meeting.school.name, meeting.school.address]))
    event.add(
        "location", where if meeting.location else meeting.video_link or meeting.phone_dial_in
    )
    lines = [f"{meeting.get_kind_display()}: {meeting.student.full_name}"]
    if cancelled:
        lines.append(_("This meeting was cancelled."))
        if meeting.change_reason:
            lines.append(_("Reason: %(reason)s") % {"reason": meeting.change_reason})
    if meeting.video_link:
        lines.append(_("Join by video: %(link)s") % {"link": meeting.video_link})
    if meeting.phone_dial_in:
        lines.append(_("Join by phone: %(phone)s") % {"phone": meeting.phone_dial_in})
    if meeting.school.phone:
        lines.append(_("School phone: %(phone)s") % {"phone": meeting.school.phone})
    lines.append(page_url)
    event.add("description", "\n".join(lines))
    event.add("url", page_url)
    return event


def meetings_ics(meetings: list[Meeting], *, user: User, name: str) -> bytes:
    """An iCalendar object (METHOD:PUBLISH) with one VEVENT per meeting, each with its
    school's VTIMEZONE. `meetings` come from with_sequence(), with student and school. A
    parent's events link to the notice, anyone else's to the meeting page. No query."""
    now = timezone.now()
    host = urlsplit(settings.SITE_URL).hostname or "iepcoord"
    children = standing_of(user).guardian_of
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for meeting in meetings:
        page = "notice" if meeting.student_id in children else "meeting_detail"
        page_url = f"{settings.SITE_URL}{reverse(page, args=[meeting.pk])}"
        calendar.add_component(_event(meeting, page_url=page_url, host=host, now=now))
    if meetings:
        # The VTIMEZONE rules need only cover the span of the events.
        first = min(m.starts_at for m in meetings).date() - datetime.timedelta(days=366)
        last = max(m.ends_at for m in meetings).date() + datetime.timedelta(days=366)
        calendar.add_missing_timezones(first_date=first, last_date=last)
    return calendar.to_ical()


@transaction.atomic
def calendar_token_reset(*, user: User) -> str:
    """A new secret for the private feed: the old URL stops working at once (a 404)."""
    user.calendar_token = secrets.token_urlsafe()
    user.save(update_fields=["calendar_token"])
    audit_record(actor=user, action="calendar_token.reset", obj=user)
    return user.calendar_token
