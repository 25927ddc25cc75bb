from django import forms
from django.utils.translation import gettext_lazy as _


class GuardianInviteForm(forms.Form):
    email = forms.EmailField(
        label=_("Parent's email address"),
        help_text=_("The invitation link goes to this address; it works for 14 days."),
    )
