"""Hostile uploads made at run time: cheap to build, expensive to handle naively.

Each generator returns the bytes and what the portal would have declared (filename, content type).
Nothing here is large on disk: a 10,000-page PDF shares one page object, a decompression bomb is a
PNG header that declares a huge canvas, a zip bomb is megabytes of zeros deflated to kilobytes.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from infra import samples


@dataclass(frozen=True)
class Hostile:
    """One generated upload and the outcome the ingest function must reach."""

    name: str
    data: bytes
    filename: str
    content_type: str
    status: str  # the material status the ingest must end in
    reason: str  # its reason code
    verify_status: int  # what POST /verify answers (200 = a report, which must say "not valid")


def _pdf(objects: list[bytes], root: int = 1, tail: bytes = b"") -> bytes:
    """A PDF with a correct xref table from numbered object bodies (object n = objects[n-1])."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref)
    )
    return out.getvalue() + tail


def pdf_shared_pages(count: int) -> bytes:
    """`count` pages that are all the same page object: a 10,000-page PDF in ~70 KB."""
    kids = b" ".join([b"3 0 R"] * count)
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        ]
    )


def pdf_deep_page_tree(depth: int) -> bytes:
    """A page tree `depth` levels deep (recursion in naive page walkers)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(depth):
        number = level + 2
        objects.append(b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % (number + 1))
    objects.append(b"<< /Type /Page /MediaBox [0 0 595 842] >>")
    return _pdf(objects)


def pdf_zlib_bomb(inflated_mib: int) -> bytes:
    """A page whose content inflates to `inflated_mib` MiB of spaces: one 64 MiB stream, used repeatedly."""
    chunk = b" " * (1024 * 1024)
    compressor = zlib.compressobj(9)
    stream = b"".join(compressor.compress(chunk) for _ in range(64)) + compressor.flush()
    contents = b" ".join([b"4 0 R"] * max(1, inflated_mib // 64))
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents [" + contents + b"] >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        ]
    )


def pdf_huge_mediabox() -> bytes:
    """One page of 200 x 200 inches (the PDF maximum) with nothing on it: rasterising it naively is 28 GP."""
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] >>",
        ]
    )


def pdf_with_javascript() -> bytes:
    """A born-digital document with an /OpenAction JavaScript: the normalised copy must not keep it."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.actions import JavaScript

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(samples.application_form_pdf("技术进出口合同登记"))))
    writer.add_open_action(JavaScript("app.alert('hello');"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    )


def png_huge_header(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG whose header declares width x height RGB pixels, followed by a few bytes of data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" + b"\xff" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def png_real_bomb(side: int = 10_000) -> bytes:
    """A complete, valid white PNG of side x side greyscale pixels (100 MP) in ~100 KB."""
    row = b"\x00" + b"\xff" * side
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def jpeg_huge_header(side: int = 65_000) -> bytes:
    """A real 16 x 16 baseline JPEG whose frame header (SOF0) is patched to declare side x side pixels."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (16, 16), (255, 255, 255)).save(out, format="JPEG")
    data = bytearray(out.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", side, side)  # after marker, length and precision
    return bytes(data)


def zip_nested(levels: int = 12) -> bytes:
    """A zip inside a zip inside a zip ..., with a PDF at the bottom."""
    data = samples.site_certificate_pdf("深圳市前海星河技术有限公司")
    name = "inner.pdf"
    for level in range(levels):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(name, data)
        data, name = out.getvalue(), f"level{level}.zip"
    return data


def zip_bomb(mib: int = 256) -> bytes:
    """One member of `mib` MiB of zeros, deflated to about 0.1% of that."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("zeros.pdf", "w", force_zip64=True) as member,
    ):
        block = b"\x00" * (1024 * 1024)
        for _ in range(mib):
            member.write(block)
    return out.getvalue()


def pdf_then_zip() -> bytes:
    """Polyglot: a valid born-digital PDF with a ZIP archive appended (both readers accept it)."""
    return samples.site_certificate_pdf("深圳市前海星河技术有限公司") + zip_nested(1)


def jpeg_with_pdf_inside() -> bytes:
    """Polyglot: a JPEG whose comment segment carries a PDF header in its first kilobyte."""
    from PIL import Image

    image = io.BytesIO()
    Image.new("RGB", (64, 64), (255, 255, 255)).save(image, format="JPEG")
    jpeg = image.getvalue()
    pdf = samples.site_certificate_pdf("深圳市前海星河技术有限公司")
    comment = pdf[:60000]
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return jpeg[:2] + segment + jpeg[2:]


def html_as_pdf() -> bytes:
    script = b"<script>alert(1)</script>"
    return b"<!doctype html><html><body>" + script + "营业执照".encode() + b"</body></html>"


def elf_as_pdf() -> bytes:
    return b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x02\x00\x3e\x00" + b"\x00" * 200


def gif_document() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("P", (32, 32)).save(out, format="GIF")
    return out.getvalue()


def _case(
    name: str,
    make: Callable[[], bytes],
    filename: str,
    content_type: str,
    status: str,
    reason: str,
    verify_status: int,
) -> Callable[[], Hostile]:
    return lambda: Hostile(name, make(), filename, content_type, status, reason, verify_status)


REJECTED, CATALOGUED = "rejected", "catalogued"

# name, bytes, declared filename and type, expected material status and reason ("*": any definite one,
# asserted to be a known status with a zh + en reason), expected HTTP status of POST /verify.
_SPECS: list[tuple[str, Callable[[], bytes], str, str, str, str, int]] = [
    ("zero_bytes", lambda: b"", "scan.pdf", "application/pdf", REJECTED, "file_empty", 422),
    (
        "whitespace_only",
        lambda: b" \r\n\t\x00 \n",
        "scan.pdf",
        "application/pdf",
        REJECTED,
        "file_empty",
        422,
    ),
    ("zip_nested_12_levels", zip_nested, "licence.pdf", "application/pdf", REJECTED, "unsupported_type", 422),
    ("zip_bomb_256mib", zip_bomb, "licence.pdf", "application/pdf", REJECTED, "unsupported_type", 422),
    (
        "pdf_10000_shared_pages",
        lambda: pdf_shared_pages(10_000),
        "a.pdf",
        "application/pdf",
        REJECTED,
        "pdf_damaged",  # one page object under 10,000 kids: a page has one parent; damaged, not long
        200,
    ),
    (
        "pdf_page_tree_depth_5000",
        lambda: pdf_deep_page_tree(5000),
        "a.pdf",
        "application/pdf",
        REJECTED,
        "*",
        200,
    ),
    ("pdf_zlib_bomb_1gib", lambda: pdf_zlib_bomb(1024), "a.pdf", "application/pdf", REJECTED, "*", 200),
    (
        "pdf_huge_mediabox_blank",
        pdf_huge_mediabox,
        "a.pdf",
        "application/pdf",
        REJECTED,
        "not_a_document",
        200,
    ),
    ("pdf_open_action_javascript", pdf_with_javascript, "form.pdf", "application/pdf", CATALOGUED, "*", 200),
    ("png_header_100000x100000", png_huge_header, "id.png", "image/png", REJECTED, "image_too_large", 422),
    ("png_valid_10000x10000_white", png_real_bomb, "id.png", "image/png", REJECTED, "image_too_large", 422),
    ("jpeg_header_65000x65000", jpeg_huge_header, "id.jpg", "image/jpeg", REJECTED, "image_too_large", 422),
    # Both polyglots are read as the PDF they carry (a PDF header may sit anywhere in the first KB).
    ("polyglot_pdf_then_zip", pdf_then_zip, "cert.pdf", "application/pdf", CATALOGUED, "*", 200),
    ("polyglot_jpeg_with_pdf_header", jpeg_with_pdf_inside, "photo.jpg", "image/jpeg", CATALOGUED, "*", 200),
    ("html_named_pdf", html_as_pdf, "licence.pdf", "application/pdf", REJECTED, "unsupported_type", 422),
    ("elf_named_pdf", elf_as_pdf, "licence.pdf", "application/pdf", REJECTED, "unsupported_type", 422),
    ("gif_named_png", gif_document, "licence.png", "image/png", REJECTED, "unsupported_type", 422),
    (
        "pdf_named_jpg",
        lambda: samples.site_certificate_pdf("深圳市前海星河技术有限公司"),
        "photo.jpg",
        "image/jpeg",
        CATALOGUED,
        "*",
        200,
    ),
    ("png_named_pdf", lambda: samples.id_card_png(), "scan.pdf", "application/pdf", CATALOGUED, "*", 422),
]
GENERATED: dict[str, Callable[[], Hostile]] = {spec[0]: _case(*spec) for spec in _SPECS}
