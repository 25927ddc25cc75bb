"""The outbox: every email the app sends goes through here, whatever its kind.

1. Record: the service that makes a change calls `emails_record` in the same transaction:
   one OutgoingEmail row per recipient (unique on kind and source row, so recording twice
   records once), handed to the broker only once the transaction commits. If the broker
   is down then, the change stands and the page succeeds: the row waits for the sweep.
2. Send (`email_send`, run by a Celery task given the row's id): claim the row with a
   conditional UPDATE that must change exactly one row, render the message (the kind's
   renderer, in the recipient's language; None when there is nothing left to say), send it
   with no transaction open and no row locked, then mark it sent and tell the kind's
   `delivered` hook, which marks its own row (a notice's sent_at...). An SMTP error frees
   the claim and is raised for the task's retries.
3. Requeue (`emails_requeue`, from beat): rows still unsent JOB_REQUEUE_AFTER_SECONDS after
   they were last queued, and not held by a sender, are stamped and queued again.

The one window left: a sender killed after the SMTP server accepted a message and before
it marked the row; once its claim runs out (EMAIL_CLAIM_SECONDS) the row is sent again. Renderers
register per kind (`register`), from each app's ready(): staff never imports meetings.
"""

import dataclasses
import datetime
import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from iepcoord.celery import app

from .models import OutgoingEmail

logger = logging.getLogger(__name__)

SEND_TASK = "staff.tasks.email_send"
# After this many claims, an email is left for a person to look at (the admin lists it).
MAX_ATTEMPTS = 30


@dataclasses.dataclass(frozen=True)
class Kind:
    render: Callable[[OutgoingEmail], EmailMessage | None]
    # Called once it went (with the message) or was dropped (None), in the transaction
    # that marks the email done: the kind marks its own row.
    delivered: Callable[[OutgoingEmail, EmailMessage | None], None] | None = None


KINDS: dict[str, Kind] = {}


def register(name: str, *, render, delivered=None) -> None:
    KINDS[name] = Kind(render=render, delivered=delivered)


def emails_record(kind: str, rows: Iterable[tuple[int, int | None]]) -> list[int]:
    """Record one email of `kind` per (source id, recipient id) of rows just created, in the
    caller's transaction, each queued once it commits; their ids. One INSERT, however many.
    Recording a source twice breaks the unique constraint: a caller that may repeat itself
    (plan_deliveries_create) records only the sources without an email."""
    if kind not in KINDS:
        raise ValueError(f"No renderer for emails of kind {kind!r}")
    rows = list(rows)
    if not rows:
        return []
    # The caller's transaction holds the change and its emails together; no savepoint of
    # its own (the reminder sweep records one batch per chunk of a thousand).
    emails = OutgoingEmail.objects.bulk_create(
        [
            OutgoingEmail(kind=kind, source_id=source_id, recipient_id=recipient_id)
            for source_id, recipient_id in rows
        ]
    )
    ids = [email.pk for email in emails]
    enqueue_after_commit(ids)
    return ids


def without_email(kind: str):
    """A filter of the source rows of `kind` that have no email recorded yet."""
    return ~Exists(OutgoingEmail.objects.filter(kind=kind, source_id=OuterRef("pk")))


def enqueue_after_commit(ids: list[int]) -> None:
    """Hand the emails to the broker once the transaction commits, never before."""
    ids = list(ids)
    if ids:
        transaction.on_commit(lambda: _publish(ids), robust=True)


def _publish(ids: list[int]) -> None:
    """Queue one send task per email, in one broker connection. A broker that is down is
    logged, not raised: the committed change stands and the sweep queues them later."""
    if SEND_TASK not in app.tasks:
        # A web process has not imported the apps' task modules yet (workers do at start).
        app.autodiscover_tasks(force=True)
    task = app.tasks[SEND_TASK]
    if app.conf.task_always_eager:
        # The embedded default: no broker, each email is sent here.
        for pk in ids:
            task.apply_async((pk,))
        return
    done = 0
    try:
        with app.producer_or_acquire() as producer:
            for pk in ids:
                task.apply_async((pk,), producer=producer)
                done += 1
    except (OperationalError, OSError):
        logger.warning(
            "Broker unavailable: %d of %d emails left for the sweep to queue again",
            len(ids) - done,
            len(ids),
            exc_info=True,
        )


def email_send(*, email_id: int) -> bool:
    """Send one email, once; True when this call sent it. Never inside a transaction: the
    SMTP conversation (up to EMAIL_TIMEOUT) holds no lock and no open transaction."""
    now = timezone.now()
    # Durable: Django refuses it inside another transaction, so no send ever holds one.
    with transaction.atomic(durable=True):
        claimed = (
            OutgoingEmail.objects.filter(pk=email_id, sent_at__isnull=True)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .update(
                claimed_until=now + datetime.timedelta(seconds=settings.EMAIL_CLAIM_SECONDS),
                attempts=F("attempts") + 1,
            )
        )
    if claimed != 1:
        return False  # sent already, or another sender holds it
    email = OutgoingEmail.objects.select_related("recipient").get(pk=email_id)
    kind = KINDS[email.kind]
    message = kind.render(email)
    if message is not None:
        try:
            message.send()
        except Exception as error:
            OutgoingEmail.objects.filter(pk=email_id).update(
                claimed_until=None, last_error=f"{type(error).__name__}: {error}"[:300]
            )
            raise
    with transaction.atomic():
        OutgoingEmail.objects.filter(pk=email_id, sent_at__isnull=True).update(
            sent_at=timezone.now(),
            claimed_until=None,
            skipped=message is None,
            to=", ".join(message.to)[:254] if message else "",
            subject=message.subject[:300] if message else "",
            language=message.extra_headers.get("Content-Language", "") if message else "",
            last_error="",
        )
        if kind.delivered is not None:
            kind.delivered(email, message)
    return message is not None


def emails_requeue(*, now: datetime.datetime | None = None) -> int:
    """Queue again every email still unsent JOB_REQUEUE_AFTER_SECONDS after it was last
    queued and held by no sender (the broker lost it, it was down when the change
    committed, SMTP refused past the last retry). Each is stamped, so it is queued once per
    period. Two queries per chunk of JOB_CHUNK_SIZE; the partial index email_unsent_idx
    keeps the read small."""
    now = now or timezone.now()
    stale = (
        OutgoingEmail.objects.filter(
            sent_at__isnull=True,
            queued_at__lt=now - datetime.timedelta(seconds=settings.JOB_REQUEUE_AFTER_SECONDS),
            attempts__lt=MAX_ATTEMPTS,
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("pk")
    )
    requeued, last = 0, 0
    while True:
        ids = list(
            stale.filter(pk__gt=last).values_list("pk", flat=True)[: settings.JOB_CHUNK_SIZE]
        )
        if not ids:
            return requeued
        with transaction.atomic():
            OutgoingEmail.objects.filter(pk__in=ids).update(queued_at=now)
            enqueue_after_commit(ids)
        requeued += len(ids)
        last = ids[-1]


def rate_per_second() -> float | None:
    """EMAIL_RATE_LIMIT ("600/m") in emails a second, for one worker; None: no limit."""
    limit = settings.EMAIL_RATE_LIMIT
    if not limit:
        return None
    count, _slash, unit = limit.partition("/")
    return int(count) / {"s": 1, "m": 60, "h": 3600}[unit or "s"]


def absolute_url(path: str) -> str:
    """A link for an email: the site's address and the exact page."""
    return f"{settings.SITE_URL}{path}"
