from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Training, User, current_school_year


class TrainingChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name


class TrainingRecordForm(forms.Form):
    seca = forms.ModelChoiceField(label=_("SECA"), queryset=User.objects.none())
    training = TrainingChoiceField(label=_("Training"), queryset=Training.objects.all())
    completed_on = forms.DateField(
        label=_("Completed on"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, secas, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seca"].queryset = secas


class TrainingImportForm(forms.Form):
    file = forms.FileField(
        label=_("Completions (.csv)"),
        help_text=_(
            "One completion a line, under a first line naming the columns: email or "
            "staff_sourced_id, training_code, completed_on (YYYY-MM-DD). With any error "
            "nothing is saved."
        ),
    )


class PolicyUploadForm(forms.Form):
    school_year = forms.TypedChoiceField(label=_("School year"), coerce=int)
    title = forms.CharField(label=_("Title"), max_length=200)
    file = forms.FileField(label=_("The policy (PDF)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        year = current_school_year()
        self.fields["school_year"].choices = [
            (y, f"{y}-{(y + 1) % 100:02d}") for y in (year, year + 1)
        ]
