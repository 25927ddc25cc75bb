"""Reads of the staff app's pages that take more than one query: the record-access log of a
student (34 CFR 300.614) and a school's list of who may see its records (300.623(d))."""

import dataclasses
import datetime
from collections import defaultdict
from typing import NamedTuple

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from iepcoord.figures import figures

from .audit import purpose_of
from .models import AuditEvent, Designation, Guardian, Role, School, Student

ACCESS_LOG_PAGE_SIZE = 50
# The district's tables of schools hold this many a page (a district has hundreds); their
# totals count every school.
SCHOOLS_PER_PAGE = 50


def page_of_schools(rows, number) -> Page:
    """One page of a district's table of schools: `rows` (a list or a queryset) in order."""
    return Paginator(rows, SCHOOLS_PER_PAGE).get_page(number)


class SchoolFamilies(NamedTuple):
    pk: int
    name: str
    total: int  # families (guardianships) of the school's current students
    with_account: int

    @property
    def waiting(self) -> int:
        return self.total - self.with_account


@dataclasses.dataclass(frozen=True)
class DistrictFamilies:
    schools: list[SchoolFamilies]  # by name
    counted_at: datetime.datetime


DISTRICT_FAMILIES_KEY = "roster:families"


def district_families() -> DistrictFamilies:
    """Every school's families and those with an account, counted at most once every
    FIGURES_CACHE_SECONDS (the district's 80,000 guardianships: one grouped pass, about
    30 ms in PostgreSQL, where a page of 50 schools took 12); the page says when. An
    import counts again at the next view. Two queries when counted, none otherwise."""

    def count() -> DistrictFamilies:
        counts = {
            row["student__school_id"]: row
            for row in Guardian.objects.filter(student__inactive_since__isnull=True)
            .order_by()
            .values("student__school_id")
            .annotate(total=Count("pk"), with_account=Count("user_id"))
        }
        empty = {"total": 0, "with_account": 0}
        schools = []
        for pk, name in School.objects.order_by("name").values_list("pk", "name"):
            row = counts.get(pk, empty)
            schools.append(SchoolFamilies(pk, name, row["total"], row["with_account"]))
        return DistrictFamilies(schools, timezone.now())

    return figures(DISTRICT_FAMILIES_KEY, count)


@dataclasses.dataclass(frozen=True)
class AccessLogEntry:
    event: AuditEvent
    who: str
    role: str
    purpose: str


def student_access_log(*, student: Student, page_number) -> Page:
    """One page of who viewed or changed the student's record, newest first, each with the
    person's role toward the student and the purpose. Four queries: the count, the page,
    the actors' roles, the actors who are the student's guardians."""
    events = (
        AuditEvent.objects.filter(student=student).select_related("actor").order_by("-at", "-pk")
    )
    # Counted apart: a window count would read every event of a busy student before the
    # newest 50, which the index gives first.
    page = Paginator(events, ACCESS_LOG_PAGE_SIZE).get_page(page_number)
    actor_ids = {event.actor_id for event in page.object_list if event.actor_id}
    roles = defaultdict(list)
    for role in Role.objects.filter(
        Q(school=student.school_id) | Q(kind=Role.Kind.DISTRICT_ADMIN), user_id__in=actor_ids
    ).order_by("kind"):
        roles[role.user_id].append(role.get_kind_display())
    guardians = set(
        Guardian.objects.filter(student=student, user_id__in=actor_ids).values_list(
            "user_id", flat=True
        )
    )
    entries = []
    for event in page.object_list:
        if event.actor_id is None:
            who, role = _("iepcoord (automatic)"), ""
        else:
            who = event.actor.full_name or event.actor.email
            held = list(roles.get(event.actor_id, []))
            if event.actor_id in guardians:
                held.append(_("Parent or guardian"))
            role = ", ".join(str(r) for r in held) or _("No current role with this student")
        entries.append(AccessLogEntry(event=event, who=who, role=role, purpose=purpose_of(event)))
    page.object_list = entries
    return page


@dataclasses.dataclass(frozen=True)
class AccessListEntry:
    name: str
    position: str
    scope: str


def school_access_list(*, school: School) -> list[AccessListEntry]:
    """The employees who may see the school's students' records, with their positions and
    how far their access goes (staff/access.py is the rule). Two queries."""
    designees = set(Designation.objects.filter(school=school).values_list("designee_id", flat=True))
    rows = (
        Role.objects.filter(
            Q(school=school) | Q(kind=Role.Kind.DISTRICT_ADMIN), user__is_active=True
        )
        .select_related("user")
        .order_by("kind", "user__full_name", "pk")
    )
    scopes = {
        Role.Kind.DISTRICT_ADMIN: _("Every student of the district"),
        Role.Kind.SECA: _("Only the students assigned to them this school year"),
        Role.Kind.CASE_MANAGER: _(
            "Every student of the school; manages the meetings of their caseload"
        ),
        Role.Kind.PRINCIPAL: _("Every student of the school; manages every meeting"),
    }
    entries = []
    for role in rows:
        position = role.get_kind_display()
        if (
            role.user_id in designees
            and role.school_id == school.pk
            and role.kind
            in (
                Role.Kind.ASSISTANT_PRINCIPAL,
                Role.Kind.CASE_MANAGER,
            )
        ):
            position = _("%(position)s, principal's designee") % {"position": position}
        entries.append(
            AccessListEntry(
                name=role.user.full_name,
                position=str(position),
                scope=str(scopes.get(role.kind, _("Every student of the school"))),
            )
        )
    return entries
