"""A page of a list and the list's length in one query.

Django's Paginator counts the list in a query of its own before reading the page: at
district scale that second query costs more in round trip and SQL compilation than it
takes to run. `page_of` reads the page with the list's length on each row, a window count
over every row the filters keep (computed before LIMIT and OFFSET), and gives the Page that
`Paginator.get_page` would. For lists of a few hundred rows at most (a caseload, a
school's requests of a period): the window reads every row the filters keep before the
page, where an index could give a long list's first page alone (a busy student's access
log, which Paginator counts from the index).
"""

from django.core.paginator import Page, Paginator
from django.db.models import Count, Window

TOTAL = "paged_total"


def page_of(queryset, per_page: int, number) -> Page:
    """`Paginator(queryset, per_page).get_page(number)` in one query: a number that is not
    one gives the first page; past the end or below 1, get_page's last page (two queries
    more). `queryset` is ordered and not distinct: the window counts the rows before
    DISTINCT would drop any."""
    paginator = Paginator(queryset, per_page)
    # Paginator.validate_number would count first.
    try:
        number = int(number)
    except (TypeError, ValueError):
        number = 1
    if number < 1:
        return paginator.get_page(number)
    bottom = (number - 1) * per_page
    rows = list(queryset.annotate(**{TOTAL: Window(Count("pk"))})[bottom : bottom + per_page])
    if not rows and number > 1:
        return paginator.get_page(number)
    # Paginator.count is a cached property: set, it is not counted again.
    paginator.count = getattr(rows[0], TOTAL) if rows else 0
    return Page(rows, number, paginator)
