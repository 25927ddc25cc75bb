from allauth.account.decorators import secure_admin_login
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property

from .models import (
    Assignment,
    AuditEvent,
    Designation,
    Guardian,
    GuardianInvite,
    Role,
    ScheduleBlock,
    School,
    Student,
    User,
)

# The admin login gets allauth's rate limits too.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "iepcoord administration"


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


class RoleInline(admin.TabularInline):
    model = Role
    extra = 0
    autocomplete_fields = ["school"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
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


@admin.register(School)
class SchoolAdmin(FastListAdmin):
    list_display = ["name", "code", "phone", "timezone"]
    list_filter = ["timezone"]
    search_fields = ["name", "code"]


@admin.register(Role)
class RoleAdmin(FastListAdmin):
    list_display = ["user", "kind", "school"]
    list_filter = ["kind"]
    list_select_related = ["user", "school"]
    search_fields = ["user__email", "user__full_name", "school__name"]
    autocomplete_fields = ["user", "school"]


@admin.register(Designation)
class DesignationAdmin(FastListAdmin):
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
class StudentAdmin(FastListAdmin):
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


@admin.register(Guardian)
class GuardianAdmin(FastListAdmin):
    list_display = ["full_name", "relationship", "student", "email", "preferred_language"]
    list_filter = ["preferred_language"]
    list_select_related = ["student"]
    search_fields = ["full_name", "email", "student__last_name", "student__district_student_id"]
    autocomplete_fields = ["student", "user"]


@admin.register(GuardianInvite)
class GuardianInviteAdmin(FastListAdmin):
    list_display = ["guardian", "email", "invited_by", "created_at", "expires_at", "accepted_at"]
    list_filter = [("accepted_at", admin.EmptyFieldListFilter)]
    list_select_related = ["guardian", "invited_by"]
    search_fields = ["email", "guardian__full_name", "guardian__student__district_student_id"]
    raw_id_fields = ["guardian", "invited_by"]
    # The token is a secret: never shown, never edited by hand.
    exclude = ["token"]


@admin.register(Assignment)
class AssignmentAdmin(FastListAdmin):
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


@admin.register(ScheduleBlock)
class ScheduleBlockAdmin(FastListAdmin):
    list_display = ["seca", "weekday", "starts", "ends", "student", "group_name", "school"]
    list_filter = ["weekday", "school_year"]
    list_select_related = ["seca", "student", "school"]
    search_fields = ["seca__email", "seca__full_name", "student__last_name", "group_name"]
    autocomplete_fields = ["seca", "student", "school"]


class ObjectTypeFilter(admin.SimpleListFilter):
    """The audit trail by kind of record. Its choices come from the models, not from a
    SELECT DISTINCT over millions of audit rows."""

    title = "record"
    parameter_name = "object_type"

    def lookups(self, request, model_admin):
        models = [
            *apps.get_app_config("staff").get_models(),
            *apps.get_app_config("meetings").get_models(),
        ]
        return sorted((m._meta.model_name, m._meta.verbose_name) for m in models)

    def queryset(self, request, queryset):
        return queryset.filter(object_type=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(FastListAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_id", "school"]
    list_filter = [ObjectTypeFilter]
    list_select_related = ["actor", "school"]
    # "=" lookups use the indexes (object, student) instead of scanning with LIKE.
    search_fields = ["=actor__email", "=object_id", "=student__district_student_id", "=action"]

    # The audit trail is append-only, even for administrators.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
