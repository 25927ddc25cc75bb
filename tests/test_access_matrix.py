"""The access matrix: every page of staff/urls.py and meetings/urls.py, GET and POST, for
every persona of one scenario, against the rules of staff/access.py and meetings/access.py
(the one access layer): rights come from a person's *current* relationship to the student;
an invitation grants nothing; a student who moved school is governed by the new school.

The table (MATRIX) says what the product must do. A cell that disagrees is reported with
all the others of its URL in one assertion message. Every call runs in a savepoint that is
rolled back, so personas never disturb each other; inside it, a refused call must leave the
records as they were (and, on an existing student record, leave one denied audit event),
and an accepted one must have done its work (EFFECTS). Beyond the status codes: no page a
persona opens may show a text of the record they may not read (SECRETS, FORBIDDEN), and no
change may notify, or send the plan to, someone who does not see the student.

The scenario: Skinner North (A) is the student's school now; S came from Old School (B),
moved by staff.services.student_transfer, which ended B's SECA's assignment and cleared
B's case manager. M is S's meeting scheduled at B before the move (meeting.school is B);
M2 a later meeting at A; H a meeting held at A with a finalized plan P1 and a draft P2.
"""

import dataclasses
import datetime
import io
import logging
import zipfile
import zoneinfo
from collections.abc import Callable
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone
from pypdf import PdfWriter

import meetings.urls
import staff.urls
from meetings.access import Action
from meetings.models import (
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
    SecaFeedback,
)
from staff.access import Right
from staff.models import (
    Assignment,
    AuditEvent,
    Designation,
    Guardian,
    GuardianInvite,
    PolicyCopy,
    RestraintPolicy,
    Role,
    RosterImport,
    StayRequest,
    Student,
    TrainingCompletion,
    User,
)
from staff.services import student_transfer

from . import factories as f

# --- Who: the personas, and the groups the table names ----------------------------------

PERSONAS = (
    "district_admin",
    "principal",  # of A
    "designee_ap",  # assistant principal at A, named designee by the principal
    "ap",  # assistant principal at A, not a designee
    "case_manager",  # at A, S's case manager
    "other_case_manager",  # at A
    "teacher",  # at A
    "seca",  # SECA at A, assigned to S; asked to attend M (R, pending)
    "approved_seca",  # SECA at A, assigned to S; request to attend M approved
    "ended_seca",  # SECA of B; the transfer ended the assignment; still invited to M
    "other_seca",  # SECA at A, assigned to another student of A
    "invited_guardian",  # guardian of S with an account, invited to M
    "co_guardian",  # guardian of S with an account, not invited
    "other_guardian",  # guardian of a child at C
    "other_principal",  # principal of C
    "old_principal",  # principal of B
    "old_case_manager",  # case manager at B, S's case manager until the transfer
    "deactivated",  # was a case manager at A; is_active=False
    "union_rep",  # the union's representative: district-wide measures, no names
)
SIGNED_IN = frozenset(PERSONAS) - {"deactivated"}

# The school's staff: they hold VIEW_RECORDS on S (the district administrator everywhere).
STAFF = frozenset(
    {
        "district_admin",
        "principal",
        "designee_ap",
        "ap",
        "case_manager",
        "other_case_manager",
        "teacher",
    }
)
MANAGERS = frozenset({"principal", "case_manager"})  # MANAGE on S
APPROVERS = frozenset({"principal", "designee_ap"})  # DECIDE at A
SECAS = frozenset({"seca", "approved_seca"})  # SUPPORT on S this year
GUARDIANS = frozenset({"invited_guardian", "co_guardian"})  # GUARDIAN on S
SEES_S = STAFF | SECAS | GUARDIANS  # VIEW on S
# Those who see nothing of S: a 404 on every record of S.
OUTSIDERS = SIGNED_IN - SEES_S

SIGN_IN = "sign-in"  # a redirect to the sign-in page
POST_ONLY = "POST only"  # every signed-in persona's GET is a 405


# --- The table ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Row:
    """One URL on one object: `get` and `post` map an outcome to the personas getting it.
    Every other signed-in persona gets 404, `deactivated` a redirect to sign-in. `post` is
    None for a page to read; `get` is None on a second row of a URL that checks another
    POST only. The id is the URL's name, with [what] when the URL has several rows."""

    id: str
    obj: str | None  # the scenario object whose pk fills the URL
    get: dict | str | None
    post: dict | None = None

    @property
    def name(self) -> str:
        return self.id.split("[")[0]


OTHERS_WHO_SEE_S = SEES_S - MANAGERS
# A's families without an account: the principal, A's case managers, the district.
INVITERS = frozenset({"district_admin", "principal", "case_manager", "other_case_manager"})
LOG_READERS = frozenset({"district_admin", "principal", "case_manager"}) | GUARDIANS
# Those holding a SECA role somewhere (ended_seca still works at B): their own trainings.
SECA_ROLES = frozenset({"seca", "approved_seca", "ended_seca", "other_seca"})
# The district's employees: the restraint and time-out policy is theirs to read.
EMPLOYEES = SIGNED_IN - GUARDIANS - {"other_guardian"}

# fmt: off
MATRIX = [
    # -- Everyone's own pages ---------------------------------------------------------------
    Row("home", None, get={200: SIGNED_IN}),
    Row("notification_list", None, get={200: SIGNED_IN}),
    Row("my_children", None, get={200: SIGNED_IN}),
    Row("calendar_subscribe", None, get={200: SIGNED_IN}),
    Row("my_plans", None, get={200: SIGNED_IN}),
    Row("notifications_mark_read", None, get=POST_ONLY, post={302: SIGNED_IN}),
    Row("calendar_token_reset", None, get=POST_ONLY, post={302: SIGNED_IN}),
    # -- Meeting M (scheduled at B before the move; S is at A now) and its requests ---------
    Row("meeting_detail", "M", get={200: SEES_S}),
    Row("meeting_ics", "M", get={200: SEES_S}),
    Row("meeting_packet", "M", get={200: STAFF, 403: SECAS | GUARDIANS}),
    Row("request_create", "M2", get={200: SECAS, 403: STAFF | GUARDIANS},
                                post={302: SECAS, 403: STAFF | GUARDIANS}),
    Row("feedback_edit", "M", get={200: SECAS, 403: STAFF | GUARDIANS},
                              post={302: SECAS, 403: STAFF | GUARDIANS}),  # a draft
    Row("feedback_edit[submit]", "M", get=None,
                                      post={302: SECAS, 403: STAFF | GUARDIANS}),
    # After H: seca's request expired undecided, approved_seca was marked absent.
    Row("feedback_edit[after the meeting]", "H", get={200: SECAS, 403: STAFF | GUARDIANS},
                                                post={302: SECAS, 403: STAFF | GUARDIANS}),
    # The school's staff see R; approved_seca and the guardians do not.
    Row("request_withdraw", "R", get=POST_ONLY, post={302: {"seca"}, 403: STAFF}),
    Row("request_decide", "R", get={200: APPROVERS, 403: (STAFF - APPROVERS) | {"seca"}},
                               post={302: APPROVERS, 403: (STAFF - APPROVERS) | {"seca"}}),
    Row("approval_queue", None,
        get={200: {"principal", "designee_ap", "other_principal", "old_principal"}}),
    # -- The case manager's pages -----------------------------------------------------------
    Row("caseload", None, get={200: {"case_manager", "other_case_manager", "old_case_manager"}}),
    # Without "confirm", the POST shows the preview (200): nothing is scheduled yet.
    Row("meeting_schedule", "S", get={200: MANAGERS, 403: OTHERS_WHO_SEE_S},
                                 post={200: MANAGERS, 403: OTHERS_WHO_SEE_S}),
    Row("meeting_reschedule", "M", get={200: MANAGERS, 403: OTHERS_WHO_SEE_S},
                                   post={302: MANAGERS, 403: OTHERS_WHO_SEE_S}),
    Row("meeting_cancel", "M", get={200: MANAGERS, 403: OTHERS_WHO_SEE_S},
                               post={302: MANAGERS, 403: OTHERS_WHO_SEE_S}),
    Row("contact_attempt_add", "M", get={200: MANAGERS, 403: OTHERS_WHO_SEE_S},
                                    post={302: MANAGERS, 403: OTHERS_WHO_SEE_S}),
    Row("meeting_held", "H", get={200: MANAGERS, 403: OTHERS_WHO_SEE_S},
                             post={302: MANAGERS, 403: OTHERS_WHO_SEE_S}),
    Row("meeting_team", "M2", get={200: MANAGERS, 403: OTHERS_WHO_SEE_S},
                              post={302: MANAGERS, 403: OTHERS_WHO_SEE_S}),  # add
    Row("meeting_team[remove]", "M2", get=None, post={302: MANAGERS, 403: OTHERS_WHO_SEE_S}),
    Row("notice_answer_record", "M2", get={200: MANAGERS, 403: OTHERS_WHO_SEE_S},
                                      post={302: MANAGERS, 403: OTHERS_WHO_SEE_S}),
    Row("plan_upload", "H", get={200: MANAGERS, 403: OTHERS_WHO_SEE_S},
                            post={302: MANAGERS, 403: OTHERS_WHO_SEE_S}),
    Row("plan_finalize", "P2", get=POST_ONLY, post={302: MANAGERS, 403: OTHERS_WHO_SEE_S}),
    Row("plan_download[P1 finalized]", "P1", get={200: SEES_S}),
    Row("plan_download[P2 draft]", "P2", get={200: STAFF}),
    # -- The parent's side ------------------------------------------------------------------
    Row("notice", "M", get={200: GUARDIANS | STAFF, 403: SECAS}),
    Row("notice_answer", "M", get=POST_ONLY, post={302: GUARDIANS, 403: STAFF | SECAS}),
    Row("parent_wish", "M", get=POST_ONLY, post={302: GUARDIANS, 403: STAFF | SECAS}),
    Row("parent_child", "S", get={200: GUARDIANS, 403: STAFF | SECAS}),
    # The link in the email: a GET that records the acknowledgment, then the download.
    Row("delivery_open", "delivery", get={302: {"seca"}}),
    # -- Designees, parents' invitations, the access log and list ---------------------------
    Row("designees", "A", get={200: {"principal"}}, post={302: {"principal"}}),
    Row("designee_remove", "designation", get=POST_ONLY, post={302: {"principal"}}),
    Row("guardian_list", "S", get={200: MANAGERS, 403: OTHERS_WHO_SEE_S}),
    Row("guardian_invite", "uninvited_guardian", get=POST_ONLY,
                                                 post={302: MANAGERS, 403: OTHERS_WHO_SEE_S}),
    Row("access_log", "S", get={200: LOG_READERS, 403: SEES_S - LOG_READERS}),
    Row("access_list", "A", get={200: {"district_admin", "principal", "designee_ap", "ap"}}),
    # -- Is the contract honored? The district's report, and A's ------------------------------
    Row("reports_district", None, get={200: {"district_admin", "union_rep"}}),
    Row("reports_district_csv", None, get={200: {"district_admin", "union_rep"}}),
    Row("reports_school", "A",
        get={200: {"district_admin", "union_rep", "principal", "designee_ap"}}),
    # -- The district's roster (district administrators); A's families without an account --
    Row("roster_import_list", None, get={200: {"district_admin"}}, post={302: {"district_admin"}}),
    Row("roster_import_detail", "roster_done", get={200: {"district_admin"}}),
    Row("roster_import_confirm", "roster_checked", get=POST_ONLY, post={302: {"district_admin"}}),
    Row("roster_invite_families", "roster_done", get=POST_ONLY, post={302: {"district_admin"}}),
    Row("school_invitations", "A", get={200: INVITERS}),
    Row("school_invitations_send", "A", get=POST_ONLY, post={302: INVITERS}),
    Row("school_invitation_letters", "A", get={200: INVITERS}),
    # -- Training and the restraint policy: a SECA's own; A's (its approvers record); the
    # district's counts, import and upload; the policy, for every employee -----------------
    Row("my_training", None, get={200: SECA_ROLES}),
    Row("training_school", "A", get={200: {"district_admin"} | APPROVERS}),
    Row("training_record", "A", get={200: APPROVERS}, post={302: APPROVERS}),
    Row("training_district", None, get={200: {"district_admin"}}),
    Row("training_import", None, get={200: {"district_admin"}}, post={302: {"district_admin"}}),
    Row("policy_list", None, get={200: {"district_admin"}}, post={302: {"district_admin"}}),
    # Opening it records a SECA's acknowledgement.
    Row("policy_detail", "policy", get={200: EMPLOYEES}),
    Row("policy_download", "policy", get={200: EMPLOYEES}),
    # -- Staying with a student (not ended_seca: S moved to A); the aide support -------------
    Row("stay_request_list", None,
        get={200: {"seca", "approved_seca", "ended_seca", "other_seca"}}),
    Row("stay_request_create", "S", get={200: SECAS}, post={302: SECAS}),
    Row("stay_request_withdraw", "ST", get={200: {"seca"}, 403: APPROVERS},
                                       post={302: {"seca"}, 403: APPROVERS}),
    Row("stay_request_decide", "ST", get={200: APPROVERS, 403: {"seca"}},
                                     post={302: APPROVERS, 403: {"seca"}}),
    # A classroom: a group of the SECA's own schedule at A (only seca has one); its request
    # STC is A's approvers' to decide (another school's principal: a 404).
    Row("stay_request_create_classroom", None, get={200: SECA_ROLES},
                                               post={302: {"seca"}, 400: SECA_ROLES - {"seca"}}),
    Row("stay_request_withdraw[classroom]", "STC", get={200: {"seca"}, 403: APPROVERS},
                                                   post={302: {"seca"}, 403: APPROVERS}),
    Row("stay_request_decide[classroom]", "STC", get={200: APPROVERS, 403: {"seca"}},
                                                 post={302: APPROVERS, 403: {"seca"}}),
    Row("aide_support_edit", "S", get={200: MANAGERS, 403: OTHERS_WHO_SEE_S},
                                  post={302: MANAGERS, 403: OTHERS_WHO_SEE_S}),
    Row("unstaffed_students", "A", get={200: {"district_admin", "principal", "designee_ap"}}),
    Row("unstaffed_district", None, get={200: {"district_admin"}}),
]
# fmt: on

# The row -> the members of meetings.access.Action and staff.access.Right it exercises.
# Tuples, not sets: Action.VIEW == Right.VIEW == "view" (both are StrEnums).
COVERS = {
    "meeting_detail": (Action.VIEW, Right.VIEW),
    "meeting_packet": (Action.VIEW_PAPERS, Right.VIEW_RECORDS),
    "request_create": (Action.REQUEST, Right.SUPPORT),
    "feedback_edit": (Action.GIVE_FEEDBACK,),
    "request_withdraw": (Action.WITHDRAW,),
    "request_decide": (Action.DECIDE, Right.DECIDE),
    "meeting_schedule": (Right.MANAGE,),
    "meeting_reschedule": (Action.RESCHEDULE,),
    "meeting_cancel": (Action.CANCEL,),
    "contact_attempt_add": (Action.LOG_CONTACT,),
    "meeting_held": (Action.HOLD,),
    "meeting_team": (Action.EDIT_TEAM,),
    "notice_answer_record": (Action.RECORD_ANSWER,),
    "plan_upload": (Action.UPLOAD_PLAN,),
    "plan_finalize": (Action.FINALIZE,),
    "plan_download[P1 finalized]": (Action.DOWNLOAD,),
    "notice": (Action.READ_NOTICE,),
    "notice_answer": (Action.ANSWER_NOTICE,),
    "parent_wish": (Action.ANSWER_NOTICE,),
    "parent_child": (Right.GUARDIAN,),
    "access_log": (Action.VIEW_ACCESS_LOG, Right.VIEW_ACCESS_LOG),
    "stay_request_create": (Right.ASK_TO_STAY,),
}


def _members(members) -> set[str]:
    # By enum and name: Action.VIEW == Right.VIEW == "view" (both are StrEnums).
    return {f"{type(m).__name__}.{m.name}" for m in members}


# --- What each state change sends, and what it must have done -----------------------------


@dataclasses.dataclass(frozen=True)
class Effect:
    """The POST (or the recording GET) of a row: its data, and a cheap check, run inside
    the savepoint, that an accepted call did its work."""

    done: Callable  # (scenario, persona, response) -> bool
    data: Callable = lambda s, who: {}  # (scenario, persona) -> POST data
    method: str = "POST"


def _exists(model, **lookups) -> bool:
    return model.objects.filter(**lookups).exists()


EFFECTS = {
    "notifications_mark_read": Effect(
        done=lambda s, who, r: not _exists(Notification, user=s.users[who], read_at__isnull=True),
    ),
    "calendar_token_reset": Effect(
        done=lambda s, who, r: _reread(s.users[who]).calendar_token != s.users[who].calendar_token,
    ),
    "request_create": Effect(
        data=lambda s, who: {"note": "MATRIX request note"},
        done=lambda s, who, r: (
            _exists(
                AttendanceRequest,
                meeting=s.M2,
                seca=s.users[who],
                status=AttendanceRequest.Status.PENDING,
                note="MATRIX request note",
            )
            # The approvers of A are told.
            and _exists(Notification, user=s.users["principal"], url__contains="/decide/")
        ),
    ),
    "feedback_edit": Effect(
        data=lambda s, who: {"strengths": "MATRIX draft feedback"},
        done=lambda s, who, r: _exists(
            SecaFeedback, meeting=s.M, seca=s.users[who], strengths="MATRIX draft feedback"
        ),
    ),
    "feedback_edit[submit]": Effect(
        data=lambda s, who: {"strengths": "MATRIX feedback", "submit": "1"},
        done=lambda s, who, r: _exists(
            SecaFeedback, meeting=s.M, seca=s.users[who], submitted_at__isnull=False
        ),
    ),
    "feedback_edit[after the meeting]": Effect(
        data=lambda s, who: {"strengths": "MATRIX late feedback", "submit": "1"},
        done=lambda s, who, r: (
            _exists(
                SecaFeedback,
                meeting=s.H,
                seca=s.users[who],
                after_meeting=True,
                submitted_at__isnull=False,
            )
            # The case manager is told of the addendum to the packet.
            and _exists(Notification, user=s.users["case_manager"], event="feedback_addendum")
        ),
    ),
    "request_withdraw": Effect(
        done=lambda s, who, r: _reread(s.R).status == AttendanceRequest.Status.WITHDRAWN,
    ),
    "request_decide": Effect(
        data=lambda s, who: {
            "deny-version": str(s.R.version),
            "deny-deny_reason": AttendanceRequest.DenyReason.OTHER_STUDENT,
            "deny-decision_note": "",
        },
        done=lambda s, who, r: (
            (req := _reread(s.R)).status == AttendanceRequest.Status.DENIED
            and req.decided_by_id == s.users[who].pk
        ),
    ),
    "meeting_schedule": Effect(
        data=lambda s, who: {
            "kind": Meeting.Kind.ANNUAL_REVIEW,
            **_local_fields(s, "starts_at", s.now + datetime.timedelta(days=30), "10:00"),
            "duration": "60",
            "location": "Room 210",
            "guests": "",
            "short_notice_reason": "",
        },
        # The preview, and nothing scheduled.
        done=lambda s, who, r: (
            r.context["preview"] is not None and Meeting.objects.filter(student=s.S).count() == 3
        ),
    ),
    "meeting_reschedule": Effect(
        data=lambda s, who: {
            **_local_fields(s, "starts_at", s.now + datetime.timedelta(days=21), "10:00"),
            "duration": "60",
            "reason": "The room is booked",
            "short_notice_reason": "",
        },
        done=lambda s, who, r: (
            _reread(s.M).starts_at > s.M.starts_at
            and _exists(
                AuditEvent,
                action="meeting.rescheduled",
                actor=s.users[who],
                object_id=str(s.M.pk),
            )
        ),
    ),
    "meeting_cancel": Effect(
        data=lambda s, who: {"reason": "The family moved away"},
        done=lambda s, who, r: _reread(s.M).state == Meeting.State.CANCELLED,
    ),
    "contact_attempt_add": Effect(
        data=lambda s, who: {
            **_local_fields(s, "attempted_at", s.now - datetime.timedelta(hours=2)),
            "method": "phone",
            "outcome": "Left a voicemail",
        },
        done=lambda s, who, r: _exists(ContactAttempt, meeting=s.M, made_by=s.users[who]),
    ),
    "meeting_held": Effect(
        done=lambda s, who, r: _exists(
            AuditEvent, action="meeting.held", actor=s.users[who], object_id=str(s.H.pk)
        ),
    ),
    "meeting_team": Effect(
        data=lambda s, who: {"add-user": str(s.users["other_case_manager"].pk)},
        done=lambda s, who, r: (
            _exists(Invitation, meeting=s.M2, user=s.users["other_case_manager"])
            and _exists(Notification, user=s.users["other_case_manager"], event="invited")
            # The family gets the updated notice.
            and _exists(MeetingNotice, meeting=s.M2, kind=MeetingNotice.Kind.UPDATED)
        ),
    ),
    "meeting_team[remove]": Effect(
        data=lambda s, who: {"remove": str(s.teacher_invitation.pk)},
        done=lambda s, who, r: (
            not _exists(Invitation, pk=s.teacher_invitation.pk)
            and _exists(Notification, user=s.users["teacher"], event="uninvited")
            and _exists(MeetingNotice, meeting=s.M2, kind=MeetingNotice.Kind.UPDATED)
        ),
    ),
    "notice_answer_record": Effect(
        data=lambda s, who: {
            "guardian": str(s.uninvited_guardian.pk),
            "answer": "attend",
            "method": "phone",
            "answered_on": s.now.date().isoformat(),
            "note": "",
        },
        done=lambda s, who, r: _exists(
            NoticeResponse,
            meeting=s.M2,
            guardian=s.uninvited_guardian,
            recorded_by=s.users[who],
            method="phone",
        ),
    ),
    "plan_upload": Effect(
        data=lambda s, who: {
            "file": SimpleUploadedFile("plan.pdf", pdf_bytes(), "application/pdf")
        },
        done=lambda s, who, r: _exists(Plan, meeting=s.H, version=3, uploaded_by=s.users[who]),
    ),
    "plan_finalize": Effect(
        done=lambda s, who, r: (
            _reread(s.P2).finalized_at is not None
            # The copies go out (to the guardians, and the SECAs who did not attend).
            and _exists(PlanDelivery, plan=s.P2, recipient=s.users["invited_guardian"])
        ),
    ),
    "notice_answer": Effect(
        data=lambda s, who: {"answer-answer": "not_attend", "answer-note": ""},
        done=lambda s, who, r: _exists(
            NoticeResponse, meeting=s.M, guardian__user=s.users[who], answer="not_attend"
        ),
    ),
    "parent_wish": Effect(
        data=lambda s, who: {"wish-wish": "attend", "wish-note": ""},
        done=lambda s, who, r: _exists(
            ParentWish, meeting=s.M, guardian__user=s.users[who], wish="attend"
        ),
    ),
    "delivery_open": Effect(
        method="GET",
        done=lambda s, who, r: (
            _reread(s.delivery).acknowledged_at is not None
            and urlsplit(r["Location"]).path == reverse("plan_download", args=[s.P1.pk])
        ),
    ),
    "stay_request_create": Effect(
        data=lambda s, who: {"occasion": StayRequest.Occasion.REASSIGNMENT, "note": "MATRIX"},
        done=lambda s, who, r: (
            _exists(StayRequest, student=s.S, seca=s.users[who], note="MATRIX", school=s.A)
            # A's approvers are told; B's are not.
            and _exists(Notification, user=s.users["principal"], url__contains="/stay/")
            and not _exists(Notification, user=s.users["old_principal"], url__contains="/stay/")
        ),
    ),
    "stay_request_create_classroom": Effect(
        data=lambda s, who: {
            "classroom": f"{s.A.pk}:Matrix reading group",
            "occasion": StayRequest.Occasion.NEXT_YEAR,
            "note": "MATRIX",
        },
        done=lambda s, who, r: (
            _exists(StayRequest, classroom="Matrix reading group", seca=s.users[who], school=s.A)
            # A's approvers are told; B's are not.
            and _exists(Notification, user=s.users["designee_ap"], url__contains="/stay/")
            and not _exists(Notification, user=s.users["old_principal"], url__contains="/stay/")
        ),
    ),
    "stay_request_withdraw[classroom]": Effect(
        done=lambda s, who, r: _reread(s.STC).status == StayRequest.Status.WITHDRAWN,
    ),
    "stay_request_decide[classroom]": Effect(
        data=lambda s, who: {"approve-version": str(s.STC.version), "approve": "1"},
        done=lambda s, who, r: (
            (stay := _reread(s.STC)).status == StayRequest.Status.APPROVED
            and stay.decided_by_id == s.users[who].pk
            and _exists(Notification, user=s.users["seca"], url__contains="/stay/")
        ),
    ),
    "stay_request_withdraw": Effect(
        done=lambda s, who, r: _reread(s.ST).status == StayRequest.Status.WITHDRAWN,
    ),
    "stay_request_decide": Effect(
        data=lambda s, who: {
            "deny-version": str(s.ST.version),
            "deny-deny_reason": StayRequest.DenyReason.STAFFING,
            "deny-decision_note": "",
        },
        done=lambda s, who, r: (
            (stay := _reread(s.ST)).status == StayRequest.Status.DENIED
            and stay.decided_by_id == s.users[who].pk
            and _exists(Notification, user=s.users["seca"], url__contains="/stay/")
        ),
    ),
    "aide_support_edit": Effect(
        data=lambda s, who: {"aide_support": "one_to_one", "aide_minutes_per_day": "300"},
        done=lambda s, who, r: (
            (student := _reread(s.S)).aide_minutes_per_day == 300
            # seca and approved_seca are S's SECAs: the support is staffed.
            and student.unstaffed_since is None
        ),
    ),
    "designees": Effect(
        data=lambda s, who: {"designee": str(s.users["other_case_manager"].pk)},
        done=lambda s, who, r: _exists(
            Designation, school=s.A, designee=s.users["other_case_manager"]
        ),
    ),
    "designee_remove": Effect(
        done=lambda s, who, r: not _exists(Designation, pk=s.designation.pk),
    ),
    "guardian_invite": Effect(
        data=lambda s, who: {f"g{s.uninvited_guardian.pk}-email": "new.parent@example.net"},
        done=lambda s, who, r: _exists(
            GuardianInvite,
            guardian=s.uninvited_guardian,
            email="new.parent@example.net",
            invited_by=s.users[who],
        ),
    ),
    "roster_import_list": Effect(
        data=lambda s, who: {
            "export": SimpleUploadedFile("export.zip", _export_zip(), "application/zip")
        },
        done=lambda s, who, r: _exists(
            RosterImport, uploaded_by=s.users[who], status=RosterImport.Status.PENDING
        ),
    ),
    "roster_import_confirm": Effect(
        done=lambda s, who, r: (
            (ri := _reread(s.roster_checked)).status == RosterImport.Status.RUNNING
            and ri.confirmed_by_id == s.users[who].pk
        ),
    ),
    "roster_invite_families": Effect(
        done=lambda s, who, r: _reread(s.roster_done).invites_requested_by_id == s.users[who].pk,
    ),
    "training_record": Effect(
        data=lambda s, who: {
            "seca": str(s.users["seca"].pk),
            "training": str(s.training.pk),
            "completed_on": timezone.localdate().isoformat(),
        },
        done=lambda s, who, r: _exists(
            TrainingCompletion, seca=s.users["seca"], recorded_by=s.users[who], school=s.A
        ),
    ),
    "training_import": Effect(
        data=lambda s, who: {
            "file": SimpleUploadedFile(
                "completions.csv",
                f"email,training_code,completed_on\n{s.users['other_seca'].email},"
                f"{s.training.code},{timezone.localdate().isoformat()}\n".encode(),
                "text/csv",
            )
        },
        done=lambda s, who, r: _exists(
            TrainingCompletion, seca=s.users["other_seca"], source="import"
        ),
    ),
    "policy_list": Effect(
        data=lambda s, who: {
            "school_year": str(s.policy.school_year),
            "title": "MATRIX policy",
            "file": SimpleUploadedFile("policy.pdf", pdf_bytes(), "application/pdf"),
        },
        done=lambda s, who, r: _exists(
            PolicyCopy, policy__title="MATRIX policy", seca=s.users["seca"]
        ),
    ),
    "policy_detail": Effect(
        method="GET",
        # A SECA's opening is recorded, once; anyone else's records nothing.
        done=lambda s, who, r: (
            _exists(PolicyCopy, policy=s.policy, seca=s.users[who], acknowledged_at__isnull=False)
            if who in SECA_ROLES
            else not _exists(PolicyCopy, policy=s.policy, seca=s.users[who])
        ),
    ),
    "school_invitations_send": Effect(
        data=lambda s, who: {"guardian": str(s.uninvited_guardian.pk)},
        # No email on file: a letter with a one-time code.
        done=lambda s, who, r: _exists(
            GuardianInvite,
            guardian=s.uninvited_guardian,
            invited_by=s.users[who],
            code__isnull=False,
        ),
    ),
}


# URLs of these urlconfs that are public, keyed by a secret (tests/test_url_auth.py).
PUBLIC = {"invite_accept", "calendar_feed", "invite_code"}

# The records of a student: a refusal on one that exists is written to the audit trail
# (34 CFR 300.614), with the object's model name.
AUDITED = {
    "M": "meeting",
    "M2": "meeting",
    "H": "meeting",
    "R": "attendancerequest",
    "P1": "plan",
    "P2": "plan",
    "S": "student",
    "ST": "stayrequest",
    "STC": "stayrequest",
    "delivery": "plandelivery",
    "uninvited_guardian": "guardian",
}


# --- What must never show: texts of the record, and who may read each ---------------------

SECRETS = {
    "S's name": "Jordan Quintanilla",
    "R's note": "Knows the visual schedule well",
    "the denial note": "Short-staffed in room 12",
    "the coverage note": "Ms Okafor takes the reading group",
    "co_guardian's answer": "Tuesdays after three work better",
    "co_guardian's wish": "Please keep the aide in class",
    "approved_seca's feedback": "Loves the trampoline breaks",
}
_PAPERS = {"the denial note", "co_guardian's answer", "co_guardian's wish"}
# Persona -> the secrets no page they open may contain. Staff of A may read them all.
FORBIDDEN = {
    **{who: set(SECRETS) for who in OUTSIDERS},
    # A parent reads neither the SECAs' requests, decisions and feedback nor the other
    # parent's answers.
    "invited_guardian": set(SECRETS) - {"S's name"},
    "co_guardian": set(SECRETS) - {"S's name", "co_guardian's answer", "co_guardian's wish"},
    # A SECA reads their own request and feedback, nobody else's, and not the papers.
    # (approved_seca's own request shows its coverage note: allowed here, to be decided.)
    "seca": _PAPERS | {"the coverage note", "approved_seca's feedback"},
    "approved_seca": _PAPERS | {"R's note"},
}


# --- The scenario ---------------------------------------------------------------------------


def pdf_bytes() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _export_zip() -> bytes:
    """A .zip to upload: what it holds is checked by a job, which the rolled-back call
    never runs."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("manifest.csv", "propertyName,value\noneroster.version,1.1\n")
    return out.getvalue()


def _reread(obj):
    return type(obj).objects.get(pk=obj.pk)


def _local_fields(s, prefix, moment, hhmm=None):
    """A split date and time field, as the school's form reads it (M is B's meeting)."""
    local = timezone.localtime(moment, zoneinfo.ZoneInfo(s.B.timezone))
    return {
        f"{prefix}_0": local.date().isoformat(),
        f"{prefix}_1": hhmm or local.strftime("%H:%M"),
    }


def _stored_plan(*, meeting, version, uploaded_by, finalized_at=None) -> Plan:
    plan = Plan(
        meeting=meeting,
        version=version,
        sha256="0" * 64,
        uploaded_by=uploaded_by,
        finalized_at=finalized_at,
    )
    plan.file.save(f"plan-{meeting.pk}-v{version}.pdf", ContentFile(pdf_bytes()), save=False)
    plan.save()
    return plan


def build_scenario() -> SimpleNamespace:
    now = timezone.now().replace(microsecond=0)
    A = f.SchoolFactory(name="Skinner North")
    B = f.SchoolFactory(name="Old School")
    C = f.SchoolFactory(name="Elsewhere")
    K = Role.Kind

    def person(name, *roles):
        return f.UserFactory(full_name=name.replace("_", " ").title(), roles=list(roles))

    u = {
        "district_admin": person("district_admin", (K.DISTRICT_ADMIN, None)),
        "union_rep": person("union_rep", (K.UNION_REP, None)),
        "principal": person("principal", (K.PRINCIPAL, A)),
        "designee_ap": person("designee_ap", (K.ASSISTANT_PRINCIPAL, A)),
        "ap": person("ap", (K.ASSISTANT_PRINCIPAL, A)),
        "case_manager": person("case_manager", (K.CASE_MANAGER, A)),
        "other_case_manager": person("other_case_manager", (K.CASE_MANAGER, A)),
        "teacher": person("teacher", (K.TEACHER, A)),
        "seca": person("seca", (K.SECA, A)),
        "approved_seca": person("approved_seca", (K.SECA, A)),
        "ended_seca": person("ended_seca", (K.SECA, B)),
        "other_seca": person("other_seca", (K.SECA, A)),
        "other_principal": person("other_principal", (K.PRINCIPAL, C)),
        "old_principal": person("old_principal", (K.PRINCIPAL, B)),
        "old_case_manager": person("old_case_manager", (K.CASE_MANAGER, B)),
        "deactivated": person("deactivated", (K.CASE_MANAGER, A)),
    }
    # Two-step sign-in is required of district administrators: set up, as conftest does.
    TOTP.activate(u["district_admin"], generate_totp_secret())
    User.objects.filter(pk=u["deactivated"].pk).update(is_active=False)
    designation = f.DesignationFactory(school=A, designee=u["designee_ap"], named_by=u["principal"])

    # S at B, with B's case manager and B's SECA; a meeting scheduled there.
    S = f.StudentFactory(
        school=B, case_manager=u["old_case_manager"], first_name="Jordan", last_name="Quintanilla"
    )
    f.AssignmentFactory(student=S, staff=u["ended_seca"])
    M = f.MeetingFactory(
        student=S, scheduled_by=u["old_case_manager"], starts_at=now + datetime.timedelta(days=14)
    )
    f.InvitationFactory(meeting=M, user=u["ended_seca"], role="SECA")
    f.AttendanceRequestFactory(
        meeting=M,
        seca=u["ended_seca"],
        status=AttendanceRequest.Status.DENIED,
        decided_by=u["old_principal"],
        decided_at=now - datetime.timedelta(days=2),
        deny_reason=AttendanceRequest.DenyReason.OTHER,
        decision_note=SECRETS["the denial note"],
    )

    # The move: B's SECA's assignment ends, B's case manager is cleared; A's takes over.
    S = student_transfer(actor=u["district_admin"], student=S, school=A)
    assert S.case_manager_id is None
    Student.objects.filter(pk=S.pk).update(case_manager=u["case_manager"])
    S.refresh_from_db()
    for who in ("seca", "approved_seca"):
        f.AssignmentFactory(student=S, staff=u[who])
    f.AssignmentFactory(student=f.StudentFactory(school=A), staff=u["other_seca"])

    # The family of S; another family at C.
    guardians = {}
    for who in ("invited_guardian", "co_guardian"):
        guardians[who] = f.GuardianFactory(
            student=S, with_account=True, full_name=who.replace("_", " ").title()
        )
        u[who] = guardians[who].user
    uninvited_guardian = f.GuardianFactory(student=S, full_name="Uninvited Parent", email="")
    u["other_guardian"] = f.GuardianFactory(
        student=f.StudentFactory(school=C), with_account=True
    ).user
    f.InvitationFactory(meeting=M, user=u["invited_guardian"], role="Parent")
    NoticeResponse.objects.create(
        meeting=M,
        guardian=guardians["co_guardian"],
        answer=NoticeResponse.Answer.ANOTHER_TIME,
        note=SECRETS["co_guardian's answer"],
    )
    ParentWish.objects.create(
        meeting=M,
        guardian=guardians["co_guardian"],
        wish=ParentWish.Wish.NOT_ATTEND,
        note=SECRETS["co_guardian's wish"],
    )

    # The SECAs' requests on M: R pending; approved_seca's approved, with coverage.
    R = f.AttendanceRequestFactory(meeting=M, seca=u["seca"], note=SECRETS["R's note"])
    f.AttendanceRequestFactory(
        meeting=M,
        seca=u["approved_seca"],
        status=AttendanceRequest.Status.APPROVED,
        decided_by=u["principal"],
        decided_at=now - datetime.timedelta(days=1),
        coverage_note=SECRETS["the coverage note"],
    )
    f.InvitationFactory(meeting=M, user=u["approved_seca"], role="SECA (requested to attend)")
    f.SecaFeedbackFactory(
        meeting=M,
        seca=u["approved_seca"],
        strengths=SECRETS["approved_seca's feedback"],
        submitted_at=now - datetime.timedelta(days=1),
    )

    M2 = f.MeetingFactory(
        student=S, scheduled_by=u["case_manager"], starts_at=now + datetime.timedelta(days=20)
    )
    H = f.MeetingFactory(
        student=S,
        scheduled_by=u["case_manager"],
        starts_at=now - datetime.timedelta(days=10),
        state=Meeting.State.HELD,
        held_at=now - datetime.timedelta(days=10) + datetime.timedelta(hours=1),
    )
    # After H: seca's request expired undecided; approved_seca's approved, marked absent.
    f.AttendanceRequestFactory(meeting=H, seca=u["seca"], status=AttendanceRequest.Status.EXPIRED)
    f.AttendanceRequestFactory(
        meeting=H,
        seca=u["approved_seca"],
        status=AttendanceRequest.Status.APPROVED,
        decided_by=u["principal"],
        decided_at=now - datetime.timedelta(days=12),
        coverage_note="The class is at music",
    )
    f.InvitationFactory(
        meeting=H, user=u["approved_seca"], role="SECA (requested to attend)", attended=False
    )
    teacher_invitation = f.InvitationFactory(meeting=M2, user=u["teacher"], role="Teacher")
    P1 = _stored_plan(
        meeting=H,
        version=1,
        uploaded_by=u["case_manager"],
        finalized_at=now - datetime.timedelta(days=9),
    )
    P2 = _stored_plan(meeting=H, version=2, uploaded_by=u["case_manager"])
    delivery = PlanDelivery.objects.create(
        plan=P1,
        recipient=u["seca"],
        reason=PlanDelivery.Reason.SECA_NOT_HONORED,
        sent_at=now - datetime.timedelta(days=9),
    )
    # seca asks to stay with S next year (pending).
    ST = f.StayRequestFactory(student=S, seca=u["seca"])
    # ... and with a classroom of A (pending); a group of their schedule at A to ask for.
    f.ScheduleBlockFactory(
        seca=u["seca"], school=A, student=None, group_name="Matrix reading group"
    )
    STC = f.StayRequestFactory(student=None, classroom="Room 12", school=A, seca=u["seca"])
    # Something unread for everyone (notifications_mark_read).
    Notification.objects.bulk_create(
        Notification(user=user, message="Matrix notification") for user in u.values()
    )

    # Roster imports: one checked, waiting for confirmation; one done.
    roster_checked, roster_done = (
        RosterImport.objects.create(
            uploaded_by=u["district_admin"], source="export.zip", status=status
        )
        for status in (RosterImport.Status.DRY_RUN_DONE, RosterImport.Status.DONE)
    )

    training = f.TrainingFactory(code="matrix-training")
    policy = f.RestraintPolicyFactory(uploaded_by=u["district_admin"])

    assert Meeting.objects.get(pk=M.pk).school_id == B.pk  # scheduled at B, before the move
    assert not Assignment.objects.current().filter(staff=u["ended_seca"]).exists()
    return SimpleNamespace(
        # Every call is rolled back: what it wrote comes after these.
        last_audit_event=AuditEvent.objects.order_by("-pk").values_list("pk", flat=True)[0],
        last_notification=Notification.objects.order_by("-pk").values_list("pk", flat=True)[0],
        last_delivery=delivery.pk,
        names={user.pk: who for who, user in u.items()},
        now=now,
        A=A,
        B=B,
        C=C,
        users=u,
        S=S,
        M=M,
        M2=M2,
        H=H,
        R=R,
        ST=ST,
        STC=STC,
        P1=P1,
        P2=P2,
        delivery=delivery,
        designation=designation,
        uninvited_guardian=uninvited_guardian,
        teacher_invitation=teacher_invitation,
        roster_checked=roster_checked,
        roster_done=roster_done,
        training=training,
        policy=policy,
    )


def world(s) -> dict:
    """The records a call may change (the audit trail aside): equal before and after a
    refused call, different after an accepted one."""
    return {
        "meetings": list(
            Meeting.objects.order_by("pk").values_list("pk", "state", "starts_at", "updated_at")
        ),
        "requests": list(
            AttendanceRequest.objects.order_by("pk").values_list("pk", "status", "version")
        ),
        "invitations": list(Invitation.objects.order_by("pk").values_list("pk", "attended")),
        "feedback": list(
            SecaFeedback.objects.order_by("pk").values_list("pk", "strengths", "updated_at")
        ),
        "plans": list(Plan.objects.order_by("pk").values_list("pk", "finalized_at")),
        "deliveries": list(
            PlanDelivery.objects.order_by("pk").values_list("pk", "acknowledged_at")
        ),
        "answers": list(NoticeResponse.objects.order_by("pk").values_list("pk", "answer", "note")),
        "notices": MeetingNotice.objects.count(),
        "wishes": list(ParentWish.objects.order_by("pk").values_list("pk", "wish", "note")),
        "contact_attempts": ContactAttempt.objects.count(),
        "designations": list(Designation.objects.order_by("pk").values_list("pk", flat=True)),
        "guardians": list(Guardian.objects.order_by("pk").values_list("pk", "email", "user_id")),
        "invites": GuardianInvite.objects.count(),
        "roster_imports": list(
            RosterImport.objects.order_by("pk").values_list(
                "pk", "status", "confirmed_by_id", "invites_requested_at"
            )
        ),
        "notifications": list(Notification.objects.order_by("pk").values_list("pk", "read_at")),
        "stays": list(StayRequest.objects.order_by("pk").values_list("pk", "status", "version")),
        "tokens": list(User.objects.order_by("pk").values_list("pk", "calendar_token")),
        "students": list(
            Student.objects.order_by("pk").values_list("pk", "school_id", "case_manager_id")
        ),
        "training_completions": TrainingCompletion.objects.count(),
        "policies": RestraintPolicy.objects.count(),
        "policy_copies": list(
            PolicyCopy.objects.order_by("pk").values_list("pk", "acknowledged_at")
        ),
    }


# --- Running a cell -------------------------------------------------------------------------


def expected(table, who: str) -> str:
    if who == "deactivated":
        return SIGN_IN
    if table == POST_ONLY:
        return "405"
    for outcome, people in table.items():
        if who in people:
            return str(outcome)
    return "404"


def outcome_of(response) -> str:
    if response.status_code == 302 and urlsplit(response["Location"]).path == reverse(
        "account_login"
    ):
        return SIGN_IN
    return str(response.status_code)


def leaked(response, who: str) -> list[str]:
    """The secrets this persona may not read that the response shows."""
    if response.status_code != 200 or not response["Content-Type"].startswith("text/"):
        return []
    body = response.content.decode()
    return sorted(label for label in FORBIDDEN.get(who, ()) if SECRETS[label] in body)


def outsiders_told(s, *, copies: bool) -> list[str]:
    """Who was sent something about S (a notification; with `copies`, a copy of the plan)
    without seeing S: an invitation or a past role grants nothing."""
    insiders = [s.users[who].pk for who in SEES_S]
    told = {
        s.names[user_id]
        for user_id in Notification.objects.filter(pk__gt=s.last_notification)
        .exclude(user__in=insiders)
        .values_list("user_id", flat=True)
    }
    if copies:
        told |= {
            s.names[user_id]
            for user_id in PlanDelivery.objects.filter(pk__gt=s.last_delivery)
            .exclude(recipient__in=insiders)
            .values_list("recipient_id", flat=True)
        }
    return sorted(told)


def run_cell(client, s, row: Row, url: str, method: str, who: str) -> list[str]:
    """One persona, one method: the problems found (empty when the cell is right)."""
    table = row.get if method == "GET" else row.post
    want = expected(table, who)
    user = s.users[who]
    effect = EFFECTS.get(row.id)
    problems = []
    with transaction.atomic():
        # Pages read are checked for what they show; what may change is checked on POST
        # and on the GET that records (a snapshot costs a dozen queries).
        before = world(s) if method == "POST" or (effect and effect.method == method) else None
        if method == "GET":
            response = client.get(url)
        else:
            data = effect.data(s, who) if effect else {}
            response = client.post(url, data)
        try:
            got = outcome_of(response)
            if got != want:
                problems.append(got)
            if leaked_labels := leaked(response, who):
                problems.append("shows " + ", ".join(leaked_labels))
            if told := outsiders_told(s, copies=before is not None):
                problems.append("tells " + ", ".join(told) + ", who do not see S")
            accepted = got == want and want in ("200", "302")
            if effect and effect.method == method and accepted:
                if not effect.done(s, who, response):
                    problems.append("accepted, but did not do its work")
            elif before is not None and world(s) != before:
                problems.append("changed records")
            if got in ("403", "404") and row.obj in AUDITED:
                # One denied event, on this record, by this person (34 CFR 300.614).
                denials = list(
                    AuditEvent.objects.filter(pk__gt=s.last_audit_event, denied=True).values_list(
                        "actor_id", "object_type", "object_id"
                    )
                )
                record = (user.pk, AUDITED[row.obj], str(getattr(s, row.obj).pk))
                if denials != [record]:
                    problems.append(f"refusal audited as {denials}, not once as {record}")
        finally:
            if response.streaming:
                # A FileResponse holds the plan open until read; the test client closes
                # it at the end of the content, as a WSGI server would. (Calling close()
                # here would send request_finished, which closes the connection.)
                b"".join(response.streaming_content)
            transaction.set_rollback(True)
    if problems:
        return [f"{who:<20} {method:<5} {want:<8} " + "; ".join(problems)]
    return []


@pytest.mark.django_db
@pytest.mark.parametrize("row", MATRIX, ids=[row.id for row in MATRIX])
def test_access_matrix(row, caplog):
    # Hundreds of refusals: django.request's warnings (with tracebacks) would bury a failure.
    caplog.set_level(logging.ERROR, logger="django.request")
    s = build_scenario()
    url = reverse(row.name, args=[getattr(s, row.obj).pk] if row.obj else [])
    methods = (["GET"] if row.get is not None else []) + (["POST"] if row.post is not None else [])
    mismatches = []
    for who in PERSONAS:
        client = Client()  # a new session: nothing to flush
        client.force_login(s.users[who])
        for method in methods:
            mismatches += run_cell(client, s, row, url, method, who)
    if mismatches:
        pytest.fail(
            f"{row.id} ({url}): {len(mismatches)} cell(s) disagree with the access table\n"
            f"  {'persona':<20} {'call':<5} {'expected':<8} got\n  " + "\n  ".join(mismatches),
            pytrace=False,
        )


# --- The matrix covers every URL, action and right ------------------------------------------


def _walk(patterns):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns)
        elif isinstance(entry, URLPattern):
            yield entry.name or str(entry.pattern)


URL_NAMES = sorted(set(_walk(staff.urls.urlpatterns)) | set(_walk(meetings.urls.urlpatterns)))


@pytest.mark.parametrize("name", [name for name in URL_NAMES if name not in PUBLIC])
def test_every_url_pattern_has_rows_in_the_matrix(name):
    assert any(row.name == name for row in MATRIX), (
        f"The URL pattern {name!r} has no row in the access matrix: add one to "
        "tests/test_access_matrix.py saying who gets what."
    )


def test_every_row_names_a_url_of_these_urlconfs():
    unknown = sorted(({row.name for row in MATRIX} | PUBLIC) - set(URL_NAMES))
    assert not unknown, f"Rows (or public pages) for URLs that no longer exist: {unknown}"


def test_every_action_and_right_is_exercised():
    assert set(COVERS) <= {row.id for row in MATRIX}, "COVERS names a row not in MATRIX"
    covered = set().union(*(_members(members) for members in COVERS.values()))
    missing = sorted((_members(Action) | _members(Right)) - covered)
    assert not missing, f"No row of the access matrix exercises {missing}"


def test_every_state_change_says_what_it_must_do():
    changes = {row.id for row in MATRIX if row.post is not None} | {
        "delivery_open",
        "policy_detail",
    }
    assert changes == set(EFFECTS), (
        f"Rows with a POST but no Effect: {sorted(changes - set(EFFECTS))}; "
        f"Effects without a row: {sorted(set(EFFECTS) - changes)}"
    )
