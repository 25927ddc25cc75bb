"""Forms of the case manager's pages: they parse and check input; the rules live in
meetings/services/scheduling.py and plans.py, which the views call."""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import ContactAttempt, Meeting, NoticeResponse
from ..services.scheduling_checks import Guest, TeamMember

MAX_GUESTS = 20


class SchoolDateTimeWidget(forms.SplitDateTimeWidget):
    """A date and a time input, shown in the school's time zone."""

    def __init__(self, tz=None):
        super().__init__(
            # The field's label is the group's legend (crispy draws a fieldset); each input
            # has its own name for a screen reader too (WCAG 1.3.1, 4.1.2).
            date_attrs={"type": "date", "aria-label": _("Date")},
            time_attrs={"type": "time", "aria-label": _("Time")},
            date_format="%Y-%m-%d",
            time_format="%H:%M",
        )
        self.tz = tz

    def decompress(self, value):
        if value and timezone.is_aware(value):
            value = timezone.localtime(value, self.tz).replace(tzinfo=None)
        return super().decompress(value)


class SchoolDateTimeField(forms.SplitDateTimeField):
    """A date and a time read in the school's time zone, not the viewer's: a meeting at
    9 AM is at 9 AM where it is held."""

    widget = SchoolDateTimeWidget

    def __init__(self, *args, tz=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_tz(tz)

    def set_tz(self, tz):
        self.tz = tz
        self.widget.tz = tz

    def compress(self, data_list):
        if not data_list:
            return None
        day, time = data_list
        if day in self.empty_values:
            raise ValidationError(self.error_messages["invalid_date"], code="invalid_date")
        if time in self.empty_values:
            raise ValidationError(self.error_messages["invalid_time"], code="invalid_time")
        tz = self.tz or timezone.get_current_timezone()
        naive = datetime.datetime.combine(day, time)
        aware = naive.replace(tzinfo=tz)
        # A time skipped when the clocks go forward does not exist there.
        if aware.astimezone(datetime.UTC).astimezone(tz).replace(tzinfo=None) != naive:
            raise ValidationError(
                _("This time does not exist in the school's time zone (the clocks change)."),
                code="imaginary",
            )
        return aware


class _WithSchoolTime:
    def _set_school_tz(self, tz):
        for field in self.fields.values():
            if isinstance(field, SchoolDateTimeField):
                field.set_tz(tz)


class MeetingScheduleForm(_WithSchoolTime, forms.Form):
    kind = forms.ChoiceField(label=_("Purpose"), choices=Meeting.Kind.choices)
    starts_at = SchoolDateTimeField(
        label=_("Starts (date and time, school time)"),
        help_text=_("In the school's time zone."),
    )
    duration = forms.IntegerField(
        label=_("Length in minutes"), min_value=15, max_value=480, initial=60
    )
    location = forms.CharField(
        label=_("Place"), required=False, max_length=200, help_text=_("e.g. Room 104.")
    )
    video_link = forms.URLField(label=_("Video link"), required=False, assume_scheme="https")
    phone_dial_in = forms.CharField(
        label=_("Phone dial-in"),
        required=False,
        max_length=80,
        help_text=_("A number and code the parents can call instead of coming in."),
    )
    invitees = forms.TypedMultipleChoiceField(
        label=_("Invited team"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    guests = forms.CharField(
        label=_("Others invited"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One person a line: name, role, email (optional). "
            "e.g. “Ana Ruiz, Interpreter, ana@example.org”."
        ),
    )
    short_notice_reason = forms.CharField(
        label=_("Reason for the short notice"),
        required=False,
        max_length=300,
        help_text=_("Needed when the meeting is sooner than the notice period."),
    )

    def __init__(self, *args, team: list[TeamMember], tz, **kwargs):
        super().__init__(*args, **kwargs)
        self.team = {member.user.pk: member for member in team}
        self.fields["invitees"].choices = [
            (member.user.pk, f"{member.user.full_name} — {member.role}") for member in team
        ]
        self._set_school_tz(tz)

    def clean_starts_at(self):
        starts_at = self.cleaned_data["starts_at"]
        if starts_at is not None and starts_at <= timezone.now():
            raise ValidationError(_("This time is in the past: choose a time still to come."))
        return starts_at

    def clean_invitees(self):
        return [self.team[pk].user for pk in self.cleaned_data["invitees"]]

    def clean_guests(self):
        guests = []
        for number, line in enumerate(self.cleaned_data["guests"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = [part.strip() for part in line.split(",")]
            if len(parts) < 2 or len(parts) > 3 or not parts[0] or not parts[1]:
                raise ValidationError(
                    _("Line %(n)d: write “name, role” or “name, role, email”.") % {"n": number}
                )
            name, role, email = (*parts, "")[:3]
            if len(name) > 150 or len(role) > 80:
                raise ValidationError(_("Line %(n)d is too long.") % {"n": number})
            if email:
                try:
                    validate_email(email)
                except ValidationError:
                    raise ValidationError(
                        _("Line %(n)d: “%(email)s” is not an email address.")
                        % {"n": number, "email": email}
                    ) from None
            guests.append(Guest(name=name, role=role, email=email))
        if len(guests) > MAX_GUESTS:
            raise ValidationError(_("Invite at most %(n)d others here.") % {"n": MAX_GUESTS})
        return guests

    def clean(self):
        data = super().clean()
        if not any(data.get(name) for name in ("location", "video_link", "phone_dial_in")):
            # 34 CFR 300.322(b): the notice names the place; video or phone may stand in.
            self.add_error("location", _("Give a place, a video link or a phone dial-in."))
        if data.get("starts_at") and data.get("duration"):
            data["ends_at"] = data["starts_at"] + datetime.timedelta(minutes=data["duration"])
        return data

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "starts_at": data["starts_at"],
            "ends_at": data["ends_at"],
            "location": data["location"],
            "video_link": data["video_link"],
            "phone_dial_in": data["phone_dial_in"],
            "invitees": data["invitees"],
            "guests": data["guests"],
            "short_notice_reason": data["short_notice_reason"],
        }


class MeetingRescheduleForm(_WithSchoolTime, forms.Form):
    starts_at = SchoolDateTimeField(label=_("New start (date and time, school time)"))
    duration = forms.IntegerField(label=_("Length in minutes"), min_value=15, max_value=480)
    reason = forms.CharField(
        label=_("Reason for the change"),
        max_length=300,
        help_text=_("Everyone invited and the parents are told."),
    )
    short_notice_reason = forms.CharField(
        label=_("Reason for the short notice"),
        required=False,
        max_length=300,
        help_text=_("Needed when the new time is sooner than the notice period."),
    )

    def __init__(self, *args, tz, **kwargs):
        super().__init__(*args, **kwargs)
        self._set_school_tz(tz)

    def clean_starts_at(self):
        starts_at = self.cleaned_data["starts_at"]
        if starts_at is not None and starts_at <= timezone.now():
            raise ValidationError(_("This time is in the past: choose a time still to come."))
        return starts_at

    def clean(self):
        data = super().clean()
        if data.get("starts_at") and data.get("duration"):
            data["ends_at"] = data["starts_at"] + datetime.timedelta(minutes=data["duration"])
        return data


class MeetingCancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for cancelling"),
        max_length=300,
        help_text=_("Everyone invited and the parents are told."),
    )


class ContactAttemptForm(_WithSchoolTime, forms.Form):
    attempted_at = SchoolDateTimeField(label=_("When (date and time, school time)"))
    method = forms.ChoiceField(label=_("How"), choices=ContactAttempt.Method.choices)
    outcome = forms.CharField(
        label=_("Outcome"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("e.g. “Left a voicemail”, “Mother asked for an afternoon”."),
    )

    def __init__(self, *args, tz, **kwargs):
        super().__init__(*args, **kwargs)
        self._set_school_tz(tz)


class MeetingHeldForm(forms.Form):
    attended = forms.TypedMultipleChoiceField(
        label=_("Who attended"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Everyone not ticked is recorded as absent."),
    )

    def __init__(self, *args, invitations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attended"].choices = [
            (inv.pk, f"{inv.name} — {inv.role}") for inv in invitations
        ]


class PlanUploadForm(forms.Form):
    file = forms.FileField(
        label=_("The finalized plan (PDF)"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
        help_text=_("A corrected plan becomes the next version."),
    )


class CaseloadFilterForm(forms.Form):
    SORTS = [
        ("annual", _("Annual review due")),
        ("reeval", _("Re-evaluation due")),
        ("name", _("Name")),
    ]
    SHOWS = [("all", _("All")), ("due_soon", _("Due soon")), ("overdue", _("Overdue"))]

    sort = forms.ChoiceField(choices=SORTS, required=False)
    show = forms.ChoiceField(choices=SHOWS, required=False)


class InviteeAddForm(forms.Form):
    """Add one person to a scheduled meeting's team: staff of the school, or a guardian."""

    prefix = "add"
    user = forms.ModelChoiceField(
        label=_("A staff member of the school"),
        queryset=None,
        required=False,
        empty_label=_("Choose a staff member"),
    )
    guardian = forms.ModelChoiceField(
        label=_("Or a parent or guardian"),
        queryset=None,
        required=False,
        empty_label=_("Choose a parent or guardian"),
    )

    def __init__(self, *args, staff, guardians, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = staff
        self.fields["guardian"].queryset = guardians
        self.fields["guardian"].label_from_instance = _guardian_label

    def clean(self):
        cleaned = super().clean()
        if not self.errors and (cleaned.get("user") is None) == (cleaned.get("guardian") is None):
            self.add_error("user", _("Choose one person to invite."))
        return cleaned


class NoticeAnswerRecordForm(forms.Form):
    """A parent's answer given by phone, on paper or in person, recorded by staff."""

    guardian = forms.ModelChoiceField(label=_("Parent or guardian"), queryset=None)
    answer = forms.ChoiceField(
        label=_("Their answer"), choices=NoticeResponse.Answer.choices, widget=forms.RadioSelect
    )
    method = forms.ChoiceField(
        label=_("How they answered"),
        choices=NoticeResponse.Method.choices,
        widget=forms.RadioSelect,
    )
    answered_on = forms.DateField(
        label=_("On what day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when they ask for another time: which days and times work."),
    )

    def __init__(self, *args, guardians, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["guardian"].queryset = guardians
        self.fields["guardian"].label_from_instance = _guardian_label


def _guardian_label(guardian) -> str:
    # Their name and relationship, without the student each guardian row would query.
    return f"{guardian.full_name} ({guardian.relationship})"
