"""iepcoord.db.compiled: a list's query built and compiled once per process for each shape
of its arguments, each call reading with its own values: the same rows as the queryset
built for those values."""

import datetime
import zoneinfo

import pytest
from django.db.models import Q
from django.utils import timezone

import iepcoord.db
from iepcoord.db import compiled
from meetings.models import Meeting
from staff.models import ScheduleBlock

from . import factories as f


@pytest.fixture
def built(monkeypatch):
    """Counts the builds of compiled queries (the tests' check builds each call again)."""
    monkeypatch.setattr(iepcoord.db, "CHECK_COMPILED", False)
    return []


def meetings_read(built):
    @compiled
    def read(*, students, after, states):
        built.append(1)
        return (
            Meeting.objects.filter(student_id__in=students, starts_at__gt=after, state__in=states)
            .select_related("student")
            .order_by("starts_at", "pk")
        )

    return read


def expected(students, after, states):
    return list(
        Meeting.objects.filter(
            student_id__in=students, starts_at__gt=after, state__in=states
        ).order_by("starts_at", "pk")
    )


@pytest.fixture
def meetings(school):
    now = timezone.now()
    students = [f.StudentFactory(school=school) for _ in range(4)]
    rows = [
        f.MeetingFactory(student=student, starts_at=now + datetime.timedelta(days=days))
        for student in students
        for days in (-3, 2, 9)
    ]
    Meeting.objects.filter(pk=rows[1].pk).update(state=Meeting.State.CANCELLED)
    return students


def test_each_call_reads_its_own_values_from_one_compile(
    built, meetings, django_assert_num_queries
):
    read = meetings_read(built)
    now = timezone.now()
    scheduled = [Meeting.State.SCHEDULED]
    for students, after in (
        ([meetings[0].pk, meetings[1].pk], now),
        ([meetings[2].pk, meetings[3].pk], now - datetime.timedelta(days=5)),
        ([meetings[0].pk, meetings[3].pk], now + datetime.timedelta(days=5)),
    ):
        with django_assert_num_queries(1):
            rows = read(students=students, after=after, states=scheduled)
        assert rows == expected(students, after, scheduled)
        assert all(row.student.pk in students for row in rows)
    # Built with two sets of stand-ins, once, for the three calls of one shape.
    assert len(built) == 2


def test_another_shape_is_compiled_for_itself(built, meetings):
    read = meetings_read(built)
    now = timezone.now()
    every = [meetings[0].pk, meetings[1].pk, meetings[2].pk]
    both = [Meeting.State.SCHEDULED, Meeting.State.CANCELLED]
    assert read(students=every[:1], after=now, states=both) == expected(every[:1], now, both)
    assert read(students=every, after=now, states=both) == expected(every, now, both)
    assert read(students=every, after=now, states=both[1:]) == expected(every, now, both[1:])
    assert read(students=[], after=now, states=both) == []
    assert len(built) == 8


def test_an_access_filter_passes_with_its_values(built, meetings):
    @compiled
    def read(*, visible):
        built.append(1)
        return Meeting.objects.filter(visible).order_by("pk")

    mine = Q(student__school_id__in=[meetings[0].school_id]) | Q(student_id__in=[meetings[1].pk])
    theirs = Q(student__school_id__in=[-1]) | Q(student_id__in=[meetings[2].pk])
    assert read(visible=mine) == list(Meeting.objects.filter(mine).order_by("pk"))
    assert {m.student_id for m in read(visible=theirs)} == {meetings[2].pk}
    assert len(built) == 2


def test_a_limit_is_part_of_the_shape(built, meetings):
    read = meetings_read(built)
    now = timezone.now() - datetime.timedelta(days=30)
    everyone = [student.pk for student in meetings]
    states = [Meeting.State.SCHEDULED]
    assert (
        read(students=everyone, after=now, states=states, limit=2)
        == (expected(everyone, now, states)[:2])
    )
    assert (
        read(students=everyone, after=now, states=states, limit=5)
        == (expected(everyone, now, states)[:5])
    )


def test_the_zone_in_use_is_part_of_the_shape(built, school):
    # 23:30 on October 13 in Chicago is already the 14th in UTC: a day's meetings depend on
    # the zone the query reads dates in.
    late = datetime.datetime(2026, 10, 14, 4, 30, tzinfo=datetime.UTC)
    meeting = f.MeetingFactory(student=f.StudentFactory(school=school), starts_at=late)

    @compiled
    def on_day(*, day):
        return Meeting.objects.filter(starts_at__date=day)

    with timezone.override(zoneinfo.ZoneInfo("America/Chicago")):
        assert on_day(day=datetime.date(2026, 10, 13)) == [meeting]
        assert on_day(day=datetime.date(2026, 10, 14)) == []
    with timezone.override(datetime.UTC):
        assert on_day(day=datetime.date(2026, 10, 14)) == [meeting]


def test_a_value_computed_inside_or_read_from_the_clock_is_refused(db):
    @compiled
    def week_after(*, start):
        return Meeting.objects.filter(starts_at__lt=start + datetime.timedelta(days=7))

    @compiled
    def from_now(*, student):
        return Meeting.objects.filter(student_id=student, starts_at__gt=timezone.now())

    @compiled
    def today(*, student):
        return Meeting.objects.filter(student_id=student, starts_at__date=timezone.localdate())

    for read, arguments in (
        (week_after, {"start": timezone.now()}),
        (from_now, {"student": 1}),
        (today, {"student": 1}),
    ):
        with pytest.raises(ValueError, match="not an argument"):
            read(**arguments)


def test_a_value_written_into_the_sql_is_refused(db):
    @compiled
    def first(*, count):
        return Meeting.objects.order_by("pk")[:count]

    with pytest.raises(ValueError, match="writes a value into its SQL"):
        first(count=3)


def test_a_call_with_more_values_than_stand_ins_is_read_as_usual(built, meetings):
    read = meetings_read(built)
    now = timezone.now()
    many = [student.pk for student in meetings] + list(range(10**6, 10**6 + 1200))
    states = [Meeting.State.SCHEDULED]
    assert read(students=many, after=now, states=states) == expected(many, now, states)
    assert read(students=many, after=now, states=states) == expected(many, now, states)
    assert len(built) == 2  # built for each call, never compiled with stand-ins


def test_times_stand_in_like_dates(built, school):
    seca = f.UserFactory()
    for hour in (8, 10, 13):
        f.ScheduleBlockFactory(
            seca=seca,
            student=None,
            school=school,
            group_name=f"{hour}h",
            starts=datetime.time(hour),
            ends=datetime.time(hour + 1),
        )

    @compiled
    def crossing(*, seca_id, starts, ends):
        built.append(1)
        return ScheduleBlock.objects.filter(seca_id=seca_id, starts__lt=ends, ends__gt=starts)

    def groups(starts, ends):
        blocks = crossing(seca_id=seca.pk, starts=datetime.time(*starts), ends=datetime.time(*ends))
        return sorted(block.group_name for block in blocks)

    assert groups((8, 30), (10, 30)) == ["10h", "8h"]
    assert groups((11,), (13,)) == []
    assert groups((13, 59), (20,)) == ["13h"]
    assert len(built) == 2
