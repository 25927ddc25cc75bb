"""The home page: one section per role the signed-in person holds, each showing their own
work. The queries live in meetings/selectors.py; each section costs a fixed number."""

from django.shortcuts import render
from django.utils import timezone

from meetings import selectors, worklists
from meetings.queue import stay_requests_to_decide
from staff.models import StayRequest
from staff.selectors import page_of_schools


def home(request):
    user = request.user
    now = timezone.now()
    sections = selectors.home_sections_for_user(user=user)
    context = {"sections": sections, "my_schools": selectors.my_schools(user=user)}
    if sections.seca:
        context["seca_students"] = selectors.students_for_seca(seca=user, now=now)
        context["seca_work"] = worklists.seca_work(user=user, now=now)
    if sections.approver:
        context["approver"] = selectors.pending_requests_for_approver(approver=user, now=now)
        context["decided"] = worklists.decided_requests(user=user, now=now)
        context["stay_pending"] = stay_requests_to_decide(approver=user, limit=5)[
            StayRequest.Status.PENDING
        ]
    if sections.case_manager:
        context["caseload"] = selectors.caseload_for_home(case_manager=user, now=now)
        context["case_manager_meetings"] = selectors.meetings_for_case_manager(
            case_manager=user, now=now
        )
        context["case_manager_work"] = worklists.case_manager_work(user=user, now=now)
    if sections.invitee:
        context["invited_meetings"] = selectors.meetings_for_invitee(user=user, now=now)
    if sections.parent:
        context["children"] = selectors.children_for_parent(parent=user, now=now)
    if sections.district_admin:
        district = selectors.school_counts_for_district_admin(now=now)
        context["district"] = district
        context["schools_page"] = page_of_schools(district.schools, request.GET.get("schools"))
    return render(request, "meetings/home.html", context)
