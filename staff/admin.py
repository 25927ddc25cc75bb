from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import (
    Assignment,
    AuditEvent,
    Designation,
    Guardian,
    Role,
    ScheduleBlock,
    School,
    Student,
    User,
)

# The admin login gets allauth's rate limits too.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "iepcoord administration"


class FastListAdmin(admin.ModelAdmin):
    """List pages stay fast on district-sized tables: no full COUNT(*) on filtered lists,
    related rows joined, foreign keys picked by id or autocomplete instead of <select>."""

    show_full_result_count = False
    list_per_page = 50


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
    list_display = ["name", "code", "phone"]
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


@admin.register(AuditEvent)
class AuditEventAdmin(FastListAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_id", "school"]
    list_filter = ["action", "object_type"]
    list_select_related = ["actor", "school"]
    search_fields = ["actor__email", "object_id", "student__district_student_id"]
    date_hierarchy = "at"

    # The audit trail is append-only, even for administrators.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
