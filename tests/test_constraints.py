"""Rules the data must never break hold in the database itself, whatever code writes it."""

import datetime

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction

from meetings.models import AttendanceRequest
from staff.models import Role, School

from . import factories as f


def test_one_open_attendance_request_per_seca_per_meeting(postgres, meeting, seca):
    f.AttendanceRequestFactory(meeting=meeting, seca=seca)
    with pytest.raises(IntegrityError), transaction.atomic():
        f.AttendanceRequestFactory(meeting=meeting, seca=seca)


def test_a_withdrawn_request_does_not_block_a_new_one(postgres, meeting, seca):
    f.AttendanceRequestFactory(
        meeting=meeting, seca=seca, status=AttendanceRequest.Status.WITHDRAWN
    )
    assert f.AttendanceRequestFactory(meeting=meeting, seca=seca).pk


def test_meeting_must_end_after_it_starts(postgres, student, case_manager):
    with pytest.raises(IntegrityError, match="meeting_ends_after_start"), transaction.atomic():
        f.MeetingFactory(
            student=student,
            scheduled_by=case_manager,
            ends_at=f.MeetingFactory.starts_at.function() - datetime.timedelta(hours=1),
        )


def test_meeting_needs_a_place_or_a_remote_option(postgres, student, case_manager):
    with pytest.raises(IntegrityError, match="meeting_has_place"), transaction.atomic():
        f.MeetingFactory(student=student, scheduled_by=case_manager, location="")


def test_denial_needs_a_reason_and_other_needs_a_note(postgres, meeting, seca, principal):
    decided = {"decided_by": principal, "decided_at": meeting.starts_at}
    with pytest.raises(IntegrityError, match="request_denial_has_reason"), transaction.atomic():
        f.AttendanceRequestFactory(meeting=meeting, seca=seca, status="denied", **decided)
    with pytest.raises(IntegrityError, match="request_other_reason_has_note"), transaction.atomic():
        f.AttendanceRequestFactory(
            meeting=meeting, seca=seca, status="denied", deny_reason="other", **decided
        )


def test_approval_records_who_decided_and_coverage(postgres, meeting, seca, principal):
    with pytest.raises(IntegrityError, match="request_decision_has_who"), transaction.atomic():
        f.AttendanceRequestFactory(
            meeting=meeting, seca=seca, status="approved", coverage_note="Class at the library"
        )
    with (
        pytest.raises(IntegrityError, match="request_approval_records_coverage"),
        transaction.atomic(),
    ):
        f.AttendanceRequestFactory(
            meeting=meeting,
            seca=seca,
            status="approved",
            decided_by=principal,
            decided_at=meeting.starts_at,
        )


def test_schedule_block_must_end_after_start_and_name_who(postgres, seca, student):
    with (
        pytest.raises(IntegrityError, match="schedule_block_ends_after_start"),
        transaction.atomic(),
    ):
        f.ScheduleBlockFactory(
            seca=seca, student=student, starts=datetime.time(10), ends=datetime.time(9)
        )
    with (
        pytest.raises(IntegrityError, match="schedule_block_has_student_or_group"),
        transaction.atomic(),
    ):
        f.ScheduleBlockFactory(seca=seca, student=None, school=student.school)


def test_district_admin_role_has_no_school_and_school_roles_have_one(postgres, school):
    user = f.UserFactory()
    with pytest.raises(IntegrityError, match="role_school_iff"), transaction.atomic():
        Role.objects.create(user=user, kind=Role.Kind.DISTRICT_ADMIN, school=school)
    with pytest.raises(IntegrityError, match="role_school_iff"), transaction.atomic():
        Role.objects.create(user=user, kind=Role.Kind.SECA, school=None)


def test_a_person_holds_a_role_once_per_school(postgres, seca, school):
    with pytest.raises(IntegrityError, match="role_unique_per_school"), transaction.atomic():
        Role.objects.create(user=seca, kind=Role.Kind.SECA, school=school)


def test_one_feedback_per_seca_per_meeting(postgres, meeting, seca):
    f.SecaFeedbackFactory(meeting=meeting, seca=seca)
    with pytest.raises(IntegrityError, match="feedback_once_per_seca"), transaction.atomic():
        f.SecaFeedbackFactory(meeting=meeting, seca=seca)


def test_postgres_runs_the_pages_queries_without_jit(postgres):
    # A page's short queries cost more to JIT-compile than to run (README "Pages at
    # district scale"); the settings turn it off for the app's connections.
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


def test_postgres_keeps_the_written_order_past_six_joins(postgres):
    # Planning the order of eight joined tables took 2 ms where running took 0.1 ms (a
    # request read with its meeting, student, schools and people): iepcoord/settings.py.
    with connection.cursor() as cursor:
        cursor.execute("SHOW join_collapse_limit")
        assert cursor.fetchone() == ("6",)


def test_postgres_reads_a_forms_choices_without_a_server_side_cursor(postgres):
    # A form's choices (ModelChoiceField) are read with QuerySet.iterator(): on a
    # server-side cursor each list cost a DECLARE, a FETCH and a CLOSE, 2.7 ms of the
    # team page's 17.7 (iepcoord/settings.py).
    f.SchoolFactory()
    cursors = []

    def record(execute, sql, params, many, context):
        cursors.append(context["cursor"].cursor)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert len(list(School.objects.iterator())) == 1
    assert cursors and not any(isinstance(c, psycopg.ServerCursor) for c in cursors)


def test_no_table_keeps_two_indexes_of_the_same_columns(postgres):
    """Every row written updates each of its table's indexes: a second index of the same
    columns (an index in Meta over a foreign key that has its own) costs each write and
    serves no read. An index whose columns lead a longer one is left where it is smaller
    to read (the students of a school)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.indrelid::regclass::text, ai.relname, bi.relname
            FROM pg_index a
            JOIN pg_index b ON b.indrelid = a.indrelid AND b.indexrelid > a.indexrelid
            JOIN pg_class ai ON ai.oid = a.indexrelid
            JOIN pg_class bi ON bi.oid = b.indexrelid
            WHERE a.indkey::text = b.indkey::text
              AND a.indclass::text = b.indclass::text
              AND a.indoption::text = b.indoption::text
              AND pg_get_expr(a.indpred, a.indrelid) IS NOT DISTINCT FROM
                  pg_get_expr(b.indpred, b.indrelid)
              AND pg_get_expr(a.indexprs, a.indrelid) IS NOT DISTINCT FROM
                  pg_get_expr(b.indexprs, b.indrelid)
              AND (a.indrelid::regclass::text LIKE 'staff\\_%'
                   OR a.indrelid::regclass::text LIKE 'meetings\\_%')
            """
        )
        assert cursor.fetchall() == []
