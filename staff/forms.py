from django import forms
from django.utils.translation import gettext_lazy as _

from .models import MINUTES_PER_DAY, Student, User


class DesignationForm(forms.Form):
    designee = forms.ModelChoiceField(
        label=_("Name a designee"),
        queryset=User.objects.none(),
        help_text=_("Assistant principals and case managers of this school."),
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["designee"].queryset = candidates


class AideSupportForm(forms.Form):
    aide_support = forms.ChoiceField(
        label=_("Aide support the IEP requires"), choices=Student.AideSupport.choices
    )
    aide_minutes_per_day = forms.IntegerField(
        label=_("Minutes a day (optional)"),
        required=False,
        min_value=1,
        max_value=MINUTES_PER_DAY,
        help_text=_("How long the aide support lasts each school day, as the IEP says."),
    )
