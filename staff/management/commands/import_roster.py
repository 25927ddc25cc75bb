"""manage.py import_roster PATH [--dry-run]: bring the district's roster in from a
OneRoster CSV export (README "Roster import"); run every night to keep it in step."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from staff.roster.jobs import roster_import_from_path
from staff.roster.plan import KIND_LABELS, KINDS
from staff.roster.reader import Refused


class Command(BaseCommand):
    help = "Import the district's roster from a OneRoster CSV export (a .zip or a folder)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="the export: a .zip, or a folder with manifest.csv")
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would change, and change nothing"
        )

    def handle(self, *args, path, dry_run, verbosity, **options):
        started = time.monotonic()

        def progress(file, rows):
            if verbosity > 1:
                self.stderr.write(
                    _("%(seconds).0f s: %(file)s, %(rows)s rows read")
                    % {"seconds": time.monotonic() - started, "file": file, "rows": rows}
                )

        def phases(phase):
            if verbosity > 1:
                self.stderr.write(
                    _("%(seconds).0f s: writing %(phase)s")
                    % {"seconds": time.monotonic() - started, "phase": phase}
                )

        try:
            roster, plan = roster_import_from_path(
                path=path, dry_run=dry_run, progress=progress, phases=phases
            )
        except Refused as refused:
            for problem in refused.problems:
                self.stderr.write(str(problem))
            raise CommandError(
                _("The export was refused (%(count)s problems): nothing was changed.")
                % {"count": len(refused.problems)},
                returncode=1,
            ) from None
        for note in roster.notes:
            self.stdout.write(note)
        summary = plan.summary()
        self.stdout.write(
            _("OneRoster %(version)s export, read: %(counts)s.")
            % {
                "version": roster.version,
                "counts": ", ".join(f"{name} {count}" for name, count in roster.counts.items()),
            }
        )
        if dry_run:
            self.stdout.write(_("Dry run: what the import would change (nothing was changed):"))
        else:
            self.stdout.write(_("Changed:"))
        width = max(len(str(KIND_LABELS[kind])) for kind in KINDS)
        for kind in KINDS:
            counts = summary[kind]
            line = _("created %(created)s, updated %(updated)s, deactivated %(deactivated)s") % (
                counts
            )
            if "moved" in counts:
                line += " " + _("(moved to another school: %(moved)s)") % counts
            if counts.get("kept_for_stay"):
                line += " " + _("(kept for SECAs approved to stay: %(kept_for_stay)s)") % counts
            self.stdout.write(f"  {str(KIND_LABELS[kind]):<{width}}  {line}")
        if plan.changes_nothing:
            self.stdout.write(_("Nothing to change: iepcoord already matches this export."))
        self.stdout.write(_("Done in %(seconds).0f s.") % {"seconds": time.monotonic() - started})
