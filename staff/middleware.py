import contextvars

from allauth.core.internal.httpkit import get_client_ip
from django.conf import settings
from django.utils import translation


class PreferredLanguageMiddleware:
    """Speak to a signed-in person in their preferred language (User.preferred_language; a
    parent's is copied from the school's guardian record when they accept the invitation),
    unless they picked another with the language switcher on this browser (signed in, the
    switcher saves their choice as their preference too: staff/views.py set_language).

    LocaleMiddleware, earlier in MIDDLEWARE, has already activated the language of the
    switcher's cookie or else the browser's Accept-Language. This one comes after
    AuthenticationMiddleware (it needs request.user, which LoginRequiredMiddleware loads
    anyway: no extra query) and, when there is no cookie, replaces the browser's guess with
    the person's own choice. Emails use the same preference (translation.override)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        user = getattr(request, "user", None)
        if (
            chosen not in dict(settings.LANGUAGES)
            and user is not None
            and user.is_authenticated
            and user.preferred_language in dict(settings.LANGUAGES)
        ):
            translation.activate(user.preferred_language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


# The client IP of the request being served, for the audit trail; None outside a request
# (Celery tasks, management commands).
client_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)


class AuditContextMiddleware:
    """Remember the client's IP while a request is served, so that every audit event it
    writes records where it came from (34 CFR 300.614). allauth's reading of the address
    honours TRUSTED_PROXY_COUNT, as its rate limits do."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = client_ip.set(get_client_ip(request))
        try:
            return self.get_response(request)
        finally:
            client_ip.reset(token)


class PrivateCacheMiddleware:
    """`Cache-Control: private, no-store` on every response to a signed-in person: their
    pages show student records, which a shared computer's browser cache must not keep."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response["Cache-Control"] = "private, no-store"
        return response
