"""What an email says. Each kind of email is a function that builds a `Letter` (in the
language active when it is called: the recipient's, see `in_language`); one pair of
templates (templates/email/letter.txt and .html) lays every letter out the same way:

    subject: what happened, with the student and the day ("Approved: your request to
             attend Omar W.'s annual review on Dec 9")
    greeting, the school, the paragraphs, the facts (when, with year, time and time zone;
    where; the video link; the decision's note; the coverage...), one link to the exact
    page, and a footer saying why the reader gets it.

Sentences are whole, with placeholders (gettext), never glued from fragments.
"""

import contextlib
import dataclasses
import datetime

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from iepcoord.dates import formatted

from .outbox import absolute_url

# Subject lines stay short enough for a phone's inbox (RFC 5322 recommends 78).
SUBJECT_MAX = 78


@dataclasses.dataclass
class Letter:
    subject: str
    greeting: str
    paragraphs: list[str]
    # (label, value) pairs shown as a list: "When", "Wednesday, December 9, 2026, 9:00 AM CST".
    facts: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    # (label, path): the one button, to the exact page.
    action: tuple[str, str] | None = None
    # Why the reader gets this email.
    reason: str = ""
    school: object | None = None
    # The meeting whose calendar file (.ics) goes with the email: attached when it is sent.
    calendar: object | None = None
    # (filename, content, MIME type).
    attachments: list[tuple[str, bytes, str]] = dataclasses.field(default_factory=list)

    @property
    def path(self) -> str:
        return self.action[1] if self.action else ""


@contextlib.contextmanager
def in_language(user_or_code):
    """Build a letter in its reader's language: a User (their preference) or a code."""
    code = getattr(user_or_code, "preferred_language", user_or_code) or "en"
    with translation.override(code):
        yield code


def short_name(student) -> str:
    """The student as a subject line names them: first name and initial ("Omar W.")."""
    return _("%(first)s %(initial)s.") % {
        "first": student.first_name,
        "initial": student.last_name[:1],
    }


def when(moment: datetime.datetime, tz) -> str:
    """A moment in full, in the school's time zone: with the year, time and zone."""
    return formatted(timezone.localtime(moment, tz), "full")


def day(moment: datetime.datetime, tz) -> str:
    """A day, short, for a subject line: "Dec 9"."""
    return formatted(timezone.localtime(moment, tz), "day")


def date(value: datetime.date) -> str:
    return formatted(value, "long_date")


def greeting(name: str) -> str:
    return _("Hello %(name)s,") % {"name": name} if name else _("Hello,")


def fit(subject: str) -> str:
    """One line, at most SUBJECT_MAX characters, cut at a word with an ellipsis."""
    subject = " ".join(subject.split())
    if len(subject) <= SUBJECT_MAX:
        return subject
    return subject[: SUBJECT_MAX - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def compose(letter: Letter, *, to: str) -> EmailMultiAlternatives:
    """The email of a letter, as text and HTML, in the active language."""
    context = {
        "letter": letter,
        "action_url": absolute_url(letter.action[1]) if letter.action else "",
        "language_code": translation.get_language(),
    }
    message = EmailMultiAlternatives(
        subject=fit(letter.subject),
        body=render_to_string("email/letter.txt", context),
        to=[to],
        headers={"Content-Language": translation.get_language()},
    )
    message.attach_alternative(render_to_string("email/letter.html", context), "text/html")
    for filename, content, mimetype in letter.attachments:
        message.attach(filename, content, mimetype)
    message.letter = letter  # for the outbox's delivered hooks (the page it links to)
    return message
