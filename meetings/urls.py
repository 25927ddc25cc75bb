from django.urls import path

from .views import calendars as calendar_views
from .views import home, requests
from .views import parents as parent_views
from .views import plans as plan_views
from .views import reports as report_views
from .views import scheduling as scheduling_views
from .views import stay as stay_views

urlpatterns = [
    path("", home.home, name="home"),
    path("meetings/<int:pk>/", requests.meeting_detail, name="meeting_detail"),
    path("meetings/<int:pk>/packet/", requests.meeting_packet, name="meeting_packet"),
    path("meetings/<int:pk>/request/", requests.request_create, name="request_create"),
    path("meetings/<int:pk>/feedback/", requests.feedback_edit, name="feedback_edit"),
    path("requests/<int:pk>/withdraw/", requests.request_withdraw, name="request_withdraw"),
    path("requests/<int:pk>/decide/", requests.request_decide, name="request_decide"),
    path("approvals/", requests.approval_queue, name="approval_queue"),
    path("notifications/", requests.notification_list, name="notification_list"),
    path("notifications/read/", requests.notifications_mark_read, name="notifications_mark_read"),
]

# The case manager's pages: caseload, scheduling, attendance, the finalized plan.
urlpatterns += [
    path("caseload/", scheduling_views.caseload, name="caseload"),
    path(
        "students/<int:pk>/meetings/new/",
        scheduling_views.meeting_schedule,
        name="meeting_schedule",
    ),
    path(
        "meetings/<int:pk>/reschedule/",
        scheduling_views.meeting_reschedule,
        name="meeting_reschedule",
    ),
    path("meetings/<int:pk>/cancel/", scheduling_views.meeting_cancel, name="meeting_cancel"),
    path(
        "meetings/<int:pk>/contact-attempts/new/",
        scheduling_views.contact_attempt_add,
        name="contact_attempt_add",
    ),
    path("meetings/<int:pk>/held/", scheduling_views.meeting_held, name="meeting_held"),
    path("meetings/<int:pk>/team/", scheduling_views.meeting_team, name="meeting_team"),
    path(
        "meetings/<int:pk>/answers/new/",
        scheduling_views.notice_answer_record,
        name="notice_answer_record",
    ),
    path("meetings/<int:pk>/plans/new/", scheduling_views.plan_upload, name="plan_upload"),
    path("plans/<int:pk>/finalize/", scheduling_views.plan_finalize, name="plan_finalize"),
    path("plans/<int:pk>/download/", scheduling_views.plan_download, name="plan_download"),
]

# The parent's side: the notice of meeting and its answers, the child's support team;
# calendars (the private feed is public, keyed by a secret token).
urlpatterns += [
    path("meetings/<int:pk>/notice/", parent_views.notice, name="notice"),
    path("meetings/<int:pk>/notice/answer/", parent_views.notice_answer, name="notice_answer"),
    path("meetings/<int:pk>/notice/seca/", parent_views.parent_wish, name="parent_wish"),
    path("children/", parent_views.my_children, name="my_children"),
    path("children/<int:pk>/", parent_views.parent_child, name="parent_child"),
    path("meetings/<int:pk>/calendar.ics", calendar_views.meeting_ics, name="meeting_ics"),
    path("calendar/", calendar_views.calendar_subscribe, name="calendar_subscribe"),
    path("calendar/reset/", calendar_views.calendar_token_reset, name="calendar_token_reset"),
    path("calendar/<slug:token>.ics", calendar_views.calendar_feed, name="calendar_feed"),
]

# The finalized plan as its recipients see it: the link in their email, and their list.
urlpatterns += [
    path("deliveries/<int:pk>/", plan_views.delivery_open, name="delivery_open"),
    path("plans/", plan_views.my_plans, name="my_plans"),
]

# Is the contract honored? The district's and each school's report.
urlpatterns += [
    path("reports/district/", report_views.district_report, name="reports_district"),
    path("reports/district.csv", report_views.district_csv, name="reports_district_csv"),
    path("reports/schools/<int:pk>/", report_views.school_report, name="reports_school"),
]

# Contract: a SECA asks to stay with a student; the principal or a designee decides.
urlpatterns += [
    path("stay/", stay_views.stay_request_list, name="stay_request_list"),
    path("stay/students/<int:pk>/", stay_views.stay_request_create, name="stay_request_create"),
    path(
        "stay/classrooms/",
        stay_views.stay_request_create_classroom,
        name="stay_request_create_classroom",
    ),
    path("stay/<int:pk>/withdraw/", stay_views.stay_request_withdraw, name="stay_request_withdraw"),
    path("stay/<int:pk>/decide/", stay_views.stay_request_decide, name="stay_request_decide"),
]
