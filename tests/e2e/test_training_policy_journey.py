"""Training and the restraint and time-out policy in real Chromium: the principal records a
SECA's completed training from the school's page; the SECA opens the policy from their
trainings page and the principal then counts them as having opened it; the SECA's pages
in English, then in Spanish (their language)."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from staff.models import PolicyCopy, Role, Training, current_school_year

from .. import factories as f
from .test_request_journeys import sign_in, sign_out

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_principal_records_training_and_seca_opens_the_policy(live_server, page, school):
    Training.objects.all().delete()
    year = current_school_year()
    f.TrainingFactory(
        code="annual-de-escalation",
        name="Annual de-escalation training",
        recurrence=Training.Recurrence.YEARLY,
        # Due yesterday in this school year: overdue until the principal records it.
        due_on=timezone.localdate() - datetime.timedelta(days=1),
    )
    f.TrainingFactory(code="personal-care", name="Personal care")
    principal = f.UserFactory(full_name="Pat Principal", roles=[(Role.Kind.PRINCIPAL, school)])
    seca = f.UserFactory(full_name="Jerry Seca", roles=[(Role.Kind.SECA, school)])
    admin = f.UserFactory(roles=[(Role.Kind.DISTRICT_ADMIN, None)])
    label = f"{year}-{(year + 1) % 100:02d}"
    policy = f.RestraintPolicyFactory(
        school_year=year, title=f"Restraint and time-out {label}", uploaded_by=admin
    )

    # The principal: who is overdue, and a completion recorded.
    sign_in(page, live_server, principal)
    page.get_by_role("link", name="SECA training and the restraint policy at Skinner North").click()
    expect(page.get_by_text("1 SECA has a training overdue.")).to_be_visible()
    expect(page.get_by_text("1 SECA has not opened this year's")).to_be_visible()
    page.get_by_role("link", name="Record a completed training").click()
    page.get_by_label(re.compile(r"^\s*SECA\s*\*?\s*$")).select_option(label="Jerry Seca")
    page.get_by_label(re.compile(r"^\s*Training\s*\*?\s*$")).select_option(
        label="Annual de-escalation training"
    )
    page.get_by_label("Completed on").fill(timezone.localdate().isoformat())
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_text("Recorded: Jerry Seca completed Annual de-escalation")).to_be_visible()
    expect(page.get_by_text("0 SECAs have a training overdue.")).to_be_visible()
    sign_out(page)

    # The SECA: their trainings, and the policy opened.
    sign_in(page, live_server, seca)
    page.get_by_role("link", name="My trainings and the restraint and time-out policy").click()
    expect(page.get_by_role("heading", name="My trainings")).to_be_visible()
    row = page.get_by_role("row", name="Annual de-escalation training")
    expect(row.get_by_text("Done")).to_be_visible()
    expect(page.get_by_role("row", name="Personal care").get_by_text("To do")).to_be_visible()
    expect(page.get_by_text("You have not opened it yet")).to_be_visible()
    page.get_by_role("link", name=f"Open the policy for {label}").click()
    expect(page.get_by_role("heading", name=policy.title)).to_be_visible()
    expect(page.get_by_text("Your acknowledgement was recorded on")).to_be_visible()
    assert PolicyCopy.objects.get(policy=policy, seca=seca).acknowledged_at is not None

    # The same pages in the SECA's language, Spanish.
    seca.preferred_language = "es"
    seca.save(update_fields=["preferred_language"])
    page.reload()
    expect(page.get_by_text("Su acuse de recibo quedó registrado el")).to_be_visible()
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Mis capacitaciones y la política de restricción y aislamiento").click()  # fmt: skip
    expect(page.get_by_role("heading", name="Mis capacitaciones")).to_be_visible()
    row = page.get_by_role("row", name="Capacitación anual en desescalada")
    expect(row.get_by_text("Completada")).to_be_visible()
    expect(page.get_by_text("La abrió el")).to_be_visible()
    sign_out(page)

    # The principal now counts the SECA as having opened the policy.
    sign_in(page, live_server, principal)
    page.get_by_role("link", name="SECA training and the restraint policy at Skinner North").click()
    expect(page.get_by_text("0 SECAs have not opened this year's")).to_be_visible()
