"""The Spanish catalog is complete: every string the interface, the emails and the notices
mark for translation has a Spanish translation that is neither missing nor fuzzy, and the
compiled catalog the app reads says the same as the one translators edit. Dates are
written the way the reader's language writes them."""

import datetime
import shutil
import zoneinfo
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.template import Context, Template
from django.utils import translation

from iepcoord.dates import formatted
from tests.conftest import needs_service

PO = Path(settings.BASE_DIR) / "locale" / "es" / "LC_MESSAGES" / "django.po"


def key(entry):
    return (entry.msgctxt, entry.msgid, entry.msgid_plural)


def test_every_spanish_entry_is_translated_and_none_is_fuzzy():
    po = polib.pofile(str(PO))
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert not untranslated, f"{len(untranslated)} untranslated, e.g. {untranslated[:5]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}"
    # Three plural forms (Django's Spanish has a form for "many"): none of them empty.
    missing = [e.msgid for e in po if e.msgid_plural and not all(e.msgstr_plural.values())]
    assert not missing, missing


def test_the_compiled_catalog_matches_the_one_translators_edit():
    po = polib.pofile(str(PO))
    mo = {key(e): (e.msgstr, e.msgstr_plural) for e in polib.mofile(str(PO.with_suffix(".mo")))}
    stale = [
        e.msgid
        for e in po.translated_entries()
        if mo.get(key(e)) != (e.msgstr, {k: v for k, v in e.msgstr_plural.items()})
    ]
    assert not stale, f"run compilemessages: {stale[:5]}"


def test_every_string_marked_in_the_code_is_in_the_catalog(tmp_path):
    """A string added to a template or a module without running makemessages would show
    in English to a Spanish reader; this extracts the strings afresh and compares."""
    if not shutil.which("xgettext"):
        needs_service("needs GNU gettext (xgettext): apt-get install -y gettext")
    saved = tmp_path / "django.po"
    shutil.copy(PO, saved)
    try:
        call_command(
            "makemessages", locale=["es"], no_obsolete=True, ignore_patterns=[".venv", "tests"],
            verbosity=0,
        )  # fmt: skip
        fresh = {key(e) for e in polib.pofile(str(PO))}
    finally:
        shutil.copy(saved, PO)
    in_catalog = {key(e) for e in polib.pofile(str(PO))}
    assert not fresh - in_catalog, f"not in the catalog: {sorted(fresh - in_catalog)[:5]}"
    assert not in_catalog - fresh, f"no longer in the code: {sorted(in_catalog - fresh)[:5]}"


@pytest.mark.parametrize(
    ("english", "spanish"),
    [("Sign out", "Cerrar sesión"), ("Home", "Inicio")],
)
def test_the_app_reads_the_compiled_catalog(english, spanish):
    with translation.override("es"):
        assert translation.gettext(english) == spanish


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Thursday, December 17, 2026, 9:00 AM–10:00 AM CST"),
        ("es", "jueves 17 de diciembre de 2026, 9:00 AM–10:00 AM CST"),
    ],
)
def test_a_meeting_time_is_written_as_its_readers_language_writes_it(language, expected):
    chicago = zoneinfo.ZoneInfo("America/Chicago")
    start = datetime.datetime(2026, 12, 17, 9, tzinfo=chicago)
    page = Template(
        "{% load meetings_extras tz %}{% timezone 'America/Chicago' %}"
        '{{ start|moment:"weekday" }}, {{ start|moment:"time" }}–{{ end|moment:"time_zone" }}'
        "{% endtimezone %}"
    )
    with translation.override(language):
        shown = page.render(Context({"start": start, "end": start + datetime.timedelta(hours=1)}))
    assert shown == expected


def test_the_same_instant_is_written_in_each_schools_zone_and_each_readers_language():
    # Formatted dates are kept per worker: the same instant, equal as datetimes, is still
    # written in the zone and the language it is shown in.
    start = datetime.datetime(2026, 12, 17, 15, tzinfo=datetime.UTC)
    chicago = start.astimezone(zoneinfo.ZoneInfo("America/Chicago"))
    new_york = start.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    assert chicago == new_york
    shown = []
    for language in ("en", "es", "en"):
        with translation.override(language):
            shown += [formatted(chicago, "full"), formatted(new_york, "full")]
    assert shown == [
        "Thursday, December 17, 2026, 9:00 AM CST",
        "Thursday, December 17, 2026, 10:00 AM EST",
        "jueves 17 de diciembre de 2026, 9:00 AM CST",
        "jueves 17 de diciembre de 2026, 10:00 AM EST",
        "Thursday, December 17, 2026, 9:00 AM CST",
        "Thursday, December 17, 2026, 10:00 AM EST",
    ]


def test_a_choice_is_said_in_the_language_active_when_it_is_shown():
    # The labels of a field's choices are gathered once (staff.models.TimeStamped), not
    # their translations: the same row reads in each reader's language.
    from meetings.models import Meeting

    meeting = Meeting(kind=Meeting.Kind.ANNUAL_REVIEW)
    said = []
    for language in ("en", "es", "en"):
        with translation.override(language):
            said.append(meeting.get_kind_display())
    assert said == ["Annual review", "Revisión anual", "Annual review"]
    # A value that is not a choice (a row older than its field's choices) shows as stored.
    assert Meeting(kind="retired").get_kind_display() == "retired"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            'Decide<span class="visually-hidden"> the request of Ann &lt;b&gt;O&#x27;Neil</span>',
        ),
        (
            "es",
            'Decidir<span class="visually-hidden"> la solicitud de Ann &lt;b&gt;O&#x27;Neil</span>',
        ),
    ],
)
def test_a_list_tag_writes_a_sentence_as_blocktranslate_does(language, expected):
    # The tags of long lists (meetings_extras.say): the translation's markup as it is, the
    # values escaped, the same as the template tag they replace.
    from meetings.templatetags.meetings_extras import say

    template = Template(
        '{% load i18n %}{% blocktranslate %}Decide<span class="visually-hidden"> the request '
        "of {{ name }}</span>{% endblocktranslate %}"
    )
    name = "Ann <b>O'Neil"
    with translation.override(language):
        by_tag = say(
            translation.gettext(
                'Decide<span class="visually-hidden"> the request of %(name)s</span>'
            ),
            name=name,
        )
        assert by_tag == template.render(Context({"name": name})) == expected
