import zipfile

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _


class RosterUploadForm(forms.Form):
    export = forms.FileField(
        label=_("OneRoster export (.zip)"),
        help_text=_(
            "The bulk export of your student information system, version 1.1 or 1.2, with "
            "iep.csv added: nothing changes until you have seen what would and confirmed."
        ),
    )

    def clean_export(self):
        export = self.cleaned_data["export"]
        if export.size > settings.ROSTER_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)s.")
                % {"size": filesizeformat(settings.ROSTER_MAX_BYTES)}
            )
        if not zipfile.is_zipfile(export):
            raise forms.ValidationError(_("This is not a .zip file."))
        export.seek(0)
        return export
