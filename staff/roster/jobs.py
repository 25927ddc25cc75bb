"""The life of a roster import, as services: upload (a district administrator's page),
check (the dry run, a Celery job), confirm, run (a Celery job), and the command's run.
The tasks (staff/tasks.py) call these by id; these queue the tasks by name, on commit.

A job claims its import with a conditional UPDATE that must change one row (status and
claim), held for ROSTER_IMPORT_TIME_LIMIT: a second delivery of the same task does
nothing, and one redelivered after its worker was killed takes over once the claim ran
out. Reading the export happens outside any transaction (its progress is visible as it
goes); comparing with the database and writing happen in one transaction that first
locks the imports running, so two imports never write at once (the second compares with
what the first wrote).
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError

from iepcoord.celery import app
from iepcoord.figures import count_again

from ..access import may_import_roster
from ..audit import audit_record
from ..models import RosterImport, User
from ..selectors import DISTRICT_FAMILIES_KEY
from ..services import DomainError
from .apply import apply_plan
from .plan import Plan, plan_import
from .reader import Problem, Refused, Roster, read_export

logger = logging.getLogger(__name__)

CHECK_TASK = "staff.tasks.roster_check"
IMPORT_TASK = "staff.tasks.roster_import"
INVITE_TASK = "staff.tasks.roster_invite_families"

Status = RosterImport.Status


def queue_on_commit(task_name: str, *args) -> None:
    """Queue a task by name once the transaction commits (services never import tasks).
    A broker that is down is logged: the import waits, and its page says so."""

    def publish():
        if task_name not in app.tasks:
            # A web process has not imported the apps' task modules yet (workers do).
            app.autodiscover_tasks(force=True)
        try:
            app.tasks[task_name].apply_async(args)
        except (OperationalError, OSError):
            logger.warning("Broker unavailable: %s%s not queued", task_name, args, exc_info=True)

    transaction.on_commit(publish, robust=True)


# --- Pages -------------------------------------------------------------------------------


@transaction.atomic
def roster_import_upload(*, actor: User, file) -> RosterImport:
    """A district administrator uploads an export (.zip): stored privately, then checked
    by a job (the dry run), which changes nothing."""
    if not may_import_roster(actor):
        raise DomainError(_("Only district administrators import the roster."))
    roster_import = RosterImport(uploaded_by=actor, source=file.name[:300])
    roster_import.file.save(f"oneroster-{timezone.now():%Y%m%d-%H%M%S}.zip", file, save=False)
    roster_import.save()
    audit_record(
        actor=actor, action="roster.uploaded", obj=roster_import, after={"file": file.name}
    )
    queue_on_commit(CHECK_TASK, roster_import.pk)
    return roster_import


@transaction.atomic
def roster_import_confirm(*, actor: User, roster_import: RosterImport) -> RosterImport:
    """Apply a checked export: the job reads it again and compares with the database as it
    is then (what the dry run said may have moved on since)."""
    if not may_import_roster(actor):
        raise DomainError(_("Only district administrators import the roster."))
    roster_import = RosterImport.objects.select_for_update().get(pk=roster_import.pk)
    if roster_import.status != Status.DRY_RUN_DONE:
        raise DomainError(_("This export is not waiting for confirmation."))
    if RosterImport.objects.filter(status=Status.RUNNING).exists():
        raise DomainError(_("Another import is running: wait for it to end, then confirm."))
    roster_import.status = Status.RUNNING
    roster_import.confirmed_by = actor
    roster_import.claimed_until = None
    roster_import.progress = {}
    roster_import.save(
        update_fields=["status", "confirmed_by", "claimed_until", "progress", "updated_at"]
    )
    audit_record(actor=actor, action="roster.confirmed", obj=roster_import)
    queue_on_commit(IMPORT_TASK, roster_import.pk)
    return roster_import


# --- Jobs ---------------------------------------------------------------------------------------


def _claim(pk: int, status: str) -> RosterImport | None:
    now = timezone.now()
    claimed = (
        RosterImport.objects.filter(pk=pk, status=status)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(
            claimed_until=now + datetime.timedelta(seconds=settings.ROSTER_IMPORT_TIME_LIMIT),
            progress={"phase": "reading"},
        )
    )
    if claimed != 1:
        return None
    return RosterImport.objects.select_related("uploaded_by", "confirmed_by").get(pk=pk)


def _progress(pk: int):
    def report(file, rows):
        RosterImport.objects.filter(pk=pk).update(
            progress={"phase": "reading", "file": file, "rows": rows}
        )

    return report


def _finish(pk: int, **fields) -> None:
    RosterImport.objects.filter(pk=pk).update(
        claimed_until=None, finished_at=timezone.now(), updated_at=timezone.now(), **fields
    )


def _language(roster_import: RosterImport) -> str:
    person = roster_import.confirmed_by or roster_import.uploaded_by
    return person.preferred_language if person else settings.LANGUAGE_CODE


def _attempt(roster_import: RosterImport, step):
    """`step()` in the language of whoever uploaded; when it refuses the export or fails,
    the import is finished as failed (with the problems, or a message for the unexpected)
    and None is returned."""
    with translation.override(_language(roster_import)):
        try:
            return step()
        except Refused as refused:
            problems = [str(p) for p in refused.problems]
        except Exception:
            logger.exception("Roster import %s failed", roster_import.pk)
            problems = [_unexpected()]
        _finish(roster_import.pk, status=Status.FAILED, problems=problems)
    return None


def _refused(import_id: int, roster: Roster, plan: Plan) -> bool:
    """Finish the import as failed when its plan found problems."""
    if plan.problems:
        _finish(
            import_id,
            status=Status.FAILED,
            problems=[str(p) for p in plan.problems],
            version=roster.version,
        )
    return bool(plan.problems)


def roster_import_check(*, import_id: int) -> bool:
    """The dry run of an uploaded export: read, compare, record what would change (or
    every problem). Changes nothing else. False when another job holds the import."""
    roster_import = _claim(import_id, Status.PENDING)
    if roster_import is None:
        return False

    def dry_run():
        with roster_import.file.open("rb") as source:
            roster = read_export(source, progress=_progress(import_id))
        RosterImport.objects.filter(pk=import_id).update(progress={"phase": "comparing"})
        return roster, plan_import(roster, today=timezone.localdate())

    done = _attempt(roster_import, dry_run)
    if done and not _refused(import_id, *done):
        roster, plan = done
        _finish(
            import_id,
            status=Status.DRY_RUN_DONE,
            checked_at=timezone.now(),
            summary=_summary(roster, plan),
            notes=roster.notes,
            version=roster.version,
        )
    return True


def roster_import_run(*, import_id: int, source=None) -> bool:
    """Apply a confirmed export (or, from the command, the export at `source`): read it,
    then in one transaction compare and write. A problem refuses it all, nothing changed."""
    roster_import = _claim(import_id, Status.RUNNING)
    if roster_import is None:
        return False

    def run():
        if source is None:
            with roster_import.file.open("rb") as stored:
                roster = read_export(stored, progress=_progress(import_id))
        else:
            roster = read_export(source, progress=_progress(import_id))
        RosterImport.objects.filter(pk=import_id).update(progress={"phase": "writing"})
        return roster, _write(roster_import, roster, actor=roster_import.confirmed_by)

    done = _attempt(roster_import, run)
    if done:
        _refused(import_id, *done)
    return True


def _write(roster_import: RosterImport, roster: Roster, *, actor, progress=None) -> Plan:
    progress = progress or (lambda phase: None)
    with transaction.atomic():
        # Imports running wait for each other here (SQLite writes one at a time anyway).
        list(RosterImport.objects.select_for_update().filter(status=Status.RUNNING))
        progress("comparing")
        plan = plan_import(roster, today=timezone.localdate())
        if plan.problems:
            return plan
        apply_plan(plan, roster, actor=actor, progress=progress)
        progress("committing")
        summary = _summary(roster, plan)
        RosterImport.objects.filter(pk=roster_import.pk).update(
            status=Status.DONE,
            summary=summary,
            notes=roster.notes,
            version=roster.version,
            problems=[],
            progress={"phase": "done"},
            claimed_until=None,
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        audit_record(actor=actor, action="roster.imported", obj=roster_import, after=summary)
        count_again(DISTRICT_FAMILIES_KEY)
    return plan


def _summary(roster: Roster, plan: Plan) -> dict:
    return {"read": roster.counts, "changes": plan.summary()}


def _unexpected() -> str:
    return str(
        Problem(
            "-",
            0,
            "-",
            _(
                "the import stopped on an unexpected error; nothing was changed (see the server's log)"
            ),
        )
    )


# --- The command --------------------------------------------------------------------------


def roster_import_from_path(
    *, path: str, dry_run: bool, progress=None, phases=None
) -> tuple[Roster, Plan]:
    """`manage.py import_roster`: read the export at `path` and compare; unless `dry_run`,
    write it in one transaction, and record the run (or its refusal) in the imports'
    history. Raises Refused with every problem: nothing changed."""
    if dry_run:
        roster = read_export(path, progress=progress)
        plan = plan_import(roster, today=timezone.localdate())
        if plan.problems:
            raise Refused(plan.problems)
        return roster, plan
    roster_import = RosterImport.objects.create(
        source=str(path)[:300],
        status=Status.RUNNING,
        progress={"phase": "reading"},
        claimed_until=timezone.now()
        + datetime.timedelta(seconds=settings.ROSTER_IMPORT_TIME_LIMIT),
    )
    try:
        roster = read_export(path, progress=progress)
        plan = _write(roster_import, roster, actor=None, progress=phases)
        if plan.problems:
            raise Refused(plan.problems)
    except Refused as refused:
        _finish(roster_import.pk, status=Status.FAILED, problems=[str(p) for p in refused.problems])
        raise
    except BaseException:
        _finish(roster_import.pk, status=Status.FAILED, problems=[_unexpected()])
        raise
    return roster, plan
