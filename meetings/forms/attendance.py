from django import forms
from django.utils.translation import gettext_lazy as _

from staff.models import User

from ..models import AttendanceRequest, SecaFeedback


class AttendanceRequestForm(forms.Form):
    note = forms.CharField(
        label=_("What would you bring to the team? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ApproveForm(forms.Form):
    prefix = "approve"
    version = forms.IntegerField(widget=forms.HiddenInput)
    covered_by = forms.ModelChoiceField(
        label=_("Who covers the SECA's students"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("No one needed (say why below)"),
        help_text=_(
            "Any staff member of the school free during the meeting; not another SECA (the "
            "contract limits using SECAs to cover for other staff). They are told when and whom."
        ),
    )
    coverage_note = forms.CharField(
        label=_("Coverage note"),
        required=False,
        max_length=300,
        help_text=_("e.g. the students are at music with their class."),
    )

    def __init__(self, *args, staff=(), **kwargs):
        """`staff`: the people who may cover, as the page lists them (already read)."""
        super().__init__(*args, **kwargs)
        field = self.fields["covered_by"]
        field.queryset = User.objects.filter(pk__in=[person.pk for person in staff])
        # Listed from the people already read: rendering the choices costs no query.
        field.choices = [
            ("", field.empty_label),
            *((person.pk, field.label_from_instance(person)) for person in staff),
        ]


class DenyForm(forms.Form):
    prefix = "deny"
    version = forms.IntegerField(widget=forms.HiddenInput)
    deny_reason = forms.ChoiceField(
        label=_("Reason"),
        choices=[("", _("Choose a reason")), *AttendanceRequest.DenyReason.choices],
    )
    decision_note = forms.CharField(
        label=_("Note to the SECA"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the reason is “Other”."),
    )


class FeedbackForm(forms.ModelForm):
    class Meta:
        model = SecaFeedback
        fields = [
            "strengths",
            "what_works",
            "challenges",
            "progress",
            "care_notes",
            "suggestions",
            "questions",
        ]
        labels = {
            "strengths": _("The student's strengths"),
            "what_works": _("What works: strategies, supports, routines"),
            "challenges": _("Challenges and triggers I see"),
            "progress": _("Progress I see toward the IEP goals"),
            "care_notes": _("Communication, personal care and behaviour notes"),
            "suggestions": _("What I suggest for the plan"),
            "questions": _("Questions for the team"),
        }
        widgets = {name: forms.Textarea(attrs={"rows": 3}) for name in fields}
