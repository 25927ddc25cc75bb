"""Every page each demo login reaches from their home page, in English and in Spanish, in
real Chromium, checked by axe-core (WCAG 2.2 AA, every impact) and for an error status.
Following links, not typing addresses: a page no link leads to is not reached, and the
test of that login says which kinds of page it saw."""

import base64
import hashlib
import hmac
import io
import re
import struct
import time
from urllib.parse import urljoin, urlsplit

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command

from staff.models import User

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "iepcoord-demo"
SECRET = "JBSWY3DPEHPK3PXP"  # the test's own authenticator for admin@
LOGINS = ["admin", "union", "principal", "ap", "casemanager", "seca", "seca2", "parent"]
# Not pages to check: signing out, switching language, state changes, files, the admin
# (Django's own, English-only), the calendar feed and downloads.
SKIP = re.compile(
    r"/(accounts/logout|i18n/|calendar/reset|notifications/read|static/|admin/)"
    r"|\.ics$|\.csv|/download/|/deliveries/"
)
# Each kind of page (its path with the ids blanked) is visited this many times at most.
PER_KIND = 2
# The pages each login must reach by links: what their home leads to.
MUST_REACH = {
    "admin": {
        "/reports/district/",
        "/reports/schools/N/",
        "/schools/N/access-list/",
        "/training/district/",
        "/training/import/",
        "/policies/",
        "/policies/N/",
    },  # fmt: skip
    "union": {"/reports/district/", "/reports/schools/N/"},
    "principal": {
        "/approvals/",
        "/requests/N/decide/",
        "/schools/N/designees/",
        "/reports/schools/N/",
        "/meetings/N/",
        "/students/N/guardians/",
        "/calendar/",
        "/schools/N/training/",
        "/schools/N/training/record/",
    },  # fmt: skip
    "ap": {"/approvals/", "/reports/schools/N/", "/schools/N/training/"},
    "casemanager": {
        "/caseload/",
        "/students/N/meetings/new/",
        "/students/N/guardians/",
        "/students/N/access-log/",
        "/meetings/N/",
        "/meetings/N/notice/",
        "/calendar/",
    },  # fmt: skip
    "seca": {
        "/meetings/N/",
        "/plans/",
        "/calendar/",
        "/notifications/",
        "/training/",
        "/policies/N/",
    },
    "seca2": {"/plans/", "/calendar/"},
    "parent": {"/children/", "/children/N/", "/meetings/N/notice/", "/plans/"},
}
# Standard rules for WCAG 2.0, 2.1 and 2.2, A and AA.
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    }
}


def totp(secret: str = SECRET) -> str:
    key = base64.b32decode(secret)
    digest = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 15
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


@pytest.fixture
def demo(settings):
    """The demo district, as `make run` loads it, with an authenticator for admin@. The
    live server's thread reads it, so it is committed (and flushed after the test)."""
    settings.DEBUG = True  # load_demo refuses to run otherwise
    call_command("load_demo", stdout=io.StringIO())
    settings.DEBUG = False
    TOTP.activate(User.objects.get(email="admin@demo.iepcoord.org"), SECRET)


def kind_of(url: str) -> str:
    return re.sub(r"/\d+", "/N", urlsplit(url).path)


def sign_in(page, base, who):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", f"{who}@demo.iepcoord.org")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_load_state()
    if page.locator("input[name=code]").count():
        page.fill("input[name=code]", totp())
        page.press("input[name=code]", "Enter")
        page.wait_for_load_state()


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("who", LOGINS)
def test_every_page_a_login_reaches_passes_axe(demo, live_server, browser, who, lang):
    context = browser.new_context()
    context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
    page = context.new_page()
    sign_in(page, live_server.url, who)
    axe = Axe()
    problems, seen, kinds, queue = [], set(), {}, [f"{live_server.url}/"]
    while queue:
        url = queue.pop(0)
        kind = kind_of(url)
        if url in seen or kinds.get(kind, 0) >= PER_KIND:
            continue
        seen.add(url)
        kinds[kind] = kinds.get(kind, 0) + 1
        response = page.goto(url)
        if response is None or response.status >= 400:
            problems.append(f"{kind}: HTTP {response.status if response else '?'} ({url})")
            continue
        assert page.evaluate("document.documentElement.lang") == lang, url
        result = axe.run(page, options=AXE_OPTIONS).response
        assert result["passes"], f"axe checked nothing on {url}"
        for violation in result["violations"]:
            targets = [node["target"] for node in violation["nodes"]][:3]
            problems.append(f"{kind}: {violation['id']} ({violation['impact']}) {targets}")
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            target = urljoin(url, href).split("#")[0]
            if urlsplit(target).netloc == urlsplit(live_server.url).netloc and not SKIP.search(
                target
            ):
                queue.append(target)
    context.close()
    missing = MUST_REACH[who] - set(kinds)
    assert not missing, f"{who} ({lang}) reached no link to {sorted(missing)}; saw {sorted(kinds)}"
    assert not problems, f"{who} ({lang}):\n" + "\n".join(problems)
