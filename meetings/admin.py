from django.contrib import admin

from staff.admin import FastListAdmin

from .models import (
    AttendanceRequest,
    ContactAttempt,
    Invitation,
    Meeting,
    MeetingNotice,
    NoticeResponse,
    Notification,
    ParentWish,
    Plan,
    PlanDelivery,
    Reminder,
    SecaFeedback,
)


class InvitationInline(admin.TabularInline):
    model = Invitation
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Meeting)
class MeetingAdmin(FastListAdmin):
    list_display = ["student", "kind", "starts_at", "state", "school"]
    list_filter = ["state", "kind"]
    list_select_related = ["student", "school"]
    search_fields = ["student__last_name", "student__district_student_id", "school__name"]
    autocomplete_fields = ["student", "school", "scheduled_by"]
    date_hierarchy = "starts_at"
    inlines = [InvitationInline]


@admin.register(Invitation)
class InvitationAdmin(FastListAdmin):
    list_display = ["name", "role", "meeting", "attended"]
    list_filter = ["attended"]
    list_select_related = ["meeting__student"]
    search_fields = ["name", "email", "meeting__student__last_name"]
    raw_id_fields = ["meeting", "user"]


@admin.register(AttendanceRequest)
class AttendanceRequestAdmin(FastListAdmin):
    list_display = ["seca", "meeting", "status", "decided_by", "decided_at", "reopened"]
    list_filter = ["status", "deny_reason", "reopened"]
    list_select_related = ["seca", "meeting__student", "decided_by"]
    search_fields = ["seca__email", "seca__full_name", "meeting__student__last_name"]
    raw_id_fields = ["meeting", "seca", "decided_by", "covered_by"]


@admin.register(SecaFeedback)
class SecaFeedbackAdmin(FastListAdmin):
    list_display = ["seca", "meeting", "submitted_at"]
    list_filter = [("submitted_at", admin.EmptyFieldListFilter)]
    list_select_related = ["seca", "meeting__student"]
    search_fields = ["seca__email", "meeting__student__last_name"]
    raw_id_fields = ["meeting", "seca"]


@admin.register(Plan)
class PlanAdmin(FastListAdmin):
    list_display = ["meeting", "version", "finalized_at", "uploaded_by"]
    list_filter = [("finalized_at", admin.EmptyFieldListFilter)]
    list_select_related = ["meeting__student", "uploaded_by"]
    search_fields = ["meeting__student__last_name", "meeting__student__district_student_id"]
    raw_id_fields = ["meeting", "uploaded_by"]


@admin.register(PlanDelivery)
class PlanDeliveryAdmin(FastListAdmin):
    list_display = ["plan", "recipient", "reason", "sent_at", "acknowledged_at"]
    list_filter = ["reason"]
    list_select_related = ["plan__meeting__student", "recipient"]
    search_fields = ["recipient__email", "plan__meeting__student__last_name"]
    raw_id_fields = ["plan", "recipient"]


@admin.register(ParentWish)
class ParentWishAdmin(FastListAdmin):
    list_display = ["guardian", "meeting", "wish"]
    list_filter = ["wish"]
    list_select_related = ["guardian", "meeting__student"]
    search_fields = ["guardian__full_name", "meeting__student__last_name"]
    raw_id_fields = ["meeting", "guardian"]


@admin.register(Notification)
class NotificationAdmin(FastListAdmin):
    list_display = ["user", "message", "created_at", "read_at"]
    list_filter = [
        ("read_at", admin.EmptyFieldListFilter),
        ("emailed_at", admin.EmptyFieldListFilter),
    ]
    list_select_related = ["user"]
    search_fields = ["user__email", "message"]
    raw_id_fields = ["user"]


@admin.register(ContactAttempt)
class ContactAttemptAdmin(FastListAdmin):
    list_display = ["student", "attempted_at", "method", "outcome", "made_by"]
    list_filter = ["method"]
    list_select_related = ["student", "made_by"]
    search_fields = ["student__last_name", "student__district_student_id", "outcome"]
    raw_id_fields = ["student", "meeting", "made_by"]
    date_hierarchy = "attempted_at"


@admin.register(MeetingNotice)
class MeetingNoticeAdmin(FastListAdmin):
    list_display = ["meeting", "guardian", "kind", "created_at", "sent_at"]
    list_filter = ["kind", ("sent_at", admin.EmptyFieldListFilter)]
    list_select_related = ["meeting__student", "guardian"]
    search_fields = ["guardian__full_name", "meeting__student__last_name"]
    raw_id_fields = ["meeting", "guardian"]


@admin.register(NoticeResponse)
class NoticeResponseAdmin(FastListAdmin):
    list_display = ["meeting", "guardian", "answer", "updated_at"]
    list_filter = ["answer"]
    list_select_related = ["meeting__student", "guardian"]
    search_fields = ["guardian__full_name", "meeting__student__last_name"]
    raw_id_fields = ["meeting", "guardian"]


@admin.register(Reminder)
class ReminderAdmin(FastListAdmin):
    list_display = ["kind", "object_id", "recipient", "slot", "created_at", "sent_at"]
    list_filter = ["kind", ("sent_at", admin.EmptyFieldListFilter)]
    list_select_related = ["recipient"]
    search_fields = ["recipient__email", "=object_id"]
    raw_id_fields = ["recipient"]
