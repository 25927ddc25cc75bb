"""The IEP meeting and everything around it: invitations, SECA attendance requests and
their decisions, SECA feedback, finalized plans and their deliveries."""

from django.conf import settings
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from staff.models import School, Student, TimeStamped


class MeetingQuerySet(models.QuerySet):
    def upcoming(self, now=None):
        return self.filter(state=Meeting.State.SCHEDULED, starts_at__gte=now or timezone.now())


class Meeting(TimeStamped):
    class Kind(models.TextChoices):
        INITIAL = "initial", _("Initial IEP")
        ANNUAL_REVIEW = "annual", _("Annual review")
        REEVALUATION = "reeval", _("Re-evaluation")
        AMENDMENT = "amendment", _("Amendment")
        SECTION_504 = "504", _("504 plan meeting")
        TRANSITION = "transition", _("Transition planning")

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        HELD = "held", _("Held")
        CANCELLED = "cancelled", _("Cancelled")

    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="meetings")
    # The student's school when the meeting was scheduled: whose principal decides.
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="meetings")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True)
    video_link = models.URLField(blank=True)
    phone_dial_in = models.CharField(max_length=80, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.SCHEDULED)
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    change_reason = models.CharField(
        max_length=300, blank=True, help_text="Why it was last rescheduled or cancelled."
    )
    # 34 CFR 300.322(a)(1): notice early enough to attend; why it was not (NOTICE_PERIOD_DAYS).
    short_notice_reason = models.CharField(
        max_length=300, blank=True, help_text="Why the notice is shorter than the notice period."
    )
    held_at = models.DateTimeField(null=True, blank=True)

    objects = MeetingQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="meeting_ends_after_start"
            ),
            models.CheckConstraint(
                condition=~Q(location="") | ~Q(video_link="") | ~Q(phone_dial_in=""),
                name="meeting_has_place_or_remote_option",
            ),
        ]
        indexes = [
            # The approvers' queue and a school's calendar: meetings of a school by time.
            models.Index(fields=["school", "starts_at"], name="meeting_school_time_idx"),
            # A student's upcoming meetings (SECA home, parent pages, caseload).
            models.Index(fields=["student", "starts_at"], name="meeting_student_time_idx"),
            # Reminder sweeps read scheduled meetings by start time; the district overview
            # counts the upcoming ones per school from the index alone, and who is busy
            # when (a decision's staff free to cover) reads their times from it too.
            models.Index(
                fields=["starts_at", "school", "id"],
                include=["ends_at"],
                condition=Q(state="scheduled"),
                name="meeting_scheduled_time_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.student} on {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def has_started(self):
        return timezone.now() >= self.starts_at

    @property
    def is_open(self) -> bool:
        """Still to come: requests, decisions, feedback and the parents' answers are taken
        until the meeting starts."""
        return self.state == self.State.SCHEDULED and not self.has_started


# The meeting state machine: action -> {from state: to state}. Anything else is refused,
# by the services (meeting_next_state) and by the access layer's allowed actions.
MEETING_TRANSITIONS = {
    "reschedule": {Meeting.State.SCHEDULED: Meeting.State.SCHEDULED},
    "cancel": {Meeting.State.SCHEDULED: Meeting.State.CANCELLED},
    # Once it has started; attendance may be corrected after the meeting was marked held.
    "hold": {Meeting.State.SCHEDULED: Meeting.State.HELD, Meeting.State.HELD: Meeting.State.HELD},
}


# An invitation's role: the app writes its own roles in English (shown in each reader's
# language by meetings_extras.team_role), a person's several roles joined by this.
TEAM_ROLE_SEPARATOR = "; "


class Invitation(TimeStamped):
    """A participant invited to the meeting; attendance is recorded after it is held."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="invitations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invitations",
    )
    name = models.CharField(max_length=150, help_text="For people without an account.")
    role = models.CharField(max_length=80, help_text="e.g. 'General education teacher'.")
    email = models.EmailField(blank=True)
    # A parent or guardian invited as such (34 CFR 300.322): their attendance is recorded
    # like everyone's, and the case manager cannot take them off the team.
    guardian = models.ForeignKey(
        "staff.Guardian",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="invitations",
    )
    attended = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "user"],
                condition=Q(user__isnull=False),
                name="invitation_once_per_user",
            ),
            models.UniqueConstraint(
                fields=["meeting", "guardian"],
                condition=Q(guardian__isnull=False),
                name="invitation_once_per_guardian",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.role}) to {self.meeting}"


def not_honored() -> Q:
    """Requests not honored (contract: then the SECA's feedback, and a copy of the plan):
    denied or not decided in time, with no later open request of the same SECA for the
    meeting; or approved, with the SECA marked absent. A filter of requests."""
    same = AttendanceRequest.objects.filter(meeting=OuterRef("meeting"), seca=OuterRef("seca"))
    absent = Invitation.objects.filter(
        meeting=OuterRef("meeting"), user=OuterRef("seca"), attended=False
    )
    return Q(status__in=["denied", "expired"]) & ~Exists(
        same.filter(status__in=["pending", "approved"])
    ) | Q(status="approved") & Exists(absent)


class AttendanceRequest(TimeStamped):
    """A SECA's request to attend a meeting (contract: the principal or a designee decides)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        DENIED = "denied", _("Denied")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        # Still pending when the meeting started: counts as not honored.
        EXPIRED = "expired", _("Not decided in time")
        CANCELLED = "cancelled", _("Meeting cancelled")

    class DenyReason(models.TextChoices):
        OTHER_STUDENT = "other_student", _("Scheduled with another student")
        GROUP = "group", _("Supporting a group of students")
        PARENT_ASKED = "parent_asked", _("The parent asked that the SECA not attend")
        OTHER = "other", _("Other")

    OPEN_STATUSES = (Status.PENDING, Status.APPROVED)
    # Awaiting a decision or decided (an approver may still change it): asking again would
    # repeat it. After a withdrawal or a cancelled meeting the SECA may ask anew.
    STANDING_STATUSES = (Status.PENDING, Status.APPROVED, Status.DENIED)

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="requests")
    seca = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="attendance_requests"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    note = models.TextField(blank=True, help_text="What the SECA would bring to the team.")
    # Set when a decided request goes back to the approvers (the meeting moved).
    reopened = models.BooleanField(default=False)
    # Bumped by every change: an approver's form carries the version they saw, so of two
    # approvers acting at once exactly one wins and the other is told who decided.
    version = models.PositiveIntegerField(default=0)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    deny_reason = models.CharField(max_length=16, choices=DenyReason.choices, blank=True)
    decision_note = models.TextField(blank=True)
    # Coverage: who takes the SECA's students, or why none is needed.
    covered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    coverage_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["meeting__starts_at", "id"]
        constraints = [
            # One open request per SECA per meeting.
            models.UniqueConstraint(
                fields=["meeting", "seca"],
                condition=Q(status__in=["pending", "approved"]),
                name="request_one_open_per_seca_meeting",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "denied"])
                | Q(decided_by__isnull=False, decided_at__isnull=False),
                name="request_decision_has_who_and_when",
            ),
            models.CheckConstraint(
                condition=~Q(status="denied") | ~Q(deny_reason=""), name="request_denial_has_reason"
            ),
            models.CheckConstraint(
                condition=~Q(deny_reason="other") | ~Q(decision_note=""),
                name="request_other_reason_has_note",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved")
                | Q(covered_by__isnull=False)
                | ~Q(coverage_note=""),
                name="request_approval_records_coverage",
            ),
        ]
        indexes = [
            # The approvers' queue: pending requests.
            models.Index(
                fields=["status", "meeting"],
                condition=Q(status="pending"),
                name="request_pending_idx",
            ),
            # A SECA's requests (home page, "requests this week").
            models.Index(fields=["seca", "meeting"], name="request_seca_idx"),
        ]

    def __str__(self):
        return f"{self.seca} → {self.meeting} ({self.get_status_display()})"

    def not_honored_reason(self, attended: bool | None):
        """Why the request was not honored (contract: then feedback and a copy of the plan),
        or None. `attended` is what was recorded for the SECA at the meeting."""
        if self.status == self.Status.DENIED:
            return _("Denied: %(reason)s") % {"reason": self.get_deny_reason_display()}
        if self.status == self.Status.EXPIRED or (
            self.status == self.Status.PENDING and self.meeting.has_started
        ):
            return _("Not decided before the meeting started")
        if self.status == self.Status.APPROVED and attended is False:
            return _("Approved, but you were marked absent")
        return None


_Status = AttendanceRequest.Status

# The request state machine: action -> {from status: to status}. Anything else is refused.
REQUEST_TRANSITIONS = {
    "submit": {None: _Status.PENDING},
    "withdraw": {_Status.PENDING: _Status.WITHDRAWN},
    # A decision can be changed until the meeting starts; each change is recorded.
    "approve": {
        _Status.PENDING: _Status.APPROVED,
        _Status.DENIED: _Status.APPROVED,
        _Status.APPROVED: _Status.APPROVED,
    },
    "deny": {
        _Status.PENDING: _Status.DENIED,
        _Status.APPROVED: _Status.DENIED,
        _Status.DENIED: _Status.DENIED,
    },
    # The meeting moved: an approval no longer says the SECA is free at the new time.
    "reopen": {_Status.APPROVED: _Status.PENDING},
    # Still pending when the meeting starts: not honored.
    "expire": {_Status.PENDING: _Status.EXPIRED},
    "cancel": {
        _Status.PENDING: _Status.CANCELLED,
        _Status.APPROVED: _Status.CANCELLED,
        _Status.DENIED: _Status.CANCELLED,
    },
}


class SecaFeedback(TimeStamped):
    """The SECA's input in the agreed format (contract; modelled on 34 CFR 300.321(e))."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="feedback")
    seca = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="feedback"
    )
    strengths = models.TextField(_("the student's strengths"), blank=True)
    what_works = models.TextField(_("what works: strategies, supports, routines"), blank=True)
    challenges = models.TextField(_("challenges and triggers"), blank=True)
    progress = models.TextField(_("progress toward the IEP goals"), blank=True)
    care_notes = models.TextField(_("communication, personal care and behaviour"), blank=True)
    suggestions = models.TextField(_("suggestions for the plan"), blank=True)
    questions = models.TextField(_("questions for the team"), blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Contract: feedback when not honored, whenever it happens. Given after the meeting
    # started (the request expired undecided, or the SECA was marked absent), it reaches
    # the case manager as an addendum to the packet.
    after_meeting = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["meeting", "seca"], name="feedback_once_per_seca"),
        ]

    def __str__(self):
        return f"Feedback of {self.seca} for {self.meeting}"


class Plan(TimeStamped):
    """A finalized plan (PDF); a corrected version is a new row with the next version."""

    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="plans")
    version = models.PositiveSmallIntegerField(default=1)
    file = models.FileField(upload_to="plans/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    finalized_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["meeting", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "version"], name="plan_version_unique"),
        ]

    def __str__(self):
        return f"Plan v{self.version} of {self.meeting}"


class PlanDelivery(TimeStamped):
    """One copy of a finalized plan to one recipient (contract; 34 CFR 300.322(f))."""

    class Reason(models.TextChoices):
        SECA_NOT_HONORED = "seca", _("SECA who could not attend")
        GUARDIAN = "guardian", _("Parent or guardian")

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="plan_deliveries"
    )
    reason = models.CharField(max_length=10, choices=Reason.choices)
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "recipient"], name="delivery_once_per_recipient"
            ),
        ]
        indexes = [
            # Deliveries still to send or to acknowledge (the distribution sweep).
            models.Index(
                fields=["plan"], condition=Q(sent_at__isnull=True), name="delivery_unsent_idx"
            ),
            models.Index(fields=["recipient", "-created_at"], name="delivery_recipient_idx"),
        ]

    def __str__(self):
        return f"{self.plan} to {self.recipient}"


class ParentWish(TimeStamped):
    """A parent's wish about the SECA attending: 34 CFR 300.321(a)(6), the parent's discretion."""

    class Wish(models.TextChoices):
        ATTEND = "attend", _("I ask that the SECA attend")
        NOT_ATTEND = "not_attend", _("I ask that the SECA not attend")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="parent_wishes")
    guardian = models.ForeignKey("staff.Guardian", on_delete=models.CASCADE, related_name="+")
    wish = models.CharField(max_length=10, choices=Wish.choices)
    note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["meeting", "guardian"], name="parent_wish_once"),
        ]

    def __str__(self):
        return f"{self.guardian.full_name}: {self.get_wish_display()}"


class Notification(models.Model):
    """An in-app notification; the same event is usually emailed too."""

    # Read by notification_user_idx (user, -created_at): an index of its own would only be
    # one more to write with each notification.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    message = models.CharField(max_length=300)
    url = models.CharField(max_length=200, blank=True)
    # What happened (meetings/letters.py EVENTS) and about what ({"meeting": id, ...}): its
    # email is built from them, in the reader's language, when it goes.
    event = models.CharField(max_length=40, blank=True)
    params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # Claimed by the email task with a conditional update: a retry never mails twice.
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The unread count in every page's header.
            models.Index(
                fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread_idx"
            ),
            models.Index(fields=["user", "-created_at"], name="notification_user_idx"),
        ]

    def __str__(self):
        return f"{self.user}: {self.message}"


class ContactAttempt(TimeStamped):
    """An attempt to agree a time with the family: 34 CFR 300.322(d) asks for a record."""

    class Method(models.TextChoices):
        PHONE = "phone", _("Phone call")
        EMAIL = "email", _("Email")
        LETTER = "letter", _("Letter")
        TEXT = "text", _("Text message")
        IN_PERSON = "in_person", _("In person")
        HOME_VISIT = "home_visit", _("Home visit")

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="contact_attempts")
    meeting = models.ForeignKey(
        Meeting, on_delete=models.CASCADE, null=True, blank=True, related_name="contact_attempts"
    )
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    attempted_at = models.DateTimeField()
    method = models.CharField(max_length=12, choices=Method.choices)
    outcome = models.CharField(max_length=500)

    class Meta:
        ordering = ["-attempted_at"]
        indexes = [
            # The administration site's list, latest first, a page at a time.
            models.Index(fields=["-attempted_at", "-id"], name="contact_attempt_latest_idx"),
        ]

    def __str__(self):
        return f"{self.get_method_display()} on {self.attempted_at:%Y-%m-%d}: {self.outcome[:40]}"


class MeetingNotice(TimeStamped):
    """The notice of meeting as sent to one guardian; a new one on each reschedule or cancel."""

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", _("Notice of meeting")
        RESCHEDULED = "rescheduled", _("Meeting moved")
        # Invitees added or removed after scheduling: the notice names who attends.
        UPDATED = "updated", _("Who attends changed")
        CANCELLED = "cancelled", _("Meeting cancelled")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="notices")
    guardian = models.ForeignKey("staff.Guardian", on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # Claimed by the email task with a conditional update: a retry never mails twice.
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["meeting", "guardian"], name="notice_meeting_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.guardian.full_name}"


class NoticeResponse(TimeStamped):
    """A guardian's answer to the notice of meeting: their own, or given by phone, on
    paper or in person and recorded by the school's staff (who, how and on what day)."""

    class Answer(models.TextChoices):
        WILL_ATTEND = "attend", _("I will attend")
        ANOTHER_TIME = "another_time", _("I ask for another time")
        WILL_NOT_ATTEND = "not_attend", _("I will not attend")

    class Method(models.TextChoices):
        PHONE = "phone", _("By phone")
        PAPER = "paper", _("On paper")
        IN_PERSON = "in_person", _("In person")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="responses")
    guardian = models.ForeignKey("staff.Guardian", on_delete=models.CASCADE, related_name="+")
    answer = models.CharField(max_length=12, choices=Answer.choices)
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    method = models.CharField(max_length=10, choices=Method.choices, blank=True)
    answered_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["meeting", "guardian"], name="notice_response_once"),
            models.CheckConstraint(
                condition=~Q(answer="another_time") | ~Q(note=""),
                name="notice_response_another_time_has_note",
            ),
            # Recorded by staff: who, how and when, all three; the parent's own: none.
            models.CheckConstraint(
                condition=Q(recorded_by__isnull=True, method="", answered_on__isnull=True)
                | Q(recorded_by__isnull=False, answered_on__isnull=False) & ~Q(method=""),
                name="notice_response_recorded_says_how",
            ),
        ]

    def __str__(self):
        return f"{self.guardian.full_name}: {self.get_answer_display()}"


class Reminder(models.Model):
    """One reminder sent: the unique key (kind, object, recipient, slot) is claimed before
    the email goes, so a sweep run twice, or two beats at once, sends nothing twice."""

    class Kind(models.TextChoices):
        MEETING_UPCOMING = "meeting_upcoming", _("Meeting coming up")
        REQUEST_PENDING = "request_pending", _("Request still pending")
        # The last lead time: the principal is told themself that designees have not acted.
        REQUEST_ESCALATED = "request_escalated", _("Request pending, escalated to the principal")
        FEEDBACK_DUE = "feedback_due", _("SECA feedback due")
        PLAN_NOT_FINALIZED = "plan_not_finalized", _("Plan not finalized")
        REVIEWS_DUE = "reviews_due", _("Reviews coming due")
        PLAN_NOT_ACKNOWLEDGED = "plan_not_acknowledged", _("Plan not acknowledged")

    kind = models.CharField(max_length=40, choices=Kind.choices)
    object_id = models.BigIntegerField()
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    slot = models.CharField(max_length=40, help_text="e.g. '7d', '24h', or a week's date.")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "object_id", "recipient", "slot"], name="reminder_once"
            ),
        ]
        indexes = [
            # Reminders claimed but not yet sent (a worker died): the sweep re-queues them.
            models.Index(
                fields=["created_at"], condition=Q(sent_at__isnull=True), name="reminder_unsent_idx"
            ),
        ]

    def __str__(self):
        return f"{self.kind} #{self.object_id} to {self.recipient_id} ({self.slot})"
