"""Licence face data as the PDF states it, read from the sealed revision's document information."""

from __future__ import annotations

import io
import re
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from onestop.identifiers.licence_id import ROOT as LICENCE_ID_ROOT
from onestop.licences.credential import CREDENTIAL_INFO_KEY, looks_like_credential

MAX_INFO_CHARS = 500
# The QR's signed credential as the licence's document information repeats it (licences/render.py):
# a credential is some 500-1,000 characters; a longer value is no credential of ours and is ignored.
CREDENTIAL_KEY = f"/{CREDENTIAL_INFO_KEY}"
MAX_CREDENTIAL_CHARS = 4096
FACE_KEYS = ("licence_id", "number", "holder_code", "name_zh", "issuer_name")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        text = str(value.get_object() if isinstance(value, generic.IndirectObject) else value)
    except Exception:
        return None
    return text.strip()[:MAX_INFO_CHARS] or None


def read_face(reader: PdfFileReader, revision: int) -> dict[str, Any]:
    """Face data from /Info of `revision`, resolved through that revision's own objects (a later
    revision cannot change what this returns)."""
    try:
        history = reader.get_historical_resolver(max(revision, 0))
        info = history.trailer_view.raw_get("/Info")
        if isinstance(info, generic.IndirectObject):
            info = history.get_object(info.reference)
    except Exception:
        return {}
    return face_from_info(info)


_TRAILER_INFO = re.compile(rb"trailer\s*<<.*?/Info\s+(\d{1,10})\s+(\d{1,5})\s+R", re.S)


def read_face_authenticated(data: bytes) -> dict[str, Any] | None:
    """Face data of a file whose every byte the bureau's seal authenticated, without a full reader:
    the last trailer's /Info, read where its last definition stands (our files use xref tables), within
    16 KiB. None when the file is not shaped so, or when /Info refers to other objects for its values
    (the caller reads it with pyHanko's reader instead)."""
    start = data.rfind(b"trailer")
    found = _TRAILER_INFO.match(data, start) if start >= 0 else None
    if found is None:
        return None
    number, generation = int(found.group(1)), int(found.group(2))
    header = b"\n%d %d obj" % (number, generation)
    at = data.rfind(header)
    if at < 0:
        return None
    stream = io.BytesIO(data[at + len(header) : at + len(header) + 16384].lstrip())
    try:
        info = generic.read_object(stream, generic.Reference(number, generation))
    except Exception:  # cut off by the 16 KiB window, or not PDF syntax
        return None
    if not isinstance(info, generic.DictionaryObject):
        return None
    if any(isinstance(value, generic.IndirectObject) for value in info.values()):
        return None  # "/Title 12 0 R": resolving it takes the cross-reference data
    return face_from_info(info)


def face_from_info(info: Any) -> dict[str, Any]:
    """The licence face from a document information dictionary."""
    if not isinstance(info, generic.DictionaryObject):
        return {}
    title, author = _text(info.get("/Title")), _text(info.get("/Author"))
    subject, keywords = _text(info.get("/Subject")), _text(info.get("/Keywords"))
    words = [w.strip() for w in (keywords or "").split(",")]
    licence_id = subject if subject and subject.startswith(LICENCE_ID_ROOT) else None
    if licence_id is None and words and words[0].startswith(LICENCE_ID_ROOT):
        licence_id = words[0]
    face: dict[str, Any] = {"source": "pdf", "licence_id": licence_id}
    if licence_id is not None and len(words) >= 3:
        face["number"] = words[1] or None
        face["holder_code"] = words[2] or None
    if title:
        number = face.get("number")
        face["name_zh"] = title[: -len(number)].strip() if number and title.endswith(number) else title
    if author:
        face["issuer_name"] = author
    credential = _credential(info.get(CREDENTIAL_KEY))
    if credential is not None:
        face["credential"] = credential
    return face


def _credential(value: Any) -> str | None:
    """The credential text of the information dictionary's entry (None when absent or not one)."""
    if isinstance(value, generic.IndirectObject) or value is None:
        return None
    try:
        text = str(value).strip()
    except Exception:
        return None
    return text if looks_like_credential(text) and len(text) <= MAX_CREDENTIAL_CHARS else None
