from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.utils.translation import gettext_lazy as _


class GuardianInviteForm(forms.Form):
    email = forms.EmailField(
        label=_("Parent's email address"),
        help_text=_("The invitation link goes to this address; it works for 14 days."),
    )


class InviteCodeForm(forms.Form):
    code = forms.CharField(
        label=_("The code on your letter"),
        max_length=20,
        help_text=_("Ten letters and digits, for example ACDEF-34679."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "characters"}
        ),
    )


class LetterAccountForm(SetPasswordForm):
    """A family invited by letter chooses the address they will sign in with, and a
    password."""

    email = forms.EmailField(
        label=_("Your email address"),
        help_text=_("You will sign in with it; the school writes to you there."),
    )
    field_order = ["email", "new_password1", "new_password2"]
