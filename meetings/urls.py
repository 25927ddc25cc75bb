from django.urls import path

from .views import home, requests

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
