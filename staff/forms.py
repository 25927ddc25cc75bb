from django import forms
from django.utils.translation import gettext_lazy as _

from .models import User


class DesignationForm(forms.Form):
    designee = forms.ModelChoiceField(
        label=_("Name a designee"),
        queryset=User.objects.none(),
        help_text=_("Assistant principals and case managers of this school."),
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["designee"].queryset = candidates
