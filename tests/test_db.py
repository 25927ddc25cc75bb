"""iepcoord.db.read_together: several short lists of a record in one query, the same
instances as the querysets give one by one (the meeting page reads its lists so); first_row:
a list's one related row read in the list's query."""

import datetime
import re

import pytest
from django.db import connection
from django.db.models import OuterRef
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from iepcoord.db import first_row, read_together, row_instance
from meetings.models import ContactAttempt, MeetingNotice, NoticeResponse
from staff.models import Guardian, GuardianInvite

from . import factories as f


def fields(obj):
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


@pytest.fixture
def papers(meeting, case_manager, parent):
    guardian = parent.guardianships.get()
    second = f.GuardianFactory(student=meeting.student, full_name="Bea Second")
    now = timezone.now()
    for who in (guardian, second):
        MeetingNotice.objects.create(meeting=meeting, guardian=who, kind="scheduled", sent_at=now)
    MeetingNotice.objects.create(meeting=meeting, guardian=second, kind="changed")
    # One answer recorded by staff on paper, one given by the parent online (no recorder).
    NoticeResponse.objects.create(
        meeting=meeting,
        guardian=second,
        answer="attend",
        note="Mornings, «por favor»",
        recorded_by=case_manager,
        method="phone",
        answered_on=datetime.date(2026, 10, 2),
    )
    NoticeResponse.objects.create(meeting=meeting, guardian=guardian, answer="reschedule")
    for hours in (3, 1, 2):
        ContactAttempt.objects.create(
            student=meeting.student,
            meeting=meeting,
            made_by=case_manager,
            method="phone",
            attempted_at=now - datetime.timedelta(hours=hours),
            outcome=f"{hours} hours ago",
        )
    f.InvitationFactory(meeting=meeting, user=None, name="Ana Ruiz", role="Interpreter")
    f.InvitationFactory(meeting=meeting, user=case_manager, role="Case manager")
    return meeting


def test_the_lists_read_together_are_the_querysets_rows_in_their_order_in_one_query(papers):
    querysets = {
        "notices": papers.notices.select_related("guardian"),
        "responses": papers.responses.select_related("guardian", "recorded_by"),
        "attempts": papers.contact_attempts.select_related("made_by"),
        "invitations": papers.invitations.order_by("-pk"),
        "feedback": papers.feedback.select_related("seca"),
    }
    with CaptureQueriesContext(connection) as queries:
        lists = read_together(**querysets)
    assert len(queries) == 1

    for name, queryset in querysets.items():
        # An unordered queryset's rows come in no set order; read_together gives them by pk.
        expected = list(queryset.all() if queryset.ordered else queryset.order_by("pk"))
        assert [fields(obj) for obj in lists[name]] == [fields(obj) for obj in expected], name
        for relation in queryset.query.select_related or ():
            assert [
                fields(getattr(obj, relation)) if getattr(obj, relation) else None
                for obj in lists[name]
            ] == [
                fields(getattr(obj, relation)) if getattr(obj, relation) else None
                for obj in expected
            ], (name, relation)
    assert lists["feedback"] == []
    # The contact attempts come latest first, as the model orders them; an answer given
    # online has no recorder, one taken on the phone names who took it.
    assert [a.outcome for a in lists["attempts"]] == ["1 hours ago", "2 hours ago", "3 hours ago"]
    online, by_phone = sorted(lists["responses"], key=lambda r: r.recorded_by_id is not None)
    with CaptureQueriesContext(connection) as queries:
        assert online.recorded_by is None
        assert (
            by_phone.recorded_by.full_name
            == by_phone.recorded_by.__class__.objects.get(pk=by_phone.recorded_by_id).full_name
        )
        assert by_phone.get_method_display() == "By phone"
        assert by_phone.answered_on == datetime.date(2026, 10, 2)
        assert by_phone.created_at.tzinfo is not None
    assert len(queries) == 1  # the check's own read: the instances came whole


def test_a_row_wider_than_a_function_takes_is_read_whole(meeting, seca, principal):
    # Requests with their SECA, decider and cover: more columns than the 100 arguments a
    # function takes in PostgreSQL, some of them empty (no decision yet, no one covers).
    decided = f.AttendanceRequestFactory(
        meeting=meeting,
        seca=seca,
        status="approved",
        decided_by=principal,
        decided_at=timezone.now(),
        coverage_note="Gym",
    )
    pending = f.AttendanceRequestFactory(meeting=meeting)
    queryset = meeting.requests.select_related("seca", "decided_by", "covered_by").order_by("pk")
    lists = read_together(requests=queryset)
    assert [fields(r) for r in lists["requests"]] == [fields(r) for r in queryset]
    read = {r.pk: r for r in lists["requests"]}
    assert fields(read[decided.pk].decided_by) == fields(principal)
    assert read[decided.pk].covered_by is None
    assert read[pending.pk].decided_by is None
    assert fields(read[pending.pk].seca) == fields(pending.seca)


def test_a_relation_deeper_than_one_level_or_a_slice_is_refused(meeting):
    with pytest.raises(ValueError, match="one level deep"):
        read_together(notices=meeting.notices.select_related("guardian__student"))
    with pytest.raises(ValueError, match="sliced"):
        read_together(notices=meeting.notices.all()[:5])


def test_a_bulk_update_larger_than_a_statement_takes_is_split_into_statements_that_fit(postgres):
    """Server-side binding (iepcoord/settings.py) limits a statement to 65,535 parameters.
    An UPDATE of many rows takes three a row (its id twice, its value); 25,000 rows, as a
    transfer of a large school's students might, need two statements."""
    from iepcoord.postgresql.base import MAX_PARAMETERS
    from staff.audit import audit_event
    from staff.models import AuditEvent

    assert connection.features.uses_server_side_binding
    events = AuditEvent.objects.bulk_create(
        audit_event(actor=None, action="student.viewed", object_type="student", object_id=n)
        for n in range(25_000)
    )
    assert len(events) * 3 > MAX_PARAMETERS
    for event in events:
        event.after = {"seen": event.object_id}

    with CaptureQueriesContext(connection) as queries:
        AuditEvent.objects.bulk_update(events, ["after"])

    assert len(queries) == 2
    assert AuditEvent.objects.filter(after__seen="24999").count() == 1


def _prepared_statements():
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
        return cursor.fetchall()


def test_lists_read_together_run_from_a_prepared_plan_with_each_records_values(postgres, papers):
    """iepcoord.db.prepared: the UNION ALL is parsed and planned once per connection; run
    again for another meeting it gives that meeting's rows (PostgreSQL's generic plan after
    five runs included). A statement outside prepared() is not kept."""
    other = f.MeetingFactory(student=papers.student)
    f.InvitationFactory(meeting=other, user=None, name="Other Team", role="Interpreter")

    def read(meeting):
        return read_together(
            invitations=meeting.invitations.all(),
            notices=meeting.notices.select_related("guardian"),
        )

    for _ in range(7):
        assert sorted(i.name for i in read(papers)["invitations"]) == sorted(
            i.name for i in papers.invitations.all()
        )
        mine = read(other)
        assert [i.name for i in mine["invitations"]] == ["Other Team"]
        assert mine["notices"] == []
    kept = _prepared_statements()
    union = [runs for statement, runs in kept if "UNION ALL" in statement]
    assert union == [14]
    assert not any("pg_prepared_statements" in statement for statement, _ in kept)


def test_the_meeting_page_reads_its_meeting_and_lists_by_prepared_statements(
    postgres, client, case_manager, meeting
):
    """The meeting read by its id (fetch_or_refuse), its lists read together and the
    person's standing (read by every page) are prepared; the session, the user and a job's
    statements are not."""
    client.force_login(case_manager)
    assert client.get(reverse("meeting_detail", args=[meeting.pk])).status_code == 200
    kept = [statement for statement, _ in _prepared_statements()]
    assert any("UNION ALL" in s and "meetings_invitation" in s for s in kept)
    assert any(re.search(r'"meetings_meeting"\."id" = \$\d', s) for s in kept)
    assert any('"staff_role"."user_id" = $' in s and "staff_designation" in s for s in kept)
    assert not any("django_session" in s or 'FROM "staff_user"' in s for s in kept)
    list(meeting.invitations.all())
    assert len(_prepared_statements()) == len(kept)


def test_a_rows_newest_related_row_is_read_in_the_rows_query(
    parent, case_manager, django_assert_num_queries
):
    guardian = parent.guardianships.get()
    alone = f.GuardianFactory(student=guardian.student, full_name="Nobody Invited Yet")
    now = timezone.now()
    for days in (3, 1):  # the older first
        GuardianInvite.objects.create(
            guardian=guardian,
            invited_by=case_manager,
            email=parent.email,
            expires_at=now + datetime.timedelta(days=days),
        )
    newest = GuardianInvite.objects.filter(guardian=guardian).latest("created_at")
    asked = ("created_at", "expires_at", "sent_at")  # and the primary key, always

    with django_assert_num_queries(1):
        rows = {
            g.pk: row_instance(GuardianInvite, g.newest, asked)
            for g in Guardian.objects.filter(student=guardian.student).annotate(
                newest=first_row(
                    GuardianInvite.objects.filter(guardian=OuterRef("pk")).order_by(
                        "-created_at", "-pk"
                    ),
                    *asked,
                )
            )
        }

    assert rows[alone.pk] is None
    got = rows[guardian.pk]
    assert (got.pk, got.created_at, got.expires_at, got.sent_at) == (
        newest.pk,
        newest.created_at,
        newest.expires_at,
        None,
    )
    assert got.expires_at.tzinfo is not None
    # A field not asked for is read when used, not given as None.
    with django_assert_num_queries(1):
        assert got.token == newest.token
