"""A journey done with the keyboard alone, in real Chromium: a principal goes from the
home page to a request, denies it without a reason, hears the error (the summary takes the
focus), follows it to the field, picks the reason and denies again. The page with the
errors passes axe too."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from meetings.models import AttendanceRequest

from .. import factories as f
from .test_every_page import AXE_OPTIONS
from .test_request_journeys import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FOCUSED = "document.activeElement"


def tab_to(page, name: re.Pattern, limit: int = 80):
    """Press Tab until the focused element's accessible text matches; fail if it never does."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        text = page.evaluate(f"({FOCUSED}.innerText || {FOCUSED}.value || '').trim()")
        if name.search(text):
            return text
    pytest.fail(
        f"Tab never reached {name.pattern!r} on {page.url}: {page.inner_text('main')[:1500]}"
    )


def test_a_principal_denies_a_request_with_the_keyboard_alone(
    page, live_server, meeting, seca, principal
):
    req = f.AttendanceRequestFactory(meeting=meeting, seca=seca, note="I can help")
    sign_in(page, live_server, principal)

    tab_to(page, re.compile(r"^Decide"))
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Decide a request to attend")

    tab_to(page, re.compile(r"^Deny$"))
    page.keyboard.press("Enter")
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_contain_text("Reason: This field is required.")
    reason = page.get_by_label("Reason")
    expect(reason).to_have_attribute("aria-invalid", "true")
    violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    assert not violations, [v["id"] for v in violations]

    page.keyboard.press("Tab")  # the summary's link to the field
    page.keyboard.press("Enter")
    expect(reason).to_be_focused()
    page.keyboard.type("Scheduled")  # type-ahead picks the option
    expect(reason.locator("option:checked")).to_have_text("Scheduled with another student")
    tab_to(page, re.compile(r"^Deny$"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("Denied.")).to_be_visible()
    req.refresh_from_db()
    assert req.status == AttendanceRequest.Status.DENIED
    assert req.deny_reason == AttendanceRequest.DenyReason.OTHER_STUDENT
