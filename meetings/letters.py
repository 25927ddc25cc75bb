"""What each email of the meetings app says: one builder per kind, each returning a
staff.letters.Letter in the active language (the recipient's). Notifications are built
from their event and params when they go (EVENTS); reminders and plan copies use the same
facts and footers. Subjects name what happened, the student (first name and initial) and
the day; the facts give the full date with year, time and time zone, the place, the video
link and, for a decision, the outcome, the note and the coverage; the button goes to the
exact page; the footer says why the reader gets it."""

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from staff.letters import Letter, day, greeting, short_name, when

from .models import AttendanceRequest, Meeting, NoticeResponse, ParentWish
from .services import calendars


def _names(meeting: Meeting) -> dict:
    tz = meeting.school.tzinfo
    return {
        "student": short_name(meeting.student),
        "day": day(meeting.starts_at, tz),
        "school": meeting.school.name,
        "kind": meeting.get_kind_display(),
    }


def meeting_facts(meeting: Meeting) -> list[tuple[str, str]]:
    """When (with year, time and time zone), the purpose, where, and how to join."""
    tz = meeting.school.tzinfo
    facts = [
        (_("When"), _("%(start)s to %(end)s") % {
            "start": when(meeting.starts_at, tz),
            "end": when(meeting.ends_at, tz),
        }),
        (_("Purpose"), meeting.get_kind_display()),
        (_("Student"), meeting.student.full_name),
    ]  # fmt: skip
    if meeting.location:
        where = ", ".join(
            filter(None, [meeting.location, meeting.school.name, meeting.school.address])
        )
        facts.append((_("Where"), where))
    if meeting.video_link:
        facts.append((_("Video link"), meeting.video_link))
    if meeting.phone_dial_in:
        facts.append((_("By phone"), meeting.phone_dial_in))
    return facts


def meeting_ics(meeting: Meeting, user) -> list[tuple[str, bytes, str]]:
    """The meeting as a calendar file for the reader (cancelled ones too: the calendar then
    removes it), attached when the email goes (a letter's `calendar`). One query."""
    annotated = calendars.with_sequence(
        Meeting.objects.select_related("student", "school").filter(pk=meeting.pk)
    ).get()
    body = calendars.meetings_ics([annotated], user=user, name=_("IEP meeting"))
    return [(f"iep-meeting-{meeting.pk}.ics", body, "text/calendar; charset=utf-8; method=PUBLISH")]


def _meeting_page(meeting: Meeting, label=None) -> tuple[str, str]:
    return (label or _("Open the meeting"), reverse("meeting_detail", args=[meeting.pk]))


# --- Why the reader gets it ---------------------------------------------------------------


def _because_asked() -> str:
    return _("You receive this email because you asked to attend this meeting.")


def _because_approver(meeting: Meeting) -> str:
    return _("You receive this email because you decide SECA requests at %(school)s.") % {
        "school": meeting.student.school.name
    }


def _because_invited() -> str:
    return _("You receive this email because you are invited to this meeting.")


def _because_team(meeting: Meeting) -> str:
    return _("You receive this email because you run %(student)s's IEP meetings.") % {
        "student": meeting.student.full_name
    }


# --- Requests and decisions ----------------------------------------------------------------


def request_submitted(user, meeting: Meeting, request: AttendanceRequest, params) -> Letter:
    names = {**_names(meeting), "seca": request.seca.full_name}
    paragraphs = [
        _("%(seca)s asks to attend the IEP meeting of %(student)s: as a SECA who supports them, they may ask, and the principal or a designee decides.") % {**names, "student": meeting.student.full_name},
    ]  # fmt: skip
    if request.note:
        paragraphs.append(_("Their note: “%(note)s”") % {"note": request.note})
    return Letter(
        subject=_("%(seca)s asks to attend %(student)s's IEP meeting on %(day)s") % names,
        greeting=greeting(user.get_short_name()),
        paragraphs=paragraphs,
        facts=meeting_facts(meeting),
        action=(_("Decide the request"), reverse("request_decide", args=[request.pk])),
        reason=_because_approver(meeting),
        school=meeting.student.school,
    )


def _decision_facts(request: AttendanceRequest) -> list[tuple[str, str]]:
    facts = [(_("Decided by"), request.decided_by.full_name)] if request.decided_by else []
    if request.status == AttendanceRequest.Status.DENIED:
        facts.append((_("Reason"), request.get_deny_reason_display()))
    if request.covered_by:
        facts.append(
            (_("Coverage"), _("%(name)s covers your students.") % {"name": request.covered_by.full_name})
        )  # fmt: skip
    if request.coverage_note:
        facts.append((_("About the coverage"), request.coverage_note))
    if request.decision_note:
        facts.append((_("Note"), request.decision_note))
    return facts


def request_approved(user, meeting: Meeting, request: AttendanceRequest, params) -> Letter:
    names = _names(meeting)
    return Letter(
        subject=_("Approved: your request to attend %(student)s's IEP meeting on %(day)s") % names,
        greeting=greeting(user.get_short_name()),
        paragraphs=[
            _(
                "%(who)s approved your request to attend the IEP meeting of %(student)s. The meeting is in your calendar file, attached."
            )
            % {
                "who": request.decided_by.full_name,
                "student": meeting.student.full_name,
            },
        ],  # fmt: skip
        facts=meeting_facts(meeting) + _decision_facts(request),
        action=_meeting_page(meeting),
        reason=_because_asked(),
        school=meeting.student.school,
        calendar=meeting,
    )


def request_denied(user, meeting: Meeting, request: AttendanceRequest, params) -> Letter:
    names = _names(meeting)
    return Letter(
        subject=_("Denied: your request to attend %(student)s's IEP meeting on %(day)s") % names,
        greeting=greeting(user.get_short_name()),
        paragraphs=[
            _("%(who)s denied your request to attend the IEP meeting of %(student)s.")
            % {
                "who": request.decided_by.full_name,
                "student": meeting.student.full_name,
            },
            _(
                "Please give your feedback before the meeting, in the agreed format: it reaches the team with the meeting's papers, and you will receive a copy of the finalized plan."
            ),
        ],  # fmt: skip
        facts=meeting_facts(meeting) + _decision_facts(request),
        action=(_("Give your feedback"), reverse("feedback_edit", args=[meeting.pk])),
        reason=_because_asked(),
        school=meeting.student.school,
    )


def request_expired(user, meeting: Meeting, request: AttendanceRequest, params) -> Letter:
    names = _names(meeting)
    return Letter(
        subject=_("Not decided in time: your request to attend %(student)s's IEP meeting") % names,
        greeting=greeting(user.get_short_name()),
        paragraphs=[
            _(
                "Your request to attend the IEP meeting of %(student)s was not decided before the meeting started, so it counts as not honored."
            )
            % {"student": meeting.student.full_name},
            _(
                "Please give your feedback in the agreed format: it reaches the team with the meeting's papers, and you will receive a copy of the finalized plan."
            ),
        ],  # fmt: skip
        facts=meeting_facts(meeting),
        action=(_("Give your feedback"), reverse("feedback_edit", args=[meeting.pk])),
        reason=_because_asked(),
        school=meeting.student.school,
    )


def feedback_submitted(user, meeting: Meeting, request, params) -> Letter:
    names = {**_names(meeting), "seca": params["seca"]}
    return Letter(
        subject=_("%(seca)s gave feedback for %(student)s's IEP meeting on %(day)s") % names,
        greeting=greeting(user.get_short_name()),
        paragraphs=[
            _("%(seca)s, a SECA who supports %(student)s, submitted feedback in the agreed format. It is with the meeting's papers.") % {**names, "student": meeting.student.full_name},
        ],  # fmt: skip
        facts=meeting_facts(meeting),
        action=(_("Read the feedback"), reverse("meeting_detail", args=[meeting.pk]) + "#feedback-title"),
        reason=_because_team(meeting),
        school=meeting.student.school,
    )  # fmt: skip


def feedback_addendum(user, meeting: Meeting, request, params) -> Letter:
    names = {**_names(meeting), "seca": params["seca"]}
    return Letter(
        subject=_("%(seca)s gave feedback after %(student)s's IEP meeting on %(day)s") % names,
        greeting=greeting(user.get_short_name()),
        paragraphs=[
            _("%(seca)s, a SECA who supports %(student)s, could not attend the meeting and gave feedback in the agreed format after it. It is an addendum to the meeting packet, marked with the day it was given.") % {**names, "student": meeting.student.full_name},
        ],  # fmt: skip
        facts=meeting_facts(meeting),
        action=(_("Read the addendum"), reverse("meeting_packet", args=[meeting.pk]) + "#addendum"),
        reason=_because_team(meeting),
        school=meeting.student.school,
    )  # fmt: skip


def coverage_assigned(user, meeting: Meeting, request: AttendanceRequest, params) -> Letter:
    tz = meeting.school.tzinfo
    names = {**_names(meeting), "seca": request.seca.full_name}
    paragraphs = [
        _("%(approver)s approved %(seca)s's request to attend an IEP meeting and named you to cover their duties while they are at it, from %(start)s to %(end)s.") % {
            "approver": request.decided_by.full_name,
            "seca": request.seca.full_name,
            "start": when(meeting.starts_at, tz),
            "end": when(meeting.ends_at, tz),
        },
    ]  # fmt: skip
    if params.get("duties"):
        paragraphs.append(
            _("Their schedule then: %(duties)s.") % {"duties": "; ".join(params["duties"])}
        )
    if request.coverage_note:
        paragraphs.append(_("About the coverage: “%(note)s”") % {"note": request.coverage_note})
    return Letter(
        subject=_("You cover for %(seca)s on %(day)s") % names,
        greeting=greeting(user.get_short_name()),
        paragraphs=paragraphs,
        facts=[(_("When"), _("%(start)s to %(end)s") % {"start": when(meeting.starts_at, tz), "end": when(meeting.ends_at, tz)}), (_("Whom you cover for"), request.seca.full_name)],
        action=_meeting_page(meeting),
        reason=_("You receive this email because you were named to cover a SECA's duties during an IEP meeting at %(school)s.") % {"school": meeting.school.name},
        school=meeting.student.school,
    )  # fmt: skip


# --- The meeting itself ----------------------------------------------------------------------


def invited(user, meeting: Meeting, request, params) -> Letter:
    names = _names(meeting)
    return Letter(
        subject=_("Invitation: %(student)s's IEP meeting on %(day)s") % names,
        greeting=greeting(user.get_short_name()),
        paragraphs=[
            _(
                "You are invited to the IEP meeting of %(student)s. The meeting is in your calendar file, attached."
            )
            % {"student": meeting.student.full_name},
        ],  # fmt: skip
        facts=meeting_facts(meeting),
        action=_meeting_page(meeting),
        reason=_because_invited(),
        school=meeting.student.school,
        calendar=meeting,
    )


def uninvited(user, meeting: Meeting, request, params) -> Letter:
    names = _names(meeting)
    return Letter(
        subject=_("No longer invited: %(student)s's IEP meeting on %(day)s") % names,
        greeting=greeting(user.get_short_name()),
        paragraphs=[
            _(
                "The case manager took you off the team invited to the IEP meeting of %(student)s. You no longer need to attend."
            )
            % {"student": meeting.student.full_name},
        ],  # fmt: skip
        facts=meeting_facts(meeting),
        action=_meeting_page(meeting),
        reason=_("You receive this email because you were invited to this meeting."),
        school=meeting.student.school,
    )


def meeting_moved(user, meeting: Meeting, request, params) -> Letter:
    names = _names(meeting)
    return Letter(
        subject=_("Moved: %(student)s's IEP meeting is now on %(day)s") % names,
        greeting=greeting(user.get_short_name()),
        paragraphs=[
            _("The IEP meeting of %(student)s moved to a new time. Reason: %(reason)s")
            % {
                "student": meeting.student.full_name,
                "reason": meeting.change_reason,
            },
            _("The attached calendar file updates the meeting in your calendar."),
        ],  # fmt: skip
        facts=meeting_facts(meeting),
        action=_meeting_page(meeting),
        reason=_because_invited(),
        school=meeting.student.school,
        calendar=meeting,
    )


def approval_reopened(user, meeting: Meeting, request: AttendanceRequest, params) -> Letter:
    names = _names(meeting)
    return Letter(
        subject=_("Moved: your approval for %(student)s's IEP meeting needs a new decision")
        % names,
        greeting=greeting(user.get_short_name()),
        paragraphs=[
            _(
                "The IEP meeting of %(student)s moved to a new time, so your approved request to attend is back with the principal and designees: they check you are free at the new time."
            )
            % {"student": meeting.student.full_name},
        ],  # fmt: skip
        facts=meeting_facts(meeting),
        action=_meeting_page(meeting),
        reason=_because_asked(),
        school=meeting.student.school,
    )


def requests_reopened(user, meeting: Meeting, request, params) -> Letter:
    count = params["count"]
    names = {**_names(meeting), "count": count}
    return Letter(
        subject=ngettext(
            "Moved: %(count)d approved request for %(student)s's IEP meeting needs a new decision",
            "Moved: %(count)d approved requests for %(student)s's IEP meeting need a new decision",
            count,
        )
        % names,
        greeting=greeting(user.get_short_name()),
        paragraphs=[
            ngettext(
                "The IEP meeting of %(student)s moved to %(when)s. %(count)d SECA approved to attend must be decided again: check they are free at the new time.",
                "The IEP meeting of %(student)s moved to %(when)s. %(count)d SECAs approved to attend must be decided again: check they are free at the new time.",
                count,
            )
            % {
                **names,
                "student": meeting.student.full_name,
                "when": when(meeting.starts_at, meeting.school.tzinfo),
            },
        ],  # fmt: skip
        facts=meeting_facts(meeting),
        action=(_("Open the requests to decide"), reverse("approval_queue")),
        reason=_because_approver(meeting),
        school=meeting.student.school,
    )


def meeting_cancelled(user, meeting: Meeting, request, params) -> Letter:
    names = _names(meeting)
    paragraphs = [
        _("The IEP meeting of %(student)s on %(when)s was cancelled. Reason: %(reason)s")
        % {
            "student": meeting.student.full_name,
            "when": when(meeting.starts_at, meeting.school.tzinfo),
            "reason": meeting.change_reason,
        },
    ]
    if params.get("had_request"):
        paragraphs.append(_("Your request to attend it was cancelled with it."))
    paragraphs.append(_("The attached calendar file removes the meeting from your calendar."))
    return Letter(
        subject=_("Cancelled: %(student)s's IEP meeting on %(day)s") % names,
        greeting=greeting(user.get_short_name()),
        paragraphs=paragraphs,
        facts=meeting_facts(meeting),
        action=_meeting_page(meeting),
        reason=_because_asked() if params.get("had_request") else _because_invited(),
        school=meeting.student.school,
        calendar=meeting,
    )


# --- The family's answers --------------------------------------------------------------------


def parent_answered(user, meeting: Meeting, request, params) -> Letter:
    names = {**_names(meeting), "guardian": params["guardian"]}
    subjects = {
        NoticeResponse.Answer.WILL_ATTEND: _("%(guardian)s will attend %(student)s's IEP meeting on %(day)s"),
        NoticeResponse.Answer.ANOTHER_TIME: _("%(guardian)s asks for another time for %(student)s's IEP meeting on %(day)s"),
        NoticeResponse.Answer.WILL_NOT_ATTEND: _("%(guardian)s will not attend %(student)s's IEP meeting on %(day)s"),
    }  # fmt: skip
    paragraphs = [
        _("%(guardian)s answered the notice of meeting: %(answer)s.") % {
            "guardian": params["guardian"], "answer": NoticeResponse.Answer(params["answer"]).label,
        },
    ]  # fmt: skip
    if params.get("note"):
        paragraphs.append(_("Their note: “%(note)s”") % {"note": params["note"]})
    return Letter(
        subject=subjects[params["answer"]] % names,
        greeting=greeting(user.get_short_name()),
        paragraphs=paragraphs,
        facts=meeting_facts(meeting),
        action=(_("Open the meeting"), reverse("meeting_detail", args=[meeting.pk]) + "#answers"),
        reason=_because_team(meeting),
        school=meeting.student.school,
    )


def parent_wish(user, meeting: Meeting, request, params) -> Letter:
    names = {**_names(meeting), "guardian": params["guardian"]}
    if params["wish"] == ParentWish.Wish.ATTEND:
        subject = _("%(guardian)s asks that the SECA attend %(student)s's IEP meeting on %(day)s")
    else:
        subject = _(
            "%(guardian)s asks that the SECA not attend %(student)s's IEP meeting on %(day)s"
        )
    paragraphs = [
        _("A parent may ask that the SECA attend the meeting, or not attend (34 CFR 300.321(a)(6)). The principal and designees see this wish when they decide the SECA's request.")
    ]  # fmt: skip
    # The SECAs and the approvers hear of it too, even before anyone asked to attend.
    audience = params.get("audience", "team")
    if audience == "seca":
        paragraphs.append(_("As a SECA who supports the student, you may ask to attend the meeting from its page."))  # fmt: skip
        reason = _("You receive this email because you support %(student)s as a SECA.") % {
            "student": meeting.student.full_name
        }
        action = _meeting_page(meeting)
    elif audience == "approver":
        reason = _because_approver(meeting)
        action = _meeting_page(meeting)
    else:
        reason = _because_team(meeting)
        action = (_("Open the meeting"), reverse("meeting_detail", args=[meeting.pk]) + "#answers")
    # Only the school's side reads the parent's note (the SECA's request stays theirs).
    if params.get("note") and audience != "seca":
        paragraphs.append(_("Their note: “%(note)s”") % {"note": params["note"]})
    return Letter(
        subject=subject % names,
        greeting=greeting(user.get_short_name()),
        paragraphs=paragraphs,
        facts=meeting_facts(meeting),
        action=action,
        reason=reason,
        school=meeting.student.school,
    )


# Notification events: what each says, built for its reader when it is created (the
# in-app text: the subject) and again when its email goes.
# --- Requests to stay with a student (no meeting: `request` is a staff.models.StayRequest) ----


def _stay_facts(stay) -> list[tuple[str, str]]:
    facts = [
        (_("Student"), stay.student.full_name)
        if stay.student_id
        else (_("Classroom"), stay.classroom),
        (_("School year"), stay.year_label),
        (_("Why now"), stay.get_occasion_display()),
    ]
    if stay.decided_by:
        facts.append((_("Decided by"), stay.decided_by.full_name))
    if stay.status == stay.Status.DENIED:
        facts.append((_("Reason"), stay.get_deny_reason_display()))
    if stay.decision_note:
        facts.append((_("Note"), stay.decision_note))
    return facts


def _stay_subject_short(stay) -> str:
    """The student ("Omar W.") or the classroom ("classroom Room 12") of a subject line."""
    return short_name(stay.student) if stay.student_id else stay.subject


def stay_submitted(user, meeting, stay, params) -> Letter:
    names = {"seca": stay.seca.full_name, "student": _stay_subject_short(stay)}
    values = {"seca": stay.seca.full_name, "year": stay.year_label}
    if stay.student_id:
        paragraph = _("%(seca)s, a SECA who supports %(student)s this year, asks to stay with them in %(year)s. The principal or a designee decides.") % {**values, "student": stay.student.full_name}  # fmt: skip
    else:
        paragraph = _("%(seca)s, a SECA who works in classroom %(classroom)s this year, asks to stay with it in %(year)s. The principal or a designee decides.") % {**values, "classroom": stay.classroom}  # fmt: skip
    paragraphs = [paragraph]
    if stay.note:
        paragraphs.append(_("Their note: “%(note)s”") % {"note": stay.note})
    return Letter(
        subject=_("%(seca)s asks to stay with %(student)s") % names,
        greeting=greeting(user.get_short_name()),
        paragraphs=paragraphs,
        facts=_stay_facts(stay),
        action=(_("Decide the request"), reverse("stay_request_decide", args=[stay.pk])),
        reason=_("You receive this email because you decide SECA requests at %(school)s.")
        % {"school": stay.school.name},
        school=stay.school,
    )


def _stay_outcome(user, stay, subject, paragraph) -> Letter:
    return Letter(
        subject=subject % {"student": _stay_subject_short(stay)},
        greeting=greeting(user.get_short_name()),
        paragraphs=[
            paragraph
            % {
                "who": stay.decided_by.full_name,
                "student": stay.subject,
                "year": stay.year_label,
            }
        ],
        facts=_stay_facts(stay),
        action=(_("Open your requests to stay"), reverse("stay_request_list")),
        reason=_("You receive this email because you asked to stay with this student.")
        if stay.student_id
        else _("You receive this email because you asked to stay with this classroom."),
        school=stay.school,
    )


def stay_approved(user, meeting, stay, params) -> Letter:
    # The roster import honors a student's; a classroom's, the principal by hand.
    if stay.student_id:
        paragraph = _("%(who)s approved your request to stay with %(student)s in %(year)s: it is honored when that year's assignments are made.")  # fmt: skip
    else:
        paragraph = _("%(who)s approved your request to stay with %(student)s in %(year)s: the principal honors it when that year's assignments are made.")  # fmt: skip
    return _stay_outcome(
        user, stay, _("Approved: your request to stay with %(student)s"), paragraph
    )


def stay_denied(user, meeting, stay, params) -> Letter:
    return _stay_outcome(
        user,
        stay,
        _("Denied: your request to stay with %(student)s"),
        _("%(who)s denied your request to stay with %(student)s in %(year)s."),
    )


STAY_EVENTS = frozenset({"stay_submitted", "stay_approved", "stay_denied"})

EVENTS = {
    "request_submitted": request_submitted,
    "request_approved": request_approved,
    "request_denied": request_denied,
    "request_expired": request_expired,
    "feedback_submitted": feedback_submitted,
    "feedback_addendum": feedback_addendum,
    "coverage_assigned": coverage_assigned,
    "uninvited": uninvited,
    "invited": invited,
    "meeting_moved": meeting_moved,
    "approval_reopened": approval_reopened,
    "requests_reopened": requests_reopened,
    "meeting_cancelled": meeting_cancelled,
    "parent_answered": parent_answered,
    "parent_wish": parent_wish,
    "stay_submitted": stay_submitted,
    "stay_approved": stay_approved,
    "stay_denied": stay_denied,
}
