"""The finalized plan: a PDF checked by its content, stored privately, finalized, and
downloaded only by those allowed, each download logged (34 CFR 300.614)."""

import hashlib
import io
import threading
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfWriter

from meetings.models import Plan, PlanDelivery
from meetings.services import plans
from staff.access import forget_standing
from staff.models import Assignment, AuditEvent, Role
from staff.services import DomainError

from . import factories as f

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def pdf_bytes(pages=1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def stored_files(settings) -> list[Path]:
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def plan(held, case_manager):
    upload = SimpleUploadedFile("plan.pdf", pdf_bytes(), content_type="application/pdf")
    return plans.plan_upload(actor=case_manager, meeting=held, upload=upload)


def upload(client, meeting, content, name="plan.pdf", content_type="application/pdf"):
    return client.post(
        reverse("plan_upload", args=[meeting.pk]),
        {"file": SimpleUploadedFile(name, content, content_type=content_type)},
    )


# --- upload -----------------------------------------------------------------------------


def test_case_manager_uploads_a_pdf_stored_privately_with_its_hash(
    client, case_manager, held, settings
):
    content = pdf_bytes(pages=2)
    client.force_login(case_manager)
    assert client.get(reverse("plan_upload", args=[held.pk])).status_code == 200
    response = upload(client, held, content, name="Jordan's IEP.pdf")
    assert response.status_code == 302
    plan = Plan.objects.get()
    assert (plan.version, plan.uploaded_by, plan.finalized_at) == (1, case_manager, None)
    assert plan.sha256 == hashlib.sha256(content).hexdigest()
    (path,) = stored_files(settings)
    assert path.read_bytes() == content
    assert "Jordan" not in plan.file.name  # the stored name says nothing of the student
    assert AuditEvent.objects.filter(action="plan.uploaded", object_id=str(plan.pk)).exists()


def test_a_corrected_plan_is_the_next_version(client, case_manager, plan):
    client.force_login(case_manager)
    upload(client, plan.meeting, pdf_bytes(pages=3))
    assert list(Plan.objects.values_list("version", flat=True)) == [2, 1]


@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [
        (PNG, "plan.pdf", "application/pdf"),  # a PNG renamed .pdf
        (b"Dear parents, the plan is attached.", "plan.pdf", "application/pdf"),
        (b"%PDF-1.7\nnot really a PDF at all", "plan.pdf", "application/pdf"),
        (pdf_bytes()[:200], "plan.pdf", "application/pdf"),  # cut short
    ],
)
def test_a_file_that_is_not_a_pdf_is_refused_and_nothing_is_stored(
    client, case_manager, held, settings, content, name, content_type
):
    client.force_login(case_manager)
    response = upload(client, held, content, name=name, content_type=content_type)
    assert response.status_code == 400
    assert "not a PDF" in response.context["form"].errors["file"][0]
    assert not Plan.objects.exists()
    assert stored_files(settings) == []


def test_a_pdf_with_another_name_and_type_is_accepted(client, case_manager, held):
    # The content decides, not the name or the browser's content type.
    client.force_login(case_manager)
    upload(client, held, pdf_bytes(), name="scan.bin", content_type="application/octet-stream")
    assert Plan.objects.count() == 1


def test_a_file_over_the_size_limit_is_refused_and_nothing_is_stored(
    client, case_manager, held, settings
):
    content = pdf_bytes()
    settings.PLAN_MAX_BYTES = len(content) - 1
    client.force_login(case_manager)
    response = upload(client, held, content)
    assert response.status_code == 400
    assert "larger than" in response.context["form"].errors["file"][0]
    assert not Plan.objects.exists()
    assert stored_files(settings) == []
    settings.PLAN_MAX_BYTES = len(content)
    assert upload(client, held, content).status_code == 302


def test_no_plan_before_the_meeting_is_held(client, case_manager, meeting, settings):
    client.force_login(case_manager)
    response = upload(client, meeting, pdf_bytes())
    assert response.status_code == 400
    assert "Mark the meeting held" in response.content.decode()
    assert not Plan.objects.exists() and stored_files(settings) == []


def test_case_manager_of_another_school_cannot_upload(client, held, other_school, settings):
    client.force_login(f.UserFactory(roles=[(Role.Kind.CASE_MANAGER, other_school)]))
    assert upload(client, held, pdf_bytes()).status_code == 404
    assert stored_files(settings) == []


# --- finalize ----------------------------------------------------------------------------


def test_case_manager_finalizes_the_latest_version(client, case_manager, plan):
    client.force_login(case_manager)
    page = client.get(reverse("meeting_detail", args=[plan.meeting_id])).content.decode()
    assert reverse("plan_finalize", args=[plan.pk]) in page
    response = client.post(reverse("plan_finalize", args=[plan.pk]))
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.finalized_at is not None
    assert AuditEvent.objects.filter(action="plan.finalized", object_id=str(plan.pk)).exists()
    with pytest.raises(DomainError, match="already final"):
        plans.plan_finalize(actor=case_manager, plan=plan)


def test_an_older_version_cannot_be_finalized(case_manager, plan):
    upload_v2 = SimpleUploadedFile("v2.pdf", pdf_bytes(), content_type="application/pdf")
    plans.plan_upload(actor=case_manager, meeting=plan.meeting, upload=upload_v2)
    with pytest.raises(DomainError, match="Version 2 was uploaded since"):
        plans.plan_finalize(actor=case_manager, plan=plan)
    plan.refresh_from_db()
    assert plan.finalized_at is None


def test_finalize_is_post_only_and_only_for_those_who_manage(
    client, case_manager, plan, principal, school
):
    client.force_login(case_manager)
    assert client.get(reverse("plan_finalize", args=[plan.pk])).status_code == 405
    teacher = f.UserFactory(roles=[(Role.Kind.TEACHER, school)])
    client.force_login(teacher)
    # The teacher sees the plan (a 403, not a 404) but does not run the meeting.
    assert client.post(reverse("plan_finalize", args=[plan.pk])).status_code == 403
    plan.refresh_from_db()
    assert plan.finalized_at is None


# --- download ----------------------------------------------------------------------------


def download(client, user, plan):
    """The response, its streamed body read into `body` (the test client closes the file
    once the stream is read)."""
    client.force_login(user)
    response = client.get(reverse("plan_download", args=[plan.pk]))
    if response.status_code == 200:
        response.body = b"".join(response.streaming_content)
    return response


@pytest.mark.parametrize("who", ["case_manager", "principal", "designee", "district_admin"])
def test_the_team_downloads_the_plan_as_an_attachment(client, plan, who, request):
    user = request.getfixturevalue(who)
    response = download(client, user, plan)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert f"-v{plan.version}.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert hashlib.sha256(response.body).hexdigest() == plan.sha256
    event = AuditEvent.objects.get(action="plan.downloaded", actor=user)
    assert (event.object_id, event.student) == (str(plan.pk), plan.meeting.student)


def test_an_invitation_alone_does_not_open_the_plan(client, plan, other_school):
    # An invitation says who is asked to attend; it grants nothing (staff/access.py).
    guest = f.UserFactory(roles=[(Role.Kind.TEACHER, other_school)])
    f.InvitationFactory(meeting=plan.meeting, user=guest)
    assert download(client, guest, plan).status_code == 404


def test_the_guardian_downloads_the_plan_once_it_is_final(client, plan, parent, case_manager):
    assert download(client, parent, plan).status_code == 404
    plans.plan_finalize(actor=case_manager, plan=plan)
    # Finalizing is what distribution starts from: the parent's copy is on its way.
    assert PlanDelivery.objects.filter(plan=plan, recipient=parent).exists()
    response = download(client, parent, plan)
    assert response.status_code == 200
    assert AuditEvent.objects.filter(action="plan.downloaded", actor=parent).count() == 1
    page = client.get(reverse("meeting_detail", args=[plan.meeting_id])).content.decode()
    assert reverse("plan_download", args=[plan.pk]) in page


def test_another_parent_never_downloads_it(client, plan, other_parent, case_manager):
    plans.plan_finalize(actor=case_manager, plan=plan)
    assert download(client, other_parent, plan).status_code == 404
    assert not AuditEvent.objects.filter(action="plan.downloaded").exists()


def test_the_students_seca_downloads_it_once_final_while_they_support_the_student(
    client, plan, seca
):
    # 34 CFR 300.323(d): the IEP is accessible to each provider who carries it out.
    assert download(client, seca, plan).status_code == 404  # a draft is the team's
    Plan.objects.filter(pk=plan.pk).update(finalized_at=timezone.now())
    assert download(client, seca, plan).status_code == 200
    Assignment.objects.filter(staff=seca).update(ended_on=timezone.localdate())
    forget_standing(seca)
    assert download(client, seca, plan).status_code == 404


@pytest.mark.parametrize("who", ["other_school_seca", "other_school_cm"])
def test_another_schools_staff_get_404(client, plan, who, request, other_school):
    if who == "other_school_cm":
        user = f.UserFactory(roles=[(Role.Kind.CASE_MANAGER, other_school)])
    else:
        user = request.getfixturevalue(who)
    assert download(client, user, plan).status_code == 404


# --- two uploads at once (PostgreSQL) ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_uploads_at_once_get_the_next_two_versions(postgres, held, case_manager, settings):
    barrier = threading.Barrier(2)
    errors = []

    def worker(content):
        try:
            barrier.wait(timeout=10)
            plans.plan_upload(
                actor=case_manager, meeting=held, upload=SimpleUploadedFile("p.pdf", content)
            )
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(pdf_bytes(pages=n),)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(Plan.objects.values_list("version", flat=True)) == [1, 2]
    assert len(stored_files(settings)) == 2
