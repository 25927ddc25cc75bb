from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import NoticeResponse, ParentWish


class NoticeResponseForm(forms.Form):
    """The parent's answer to the notice of meeting."""

    prefix = "answer"
    answer = forms.ChoiceField(
        label=_("Your answer"), choices=NoticeResponse.Answer.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=_("Note to the school"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when you ask for another time: say which days and times work."),
    )

    def clean(self):
        # The same rule as the service and the database constraint, shown next to the note.
        cleaned = super().clean()
        if (
            cleaned.get("answer") == NoticeResponse.Answer.ANOTHER_TIME
            and not (cleaned.get("note") or "").strip()
        ):
            self.add_error("note", _("Say which days and times would work for you."))
        return cleaned


class ParentWishForm(forms.Form):
    """The parent asks that the SECA attend, or not attend (34 CFR 300.321(a)(6))."""

    prefix = "wish"
    wish = forms.ChoiceField(
        label=_("Your child's SECA at this meeting"),
        choices=ParentWish.Wish.choices,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
