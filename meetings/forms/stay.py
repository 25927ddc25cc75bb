from django import forms
from django.utils.translation import gettext_lazy as _

from staff.models import StayRequest

from .attendance import DenyForm


class StayRequestForm(forms.Form):
    occasion = forms.ChoiceField(
        label=_("When would you stay with the student?"),
        choices=StayRequest.Occasion.choices,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Why should you stay? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class StayClassroomForm(StayRequestForm):
    """A request to stay with a classroom: one of the groups of the SECA's schedule (the
    service checks the choice is theirs)."""

    field_order = ["classroom", "occasion", "note"]
    classroom = forms.ChoiceField(label=_("Classroom"))

    def __init__(self, *args, classrooms, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["occasion"].label = _("When would you stay with the classroom?")
        self.fields["classroom"].choices = [
            ("", _("Choose a classroom")),
            *((f"{school}:{group}", f"{group} · {name}") for school, name, group in classrooms),
        ]

    def clean_classroom(self):
        school, _sep, group = self.cleaned_data["classroom"].partition(":")
        return int(school), group


class StayApproveForm(forms.Form):
    prefix = "approve"
    version = forms.IntegerField(widget=forms.HiddenInput)
    decision_note = forms.CharField(
        label=_("Note to the SECA (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class StayDenyForm(DenyForm):
    """A denial of a stay request: the deny reasons' style of requests to attend."""

    def __init__(self, *args, stay: StayRequest, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["deny_reason"].choices = [("", _("Choose a reason")), *stay.deny_reasons()]
