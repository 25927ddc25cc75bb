"""Closed by default: every page of ROOT_URLCONF sends an anonymous visitor to sign in,
except the public pages listed here (after 18F/tock's tock/tests/test_url_auth.py).

The walk follows includes; a new URL parameter without a sample value below fails the
test, so every new page is checked. The Django admin is skipped: it has its own login
(`admin:login`), wrapped by the lead's settings."""

from urllib.parse import urlsplit

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RegexPattern, RoutePattern

# A sample value for every URL parameter name used anywhere in ROOT_URLCONF.
SAMPLE_VALUES = {
    "pk": 1,
    "school_pk": 1,
    # allauth: the email confirmation key; the password reset user id and token.
    "key": "sample-key",
    "uidb36": "1",
    # A guardian invitation; a private calendar feed.
    "token": "sample-token",
}

# Pages an anonymous visitor may open: allauth's signed-out pages. Each is reviewed.
PUBLIC_PAGES = {
    "account_login",
    "account_signup",  # renders "signup closed": the adapter refuses open sign-up
    "account_inactive",
    "account_email_verification_sent",
    "account_confirm_email",  # the link in a confirmation email, followed signed out
    "account_reset_password",
    "account_reset_password_done",
    "account_reset_password_from_key",  # the link in a reset email, followed signed out
    "account_reset_password_from_key_done",
    # A parent with a printed invitation letter types its one-time code here before they
    # have an account; wrong codes are limited per address (tests/test_roster_invites.py).
    "invite_code",
}

# Public pages keyed by a secret in their URL: an unknown secret is a 404.
PUBLIC_BY_SECRET = {"invite_accept", "calendar_feed"}

# The language switch: a signed-out parent may choose Spanish on the sign-in page.
PUBLIC_ACTIONS = {"set_language"}

SKIPPED_NAMESPACES = {"admin"}


def _parameters(pattern) -> list[str]:
    if isinstance(pattern, RoutePattern):
        return list(pattern.converters)
    if isinstance(pattern, RegexPattern):
        return list(pattern.regex.groupindex)
    return []


def _walk(patterns, namespace="", parameters=(), route=""):
    """(qualified name, parameter names, route) of every URL pattern, through includes."""
    for entry in patterns:
        here = route + str(entry.pattern)
        found = (*parameters, *_parameters(entry.pattern))
        if isinstance(entry, URLResolver):
            if entry.namespace in SKIPPED_NAMESPACES:
                continue
            inner = ":".join(filter(None, [namespace, entry.namespace]))
            yield from _walk(entry.url_patterns, inner, found, here)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield name, found, here


URLS = sorted(_walk(get_resolver().url_patterns), key=lambda url: url[2])
PROTECTED = [url for url in URLS if url[0] not in PUBLIC_PAGES | PUBLIC_BY_SECRET | PUBLIC_ACTIONS]


def _url(name, parameters, route):
    if name is None:
        pytest.fail(f"The URL pattern {route!r} has no name: name it so it can be checked.")
    unknown = [p for p in parameters if p not in SAMPLE_VALUES]
    if unknown:
        pytest.fail(
            f"No sample value for URL parameter(s) {unknown} of {name!r} ({route!r}): "
            "add them to SAMPLE_VALUES in tests/test_url_auth.py."
        )
    return reverse(name, kwargs={p: SAMPLE_VALUES[p] for p in parameters})


def _sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and urlsplit(response["Location"]).path == reverse(
        "account_login"
    )


@pytest.mark.parametrize(
    ("name", "parameters", "route"), PROTECTED, ids=[url[2] for url in PROTECTED]
)
@pytest.mark.django_db
def test_anonymous_visitor_is_sent_to_sign_in(client, name, parameters, route):
    url = _url(name, parameters, route)

    # Sign-in comes first (LoginRequiredMiddleware): never a 404, a 405 or a page, even
    # for a POST-only view or an object that does not exist.
    for method in (client.get, client.post):
        response = method(url)
        assert _sent_to_sign_in(response), (
            f"{method.__name__.upper()} {url} ({name}) answered {response.status_code} "
            f"{response.get('Location', '')} to an anonymous visitor, not the sign-in page. "
            "If it must be public, add it to PUBLIC_PAGES with a reason."
        )


@pytest.mark.parametrize("name", sorted(PUBLIC_PAGES))
@pytest.mark.django_db
def test_public_page_opens_without_signing_in(client, name):
    parameters = next((p for n, p, _ in URLS if n == name), None)
    assert parameters is not None, f"{name} is no longer a URL: remove it from PUBLIC_PAGES"
    response = client.get(_url(name, parameters, name))
    assert response.status_code == 200


@pytest.mark.parametrize("name", sorted(PUBLIC_BY_SECRET))
@pytest.mark.django_db
def test_page_keyed_by_a_secret_is_404_for_a_wrong_secret(client, name):
    parameters = next((p for n, p, _ in URLS if n == name), None)
    assert client.get(_url(name, parameters, name)).status_code == 404


@pytest.mark.django_db
def test_signed_out_visitor_can_switch_to_spanish(client):
    response = client.post(reverse("set_language"), {"language": "es", "next": "/accounts/login/"})
    assert response.status_code == 302 and response.url == "/accounts/login/"
    assert response.cookies["django_language"].value == "es"
    page = client.get(reverse("account_login")).content.decode()
    assert 'lang="es"' in page


def test_the_walk_finds_the_apps_pages():
    names = {name for name, _, _ in URLS}
    assert {"home", "meeting_detail", "approval_queue", "account_login"} <= names
    assert not any(name and name.startswith("admin:") for name in names)
