"""Real type from bytes: extension and declared content type are never trusted."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from onestop.materials.sniff import sniff
from PIL import Image


def _image_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "kind", "accepted"),
    [
        ("JPEG", "jpeg", True),
        ("PNG", "png", True),
        ("TIFF", "tiff", True),
        ("PDF", "pdf", True),
        ("GIF", "gif", False),
        ("BMP", "bmp", False),
        ("WEBP", "webp", False),
        ("ICO", "ico", False),
    ],
)
def test_formats_by_magic_bytes(fmt: str, kind: str, accepted: bool) -> None:
    result = sniff(_image_bytes(fmt))
    assert result.kind == kind
    assert result.accepted is accepted


def test_junk_before_jpeg_soi_is_still_jpeg() -> None:
    data = b"\x00garbage from a scanner\x00" + _image_bytes("JPEG")
    result = sniff(data)
    assert (result.kind, result.offset) == ("jpeg", 24)
    assert data[result.offset : result.offset + 3] == b"\xff\xd8\xff"


def test_pdf_header_after_leading_bytes() -> None:
    assert sniff(b"\r\n\xef\xbb\xbf%PDF-1.7\n...").kind == "pdf"


def test_empty_and_unknown() -> None:
    assert sniff(b"").kind == "empty"
    assert sniff(b"\x00\x00  \n").kind == "empty"
    assert sniff(b"PK\x03\x04zip").kind == "zip"
    assert not sniff(b"hello, world").accepted


def test_corpus_extension_is_not_trusted(corpus: Path) -> None:
    # MANIFEST: invoice_vat_machine_photo_is_jpeg.png (guanshuicheng/invoice, MIT) is a JPEG named .png.
    data = (corpus / "01_ocr_images" / "invoice_vat_machine_photo_is_jpeg.png").read_bytes()
    assert sniff(data).kind == "jpeg"
    # qpdf_bad1.pdf (qpdf, Apache-2.0) is the 5 bytes "oops" named .pdf; issue-147 has no header.
    assert sniff((corpus / "02_pdfs/malformed/qpdf_bad1.pdf").read_bytes()).kind == "unknown"
    assert sniff((corpus / "02_pdfs/malformed/qpdf_issue-147.pdf").read_bytes()).kind == "unknown"
    # Pillow's junk_jpeg_header.jpg (MIT-CMU) opens in Pillow; the sniffer must accept it too.
    assert sniff((corpus / "04_tricky_images/pillow_junk_jpeg_header.jpg").read_bytes()).kind == "jpeg"
