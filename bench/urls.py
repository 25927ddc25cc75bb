"""The app's URLs and the benchmark's minimal signed-in page (bench/settings.py only)."""

from django.shortcuts import render
from django.urls import include, path

from meetings.models import Meeting


def minimal(request):
    """What every signed-in page costs at least: the session, the user, the base template
    (with its unread count) and 20 rows joined to two tables."""
    meetings = Meeting.objects.select_related("student", "school").order_by("pk")[:20]
    return render(request, "bench/minimal.html", {"meetings": meetings})


urlpatterns = [
    path("bench/minimal/", minimal, name="bench_minimal"),
    path("", include("iepcoord.urls")),
]
