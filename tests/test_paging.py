"""iepcoord.paging.page_of: the page Django's Paginator.get_page gives, and the list's
length, read in one query (the caseload and a school's report use it)."""

import pytest
from django.core.paginator import Paginator

from iepcoord.paging import page_of
from staff.models import Student

from . import factories as f


@pytest.fixture
def students(school):
    for n in range(7):
        f.StudentFactory(school=school, last_name=f"Name{n:02}")
    return Student.objects.filter(school=school).order_by("last_name", "pk")


def shown(page):
    return [s.last_name for s in page.object_list]


@pytest.mark.parametrize("number", [1, 2, 3, "2", None, "", "x", 0, -1, 4, 99])
def test_a_page_is_the_one_the_paginator_gives(students, number):
    expected = Paginator(students, 3).get_page(number)
    page = page_of(students, 3, number)
    assert shown(page) == shown(expected)
    assert page.number == expected.number
    assert page.paginator.count == 7
    assert page.paginator.num_pages == 3
    assert (page.has_previous(), page.has_next()) == (expected.has_previous(), expected.has_next())
    assert (page.start_index(), page.end_index()) == (expected.start_index(), expected.end_index())


def test_a_page_and_the_count_are_one_query(students, django_assert_num_queries):
    with django_assert_num_queries(1):
        page = page_of(students, 3, 2)
        assert shown(page) == ["Name03", "Name04", "Name05"]
        assert f"{page.number} of {page.paginator.num_pages}, {page.paginator.count}" == "2 of 3, 7"


def test_a_page_past_the_end_shows_the_last(students, django_assert_num_queries):
    # A stale link after the list shrank: as get_page, the last page.
    with django_assert_num_queries(3):
        page = page_of(students, 3, 9)
        assert (page.number, shown(page)) == (3, ["Name06"])


def test_an_empty_list_is_one_empty_page(school, django_assert_num_queries):
    with django_assert_num_queries(1):
        page = page_of(Student.objects.filter(school=school).order_by("pk"), 3, 1)
    assert (page.number, page.paginator.count, page.paginator.num_pages) == (1, 0, 1)
    assert list(page) == []
