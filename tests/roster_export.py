"""OneRoster CSV exports written by the tests (1.1 or 1.2), of a small district:

    Skinner North (sch-a, code A100): principal t-pa; teacher and case manager t-cm;
        aides t-aide1 and t-aide2; students s-1 and s-2 (IEPs), s-4 (no IEP); class c-a1
        with all three students, t-cm and t-aide1.
    Old School (sch-b, code B200): principal t-pb; teacher and case manager t-cmb; aide
        t-aideb; student s-3 (IEP) in class c-b1 with t-aideb.
    The district (dist): administrator t-da.
    Families: p-1 (Spanish, an email) lists s-1; p-2 (no email) lists s-2; s-3 lists p-3;
        p-4 is the parent of s-4, who has no IEP.
    iep.csv: s-1 (t-cm, shared aide), s-2 (t-cm, one-to-one with t-aide2), s-3 (t-cmb).

A test changes the rows (`export.user("s-1")["orgs"] = ["sch-b"]`) and writes the export
again; `messy=True` writes it as real exports come (BOM, CRLF, an unknown column, an
empty trailing one, dataLastModified, dates with a time).
"""

import copy
import csv
import zipfile
from pathlib import Path

MODIFIED = "2026-09-01"
MESSY_MODIFIED = "2026-09-01T18:25:43.511Z"

USERS_11 = [
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "orgSourcedIds",
    "role",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
]
USERS_12 = [
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
    "userMasterIdentifier",
    "resourceSourcedIds",
    "preferredGivenName",
    "preferredMiddleName",
    "preferredFamilyName",
    "primaryOrgSourcedId",
    "pronouns",
]
ROLES_12 = [
    "sourcedId",
    "status",
    "dateLastModified",
    "userSourcedId",
    "roleType",
    "role",
    "beginDate",
    "endDate",
    "orgSourcedId",
    "userProfileSourcedId",
]
ORGS = ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"]
SESSIONS = [
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "type",
    "startDate",
    "endDate",
    "parentSourcedId",
    "schoolYear",
]
CLASSES = [
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "grades",
    "courseSourcedId",
    "classCode",
    "classType",
    "location",
    "schoolSourcedId",
    "termSourcedIds",
    "subjects",
    "subjectCodes",
    "periods",
]
ENROLLMENTS = [
    "sourcedId",
    "status",
    "dateLastModified",
    "classSourcedId",
    "schoolSourcedId",
    "userSourcedId",
    "role",
    "primary",
    "beginDate",
    "endDate",
]
IEP = [
    "studentSourcedId",
    "caseManagerSourcedId",
    "annualReviewDue",
    "reevaluationDue",
    "aideSupport",
    "oneToOneAideSourcedId",
]


def _user(sid, role, orgs, given, family, email="", **extra):
    return {
        "sid": sid,
        "status": "active",
        "role": role,
        "orgs": list(orgs),
        "given": given,
        "family": family,
        "email": email,
        "identifier": "",
        "agents": [],
        "grades": "",
        "language": "",
        "enabled": "true",
        **extra,
    }


BASE = {
    "orgs": [
        {"sid": "dist", "name": "City District", "type": "district", "identifier": "D1"},
        {"sid": "sch-a", "name": "Skinner North", "type": "school", "identifier": "A100"},
        {"sid": "sch-b", "name": "Old School", "type": "school", "identifier": "B200"},
    ],
    "users": [
        _user("t-da", "districtAdministrator", ["dist"], "Ada", "Admin", "ada@district.org"),
        _user("t-pa", "principal", ["sch-a"], "Pat", "Principal", "pat@district.org"),
        _user("t-cm", "teacher", ["sch-a"], "Casey", "Manager", "casey@district.org"),
        _user("t-aide1", "aide", ["sch-a"], "Jerry", "Seca", "jerry@district.org"),
        _user("t-aide2", "aide", ["sch-a"], "Sam", "One", "sam@district.org"),
        _user("t-pb", "principal", ["sch-b"], "Olga", "Oldprincipal", "olga@district.org"),
        _user("t-cmb", "teacher", ["sch-b"], "Bea", "Bmanager", "bea@district.org"),
        _user("t-aideb", "aide", ["sch-b"], "Bo", "Bseca", "bo@district.org"),
        _user(
            "s-1",
            "student",
            ["sch-a"],
            "Jordan",
            "Quintanilla",
            identifier="70000001",
            agents=["p-1"],
            grades="04",
        ),
        _user("s-2", "student", ["sch-a"], "Mia", "Lopez", identifier="70000002", grades="KG"),
        _user(
            "s-3",
            "student",
            ["sch-b"],
            "Omar",
            "Wells",
            identifier="70000003",
            grades="10",
            agents=["p-3"],
        ),
        _user("s-4", "student", ["sch-a"], "Noah", "Plain", identifier="70000004", grades="04"),
        _user(
            "p-1",
            "parent",
            ["sch-a"],
            "María",
            "Quintanilla",
            "maria@example.net",
            agents=["s-1"],
            language="es-MX",
        ),
        _user("p-2", "guardian", ["sch-a"], "Luis", "Lopez", "", agents=["s-2"]),
        _user("p-3", "parent", ["sch-b"], "Wanda", "Wells", "wanda@example.net"),
        _user("p-4", "parent", ["sch-a"], "Nora", "Plain", "nora@example.net", agents=["s-4"]),
    ],
    "classes": [
        {"sid": "c-a1", "school": "sch-a", "title": "Room 104, grades 3-4"},
        {"sid": "c-b1", "school": "sch-b", "title": "Room 12"},
    ],
    "enrollments": [
        {"sid": "e-1", "class": "c-a1", "user": "s-1", "role": "student"},
        {"sid": "e-2", "class": "c-a1", "user": "s-2", "role": "student"},
        {"sid": "e-3", "class": "c-a1", "user": "s-4", "role": "student"},
        {"sid": "e-4", "class": "c-a1", "user": "t-cm", "role": "teacher"},
        {"sid": "e-5", "class": "c-a1", "user": "t-aide1", "role": "aide"},
        {"sid": "e-6", "class": "c-b1", "user": "s-3", "role": "student"},
        {"sid": "e-7", "class": "c-b1", "user": "t-aideb", "role": "aide"},
    ],
    "iep": [
        {
            "student": "s-1",
            "manager": "t-cm",
            "annual": "2027-03-01",
            "reeval": "2028-09-15",
            "support": "shared",
            "aide": "",
        },
        {
            "student": "s-2",
            "manager": "t-cm",
            "annual": "2027-01-20",
            "reeval": "",
            "support": "one_to_one",
            "aide": "t-aide2",
        },
        {
            "student": "s-3",
            "manager": "t-cmb",
            "annual": "2026-12-01",
            "reeval": "2027-05-01",
            "support": "none",
            "aide": "",
        },
    ],
}


class Export:
    def __init__(self, version: str = "1.1", *, messy: bool = False):
        self.version = version
        self.messy = messy
        self.data = copy.deepcopy(BASE)
        # Extra raw lines or columns a test injects: {file: [row dicts or callables]}.
        self.drop_files: set[str] = set()
        self.drop_columns: dict[str, set[str]] = {}
        self.raw_rows: dict[str, list[list[str]]] = {}
        self.manifest_extra: dict[str, str] = {}

    # -- reading and changing the rows ---------------------------------------------------

    def user(self, sid) -> dict:
        return next(u for u in self.data["users"] if u["sid"] == sid)

    def iep(self, sid) -> dict:
        return next(r for r in self.data["iep"] if r["student"] == sid)

    def enrollment(self, sid) -> dict:
        return next(r for r in self.data["enrollments"] if r["sid"] == sid)

    def add_user(self, sid, role, orgs, given, family, email="", **extra) -> dict:
        user = _user(sid, role, orgs, given, family, email, **extra)
        self.data["users"].append(user)
        return user

    # -- writing -------------------------------------------------------------------------

    def _modified(self):
        return MESSY_MODIFIED if self.messy else MODIFIED

    def _tables(self) -> dict[str, tuple[list[str], list[list[str]]]]:
        m = self._modified()
        tables = {}
        tables["manifest.csv"] = (
            ["propertyName", "value"],
            [
                ["manifest.version", "1.0"],
                ["oneroster.version", self.version],
                ["file.academicSessions", "bulk"],
                ["file.classes", "bulk"],
                ["file.enrollments", "bulk"],
                ["file.orgs", "bulk"],
                ["file.users", "bulk"],
                ["file.courses", "absent"],
                *([["file.roles", "bulk"]] if self.version == "1.2" else []),
                *[[k, v] for k, v in self.manifest_extra.items()],
            ],
        )
        tables["orgs.csv"] = (
            ORGS,
            [
                [
                    o["sid"],
                    o.get("status", "active"),
                    m,
                    o["name"],
                    o["type"],
                    o["identifier"],
                    "" if o["type"] == "district" else "dist",
                ]
                for o in self.data["orgs"]
            ],
        )
        start = "2026-08-24T00:00:00.000Z" if self.messy else "2026-08-24"
        tables["academicSessions.csv"] = (
            SESSIONS,
            [["term-1", "active", m, "2026-27", "schoolYear", start, "2027-06-10", "", "2027"]],
        )
        # classes: sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,
        # classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods
        tables["classes.csv"] = (
            CLASSES,
            [
                [c["sid"], c.get("status", "active"), m, c["title"], "04", "course-1", "C1"]
                + ["scheduled", "", c["school"], "term-1", "", "", ""]
                for c in self.data["classes"]
            ],
        )
        tables["enrollments.csv"] = (
            ENROLLMENTS,
            [
                [
                    e["sid"],
                    e.get("status", "active"),
                    m,
                    e["class"],
                    self._school_of_class(e["class"]),
                    e["user"],
                    e["role"],
                    "false",
                    e.get("begin", ""),
                    e.get("end", ""),
                ]
                for e in self.data["enrollments"]
            ],
        )
        if self.version == "1.1":
            tables["users.csv"] = (
                USERS_11 + ["metadata.language"],
                [self._user11(u, m) for u in self.data["users"]],
            )
        else:
            tables["users.csv"] = (
                USERS_12 + ["metadata.language"],
                [self._user12(u, m) for u in self.data["users"]],
            )
            rows = []
            for u in self.data["users"]:
                for n, org in enumerate(u["orgs"]):
                    rows.append(
                        [
                            f"r-{u['sid']}-{org}",
                            u.get("role_status", "active"),
                            m,
                            u["sid"],
                            "primary" if n == 0 else "secondary",
                            u["role"],
                            u.get("role_begin", ""),
                            u.get("role_end", ""),
                            org,
                            "",
                        ]
                    )
            tables["roles.csv"] = (ROLES_12, rows)
        minutes = any("minutes" in r for r in self.data["iep"])  # the optional column
        tables["iep.csv"] = (
            IEP + ["aideMinutesPerDay"] * minutes,
            [
                [r["student"], r["manager"], r["annual"], r["reeval"], r["support"], r["aide"]]
                + [r.get("minutes", "")] * minutes
                for r in self.data["iep"]
            ],
        )
        for name, rows in self.raw_rows.items():
            header, existing = tables[name]
            tables[name] = (header, existing + rows)
        for name, columns in self.drop_columns.items():
            header, rows = tables[name]
            keep = [i for i, c in enumerate(header) if c not in columns]
            tables[name] = ([header[i] for i in keep], [[r[i] for i in keep] for r in rows])
        return tables

    def _school_of_class(self, klass):
        return next((c["school"] for c in self.data["classes"] if c["sid"] == klass), "")

    def _user11(self, u, m):
        return [
            u["sid"],
            u["status"],
            m,
            u["enabled"],
            ",".join(u["orgs"]),
            u["role"],
            u["sid"],
            "",
            u["given"],
            u["family"],
            "",
            u["identifier"],
            u["email"],
            "",
            "",
            ",".join(u["agents"]),
            u["grades"],
            "",
            u["language"],
        ]

    def _user12(self, u, m):
        return [
            u["sid"],
            u["status"],
            m,
            u["enabled"],
            u["sid"],
            "",
            u["given"],
            u["family"],
            "",
            "",
            u["email"],
            "",
            "",
            ",".join(u["agents"]),
            u["grades"],
            "",
            u["identifier"],
            "",
            "",
            "",
            "",
            u["orgs"][0] if u["orgs"] else "",
            "",
            u["language"],
        ]

    def write(self, folder: Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for name, (header, rows) in self._tables().items():
            if name in self.drop_files:
                continue
            if self.messy:
                header = ["dataLastModified" if c == "dateLastModified" else c for c in header] + [
                    "vendorExtra",
                    "",
                ]
                rows = [[*r, "ignored, with a comma", ""] for r in rows]
            with open(
                folder / name,
                "w",
                encoding="utf-8-sig" if self.messy else "utf-8",
                newline="",
            ) as out:
                writer = csv.writer(out, lineterminator="\r\n" if self.messy else "\n")
                writer.writerow(header)
                writer.writerows(rows)
                if self.messy:
                    out.write("\r\n")  # a blank line at the end
        return folder

    def zip(self, path: Path) -> Path:
        folder = self.write(Path(path).with_suffix(".d"))
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(folder.iterdir()):
                archive.write(file, f"export/{file.name}")
        return Path(path)

    def zip_bytes(self, tmp_path: Path) -> bytes:
        return self.zip(tmp_path / "export.zip").read_bytes()
