"""Who people are and whom they support: schools, roles, students, guardians,
SECA assignments and schedules, and the audit trail every state change writes."""

import datetime
import functools
import secrets
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.translation import gettext_lazy as _


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def _get_FIELD_display(self, field):
        # What get_kind_display() and the like call. Django builds the field's dict of
        # choices on each call, hashing every label, which translates it (a home page's
        # 32 meeting kinds: about 2 ms); the dict is built once per field here. The labels
        # stay lazy: each is read in the language active when shown.
        value = getattr(self, field.attname)
        return force_str(_choice_labels(field).get(value, value), strings_only=True)


@functools.cache
def _choice_labels(field) -> dict:
    return dict(field.flatchoices)


def current_school_year(today: datetime.date | None = None) -> int:
    """The calendar year a school year starts in: 2026 for 2026-27 (July to June)."""
    today = today or timezone.localdate()
    return today.year if today.month >= 7 else today.year - 1


class UserQuerySet(models.QuerySet):
    def staff_of(self, school):
        return self.filter(Exists(Role.objects.filter(user=OuterRef("pk"), school=school)))

    def active_secas(self, school_id=None):
        """Active people holding a SECA role (at the school): whom training and the
        restraint policy are for."""
        roles = Role.objects.filter(user=OuterRef("pk"), kind=Role.Kind.SECA)
        if school_id is not None:
            roles = roles.filter(school_id=school_id)
        return self.filter(Exists(roles), is_active=True)


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with their email address; roles say what they may do."""

    class Language(models.TextChoices):
        ENGLISH = "en", "English"
        SPANISH = "es", "Español"

    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150)
    phone = models.CharField(max_length=40, blank=True)
    preferred_language = models.CharField(
        max_length=2, choices=Language.choices, default=Language.ENGLISH
    )
    # Private calendar feed: a secret the user can reset.
    calendar_token = models.CharField(max_length=43, unique=True, default=secrets.token_urlsafe)
    is_staff = models.BooleanField(default=False, help_text="May use the Django admin.")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # The person's OneRoster sourcedId: the district's roster import keeps them in step
    # (staff/roster/). None for accounts made by hand or by a parent's invitation.
    sourced_id = models.CharField(max_length=255, unique=True, null=True, blank=True)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name"]

    def __str__(self):
        return self.full_name or self.email

    def get_full_name(self):
        return self.full_name

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email


class School(TimeStamped):
    name = models.CharField(max_length=200)
    code = models.CharField(max_length=20, unique=True, help_text="District school id.")
    timezone = models.CharField(max_length=64, default="America/Chicago")
    address = models.CharField(max_length=300, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    main_office_email = models.EmailField(blank=True)
    # The school's OneRoster org sourcedId (staff/roster/).
    sourced_id = models.CharField(max_length=255, unique=True, null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def tzinfo(self):
        return zoneinfo.ZoneInfo(self.timezone)


class RoleQuerySet(models.QuerySet):
    def at(self, school):
        return self.filter(school=school)


class Role(TimeStamped):
    """A role a person holds at a school; district administrators hold theirs district-wide."""

    class Kind(models.TextChoices):
        SECA = "seca", _("SECA")
        TEACHER = "teacher", _("Teacher")
        CASE_MANAGER = "case_manager", _("Case manager")
        RELATED_SERVICE = "related_service", _("Related-service provider")
        ASSISTANT_PRINCIPAL = "assistant_principal", _("Assistant principal")
        PRINCIPAL = "principal", _("Principal")
        DISTRICT_ADMIN = "district_admin", _("District administrator")
        # The union's representatives check that schools keep to the contract: district-wide
        # measures, nothing that names a student, a parent or a note.
        UNION_REP = "union_rep", _("Union representative")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="roles"
    )
    school = models.ForeignKey(
        School, on_delete=models.CASCADE, null=True, blank=True, related_name="roles"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    # Given by the district's roster import, which removes it when the export no longer
    # says so; a role given by hand is left alone.
    roster_managed = models.BooleanField(default=False)

    objects = RoleQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "school", "kind"], name="role_unique_per_school"
            ),
            models.UniqueConstraint(
                fields=["user", "kind"],
                condition=Q(kind__in=["district_admin", "union_rep"]),
                name="role_one_district_role_per_user",
            ),
            # District-wide roles have no school; every other role has one.
            models.CheckConstraint(
                condition=Q(kind__in=["district_admin", "union_rep"], school__isnull=True)
                | (~Q(kind__in=["district_admin", "union_rep"]) & Q(school__isnull=False)),
                name="role_school_iff_not_district_wide",
            ),
        ]
        indexes = [
            # Staff lists of a school by role (approvers, SECAs free to cover).
            models.Index(fields=["school", "kind"], name="role_school_kind_idx"),
        ]

    def __str__(self):
        where = self.school or "district"
        return f"{self.user} · {self.get_kind_display()} · {where}"


# Contract: the principal's designee is "another CPS employee, such as the assistant
# principal or case manager".
DESIGNEE_KINDS = ("assistant_principal", "case_manager")


class Designation(TimeStamped):
    """A principal's designee: decides SECA attendance requests with the principal's rights."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="designations")
    designee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="designations"
    )
    named_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["school", "designee"], name="designation_unique"),
        ]

    def __str__(self):
        return f"{self.designee} for {self.school}"


SCHOOL_STAFF_KINDS = (
    "teacher",
    "case_manager",
    "related_service",
    "assistant_principal",
    "principal",
)


MINUTES_PER_DAY = 24 * 60


class StudentQuerySet(models.QuerySet):
    def with_ieps(self):
        return self.filter(plan_type=Student.PlanType.IEP)


class Student(TimeStamped):
    class PlanType(models.TextChoices):
        IEP = "iep", _("IEP")
        SECTION_504 = "504", _("504 plan")

    class AideSupport(models.TextChoices):
        """The aide support the student's IEP requires (the roster's iep.csv)."""

        NONE = "none", _("No aide support")
        SHARED = "shared", _("Shared aide")
        ONE_TO_ONE = "one_to_one", _("One-to-one aide")

    class Grade(models.TextChoices):
        PRE_K = "PK", _("Pre-K")
        KINDERGARTEN = "K", _("Kindergarten")
        G1 = "1", "1"
        G2 = "2", "2"
        G3 = "3", "3"
        G4 = "4", "4"
        G5 = "5", "5"
        G6 = "6", "6"
        G7 = "7", "7"
        G8 = "8", "8"
        G9 = "9", "9"
        G10 = "10", "10"
        G11 = "11", "11"
        G12 = "12", "12"
        TRANSITION = "T", _("Transition (18-22)")

    district_student_id = models.CharField(max_length=20, unique=True)
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    date_of_birth = models.DateField(null=True, blank=True)
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="students")
    grade = models.CharField(max_length=2, choices=Grade.choices)
    plan_type = models.CharField(max_length=3, choices=PlanType.choices, default=PlanType.IEP)
    case_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="caseload",
    )
    # 34 CFR 300.324(b): reviewed at least yearly; 300.303: re-evaluated every three years.
    last_iep_date = models.DateField(null=True, blank=True)
    annual_review_due = models.DateField(null=True, blank=True)
    reevaluation_due = models.DateField(null=True, blank=True)
    home_language = models.CharField(max_length=40, default="English")
    interpreter_needed = models.BooleanField(default=False)
    aide_support = models.CharField(
        max_length=10, choices=AideSupport.choices, default=AideSupport.NONE
    )
    # How long the aide support lasts each school day, as the IEP says; None: not recorded.
    aide_minutes_per_day = models.PositiveSmallIntegerField(null=True, blank=True)
    # The day the aide support the IEP requires (shared or 1:1) was last left without a
    # current SECA assignment; None while staffed or not required. Stored, not derived from
    # the last assignment's end: that end says nothing of a student never staffed, nor of
    # support that became required later, and a stored day is one index read per school at
    # district scale (student_unstaffed_idx). Kept by staff.services.students_unstaffed_refresh,
    # which every service that ends or makes assignments calls, and the daily sweep.
    unstaffed_since = models.DateField(null=True, blank=True)
    # The student's OneRoster sourcedId (staff/roster/).
    sourced_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # The day the district's roster stopped listing the student with an IEP (they left the
    # district, or their IEP ended): the record stays, this year's assignments ended then.
    inactive_since = models.DateField(null=True, blank=True)

    objects = StudentQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [
            # A school's roster, alphabetical.
            models.Index(fields=["school", "last_name", "first_name"], name="student_roster_idx"),
            # The case manager's caseload and its due dates.
            models.Index(fields=["case_manager", "annual_review_due"], name="student_caseload_idx"),
            models.Index(fields=["annual_review_due"], name="student_annual_due_idx"),
            models.Index(fields=["reevaluation_due"], name="student_reeval_due_idx"),
            # The district overview counts each school's students with an IEP from the
            # index alone.
            models.Index(
                fields=["school", "id"], condition=Q(plan_type="iep"), name="student_iep_idx"
            ),
            # The administration site's list, a page at a time (its order ends with -id).
            models.Index(fields=["last_name", "first_name", "-id"], name="student_name_idx"),
            # The unstaffed lists and counts: a school's students whose support is unstaffed.
            # With the support kind, the district's counts come from the index alone.
            models.Index(
                fields=["school", "unstaffed_since"],
                include=["aide_support"],
                condition=Q(unstaffed_since__isnull=False),
                name="student_unstaffed_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(aide_minutes_per_day__isnull=True)
                | Q(aide_minutes_per_day__gte=1, aide_minutes_per_day__lte=MINUTES_PER_DAY),
                name="student_aide_minutes_in_a_day",
            ),
        ]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}"

    @property
    def requires_aide(self) -> bool:
        return self.aide_support in AIDE_REQUIRED


# Support that needs a SECA assigned: without one the IEP is not carried out.
AIDE_REQUIRED = (Student.AideSupport.SHARED, Student.AideSupport.ONE_TO_ONE)


class CurrentGuardianManager(models.Manager):
    """Guardians whose relationship to the student has not ended: the only ones any page,
    notice, right or email sees. The rows of ended ones stay, for the history (notices
    they were sent, their answers), reached through `Guardian.all_objects` and relations."""

    def get_queryset(self):
        return super().get_queryset().filter(ended_on__isnull=True)


class Guardian(TimeStamped):
    """A parent or guardian of a student; has an account once invited."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="guardians")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="guardianships",
    )
    full_name = models.CharField(max_length=150)
    relationship = models.CharField(max_length=40, default="Parent")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    preferred_language = models.CharField(
        max_length=2, choices=User.Language.choices, default=User.Language.ENGLISH
    )
    # The parent's OneRoster sourcedId: one row per child, so unique with the student;
    # None (not "") for a guardian added by hand, whom the constraint leaves out.
    sourced_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    # The day the district's roster ended the relationship: from then on the guardian
    # sees nothing of the student and is sent nothing (CurrentGuardianManager).
    ended_on = models.DateField(null=True, blank=True)

    objects = CurrentGuardianManager()
    all_objects = models.Manager()  # noqa: DJ012 (ruff sees the first manager as a field)

    class Meta:
        ordering = ["full_name"]
        indexes = [
            # The administration site's list of current guardians, a page at a time.
            models.Index(
                fields=["full_name", "-id"],
                condition=Q(ended_on__isnull=True),
                name="guardian_current_name_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "user"],
                condition=Q(user__isnull=False),
                name="guardian_one_account_per_student",
            ),
            models.UniqueConstraint(
                fields=["sourced_id", "student"],
                condition=Q(sourced_id__isnull=False),
                name="guardian_sourced_once_per_student",
            ),
        ]

    def __str__(self):
        return f"{self.full_name} ({self.relationship} of {self.student})"


class GuardianInvite(TimeStamped):
    """The only way a parent gets an account: the case manager invites them by email; the
    link (a secret token, valid for a while) lets them set a password and binds the
    account to that child. A family without an email address gets a printed letter
    instead, with a one-time `code` they type at /invite/code/ (then `email` is empty)."""

    guardian = models.ForeignKey(Guardian, on_delete=models.CASCADE, related_name="invites")
    token = models.CharField(max_length=43, unique=True, default=secrets.token_urlsafe)
    email = models.EmailField(blank=True)
    # The letter's code: 10 characters of an alphabet without look-alikes (staff.invites).
    code = models.CharField(max_length=10, unique=True, null=True, blank=True)
    # Sent by the district's "invite every family" after this roster import.
    roster_import = models.ForeignKey(
        "RosterImport", on_delete=models.SET_NULL, null=True, blank=True, related_name="invites"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    # Claimed by the email task under a row lock: a retry never mails the link twice.
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Invite for {self.guardian.full_name} <{self.email}>"


class AssignmentQuerySet(models.QuerySet):
    def current(self, today: datetime.date | None = None, *, school_year: int | None = None):
        """This school year's assignments that have not ended (the student moved school,
        the SECA was reassigned): the school year of `today` unless given."""
        today = today or timezone.localdate()
        return self.filter(
            Q(ended_on__isnull=True) | Q(ended_on__gt=today),
            school_year=current_school_year(today) if school_year is None else school_year,
        )


class Assignment(TimeStamped):
    """Who supports a student in a school year: SECAs, teachers, related services."""

    class Kind(models.TextChoices):
        SECA = "seca", _("SECA")
        TEACHER = "teacher", _("Teacher")
        RELATED_SERVICE = "related_service", _("Related-service provider")

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="assignments")
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    school_year = models.PositiveSmallIntegerField(default=current_school_year)
    detail = models.CharField(
        max_length=80, blank=True, help_text="e.g. 'Speech-language pathologist', '1:1 aide'."
    )
    # Ended before its school year did: from this day on it grants nothing.
    ended_on = models.DateField(null=True, blank=True)
    # Made by the district's roster import (a shared class, a 1:1 aide in iep.csv), which
    # ends it when the export no longer says so; one made by hand is left alone.
    roster_managed = models.BooleanField(default=False)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["student", "staff", "kind", "school_year"], name="assignment_unique"
            ),
        ]
        indexes = [
            # A SECA's students this year (the SECA home page, access checks).
            models.Index(fields=["staff", "school_year", "kind"], name="assignment_staff_idx"),
        ]

    def __str__(self):
        return f"{self.staff} → {self.student} ({self.get_kind_display()}, {self.school_year})"


class ScheduleBlock(TimeStamped):
    """A recurring weekly block of a SECA's day, with the student or group they support."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")

    seca = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="schedule_blocks"
    )
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="schedule_blocks")
    school_year = models.PositiveSmallIntegerField(default=current_school_year)
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts = models.TimeField()
    ends = models.TimeField()
    student = models.ForeignKey(
        Student, on_delete=models.CASCADE, null=True, blank=True, related_name="schedule_blocks"
    )
    group_name = models.CharField(
        max_length=80, blank=True, help_text="The group supported, when not one student."
    )

    class Meta:
        ordering = ["weekday", "starts"]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts__lt=models.F("ends")), name="schedule_block_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(student__isnull=False) | ~Q(group_name=""),
                name="schedule_block_has_student_or_group",
            ),
        ]
        indexes = [
            # Blocks of a SECA overlapping a meeting; SECAs of a school free at a time.
            models.Index(fields=["seca", "school_year", "weekday"], name="block_seca_idx"),
            models.Index(fields=["school", "school_year", "weekday"], name="block_school_idx"),
        ]

    def __str__(self):
        who = self.student or self.group_name
        return f"{self.get_weekday_display()} {self.starts:%H:%M}-{self.ends:%H:%M} {who}"

    @property
    def supports(self):
        return str(self.student) if self.student_id else self.group_name


class StayRequest(TimeStamped):
    """A SECA's request to stay with a student they support this year, or with a classroom
    (a group of their schedule) they work in (contract: "SECAs can request to stay with the
    student or classroom they were previously assigned to"), for the next school year or
    when a reassignment is announced. The principal or a designee of the school decides, as
    for requests to attend; an approved one for a student is honored when that year's
    assignments are made (staff/roster/plan.py); the roster has no classrooms, so one for a
    classroom is listed for the principal to honor by hand (the approval queue)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        DENIED = "denied", _("Denied")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Occasion(models.TextChoices):
        NEXT_YEAR = "next_year", _("For the next school year")
        REASSIGNMENT = "reassignment", _("A reassignment was announced")

    class DenyReason(models.TextChoices):
        STAFFING = "staffing", _("The school's staffing for that year does not allow it")
        STUDENT_NEEDS = "student_needs", _("The student's IEP calls for another kind of support")
        PARENT_ASKED = "parent_asked", _("The parent asked for another SECA")
        OTHER = "other", _("Other")

    OPEN_STATUSES = (Status.PENDING, Status.APPROVED)

    seca = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stay_requests"
    )
    # Exactly one of the two: the student, or the classroom (a ScheduleBlock.group_name).
    student = models.ForeignKey(
        Student, on_delete=models.CASCADE, null=True, blank=True, related_name="stay_requests"
    )
    classroom = models.CharField(max_length=80, blank=True)
    # The student's (or classroom's) school when asked: the school the reports count it for.
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="stay_requests")
    occasion = models.CharField(max_length=12, choices=Occasion.choices)
    # The school year the SECA asks to stay for (2026 for 2026-27).
    school_year = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    note = models.TextField(blank=True)
    # Bumped by every change: of two approvers acting at once exactly one wins.
    version = models.PositiveIntegerField(default=0)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    deny_reason = models.CharField(max_length=16, choices=DenyReason.choices, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["seca", "student", "school_year"],
                condition=Q(status__in=["pending", "approved"]),
                name="stay_request_one_open",
            ),
            models.UniqueConstraint(
                fields=["seca", "school", "classroom", "school_year"],
                condition=Q(status__in=["pending", "approved"], student__isnull=True),
                name="stay_request_one_open_classroom",
            ),
            models.CheckConstraint(
                condition=(Q(student__isnull=False) & Q(classroom=""))
                | (Q(student__isnull=True) & ~Q(classroom="")),
                name="stay_request_student_or_classroom",
            ),
            # A denial carries its reason (as a denied request to attend does).
            models.CheckConstraint(
                condition=~Q(status="denied") | ~Q(deny_reason=""),
                name="stay_request_denial_has_reason",
            ),
        ]
        indexes = [
            # The roster import's approved requests of a year; the reports' counts by school.
            models.Index(fields=["school_year", "status"], name="stay_request_year_idx"),
            models.Index(fields=["school", "created_at"], name="stay_request_school_idx"),
        ]

    def __str__(self):
        return f"{self.seca} stays with {self.subject} ({self.year_label}, {self.status})"

    @property
    def subject(self) -> str:
        """Whom the SECA asks to stay with, as pages and letters name it (in the active
        language): the student's name, or "classroom Room 12"."""
        if self.student_id is None:
            return _("classroom %(name)s") % {"name": self.classroom}
        return self.student.full_name

    @property
    def year_label(self) -> str:
        """The school year as schools name it: "2026-27"."""
        return f"{self.school_year}-{(self.school_year + 1) % 100:02d}"

    def deny_reasons(self) -> list[tuple[str, str]]:
        """The reasons that fit: a classroom has no IEP and no parent to ask."""
        about_a_student = {self.DenyReason.STUDENT_NEEDS, self.DenyReason.PARENT_ASKED}
        return [
            (value, label)
            for value, label in self.DenyReason.choices
            if self.student_id or value not in about_a_student
        ]


# The stay request's state machine: action -> {from status: to status}, the same shape as
# meetings.models.REQUEST_TRANSITIONS. A decision may be changed while the year it is for
# has not begun; each change is recorded.
_Stay = StayRequest.Status
STAY_TRANSITIONS = {
    "submit": {None: _Stay.PENDING},
    "withdraw": {_Stay.PENDING: _Stay.WITHDRAWN},
    "approve": {_Stay.PENDING: _Stay.APPROVED, _Stay.DENIED: _Stay.APPROVED},
    "deny": {_Stay.PENDING: _Stay.DENIED, _Stay.APPROVED: _Stay.DENIED},
}


class AuditEvent(models.Model):
    """Who did what, when, from where, before and after: every state change and every view
    of a student's record (34 CFR 300.614), and refused attempts on a record (`denied`)."""

    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=40)
    school = models.ForeignKey(
        School, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Read by audit_student_idx (student, -at): every view of a record writes a row here, and
    # an index of the student alone was one more to write with each.
    student = models.ForeignKey(
        Student, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    # The client's address; empty for background jobs and commands.
    ip = models.GenericIPAddressField(null=True, blank=True)
    # An attempt on a record the person may not see or act on: refused, and recorded.
    denied = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at"]
        indexes = [
            # The record-access log of one student; the history of one object.
            models.Index(fields=["student", "-at"], name="audit_student_idx"),
            models.Index(fields=["object_type", "object_id", "-at"], name="audit_object_idx"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_type}#{self.object_id}"


class OutgoingEmail(models.Model):
    """One email the app sends, of any kind (a notification, a notice of meeting, a
    reminder, a copy of the plan, a guardian's invitation): recorded in the transaction of
    the change that causes it, then sent by staff.outbox, which claims the row, renders and
    sends the message outside any transaction or lock, and marks it sent. `source_id` is the
    row of its kind it is about; the kind's renderer builds the message from it when it
    goes, in the recipient's language, or finds there is nothing left to say."""

    kind = models.CharField(max_length=40)
    source_id = models.BigIntegerField()
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # When it was last handed to the broker: the requeue sweep stamps it, so a message the
    # broker lost is queued again once per period, not on every sweep.
    queued_at = models.DateTimeField(default=timezone.now)
    # A sender holds the row until then; a sender killed mid-send loses it when it passes.
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Done without an email: nothing left to say (the reminder became moot), no address.
    skipped = models.BooleanField(default=False)
    # What went, as it went.
    to = models.EmailField(blank=True)
    subject = models.CharField(max_length=300, blank=True)
    language = models.CharField(max_length=8, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            # One email per source row: recording it twice records it once.
            models.UniqueConstraint(fields=["kind", "source_id"], name="email_once_per_source"),
        ]
        indexes = [
            # The requeue sweep: unsent emails queued long ago.
            models.Index(
                fields=["queued_at"], condition=Q(sent_at__isnull=True), name="email_unsent_idx"
            ),
        ]

    def __str__(self):
        return f"{self.kind} #{self.source_id} to {self.recipient_id}"


class RosterImport(TimeStamped):
    """One OneRoster export brought in (staff/roster/, README "Roster import"): uploaded by
    a district administrator, checked (the dry run: what would change, or every problem),
    confirmed, then applied by a Celery job; or run by `manage.py import_roster`."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Checking")
        DRY_RUN_DONE = "dry_run_done", _("Checked: waiting for confirmation")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Refused")

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The export (a .zip), stored privately like the plans; empty for a command's run,
    # which names its path in `source`.
    file = models.FileField(upload_to="roster/%Y/%m/", blank=True)
    source = models.CharField(max_length=300, blank=True)
    version = models.CharField(max_length=8, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    # A job holds the row until then (a worker killed mid-run loses it when it passes).
    claimed_until = models.DateTimeField(null=True, blank=True)
    # {"phase": ..., "file": ..., "rows": n}: what the job is doing, for the progress page.
    progress = models.JSONField(default=dict, blank=True)
    # {"read": {file: rows}, "changes": {kind: {created, updated, deactivated}}}: the dry
    # run's, then the import's.
    summary = models.JSONField(default=dict, blank=True)
    # Why the export was refused: "file:line: column: message" each.
    problems = models.JSONField(default=list, blank=True)
    # What was read but left aside (not refusing the import).
    notes = models.JSONField(default=list, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # "Invite every family" was asked for, after this import.
    invites_requested_at = models.DateTimeField(null=True, blank=True)
    invites_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # {"invited": n, "letters": n, "skipped": n}: what "invite every family" did.
    invites_summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Roster import #{self.pk} ({self.status})"

    @property
    def in_progress(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.RUNNING)


# --- Training and the restraint and time-out policy (contract, README "Training") --------


def school_year_start(year: int) -> datetime.date:
    """The first day of the school year that starts in `year` (July 1, as current_school_year)."""
    return datetime.date(year, 7, 1)


class Training(TimeStamped):
    """A training the district requires of its SECAs: once (the new-SECA curriculum, the
    restraint and time-out training) or every school year (de-escalation)."""

    class Recurrence(models.TextChoices):
        ONCE = "once", _("Once")
        YEARLY = "yearly", _("Every school year")

    # What the district's CSV of completions names it by.
    code = models.SlugField(max_length=40, unique=True)
    # As the district wrote it; the seeded trainings show their translated NAMES.
    name = models.CharField(max_length=200)
    recurrence = models.CharField(max_length=6, choices=Recurrence.choices)
    # Once: the day it is due. Every school year: its month and day, in each school year.
    due_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        return str(TRAINING_NAMES.get(self.code, self.name))

    def due_in(self, year: int) -> datetime.date | None:
        """The day it is due in the school year starting in `year` (None: no due date)."""
        if self.due_on is None or self.recurrence == self.Recurrence.ONCE:
            return self.due_on
        start = school_year_start(year)
        due = self.due_on.replace(year=year)
        return due if due >= start else due.replace(year=year + 1)

    def counts_from(self, year: int) -> datetime.date | None:
        """The first day a completion counts for the school year starting in `year`."""
        return school_year_start(year) if self.recurrence == self.Recurrence.YEARLY else None


# The trainings the contract names (seeded by migration 0007), shown in the reader's language.
TRAINING_NAMES = {
    "de-escalation-practices": _("De-escalation practices"),
    "iep-procedures": _("An overview of IEP procedures"),
    "variety-of-disabilities": _("Working with students with a variety of disabilities"),
    "lifting-positioning": _("Lifting and positioning non-ambulatory students"),
    "personal-care": _("Personal care"),
    "reinforcing-instruction": _("Reinforcing instruction"),
    "annual-de-escalation": _("Annual de-escalation training"),
    "restraint-time-out": _("Physical restraint and time-out"),
}


class TrainingCompletion(TimeStamped):
    """A SECA completed a training on a day: recorded by their school or imported by the
    district."""

    class Source(models.TextChoices):
        SCHOOL = "school", _("Recorded by the school")
        IMPORT = "import", _("Imported by the district")

    seca = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_completions"
    )
    training = models.ForeignKey(Training, on_delete=models.PROTECT, related_name="completions")
    completed_on = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The school that recorded it; None for the district's import.
    school = models.ForeignKey(
        School, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=6, choices=Source.choices)

    class Meta:
        ordering = ["-completed_on"]
        indexes = [
            # The administration site's list, latest first, a page at a time.
            models.Index(fields=["-completed_on", "-id"], name="training_completion_latest_idx"),
        ]
        constraints = [
            # Importing the same file twice records each completion once.
            models.UniqueConstraint(
                fields=["seca", "training", "completed_on"], name="training_completion_once"
            ),
        ]
        # The unique constraint's index serves "has this SECA done it since...".

    def __str__(self):
        return f"{self.seca} · {self.training} · {self.completed_on}"


class TrainingReminder(models.Model):
    """A reminder claimed by the sweep: one per SECA, training, due date and step, so a
    sweep run twice sends nothing twice (staff/training.py)."""

    class Step(models.TextChoices):
        DAYS_30 = "30d", _("30 days before")
        DAYS_7 = "7d", _("7 days before")
        OVERDUE = "overdue", _("Overdue")

    seca = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    training = models.ForeignKey(Training, on_delete=models.CASCADE, related_name="+")
    due_on = models.DateField()
    step = models.CharField(max_length=8, choices=Step.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["seca", "training", "due_on", "step"], name="training_reminder_once"
            ),
        ]

    def __str__(self):
        return f"{self.training} {self.step} → {self.seca_id}"


class RestraintPolicyQuerySet(models.QuerySet):
    def current(self, today: datetime.date | None = None):
        """This school year's policy: the latest uploaded for it, or None."""
        return (
            self.filter(school_year=current_school_year(today))
            .order_by("-created_at", "-pk")
            .first()
        )


class RestraintPolicy(TimeStamped):
    """The district's restraint and time-out policy of a school year (a PDF), "made
    available electronically to SECAs at the beginning of each school year" (contract). A
    corrected version is a new row: every SECA receives and acknowledges it again."""

    school_year = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    # Stored privately like the plans; served only by a view that checks access.
    file = models.FileField(upload_to="policies/")
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    objects = RestraintPolicyQuerySet.as_manager()

    class Meta:
        ordering = ["-school_year", "-created_at"]
        indexes = [
            # The current year's policy (RestraintPolicyQuerySet.current).
            models.Index(fields=["school_year", "-created_at"], name="policy_year_idx"),
        ]

    def __str__(self):
        return self.title

    @property
    def school_year_label(self) -> str:
        return f"{self.school_year}-{(self.school_year + 1) % 100:02d}"


class PolicyCopy(TimeStamped):
    """The policy as one SECA received it: emailed (sent_at), and opened (acknowledged_at,
    the first time they open its page or file)."""

    policy = models.ForeignKey(RestraintPolicy, on_delete=models.CASCADE, related_name="copies")
    seca = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="policy_copies"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["policy", "seca"], name="policy_copy_once"),
        ]

    def __str__(self):
        return f"{self.policy} → {self.seca}"
