"""Two-step sign-in (allauth.mfa; staff/mfa.py): required of district administrators and
of Django staff and superusers, offered to every school employee, never asked of parents.
Once set up, every sign-in asks for a code from the authenticator app, the Django admin's
too; wrong codes are refused, and repeated ones locked out for a while.

The tests compute codes as a phone would, with their own RFC 6238 implementation below,
from the key the setup page shows."""

import base64
import datetime
import hashlib
import hmac
import re
import struct
import time

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from staff.mfa import two_step_of
from staff.models import Role

from . import factories as f

ACTIVATE = reverse("mfa_activate_totp")
AUTHENTICATE = reverse("mfa_authenticate")
HOME = reverse("home")
REQUIRED_MESSAGE = (
    "District administrators and administration site accounts must use two-step sign-in."
)


def hotp(key: bytes, counter: int, digits: int = 6) -> str:
    """RFC 4226: HMAC-SHA1 of the 8-byte big-endian counter, dynamically truncated."""
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    (value,) = struct.unpack(">I", digest[offset : offset + 4])
    return str((value & 0x7FFFFFFF) % 10**digits).zfill(digits)


def totp(secret: str, *, steps: int = 0) -> str:
    """RFC 6238: the code an authenticator app shows now (30-second steps, 6 digits) for a
    base32 key, or `steps` steps later."""
    return hotp(base64.b32decode(secret, casefold=True), int(time.time()) // 30 + steps)


def wrong_code(secret: str) -> str:
    """A code the app does not show now, nor one step before or after (the tolerance)."""
    accepted = {totp(secret, steps=step) for step in (-1, 0, 1)}
    return next(
        code for code in (totp(secret, steps=100 + n) for n in range(10)) if code not in accepted
    )


@pytest.fixture
def district_admin(db):
    """A district administrator who has not set up two-step sign-in yet (conftest's has)."""
    return f.UserFactory(full_name="Ada Admin", roles=[(Role.Kind.DISTRICT_ADMIN, None)])


@pytest.fixture(autouse=True)
def _frozen_clock():
    # A code changes every 30 seconds: a fixed clock keeps a test from crossing a step.
    with time_machine.travel(
        datetime.datetime(2026, 11, 2, 15, 0, 5, tzinfo=datetime.UTC), tick=False
    ):
        yield


def sign_in(client, user, next_url=""):
    url = reverse("account_login") + (f"?next={next_url}" if next_url else "")
    return client.post(url, {"login": user.email, "password": f.PASSWORD})


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def set_up_totp(client):
    """Turns two-step sign-in on through the pages, as the signed-in person would: allauth
    asks for the password again, the setup page shows the key (and its QR code), the first
    code from the app turns it on, and the recovery codes are shown. Returns the key."""

    def set_up() -> str:
        response = client.get(ACTIVATE)
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_reauthenticate"))
        response = client.post(response.url, {"password": f.PASSWORD})
        assert response.status_code == 302 and response.url == ACTIVATE
        page = client.get(ACTIVATE)
        assert page.status_code == 200
        html = page.content.decode()
        assert 'src="data:image/svg+xml;base64,' in html  # the QR code
        secret = re.search(r'id="authenticator_secret"[^>]*>([A-Z2-7]+)<', html).group(1)
        response = client.post(ACTIVATE, {"code": totp(secret)})
        assert response.status_code == 302
        assert response.url == reverse("mfa_view_recovery_codes")
        return secret

    return set_up


def recovery_codes(client) -> list[str]:
    page = client.get(reverse("mfa_view_recovery_codes")).content.decode()
    return re.findall(r'<li class="col">(\w+)</li>', page)


def test_our_totp_matches_the_rfc_6238_test_vectors():
    # RFC 6238 appendix B, SHA-1, 8 digits.
    key = b"12345678901234567890"
    assert hotp(key, 59 // 30, digits=8) == "94287082"
    assert hotp(key, 1111111109 // 30, digits=8) == "07081804"
    assert hotp(key, 2000000000 // 30, digits=8) == "69279037"


# Transactional: allauth says "activated" once the activation commits, as in production.
@pytest.mark.django_db(transaction=True)
def test_employee_sets_up_two_step_sign_in_then_needs_a_code_to_sign_in(
    client, set_up_totp, principal
):
    assert sign_in(client, principal).url == HOME
    secret = set_up_totp()
    page = client.get(reverse("mfa_view_recovery_codes")).content.decode()
    assert "Two-step sign-in is on. Save your recovery codes now." in page
    assert len(recovery_codes(client)) == 10
    client.post(reverse("account_logout"))

    # The password is now only the first step.
    response = sign_in(client, principal)
    assert response.status_code == 302 and response.url == AUTHENTICATE
    assert not signed_in(client)
    page = client.get(AUTHENTICATE).content.decode()
    assert "Enter the six-digit code shown in your authenticator app." in page

    response = client.post(AUTHENTICATE, {"code": wrong_code(secret)})
    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()
    assert not signed_in(client)
    assert client.get(HOME).status_code == 302  # still sent to sign in

    response = client.post(AUTHENTICATE, {"code": totp(secret)})
    assert response.status_code == 302 and response.url == HOME
    assert signed_in(client)
    assert client.get(HOME).status_code == 200


def test_a_code_is_accepted_once(client, set_up_totp, principal):
    sign_in(client, principal)
    secret = set_up_totp()
    client.post(reverse("account_logout"))
    sign_in(client, principal)
    client.post(AUTHENTICATE, {"code": totp(secret)})
    client.post(reverse("account_logout"))

    # Someone who saw the code over the shoulder, in the same 30 seconds.
    sign_in(client, principal)
    response = client.post(AUTHENTICATE, {"code": totp(secret)})
    assert "Incorrect code." in response.content.decode()
    assert not signed_in(client)


def test_a_recovery_code_signs_in_once_instead_of_the_app(client, set_up_totp, principal):
    sign_in(client, principal)
    set_up_totp()
    code = recovery_codes(client)[0]
    client.post(reverse("account_logout"))

    sign_in(client, principal)
    assert client.post(AUTHENTICATE, {"code": code}).url == HOME
    page = client.get(reverse("mfa_index")).content.decode()
    assert "You have 9 unused recovery codes." in page
    client.post(reverse("account_logout"))

    sign_in(client, principal)
    response = client.post(AUTHENTICATE, {"code": code})
    assert "Incorrect code." in response.content.decode()
    assert not signed_in(client)


def test_repeated_wrong_codes_lock_the_code_step_for_a_while(client, set_up_totp, principal):
    sign_in(client, principal)
    secret = set_up_totp()
    client.post(reverse("account_logout"))
    sign_in(client, principal)

    for _ in range(5):
        response = client.post(AUTHENTICATE, {"code": wrong_code(secret)})
        assert "Incorrect code." in response.content.decode()
    # Even the right code is refused now: allauth's login_failed limit, 5 per 5 minutes
    # per account (ACCOUNT_RATE_LIMITS).
    response = client.post(AUTHENTICATE, {"code": totp(secret)})
    assert response.status_code == 200
    assert "Too many failed login attempts. Try again later." in response.content.decode()
    assert not signed_in(client)


def test_district_admin_without_two_step_reaches_only_its_setup(
    client, set_up_totp, district_admin
):
    assert sign_in(client, district_admin).url == HOME

    for page in (HOME, reverse("notification_list"), reverse("mfa_index")):
        response = client.get(page)
        assert response.status_code == 302 and response.url == ACTIVATE, page
    assert client.post(reverse("notifications_mark_read")).url == ACTIVATE

    # Told why, on the password prompt that comes before the setup page.
    response = client.get(HOME, follow=True)
    assert response.status_code == 200
    assert REQUIRED_MESSAGE in response.content.decode()
    # The language switch still works there.
    response = client.post(reverse("set_language"), {"language": "es", "next": ACTIVATE})
    assert response.status_code == 302 and response.url == ACTIVATE
    client.cookies.pop("django_language")

    secret = set_up_totp()  # the setup page answers 200 (asserted inside)
    assert secret
    assert client.get(HOME).status_code == 200


def test_district_admin_can_sign_out_before_setting_it_up(client, district_admin):
    sign_in(client, district_admin)
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302 and response.url == reverse("account_login")
    assert not signed_in(client)


def test_staff_signing_in_at_the_admin_is_sent_to_set_it_up_then_asked_for_a_code(
    client, db, set_up_totp
):
    staff = f.UserFactory(is_staff=True)
    # The admin's login is allauth's (staff/admin.py): one sign-in page for everyone.
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("account_login") + "?next=%2Fadmin%2F"
    response = sign_in(client, staff, next_url="/admin/")
    assert response.status_code == 302 and response.url == "/admin/"
    response = client.get("/admin/")
    assert response.status_code == 302 and response.url == ACTIVATE

    secret = set_up_totp()
    assert client.get("/admin/").status_code == 200
    client.post(reverse("account_logout"))

    response = sign_in(client, staff, next_url="/admin/")
    assert response.status_code == 302 and response.url == AUTHENTICATE
    assert client.get("/admin/").status_code == 302  # not in yet
    response = client.post(AUTHENTICATE, {"code": wrong_code(secret)})
    assert "Incorrect code." in response.content.decode()
    response = client.post(AUTHENTICATE, {"code": totp(secret, steps=1)})
    assert response.status_code == 302 and response.url == "/admin/"
    assert "iepcoord administration" in client.get("/admin/").content.decode()


@pytest.mark.parametrize(
    "make_user",
    [
        pytest.param(lambda: f.UserFactory(is_staff=True), id="staff"),
        pytest.param(lambda: f.UserFactory(is_superuser=True), id="superuser"),
    ],
)
def test_admin_accounts_without_two_step_are_sent_to_set_it_up(client, db, make_user):
    client.force_login(make_user())
    for page in (HOME, "/admin/", "/admin/staff/student/"):
        response = client.get(page)
        assert response.status_code == 302 and response.url == ACTIVATE, page


def test_parent_is_never_asked_and_is_not_offered_the_link(client, parent):
    response = sign_in(client, parent)
    assert response.status_code == 302 and response.url == HOME
    page = client.get(HOME)
    assert page.status_code == 200
    assert "Two-step sign-in" not in page.content.decode()
    assert reverse("mfa_index") not in page.content.decode()


def test_principal_is_offered_the_link_but_not_forced(client, principal):
    assert sign_in(client, principal).url == HOME
    page = client.get(HOME)
    assert page.status_code == 200
    assert f'href="{reverse("mfa_index")}">Two-step sign-in</a>' in page.content.decode()
    page = client.get(reverse("mfa_index")).content.decode()
    assert "Two-step sign-in is off." in page
    assert "Your account must use two-step sign-in." not in page


def test_district_admin_with_two_step_sees_the_link_and_their_codes(
    client, set_up_totp, district_admin
):
    sign_in(client, district_admin)
    set_up_totp()
    page = client.get(reverse("mfa_index")).content.decode()
    assert "Two-step sign-in is on" in page
    assert "You have 10 unused recovery codes." in page


def test_the_check_reads_authenticators_only_for_those_who_must_use_them(
    client, principal, district_admin
):
    client.force_login(principal)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("notification_list")).status_code == 200
    assert sum("mfa_authenticator" in q["sql"] for q in queries) == 0
    client.force_login(district_admin)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("notification_list")).url == ACTIVATE
    assert sum("mfa_authenticator" in q["sql"] for q in queries) == 1


@pytest.mark.parametrize(
    ("persona", "required", "offered"),
    [
        ("district_admin", True, True),
        ("principal", False, True),
        ("seca", False, True),
        ("parent", False, False),
    ],
)
def test_who_must_and_who_may_use_two_step_sign_in(
    request, django_assert_num_queries, persona, required, offered
):
    user = request.getfixturevalue(persona)
    # The access standing (one query), and the authenticator only for those who must.
    with django_assert_num_queries(2 if required else 1):
        status = two_step_of(user)
    assert (status.required, status.offered, status.enrolled) == (required, offered, False)
