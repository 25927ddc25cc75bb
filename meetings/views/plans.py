"""The finalized plan as its recipients see it: the link in their email, which records
that they opened it, and the list of the plans delivered to them.

A delivery is fetched through the recipient's own deliveries, so anyone else's is a 404 by
construction."""

from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from ..services import distribution


@require_GET
def delivery_open(request, pk):
    """The link in the email: the first open records the acknowledgment (contract: the
    SECA acknowledges the plan), then the download, which logs the access (300.614). A
    GET that records, as the issue asks of an emailed link; it is behind sign-in, so a
    mail scanner following links cannot acknowledge for the recipient."""
    delivery = get_object_or_404(distribution.deliveries_received_by(request.user), pk=pk)
    distribution.plan_delivery_acknowledge(recipient=request.user, delivery=delivery)
    return redirect("plan_download", pk=delivery.plan_id)


@require_GET
def my_plans(request):
    deliveries = list(distribution.deliveries_received_by(request.user))
    return render(request, "meetings/plans/my_plans.html", {"deliveries": deliveries})
