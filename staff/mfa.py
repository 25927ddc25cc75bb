"""Two-step sign-in (allauth.mfa: an authenticator app, with recovery codes): who must use
it, who is offered it, and the middleware that holds back those who must until they have
set it up. allauth itself asks for the code at sign-in, for the app and the Django admin
alike (the admin's login is allauth's: staff/admin.py)."""

import dataclasses

from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.shortcuts import redirect
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from .access import standing_of


def mfa_required(user) -> bool:
    """Who must use two-step sign-in: Django staff and superusers, whose administration site
    opens every table, and district administrators, who see every school's student
    records: a stolen password alone must not open them. The one place the rule is written.
    (The access standing is read only when the flags on the user row don't settle it.)"""
    return user.is_staff or user.is_superuser or standing_of(user).district_admin


@dataclasses.dataclass(frozen=True)
class TwoStep:
    """What two-step sign-in means for one person."""

    required: bool  # must use it (mfa_required)
    offered: bool  # may set it up: every school employee (anyone holding a role)
    enrolled: bool  # has set up an authenticator app (read only when required)


NOT_SIGNED_IN = TwoStep(required=False, offered=False, enrolled=False)


def two_step_of(user) -> TwoStep:
    """The person's two-step standing, from their access standing (which the page reads
    anyway) and, only for those who must use it, one query for their authenticator."""
    if user is None or not user.is_authenticated:
        return NOT_SIGNED_IN
    required = mfa_required(user)
    return TwoStep(
        required=required,
        offered=required or standing_of(user).is_employee,
        enrolled=required
        and Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists(),
    )


# What someone who must set up two-step sign-in may still open: the setup page and what
# it needs (allauth asks for the password again before it, and its page links to the
# password reset, which is public anyway), signing out, and the language switch. Static
# files never reach these views: WhiteNoise answers them first.
ENROLMENT_VIEWS = frozenset(
    {
        "mfa_activate_totp",
        "account_reauthenticate",
        "mfa_reauthenticate",
        "account_reset_password",
        "account_reset_password_done",
        "account_reset_password_from_key",
        "account_reset_password_from_key_done",
        "account_logout",
        "set_language",
    }
)


class MfaRequiredMiddleware:
    """Until a person who must use two-step sign-in has set up an authenticator app, every
    other page sends them to its setup, with a message saying why.

    `request.mfa` is their TwoStep, read at most once per request (lazily: never for a
    signed-out visitor) and shared with the navigation's "Two-step sign-in" link. It costs
    no query of its own but for those who must use it: the access standing it reads is the
    one every page reads. Nothing
    is kept between requests: a role given or taken away counts at the next click. Comes
    after AuthenticationMiddleware, LoginRequiredMiddleware (a signed-out visitor is sent
    to sign in first) and MessageMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.mfa = SimpleLazyObject(lambda: two_step_of(request.user))
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not request.user.is_authenticated:
            return None
        if request.resolver_match.view_name in ENROLMENT_VIEWS:
            return None
        if request.mfa.required and not request.mfa.enrolled:
            messages.warning(
                request,
                _(
                    "District administrators and administration site accounts must use "
                    "two-step sign-in. Please set it up with an authenticator app to continue."
                ),
            )
            return redirect("mfa_activate_totp")
        return None
