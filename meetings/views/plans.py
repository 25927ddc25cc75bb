"""The finalized plan as its recipients see it: the link in their email, which records
that they opened it, and the list of the plans delivered to them.

A delivery is fetched through the access layer: the recipient's own copies, of students
they still see; anyone else's is a 404."""

from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from .. import access
from ..services import distribution


@require_GET
def delivery_open(request, pk):
    """The link in the email: the first open records the acknowledgment (contract: the
    SECA acknowledges the plan), then the download, which logs the access (300.614). A
    GET that records, as the issue asks of an emailed link; it is behind sign-in, so a
    mail scanner following links cannot acknowledge for the recipient."""
    delivery = access.delivery_for(request.user, pk)
    distribution.plan_delivery_acknowledge(recipient=request.user, delivery=delivery)
    return redirect("plan_download", pk=delivery.plan_id)


@require_GET
def my_plans(request):
    deliveries = list(
        access.deliveries(request.user)
        .select_related("plan__meeting__student", "plan__meeting__school")
        .order_by("-created_at", "-id")
    )
    return render(request, "meetings/plans/my_plans.html", {"deliveries": deliveries})
