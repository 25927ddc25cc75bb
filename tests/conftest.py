import datetime
import os

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

import iepcoord.db
from iepcoord.celery import app as celery_app
from meetings.models import Meeting
from meetings.services import scheduling
from staff.models import Role

from . import factories as f

# Playwright's sync API runs an event loop in the test thread; the ORM must still work.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def needs_service(reason: str):
    """A test that needs a real service may skip on a newcomer's laptop, never in CI."""
    if IN_CI:
        pytest.fail(f"CI must provide this service: {reason}")
    pytest.skip(reason)


@pytest.fixture
def postgres(db):
    if connection.vendor != "postgresql":
        needs_service("needs PostgreSQL: set DATABASE_URL")


# Every test starts at the same moment: a Wednesday in October, mid school year. The product
# counts school years (July to June), notice periods and school days, so a suite run on
# July 1 or over a weekend must not see other data than one run on any other day. Tests
# of a boundary travel to it themselves. The browser journeys and the real-worker tests
# (tests/e2e, tests/jobs) run on the real clock: a browser and a worker process have their
# own.
FIXED_NOW = datetime.datetime(
    2026, 10, 14, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))
)


@pytest.fixture(autouse=True)
def _fixed_now():
    with time_machine.travel(FIXED_NOW, tick=True):
        yield


@pytest.fixture(autouse=True, scope="session")
def _celery_eager():
    # Tasks run in the test process unless a test starts a real worker on Redis.
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True, scope="session")
def _check_compiled():
    # Every read through iepcoord.db.compiled is also built and compiled as usual, and must
    # give the same SQL and parameters: a query whose SQL depends on a value the shape
    # leaves out fails here, not in production.
    iepcoord.db.CHECK_COMPILED = True
    yield
    iepcoord.db.CHECK_COMPILED = False


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # PBKDF2 is deliberately slow; the tests hash hundreds of passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_cache():
    # allauth keeps login rate-limit counters in the cache.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path):
    # WhiteNoise warns (an error here) when STATIC_ROOT is missing before collectstatic.
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "private"},
        },
    }


@pytest.fixture
def school(db):
    return f.SchoolFactory(name="Skinner North")


@pytest.fixture
def other_school(db):
    return f.SchoolFactory(name="Southside Occupational")


@pytest.fixture
def principal(school):
    return f.UserFactory(full_name="Pat Principal", roles=[(Role.Kind.PRINCIPAL, school)])


@pytest.fixture
def designee(school, principal):
    user = f.UserFactory(full_name="Dana Designee", roles=[(Role.Kind.ASSISTANT_PRINCIPAL, school)])
    f.DesignationFactory(school=school, designee=user, named_by=principal)
    return user


@pytest.fixture
def case_manager(school):
    return f.UserFactory(full_name="Casey Manager", roles=[(Role.Kind.CASE_MANAGER, school)])


@pytest.fixture
def student(school, case_manager):
    return f.StudentFactory(school=school, case_manager=case_manager, first_name="Jordan")


@pytest.fixture
def seca(student):
    user = f.UserFactory(full_name="Jerry Seca", roles=[(Role.Kind.SECA, student.school)])
    f.AssignmentFactory(student=student, staff=user)
    return user


@pytest.fixture
def other_school_seca(other_school):
    user = f.UserFactory(full_name="Olive Elsewhere", roles=[(Role.Kind.SECA, other_school)])
    f.AssignmentFactory(student=f.StudentFactory(school=other_school), staff=user)
    return user


@pytest.fixture
def parent(student):
    return f.GuardianFactory(student=student, with_account=True).user


@pytest.fixture
def other_parent(other_school):
    return f.GuardianFactory(student=f.StudentFactory(school=other_school), with_account=True).user


@pytest.fixture
def district_admin(db):
    """A district administrator, with the two-step sign-in they must use already set up."""
    user = f.UserFactory(full_name="Ada Admin", roles=[(Role.Kind.DISTRICT_ADMIN, None)])
    TOTP.activate(user, generate_totp_secret())
    return user


@pytest.fixture
def meeting(student, case_manager):
    starts = timezone.now() + datetime.timedelta(days=14)
    return f.MeetingFactory(student=student, scheduled_by=case_manager, starts_at=starts)


@pytest.fixture
def held(meeting, case_manager):
    """`meeting`, started two hours ago and recorded as held by its case manager."""
    Meeting.objects.filter(pk=meeting.pk).update(
        starts_at=timezone.now() - datetime.timedelta(hours=2),
        ends_at=timezone.now() - datetime.timedelta(hours=1),
    )
    meeting.refresh_from_db()
    return scheduling.meeting_mark_held(actor=case_manager, meeting=meeting, attended_ids=[])
