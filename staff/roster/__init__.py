"""The district's roster, brought in from a OneRoster CSV export (README "Roster import").

- `reader`: reads and checks the files, streaming, into plain rows of what iepcoord keeps,
  or the list of problems ("file:line: column: message");
- `plan`: compares those rows with the database by sourcedId: what to create, update,
  deactivate; a few problems only the database can tell (an address already taken);
- `apply`: writes the plan in one transaction, in chunks, with the audit trail;
- `jobs`: the import's life (upload, dry run, confirmation, run) as services, for the
  pages, the Celery tasks and `manage.py import_roster`.
"""
