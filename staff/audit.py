"""The audit trail: who did what to which record, when and from where (34 CFR 300.614:
a record of access to each student's records). Every state change and every view of a
student's record writes here; nothing is ever updated or deleted."""

import json
from functools import cache

from django.db import connections, router
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .middleware import client_ip
from .models import AuditEvent


def _audit_event(*, actor, action, obj, school, student, before, after, denied) -> AuditEvent:
    return AuditEvent(
        actor=actor if actor and actor.is_authenticated else None,
        action=action,
        object_type=obj._meta.model_name,
        object_id=str(obj.pk),
        school=school,
        student=student,
        before=before or {},
        after=after or {},
        ip=client_ip.get(),
        denied=denied,
    )


def audit_event(
    *,
    actor,
    action,
    obj=None,
    school_id=None,
    student_id=None,
    before=None,
    after=None,
    object_type=None,
    object_id=None,
) -> AuditEvent:
    """An unsaved event, by ids, for a service that writes many in one INSERT
    (`AuditEvent.objects.bulk_create`): a transfer of many students, the roster import."""
    return AuditEvent(
        actor=actor if actor and actor.is_authenticated else None,
        action=action,
        object_type=object_type or obj._meta.model_name,
        object_id=str(object_id if object_id is not None else obj.pk),
        school_id=school_id,
        student_id=student_id,
        before=before or {},
        after=after or {},
        ip=client_ip.get(),
    )


def audit_record(
    *, actor, action, obj, school=None, student=None, before=None, after=None, denied=False
) -> AuditEvent:
    """One event: who (and from which address, during a request), did what, to which
    record, before and after. `denied` records a refused attempt."""
    event = _audit_event(
        actor=actor,
        action=action,
        obj=obj,
        school=school,
        student=student,
        before=before,
        after=after,
        denied=denied,
    )
    event.save(force_insert=True)
    return event


def audit_students_viewed(*, actor, action: str, students) -> None:
    """A page that shows several students' records (a caseload, a calendar feed) writes one
    event per student in one INSERT: each student's access log shows the view. Reads
    only each student's `pk` and `school_id`."""
    pairs = [[student.pk, student.school_id] for student in students]
    if not pairs:
        return
    alias = router.db_for_write(AuditEvent)
    connection = connections[alias]
    ops = connection.ops
    actor_id = actor.pk if actor and actor.is_authenticated else None
    with connection.cursor() as cursor:
        cursor.execute(
            _students_viewed_sql(alias),
            [
                ops.adapt_datetimefield_value(timezone.now()),
                actor_id,
                action,
                ops.adapt_ipaddressfield_value(client_ip.get()),
                json.dumps(pairs),
            ],
        )


@cache
def _students_viewed_sql(alias: str) -> str:
    # The same rows as bulk_create of one AuditEvent a student, in the students' order, made
    # by the database from their ids and schools: building and preparing eleven values a
    # student cost more than the INSERT (38 students: 2.4 ms, now 0.6).
    connection = connections[alias]
    quote_name = connection.ops.quote_name
    columns = ", ".join(
        quote_name(AuditEvent._meta.get_field(name).column)
        for name in (
            "at",
            "actor",
            "action",
            "object_type",
            "object_id",
            "school",
            "student",
            "before",
            "after",
            "ip",
            "denied",
        )
    )
    if connection.vendor == "postgresql":
        # A parameter in a SELECT list is text unless cast: each gets its column's type.
        at, actor, action, school, student, ip = (
            AuditEvent._meta.get_field(name).cast_db_type(connection)
            for name in ("at", "actor", "action", "school", "student", "ip")
        )
        rows = (
            f"%s::{at}, %s::{actor}, %s::{action}, 'student', (s.pair->>0),"
            f" (s.pair->>1)::{school}, (s.pair->>0)::{student}, '{{}}'::jsonb, '{{}}'::jsonb,"
            f" %s::{ip}, false"
            " FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS s(pair, n) ORDER BY s.n"
        )
    else:
        rows = (
            "%s, %s, %s, 'student', CAST(s.value->>0 AS TEXT), s.value->>1, s.value->>0,"
            " '{}', '{}', %s, 0 FROM json_each(%s) AS s ORDER BY s.key"
        )
    return f"INSERT INTO {quote_name(AuditEvent._meta.db_table)} ({columns}) SELECT {rows}"


# What each kind of event was for, as the record-access log tells it (34 CFR 300.614 asks
# for "the purpose for which the party is authorized to use the records").
PURPOSES = {
    "meeting.viewed": _("Opened the meeting page"),
    "meeting.packet_printed": _("Opened the printable meeting packet"),
    "meeting.calendar_downloaded": _("Added the meeting to a calendar"),
    "calendar.feed_read": _("Calendar feed updated"),
    "caseload.viewed": _("Opened the caseload"),
    "notice.viewed": _("Read the notice of meeting"),
    "child.viewed": _("Opened the child's support team page"),
    "guardians.viewed": _("Opened the family's contacts"),
    "access_log.viewed": _("Read this access log"),
    "plan.downloaded": _("Downloaded the plan"),
    "plan.uploaded": _("Uploaded a plan"),
    "plan.finalized": _("Finalized the plan"),
    "plan.sent": _("Sent a copy of the plan"),
    "plan.acknowledged": _("Opened their copy of the plan"),
    "meeting.scheduled": _("Scheduled a meeting"),
    "meeting.rescheduled": _("Rescheduled a meeting"),
    "meeting.cancelled": _("Cancelled a meeting"),
    "meeting.held": _("Recorded the meeting and who attended"),
    "contact_attempt.added": _("Recorded an attempt to reach the family"),
    "request.decision_viewed": _("Opened a request to attend, to decide it"),
    "request.submitted": _("Asked to attend a meeting"),
    "request.withdrawn": _("Withdrew a request to attend"),
    "request.approved": _("Approved a request to attend"),
    "request.denied": _("Denied a request to attend"),
    "request.reopened": _("A request went back to the approvers"),
    "request.expired": _("A request was not decided in time"),
    "request.cancelled": _("A request was cancelled with its meeting"),
    "feedback.saved": _("Saved feedback for the team"),
    "feedback.submitted": _("Submitted feedback for the team"),
    "notice.answered": _("Answered the notice of meeting"),
    "parent_wish.saved": _("Said whether the SECA should attend"),
    "guardian.invited": _("Invited a parent"),
    "guardian.invite_accepted": _("Accepted an invitation"),
    "student.transferred": _("Moved the student to another school"),
    # The district's roster import (staff/roster/).
    "student.roster_created": _("Added from the district's roster"),
    "student.roster_updated": _("Updated from the district's roster"),
    "student.roster_deactivated": _("No longer in the district's roster with an IEP"),
    "guardian.roster_created": _("Added a parent or guardian from the district's roster"),
    "guardian.roster_updated": _("Updated a parent or guardian from the district's roster"),
    "guardian.roster_ended": _(
        "Ended a parent's or guardian's link, as the district's roster says"
    ),
    "assignment.roster_created": _("Assigned a SECA, as the district's roster says"),
    "assignment.roster_updated": _("Updated a SECA's assignment, as the district's roster says"),
    "assignment.roster_ended": _("Ended a SECA's assignment, as the district's roster says"),
    "guardian.letter_prepared": _("Prepared an invitation letter for a parent"),
    "invitations.viewed": _("Opened the school's families without an account"),
    "invitation_letters.printed": _("Printed the invitation letters"),
    "admin.viewed": _("Opened the record in the administration"),
    "admin.added": _("Added to the record in the administration"),
    "admin.changed": _("Changed the record in the administration"),
    "admin.deleted": _("Deleted from the record in the administration"),
}


def purpose_of(event: AuditEvent) -> str:
    if event.denied:
        return str(_("Refused: no access to this record"))
    return str(PURPOSES.get(event.action, event.action))
