"""SECA training (contract: the new-SECA curriculum, annual de-escalation, physical restraint
and time-out by June 30, 2027): where each SECA stands, completions recorded by the school
or imported by the district (all or nothing), and reminders before a due date.

A training is done for a school year when its latest completion counts for that year (any
completion for a training done once; one since July 1 for a yearly one). The reminder sweep
claims one TrainingReminder per SECA, training, due date and step (30 and 7 days before,
once when overdue) with INSERT ... ON CONFLICT DO NOTHING: only the sweep that inserted the
row records its email in the outbox, so nothing goes twice.
"""

import csv
import dataclasses
import datetime
import io

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from iepcoord.figures import count_again, figures

from . import outbox
from .access import schools, standing_of
from .audit import audit_event, audit_record
from .letters import Letter, compose, date, greeting, in_language
from .models import (
    OutgoingEmail,
    PolicyCopy,
    RestraintPolicy,
    Role,
    School,
    Training,
    TrainingCompletion,
    TrainingReminder,
    User,
    current_school_year,
)
from .services import DomainError

# The trainings the contract names: (code, name, recurrence, due on). Migration 0007 seeds
# them (annual de-escalation due by September 30 of each school year; the district may
# change any in the admin); load_demo upserts the same.
CONTRACT_TRAININGS = [
    ("de-escalation-practices", "De-escalation practices", "once", None),
    ("iep-procedures", "An overview of IEP procedures", "once", None),
    ("variety-of-disabilities", "Working with students with a variety of disabilities", "once", None),
    ("lifting-positioning", "Lifting and positioning non-ambulatory students", "once", None),
    ("personal-care", "Personal care", "once", None),
    ("reinforcing-instruction", "Reinforcing instruction", "once", None),
    ("annual-de-escalation", "Annual de-escalation training", "yearly", datetime.date(2026, 9, 30)),
    ("restraint-time-out", "Physical restraint and time-out", "once", datetime.date(2027, 6, 30)),
]  # fmt: skip
# A training due this soon is flagged "due soon" (and reminded: REMINDER_STEPS).
DUE_SOON = datetime.timedelta(days=30)
# Days before the due date each reminder goes: the largest first.
REMINDER_STEPS = ((30, TrainingReminder.Step.DAYS_30), (7, TrainingReminder.Step.DAYS_7))
# The largest CSV of completions accepted (a year of the district's 7,500 SECAs fits).
IMPORT_MAX_BYTES = 5 * 1024 * 1024
IMPORT_COLUMNS = ("email", "staff_sourced_id", "training_code", "completed_on")


class State:
    DONE = "done"
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    TO_DO = "to_do"


@dataclasses.dataclass
class TrainingStatus:
    """Where one SECA stands on one training this school year."""

    training: Training
    due: datetime.date | None
    completed_on: datetime.date | None
    state: str


def _state(training: Training, last: datetime.date | None, *, today, year) -> TrainingStatus:
    due = training.due_in(year)
    start = training.counts_from(year)
    if last is not None and (start is None or last >= start):
        state = State.DONE
    elif due is not None and due < today:
        state = State.OVERDUE
    elif due is not None and due <= today + DUE_SOON:
        state = State.DUE_SOON
    else:
        state = State.TO_DO
    return TrainingStatus(training, due, last, state)


def trainings_of(seca_ids, *, today: datetime.date) -> dict[int, list[TrainingStatus]]:
    """{SECA id: their standing on every training}, most urgent first. Two queries: the
    trainings, and the latest completion of each SECA's each training."""
    year = current_school_year(today)
    trainings = list(Training.objects.order_by("name"))
    latest = {
        (seca_id, training_id): last
        for seca_id, training_id, last in TrainingCompletion.objects.filter(
            seca_id__in=sorted(seca_ids)
        )
        .values_list("seca_id", "training_id")
        .annotate(last=Max("completed_on"))
        .order_by()
    }
    order = {State.OVERDUE: 0, State.DUE_SOON: 1, State.TO_DO: 2, State.DONE: 3}
    found = {}
    for seca_id in seca_ids:
        rows = [_state(t, latest.get((seca_id, t.pk)), today=today, year=year) for t in trainings]
        rows.sort(key=lambda row: (order[row.state], row.due or datetime.date.max))
        found[seca_id] = rows
    return found


def _not_done(training: Training, year: int, seca: str = "pk") -> Exists:
    """No completion of `training` counting for the school year, by the SECA of the outer
    row (`seca` names its user id: "pk" of a user, "user_id" of a role)."""
    done = TrainingCompletion.objects.filter(seca=OuterRef(seca), training=training)
    start = training.counts_from(year)
    if start is not None:
        done = done.filter(completed_on__gte=start)
    return ~Exists(done)


def school_counts(school_ids=None, *, today: datetime.date) -> dict[int, dict]:
    """{school id: {"secas", "overdue", "due_soon", "unacknowledged"}}: the school's active
    SECAs, those with a training overdue, due within DUE_SOON, and those who have not opened
    this year's restraint policy (all of them when none is uploaded). Counted by the
    database: three queries (trainings, the policy, the counts) however many SECAs."""
    year = current_school_year(today)
    overdue, due_soon = Q(pk__in=[]), Q(pk__in=[])
    for training in Training.objects.exclude(due_on=None):
        due = training.due_in(year)
        if due < today:
            overdue |= _not_done(training, year, "user_id")
        elif due <= today + DUE_SOON:
            due_soon |= _not_done(training, year, "user_id")
    policy = RestraintPolicy.objects.current(today)
    unacknowledged = ~Q(
        Exists(PolicyCopy.objects.filter(policy=policy, seca=OuterRef("user_id"), acknowledged_at__isnull=False))
    ) if policy else Q(pk__isnull=False)  # fmt: skip
    # One row per SECA role: a SECA of two schools counts at each.
    secas = Role.objects.filter(kind=Role.Kind.SECA, user__is_active=True)
    if school_ids is not None:
        secas = secas.filter(school_id__in=sorted(school_ids))
    rows = (
        secas.values("school_id")
        .annotate(
            secas=Count("pk"),
            overdue=Count("pk", filter=overdue),
            due_soon=Count("pk", filter=due_soon),
            unacknowledged=Count("pk", filter=unacknowledged),
        )
        .order_by()
    )
    return {row.pop("school_id"): row for row in rows}


@dataclasses.dataclass(frozen=True)
class DistrictCounts:
    by_school: dict[int, dict]
    counted_at: datetime.datetime


def _district_key(today: datetime.date) -> str:
    return f"training:district:{today.isoformat()}"


def district_counts(*, today: datetime.date) -> DistrictCounts:
    """school_counts() of every school, counted at most once every FIGURES_CACHE_SECONDS
    (7,500 SECAs: about 30 ms in the database); the page says when. A completion recorded
    or imported counts again at the next view; a policy opened, by the next count."""
    return figures(
        _district_key(today), lambda: DistrictCounts(school_counts(today=today), timezone.now())
    )


def _count_again():
    count_again(_district_key(timezone.localdate()))


# --- Recording completions ---------------------------------------------------------------


def _check_completed_on(completed_on: datetime.date, today: datetime.date) -> str | None:
    if completed_on > today:
        return _("The day of completion cannot be in the future.")
    return None


@transaction.atomic
def training_record(
    *, actor: User, school: School, seca: User, training: Training, completed_on: datetime.date
) -> TrainingCompletion:
    """The principal or a designee records that a SECA of their school completed a
    training. Recording the same completion twice is refused, with a message."""
    if not schools(actor, right="record_training").filter(pk=school.pk).exists():
        raise DomainError(_("Only the principal or a designee of this school records training."))
    if not User.objects.active_secas(school.pk).filter(pk=seca.pk).exists():
        raise DomainError(_("Choose a SECA of this school."), field="seca")
    if problem := _check_completed_on(completed_on, timezone.localdate()):
        raise DomainError(problem, field="completed_on")
    completion, created = TrainingCompletion.objects.get_or_create(
        seca=seca,
        training=training,
        completed_on=completed_on,
        defaults={"recorded_by": actor, "school": school, "source": TrainingCompletion.Source.SCHOOL},
    )  # fmt: skip
    if not created:
        raise DomainError(
            _("%(name)s's completion of this training on this day is already recorded.")
            % {"name": seca.full_name},
            field="completed_on",
        )
    audit_record(
        actor=actor,
        action="training.recorded",
        obj=completion,
        school=school,
        after={"seca": seca.email, "training": training.code, "completed_on": str(completed_on)},
    )
    _count_again()
    return completion


@dataclasses.dataclass
class ImportResult:
    created: int = 0
    already: int = 0
    # "Row 3: ..." each; nothing was saved when there is any.
    errors: list[str] = dataclasses.field(default_factory=list)


def _read_csv(upload) -> list[dict]:
    if upload.size > IMPORT_MAX_BYTES:
        raise DomainError(
            _("The file is larger than %(mb)d MB.") % {"mb": IMPORT_MAX_BYTES // (1024 * 1024)},
            field="file",
        )
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError(_("Save the file as CSV in UTF-8."), field="file") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = {name.strip() for name in reader.fieldnames or []}
    if not {"training_code", "completed_on"} <= columns or not columns & {
        "email",
        "staff_sourced_id",
    }:
        raise DomainError(
            _("The first line must name the columns: email or staff_sourced_id, training_code and completed_on."),
            field="file",
        )  # fmt: skip
    return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]


def training_import(*, actor: User, upload) -> ImportResult:
    """The district's CSV of completions (columns: email or staff_sourced_id, training_code,
    completed_on as YYYY-MM-DD): all or nothing. Every row is checked first; with any
    error, each is listed by row and nothing is saved. A completion already recorded is
    left as it is, so importing the same file twice changes nothing."""
    if not standing_of(actor).district_admin:
        raise DomainError(_("Only district administrators import training records."))
    rows = _read_csv(upload)
    if not rows:
        raise DomainError(_("The file has no rows below its first line."), field="file")
    today = timezone.localdate()
    emails = {row.get("email", "").lower() for row in rows} - {""}
    sourced = {row.get("staff_sourced_id", "") for row in rows} - {""}
    secas = User.objects.active_secas().filter(Q(email__in=emails) | Q(sourced_id__in=sourced))
    by_email, by_sourced = {}, {}
    for pk, email, sourced_id in secas.values_list("pk", "email", "sourced_id"):
        by_email[email.lower()] = pk
        if sourced_id:
            by_sourced[sourced_id] = pk
    trainings = dict(Training.objects.values_list("code", "pk"))
    result, wanted = ImportResult(), {}
    for number, row in enumerate(rows, start=2):  # the first line names the columns
        problems = []
        email, sourced_id = row.get("email", "").lower(), row.get("staff_sourced_id", "")
        seca_id = by_email.get(email) if email else by_sourced.get(sourced_id)
        if not email and not sourced_id:
            problems.append(_("no email or staff_sourced_id"))
        elif seca_id is None:
            problems.append(
                _("no active SECA has the email %(email)s") % {"email": email}
                if email
                else _("no active SECA has the staff_sourced_id %(id)s") % {"id": sourced_id}
            )
        training_id = trainings.get(row.get("training_code", ""))
        if training_id is None:
            problems.append(
                _("unknown training_code %(code)s") % {"code": row.get("training_code", "")}
            )
        try:
            completed_on = datetime.date.fromisoformat(row.get("completed_on", ""))
        except ValueError:
            problems.append(
                _("completed_on %(value)s is not a date (YYYY-MM-DD)")
                % {"value": row.get("completed_on", "")}
            )
        else:
            if problem := _check_completed_on(completed_on, today):
                problems.append(problem)
        if problems:
            result.errors.append(
                _("Row %(row)d: %(problems)s") % {"row": number, "problems": "; ".join(problems)}
            )
        else:
            wanted[seca_id, training_id, completed_on] = number
    if result.errors:
        return result
    with transaction.atomic():
        existing = set(
            TrainingCompletion.objects.filter(
                seca_id__in={key[0] for key in wanted},
                completed_on__in={key[2] for key in wanted},
            ).values_list("seca_id", "training_id", "completed_on")
        )
        new = [key for key in wanted if key not in existing]
        TrainingCompletion.objects.bulk_create(
            TrainingCompletion(
                seca_id=seca_id,
                training_id=training_id,
                completed_on=completed_on,
                recorded_by=actor,
                source=TrainingCompletion.Source.IMPORT,
            )
            for seca_id, training_id, completed_on in new
        )
        result.created, result.already = len(new), len(wanted) - len(new)
        audit_event(
            actor=actor,
            action="training.imported",
            object_type="trainingcompletion",
            object_id="import",
            after={"file": upload.name[:200], "created": result.created, "already": result.already},
        ).save(force_insert=True)
        _count_again()
    return result


# --- Reminders ------------------------------------------------------------------------------


def claim_rows(model, columns: tuple[str, ...], conflict: tuple[str, ...], rows) -> list[tuple]:
    """Insert the rows (values of `columns`) not there yet, in one statement per 500;
    (id, seca_id) of those this call inserted. Another sweep's rows are not returned."""
    rows = sorted(set(rows))
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    keys = ", ".join(connection.ops.quote_name(c) for c in conflict)
    claimed = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            batch = rows[start : start + 500]
            values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(batch))
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {values} "
                f"ON CONFLICT ({keys}) DO NOTHING RETURNING id, seca_id",
                [value for row in batch for value in row],
            )
            claimed += [tuple(row) for row in cursor.fetchall()]
    return claimed


def _step(due: datetime.date, today: datetime.date):
    if due < today:
        return TrainingReminder.Step.OVERDUE
    for days, step in reversed(REMINDER_STEPS):
        if due - today <= datetime.timedelta(days=days):
            return step
    return None


def training_reminders_sweep(*, now: datetime.datetime | None = None) -> int:
    """Remind each active SECA of a training due in 30 or 7 days, and once when it is
    overdue, in chunks of JOB_CHUNK_SIZE SECAs: two queries and one transaction per chunk."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    year = current_school_year(today)
    claimed = 0
    for training in Training.objects.exclude(due_on=None).order_by("pk"):
        due = training.due_in(year)
        step = _step(due, today)
        if step is None:
            continue
        reminded = TrainingReminder.objects.filter(
            seca=OuterRef("pk"), training=training, due_on=due, step=step
        )
        candidates = (
            User.objects.active_secas()
            .filter(_not_done(training, year))
            .exclude(Exists(reminded))
            .order_by("pk")
        )
        last = 0
        while ids := list(
            candidates.filter(pk__gt=last).values_list("pk", flat=True)[: settings.JOB_CHUNK_SIZE]
        ):
            with transaction.atomic():
                rows = claim_rows(
                    TrainingReminder,
                    ("seca_id", "training_id", "due_on", "step", "created_at"),
                    ("seca_id", "training_id", "due_on", "step"),
                    [(pk, training.pk, due, step, now) for pk in ids],
                )
                outbox.emails_record("training_reminder", rows)
            claimed += len(rows)
            last = ids[-1]
    return claimed


def training_reminder_email(email: OutgoingEmail) -> EmailMessage | None:
    """The reminder in the SECA's language; nothing once the training was done or the
    person is no SECA any more."""
    reminder = (
        TrainingReminder.objects.select_related("seca", "training").filter(pk=email.source_id).first()
    )  # fmt: skip
    if reminder is None:
        return None
    seca, training = reminder.seca, reminder.training
    year = current_school_year(timezone.localdate())
    if (
        not seca.email
        or not User.objects.active_secas().filter(pk=seca.pk).filter(_not_done(training, year)).exists()
    ):  # fmt: skip
        return None
    with in_language(seca):
        names = {"training": training.display_name, "date": date(reminder.due_on)}
        if reminder.step == TrainingReminder.Step.OVERDUE:
            subject = _("Overdue: %(training)s") % names
            text = _("The training “%(training)s” was due on %(date)s and is not recorded as done. Please complete it, or tell your school if you already have.") % names  # fmt: skip
        else:
            subject = _("Training due on %(date)s: %(training)s") % names
            text = _("The training “%(training)s” is due on %(date)s and is not recorded as done yet.") % names  # fmt: skip
        letter = Letter(
            subject=subject,
            greeting=greeting(seca.get_short_name()),
            paragraphs=[text],
            action=(_("See my trainings"), reverse("my_training")),
            reason=_("You receive this reminder because the district requires this training of SECAs."),
        )  # fmt: skip
        return compose(letter, to=seca.email)
