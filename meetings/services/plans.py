"""The finalized plan: upload a PDF after the meeting, finalize it, and the record of who
downloaded it (34 CFR 300.614).

A plan is a student record: it is stored through Django's default storage (a private
folder outside the web root, see STORAGES) and served only by a view that checks access.
A corrected plan is a new row with the next version; a finalized one never changes.
"""

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from staff.audit import audit_record
from staff.models import User
from staff.pdf import pdf_checked
from staff.services import DomainError

from .. import access
from ..access import Action
from ..models import Meeting, Plan
from .attendance import meeting_lock
from .distribution import plan_deliveries_create


def _check_may_attach(actor: User, meeting: Meeting, action=Action.UPLOAD_PLAN) -> None:
    access.check(actor, action, meeting)
    if meeting.state != Meeting.State.HELD:
        raise DomainError(_("Mark the meeting held before adding its plan."))


def _checked_pdf(upload) -> str:
    return pdf_checked(upload, not_pdf=_("This file is not a PDF: upload the plan as a PDF."))


def plan_upload(*, actor: User, meeting: Meeting, upload) -> Plan:
    """Store an uploaded plan as the meeting's next version. A refused file leaves
    nothing behind: no row, no file."""
    _check_may_attach(actor, meeting)
    # Read the file before taking the lock: parsing a large PDF takes a while.
    sha256 = _checked_pdf(upload)
    with transaction.atomic():
        meeting = meeting_lock(meeting)
        _check_may_attach(actor, meeting)
        # The meeting's lock serializes uploads: two at once get versions n and n+1.
        version = (meeting.plans.aggregate(v=Max("version"))["v"] or 0) + 1
        plan = Plan(meeting=meeting, version=version, sha256=sha256, uploaded_by=actor)
        # The stored name says nothing of the student; the download names them.
        plan.file.save(f"plan-{meeting.pk}-v{version}.pdf", upload, save=False)
        try:
            plan.save()
            audit_record(
                actor=actor,
                action="plan.uploaded",
                obj=plan,
                school=meeting.school,
                student=meeting.student,
                after={"version": version, "sha256": sha256, "size": upload.size},
            )
        except BaseException:
            plan.file.delete(save=False)
            raise
    return plan


@transaction.atomic
def plan_finalize(*, actor: User, plan: Plan) -> Plan:
    """Finalize the latest version: the plan then goes to the parents and to every SECA
    whose request was not honored (contract; 34 CFR 300.322(f), 300.323(d))."""
    Plan.objects.select_for_update().filter(pk=plan.pk).values_list("pk").get()
    plan = Plan.objects.select_related("meeting__student__school", "meeting__school").get(
        pk=plan.pk
    )
    meeting = plan.meeting
    access.check(actor, Action.FINALIZE, plan)
    _check_may_attach(actor, meeting)
    if plan.finalized_at is not None:
        raise DomainError(_("Version %(version)d is already final.") % {"version": plan.version})
    latest = meeting.plans.aggregate(v=Max("version"))["v"]
    if plan.version != latest:
        raise DomainError(
            _("Version %(latest)d was uploaded since: finalize that one.") % {"latest": latest}
        )
    plan.finalized_at = timezone.now()
    plan.save(update_fields=["finalized_at", "updated_at"])
    audit_record(
        actor=actor,
        action="plan.finalized",
        obj=plan,
        school=meeting.school,
        student=meeting.student,
        after={"version": plan.version, "sha256": plan.sha256},
    )
    plan_deliveries_create(plan=plan)
    return plan


def plan_download_record(*, actor: User, plan: Plan) -> None:
    """34 CFR 300.614: a record of each access to the student's records."""
    audit_record(
        actor=actor,
        action="plan.downloaded",
        obj=plan,
        school=plan.meeting.school,
        student=plan.meeting.student,
        after={"version": plan.version},
    )
