import datetime

import factory
from django.utils import timezone

from meetings.models import AttendanceRequest, Invitation, Meeting, SecaFeedback
from staff.models import (
    Assignment,
    Designation,
    Guardian,
    RestraintPolicy,
    Role,
    ScheduleBlock,
    School,
    StayRequest,
    Student,
    Training,
    TrainingCompletion,
    User,
    current_school_year,
)

PASSWORD = "correct-horse-battery"


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = School

    name = factory.Sequence(lambda n: f"School {n}")
    code = factory.Sequence(lambda n: f"S{n:05d}")
    phone = "773-555-0100"


class UserFactory(factory.django.DjangoModelFactory):
    """A user; `roles=[(Role.Kind.SECA, school), ...]` gives them roles."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Sequence(lambda n: f"Person {n}")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for kind, school in extracted or ():
            Role.objects.create(user=self, kind=kind, school=school)


class DesignationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Designation


class StudentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Student

    district_student_id = factory.Sequence(lambda n: f"{50000000 + n}")
    first_name = factory.Sequence(lambda n: f"Kid{n}")
    last_name = factory.Sequence(lambda n: f"Family{n}")
    school = factory.SubFactory(SchoolFactory)
    grade = "4"
    last_iep_date = factory.LazyFunction(
        lambda: timezone.localdate() - datetime.timedelta(days=300)
    )
    annual_review_due = factory.LazyAttribute(
        lambda o: o.last_iep_date + datetime.timedelta(days=365)
    )
    reevaluation_due = factory.LazyAttribute(
        lambda o: o.last_iep_date + datetime.timedelta(days=900)
    )


class GuardianFactory(factory.django.DjangoModelFactory):
    """A guardian; `with_account=True` gives them a sign-in."""

    class Meta:
        model = Guardian

    class Params:
        with_account = False

    student = factory.SubFactory(StudentFactory)
    full_name = factory.Sequence(lambda n: f"Parent {n}")
    email = factory.Sequence(lambda n: f"parent{n}@example.net")
    user = factory.Maybe(
        "with_account",
        yes_declaration=factory.SubFactory(
            UserFactory,
            email=factory.SelfAttribute("..email"),
            full_name=factory.SelfAttribute("..full_name"),
        ),
        no_declaration=None,
    )


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    student = factory.SubFactory(StudentFactory)
    staff = factory.SubFactory(UserFactory)
    kind = Assignment.Kind.SECA
    school_year = factory.LazyFunction(current_school_year)


class ScheduleBlockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScheduleBlock

    school = factory.SelfAttribute("student.school")
    student = factory.SubFactory(StudentFactory)
    weekday = 0
    starts = datetime.time(9, 0)
    ends = datetime.time(10, 0)


class MeetingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Meeting

    student = factory.SubFactory(StudentFactory)
    school = factory.SelfAttribute("student.school")
    kind = Meeting.Kind.ANNUAL_REVIEW
    starts_at = factory.LazyFunction(
        lambda: (timezone.now() + datetime.timedelta(days=14)).replace(microsecond=0)
    )
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + datetime.timedelta(hours=1))
    location = "Room 104"
    scheduled_by = factory.SubFactory(UserFactory)


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    meeting = factory.SubFactory(MeetingFactory)
    user = factory.SubFactory(UserFactory)
    name = factory.SelfAttribute("user.full_name")
    role = "Teacher"


class AttendanceRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AttendanceRequest

    meeting = factory.SubFactory(MeetingFactory)
    seca = factory.SubFactory(UserFactory)


class SecaFeedbackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SecaFeedback

    meeting = factory.SubFactory(MeetingFactory)
    seca = factory.SubFactory(UserFactory)
    strengths = "Loves puzzles; follows a picture schedule."


class TrainingFactory(factory.django.DjangoModelFactory):
    """A training; the contract's (seeded by migration 0007) by code, made again when a
    flush removed them."""

    class Meta:
        model = Training
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"training-{n}")
    name = factory.Sequence(lambda n: f"Training {n}")
    recurrence = Training.Recurrence.ONCE


class TrainingCompletionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingCompletion

    seca = factory.SubFactory(UserFactory)
    training = factory.SubFactory(TrainingFactory)
    completed_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=3))
    recorded_by = factory.SubFactory(UserFactory)
    source = TrainingCompletion.Source.SCHOOL


class RestraintPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RestraintPolicy

    school_year = factory.LazyFunction(current_school_year)
    title = "Restraint and time-out policy"
    file = factory.django.FileField(filename="policy.pdf", data=b"%PDF-1.4 sample")
    sha256 = "0" * 64
    uploaded_by = factory.SubFactory(UserFactory)


class StayRequestFactory(factory.django.DjangoModelFactory):
    """A SECA's pending request to stay with a student next year (with its assignment)."""

    class Meta:
        model = StayRequest

    student = factory.SubFactory(StudentFactory)
    seca = factory.SubFactory(UserFactory)
    school = factory.SelfAttribute("student.school")
    occasion = StayRequest.Occasion.NEXT_YEAR
    school_year = factory.LazyFunction(lambda: current_school_year() + 1)
    note = "I know what works for this student."
