"""A realistic demo district: three schools, every role, 50 students, meetings and SECA
requests in every state, eight logins. Idempotent: rows are found by natural key and saved
only where a value differs; names come from a seeded generator, dates are relative to today.
"""

import itertools
import random
import unicodedata
import zoneinfo
from collections import Counter
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from meetings.models import AttendanceRequest, Meeting
from staff.models import Role, School, Student, User, current_school_year

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
    "seca": "SECA supporting 3 students", "seca2": "SECA, free 9:00-12:15 to cover",
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
    (0, 1, "annual", 6, "09:30", 60, "scheduled"),
    (0, 2, "annual", 9, "10:00", 60, "scheduled"),
    (0, 2, "amendment", -21, "13:00", 45, "held"),
    (0, 3, "annual", 11, "13:30", 60, "scheduled"),
    (0, 3, "reeval", -35, "09:00", 90, "held"),
    (0, 4, "annual", 18, "10:30", 60, "scheduled"),
    (0, 5, "amendment", 8, "10:00", 45, "cancelled"),
    (1, 0, "annual", 5, "10:30", 60, "scheduled"),
    (1, 1, "reeval", -14, "09:00", 90, "held"),
    (2, 0, "transition", 12, "11:00", 60, "scheduled"),
    (2, 1, "annual", -7, "14:00", 60, "held"),
]
# Requests by the student's SECA: (meeting, status, decided by (a role at the school), deny
# reason, the decision's note or coverage, covered by the school's other SECA).
REQUESTS = [
    ((0, 1, "annual"), "pending", "", "", "", False),
    ((0, 2, "annual"), "approved", "assistant_principal", "", "Lena covers the 10:00 block with Jerome's student.", True),
    ((0, 2, "amendment"), "denied", "principal", "other_student", "Jerome has two students that afternoon.", False),
    ((0, 3, "annual"), "denied", "principal", "group", "The Room 114 math group has no other adult at 13:30.", False),
    ((0, 3, "reeval"), "approved", "assistant_principal", "", "The math group joined Ms. Brennan's class.", False),
    ((0, 4, "annual"), "withdrawn", "", "", "", False),
    ((0, 5, "amendment"), "cancelled", "", "", "", False),
    ((1, 0, "annual"), "pending", "", "", "", False),
    ((1, 1, "reeval"), "approved", "principal", "", "The classroom teacher covers; no aide needed.", False),
    ((2, 0, "transition"), "denied", "principal", "parent_asked", "The family asked for a small team.", False),
    ((2, 1, "annual"), "expired", "", "", "", False),
]  # fmt: skip

APPROVED = {key for key, status, *_ in REQUESTS if status == "approved"}
POSTPONED = "The family asked to postpone; the case manager will propose new times."
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
            f"{c['Meeting']} meetings, {c['AttendanceRequest']} attendance requests; "
            f"{c['created']} rows created, {c['updated']} updated."
        )


class Demo:
    def __init__(self, today):
        self.today, self.year = today, current_school_year(today)
        self.rng, self.count = random.Random(SEED), Counter()
        self.schools, self.staff, self.students = [], {}, {}  # staff: (school, role) -> users
        self.support = {}  # student pk -> {"seca": user, "teacher": user, ...}
        self.meetings = {}  # (school, slot, kind) -> Meeting

    def upsert(self, objects, lookup, **values):
        """get_or_create on a natural key through a manager (often a related one), then save
        only the fields that differ. The first row wins if trying the demo added another."""
        model = objects.model
        obj = objects.filter(**lookup).order_by("pk").first()
        self.count[model.__name__] += 1
        if obj is None:
            self.count["created"] += 1
            return objects.create(**lookup, **values)
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
        # Hashes are salted: set a password only when it is missing or wrong.
        if local in LOGINS and not user.check_password(PASSWORD):
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
        elif local not in LOGINS and not user.password:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        return user

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
        )  # fmt: skip
        support, held = self.support[student.pk], state == Meeting.State.HELD
        team = [(student.case_manager, "Case manager"), (support["teacher"], None)]
        if "related_service" in support and kind in ("annual", "reeval"):
            team.append((support["related_service"], None))
        # The school invites the SECA now and then; in the story, once the request is approved.
        if "seca" in support and ((s, slot, kind) in APPROVED or (not story and kind == "annual")):
            team.append((support["seca"], "SECA"))
        # (name, user, role, email, attended if held): one guardian of two missed the meeting.
        invited = [(u.full_name, u, role or u.detail, "", True) for u, role in team]
        guardians = list(student.guardians.order_by("pk"))
        invited += [(g.full_name, g.user, g.relationship, "" if g.user else g.email, n == 0) for n, g in enumerate(guardians)]  # fmt: skip
        if GRADE_AGE[student.grade] >= 16:  # 34 CFR 300.322(b)(2): the student is invited
            invited.append((student.full_name, None, "Student", "", True))
        for name, user, role, email, attended in invited:
            values = dict(user=user, role=role, email=email, attended=attended if held else None)
            self.upsert(meeting.invitations, {"name": name}, **values)
        # 34 CFR 300.322: each guardian had the notice of meeting two weeks ahead.
        sent = {"scheduled": self.at(min(self.today, day - timedelta(13)) - timedelta(1), "16:00")}
        if state == Meeting.State.CANCELLED:
            sent["cancelled"] = self.at(self.today - timedelta(days=1), "16:30")
        for guardian, (notice, sent_at) in itertools.product(guardians, sent.items()):
            self.upsert(meeting.notices, {"guardian": guardian, "kind": notice}, sent_at=sent_at)

    def load_requests(self):
        # The demo's meetings carry exactly the demo's requests: drop those added while trying
        # the demo, so that seca@ can ask to attend parent@'s child's meeting again.
        requested = {key for key, *_ in REQUESTS}
        others = [meeting for key, meeting in self.meetings.items() if key not in requested]
        AttendanceRequest.objects.filter(meeting__in=others).delete()
        for key, status, decider, reason, text, covered in REQUESTS:
            meeting, (s, slot, _) = self.meetings[key], key
            student, seca = meeting.student, self.support[meeting.student_id]["seca"]
            first = meeting.requests.filter(seca=seca).order_by("pk").first()
            meeting.requests.exclude(pk=getattr(first, "pk", None)).delete()
            meeting_day = timezone.localdate(meeting.starts_at)
            decided_on = min(self.today, meeting_day) - timedelta(days=2)
            self.upsert(
                meeting.requests, {"seca": seca}, status=status,
                note=f"I support {student.first_name} every day and know what works.",
                reopened=False, version=0 if status == "pending" else 1,
                decided_by=self.staff[s, decider][0] if decider else None,
                decided_at=self.at(decided_on, "15:30") if decider else None,
                deny_reason=reason, decision_note=text if status == "denied" else "",
                covered_by=self.staff[s, "seca"][1 - slot // 3] if covered else None,
                coverage_note=text if status == "approved" else "",
            )  # fmt: skip
            if reason == AttendanceRequest.DenyReason.PARENT_ASKED:
                guardian = student.guardians.order_by("pk").first()
                note = "We would like a smaller meeting this year."
                self.upsert(
                    meeting.parent_wishes, {"guardian": guardian}, wish="not_attend", note=note
                )
            if status in ("denied", "expired") and meeting.state == Meeting.State.HELD:
                # Contract: a SECA not honored gives feedback in the agreed format beforehand.
                submitted = self.at(meeting_day - timedelta(days=1), "16:00")
                self.upsert(meeting.feedback, {"seca": seca}, submitted_at=submitted, **FEEDBACK)
