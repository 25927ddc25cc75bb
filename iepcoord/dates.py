"""Dates and times as each language writes them. A format names what it shows; the
translator orders it for the language ("Thursday, December 17, 2026" and "jueves 17 de
diciembre de 2026"). Pages (the `moment` template filter) and emails (staff/letters.py)
use the same formats, so a meeting reads the same in both."""

import datetime
import functools

from django.utils.formats import date_format
from django.utils.translation import get_language, pgettext_lazy

FORMATS = {
    # Thursday, December 17, 2026, 9:00 AM CST
    "full": pgettext_lazy("date format", "l, F j, Y, g:i A T"),
    # Thursday, December 17, 2026
    "weekday": pgettext_lazy("date format", "l, F j, Y"),
    # Thu Dec 17, 2026, 9:00 AM CST
    "day_time": pgettext_lazy("date format", "D M j, Y, g:i A T"),
    # Dec 17, 2026, 9:00 AM
    "date_time": pgettext_lazy("date format", "M j, Y, g:i A"),
    # Thu Dec 17, 9:00 AM
    "weekday_time": pgettext_lazy("date format", "D M j, g:i A"),
    # Dec 17, 9:00 AM
    "short_time": pgettext_lazy("date format", "M j, g:i A"),
    # December 17, 2026
    "long_date": pgettext_lazy("date format", "F j, Y"),
    # Dec 17, 2026
    "date": pgettext_lazy("date format", "M j, Y"),
    # Dec 17
    "day": pgettext_lazy("date format", "M j"),
    # 9:00 AM
    "time": pgettext_lazy("date format", "g:i A"),
    # 9:00 AM CST
    "time_zone": pgettext_lazy("date format", "g:i A T"),
    # December 2026
    "month": pgettext_lazy("date format", "F Y"),
    # Dec. 17, 2026: the language's DATE_FORMAT, as Django's date filter writes a date
    # (the lists whose rows the date filter wrote before they were tags).
    "date_filter": "DATE_FORMAT",
    # Dec. 17, 2026, 9 a.m.: the language's DATETIME_FORMAT, likewise (the access log).
    "datetime_filter": "DATETIME_FORMAT",
    # Dec: a month's abbreviation, as the date filter's "M" writes it (the reports' chart).
    "month_abbr": "M",
}


def formatted(value: datetime.date | datetime.time, name: str) -> str:
    """`value` (already in the time zone to show) in the active language's format `name`."""
    # Aware datetimes are equal when they are the same instant: the zone is part of the key.
    return _formatted(value, getattr(value, "tzinfo", None), get_language(), name)


@functools.lru_cache(maxsize=4096)
def _formatted(value, tzinfo, language: str, name: str) -> str:
    # A list formats the same days and meeting times on view after view (a caseload's due
    # dates, a school's meetings): each is formatted once per worker.
    return date_format(value, _format(language, name))


@functools.cache
def _format(language: str, name: str) -> str:
    # A long list formats hundreds of dates: each format is looked up in the catalog
    # once per language, not once per date.
    return str(FORMATS[name])
