"""Calendars: a meeting's .ics file, the private feed, and the page that explains it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from staff.audit import audit_record, audit_students_viewed
from staff.models import Student, User

from .. import access, letters
from ..services import calendars

ICS_CONTENT_TYPE = "text/calendar; charset=utf-8"


def meeting_ics(request, pk):
    """One meeting to add to a calendar, for anyone who may see it."""
    meeting = access.meeting_for(request.user, pk)
    audit_record(
        actor=request.user,
        action="meeting.calendar_downloaded",
        obj=meeting,
        school=meeting.school,
        student=meeting.student,
    )
    # The file an email attaches (its SEQUENCE read from the audit trail).
    ((name, body, _type),) = letters.meeting_ics(meeting, request.user)
    response = HttpResponse(body, content_type=ICS_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# Public: calendar apps fetch it without a session. The secret token in the URL is the
# key; an unknown or reset token is a 404. Calendar apps poll it every few hours: when
# nothing it shows changed, a poll with the last ETag gets a 304 (nothing sent, nothing
# read), and any other gets the feed built before, from the cache.
@login_not_required
@require_safe
def calendar_feed(request, token):
    user = get_object_or_404(User.objects.filter(is_active=True), calendar_token=token)
    now = timezone.now()
    version = calendars.feed_version(user=user, now=now)
    etag = f'"{version.etag}"'
    response = get_conditional_response(request, etag=etag)
    if response is None:
        feed = calendars.feed_for(user=user, now=now, version=version)
        students = [Student(pk=pk, school_id=school) for pk, school in feed["students"]]
        audit_students_viewed(actor=user, action="calendar.feed_read", students=students)
        response = HttpResponse(feed["body"], content_type=ICS_CONTENT_TYPE)
    response["ETag"] = etag
    if version.last_modified:
        response["Last-Modified"] = http_date(version.last_modified.timestamp())
    # Kept only by the person's own calendar app, and asked again each time (no-cache: a
    # calendar app keeps what it fetched; with no-store it could not send the ETag).
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex"
    return response


def calendar_subscribe(request):
    """The private feed's address, with how to add it to Google Calendar or Outlook."""
    feed_url = request.build_absolute_uri(
        reverse("calendar_feed", args=[request.user.calendar_token])
    )
    return render(
        request,
        "meetings/parents/calendar.html",
        {"feed_url": feed_url, "webcal_url": "webcal://" + feed_url.split("://", 1)[1]},
    )


@require_POST
def calendar_token_reset(request):
    calendars.calendar_token_reset(user=request.user)
    messages.success(
        request,
        _(
            "Your calendar has a new address. Calendars using the old one no longer update: add the new one."
        ),
    )
    return redirect("calendar_subscribe")
