"""Refuse a PDF that carries active content: a plan, the restraint and time-out policy.

A finalized plan goes from the case manager to the parents and to classroom assistants,
who open it on home and school computers in whatever PDF viewer they have. Besides its
pages a PDF can carry JavaScript run when it opens or a page shows, a launch action that
starts a program, files packed inside it, forms that send or load data elsewhere, and
embedded media players: the usual ways a PDF is made to attack the person who opens it.
A plan needs none of them, so a file carrying any is refused rather than passed on; saving
it again as a plain PDF (Print to PDF) removes them.

The check reads the objects pypdf parsed, not the raw bytes: a name may be spelled with
#xx escapes (/J#61vaScript is /JavaScript) and objects may sit compressed in object
streams, both of which a byte scan misses.
"""

import hashlib

from django.conf import settings
from django.utils.translation import gettext as _
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from .services import DomainError

PDF_SIGNATURE = b"%PDF-"

# A plan of a few dozen pages has a few thousand objects; a file built to make the walk
# slow is refused, never accepted unchecked.
MAX_OBJECTS = 100_000

SCRIPT, ATTACHED, TOO_COMPLEX = "script", "attached file", "too complex"

# Keys that are active content wherever they appear.
_KEYS = {
    "/JS": SCRIPT,  # the script of a JavaScript (or rendition) action
    "/JavaScript": SCRIPT,  # the document's JavaScript name tree, in /Names
    "/XFA": SCRIPT,  # an XFA form in /AcroForm: forms that run their own scripts
    "/RichMediaContent": SCRIPT,  # Flash or video played inside the viewer
    "/EmbeddedFiles": ATTACHED,  # the document's attached files name tree, in /Names
    "/EF": ATTACHED,  # a file specification that carries the file itself
}
# Values of /S (action type), /Subtype (annotation) and /Type that are active content.
_NAMES = {
    "/JavaScript": SCRIPT,
    "/Launch": SCRIPT,  # starts a program or opens a file on the reader's computer
    "/SubmitForm": SCRIPT,  # sends form data to an address of the author's choosing
    "/ImportData": SCRIPT,  # loads data from another file
    "/RichMedia": SCRIPT,
    "/RichMediaExecute": SCRIPT,
    "/GoToE": ATTACHED,  # opens a PDF embedded in this one
    "/FileAttachment": ATTACHED,  # an annotation carrying a file
    "/EmbeddedFile": ATTACHED,  # the stream of an attached file
}
_TYPE_KEYS = ("/S", "/Subtype", "/Type")


def _find(trailer: DictionaryObject) -> str | None:
    """What active content the object graph reachable from the trailer holds, if any:
    SCRIPT, ATTACHED or None; TOO_COMPLEX past MAX_OBJECTS objects."""
    seen: set[tuple[int, int]] = set()
    stack: list = [trailer]
    budget = MAX_OBJECTS
    while stack:
        obj = stack.pop()
        budget -= 1
        if budget < 0:
            return TOO_COMPLEX
        if isinstance(obj, IndirectObject):
            ref = (obj.idnum, obj.generation)
            if ref not in seen:  # catalog, pages and annotations point back at each other
                seen.add(ref)
                stack.append(obj.get_object())
        elif isinstance(obj, DictionaryObject):  # streams too: their dictionary
            for key, value in dict.items(obj):  # raw values: references stay unresolved
                if key in _KEYS:
                    return _KEYS[key]
                if key in _TYPE_KEYS:
                    name = value.get_object() if isinstance(value, IndirectObject) else value
                    if isinstance(name, str) and name in _NAMES:
                        return _NAMES[name]
                if isinstance(value, (DictionaryObject, ArrayObject, IndirectObject)):
                    stack.append(value)
        elif isinstance(obj, ArrayObject):
            stack.extend(
                item
                for item in obj
                if isinstance(item, (DictionaryObject, ArrayObject, IndirectObject))
            )
    return None


def refuse_active_content(reader: PdfReader) -> None:
    """Raise DomainError(field="file") when the PDF carries active content, or has too
    many objects to check. pypdf's parse errors pass through: the caller calls the file
    not a PDF."""
    found = _find(reader.trailer)
    if found == SCRIPT:
        raise DomainError(
            _(
                "This PDF contains JavaScript, a launch action or another active feature, "
                "which could harm the computers of the people it is sent to: save it again "
                "as a plain PDF (for example with Print to PDF) and upload that."
            ),
            field="file",
        )
    if found == ATTACHED:
        raise DomainError(
            _(
                "This PDF has a file attached inside it, which could harm the computers of "
                "the people it is sent to: save it again as a plain PDF (for example with "
                "Print to PDF) and upload that."
            ),
            field="file",
        )
    if found == TOO_COMPLEX:
        raise DomainError(
            _(
                "This PDF is too complex to check for harmful content: save it again as a "
                "plain PDF (for example with Print to PDF) and upload that."
            ),
            field="file",
        )


def pdf_checked(upload, *, not_pdf: str) -> str:
    """The upload's sha256 once its content proves it a readable PDF of at most
    PLAN_MAX_BYTES without active content; `not_pdf` says what to upload instead. The name
    and the browser's content type prove nothing."""
    limit = settings.PLAN_MAX_BYTES
    too_large = DomainError(
        _("The file is larger than %(mb)s MB.") % {"mb": round(limit / (1024 * 1024), 1)},
        field="file",
    )
    if upload.size is None or upload.size > limit:
        raise too_large
    refused = DomainError(not_pdf, field="file")
    upload.seek(0)
    if upload.read(len(PDF_SIGNATURE)) != PDF_SIGNATURE:
        raise refused
    upload.seek(0)
    try:
        reader = PdfReader(upload)
        if reader.is_encrypted:
            raise DomainError(
                _("This PDF is password-protected: upload a copy everyone can open."),
                field="file",
            )
        pages = len(reader.pages)
        # Scripts, launch actions and attached files would reach its readers' computers.
        refuse_active_content(reader)
    except DomainError:
        raise
    except Exception:  # pypdf raises many kinds of errors on a damaged file
        raise refused from None
    if pages == 0:
        raise refused
    digest, size = hashlib.sha256(), 0
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
        size += len(chunk)
    if size > limit:
        raise too_large
    upload.seek(0)
    return digest.hexdigest()
