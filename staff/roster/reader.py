"""Read a OneRoster CSV export (1.1 or 1.2, a .zip or a folder) into plain rows of what
iepcoord keeps, checking everything it reads; or the list of problems, each as
"file:line: column: message". Nothing here touches the database.

Streaming: every file is read once with the csv module, row by row (users.csv a second
time only for the few parents a student lists before the parent's own row). What stays in
memory is the set of every user's sourcedId (references must resolve), 8 bytes per
enrollment (duplicate sourcedIds), and the rows iepcoord keeps: schools, staff, the
students of iep.csv, their guardians, and who shares a class with whom among them.

What is kept (data minimization, 34 CFR 99.31(a)(1)): the students listed in iep.csv (the
extension file naming who has an IEP), their parents and guardians, and the staff. The
other students of the export are read and checked, never stored.

Real exports are messy, and this is read: a byte-order mark, CRLF, quoted commas, extra or
empty trailing columns, unknown columns (ignored), column names in any case,
`dataLastModified` for `dateLastModified`, dates as `2023-05-01` or
`2023-05-01T18:25:43.511Z`, blank lines.
"""

import array
import csv
import dataclasses
import datetime
import re
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from operator import itemgetter
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import MINUTES_PER_DAY, Role, Student

MANIFEST = "manifest.csv"
ORGS = "orgs.csv"
SESSIONS = "academicSessions.csv"
CLASSES = "classes.csv"
USERS = "users.csv"
ENROLLMENTS = "enrollments.csv"
ROLES = "roles.csv"  # 1.2: a user's roles, one row per role and org
IEP = "iep.csv"  # iepcoord's extension: what OneRoster does not carry
REQUIRED_FILES = (MANIFEST, ORGS, SESSIONS, CLASSES, USERS, ENROLLMENTS, IEP)
VERSIONS = ("1.1", "1.2")

IEP_HEADER = (
    "studentSourcedId",
    "caseManagerSourcedId",
    "annualReviewDue",
    "reevaluationDue",
    "aideSupport",
    "oneToOneAideSourcedId",
)
# An optional column of iep.csv: the aide support's minutes a day (Student.aide_minutes_per_day).
IEP_MINUTES = "aideMinutesPerDay"

# Column names as exports spell them by mistake, and the extension column of a person's
# language (BCP 47 or a name: "es", "es-MX", "spa", "Spanish").
ALIASES = {
    "datalastmodified": "datelastmodified",
    "metadata.preferredlanguage": "language",
    "metadata.language": "language",
    "preferredlanguage": "language",
}

ORG_TYPES = {"school", "district", "local", "state", "national", "department"}
STUDENT = "student"
PARENT_ROLES = {"parent": "Parent", "guardian": "Guardian", "relative": "Relative"}
# OneRoster roles of staff, and the role each gives in iepcoord (README "Roster import").
STAFF_ROLES = {
    "teacher": Role.Kind.TEACHER,
    "aide": Role.Kind.SECA,
    "principal": Role.Kind.PRINCIPAL,
    "siteadministrator": Role.Kind.ASSISTANT_PRINCIPAL,
    # At a school an "administrator" (1.1) is a site administrator; elsewhere, the district's.
    "administrator": Role.Kind.ASSISTANT_PRINCIPAL,
    "districtadministrator": Role.Kind.DISTRICT_ADMIN,
}
# Roles OneRoster defines that iepcoord has no use for: read, left aside.
UNUSED_ROLES = {"proctor", "systemadministrator", "counselor"}
KNOWN_ROLES = set(STAFF_ROLES) | set(PARENT_ROLES) | UNUSED_ROLES | {STUDENT}
ENROLLMENT_ROLES = KNOWN_ROLES

# CEDS grade levels, as OneRoster gives them, to iepcoord's grades.
GRADES = {
    "IT": "PK",
    "PR": "PK",
    "PK": "PK",
    "TK": "K",
    "KG": "K",
    "13": "T",
    "PS": "T",
    **{f"{n:02d}": str(n) for n in range(1, 13)},
    **{str(n): str(n) for n in range(1, 13)},
}

DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
)
EMAIL = re.compile(r"[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+")
# Lengths of the fields the rows go into (staff/models.py).
MAX = {"name": 150, "student_name": 80, "phone": 40, "email": 254, "school": 200}

# The columns without which a file cannot be read, checked in every file's header first.
REQUIRED_COLUMNS = {
    MANIFEST: ("propertyName", "value"),
    ORGS: ("sourcedId", "name", "type"),
    SESSIONS: ("sourcedId",),
    CLASSES: ("sourcedId", "schoolSourcedId"),
    IEP: IEP_HEADER,
    ROLES: ("userSourcedId", "role", "orgSourcedId"),
    USERS: ("sourcedId", "givenName", "familyName"),
    ENROLLMENTS: ("sourcedId", "classSourcedId", "userSourcedId", "role"),
}
# 1.1 gives a user's role and orgs in users.csv (1.2 in roles.csv).
USERS_11_COLUMNS = ("role", "orgSourcedIds")

PROGRESS_EVERY = 100_000
# Problems kept one by one, at most (a broken file could have millions); the rest counted.
PROBLEMS_KEPT = 10_000
# Notes (what was left aside) listed one by one, at most; the rest are counted.
NOTES_LISTED = 50


@dataclasses.dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: str
    message: str

    def __str__(self):
        return f"{self.file}:{self.line}: {self.column}: {self.message}"


class NotUtf8(Exception):
    def __init__(self, line):
        super().__init__(line)
        self.line = line


def _decoded(stream) -> Iterator[str]:
    """The lines of a binary stream as text: UTF-8, without the byte-order mark."""
    for number, raw in enumerate(stream, 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise NotUtf8(number) from None
        yield line.lstrip("\ufeff") if number == 1 else line


class Refused(Exception):
    """The export cannot be read: every problem found."""

    def __init__(self, problems):
        super().__init__(f"{len(problems)} problems")
        self.problems = problems


# --- The rows iepcoord keeps ----------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class SchoolRow:
    sid: str
    line: int
    name: str
    code: str


@dataclasses.dataclass(slots=True)
class StaffRow:
    sid: str
    line: int
    full_name: str
    email: str
    phone: str
    language: str | None


@dataclasses.dataclass(slots=True)
class StudentRow:
    sid: str
    line: int
    first_name: str
    last_name: str
    district_id: str
    school: str
    grade: str
    case_manager: str | None = None
    annual_review_due: datetime.date | None = None
    reevaluation_due: datetime.date | None = None
    aide_support: str = Student.AideSupport.NONE
    one_to_one_aide: str | None = None
    aide_minutes_per_day: int | None = None


@dataclasses.dataclass(slots=True)
class GuardianRow:
    sid: str
    line: int
    full_name: str
    relationship: str
    email: str
    phone: str
    language: str | None


@dataclasses.dataclass
class Roster:
    """What the export says iepcoord should hold, keyed by sourcedId."""

    version: str
    schools: dict[str, SchoolRow]
    staff: dict[str, StaffRow]
    # (user sourcedId, Role.Kind, school sourcedId or None for district-wide roles)
    roles: set[tuple[str, str, str | None]]
    students: dict[str, StudentRow]
    # (parent sourcedId, student sourcedId) -> the guardian's row for that child
    guardians: dict[tuple[str, str], GuardianRow]
    # (student sourcedId, aide sourcedId) -> Assignment.detail ("1:1 aide" or "")
    assignments: dict[tuple[str, str], str]
    # Whether users.csv gives languages: if not, the languages on file are kept.
    languages_given: bool
    counts: dict[str, int]
    notes: list[str]
    # Whether iep.csv gives aide minutes (the optional aideMinutesPerDay): if not, the
    # minutes on file are kept.
    aide_minutes_given: bool = False


ONE_TO_ONE = "1:1 aide"


# --- The export: a folder or a zip ---------------------------------------------------------


class Export:
    """The files of an export, by name (case-insensitive; in a zip, at its root or in one
    folder)."""

    def __init__(self, source):
        self.zip = None
        self.folder = None
        if isinstance(source, str | Path) and Path(source).is_dir():
            self.folder = Path(source)
            self.names = {p.name.lower(): p for p in self.folder.iterdir() if p.is_file()}
        else:
            self.zip = zipfile.ZipFile(source)
            self.names = {}
            for info in self.zip.infolist():
                name = info.filename.rsplit("/", 1)[-1]
                if info.is_dir() or not name or info.filename.startswith("__MACOSX/"):
                    continue
                self.names.setdefault(name.lower(), info.filename)

    def has(self, name: str) -> bool:
        return name.lower() in self.names

    def open(self, name: str):
        """The file's bytes (decoded line by line by the reader, which can then name the
        line that is not UTF-8)."""
        found = self.names[name.lower()]
        if self.folder is not None:
            return open(found, "rb")  # noqa: SIM115
        return self.zip.open(found)

    def close(self):
        if self.zip is not None:
            self.zip.close()


def parse_date(value: str) -> datetime.date:
    """`2023-05-01` or `2023-05-01T18:25:43.511Z` (any ISO 8601 time): the day."""
    match = DATE.fullmatch(value)
    if match is None:
        raise ValueError(value)
    return datetime.date(int(match[1]), int(match[2]), int(match[3]))


def language_of(value: str) -> str | None:
    """iepcoord speaks English and Spanish: "es", "es-MX", "spa", "Spanish" are Spanish;
    any other language English; none given, None (keep what is on file)."""
    value = value.strip().lower()
    if not value:
        return None
    if value[:2] == "es" or value[:3] == "spa" or value.startswith(("español", "espanol")):
        return "es"
    return "en"


def split_ids(value: str) -> list[str]:
    """A list of sourcedIds in one field: "a,b" (quoted in the CSV)."""
    return [part.strip() for part in value.split(",") if part.strip()] if value else []


# --- Reading ------------------------------------------------------------------------------------


class Reader:
    def __init__(self, export: Export, *, today: datetime.date, progress: Callable | None):
        self.export = export
        self.today = today
        self.progress = progress or (lambda file, rows: None)
        self.problems: list[Problem] = []
        self.notes: list[str] = []
        self.notes_left = 0
        self.counts: dict[str, int] = {}
        self.problems_left = 0
        self.version = None
        # A file could not be read to its end: later files are not checked against it.
        self.fatal = False
        # Dates already read: a big file repeats a few (a term's first and last day).
        self.dates: dict[str, datetime.date] = {}

    # -- helpers -------------------------------------------------------------------------

    def problem(self, file, line, column, message):
        if len(self.problems) < PROBLEMS_KEPT:
            self.problems.append(Problem(file, line, column, message))
        else:
            self.problems_left += 1

    def note(self, message):
        if len(self.notes) < NOTES_LISTED:
            self.notes.append(message)
        else:
            self.notes_left += 1

    def date(self, file, line, column, value) -> datetime.date | None:
        if not value:
            return None
        found = self.dates.get(value)
        if found is not None:
            return found
        try:
            found = parse_date(value)
        except ValueError:
            self.problem(
                file,
                line,
                column,
                _("%(value)s is not a date (expected YYYY-MM-DD)") % {"value": value},
            )
            return None
        if len(self.dates) < 100_000:
            self.dates[value] = found
        return found

    def check_modified(self, file, line, value):
        """dateLastModified (or its misspelling): only checked, iepcoord does not use it."""
        if value and value not in self.dates:
            self.date(file, line, "dateLastModified", value)

    def active(self, file, line, value) -> bool:
        status = value.lower()
        if status in ("", "active"):
            return True
        if status in ("tobedeleted", "inactive"):
            return False
        self.problem(
            file,
            line,
            "status",
            _("unknown status %(value)s (expected active or tobedeleted)") % {"value": value},
        )
        return False

    def duplicate(self, file, line, sid):
        self.problem(
            file, line, "sourcedId", _("%(id)s appears more than once in the file") % {"id": sid}
        )

    def missing_reference(self, file, line, column, sid, target):
        self.problem(
            file,
            line,
            column,
            _("no record with sourcedId %(id)s in %(file)s") % {"id": sid, "file": target},
        )

    def required(self, name) -> tuple:
        required = REQUIRED_COLUMNS[name]
        if name == USERS and self.version == "1.1":
            required += USERS_11_COLUMNS
        return required

    def _header(self, reader, name):
        """{column name, lowercase and unaliased: position}, or None (a problem) for a file
        without a header or without a required column."""
        try:
            header = next(reader)
        except StopIteration:
            self.problem(name, 1, "-", _("the file is empty: it needs a header row"))
            return None
        index = {}
        for position, column in enumerate(header):
            key = column.strip().lower()
            index.setdefault(ALIASES.get(key, key), position)
        absent = [c for c in self.required(name) if c.lower() not in index]
        for column in absent:
            self.problem(name, 1, column, _("a required column is missing"))
        return None if absent else (index, len(header))

    def headers(self, names):
        """Every file's header, before any row: all the missing columns at once."""
        for name in names:
            with self.export.open(name) as stream:
                try:
                    self._header(csv.reader(_decoded(stream)), name)
                except NotUtf8 as error:
                    self.problem(name, error.line, "-", _("the file is not UTF-8 text"))
                except csv.Error as error:
                    self.problem(
                        name,
                        1,
                        "-",
                        _("the line cannot be read as CSV: %(error)s") % {"error": error},
                    )

    def rows(self, name, columns) -> Iterator[tuple[int, tuple]]:
        """(line, values) of each row of file `name` that is not blank: the values of
        `columns` in that order, stripped; "" for a column the file does not have. A
        missing file or required column is a problem, and no row is read. A line that is
        not UTF-8 or not CSV ends the reading (`fatal`: what follows would only list the
        references it breaks)."""
        if not self.export.has(name):
            self.problem(name, 0, "-", _("the file is missing from the export"))
            return
        count = 0
        with self.export.open(name) as stream:
            reader = csv.reader(_decoded(stream))
            try:
                found = self._header(reader, name)
                if found is None:
                    self.fatal = True
                    return
                index, width = found
                # A column the file lacks reads the "" appended to every row.
                positions = [index.get(c.lower(), -1) for c in columns]
                getter = itemgetter(*positions) if len(positions) > 1 else None
                for row in reader:
                    length = len(row)
                    if length < width:
                        if not any(row):
                            continue  # a blank line
                        row.extend([""] * (width - length))
                    row.append("")
                    values = getter(row) if getter else (row[positions[0]],)
                    count += 1
                    if count % PROGRESS_EVERY == 0:
                        self.progress(name, count)
                    yield reader.line_num, tuple(v.strip() for v in values)
            except NotUtf8 as error:
                self.problem(name, error.line, "-", _("the file is not UTF-8 text"))
                self.fatal = True
            except csv.Error as error:
                self.problem(
                    name,
                    reader.line_num,
                    "-",
                    _("the line cannot be read as CSV: %(error)s") % {"error": error},
                )
                self.fatal = True
        self.counts[name] = count
        self.progress(name, count)

    # -- the files -----------------------------------------------------------------------

    def manifest(self) -> str | None:
        properties = {}
        for line, (name, value) in self.rows(MANIFEST, ("propertyName", "value")):
            properties[name.lower()] = (line, value)
        if not properties and any(p.file == MANIFEST for p in self.problems):
            return None
        line, version = properties.get("oneroster.version", (0, ""))
        version = version[:3]
        if version not in VERSIONS:
            self.problem(
                MANIFEST,
                line,
                "oneroster.version",
                _("iepcoord reads OneRoster 1.1 and 1.2, not %(version)s")
                % {"version": version or "-"},
            )
            return None
        for name in (*REQUIRED_FILES[1:-1], ROLES):
            if name == ROLES and version != "1.2":
                continue
            key = f"file.{name[:-4].lower()}"
            if key not in properties:
                continue
            line, mode = properties[key]
            if mode.lower() == "delta":
                self.problem(
                    MANIFEST,
                    line,
                    key,
                    _("a delta export cannot be imported: export the whole roster (bulk)"),
                )
            elif mode.lower() == "absent":
                self.problem(MANIFEST, line, key, _("iepcoord needs this file: export it (bulk)"))
        return version

    def orgs(self):
        self.org_types: dict[str, str] = {}
        self.schools: dict[str, SchoolRow] = {}
        parents = []
        columns = ("sourcedId", "status", "dateLastModified", "name", "type", "identifier")
        columns += ("parentSourcedId",)
        for line, values in self.rows(ORGS, columns):
            sid, status, modified, name, kind, identifier, parent = values
            if not sid:
                self.problem(ORGS, line, "sourcedId", _("the sourcedId is empty"))
                continue
            if sid in self.org_types:
                self.duplicate(ORGS, line, sid)
                continue
            self.check_modified(ORGS, line, modified)
            active = self.active(ORGS, line, status)
            kind = kind.lower()
            if kind not in ORG_TYPES:
                self.problem(
                    ORGS, line, "type", _("unknown type of org %(value)s") % {"value": kind}
                )
            # An org that is to be deleted is known (references to it resolve) and unused.
            self.org_types[sid] = kind if active else "inactive"
            if parent:
                parents.append((line, parent))
            if active and kind == "school":
                code = identifier or sid
                if len(code) > 20:
                    column = "identifier" if identifier else "sourcedId"
                    self.problem(
                        ORGS,
                        line,
                        column,
                        _("a school's code has at most 20 characters: give it an identifier"),
                    )
                self.schools[sid] = SchoolRow(sid, line, name[: MAX["school"]], code)
        for line, parent in parents:
            if parent not in self.org_types:
                self.missing_reference(ORGS, line, "parentSourcedId", parent, ORGS)

    def sessions(self):
        self.session_ids: set[str] = set()
        columns = ("sourcedId", "status", "dateLastModified", "startDate", "endDate")
        columns += ("parentSourcedId",)
        parents = []
        for line, values in self.rows(SESSIONS, columns):
            sid, status, modified, start, end, parent = values
            if not sid:
                self.problem(SESSIONS, line, "sourcedId", _("the sourcedId is empty"))
                continue
            if sid in self.session_ids:
                self.duplicate(SESSIONS, line, sid)
            self.session_ids.add(sid)
            self.check_modified(SESSIONS, line, modified)
            self.active(SESSIONS, line, status)
            self.date(SESSIONS, line, "startDate", start)
            self.date(SESSIONS, line, "endDate", end)
            if parent:
                parents.append((line, parent))
        for line, parent in parents:
            if parent not in self.session_ids:
                self.missing_reference(SESSIONS, line, "parentSourcedId", parent, SESSIONS)

    def classes(self):
        self.class_active: dict[str, bool] = {}
        columns = ("sourcedId", "status", "dateLastModified", "schoolSourcedId")
        columns += ("termSourcedIds",)
        for line, values in self.rows(CLASSES, columns):
            sid, status, modified, school, terms = values
            if not sid:
                self.problem(CLASSES, line, "sourcedId", _("the sourcedId is empty"))
                continue
            if sid in self.class_active:
                self.duplicate(CLASSES, line, sid)
                continue
            self.check_modified(CLASSES, line, modified)
            self.class_active[sid] = self.active(CLASSES, line, status)
            if school not in self.org_types:
                self.missing_reference(CLASSES, line, "schoolSourcedId", school, ORGS)
            for term in split_ids(terms):
                if term not in self.session_ids:
                    self.missing_reference(CLASSES, line, "termSourcedIds", term, SESSIONS)

    def iep(self):
        """iep.csv, before users.csv: which students have an IEP, so that the users read
        next are kept or only checked."""
        self.ieps: dict[str, tuple] = {}
        self.aide_minutes_given = False
        supports = set(Student.AideSupport.values)
        for line, values in self.rows(IEP, (*IEP_HEADER, IEP_MINUTES)):
            student, manager, annual, reeval, support, aide, minutes = values
            if not student:
                self.problem(IEP, line, "studentSourcedId", _("the sourcedId is empty"))
                continue
            if student in self.ieps:
                self.problem(
                    IEP,
                    line,
                    "studentSourcedId",
                    _("%(id)s appears more than once in the file") % {"id": student},
                )
                continue
            support = support.lower() or Student.AideSupport.NONE
            if support not in supports:
                self.problem(
                    IEP,
                    line,
                    "aideSupport",
                    _("%(value)s is not one of none, shared, one_to_one") % {"value": support},
                )
            elif aide and support != Student.AideSupport.ONE_TO_ONE:
                self.problem(
                    IEP,
                    line,
                    "oneToOneAideSourcedId",
                    _("a one-to-one aide is named, but aideSupport is %(value)s, not one_to_one")
                    % {"value": support},
                )
            self.ieps[student] = (
                line,
                manager or None,
                self.date(IEP, line, "annualReviewDue", annual),
                self.date(IEP, line, "reevaluationDue", reeval),
                support,
                aide or None,
                self.aide_minutes(line, minutes),
            )

    def aide_minutes(self, line, value) -> int | None:
        """aideMinutesPerDay: empty, or a whole number of minutes in a day."""
        if not value:
            return None
        self.aide_minutes_given = True
        if not value.isdigit() or not 1 <= int(value) <= MINUTES_PER_DAY:
            self.problem(
                IEP,
                line,
                IEP_MINUTES,
                _("%(value)s is not a number of minutes from 1 to %(max)s")
                % {"value": value, "max": MINUTES_PER_DAY},
            )
            return None
        return int(value)

    def roles12(self):
        """roles.csv (1.2): each user's current roles at their orgs, before users.csv.
        Kept small (a district's is as long as users.csv): one tuple per user of shared
        strings (the role's name and the org's sourcedId are the same objects each time)."""
        # user sourcedId -> ((role, org, primary), ...); () when none is current.
        self.user_roles: dict[str, tuple] = {}
        roles = {role: role for role in KNOWN_ROLES}
        orgs = {org: org for org in self.org_types}
        no_roles = ()
        shared: dict[tuple, tuple] = {}
        seen = array.array("q")
        columns = ("sourcedId", "status", "dateLastModified", "userSourcedId", "roleType")
        columns += ("role", "beginDate", "endDate", "orgSourcedId")
        for line, values in self.rows(ROLES, columns):
            sid, status, modified, user, kind, role, begin, end, org = values
            if sid:
                seen.append(hash(sid))
            self.check_modified(ROLES, line, modified)
            active = self.active(ROLES, line, status)
            role = roles.get(role.lower())
            if role is None:
                self.problem(
                    ROLES, line, "role", _("unknown role %(value)s") % {"value": values[5]}
                )
                continue
            org = orgs.get(org)
            if org is None:
                self.missing_reference(ROLES, line, "orgSourcedId", values[8], ORGS)
                continue
            began = self.date(ROLES, line, "beginDate", begin)
            ends = self.date(ROLES, line, "endDate", end)
            held = self.user_roles.get(user, no_roles)
            current = (began is None or began <= self.today) and (
                ends is None or ends >= self.today
            )
            if active and current:
                entry = (role, org, kind.lower() == "primary")
                if held:
                    held += (entry,)
                else:  # most users hold one role: that tuple is shared too
                    held = shared.get(entry) or shared.setdefault(entry, (entry,))
            # Every user named here is checked against users.csv, read next.
            self.user_roles[user] = held
        self.duplicates_in(ROLES, seen)

    def users(self, version: str):
        """users.csv: every user's kind (for references), the staff, the students of
        iep.csv, and the parents they list or who list them."""
        self.kinds: dict[str, str] = {}  # sid -> "student", "staff", "parent" or "other"
        self.inactive: set[str] = set()
        self.staff: dict[str, StaffRow] = {}
        self.roles: set[tuple] = set()
        self.aides: set[str] = set()
        self.students: dict[str, StudentRow] = {}
        self.parents: dict[str, GuardianRow] = {}
        self.links: set[tuple[str, str]] = set()  # (parent, student)
        self.wanted_parents: set[str] = set()
        # The relationship of parents not kept yet, when it is not "Parent" (1.2 gives it
        # in roles.csv, which the second reading of users.csv does not see).
        self.parent_roles: dict[str, str] = {}
        pending_agents: list[tuple[int, str]] = []
        unused = 0
        emails: dict[str, int] = {}
        district_ids: dict[str, int] = {}
        columns = (
            "sourcedId",
            "status",
            "dateLastModified",
            "enabledUser",
            "orgSourcedIds",
            "role",
            "givenName",
            "familyName",
            "identifier",
            "userMasterIdentifier",
            "email",
            "phone",
            "sms",
            "agentSourcedIds",
            "grades",
            "primaryOrgSourcedId",
            "language",
        )
        self.languages_given = False
        for line, values in self.rows(USERS, columns):
            (sid, status, modified, enabled, orgs, role, given, family, identifier, master) = (
                values[:10]
            )
            email, phone, sms, agents, grades, primary_org, language = values[10:]
            if not sid:
                self.problem(USERS, line, "sourcedId", _("the sourcedId is empty"))
                continue
            if sid in self.kinds:
                self.duplicate(USERS, line, sid)
                continue
            self.check_modified(USERS, line, modified)
            active = self.active(USERS, line, status)
            if language:
                self.languages_given = True
            if version == "1.1":
                role = role.lower()
                if role not in KNOWN_ROLES:
                    self.problem(USERS, line, "role", _("unknown role %(value)s") % {"value": role})
                    # Known, so that what refers to this user is not refused twice.
                    self.kinds[sid] = "unknown"
                    continue
                held = []
                for org in split_ids(orgs):
                    if org in self.org_types:
                        held.append((role, org, not held))
                    else:
                        self.missing_reference(USERS, line, "orgSourcedIds", org, ORGS)
                roles = [role]
            else:
                held = list(self.user_roles.pop(sid, ()))
                if primary_org and primary_org not in self.org_types:
                    self.missing_reference(USERS, line, "primaryOrgSourcedId", primary_org, ORGS)
                held.sort(key=lambda r: (not r[2], r[1] != primary_org))
                roles = [r[0] for r in held]
            if STUDENT in roles:
                kind = "student"
            elif any(r in STAFF_ROLES for r in roles):
                kind = "staff"
            elif any(r in PARENT_ROLES for r in roles):
                kind = "parent"
            else:
                kind = "other"
                unused += 1
            self.kinds[sid] = kind
            if not active:
                self.inactive.add(sid)
            agent_ids = split_ids(agents)
            for agent in agent_ids:
                if agent not in self.kinds:
                    pending_agents.append((line, agent))
            phone = (phone or sms)[: MAX["phone"]]
            full_name = f"{given} {family}".strip()[: MAX["name"]]
            if kind == "student":
                if sid not in self.ieps or not active:
                    continue
                schools = [org for r, org, _primary in held if r == STUDENT]
                school = next((org for org in schools if org in self.schools), None)
                if school is None:
                    self.problem(
                        USERS,
                        line,
                        "orgSourcedIds" if version == "1.1" else "primaryOrgSourcedId",
                        _("the student is at no school of orgs.csv"),
                    )
                    continue
                district_id = identifier or master or sid
                if len(district_id) > 20:
                    self.problem(
                        USERS,
                        line,
                        "identifier",
                        _("a student's district id has at most 20 characters"),
                    )
                    continue
                if district_id in district_ids:
                    self.problem(
                        USERS,
                        line,
                        "identifier",
                        _("%(value)s is also the district id of the student on line %(line)s")
                        % {"value": district_id, "line": district_ids[district_id]},
                    )
                    continue
                district_ids[district_id] = line
                grade = split_ids(grades)[0].upper() if grades else ""
                self.students[sid] = StudentRow(
                    sid,
                    line,
                    given[: MAX["student_name"]],
                    family[: MAX["student_name"]],
                    district_id,
                    school,
                    GRADES.get(grade, ""),
                )
                for agent in agent_ids:
                    self.links.add((agent, sid))
                    self.wanted_parents.add(agent)
            elif kind == "staff":
                if not active or enabled.lower() == "false":
                    self.inactive.add(sid)
                    continue
                email = email.lower()
                if not EMAIL.fullmatch(email):
                    self.problem(
                        USERS,
                        line,
                        "email",
                        _("staff need an email address to sign in with: %(value)s is not one")
                        % {"value": email or "-"},
                    )
                    continue
                if email in emails:
                    self.problem(
                        USERS,
                        line,
                        "email",
                        _("%(value)s is also the address of the user on line %(line)s")
                        % {"value": email, "line": emails[email]},
                    )
                    continue
                emails[email] = line
                self.staff[sid] = StaffRow(
                    sid, line, full_name, email[: MAX["email"]], phone, language_of(language)
                )
                for role, org, _primary in held:
                    self.add_role(sid, role, org)
            elif kind == "parent" and active:
                wanted = sid in self.wanted_parents
                for agent in agent_ids:
                    if agent in self.ieps:
                        self.links.add((sid, agent))
                        wanted = True
                relationship = next(PARENT_ROLES[r] for r in roles if r in PARENT_ROLES)
                if wanted:
                    self.parents[sid] = self.parent_row(
                        sid, line, full_name, relationship, email, phone, language
                    )
                elif relationship != "Parent":
                    self.parent_roles[sid] = relationship
        for line, agent in pending_agents:
            if agent not in self.kinds:
                self.missing_reference(USERS, line, "agentSourcedIds", agent, USERS)
        if version == "1.2":
            if self.user_roles:
                # Users of roles.csv that users.csv does not have: their lines.
                for line, (user,) in self.rows(ROLES, ("userSourcedId",)):
                    if user in self.user_roles:
                        self.missing_reference(ROLES, line, "userSourcedId", user, USERS)
            del self.user_roles
        if unused:
            self.note(
                _(
                    "%(count)s users hold only roles iepcoord does not use "
                    "(proctor, counselor, system administrator): left aside."
                )
                % {"count": unused}
            )
        self.emails = emails

    def parent_row(self, sid, line, full_name, relationship, email, phone, language):
        email = email.lower()
        if email and not EMAIL.fullmatch(email):
            self.note(
                _(
                    "%(file)s:%(line)s: %(value)s is not an email address: this family gets a letter."
                )
                % {"file": USERS, "line": line, "value": email}
            )
            email = ""
        return GuardianRow(
            sid, line, full_name, relationship, email[: MAX["email"]], phone, language_of(language)
        )

    def add_role(self, sid, role, org):
        kind = STAFF_ROLES.get(role)
        if kind is None:
            return
        org_type = self.org_types.get(org)
        if role == "districtadministrator" or (role == "administrator" and org_type != "school"):
            self.roles.add((sid, Role.Kind.DISTRICT_ADMIN, None))
        elif org in self.schools:
            self.roles.add((sid, kind, org))
            if kind == Role.Kind.SECA:
                self.aides.add(sid)

    def parents_listed_first(self):
        """Parents a student lists (agentSourcedIds) whose own row came before the
        student's: read users.csv again for those rows only (none, when exports list the
        link on the parent's side or parents after their children)."""
        missing = {p for p, s in self.links if s in self.students and p not in self.parents}
        missing = {p for p in missing if self.kinds.get(p) == "parent" and p not in self.inactive}
        if not missing:
            return
        columns = ("sourcedId", "role", "givenName", "familyName", "email", "phone", "sms")
        columns += ("language",)
        for line, values in self.rows(USERS, columns):
            sid, role, given, family, email, phone, sms, language = values
            if sid in missing:
                relationship = PARENT_ROLES.get(role.lower()) or self.parent_roles.get(
                    sid, "Parent"
                )
                full_name = f"{given} {family}".strip()[: MAX["name"]]
                self.parents[sid] = self.parent_row(
                    sid,
                    line,
                    full_name,
                    relationship,
                    email,
                    (phone or sms)[: MAX["phone"]],
                    language,
                )

    def enrollments(self):
        """enrollments.csv: who shares a class, among the aides and the students of
        iep.csv, on current enrollments."""
        seen = array.array("q")
        aides_in: dict[str, list] = defaultdict(list)
        students_in: dict[str, list] = defaultdict(list)
        columns = ("sourcedId", "status", "dateLastModified", "classSourcedId")
        columns += ("schoolSourcedId", "userSourcedId", "role", "beginDate", "endDate")
        today = self.today
        kinds, classes, orgs = self.kinds, self.class_active, self.org_types
        students, aides = self.students, self.aides
        for line, values in self.rows(ENROLLMENTS, columns):
            sid, status, modified, klass, school, user, role, begin, end = values
            seen.append(hash(sid))
            if modified:
                self.check_modified(ENROLLMENTS, line, modified)
            active = status == "active" or self.active(ENROLLMENTS, line, status)
            if klass not in classes:
                self.missing_reference(ENROLLMENTS, line, "classSourcedId", klass, CLASSES)
                continue
            if user not in kinds:
                self.missing_reference(ENROLLMENTS, line, "userSourcedId", user, USERS)
                continue
            if school and school not in orgs:
                self.missing_reference(ENROLLMENTS, line, "schoolSourcedId", school, ORGS)
            role = role.lower()
            if role not in ENROLLMENT_ROLES:
                self.problem(
                    ENROLLMENTS, line, "role", _("unknown role %(value)s") % {"value": role}
                )
                continue
            if begin:
                began = self.date(ENROLLMENTS, line, "beginDate", begin)
                if began and began > today:
                    continue
            if end:
                ended = self.date(ENROLLMENTS, line, "endDate", end)
                if ended and ended < today:
                    continue
            if not active or not classes[klass]:
                continue
            if role == STUDENT:
                if user in students:
                    students_in[klass].append(user)
            elif user in aides:
                aides_in[klass].append(user)
        self.duplicates_in(ENROLLMENTS, seen)
        self.assignments: dict[tuple[str, str], str] = {}
        for klass, aides_here in aides_in.items():
            for student in students_in.get(klass, ()):
                for aide in aides_here:
                    self.assignments[(student, aide)] = ""

    def duplicates_in(self, name, hashes: array.array):
        """Duplicate sourcedIds of a big file, found from 8 bytes a row; the file is read
        again only when there is one, for the lines to name."""
        if len(hashes) < 2:
            return
        # Sorted a sixteenth at a time: a few MB of Python ints at once, not 2,000,000.
        buckets = [array.array("q") for _ in range(16)]
        for value in hashes:
            buckets[value & 15].append(value)
        twice = set()
        for bucket in buckets:
            ordered = sorted(bucket)
            twice |= {a for a, b in zip(ordered, ordered[1:], strict=False) if a == b}
        del buckets, ordered
        if not twice:
            return
        first: dict[str, int] = {}
        for line, (sid,) in self.rows(name, ("sourcedId",)):
            if hash(sid) in twice:
                if sid in first:
                    self.duplicate(name, line, sid)
                else:
                    first[sid] = line

    def iep_references(self):
        """iep.csv's references, once users.csv is read; the case managers' roles."""
        # Who may be a case manager: active staff holding a role other than aide.
        managers = {sid for sid, kind, _school in self.roles if kind != Role.Kind.SECA}
        managers |= set(self.staff) - self.aides
        for student, (line, manager, annual, reeval, support, aide, minutes) in self.ieps.items():
            kind = self.kinds.get(student)
            if kind is None:
                self.missing_reference(IEP, line, "studentSourcedId", student, USERS)
                continue
            if kind != "student":
                self.problem(
                    IEP, line, "studentSourcedId", _("%(id)s is not a student") % {"id": student}
                )
                continue
            row = self.students.get(student)
            if self.kinds.get(manager) == "unknown" or self.kinds.get(aide) == "unknown":
                continue  # refused already, for its role
            if manager:
                if self.kinds.get(manager) is None:
                    self.missing_reference(IEP, line, "caseManagerSourcedId", manager, USERS)
                    manager = None
                elif manager in self.inactive:
                    self.note(
                        _(
                            "%(file)s:%(line)s: the case manager %(id)s is no longer active: none is set."
                        )
                        % {"file": IEP, "line": line, "id": manager}
                    )
                    manager = None
                elif manager not in managers:
                    self.problem(
                        IEP,
                        line,
                        "caseManagerSourcedId",
                        _("%(id)s is not a teacher or an administrator") % {"id": manager},
                    )
                    manager = None
            if aide:
                if self.kinds.get(aide) is None:
                    self.missing_reference(IEP, line, "oneToOneAideSourcedId", aide, USERS)
                    aide = None
                elif aide in self.inactive:
                    self.note(
                        _(
                            "%(file)s:%(line)s: the one-to-one aide %(id)s is no longer active: none is assigned."
                        )
                        % {"file": IEP, "line": line, "id": aide}
                    )
                    aide = None
                elif aide not in self.aides:
                    self.problem(
                        IEP,
                        line,
                        "oneToOneAideSourcedId",
                        _("%(id)s is not an aide") % {"id": aide},
                    )
                    aide = None
            if row is None:
                continue  # a student to be deleted: not kept
            row.case_manager = manager
            row.annual_review_due = annual
            row.reevaluation_due = reeval
            row.aide_support = support
            row.one_to_one_aide = aide
            row.aide_minutes_per_day = minutes
            if manager:
                self.roles.add((manager, Role.Kind.CASE_MANAGER, row.school))
            if aide:
                self.assignments[(student, aide)] = ONE_TO_ONE

    def roster(self, version) -> Roster:
        guardians = {}
        for parent, student in self.links:
            row = self.parents.get(parent)
            if row is not None and student in self.students:
                guardians[(parent, student)] = row
        if self.notes_left:
            self.notes.append(_("… and %(count)s more.") % {"count": self.notes_left})
        self.dates.clear()
        return Roster(
            version=version,
            schools=self.schools,
            staff=self.staff,
            roles=self.roles,
            students=self.students,
            guardians=guardians,
            assignments=self.assignments,
            languages_given=self.languages_given,
            counts=self.counts,
            notes=self.notes,
            aide_minutes_given=self.aide_minutes_given,
        )


def read_export(
    source, *, today: datetime.date | None = None, progress: Callable | None = None
) -> Roster:
    """Read and check the export at `source` (a folder, a .zip path or file object). Raise
    Refused with every problem found, in the order of the files, when it cannot be read."""
    today = today or timezone.localdate()
    try:
        export = Export(source)
    except (zipfile.BadZipFile, OSError) as error:
        raise Refused(
            [
                Problem(
                    str(getattr(source, "name", source)),
                    0,
                    "-",
                    _("not a .zip file or a folder: %(error)s") % {"error": error},
                )
            ]
        ) from error
    try:
        reader = Reader(export, today=today, progress=progress)
        version = reader.version = reader.manifest()
        files = REQUIRED_FILES[1:] + ((ROLES,) if version == "1.2" else ())
        for name in files:
            if not export.has(name):
                reader.problem(name, 0, "-", _("the file is missing from the export"))
        if reader.problems:
            raise Refused(reader.problems)
        reader.headers(files)
        if reader.problems:
            raise Refused(reader.problems)
        steps = [reader.orgs, reader.sessions, reader.classes, reader.iep]
        if version == "1.2":
            steps.append(reader.roles12)
        steps += [
            lambda: reader.users(version),
            reader.parents_listed_first,
            reader.enrollments,
            reader.iep_references,
        ]
        for step in steps:
            step()
            if reader.fatal:
                break
        if reader.problems:
            if reader.problems_left:
                reader.problems.append(
                    Problem(
                        "-",
                        0,
                        "-",
                        _("… and %(count)s more problems, not listed.")
                        % {"count": reader.problems_left},
                    )
                )
            raise Refused(reader.problems)
        return reader.roster(version)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
        raise Refused(
            [Problem("-", 0, "-", _("the export cannot be read: %(error)s") % {"error": error})]
        ) from error
    finally:
        export.close()
