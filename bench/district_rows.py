"""What the pages show beyond what the background jobs need, for the benchmark district
(bench/district.py generates it; bench/pages.py measures the pages on it): SECAs' weekly
schedules, the notices of meeting and the families' answers and wishes, SECA feedback,
contact attempts, notifications, the audit trail, invitations to families without an
account and a finished roster import.

Every date is relative to `now`, the moment the district is generated, and none is after
it. Random draws come from their own generator, so the rows the jobs' benchmark measures
are drawn as before.
"""

import datetime
import secrets
import zoneinfo
from collections import defaultdict

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)

# A SECA's day, Monday to Friday: the blocks of a CPS elementary timetable.
BLOCKS = [
    (datetime.time(8, 0), datetime.time(9, 30)),
    (datetime.time(9, 30), datetime.time(11, 0)),
    (datetime.time(11, 0), datetime.time(11, 45)),
    (datetime.time(12, 30), datetime.time(14, 0)),
    (datetime.time(14, 0), datetime.time(15, 0)),
]
BLOCK_FREE = 0.12  # a block with no student: the SECA is free to cover then
BLOCK_GROUP = 0.2  # a block with a group rather than one student
NOTICE_SHORT = 0.05  # meetings whose notice went fewer than NOTICE_PERIOD_DAYS ahead
NOTICE_RESCHEDULED = 0.08  # meetings moved once, with a new notice
NOTICE_ANSWERED = 0.5  # guardians with an account who answered the notice
ANSWERS = {"attend": 80, "not_attend": 12, "another_time": 8}
WISH_SHARE = 0.1  # guardians with an account who said whether the SECA should attend
CONTACT_SHARE = 0.12  # meetings with a recorded attempt to reach the family
FEEDBACK_SUBMITTED = 0.6  # requests not honored whose SECA submitted feedback
FEEDBACK_DRAFT = 0.15  # ... or saved a draft
INVITED_SHARE = 0.6  # guardians without an account with an invitation
VIEW_SHARE = 0.6  # invitees who opened the meeting page
CASELOAD_VIEWS = 8  # times each student was on an opened caseload (every four weeks)
METHODS = ["phone", "phone", "email", "letter", "text", "in_person"]


def page_rows(
    *,
    rng,
    now: datetime.datetime,
    school_year: int,
    students: list,
    guardian_rows: list,
    meetings: list,
    invitations: list,
    requests: list,
    plans: list,
    deliveries: list,
    assignments: list,
    secas: dict,
    principal: dict,
    assistant: dict,
    designated: set,
    admin: int,
) -> dict:
    """Rows by model label, in the order to copy them; "staff.AuditEvent" is a generator
    (a million rows, never all in memory). Meetings get their change and short-notice
    reasons in place, so call this before they are copied."""
    guardians_of = defaultdict(list)
    for guardian in guardian_rows:
        guardians_of[guardian["student_id"]].append(guardian)
    student = {row["id"]: row for row in students}
    attended = {
        (row["meeting_id"], row["user_id"]): row["attended"]
        for row in invitations
        if row["user_id"] is not None
    }

    def before_now(moment: datetime.datetime) -> datetime.datetime:
        return min(moment, now - datetime.timedelta(minutes=rng.randrange(5, 600)))

    # Weekly schedules: each SECA's students this year, one block each in turn.
    supported = defaultdict(list)
    for row in assignments:
        supported[row["staff_id"]].append(row["student_id"])
    blocks = []
    for school, names in secas.items():
        for seca in names:
            kids = supported[seca]
            for weekday in range(5):
                for n, (starts, ends) in enumerate(BLOCKS):
                    draw = rng.random()
                    if draw < BLOCK_FREE:
                        continue
                    group = not kids or draw < BLOCK_FREE + BLOCK_GROUP
                    blocks.append(
                        {
                            "id": len(blocks) + 1,
                            "seca_id": seca,
                            "school_id": school,
                            "school_year": school_year,
                            "weekday": weekday,
                            "starts": starts,
                            "ends": ends,
                            "student_id": None if group else kids[(weekday + n) % len(kids)],
                            "group_name": f"Room {100 + n * 7 + weekday} group" if group else "",
                        }
                    )

    # Notices of meeting (34 CFR 300.322), the families' answers and wishes, contact attempts.
    notices, responses, wishes, attempts = [], [], [], []
    issued_at = {}
    for meeting in meetings:
        starts = meeting["starts_at"]
        kid = student[meeting["student_id"]]
        short = starts - 9 * DAY <= now and rng.random() < NOTICE_SHORT
        if short:
            issued = starts - rng.randrange(2, 9) * DAY
            meeting["short_notice_reason"] = "The family asked for the earliest date."
        else:
            issued = starts - rng.randrange(12, 30) * DAY
        issued = before_now(issued)
        issued_at[meeting["id"]] = issued
        kinds = [("scheduled", issued)]
        if rng.random() < NOTICE_RESCHEDULED:
            kinds.append(("rescheduled", before_now(issued + 2 * DAY)))
            meeting["change_reason"] = "The general education teacher is at a training."
        if meeting["state"] == "cancelled":
            kinds.append(("cancelled", before_now(starts - rng.randrange(1, 5) * DAY)))
            meeting["change_reason"] = "The family moved the meeting to next month."
        if rng.random() < CONTACT_SHARE:
            for n in range(rng.randrange(1, 3)):
                attempts.append(
                    {
                        "id": len(attempts) + 1,
                        "student_id": kid["id"],
                        "meeting_id": meeting["id"],
                        "made_by_id": meeting["scheduled_by_id"],
                        "attempted_at": issued - (n + 1) * DAY,
                        "method": rng.choice(METHODS),
                        "outcome": "Left a message; the family called back with a time.",
                    }
                )
        for guardian in guardians_of[kid["id"]]:
            reachable = guardian["user_id"] is not None or guardian["email"]
            for kind, at in kinds:
                notices.append(
                    {
                        "id": len(notices) + 1,
                        "meeting_id": meeting["id"],
                        "guardian_id": guardian["id"],
                        "kind": kind,
                        "sent_at": at if reachable else None,
                        "created_at": at,
                    }
                )
            if guardian["user_id"] is None or meeting["state"] == "cancelled":
                continue
            if rng.random() < NOTICE_ANSWERED:
                answer = rng.choices(list(ANSWERS), weights=list(ANSWERS.values()))[0]
                responses.append(
                    {
                        "id": len(responses) + 1,
                        "meeting_id": meeting["id"],
                        "guardian_id": guardian["id"],
                        "answer": answer,
                        "note": "Could we meet after 2:30?" if answer == "another_time" else "",
                        "created_at": before_now(issued + rng.randrange(1, 72) * HOUR),
                    }
                )
            if rng.random() < WISH_SHARE:
                wishes.append(
                    {
                        "id": len(wishes) + 1,
                        "meeting_id": meeting["id"],
                        "guardian_id": guardian["id"],
                        "wish": "attend" if rng.random() < 0.75 else "not_attend",
                        "note": "She knows my son best.",
                        "created_at": before_now(issued + rng.randrange(1, 96) * HOUR),
                    }
                )

    # Feedback of SECAs whose request was not honored (contract).
    by_meeting = {meeting["id"]: meeting for meeting in meetings}
    feedback = []
    seen = set()
    for req in requests:
        key = (req["meeting_id"], req["seca_id"])
        not_honored = req["status"] in ("denied", "expired") or (
            req["status"] == "approved" and attended.get(key) is False
        )
        if not not_honored or key in seen:
            continue
        seen.add(key)
        draw = rng.random()
        if draw >= FEEDBACK_SUBMITTED + FEEDBACK_DRAFT:
            continue
        starts = by_meeting[req["meeting_id"]]["starts_at"]
        written = before_now(min(starts - HOUR, req.get("decided_at") or starts) + 6 * HOUR)
        feedback.append(
            {
                "id": len(feedback) + 1,
                "meeting_id": req["meeting_id"],
                "seca_id": req["seca_id"],
                "strengths": "Reads aloud with confidence; helps classmates.",
                "what_works": "A visual schedule; a warning two minutes before transitions.",
                "challenges": "Loud rooms; lining up.",
                "progress": "Now writes three sentences with support.",
                "care_notes": "Uses a picture card to ask for a break.",
                "suggestions": "Keep the break card in the new plan.",
                "questions": "",
                "submitted_at": written if draw < FEEDBACK_SUBMITTED else None,
                "created_at": written,
            }
        )

    notifications = _notifications(
        rng=rng,
        now=now,
        meetings=by_meeting,
        student=student,
        requests=requests,
        feedback=feedback,
        responses=responses,
        invitations=invitations,
        deliveries=deliveries,
        plans=plans,
        principal=principal,
        assistant=assistant,
        designated=designated,
    )

    # Invitations to families without an account: by email, or a printed letter with a
    # code; half of them sent by the district's "invite every family" after its import.
    roster_import = {
        "id": 1,
        "uploaded_by_id": admin,
        "confirmed_by_id": admin,
        "source": "oneroster-export.zip",
        "version": "1.2",
        "status": "done",
        "summary": {
            "read": {"users.csv": 760_000, "enrollments.csv": 2_013_714},
            "changes": {
                kind: {"created": 0, "updated": n, "deactivated": 0}
                for kind, n in [("students", 412), ("guardians", 655), ("assignments", 1310)]
            },
        },
        "checked_at": now - 20 * DAY,
        "finished_at": now - 20 * DAY + HOUR,
        "invites_requested_at": now - 20 * DAY + 2 * HOUR,
        "invites_requested_by_id": admin,
        "created_at": now - 20 * DAY,
    }
    invites = []
    for guardian in guardian_rows:
        if guardian["user_id"] is not None or rng.random() >= INVITED_SHARE:
            continue
        sent = now - rng.randrange(1, 90) * DAY
        by_district = rng.random() < 0.5
        invites.append(
            {
                "id": len(invites) + 1,
                "guardian_id": guardian["id"],
                "token": secrets.token_urlsafe(),
                "email": guardian["email"],
                # A letter's code, of the letters' alphabet (staff/invites.py).
                "code": None if guardian["email"] else f"BN{len(invites) + 1:08d}",
                "roster_import_id": 1 if by_district else None,
                "invited_by_id": admin
                if by_district
                else student[guardian["student_id"]]["case_manager_id"],
                "expires_at": sent + 30 * DAY,
                "sent_at": sent if guardian["email"] else None,
                "created_at": sent,
            }
        )
    roster_import["invites_summary"] = {
        "done": True,
        "invited": sum(1 for row in invites if row["roster_import_id"] and row["email"]),
        "letters": sum(1 for row in invites if row["roster_import_id"] and row["code"]),
        "skipped": 0,
    }

    return {
        "staff.ScheduleBlock": blocks,
        "meetings.MeetingNotice": notices,
        "meetings.NoticeResponse": responses,
        "meetings.ParentWish": wishes,
        "meetings.ContactAttempt": attempts,
        "meetings.SecaFeedback": feedback,
        "meetings.Notification": notifications,
        "staff.RosterImport": [roster_import],
        "staff.GuardianInvite": invites,
        "staff.AuditEvent": _audit_events(
            rng=rng,
            now=now,
            meetings=meetings,
            students=students,
            issued_at=issued_at,
            invitations=invitations,
            requests=requests,
            plans=plans,
            deliveries=deliveries,
            feedback=feedback,
            responses=responses,
            guardians_of=guardians_of,
        ),
    }


def _title(meeting, student) -> str:
    day = meeting["starts_at"].astimezone(CHICAGO)
    return f"the meeting of {student['first_name']} {student['last_name']} on {day:%b} {day.day}"


def _notifications(
    *,
    rng,
    now,
    meetings,
    student,
    requests,
    feedback,
    responses,
    invitations,
    deliveries,
    plans,
    principal,
    assistant,
    designated,
) -> list:
    """What the app would have told each person (as meetings.services.notifications stores
    it, its email already gone); a week old or more is read."""
    rows = []
    week_ago = now - 7 * DAY

    def tell(user, event, at, message, url, *, read=None, **params):
        if at > now:
            return
        if read is None:
            read = at + 3 * HOUR if at < week_ago else None
        rows.append(
            {
                "id": len(rows) + 1,
                "user_id": user,
                "message": message[:300],
                "url": url,
                "event": event,
                "params": params,
                "created_at": at,
                "read_at": read,
                "emailed_at": at + datetime.timedelta(minutes=1),
            }
        )

    for req in requests:
        meeting = meetings[req["meeting_id"]]
        about = _title(meeting, student[meeting["student_id"]])
        school = meeting["school_id"]
        approvers = [principal[school]] + ([assistant[school]] if school in designated else [])
        for approver in approvers:
            tell(
                approver,
                "request_submitted",
                req["created_at"],
                f"A SECA asks to attend {about}",
                f"/requests/{req['id']}/decide/",
                read=req.get("decided_at") or (req["created_at"] + DAY)
                if req["status"] != "pending"
                else None,
                meeting=meeting["id"],
                request=req["id"],
            )
        told = {
            "approved": ("request_approved", req.get("decided_at"), "Approved: you may attend"),
            "denied": ("request_denied", req.get("decided_at"), "Not approved: your request for"),
            "expired": ("request_expired", meeting["starts_at"], "Not decided in time:"),
            "cancelled": ("meeting_cancelled", meeting["starts_at"] - DAY, "Cancelled:"),
        }
        if req["status"] in told:
            event, at, words = told[req["status"]]
            tell(
                req["seca_id"],
                event,
                at,
                f"{words} {about}",
                f"/meetings/{meeting['id']}/",
                meeting=meeting["id"],
                request=req["id"],
            )
    for row in feedback:
        if row["submitted_at"] is None:
            continue
        meeting = meetings[row["meeting_id"]]
        kid = student[meeting["student_id"]]
        tell(
            kid["case_manager_id"],
            "feedback_submitted",
            row["submitted_at"],
            f"A SECA sent feedback for {_title(meeting, kid)}",
            f"/meetings/{meeting['id']}/",
            meeting=meeting["id"],
            request=None,
        )
    for row in responses:
        meeting = meetings[row["meeting_id"]]
        kid = student[meeting["student_id"]]
        tell(
            kid["case_manager_id"],
            "parent_answered",
            row["created_at"],
            f"A parent answered the notice of {_title(meeting, kid)}",
            f"/meetings/{meeting['id']}/notice/",
            meeting=meeting["id"],
            request=None,
            answer=row["answer"],
        )
    # Invitations to meetings from a month back on, to those with an account.
    recent = now - 30 * DAY
    for row in invitations:
        meeting = meetings[row["meeting_id"]]
        if row["user_id"] is None or meeting["starts_at"] < recent:
            continue
        tell(
            row["user_id"],
            "invited",
            meeting["starts_at"] - rng.randrange(12, 30) * DAY,
            f"You are invited to {_title(meeting, student[meeting['student_id']])}",
            f"/meetings/{meeting['id']}/",
            meeting=meeting["id"],
            request=None,
        )
    plan_meeting = {plan["id"]: plan["meeting_id"] for plan in plans}
    for row in deliveries:
        kid = student[meetings[plan_meeting[row["plan_id"]]]["student_id"]]
        tell(
            row["recipient_id"],
            "",
            row["sent_at"],
            f"The finalized plan of {kid['first_name']} {kid['last_name']} (version 1) is ready.",
            f"/deliveries/{row['id']}/",
            read=row["acknowledged_at"],
        )
    return rows


def _audit_events(
    *,
    rng,
    now,
    meetings,
    students,
    issued_at,
    invitations,
    requests,
    plans,
    deliveries,
    feedback,
    responses,
    guardians_of,
):
    """The audit trail of a school year (34 CFR 300.614), as the services and views write
    it: who scheduled, opened, decided, recorded and read what, and when."""
    n = 0
    school_of = {row["id"]: row["school_id"] for row in students}
    meeting_of = {row["id"]: row for row in meetings}
    guardian_user = {
        row["id"]: row["user_id"]
        for rows in guardians_of.values()
        for row in rows
        if row["user_id"]
    }

    def event(at, actor, action, object_type, object_id, student_id):
        nonlocal n
        n += 1
        return {
            "id": n,
            "at": at,
            "actor_id": actor,
            "action": action,
            "object_type": object_type,
            "object_id": str(object_id),
            "school_id": school_of[student_id],
            "student_id": student_id,
        }

    invitees = defaultdict(list)
    for row in invitations:
        if row["user_id"] is not None:
            invitees[row["meeting_id"]].append(row["user_id"])
    for meeting in meetings:
        kid, mid = meeting["student_id"], meeting["id"]
        issued = issued_at[mid]
        yield event(
            issued - HOUR, meeting["scheduled_by_id"], "meeting.scheduled", "meeting", mid, kid
        )
        until = min(meeting["starts_at"], now)
        span = max(int((until - issued).total_seconds()), 60)
        for user in invitees[mid]:
            if rng.random() < VIEW_SHARE:
                at = issued + datetime.timedelta(seconds=rng.randrange(span))
                yield event(at, user, "meeting.viewed", "meeting", mid, kid)
        for guardian in guardians_of[kid]:
            if guardian["user_id"] and rng.random() < 0.7:
                at = issued + datetime.timedelta(seconds=rng.randrange(span))
                yield event(at, guardian["user_id"], "notice.viewed", "meeting", mid, kid)
        if meeting["state"] == "held":
            yield event(
                meeting["held_at"], meeting["scheduled_by_id"], "meeting.held", "meeting", mid, kid
            )
        elif meeting["state"] == "cancelled":
            at = min(meeting["starts_at"] - DAY, now - HOUR)
            yield event(at, meeting["scheduled_by_id"], "meeting.cancelled", "meeting", mid, kid)
    for req in requests:
        meeting = meeting_of[req["meeting_id"]]
        kid = meeting["student_id"]
        yield event(
            req["created_at"],
            req["seca_id"],
            "request.submitted",
            "attendancerequest",
            req["id"],
            kid,
        )
        if req.get("decided_at"):
            decider = req["decided_by_id"]
            at = req["decided_at"]
            yield event(
                at - datetime.timedelta(minutes=5),
                decider,
                "request.decision_viewed",
                "attendancerequest",
                req["id"],
                kid,
            )
            yield event(
                at, decider, f"request.{req['status']}", "attendancerequest", req["id"], kid
            )
        elif req["status"] in ("withdrawn", "expired", "cancelled"):
            at = min(meeting["starts_at"], now - HOUR)
            actor = req["seca_id"] if req["status"] == "withdrawn" else None
            yield event(at, actor, f"request.{req['status']}", "attendancerequest", req["id"], kid)
    plan_of = {}
    for plan in plans:
        meeting = meeting_of[plan["meeting_id"]]
        kid = meeting["student_id"]
        plan_of[plan["id"]] = kid
        at = meeting["held_at"] + DAY
        if at < now:
            yield event(at, plan["uploaded_by_id"], "plan.uploaded", "plan", plan["id"], kid)
        if plan["finalized_at"]:
            yield event(
                plan["finalized_at"],
                plan["uploaded_by_id"],
                "plan.finalized",
                "plan",
                plan["id"],
                kid,
            )
    for row in deliveries:
        kid = plan_of[row["plan_id"]]
        yield event(row["sent_at"], None, "plan.sent", "plandelivery", row["id"], kid)
        if row["acknowledged_at"]:
            yield event(
                row["acknowledged_at"],
                row["recipient_id"],
                "plan.acknowledged",
                "plandelivery",
                row["id"],
                kid,
            )
    for row in feedback:
        if row["submitted_at"]:
            kid = meeting_of[row["meeting_id"]]["student_id"]
            yield event(
                row["submitted_at"],
                row["seca_id"],
                "feedback.submitted",
                "secafeedback",
                row["id"],
                kid,
            )
    for row in responses:
        kid = meeting_of[row["meeting_id"]]["student_id"]
        actor = guardian_user.get(row["guardian_id"])
        yield event(row["created_at"], actor, "notice.answered", "noticeresponse", row["id"], kid)
    # Each student on their case manager's opened caseload, every four weeks.
    for row in students:
        for k in range(CASELOAD_VIEWS):
            at = now - (28 * k + rng.randrange(1, 28)) * DAY
            yield event(
                at, row["case_manager_id"], "caseload.viewed", "student", row["id"], row["id"]
            )


TRAINED = {  # share of SECAs who completed each of the contract's trainings
    "de-escalation-practices": 0.85,
    "iep-procedures": 0.8,
    "variety-of-disabilities": 0.75,
    "lifting-positioning": 0.6,
    "personal-care": 0.7,
    "reinforcing-instruction": 0.8,
    "annual-de-escalation": 0.65,
    "restraint-time-out": 0.35,
}
POLICY_OPENED = 0.6  # SECAs who opened this year's restraint and time-out policy
STAY_SHARE = 0.03  # SECA assignments whose SECA asked to stay with the student next year
STAY_OUTCOMES = {"pending": 50, "approved": 35, "denied": 15}


def contract_rows(
    *, rng, now, school_year: int, secas: dict, assignments: list, students: list,
    principal: dict, admin: int,
) -> dict:  # fmt: skip
    """The contract's other records (issue 13): each SECA's trainings, this year's
    restraint and time-out policy with who opened it, and requests to stay with a student
    next year, decided by the school's principal or still pending."""
    from staff.models import Training

    trainings = dict(Training.objects.values_list("code", "pk"))
    year_start = datetime.date(school_year, 7, 1)
    completions, copies = [], []
    sent = datetime.datetime.combine(year_start + 60 * DAY, datetime.time(8), tzinfo=CHICAGO)
    for school, people in secas.items():
        for seca in people:
            for code, share in TRAINED.items():
                if code in trainings and rng.random() < share:
                    done = year_start + datetime.timedelta(days=rng.randrange(0, 120))
                    completions.append(
                        {
                            "seca_id": seca,
                            "training_id": trainings[code],
                            "completed_on": min(done, now.date() - DAY),
                            "recorded_by_id": principal[school],
                            "school_id": school,
                            "source": "school",
                        }
                    )
            opened = rng.random() < POLICY_OPENED
            copies.append(
                {
                    "policy_id": 1,
                    "seca_id": seca,
                    "sent_at": sent,
                    "acknowledged_at": sent + rng.randrange(1, 240) * HOUR if opened else None,
                }
            )
    policy = {
        "id": 1,
        "school_year": school_year,
        "title": f"Restraint and time-out policy {school_year}-{school_year + 1}",
        "file": "policies/bench-restraint-policy.pdf",
        "sha256": "0" * 64,
        "uploaded_by_id": admin,
    }
    school_of = {row["id"]: row["school_id"] for row in students}
    stays = []
    for assignment in assignments:
        if assignment["kind"] != "seca" or rng.random() >= STAY_SHARE:
            continue
        school = school_of[assignment["student_id"]]
        status = rng.choices(list(STAY_OUTCOMES), weights=list(STAY_OUTCOMES.values()))[0]
        asked = now - datetime.timedelta(days=rng.randrange(1, 60), hours=rng.randrange(0, 8))
        row = {
            "seca_id": assignment["staff_id"],
            "student_id": assignment["student_id"],
            "school_id": school,
            "occasion": "next_year",
            "school_year": school_year + 1,
            "status": status,
            "note": "I know what works for this student.",
            "created_at": asked,
        }
        if status != "pending":
            row.update(
                decided_by_id=principal[school],
                decided_at=asked + datetime.timedelta(days=rng.randrange(1, 5)),
                version=1,
            )
        if status == "denied":
            row["deny_reason"] = "staffing"
        stays.append(row)
    for rows in (completions, copies, stays):
        for n, row in enumerate(rows, start=1):
            row["id"] = n
    return {
        "staff.TrainingCompletion": completions,
        "staff.RestraintPolicy": [policy],
        "staff.PolicyCopy": copies,
        "staff.StayRequest": stays,
    }
