"""A realistic demo district: three schools, every role, 50 students, meetings and SECA
requests in every outcome, attendance, notices, contact attempts, finalized plans (small real
PDFs) and their copies, notifications read and unread; eight logins. Idempotent: rows are
found by natural key and saved only where a value differs; names come from a seeded
generator, dates are relative to today. It sends no email: what the app would have sent is
recorded as sent.
"""

import hashlib
import io
import itertools
import random
import unicodedata
import zoneinfo
from collections import Counter
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from pypdf import PdfWriter
from pypdf.generic import ContentStream, DictionaryObject, NameObject

from meetings.letters import EVENTS
from meetings.models import AttendanceRequest, Meeting
from meetings.services.distribution import plan_recipients
from staff.invites import guardians_invite_bulk
from staff.letters import fit, in_language
from staff.models import (
    Assignment,
    Guardian,
    PolicyCopy,
    RestraintPolicy,
    Role,
    RosterImport,
    School,
    StayRequest,
    Student,
    Training,
    TrainingCompletion,
    User,
    current_school_year,
    school_year_start,
)
from staff.training import CONTRACT_TRAININGS

PASSWORD = "iepcoord-demo"
DOMAIN = "demo.iepcoord.org"
SEED = 7500  # CPS has about 7,500 SECAs.
CHICAGO = zoneinfo.ZoneInfo("America/Chicago")  # every demo school's time zone

# code, name, address, grades, students with an IEP, students with a 504 plan
SCHOOLS = [
    ("DEMO-610", "Jane Addams Elementary", "1819 W. Cullerton St", "K 1 2 3 4 5 6 7 8", 18, 2),
    ("DEMO-620", "Ida B. Wells Preparatory Academy", "3745 S. Cottage Grove Ave", "K 1 2 3 4 5 6 7 8", 14, 1),
    ("DEMO-630", "Bronzeville Lakefront High School", "4934 S. Wabash Ave", "9 9 10 10 11 12 T", 14, 1),
]  # fmt: skip

# The eight logins, all with PASSWORD; every other demo account has no usable password.
LOGINS = {
    "admin": "District administrator (and Django admin)", "principal": "Principal, Addams",
    "ap": "Assistant principal, the principal's designee", "casemanager": "Case manager, 15 students",
    "seca": "SECA supporting 3 students", "seca2": "SECA supporting 3 students, free 9:00-12:15",
    "parent": "Parent of two students at Addams",
    "union": "Union representative: the district's measures, no names",
}  # fmt: skip

# email (before the @), full name, school (index in SCHOOLS; None: district-wide), role, detail
STAFF = [
    ("admin", "Avery Adeyemi", None, "district_admin", ""),
    ("union", "Rosa Delgado", None, "union_rep", ""),
    ("principal", "Patricia Okafor", 0, "principal", ""),
    ("ap", "Daniel Reyes", 0, "assistant_principal", ""),
    ("casemanager", "Carmen Alvarado", 0, "case_manager", ""),
    ("seca", "Jerome Washington", 0, "seca", "1:1 aide"),
    ("seca2", "Lena Kowalczyk", 0, "seca", "Classroom aide"),
    ("k.obi", "Kelechi Obi", 0, "case_manager", ""),
    ("m.brennan", "Maureen Brennan", 0, "teacher", "Diverse learner teacher"),
    ("t.nakamura", "Tom Nakamura", 0, "teacher", "General education teacher"),
    ("r.haddad", "Rania Haddad", 0, "related_service", "Speech-language pathologist"),
    ("g.harris", "Gloria Harris", 1, "principal", ""),
    ("l.dominguez", "Luis Domínguez", 1, "assistant_principal", ""),
    ("s.patel", "Sonia Patel", 1, "case_manager", ""),
    ("d.jackson", "Darnell Jackson", 1, "seca", "1:1 aide"),
    ("e.mroz", "Ewa Mróz", 1, "seca", "Classroom aide"),
    ("a.coleman", "Angela Coleman", 1, "teacher", "Diverse learner teacher"),
    ("b.oconnor", "Brian O'Connor", 1, "teacher", "General education teacher"),
    ("n.kim", "Nora Kim", 1, "related_service", "Occupational therapist"),
    ("w.bryant", "Walter Bryant", 2, "principal", ""),
    ("y.castillo", "Yolanda Castillo", 2, "assistant_principal", ""),
    ("f.ahmed", "Farah Ahmed", 2, "case_manager", ""),
    ("m.flores", "Marisol Flores", 2, "seca", "1:1 aide"),
    ("j.novak", "James Novak", 2, "seca", "Classroom aide"),
    ("c.greene", "Cynthia Greene", 2, "teacher", "Diverse learner teacher"),
    ("p.zielinski", "Peter Zieliński", 2, "teacher", "Transition coordinator"),
    ("o.mensah", "Olivia Mensah", 2, "related_service", "School social worker"),
]

KIDS = ["Aaliyah", "Amir", "Ana", "Andre", "Ava", "Camila", "Carlos", "Chloe", "Darius", "Destiny",
        "Diego", "Elijah", "Emmanuel", "Gabriel", "Isabella", "Jada", "Jalen", "Jasmine", "Josue",
        "Kayla", "Layla", "Liam", "Malik", "Maya", "Mateo", "Noah", "Nia", "Omar", "Sofia", "Zoe"]  # fmt: skip
ADULTS = ["Adriana", "Beatriz", "Denise", "Elena", "Fatima", "Grace", "Guadalupe", "Janelle", "Keisha",
          "Lupe", "Marcus", "Maria", "Monique", "Robert", "Rosa", "Tanya", "Thanh", "Yusuf", "Zofia"]  # fmt: skip
# Family names and the language spoken at home.
FAMILIES = [
    ("Hernández", "Spanish"), ("García", "Spanish"), ("Martínez", "Spanish"),
    ("Rodríguez", "Spanish"), ("López", "English"), ("Ramírez", "Spanish"), ("Torres", "English"),
    ("Johnson", "English"), ("Williams", "English"), ("Brown", "English"), ("Davis", "English"),
    ("Robinson", "English"), ("Walker", "English"), ("Young", "English"), ("Allen", "English"),
    ("Wright", "English"), ("Scott", "English"), ("Green", "English"), ("Baker", "English"),
    ("Nowak", "Polish"), ("Wiśniewski", "Polish"), ("Nguyen", "Vietnamese"), ("Tran", "Vietnamese"),
    ("Hassan", "Arabic"), ("Ali", "Arabic"), ("Khan", "Urdu"), ("Chen", "Mandarin"),
]  # fmt: skip
RELATIONSHIPS = ["Mother", "Father", "Grandmother", "Aunt", "Guardian"]
# Grades the story needs: parent@'s children at Addams (slots 0 and 7, in grades 5 and 2);
# two high-school students of 16 and over, whose meetings include transition planning.
GRADES = {(0, 0): "5", (0, 7): "2", (2, 0): "11", (2, 1): "T"}
PARENT_CHILDREN = [(0, 0), (0, 7)]
ROOMS = ["Room 104", "Main office conference room", "Library", "Room 210"]
GRADE_AGE = {"K": 5, "T": 19} | {str(n): n + 5 for n in range(1, 13)}

# A SECA's weekday, Monday to Friday: (starts, ends, student slot or "group"). The first SECA
# of each school supports slots 0-2 and is busy all day; the second supports slots 3-5 and
# is free 9:00-12:15, so mid-morning meetings have someone to cover.
DAY_BUSY = [("08:00", "09:30", 1), ("09:30", "11:00", 0), ("11:00", "11:45", "group"),
            ("12:30", "14:00", 2), ("14:00", "15:00", 1)]  # fmt: skip
DAY_WITH_GAP = [("08:00", "09:00", 3), ("12:15", "13:00", 5), ("13:00", "14:30", "group"),
                ("14:30", "15:15", 4)]  # fmt: skip
GROUPS = [("Room 210 reading group", "Room 114 math group"),
          ("Room 305 social skills group", "Room 118 writing group"),
          ("Life skills lab", "Room 221 algebra support group")]  # fmt: skip

# The meetings the demo's story needs: (school, student slot, kind, school days from today,
# starts, minutes, state). Other students get routine meetings by rule.
MEETINGS = [
    (0, 0, "annual", 14, "11:00", 60, "scheduled"),  # parent@'s child: seca@ has not asked yet
    (0, 0, "reeval", -49, "09:30", 90, "held"),
    (0, 1, "annual", 6, "09:30", 60, "scheduled"),  # the notice went late: see SHORT_NOTICE
    (0, 1, "amendment", -63, "11:00", 45, "held"),
    (0, 2, "annual", 2, "10:00", 60, "scheduled"),  # this week: k.obi covers for seca@
    (0, 2, "amendment", -21, "13:00", 45, "held"),
    (0, 2, "reeval", -84, "14:00", 90, "held"),
    (0, 3, "annual", 11, "13:30", 60, "scheduled"),
    (0, 3, "reeval", -35, "09:00", 90, "held"),
    (0, 3, "amendment", -56, "10:00", 45, "cancelled"),
    (0, 4, "annual", 18, "10:30", 60, "scheduled"),
    (0, 4, "amendment", -42, "13:00", 45, "held"),
    (0, 4, "reeval", -77, "10:30", 90, "held"),
    (0, 5, "amendment", 8, "10:00", 45, "cancelled"),
    (0, 5, "reeval", -28, "10:00", 90, "held"),
    (0, 7, "reeval", -30, "13:30", 90, "held"),  # parent@'s younger child
    (0, 7, "amendment", 16, "14:00", 45, "scheduled"),
    (0, 12, "amendment", -1, "14:00", 45, "scheduled"),  # started: attendance not recorded
    (1, 0, "annual", 5, "10:30", 60, "scheduled"),
    (1, 0, "amendment", -56, "11:00", 45, "held"),
    (1, 1, "reeval", -14, "09:00", 90, "held"),
    (2, 0, "transition", 12, "11:00", 60, "scheduled"),
    (2, 1, "annual", -7, "14:00", 60, "held"),
]
# Requests by the student's SECA: (meeting, status, decided by (a role at the school), deny
# reason, the decision's note or coverage, covered by the school's other SECA).
REQUESTS = [
    ((0, 0, "reeval"), "expired", "", "", "", False),
    ((0, 1, "annual"), "pending", "", "", "", False),
    ((0, 1, "amendment"), "denied", "assistant_principal", "group", "The Room 210 reading group has no other adult at 11:00.", False),
    ((0, 2, "annual"), "approved", "assistant_principal", "", "Mr. Obi covers the 10:00 block with Jerome's student.", True),
    ((0, 2, "amendment"), "denied", "principal", "other_student", "Jerome has two students that afternoon.", False),
    ((0, 2, "reeval"), "denied", "principal", "other", "Jerome goes with Room 210 on the field trip that afternoon.", False),
    ((0, 3, "annual"), "denied", "principal", "group", "The Room 114 math group has no other adult at 13:30.", False),
    ((0, 3, "reeval"), "approved", "assistant_principal", "", "The math group joined Ms. Brennan's class.", False),
    ((0, 3, "amendment"), "cancelled", "", "", "", False),
    ((0, 4, "annual"), "withdrawn", "", "", "", False),
    ((0, 4, "amendment"), "withdrawn", "", "", "", False),
    ((0, 4, "reeval"), "denied", "principal", "parent_asked", "The family asked for a small team this time.", False),
    ((0, 5, "amendment"), "cancelled", "", "", "", False),
    ((0, 5, "reeval"), "approved", "assistant_principal", "", "Lena is free from 9:00 to 12:15: no coverage needed.", False),
    ((1, 0, "annual"), "pending", "", "", "", False),
    ((1, 0, "amendment"), "denied", "principal", "group", "The Room 305 social skills group has no other adult at 11:00.", False),
    ((1, 1, "reeval"), "approved", "principal", "", "The classroom teacher covers; no aide needed.", False),
    ((2, 0, "transition"), "denied", "principal", "parent_asked", "The family asked for a small team.", False),
    ((2, 1, "annual"), "expired", "", "", "", False),
]  # fmt: skip

APPROVED = {key for key, status, *_ in REQUESTS if status == "approved"}
# Approved, then marked absent: not honored (contract: then feedback and a copy of the plan).
ABSENT = {(0, 5, "reeval")}
# Not honored, and no feedback given yet: seca@'s "feedback you still owe". Every other request
# not honored at a meeting held has its feedback.
FEEDBACK_OWED = {(0, 0, "reeval")}
# A notice issued fewer than NOTICE_PERIOD_DAYS ahead, and why (34 CFR 300.322(a)(1)).
SHORT_NOTICE = {
    (0, 1, "annual"): "The family could meet only next week: agreed by phone (see the attempts)."
}
# 34 CFR 300.322(d): the attempts to agree a time (days before today, time, method, outcome).
CONTACT_ATTEMPTS = {
    (0, 1, "annual"): [
        (9, "15:40", "phone", "No answer; left a voicemail asking for a time in the next two weeks."),
        (8, "08:05", "email", "No reply."),
        (6, "07:50", "letter", "Sent home in the student's folder, with three times to choose from."),
        (2, "16:10", "phone", "Reached the family: they can meet only next week, and agreed to the shorter notice."),
    ],
}  # fmt: skip
# Plans of held meetings: (days after the meeting it was finalized, or None: uploaded and not
# finalized yet; days after it the corrected version 2 was, or None). Held meetings outside
# the story have theirs finalized after 3 days, except slots 10 and up (no plan yet): both
# leave the case manager "meetings to close".
PLANS = {
    (0, 0, "reeval"): (3, None), (0, 1, "amendment"): (12, None),  # late: after 5 school days
    (0, 2, "amendment"): (2, 6), (0, 2, "reeval"): (4, None), (0, 3, "reeval"): (None, None),
    (0, 4, "amendment"): (5, None), (0, 4, "reeval"): (3, None), (0, 5, "reeval"): (4, None),
    (0, 7, "reeval"): (2, None), (1, 0, "amendment"): (3, None), (1, 1, "reeval"): (5, None),
    (2, 1, "annual"): (4, None),
}  # fmt: skip
# Copies of a plan not opened yet (meeting, version, recipient before the @); the others were
# opened the day after they were sent.
# The trainings each school's first and second SECA completed (the new-SECA curriculum last
# school year; this year's de-escalation, imported by the district): seca@ is overdue.
DEMO_TRAININGS = [
    ("de-escalation-practices", "iep-procedures", "personal-care"),
    ("de-escalation-practices", "iep-procedures", "annual-de-escalation"),
]
UNOPENED = {
    ((0, 0, "reeval"), 1, "seca"), ((0, 2, "amendment"), 2, "seca"), ((0, 7, "reeval"), 1, "parent"),
    ((0, 5, "reeval"), 1, "seca2"), ((2, 1, "annual"), 1, "m.flores"), ((2, 4, "reeval"), 1, "j.novak"),
}  # fmt: skip
# parent@'s answer to the notice of a meeting of their younger child.
ANSWERS = {(0, 7, "amendment"): "attend"}
# The team around the meeting: a parent's answer given by phone and recorded by the case
# manager (answer, method, days ago); a teacher added after scheduling, with the updated
# notice to the family; parents' wishes about the SECA (parent@'s: no SECA has asked yet;
# another family's: approved); coverers who are not SECAs (contract).
RECORDED_ANSWERS = {(0, 1, "annual"): ("attend", "phone", 2)}
ADDED_INVITEES = {(0, 0, "annual"): "t.nakamura"}
WISHES = {(0, 0, "annual"): "Jerome knows what calms her down.", (0, 2, "annual"): ""}
COVERERS = {
    (0, 2, "annual"): "k.obi", (0, 3, "reeval"): "m.brennan", (1, 1, "reeval"): "a.coleman",
}  # fmt: skip
POSTPONED = "The family asked to postpone; the case manager will propose new times."
# The aide support the IEPs require, by student slot: (support, minutes a day). The SECAs'
# students (slots 0-5) are staffed; slots 6 and 8 at Addams are not, since the day given.
AIDE_SUPPORT = {0: ("one_to_one", 390), 1: ("shared", 120), 2: ("shared", 120), 3: ("shared", 90), 4: ("shared", 90), 5: ("shared", 60)}  # fmt: skip
UNSTAFFED = {(0, 6): ("one_to_one", 390, 23), (0, 8): ("shared", 180, 9)}
# seca@'s requests to stay with their students next year: (slot, status, decided by, deny
# reason, note, days ago asked).
STAYS = [
    (0, "pending", "", "", "", 2),
    (1, "approved", "principal", "", "Jerome stays with him in 2nd grade.", 12),
    (2, "denied", "assistant_principal", "student_needs", "The new IEP calls for a 1:1 aide with nursing training.", 15),
]  # fmt: skip
FEEDBACK = {
    "strengths": "Curious; loves hands-on work and music.",
    "what_works": "A picture schedule, a warning before each transition, short movement breaks.",
    "challenges": "Loud rooms and unexpected changes in routine.",
    "progress": "Reads short passages with support; asks for help with new words.",
    "suggestions": "Keep the movement breaks; add a visual timer.",
}


class Command(BaseCommand):
    help = "Load the demo district (DEBUG only); running it again changes nothing."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("load_demo runs only with DEBUG on: its password is published.")
        demo = Demo(timezone.localdate())
        demo.load()
        self.stdout.write(f"\n{'email':<32} {'role':<46} password")
        for local, role in LOGINS.items():
            self.stdout.write(f"{local + '@' + DOMAIN:<32} {role:<46} {PASSWORD}")
        self.stdout.write(
            f"admin@{DOMAIN} sets up two-step sign-in (an authenticator app) at first sign-in."
        )
        c, ieps = demo.count, sum(row[4] for row in SCHOOLS)
        self.stdout.write(
            f"\nDemo district loaded: {c['School']} schools, {len(STAFF)} staff, "
            f"{c['Student']} students ({ieps} with IEPs), {c['Guardian']} guardians, "
            f"{c['Meeting']} meetings, {c['AttendanceRequest']} attendance requests, "
            f"{c['Plan']} plans, {c['PlanDelivery']} copies sent, "
            f"{c['Notification']} notifications; {c['created']} rows created, "
            f"{c['updated']} updated."
        )


class Demo:
    def __init__(self, today):
        self.today, self.year = today, current_school_year(today)
        self.rng, self.count = random.Random(SEED), Counter()
        self.schools, self.staff, self.students = [], {}, {}  # staff: (school, role) -> users
        self.support = {}  # student pk -> {"seca": user, "teacher": user, ...}
        self.meetings = {}  # (school, slot, kind) -> Meeting
        self.requests = {}  # (school, slot, kind) -> the story's AttendanceRequest
        self.people = {}  # user pk -> User: the demo's accounts

    def upsert(self, objects, lookup, **values):
        """get_or_create on a natural key through a manager (often a related one), then save
        only the fields that differ. The first row wins if trying the demo added another."""
        model = objects.model
        obj = objects.filter(**lookup).order_by("pk").first()
        self.count[model.__name__] += 1
        if obj is None:
            self.count["created"] += 1
            obj = objects.create(**lookup, **values)
            if "created_at" in values and obj.created_at != values["created_at"]:
                # auto_now_add stamped the load: the reports read when it really happened.
                model.objects.filter(pk=obj.pk).update(created_at=values["created_at"])
                obj.created_at = values["created_at"]
            return obj
        changed = []
        for name, value in values.items():
            field = model._meta.get_field(name)
            value = value.pk if field.is_relation and value is not None else value
            if getattr(obj, field.attname) != value:
                setattr(obj, field.attname, value)
                changed.append(field.attname)
        if changed:
            self.count["updated"] += 1
            obj.save(update_fields=changed + (["updated_at"] if hasattr(obj, "updated_at") else []))
        return obj

    def day(self, offset):
        """The weekday `offset` days from today, moved off a weekend away from today."""
        day = self.today + timedelta(days=offset)
        while day.weekday() >= 5:
            day += timedelta(days=1 if offset >= 0 else -1)
        return day

    def at(self, day, hhmm):
        return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=CHICAGO)

    def account(self, local, full_name, **values):
        user = self.upsert(
            User.objects, {"email": f"{local}@{DOMAIN}"}, full_name=full_name, **values
        )
        if local not in LOGINS and not user.password:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        self.people[user.pk] = user
        return user

    def set_passwords(self):
        """The logins share one hash of PASSWORD, set only where missing or wrong. Hashing is
        slow on purpose (PBKDF2, half a second): each distinct hash is checked once, and one
        made at most, so a run costs one hash whatever the number of logins."""
        logins = [u for u in self.people.values() if u.email.split("@")[0] in LOGINS]
        valid = {}
        for encoded in {user.password for user in logins}:
            valid[encoded] = bool(encoded) and check_password(PASSWORD, encoded)
        shared = next((encoded for encoded, ok in valid.items() if ok), None)
        for user in logins:
            if not valid[user.password]:
                user.password = shared = shared or make_password(PASSWORD)
                user.save(update_fields=["password"])

    @transaction.atomic
    def load(self):
        for code, name, address, *_ in SCHOOLS:
            office = f"office.{code.lower()}@{DOMAIN}"
            values = dict(name=name, address=address, phone="773-555-0100", main_office_email=office)  # fmt: skip
            self.schools.append(self.upsert(School.objects, {"code": code}, **values))
        for local, name, s, kind, detail in STAFF:
            admin = kind == Role.Kind.DISTRICT_ADMIN
            user = self.account(local, name, is_staff=admin, is_superuser=admin)
            user.detail = detail
            school = None if s is None else self.schools[s]
            self.upsert(Role.objects, {"user": user, "school": school, "kind": kind})
            self.staff.setdefault((s, kind), []).append(user)
        principal, ap = self.staff[0, "principal"][0], self.staff[0, "assistant_principal"][0]
        self.upsert(self.schools[0].designations, {"designee": ap}, named_by=principal)
        self.load_students()
        self.load_families_and_support()
        for key, student in self.students.items():
            story = [row[2:] for row in MEETINGS if row[:2] == key]
            for kind, *when in story or self.routine_meetings(key, student):
                self.load_meeting(key, student, kind, *when, story=bool(story))
        self.load_requests()
        self.load_aide_support()
        self.load_stay_requests()
        self.load_contact_attempts()
        self.load_plans()
        self.load_training()
        self.load_roster_import()
        self.load_notifications()
        self.set_passwords()

    def load_students(self):
        rng, annual_due = self.rng, {}
        total = sum(ieps + plans_504 for *_, ieps, plans_504 in SCHOOLS)
        names = iter(rng.sample([(kid, *family) for kid in KIDS for family in FAMILIES], total))
        for s, slot, kind, offset, _, _, state in MEETINGS:
            if kind == "annual":  # due a week after a scheduled review, a year after a held one
                day = self.day(offset)
                annual_due[s, slot] = day + timedelta(days=365 if state == "held" else 7)
        for s, (code, _, _, grades, ieps, plans_504) in enumerate(SCHOOLS):
            case_managers = self.staff[s, "case_manager"]
            for slot in range(ieps + plans_504):
                first, last, language = next(names)
                interpreter = language != "English" and rng.random() < 0.5
                if (s, slot) in PARENT_CHILDREN[1:]:  # a younger sibling
                    older = self.students[PARENT_CHILDREN[0]]
                    last, language, interpreter = older.last_name, older.home_language, older.interpreter_needed  # fmt: skip
                # One in eight annual reviews is overdue, two in eight due within 30 days.
                low, high = (-40, -5) if slot % 8 == 0 else (3, 30) if slot % 8 < 3 else (31, 330)
                due = annual_due.get((s, slot), self.today + timedelta(rng.randint(low, high)))
                last_iep = due - timedelta(days=365)
                grade = GRADES.get((s, slot)) or rng.choice(grades.split())
                born = date(self.year - GRADE_AGE[grade], 9, 1) - timedelta(rng.randint(0, 364))
                self.students[s, slot] = self.upsert(
                    Student.objects, {"district_student_id": f"{code[-3:]}{slot + 1:05d}"},
                    first_name=first, last_name=last, date_of_birth=born, grade=grade,
                    school=self.schools[s], plan_type="iep" if slot < ieps else "504",
                    case_manager=case_managers[0] if slot < 15 else case_managers[-1],
                    last_iep_date=last_iep, annual_review_due=due,
                    reevaluation_due=last_iep + timedelta(days=365 * rng.choice((1, 2, 3))),
                    home_language=language, interpreter_needed=interpreter,
                )  # fmt: skip

    def load_families_and_support(self):
        rng = self.rng
        parent_name = f"{rng.choice(ADULTS)} {self.students[PARENT_CHILDREN[0]].last_name}"
        parent = self.account("parent", parent_name)
        for (s, slot), student in self.students.items():
            for n in range(1 if rng.random() < 0.6 else 2):
                first, relationship = rng.choice(ADULTS), rng.choice(RELATIONSHIPS[n:])
                name, user = f"{first} {student.last_name}", None
                if (s, slot) in PARENT_CHILDREN and n == 0:
                    name, user, relationship = parent_name, parent, "Mother"
                plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
                email = user.email if user else f"{plain.lower().replace(' ', '.')}@example.net"
                spanish = student.home_language == "Spanish" and (student.interpreter_needed or n)
                self.upsert(
                    student.guardians, {"full_name": name}, user=user,
                    relationship=relationship, email="" if slot % 5 == 2 and not user else email,
                    phone=f"773-555-{rng.randint(1000, 9999)}", preferred_language="es" if spanish else "en",
                )  # fmt: skip
            support = {"teacher": self.staff[s, "teacher"][slot % 2]}
            if slot < 6:  # each SECA supports three students
                support["seca"] = self.staff[s, "seca"][slot // 3]
            if slot % 3 == 0:
                support["related_service"] = self.staff[s, "related_service"][0]
            for kind, user in support.items():
                key = dict(staff=user, kind=kind, school_year=self.year)
                self.upsert(student.assignments, key, detail=user.detail)
            self.support[student.pk] = support
        for s, groups in enumerate(GROUPS):
            days = zip(self.staff[s, "seca"], (DAY_BUSY, DAY_WITH_GAP), groups, strict=True)
            for seca, day, group in days:
                for weekday, (starts, ends, who) in itertools.product(range(5), day):
                    student = None if who == "group" else self.students[s, who]
                    self.upsert(
                        seca.schedule_blocks, dict(school_year=self.year, weekday=weekday, starts=time.fromisoformat(starts)),
                        school=self.schools[s], ends=time.fromisoformat(ends), student=student,
                        group_name="" if student else group,
                    )  # fmt: skip

    def routine_meetings(self, key, student):
        """Meetings by rule for the students outside the story."""
        rng, slot = self.rng, key[1]
        due_in = (student.annual_review_due - self.today).days
        if student.plan_type == Student.PlanType.SECTION_504:
            yield "504", rng.randint(4, 30), "08:30", 45, "scheduled"
        elif due_in <= 40 and (due_in >= 0 or slot % 2):  # half the overdue ones: not yet
            yield "annual", max(3, due_in - 5), rng.choice(("09:00", "14:00")), 60, "scheduled"
        elif GRADE_AGE[student.grade] >= 16:
            yield "transition", rng.randint(5, 35), "11:00", 60, "scheduled"
        if slot % 5 == 4 and student.plan_type == Student.PlanType.IEP:
            yield "reeval", -rng.randint(10, 90), "08:30", 90, "held"
        if slot % 7 == 6:
            yield "amendment", rng.randint(2, 20), "13:30", 45, "cancelled"

    def load_meeting(self, key, student, kind, offset, starts, minutes, state, *, story):
        (s, slot), day = key, self.day(offset)
        remote = slot % 4 == 3  # some meet by video only
        link = f"https://meet.example.org/iep-{student.district_student_id}-{kind}"
        self.meetings[s, slot, kind] = meeting = self.upsert(
            student.meetings, {"kind": kind}, school=self.schools[s], state=state,
            starts_at=self.at(day, starts), ends_at=self.at(day, starts) + timedelta(minutes=minutes),
            location="" if remote else ROOMS[slot % len(ROOMS)], phone_dial_in="",
            held_at=self.at(day, starts) + timedelta(minutes=minutes) if state == "held" else None,
            video_link=link if remote or kind == "annual" else "", scheduled_by=student.case_manager,
            change_reason=POSTPONED if state == Meeting.State.CANCELLED else "",
            short_notice_reason=SHORT_NOTICE.get((s, slot, kind), ""),
        )  # fmt: skip
        meeting.school = self.schools[s]  # the letters read its time zone
        support, held = self.support[student.pk], state == Meeting.State.HELD
        team = [(student.case_manager, "Case manager"), (support["teacher"], None)]
        if "related_service" in support and kind in ("annual", "reeval"):
            team.append((support["related_service"], None))
        # The school invites the SECA now and then; in the story, once the request is approved.
        if "seca" in support and ((s, slot, kind) in APPROVED or (not story and kind == "annual")):
            team.append((support["seca"], "SECA"))
        # (name, user, role, email, attended if held): one guardian of two missed the meeting,
        # and an approved SECA was called away (ABSENT).
        absent = (s, slot, kind) in ABSENT
        invited = [(u.full_name, u, role or u.detail, "", not (absent and role == "SECA"), None) for u, role in team]  # fmt: skip
        if (s, slot, kind) in ADDED_INVITEES:  # added after scheduling: see the notices
            added = self.people_by_local(ADDED_INVITEES[s, slot, kind])
            invited.append((added.full_name, added, "Teacher", "", True, None))
        guardians = list(student.guardians.order_by("pk"))
        invited += [(g.full_name, g.user, g.relationship, "" if g.user else g.email, n == 0, g) for n, g in enumerate(guardians)]  # fmt: skip
        if GRADE_AGE[student.grade] >= 16:  # 34 CFR 300.322(b)(2): the student is invited
            invited.append((student.full_name, None, "Student", "", True, None))
        for name, user, role, email, attended, guardian in invited:
            values = dict(user=user, role=role, email=email, attended=attended if held else None)
            self.upsert(meeting.invitations, {"name": name}, guardian=guardian, **values)
        # 34 CFR 300.322: each guardian had the notice of meeting two weeks ahead, but for a
        # short notice (issued yesterday); the reports count from when it was issued.
        issued = self.at(min(self.today, day - timedelta(13)) - timedelta(1), "16:00")
        if (s, slot, kind) in SHORT_NOTICE:
            issued = self.at(self.today - timedelta(days=1), "16:00")
        issued = {"scheduled": issued}
        if (s, slot, kind) in ADDED_INVITEES:
            issued["updated"] = self.at(self.today - timedelta(days=1), "11:20")
        if state == Meeting.State.CANCELLED:
            issued["cancelled"] = self.cancelled_at(meeting)
        for guardian, (notice, at) in itertools.product(guardians, issued.items()):
            # No email address: the notice waits, unsent, for the case manager to print.
            sent_at = at if guardian.user_id or guardian.email else None
            self.upsert(
                meeting.notices, {"guardian": guardian, "kind": notice}, sent_at=sent_at,
                created_at=at,
            )  # fmt: skip
        if (s, slot, kind) in ANSWERS:
            guardian = student.guardians.get(user__email=f"parent@{DOMAIN}")
            answer = ANSWERS[s, slot, kind]
            self.upsert(meeting.responses, {"guardian": guardian}, answer=answer, note="")
        if (s, slot, kind) in RECORDED_ANSWERS:
            answer, method, days = RECORDED_ANSWERS[s, slot, kind]
            self.upsert(
                meeting.responses, {"guardian": guardians[0]}, answer=answer, note="",
                recorded_by=student.case_manager, method=method,
                answered_on=self.today - timedelta(days=days),
            )  # fmt: skip
        if (s, slot, kind) in WISHES:
            guardian = guardians[0]
            self.upsert(meeting.parent_wishes, {"guardian": guardian}, wish="attend", note=WISHES[s, slot, kind])  # fmt: skip

    def cancelled_at(self, meeting):
        """When the case manager cancelled it: yesterday, or three days before it was due."""
        day = timezone.localdate(meeting.starts_at)
        return self.at(min(self.today - timedelta(days=1), day - timedelta(days=3)), "16:30")

    def load_requests(self):
        # The demo's meetings carry exactly the demo's requests: drop those added while trying
        # the demo, so that seca@ can ask to attend parent@'s child's meeting again.
        requested = {key for key, *_ in REQUESTS}
        others = [meeting for key, meeting in self.meetings.items() if key not in requested]
        AttendanceRequest.objects.filter(meeting__in=others).delete()
        for n, (key, status, decider, reason, text, covered) in enumerate(REQUESTS):
            meeting, (s, slot, _) = self.meetings[key], key
            student, seca = meeting.student, self.support[meeting.student_id]["seca"]
            first = meeting.requests.filter(seca=seca).order_by("pk").first()
            meeting.requests.exclude(pk=getattr(first, "pk", None)).delete()
            meeting_day = timezone.localdate(meeting.starts_at)
            decided_on = min(self.today, meeting_day) - timedelta(days=2)
            # When the SECA asked: the reports time decisions from it.
            if decider:
                asked = self.at(decided_on, "15:30") - timedelta(hours=18 + 7 * (n % 5))
            elif status == "pending":
                asked = self.at(self.today - timedelta(days=1), "18:10")
            else:
                asked = self.at(min(self.today, meeting_day) - timedelta(days=6), "07:55")
            self.requests[key] = self.upsert(
                meeting.requests, {"seca": seca}, status=status, created_at=asked,
                note=f"I support {student.first_name} every day and know what works.",
                reopened=False, version=0 if status == "pending" else 1,
                decided_by=self.staff[s, decider][0] if decider else None,
                decided_at=self.at(decided_on, "15:30") if decider else None,
                deny_reason=reason, decision_note=text if status == "denied" else "",
                covered_by=self.people_by_local(COVERERS[key]) if key in COVERERS
                else self.staff[s, "seca"][1 - slot // 3] if covered else None,
                coverage_note=text if status == "approved" else "",
            )  # fmt: skip
            if reason == AttendanceRequest.DenyReason.PARENT_ASKED:
                guardian = student.guardians.order_by("pk").first()
                note = "We would like a smaller meeting this year."
                self.upsert(
                    meeting.parent_wishes, {"guardian": guardian}, wish="not_attend", note=note
                )
            if key in FEEDBACK_OWED:  # given while trying the demo: owed again
                meeting.feedback.filter(seca=seca).delete()
            elif status in ("denied", "expired") and meeting.state == Meeting.State.HELD:
                # Contract: a SECA not honored gives feedback in the agreed format beforehand.
                submitted = self.at(meeting_day - timedelta(days=1), "16:00")
                self.upsert(meeting.feedback, {"seca": seca}, submitted_at=submitted, **FEEDBACK)
            elif key in ABSENT:  # approved and absent: feedback the day after, an addendum
                submitted = self.at(meeting_day + timedelta(days=1), "15:45")
                self.upsert(
                    meeting.feedback, {"seca": seca}, submitted_at=submitted, after_meeting=True,
                    **FEEDBACK,
                )  # fmt: skip

    def load_aide_support(self):
        for (s, slot), student in self.students.items():
            support, minutes, since = ("none", None, None)
            if s == 0 and slot in AIDE_SUPPORT:
                support, minutes = AIDE_SUPPORT[slot]
            if (s, slot) in UNSTAFFED:
                support, minutes, days = UNSTAFFED[s, slot]
                since = self.today - timedelta(days=days)
            self.upsert(
                Student.objects, {"pk": student.pk}, aide_support=support,
                aide_minutes_per_day=minutes, unstaffed_since=since,
            )  # fmt: skip

    def load_stay_requests(self):
        """Contract: seca@ asks to stay with their students next year, one request in each
        outcome, and with a classroom. Those added while trying the demo are dropped."""
        kept = []
        for slot, status, decider, reason, note, days in STAYS:
            student, seca = self.students[0, slot], self.staff[0, "seca"][0]
            decided = self.at(self.today - timedelta(days=days - 1), "14:20") if decider else None
            stay = self.upsert(
                StayRequest.objects, {"seca": seca, "student": student, "school_year": self.year + 1},
                school=student.school, occasion="next_year", status=status,
                note=f"{student.first_name} has had the same SECA all year; a new SECA would set them back.",
                created_at=self.at(self.today - timedelta(days=days), "16:05"),
                version=0 if status == "pending" else 1,
                decided_by=self.staff[0, decider][0] if decider else None, decided_at=decided,
                deny_reason=reason, decision_note=note,
            )  # fmt: skip
            kept.append(stay.pk)
            approvers = [self.staff[0, "principal"][0], self.staff[0, "assistant_principal"][0]]
            for approver in approvers:
                self.notification(
                    approver, "stay_submitted", request=stay, at=stay.created_at, read=bool(decider)
                )
            if decider:
                self.notification(seca, f"stay_{status}", request=stay, at=decided, read=days > 8)
        # And to stay with the reading group of their schedule: pending.
        seca, group = self.staff[0, "seca"][0], GROUPS[0][0]
        stay = self.upsert(
            StayRequest.objects, {"seca": seca, "classroom": group, "school_year": self.year + 1},
            student=None, school=self.schools[0], occasion="next_year", status="pending",
            note="The reading group has grown with me all year; I would like to see it through.",
            created_at=self.at(self.today - timedelta(days=2), "15:40"), version=0,
            decided_by=None, decided_at=None, deny_reason="", decision_note="",
        )  # fmt: skip
        kept.append(stay.pk)
        for approver in [self.staff[0, "principal"][0], self.staff[0, "assistant_principal"][0]]:
            self.notification(
                approver, "stay_submitted", request=stay, at=stay.created_at, read=False
            )
        StayRequest.objects.filter(school__in=self.schools).exclude(pk__in=kept).delete()

    def load_contact_attempts(self):
        for key, attempts in CONTACT_ATTEMPTS.items():
            meeting = self.meetings[key]
            for days, hhmm, method, outcome in attempts:
                self.upsert(
                    meeting.contact_attempts, {"method": method, "outcome": outcome},
                    student=meeting.student, made_by=meeting.student.case_manager,
                    attempted_at=self.at(self.today - timedelta(days=days), hhmm),
                )  # fmt: skip

    def load_plans(self):
        """The plans of the held meetings, as small real PDFs in the default storage, and
        their copies to the parents and to the SECAs who could not attend (contract; 34 CFR
        300.322(f)): sent, some opened. Made in their final state: no email goes."""
        for key, meeting in self.meetings.items():
            if meeting.state != Meeting.State.HELD:
                continue
            if key in PLANS:
                final, corrected = PLANS[key]
            elif key[1] < 10:
                final, corrected = 3, None
            else:
                continue  # no plan uploaded yet
            self.load_plan(key, meeting, 1, final)
            if corrected is not None:
                self.load_plan(key, meeting, 2, corrected)

    def load_plan(self, key, meeting, version, days_after):
        day = timezone.localdate(meeting.starts_at)
        finalized = None
        if days_after is not None:
            on = min(day + timedelta(days=days_after), self.today - timedelta(days=1))
            finalized = self.at(on, "15:00") + timedelta(minutes=version)
        content = plan_pdf(meeting, version)
        # Named as plan_upload names it: nothing of the student in the file's name.
        name = self.stored(f"plans/demo/plan-{meeting.pk}-v{version}.pdf", content)
        plan = self.upsert(
            meeting.plans, {"version": version}, file=name,
            sha256=hashlib.sha256(content).hexdigest(),
            uploaded_by=meeting.student.case_manager, finalized_at=finalized,
        )  # fmt: skip
        if finalized is None:
            return
        plan.meeting = meeting
        last_evening = self.at(self.today - timedelta(days=1), "21:00")
        for user_id, reason in plan_recipients(plan=plan).items():
            recipient = self.people.get(user_id) or User.objects.get(pk=user_id)
            sent = finalized + timedelta(minutes=2)
            unopened = (key, version, recipient.email.split("@")[0]) in UNOPENED
            opened = None if unopened else min(sent + timedelta(hours=28), last_evening)
            delivery = self.upsert(
                plan.deliveries, {"recipient": recipient}, reason=reason, sent_at=sent,
                acknowledged_at=opened, created_at=finalized,
            )  # fmt: skip
            # As delivery_delivered records it: the in-app notice of the copy, emailed.
            names = {"student": meeting.student.full_name, "version": version}
            with translation.override(recipient.preferred_language):
                message = gettext("The finalized plan of %(student)s (version %(version)d) is ready.")  # fmt: skip
                message %= names
            url = reverse("delivery_open", args=[delivery.pk])
            self.notification(recipient, "", at=sent, read=opened, message=message, url=url)

    def load_training(self):
        """The contract's trainings, completions recorded by the schools and imported by the
        district (seca@ is overdue for this year's de-escalation), and this school year's
        restraint and time-out policy, sent to every SECA, opened by some."""
        trainings = {}
        for code, name, recurrence, due_on in CONTRACT_TRAININGS:
            values = dict(name=name, recurrence=recurrence, due_on=due_on)
            trainings[code] = self.upsert(Training.objects, {"code": code}, **values)
        admin = self.staff[None, "district_admin"][0]
        this_year = max(school_year_start(self.year), self.today - timedelta(days=12))
        for s, school in enumerate(self.schools):
            principal = self.staff[s, "principal"][0]
            for n, seca in enumerate(self.staff[s, "seca"]):
                done = DEMO_TRAININGS[n]
                for code in done:
                    imported = code == "annual-de-escalation"
                    self.upsert(
                        seca.training_completions, {"training": trainings[code]},
                        completed_on=this_year if imported else date(self.year - 1, 8, 20),
                        recorded_by=admin if imported else principal, school=None if imported else school,
                        source=TrainingCompletion.Source.IMPORT if imported else TrainingCompletion.Source.SCHOOL,
                    )  # fmt: skip
                seca.training_completions.exclude(training__code__in=done).delete()
        sent = self.at(self.day(-20), "07:00")
        content = text_pdf([
            f"Restraint and time-out policy, school year {self.year}-{(self.year + 1) % 100:02d}",
            "A sample policy of the iepcoord demo district.",
        ])  # fmt: skip
        name = self.stored(f"policies/demo/policy-{self.year}.pdf", content)
        policy = self.upsert(
            RestraintPolicy.objects, {"school_year": self.year},
            title=f"Restraint and time-out policy {self.year}-{(self.year + 1) % 100:02d}",
            file=name, sha256=hashlib.sha256(content).hexdigest(), uploaded_by=admin,
            created_at=sent - timedelta(minutes=5),
        )  # fmt: skip
        for s, _school in enumerate(self.schools):
            for n, seca in enumerate(self.staff[s, "seca"]):
                opened = self.at(self.day(-19), "16:00") if (s + n) % 2 else None
                self.upsert(
                    PolicyCopy.objects, {"policy": policy, "seca": seca},
                    sent_at=sent, acknowledged_at=opened,
                )  # fmt: skip

    def load_roster_import(self):
        """The roster import that gave the district its students (README "Roster import"), as
        the district administrator confirmed it, and the letters it prepared for the first
        school's families without an email address (their code, to print)."""
        admin = self.staff[None, "district_admin"][0]
        students = Student.objects.filter(school__in=self.schools)
        read = {"schools": len(self.schools), "students": students.count()}
        created = {
            "schools": len(self.schools),
            "staff": len(STAFF),
            "students": read["students"],
            "guardians": Guardian.objects.filter(student__in=students).count(),
            "assignments": Assignment.objects.filter(student__in=students).count(),
        }
        finished = self.at(date(self.year, 9, 1), "06:12")
        roster_import = self.upsert(
            RosterImport.objects, {"source": "OneRoster export, nightly (demo)"},
            uploaded_by=admin, confirmed_by=admin, version="1.2", status=RosterImport.Status.DONE,
            checked_at=finished - timedelta(minutes=9), finished_at=finished,
            summary={"read": read, "changes": {
                kind: {"created": n, "updated": 0, "deactivated": 0} for kind, n in created.items()
            }},
        )  # fmt: skip
        letters = Guardian.objects.filter(
            student__school=self.schools[0], email="", user__isnull=True
        ).values_list("pk", flat=True)
        # Families already holding a letter are skipped: loading again prints no new codes.
        guardians_invite_bulk(actor=admin, guardian_ids=letters, roster_import=roster_import)

    def stored(self, name, content):
        """The file under `name` in the default storage, written only when missing or
        different (a later day's dates): a second run reuses it, never duplicates it."""
        if default_storage.exists(name):
            with default_storage.open(name, "rb") as existing:
                if existing.read() == content:
                    return name
            default_storage.delete(name)
        self.count["files"] += 1
        return default_storage.save(name, ContentFile(content))

    def load_notifications(self):
        """What the app would have told each login, as notify() stores it (the subject in
        the reader's language, the page it links to): a week old or more is read. The
        district administrator and the union's representative are told of nothing: no event
        is theirs (the one reads only, the other sees no names)."""
        addams = self.schools[0]
        approvers = [self.staff[0, "principal"][0], self.staff[0, "assistant_principal"][0]]
        case_manager = self.staff[0, "case_manager"][0]
        logins = {user.pk for user in self.people.values() if user.email.split("@")[0] in LOGINS}
        week_ago = self.at(self.today - timedelta(days=7), "00:00")
        for key, req in self.requests.items():
            meeting = self.meetings[key]
            if meeting.school_id != addams.pk:
                continue
            for approver in approvers:
                self.notification(
                    approver, "request_submitted", meeting=meeting, request=req,
                    at=req.created_at, read=req.status != AttendanceRequest.Status.PENDING,
                )  # fmt: skip
            if req.seca_id not in logins:
                continue
            # What the SECA was told of their request (none of a withdrawal or while pending).
            cancelled = self.cancelled_at(meeting)
            told = {
                "approved": ("request_approved", req.decided_at, {}),
                "denied": ("request_denied", req.decided_at, {}),
                "expired": ("request_expired", meeting.starts_at, {}),
                "cancelled": ("meeting_cancelled", cancelled, {"had_request": True}),
            }
            if req.status in told:
                event, at, params = told[req.status]
                self.notification(
                    req.seca, event, meeting=meeting, request=req, at=at, read=at < week_ago,
                    **params,
                )  # fmt: skip
        for key, meeting in self.meetings.items():
            if meeting.student.case_manager_id != case_manager.pk:
                continue
            for feedback in meeting.feedback.filter(submitted_at__isnull=False).select_related("seca"):  # fmt: skip
                at, seca = feedback.submitted_at, feedback.seca.full_name
                event = "feedback_addendum" if feedback.after_meeting else "feedback_submitted"
                self.notification(
                    case_manager, event, meeting=meeting, at=at, read=at < week_ago, seca=seca,
                )  # fmt: skip
            decided = getattr(self.requests.get(key), "decided_at", None)
            for wish in meeting.parent_wishes.select_related("guardian") if decided else []:
                at = decided - timedelta(days=1)
                self.notification(
                    case_manager, "parent_wish", meeting=meeting, at=at, read=at < week_ago,
                    guardian=wish.guardian.full_name, wish=wish.wish, note=wish.note,
                )  # fmt: skip
            if key in ANSWERS:
                at = self.at(self.today - timedelta(days=1), "19:12")
                self.notification(
                    case_manager, "parent_answered", meeting=meeting, at=at, read=False,
                    guardian=self.people_by_local("parent").full_name, answer=ANSWERS[key],
                    note="",
                )  # fmt: skip

        # A parent's wish reaches the SECA and the approvers, even before anyone asked.
        for key in WISHES:
            meeting, at = self.meetings[key], self.at(self.today - timedelta(days=1), "20:05")
            wish = meeting.parent_wishes.select_related("guardian").get()
            params = dict(guardian=wish.guardian.full_name, wish=wish.wish, note=wish.note)
            seca = self.support[meeting.student_id]["seca"]
            for user, audience in [(seca, "seca")] + [(a, "approver") for a in approvers]:
                self.notification(
                    user, "parent_wish", meeting=meeting, at=at, read=False, audience=audience,
                    **params,
                )  # fmt: skip

    def people_by_local(self, local):
        return next(u for u in self.people.values() if u.email == f"{local}@{DOMAIN}")

    def notification(self, user, event, *, at, read, meeting=None, request=None, message="", url="", **params):  # fmt: skip
        """One notification as notifications.notify (or a plan's delivery) stores it, its
        email already gone: emailed_at is set and no outbox row is recorded. `read`: when it
        was read (True: three hours after it came), or falsy."""
        if event:
            with in_language(user):
                letter = EVENTS[event](user, meeting, request, params)
            message, url = fit(letter.subject)[:300], letter.path
            params = {"meeting": meeting.pk if meeting else None, "request": request.pk if request else None, **params}  # fmt: skip
        self.upsert(
            user.notifications, {"event": event, "url": url}, message=message, params=params,
            created_at=at, emailed_at=at + timedelta(minutes=1),
            read_at=read if isinstance(read, datetime) else at + timedelta(hours=3) if read else None,
        )  # fmt: skip


def pdf_text(line):
    """A line for the PDF's standard Helvetica (WinAnsi): other letters lose their accent."""
    plain = "".join(
        c if c.encode("cp1252", "ignore") else unicodedata.normalize("NFKD", c)[0] for c in line
    )
    raw = plain.encode("cp1252", "replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def plan_pdf(meeting, version):
    """A one-page PDF standing for the plan: the same bytes for the same meeting and day."""
    student, day = meeting.student, timezone.localdate(meeting.starts_at)
    return text_pdf([
        "Individualized Education Program (IEP)",
        f"{student.full_name}, grade {student.grade}, {meeting.school.name}",
        f"{meeting.get_kind_display()} meeting held {day:%B} {day.day}, {day.year}",
        f"Version {version}" + (": corrected" if version > 1 else ""),
        "A sample plan of the iepcoord demo district: not a real student's record.",
    ])  # fmt: skip


def text_pdf(lines):
    """A one-page PDF of these lines: the same bytes for the same lines."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=612, height=792)  # US Letter
    font = {"/Type": "/Font", "/Subtype": "/Type1", "/BaseFont": "/Helvetica", "/Encoding": "/WinAnsiEncoding"}  # fmt: skip
    font = DictionaryObject({NameObject(k): NameObject(v) for k, v in font.items()})
    fonts = DictionaryObject({NameObject("/F1"): font})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    text = b" Tj T* ".join(pdf_text(line) for line in lines)
    stream = ContentStream(None, None)
    stream.set_data(b"BT /F1 12 Tf 16 TL 72 720 Td " + text + b" Tj ET")
    page.replace_contents(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
