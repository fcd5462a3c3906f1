"""The real type of an upload, read from its bytes (extension and declared content type are not trusted)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# PDF readers accept a header anywhere in the first 1024 bytes (PDF 32000-1, implementation note).
_PDF_WINDOW = 1024
# Some scanners and phone apps put a few bytes before the JPEG SOI; Pillow skips them as well.
_JPEG_WINDOW = 4096
_JPEG_SOI = b"\xff\xd8\xff"

ACCEPTED_KINDS = frozenset({"pdf", "jpeg", "png", "tiff"})

_MIME = {
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "tiff": "image/tiff",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "webp": "image/webp",
    "ico": "image/vnd.microsoft.icon",
    "heic": "image/heic",
    "zip": "application/zip",
    "ole": "application/x-ole-storage",
    "empty": "application/x-empty",
    "unknown": "application/octet-stream",
}


@dataclass(frozen=True)
class Sniffed:
    """What the bytes are. `offset` is where the real data starts (junk before a JPEG SOI or PDF header)."""

    kind: str
    offset: int = 0

    @property
    def mime(self) -> str:
        return _MIME[self.kind]

    @property
    def accepted(self) -> bool:
        return self.kind in ACCEPTED_KINDS

    @property
    def is_image(self) -> bool:
        return self.kind in {"jpeg", "png", "tiff"}


def _jpeg_offset(head: bytes) -> int | None:
    if head.startswith(_JPEG_SOI):
        return 0
    at = head.find(_JPEG_SOI, 0, _JPEG_WINDOW)
    # After SOI comes a marker: APPn (E0-EF), DQT (DB), SOF (C0-CF) or COM (FE).
    while at != -1:
        marker = head[at + 3 : at + 4]
        if marker and (0xC0 <= marker[0] <= 0xEF or marker[0] in (0xDB, 0xFE)):
            return at
        at = head.find(_JPEG_SOI, at + 1, _JPEG_WINDOW)
    return None


def sniff(data: bytes) -> Sniffed:
    """Identify `data` by its magic bytes."""
    if not data or not data.strip(b"\x00 \t\r\n"):
        return Sniffed("empty")
    head = data[: max(_PDF_WINDOW, _JPEG_WINDOW) + 8]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("png")
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return Sniffed("tiff")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("gif")
    if head[:2] == b"BM" and len(head) >= 14:
        return Sniffed("bmp")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("webp")
    if head[:4] == b"\x00\x00\x01\x00":
        return Sniffed("ico")
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
        return Sniffed("heic")
    if head[:4] == b"PK\x03\x04":
        return Sniffed("zip")
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return Sniffed("ole")
    pdf_at = head.find(b"%PDF-", 0, _PDF_WINDOW)
    if pdf_at != -1:
        return Sniffed("pdf", pdf_at)
    jpeg_at = _jpeg_offset(head)
    if jpeg_at is not None:
        return Sniffed("jpeg", jpeg_at)
    return Sniffed("unknown")


# An object header ("12 0 obj"), a trailer or a cross-reference table: a PDF's body.
_PDF_BODY = re.compile(rb"(?:^|\s)\d{1,10}\s+\d{1,5}\s+obj\b|(?:^|\s)trailer\s*<<|(?:^|\s)xref\s+\d+\s+\d+")


def looks_like_headless_pdf(data: bytes) -> bool:
    """A file without the %PDF- header whose first kilobyte is PDF syntax: a PDF that lost its start
    (a damaged copy, `pdf_damaged`), rather than a file of some other type."""
    head = data[:_PDF_WINDOW]
    return b"%PDF-" not in head and _PDF_BODY.search(head) is not None
