"""A plan PDF carrying JavaScript, a launch action, an attached file or another active
feature is refused before anything is stored: it would reach the parents' and the
classroom assistants' computers."""

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript, PageTrigger
from pypdf.annotations import Link
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    TextStringObject,
)

from meetings.models import Plan
from staff import pdf as plan_pdf
from staff.services import DomainError

SCRIPT_MESSAGE = (
    "This PDF contains JavaScript, a launch action or another active feature, which could "
    "harm the computers of the people it is sent to: save it again as a plain PDF (for "
    "example with Print to PDF) and upload that."
)
ATTACHED_MESSAGE = (
    "This PDF has a file attached inside it, which could harm the computers of the people "
    "it is sent to: save it again as a plain PDF (for example with Print to PDF) and "
    "upload that."
)
TOO_COMPLEX_MESSAGE = (
    "This PDF is too complex to check for harmful content: save it again as a plain PDF "
    "(for example with Print to PDF) and upload that."
)


def upload(client, meeting, content):
    return client.post(
        reverse("plan_upload", args=[meeting.pk]),
        {"file": SimpleUploadedFile("plan.pdf", content, content_type="application/pdf")},
    )


def stored_files(settings) -> list[Path]:
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- PDFs built with pypdf: a blank page plus one offending object -----------------------


def written(add=None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    if add is not None:
        add(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def open_action_javascript(writer):
    writer.root_object[NameObject("/OpenAction")] = JavaScript("app.alert('hello');")


def page_open_javascript(writer):
    writer.pages[0].add_action(PageTrigger.OPEN, JavaScript("app.alert('hello');"))


def link_launching_a_program(writer):
    action = DictionaryObject(
        {
            NameObject("/S"): NameObject("/Launch"),
            NameObject("/F"): TextStringObject("C:\\Windows\\System32\\calc.exe"),
        }
    )
    link = Link(rect=(50, 50, 200, 80), url="https://example.org")
    link[NameObject("/A")] = action
    writer.add_annotation(0, link)


def attached_file(writer):
    writer.add_attachment("notes.exe", b"MZ\x90\x00 not really a program")


def document_javascript(writer):
    # pypdf 7 dropped add_js: add_open_action adds to the /Names /JavaScript name tree.
    writer.add_open_action(JavaScript("app.alert('hello');"))


def xfa_form(writer):
    template = DecodedStreamObject()
    template.set_data(b"<template xmlns='http://www.xfa.org/schema/xfa-template/3.3/'/>")
    writer.root_object[NameObject("/AcroForm")] = DictionaryObject(
        {
            NameObject("/Fields"): ArrayObject(),
            NameObject("/XFA"): ArrayObject(
                [TextStringObject("template"), writer._add_object(template)]
            ),
        }
    )


def https_link(writer):
    writer.add_annotation(0, Link(rect=(50, 50, 200, 80), url="https://www.isbe.net/"))


# --- PDFs written by hand: names spelled with #xx escapes, objects in an object stream -----

PAGES = [
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
]
# << /Type /Action /S /JavaScript /JS (...) >>, every name that says so escaped.
ESCAPED_ACTION = b"<< /Type /Action /S /J#61va#53cript /J#53 (app.alert\\(1\\)) >>"
ESCAPED_CATALOG = b"<< /Type /Catalog /Pages 2 0 R /Open#41ction 4 0 R >>"


def handwritten(*objects: bytes) -> bytes:
    """A PDF with a classic cross-reference table; object 1 is the catalog."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def handwritten_in_object_stream(catalog: bytes, action: bytes) -> bytes:
    """Catalog and pages as objects 1-3; the action, object 5, compressed in object
    stream 4; a cross-reference stream, object 6, since a table cannot point into one."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    header = b"5 0 "
    stream = header + action
    for number, body in enumerate(
        [
            catalog,
            *PAGES,
            b"<< /Type /ObjStm /N 1 /First %d /Length %d >>\nstream\n%s\nendstream"
            % (len(header), len(stream), stream),
        ],
        start=1,
    ):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    rows = [b"\x00" + (0).to_bytes(4, "big") + (65535).to_bytes(2, "big")]
    rows += [b"\x01" + o.to_bytes(4, "big") + b"\x00\x00" for o in [*offsets, xref]]
    rows.insert(5, b"\x02" + (4).to_bytes(4, "big") + b"\x00\x00")  # object 5: in 4, index 0
    data = b"".join(rows)
    out += b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Length %d >>\n" % len(data)
    out += b"stream\n%s\nendstream\nendobj\n" % data
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def escaped_javascript() -> bytes:
    return handwritten(ESCAPED_CATALOG, *PAGES, ESCAPED_ACTION)


# --- through the case manager's page -------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (written(open_action_javascript), SCRIPT_MESSAGE),
        (written(page_open_javascript), SCRIPT_MESSAGE),
        (written(link_launching_a_program), SCRIPT_MESSAGE),
        (written(attached_file), ATTACHED_MESSAGE),
        (written(document_javascript), SCRIPT_MESSAGE),
        (escaped_javascript(), SCRIPT_MESSAGE),
        (written(xfa_form), SCRIPT_MESSAGE),
    ],
    ids=[
        "open-action-javascript",
        "page-open-javascript",
        "link-launching-a-program",
        "attached-file",
        "document-javascript",
        "escaped-names",
        "xfa-form",
    ],
)
def test_a_pdf_with_active_content_is_refused_and_nothing_is_stored(
    client, case_manager, held, settings, content, message
):
    client.force_login(case_manager)
    response = upload(client, held, content)
    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [message]
    # Shown next to the file field, not only above the form.
    page = response.content.decode()
    assert 'id="error_1_id_file"' in page
    assert message in page[page.index('id="id_file"') :]
    assert not Plan.objects.exists()
    assert stored_files(settings) == []


def test_a_pdf_with_a_web_link_is_accepted(client, case_manager, held, settings):
    content = written(https_link)
    assert "/Annots" in PdfReader(io.BytesIO(content)).pages[0]
    client.force_login(case_manager)
    assert upload(client, held, content).status_code == 302
    assert Plan.objects.count() == 1
    (path,) = stored_files(settings)
    assert path.read_bytes() == content


def test_a_pdf_too_complex_to_check_is_refused(client, case_manager, held, settings, monkeypatch):
    monkeypatch.setattr(plan_pdf, "MAX_OBJECTS", 5)
    client.force_login(case_manager)
    response = upload(client, held, written(https_link))
    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [TOO_COMPLEX_MESSAGE]
    assert not Plan.objects.exists()
    assert stored_files(settings) == []


# --- the check itself ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        escaped_javascript(),
        handwritten_in_object_stream(ESCAPED_CATALOG.replace(b"4 0 R", b"5 0 R"), ESCAPED_ACTION),
    ],
    ids=["escaped-names", "escaped-names-in-an-object-stream"],
)
def test_names_are_checked_as_parsed_not_as_written(content):
    # A scan of the bytes finds nothing to refuse...
    assert b"JavaScript" not in content and b"/JS" not in content
    # ...while the parsed objects are a JavaScript action run when the file opens.
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 1
    with pytest.raises(DomainError, match="contains JavaScript") as refused:
        plan_pdf.refuse_active_content(reader)
    assert refused.value.field == "file"


def test_the_same_handwritten_pdf_without_the_action_passes():
    # The builders make sound PDFs: the refusal above is the action's doing.
    catalog = b"<< /Type /Catalog /Pages 2 0 R /OpenAction [3 0 R /Fit] >>"
    for content in [
        handwritten(catalog, *PAGES),
        handwritten_in_object_stream(catalog, b"<< /Type /Action /S /URI /URI (https://x.org) >>"),
    ]:
        plan_pdf.refuse_active_content(PdfReader(io.BytesIO(content)))
