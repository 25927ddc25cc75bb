"""The Django admin. Workflow records are read-only here: their state changes only through
the services, which check the transition and audit. What stays editable (schools, people,
roles, students, guardians, assignments, schedules) is audited like any other change, and
opening a student's record is audited as a read (34 CFR 300.614)."""

from allauth.account.decorators import secure_admin_login
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection, models, router, transaction
from django.urls import reverse
from django.utils.functional import cached_property

from .audit import audit_record
from .models import (
    Assignment,
    AuditEvent,
    Designation,
    Guardian,
    GuardianInvite,
    OutgoingEmail,
    PolicyCopy,
    RestraintPolicy,
    Role,
    RosterImport,
    ScheduleBlock,
    School,
    StayRequest,
    Student,
    Training,
    TrainingCompletion,
    TrainingReminder,
    User,
)
from .services import DomainError, student_transfer

# The admin login gets allauth's rate limits too.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "iepcoord administration"

# Never written to the audit trail: a password hash, the calendar feed's and an
# invitation's secret tokens (the password forms' own fields are not model fields).
SECRET_FIELDS = frozenset({"password", "calendar_token", "token"})


class LargeTablePaginator(Paginator):
    """An unfiltered list of a table with more than ESTIMATE_ABOVE rows is counted from
    PostgreSQL's statistics: COUNT(*) over millions of audit rows takes seconds."""

    ESTIMATE_ABOVE = 100_000

    @cached_property
    def count(self):
        query = self.object_list.query
        if connection.vendor == "postgresql" and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [self.object_list.model._meta.db_table],
                )
                estimate = cursor.fetchone()[0]
            if estimate > self.ESTIMATE_ABOVE:
                return estimate
        return super().count


class FastListAdmin(admin.ModelAdmin):
    """List pages stay fast on district-sized tables: no full COUNT(*) on filtered lists,
    an estimated count on huge unfiltered ones, related rows joined, foreign keys picked
    by id or autocomplete instead of <select>."""

    show_full_result_count = False
    list_per_page = 50
    paginator = LargeTablePaginator


class ReadOnlyAdmin:
    """Listed, searched and opened, never added, changed or deleted here: the record's
    state changes only through its service, which checks the transition and audits."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _as_text(value):
    """A field's value for the audit trail's JSON: a record by its id, a set of records as
    their ids, anything else as its string."""
    if value is None:
        return None
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, list | tuple | set | frozenset | models.QuerySet):
        return ", ".join(sorted(_as_text(item) for item in value))
    return str(value)


def _record_values(obj) -> dict:
    """Every stored field of a record (what a deletion loses), secrets left out."""
    return {
        field.name: _as_text(field.value_from_object(obj))
        for field in obj._meta.concrete_fields
        if field.name not in SECRET_FIELDS
    }


def _form_values(form, *, added: bool, skip=()) -> tuple[dict, dict]:
    """Before and after of the record's fields a form changed (all of them for an addition),
    secrets left out."""
    model_fields = {
        field.name
        for field in form.instance._meta.get_fields()
        if field.concrete or field.many_to_many
    }
    names = [
        name
        for name in (form.fields if added else form.changed_data)
        if name in model_fields and name not in SECRET_FIELDS and name not in skip
    ]
    before = {} if added else {name: _as_text(form.initial.get(name)) for name in names}
    return before, {name: _as_text(form.cleaned_data.get(name)) for name in names}


def _follow(obj, path: str | None):
    if path is None:
        return None
    for name in path.split("__") if path else ():
        if obj is None:
            break
        obj = getattr(obj, name)
    return obj


class AuditedAdmin:
    """Writes the audit trail for the admin: an opened record of a student ("admin.viewed";
    list pages are not audited per row), and every addition, change and deletion, inline
    rows included ("admin.added", "admin.changed", "admin.deleted"), with the client's IP.

    `student_path` and `school_path` lead from a record to the student and the school it
    belongs to ("" is the record itself, None is none); the detail page joins them, so its
    audit costs one INSERT. A DomainError raised by a service while saving rolls the whole
    save back (changeform_view is atomic on POST) and shows on the form."""

    student_path: str | None = None
    school_path: str | None = None

    def _owner_joins(self) -> list[str]:
        return [path for path in (self.student_path, self.school_path) if path]

    def _owners_of(self, obj):
        """The school and the student a record belongs to, as its registered admin says."""
        model_admin = self
        if not isinstance(obj, self.model):
            try:
                model_admin = self.admin_site.get_model_admin(type(obj))
            except NotRegistered:
                return None, None
        school_path = getattr(model_admin, "school_path", None)
        student_path = getattr(model_admin, "student_path", None)
        return _follow(obj, school_path), _follow(obj, student_path)

    def _audit(self, request, action, obj, *, before=None, after=None):
        school, student = self._owners_of(obj)
        audit_record(
            actor=request.user,
            action=action,
            obj=obj,
            school=school,
            student=student,
            before=before,
            after=after,
        )

    def get_object(self, request, object_id, from_field=None):
        # ModelAdmin.get_object, with the record's student and school joined (the list
        # pages' queryset stays as it was).
        queryset = self.get_queryset(request).select_related(*self._owner_joins())
        field = self.opts.pk if from_field is None else self.opts.get_field(from_field)
        try:
            return queryset.get(**{field.name: field.to_python(object_id)})
        except (self.model.DoesNotExist, ValidationError, ValueError):
            return None

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if change and obj is not None and request.method == "GET":
            school, student = self._owners_of(obj)
            if student is not None:
                audit_record(
                    actor=request.user,
                    action="admin.viewed",
                    obj=obj,
                    school=school,
                    student=student,
                )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as refusal:
            # The POST's transaction rolled back everything the first pass saved. The same
            # POST is shown again, with the refusal as the form's error (get_form).
            request.admin_refusal = refusal
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        refusal = getattr(request, "admin_refusal", None)
        if refusal is None:
            return form_class

        class RefusedForm(form_class):
            def clean(self):
                cleaned_data = super().clean()
                refusal.add_to(self)
                return cleaned_data

        return RefusedForm

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self.audit_form(request, obj, form, change)

    def audit_form(self, request, obj, form, change, *, skip=()):
        before, after = _form_values(form, added=not change, skip=skip)
        if change and not after:
            return  # only inline rows changed: they are audited one by one
        self._audit(
            request, "admin.changed" if change else "admin.added", obj, before=before, after=after
        )

    def save_formset(self, request, form, formset, change):
        # Before saving: a deleted row loses its id, a saved one its "adding" state.
        deleting = formset.deleted_forms
        edited = [
            (row, row.instance._state.adding)
            for row in formset.forms
            if row not in deleting and row.has_changed()
        ]
        for row in deleting:
            if row.instance.pk is not None:  # a new row ticked "delete" is never saved
                self._audit(
                    request, "admin.deleted", row.instance, before=_record_values(row.instance)
                )
        super().save_formset(request, form, formset, change)
        for row, added in edited:
            before, after = _form_values(row, added=added)
            self._audit(
                request,
                "admin.added" if added else "admin.changed",
                row.instance,
                before=before,
                after=after,
            )

    def delete_model(self, request, obj):
        # Audited first: a deleted record has no id left to name.
        self._audit(request, "admin.deleted", obj, before=_record_values(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        # The "delete selected" action is not atomic by itself.
        with transaction.atomic(using=router.db_for_write(self.model)):
            for obj in queryset.select_related(*self._owner_joins()):
                self._audit(request, "admin.deleted", obj, before=_record_values(obj))
            super().delete_queryset(request, queryset)


class RoleInline(admin.TabularInline):
    model = Role
    extra = 0
    autocomplete_fields = ["school"]


@admin.register(User)
class UserAdmin(AuditedAdmin, BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff"]
    list_filter = ["is_active", "is_staff", "roles__kind"]
    search_fields = ["email", "full_name"]
    show_full_result_count = False
    inlines = [RoleInline]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["full_name", "phone", "preferred_language"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]}),
    ]

    def user_change_password(self, request, id, form_url=""):
        with transaction.atomic(using=router.db_for_write(self.model)):
            response = super().user_change_password(request, id, form_url)
            # Set: the view sends the administrator to the user's page (a refused
            # submission comes back to the password form).
            done = reverse(f"{self.admin_site.name}:staff_user_change", args=[unquote(id)])
            if request.method == "POST" and getattr(response, "url", None) == done:
                # That it changed, never the hash.
                self._audit(
                    request,
                    "admin.changed",
                    self.get_object(request, unquote(id)),
                    after={"password": "changed"},
                )
        return response


@admin.register(School)
class SchoolAdmin(AuditedAdmin, FastListAdmin):
    list_display = ["name", "code", "phone", "timezone"]
    list_filter = ["timezone"]
    search_fields = ["name", "code"]
    school_path = ""


@admin.register(Role)
class RoleAdmin(AuditedAdmin, FastListAdmin):
    list_display = ["user", "kind", "school"]
    list_filter = ["kind"]
    list_select_related = ["user", "school"]
    search_fields = ["user__email", "user__full_name", "school__name"]
    autocomplete_fields = ["user", "school"]
    school_path = "school"


@admin.register(Designation)
class DesignationAdmin(ReadOnlyAdmin, FastListAdmin):
    """Principals name their designees on their own page (designation_add/remove)."""

    list_display = ["designee", "school", "named_by", "created_at"]
    date_hierarchy = "created_at"
    list_select_related = ["designee", "school", "named_by"]
    search_fields = ["designee__email", "designee__full_name", "school__name"]
    autocomplete_fields = ["designee", "school", "named_by"]


class GuardianInline(admin.TabularInline):
    model = Guardian
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Student)
class StudentAdmin(AuditedAdmin, FastListAdmin):
    list_display = [
        "district_student_id",
        "last_name",
        "first_name",
        "school",
        "grade",
        "plan_type",
        "annual_review_due",
        "reevaluation_due",
    ]
    list_filter = ["plan_type", "grade", "interpreter_needed"]
    list_select_related = ["school"]
    search_fields = ["district_student_id", "last_name", "first_name"]
    autocomplete_fields = ["school", "case_manager"]
    date_hierarchy = "annual_review_due"
    inlines = [GuardianInline]
    student_path = ""
    school_path = "school"

    def save_model(self, request, obj, form, change):
        if not (change and "school" in form.changed_data):
            return super().save_model(request, obj, form, change)
        # A move to another school goes through the transfer, as anywhere else: this
        # year's assignments end, a case manager without that role there is cleared, and it
        # is audited as "student.transferred". The form's other fields are saved after it.
        moved = student_transfer(actor=request.user, student=obj, school=obj.school)
        if "case_manager" not in form.changed_data:
            obj.case_manager_id = moved.case_manager_id
        obj.save()
        self.audit_form(request, obj, form, change, skip={"school"})


@admin.register(Guardian)
class GuardianAdmin(AuditedAdmin, FastListAdmin):
    list_display = ["full_name", "relationship", "student", "email", "preferred_language"]
    list_filter = ["preferred_language"]
    list_select_related = ["student"]
    search_fields = ["full_name", "email", "student__last_name", "student__district_student_id"]
    autocomplete_fields = ["student", "user"]
    student_path = "student"
    school_path = "student__school"


@admin.register(GuardianInvite)
class GuardianInviteAdmin(ReadOnlyAdmin, AuditedAdmin, FastListAdmin):
    list_display = ["guardian", "email", "invited_by", "created_at", "expires_at", "accepted_at"]
    list_filter = [("accepted_at", admin.EmptyFieldListFilter)]
    # A guardian is named with their student (Guardian.__str__).
    list_select_related = ["guardian__student", "invited_by"]
    # Newest first by id (the order they were made): the primary key's index, no sort.
    ordering = ["-id"]
    search_fields = ["email", "guardian__full_name", "guardian__student__district_student_id"]
    raw_id_fields = ["guardian", "invited_by"]
    # The token is a secret: never shown, never edited by hand.
    exclude = ["token", "code"]
    student_path = "guardian__student"
    school_path = "guardian__student__school"


@admin.register(Assignment)
class AssignmentAdmin(AuditedAdmin, FastListAdmin):
    list_display = ["staff", "kind", "student", "school_year"]
    list_filter = ["kind", "school_year"]
    list_select_related = ["staff", "student"]
    search_fields = [
        "staff__email",
        "staff__full_name",
        "student__last_name",
        "student__district_student_id",
    ]
    autocomplete_fields = ["staff", "student"]
    student_path = "student"
    school_path = "student__school"


@admin.register(StayRequest)
class StayRequestAdmin(AuditedAdmin, FastListAdmin):
    list_display = ["seca", "student", "classroom", "school_year", "status", "decided_by"]
    list_filter = ["status", "occasion", "school_year"]
    list_select_related = ["seca", "student", "decided_by"]
    search_fields = ["seca__email", "seca__full_name", "student__last_name", "classroom"]
    autocomplete_fields = ["seca", "student", "school", "decided_by"]
    student_path = "student"
    # The school asked of: a classroom's request has no student.
    school_path = "school"


@admin.register(ScheduleBlock)
class ScheduleBlockAdmin(AuditedAdmin, FastListAdmin):
    list_display = ["seca", "weekday", "starts", "ends", "student", "group_name", "school"]
    ordering = ["-id"]  # newest first, from the primary key's index (no sort of 165,000)
    list_filter = ["weekday", "school_year"]
    list_select_related = ["seca", "student", "school"]
    search_fields = ["seca__email", "seca__full_name", "student__last_name", "group_name"]
    autocomplete_fields = ["seca", "student", "school"]
    student_path = "student"
    school_path = "school"


class ObjectTypeFilter(admin.SimpleListFilter):
    """The audit trail by kind of record. Its choices come from the models, not from a
    SELECT DISTINCT over millions of audit rows."""

    title = "record"
    parameter_name = "object_type"

    def lookups(self, request, model_admin):
        record_models = [
            *apps.get_app_config("staff").get_models(),
            *apps.get_app_config("meetings").get_models(),
        ]
        return sorted((m._meta.model_name, m._meta.verbose_name) for m in record_models)

    def queryset(self, request, queryset):
        return queryset.filter(object_type=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin, FastListAdmin):
    """The audit trail is append-only, even for administrators."""

    list_display = ["at", "actor", "action", "object_type", "object_id", "school"]
    list_filter = [ObjectTypeFilter]
    list_select_related = ["actor", "school"]
    # Newest first by id, which follows the time of writing: the primary key's index reads
    # the latest 50 of a million events ("at" has no index of its own to sort by).
    ordering = ["-id"]
    # "=" lookups use the indexes (object, student) instead of scanning with LIKE.
    search_fields = ["=actor__email", "=object_id", "=student__district_student_id", "=action"]


@admin.register(RosterImport)
class RosterImportAdmin(ReadOnlyAdmin, FastListAdmin):
    """The history of roster imports; they change only through staff/roster/jobs.py (the
    district administrators' pages, the nightly command)."""

    list_display = ["created_at", "source", "version", "status", "uploaded_by", "finished_at"]
    list_filter = ["status", "version"]
    list_select_related = ["uploaded_by"]
    search_fields = ["source", "=uploaded_by__email"]
    exclude = ["file"]


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(ReadOnlyAdmin, FastListAdmin):
    """The outbox: what went, what waits, and why one failed (last_error). An email that
    reached MAX_ATTEMPTS is no longer queued again: it waits here for a person."""

    list_display = ["kind", "source_id", "to", "subject", "created_at", "sent_at", "attempts"]
    list_filter = ["kind", ("sent_at", admin.EmptyFieldListFilter), "skipped"]
    list_select_related = ["recipient"]
    search_fields = ["=to", "=recipient__email", "=source_id"]
    raw_id_fields = ["recipient"]


# Training and the restraint policy (staff/training.py, staff/policy.py): the district
# defines its trainings here; completions, reminders, policies and copies change only
# through their pages and sweeps.


@admin.register(Training)
class TrainingAdmin(AuditedAdmin, FastListAdmin):
    list_display = ["name", "code", "recurrence", "due_on"]
    list_filter = ["recurrence"]
    search_fields = ["name", "=code"]


@admin.register(TrainingCompletion)
class TrainingCompletionAdmin(ReadOnlyAdmin, FastListAdmin):
    list_display = ["seca", "training", "completed_on", "source", "recorded_by", "school"]
    list_filter = ["source", "training"]
    list_select_related = ["seca", "training", "recorded_by", "school"]
    search_fields = ["=seca__email", "seca__full_name"]
    school_path = "school"


@admin.register(TrainingReminder)
class TrainingReminderAdmin(ReadOnlyAdmin, FastListAdmin):
    list_display = ["seca", "training", "due_on", "step", "created_at"]
    list_filter = ["step", "training"]
    list_select_related = ["seca", "training"]
    search_fields = ["=seca__email"]


@admin.register(RestraintPolicy)
class RestraintPolicyAdmin(ReadOnlyAdmin, FastListAdmin):
    list_display = ["title", "school_year", "uploaded_by", "created_at"]
    list_filter = ["school_year"]
    list_select_related = ["uploaded_by"]
    search_fields = ["title"]
    exclude = ["file"]


@admin.register(PolicyCopy)
class PolicyCopyAdmin(ReadOnlyAdmin, FastListAdmin):
    list_display = ["policy", "seca", "sent_at", "acknowledged_at"]
    list_filter = ["policy", ("acknowledged_at", admin.EmptyFieldListFilter)]
    list_select_related = ["policy", "seca"]
    search_fields = ["=seca__email", "seca__full_name"]
