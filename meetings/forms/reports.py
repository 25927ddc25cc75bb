from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import AttendanceRequest
from ..reports import COLUMNS, Period

# The longest period a report covers: three school years.
MAX_DAYS = 3 * 366


class ReportPeriodForm(forms.Form):
    """The period of a report (default: this school year), and how its rows are sorted."""

    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    sort = forms.ChoiceField(
        choices=[(c, c) for c in ["school", *COLUMNS]], required=False, widget=forms.HiddenInput
    )
    desc = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, data=None, **kwargs):
        # The CSV's address says from= and to=, as the union's tools expect.
        if data is not None:
            data = data.copy()
            for alias, name in (("from", "start"), ("to", "end")):
                if alias in data and name not in data:
                    data[name] = data[alias]
        super().__init__(data, **kwargs)

    def clean(self):
        data = super().clean()
        year = Period.school_year()
        start, end = data.get("start") or year.start, data.get("end") or year.end
        if end < start:
            self.add_error("end", _("The end of the period must not be before its start."))
        elif (end - start).days > MAX_DAYS:
            self.add_error("end", _("A report covers at most three school years."))
        data["period"] = Period(start, end)
        return data

    @property
    def period(self) -> Period:
        if self.is_valid():
            return self.cleaned_data["period"]
        return Period.school_year()


class OutcomeFilterForm(forms.Form):
    OUTCOMES = [
        ("", _("All requests")),
        *[(value, label) for value, label in AttendanceRequest.Status.choices],
    ]
    outcome = forms.ChoiceField(label=_("Outcome"), choices=OUTCOMES, required=False)
