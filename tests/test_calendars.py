"""Calendars as a calendar app reads them: a meeting's .ics file, and each person's private
feed, parsed with icalendar; nothing of another family in anyone's feed."""

import datetime
import zoneinfo

import icalendar
import pytest
from django.urls import reverse
from django.utils import timezone

from meetings.models import AttendanceRequest, Meeting
from meetings.services.calendars import calendar_token_reset
from meetings.services.scheduling import meeting_reschedule
from staff.audit import audit_record
from staff.models import AuditEvent, Role

from . import factories as f

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def _calendar(response) -> icalendar.Calendar:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.content)


def _feed(client, user):
    return client.get(reverse("calendar_feed", args=[user.calendar_token]))


@pytest.fixture
def video_meeting(student, case_manager):
    starts = timezone.make_aware(
        datetime.datetime.combine(
            timezone.localdate() + datetime.timedelta(days=20), datetime.time(15, 30)
        ),
        CHICAGO,
    )
    return f.MeetingFactory(
        student=student,
        scheduled_by=case_manager,
        starts_at=starts,
        ends_at=starts + datetime.timedelta(minutes=45),
        video_link="https://meet.example.org/iep-7",
    )


def test_parent_downloads_one_meeting_with_every_field_a_calendar_needs(
    client, parent, video_meeting
):
    client.force_login(parent)
    response = client.get(reverse("meeting_ics", args=[video_meeting.pk]))
    assert "attachment" in response["Content-Disposition"]
    cal = _calendar(response)
    assert cal["METHOD"] == "PUBLISH" and cal["VERSION"] == "2.0" and cal["PRODID"]
    (event,) = cal.events
    assert event["UID"] == f"meeting-{video_meeting.pk}@127.0.0.1"
    assert event.get("DTSTAMP") is not None
    assert event["DTSTART"].params["TZID"] == "America/Chicago"
    assert event["DTEND"].params["TZID"] == "America/Chicago"
    assert event.decoded("DTSTART") == video_meeting.starts_at
    assert event.decoded("DTSTART").astimezone(CHICAGO).time() == datetime.time(15, 30)
    assert event.decoded("DTEND") == video_meeting.ends_at
    assert [tz["TZID"] for tz in cal.timezones] == ["America/Chicago"]
    assert "Annual review" in event["SUMMARY"] and "Jordan" in event["SUMMARY"]
    assert event["LOCATION"].startswith("Room 104, Skinner North")
    assert "https://meet.example.org/iep-7" in event["DESCRIPTION"]
    # A parent's event opens the notice of meeting.
    assert event["URL"].endswith(reverse("notice", args=[video_meeting.pk]))
    assert event["STATUS"] == "CONFIRMED" and event["SEQUENCE"] == 0


def test_the_same_meeting_keeps_its_uid_and_moves_with_a_higher_sequence(
    client, case_manager, video_meeting
):
    client.force_login(case_manager)
    url = reverse("meeting_ics", args=[video_meeting.pk])
    (before,) = _calendar(client.get(url)).events
    later = video_meeting.starts_at + datetime.timedelta(days=1)
    Meeting.objects.filter(pk=video_meeting.pk).update(
        starts_at=later, ends_at=later + datetime.timedelta(hours=1)
    )
    audit_record(actor=case_manager, action="meeting.rescheduled", obj=video_meeting)
    (after,) = _calendar(client.get(url)).events
    assert after["UID"] == before["UID"]
    assert after["SEQUENCE"] == before["SEQUENCE"] + 1
    assert after.decoded("DTSTART") == later
    # Staff open the meeting page, not the family's notice.
    assert after["URL"].endswith(reverse("meeting_detail", args=[video_meeting.pk]))


def test_another_family_gets_404_for_the_meeting_file(client, other_parent, video_meeting):
    client.force_login(other_parent)
    assert client.get(reverse("meeting_ics", args=[video_meeting.pk])).status_code == 404


def test_parent_feed_lists_their_childs_meetings_and_keeps_a_cancelled_one_as_cancelled(
    client, parent, student, video_meeting, other_parent
):
    cancelled = f.MeetingFactory(student=student, state="cancelled", change_reason="Snow day")
    recent = f.MeetingFactory(
        student=student, starts_at=timezone.now() - datetime.timedelta(days=30)
    )
    f.MeetingFactory(student=student, starts_at=timezone.now() - datetime.timedelta(days=90))
    other_child = other_parent.guardianships.get().student
    f.MeetingFactory(student=other_child)

    cal = _calendar(_feed(client, parent))  # no session: calendar apps have none
    events = {e["UID"]: e for e in cal.events}
    assert set(events) == {f"meeting-{m.pk}@127.0.0.1" for m in (video_meeting, cancelled, recent)}
    gone = events[f"meeting-{cancelled.pk}@127.0.0.1"]
    assert gone["STATUS"] == "CANCELLED" and gone["SEQUENCE"] == 1
    assert "Snow day" in gone["DESCRIPTION"]
    assert other_child.full_name not in _feed(client, parent).content.decode()


def test_feed_of_a_seca_has_approved_requests_only_and_a_case_managers_their_caseload(
    client, seca, student, case_manager, principal, school, video_meeting
):
    pending_meeting = f.MeetingFactory(student=student)
    f.AttendanceRequestFactory(meeting=pending_meeting, seca=seca)
    f.AttendanceRequestFactory(
        meeting=video_meeting,
        seca=seca,
        status=AttendanceRequest.Status.APPROVED,
        decided_by=principal,
        decided_at=timezone.now(),
        coverage_note="Music",
    )
    not_mine = f.MeetingFactory(student=f.StudentFactory(school=school))

    seca_uids = {e["UID"] for e in _calendar(_feed(client, seca)).events}
    assert seca_uids == {f"meeting-{video_meeting.pk}@127.0.0.1"}

    manager_uids = {e["UID"] for e in _calendar(_feed(client, case_manager)).events}
    assert f"meeting-{pending_meeting.pk}@127.0.0.1" in manager_uids
    assert f"meeting-{not_mine.pk}@127.0.0.1" not in manager_uids


def test_feed_lists_meetings_a_teacher_is_invited_to(client, school, video_meeting):
    teacher = f.UserFactory(roles=[(Role.Kind.TEACHER, school)])
    f.InvitationFactory(meeting=video_meeting, user=teacher)
    f.MeetingFactory(student=video_meeting.student)  # same school, not invited
    (event,) = _calendar(_feed(client, teacher)).events
    assert event["UID"] == f"meeting-{video_meeting.pk}@127.0.0.1"


def test_feed_speaks_the_persons_language(client, parent, video_meeting):
    parent.preferred_language = "es"
    parent.save()
    (event,) = _calendar(_feed(client, parent)).events
    assert "Revisión anual" in event["SUMMARY"]
    assert "Reunión del IEP" in event["SUMMARY"]


def test_resetting_the_token_makes_the_old_address_404(client, parent, video_meeting):
    old = reverse("calendar_feed", args=[parent.calendar_token])
    client.force_login(parent)
    response = client.post(reverse("calendar_token_reset"), follow=True)
    assert "Your calendar has a new address" in response.content.decode()
    parent.refresh_from_db()
    client.logout()
    assert client.get(old).status_code == 404
    assert _calendar(_feed(client, parent)).events
    assert AuditEvent.objects.filter(action="calendar_token.reset", actor=parent).exists()


def test_reset_is_post_only_and_an_unknown_token_is_404(client, parent):
    client.force_login(parent)
    assert client.get(reverse("calendar_token_reset")).status_code == 405
    assert client.get(reverse("calendar_feed", args=["not-a-token"])).status_code == 404


def test_an_inactive_persons_feed_is_404(client, parent):
    parent.is_active = False
    parent.save()
    assert _feed(client, parent).status_code == 404


def test_the_calendar_page_shows_the_private_address_and_how_to_add_it(client, parent):
    client.force_login(parent)
    page = client.get(reverse("calendar_subscribe")).content.decode()
    assert f"http://testserver/calendar/{parent.calendar_token}.ics" in page
    assert f"webcal://testserver/calendar/{parent.calendar_token}.ics" in page
    assert "Google Calendar" in page and "Outlook" in page


def test_the_feed_costs_the_same_queries_however_many_meetings(
    client, parent, student, django_assert_num_queries
):
    for i in range(5):
        f.MeetingFactory(student=student, starts_at=timezone.now() + datetime.timedelta(days=i + 1))
    # 1 the user by token, 2 their standing (whose meetings they see, and which are their
    # children's), 3 the feed's version (what it shows, counted), 4 the meetings with
    # their reschedule counts, 5 one INSERT of an access-log event per student in the feed
    # (34 CFR 300.614).
    with django_assert_num_queries(5):
        response = _feed(client, parent)
    assert len(_calendar(response).events) == 5
    # The next poll gets the feed built before: no meetings read.
    with django_assert_num_queries(4):
        again = _feed(client, parent)
    assert again.content == response.content


def test_a_calendar_polling_with_the_etag_gets_304_until_a_meeting_moves(
    client, parent, student, case_manager, django_assert_num_queries
):
    meeting = f.MeetingFactory(
        student=student, starts_at=timezone.now() + datetime.timedelta(days=3)
    )
    first = _feed(client, parent)
    etag = first["ETag"]
    assert first["Last-Modified"]
    assert first["Cache-Control"] == "private, no-cache"
    url = reverse("calendar_feed", args=[parent.calendar_token])
    reads = AuditEvent.objects.filter(action="calendar.feed_read").count()
    # Nothing changed: 304, nothing sent and so nothing recorded as read.
    with django_assert_num_queries(3):
        unchanged = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304
    assert unchanged["ETag"] == etag
    assert AuditEvent.objects.filter(action="calendar.feed_read").count() == reads
    # The case manager moves the meeting: the next poll gets the new time.
    later = meeting.starts_at + datetime.timedelta(days=1)
    meeting_reschedule(
        actor=case_manager,
        meeting=meeting,
        starts_at=later,
        ends_at=later + datetime.timedelta(hours=1),
        reason="The room is taken",
        short_notice_reason="The parents asked for the earliest day",
    )
    moved = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert moved.status_code == 200
    assert moved["ETag"] != etag
    (event,) = _calendar(moved).events
    assert event.decoded("DTSTART") == later.replace(microsecond=0)
    assert AuditEvent.objects.filter(action="calendar.feed_read").count() == reads + 1


def test_the_token_reset_service_gives_a_new_secret(parent):
    old = parent.calendar_token
    assert calendar_token_reset(user=parent) != old
