"""Hostile PDFs that aim at the PDF worker's memory: small on disk, gigabytes once decoded.

A doubly deflated stream is the classic bomb: 1 GiB of spaces deflates to ~1 MiB, and that deflated
again to ~1 KB (the outsiders' 1.3 KB file of issue 14 was one). Each builder returns the bytes; the
expensive part (compressing a gigabyte) is cached, so a test session pays it once.
"""

from __future__ import annotations

import functools
import zlib

from .hostile_files import _pdf

MiB = 1024 * 1024

CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
A4 = b"[0 0 595 842]"


@functools.cache
def double_deflated(mib: int, fill: bytes = b" ") -> bytes:
    """`mib` MiB of `fill` deflated twice: what /Filter [/FlateDecode /FlateDecode] undoes."""
    chunk = fill * MiB
    inner = zlib.compressobj(9)
    once = b"".join(inner.compress(chunk) for _ in range(mib)) + inner.flush()
    return zlib.compress(once, 9)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    head = b"<< /Length %d /Filter [/FlateDecode /FlateDecode] %s>>\nstream\n" % (len(data), extra)
    return head + data + b"\nendstream"


def content_bomb(mib: int = 1024) -> bytes:
    """One page whose content stream is ~1 KB on disk and `mib` MiB of spaces once inflated."""
    return _pdf(
        [
            CATALOG,
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox " + A4 + b" /Contents 4 0 R >>",
            _stream(double_deflated(mib)),
        ]
    )


def _image_page(image: bytes) -> bytes:
    draw = b"q 595 0 0 842 0 0 cm /Im0 Do Q"
    return _pdf(
        [
            CATALOG,
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox " + A4 + b" /Contents 4 0 R"
            b" /Resources << /XObject << /Im0 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(draw) + draw + b"\nendstream",
            image,
        ]
    )


def image_bomb(gib: int = 1) -> bytes:
    """A page drawing one greyscale image of 40,000 x 27,000 (1.08 GP) whose data, ~1 KB doubly
    deflated, really inflates to `gib` GiB of white."""
    dims = b"/Type /XObject /Subtype /Image /Width 40000 /Height 27000 /ColorSpace /DeviceGray "
    dims += b"/BitsPerComponent 8 "
    return _image_page(_stream(double_deflated(1024 * gib, b"\xff"), dims))


def image_huge_declared() -> bytes:
    """A page drawing an image that declares 100,000 x 100,000 RGB pixels (30 GB) and carries 1 KB."""
    data = zlib.compress(b"\x80" * 4096)
    image = (
        b"<< /Type /XObject /Subtype /Image /Width 100000 /Height 100000 /ColorSpace /DeviceRGB "
        b"/BitsPerComponent 8 /Length %d /Filter /FlateDecode >>\nstream\n"
        % len(data)
        + data
        + b"\nendstream"
    )
    return _image_page(image)


def image_jpeg_lying_size() -> bytes:
    """A page drawing a 100 x 100 image whose JPEG data declares 65,000 x 65,000 pixels in its own
    header: PDFium decodes at the JPEG's size (measured: 32 s and 363 MB for a blank page)."""
    from .hostile_files import jpeg_huge_header

    jpeg = jpeg_huge_header(65_000)
    image = (
        b"<< /Type /XObject /Subtype /Image /Width 100 /Height 100 /ColorSpace /DeviceRGB "
        b"/BitsPerComponent 8 /Length %d /Filter /DCTDecode >>\nstream\n" % len(jpeg) + jpeg + b"\nendstream"
    )
    return _image_page(image)


def many_pages(count: int = 5000) -> bytes:
    """`count` distinct pages (each its own object and content stream): long, not damaged."""
    pages = 3 + count  # objects: 1 catalogue, 2 page tree, 3 the shared content, 4.. the pages
    kids = b" ".join(b"%d 0 R" % n for n in range(4, pages + 1))
    text = b"BT /F1 12 Tf 72 720 Td (page) Tj ET"
    objects = [
        CATALOG,
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
    ]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox " + A4 + b" /Contents 3 0 R >>"] * count
    return _pdf(objects)


def pages_of_bombs(pages: int = 20, mib: int = 256) -> bytes:
    """`pages` pages, each with its own content stream that inflates to `mib` MiB (the per-file sum
    is what a per-stream cap alone would let through)."""
    bomb = _stream(double_deflated(mib))
    first_stream = 3 + pages
    kids = b" ".join(b"%d 0 R" % n for n in range(3, 3 + pages))
    objects = [CATALOG, b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages]
    objects += [
        b"<< /Type /Page /Parent 2 0 R /MediaBox " + A4 + b" /Contents %d 0 R >>" % (first_stream + n)
        for n in range(pages)
    ]
    objects += [bomb] * pages
    return _pdf(objects)


BOMBS = {
    "content stream deflate bomb (1 GiB)": content_bomb,
    "image XObject deflate bomb (1 GiB, 1.08 GP)": image_bomb,
    "image declaring 100,000 x 100,000 px": image_huge_declared,
    "100 x 100 image whose JPEG declares 65,000 x 65,000": image_jpeg_lying_size,
    "5,000 distinct pages": many_pages,
    "20 pages x 256 MiB content": pages_of_bombs,
}
