from django.urls import path

from .views import home, requests

urlpatterns = [
    path("", home.home, name="home"),
    path("meetings/<int:pk>/", requests.meeting_detail, name="meeting_detail"),
    path("approvals/", requests.approval_queue, name="approval_queue"),
    path("notifications/", requests.notification_list, name="notification_list"),
]
