"""Two approvers acting on one request at the same moment: exactly one wins (PostgreSQL)."""

import threading

import pytest
from django.db import connection

from meetings.models import AttendanceRequest
from meetings.services import attendance
from staff.models import AuditEvent
from staff.services import DomainError

pytestmark = pytest.mark.django_db(transaction=True)


def run_at_once(*calls):
    """Run each call in its own thread and database connection, released together."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def worker(i, call):
        try:
            barrier.wait(timeout=10)
            outcomes[i] = ("ok", call())
        except DomainError as error:
            outcomes[i] = ("refused", error.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def test_two_approvers_at_once_exactly_one_wins(postgres, meeting, seca, principal, designee):
    req = attendance.attendance_request_submit(seca=seca, meeting=meeting)
    seen = req.version
    outcomes = run_at_once(
        lambda: attendance.attendance_request_decide(
            approver=principal,
            attendance_request=req,
            approve=True,
            seen_version=seen,
            coverage_note="Gym with Mr. Lee",
        ),
        lambda: attendance.attendance_request_decide(
            approver=designee,
            attendance_request=req,
            approve=False,
            seen_version=seen,
            deny_reason="group",
        ),
    )
    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["ok", "refused"]
    req.refresh_from_db()
    winner = principal if req.status == AttendanceRequest.Status.APPROVED else designee
    assert req.decided_by == winner
    (refusal,) = [msg for kind, msg in outcomes if kind == "refused"]
    assert refusal.startswith(f"{winner.full_name} already")
    assert AuditEvent.objects.filter(action__in=["request.approved", "request.denied"]).count() == 1


def test_two_submissions_at_once_open_one_request(postgres, meeting, seca):
    outcomes = run_at_once(
        lambda: attendance.attendance_request_submit(seca=seca, meeting=meeting),
        lambda: attendance.attendance_request_submit(seca=seca, meeting=meeting),
    )
    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"]
    assert AttendanceRequest.objects.filter(meeting=meeting, seca=seca).count() == 1
