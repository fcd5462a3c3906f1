"""Memory bombs against the ingest PDF worker (issue 14 item 6): each is refused with a definite code,
early, by a worker whose address space is capped at 512 MiB in all.

The peak resident memory of the worker on each of these files is measured by `python -m
bench.bench_pdf_hostile` (docs/benchmarks.md); here: the cap is what it says, and every bomb ends in
the rejection it should, quickly, with the cap in force.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from onestop.materials import pdftext
from onestop.materials.limits import DEFAULT_LIMITS, Limits, MiB
from onestop.materials.pdftext import PdfRejected, analyse_pdf

from tests.materials_specimens import text_pdf_bytes
from tests.robustness import hostile_pdfs as H

pytestmark = pytest.mark.timeout(120)

LIMITS = Limits()


def test_the_worker_may_use_at_most_512_mib_in_all() -> None:
    assert DEFAULT_LIMITS.pdf_worker_memory_bytes <= 512 * MiB
    # Decoding caps well below the memory cap: a bomb stops at the cap of one stream, not at the wall.
    assert DEFAULT_LIMITS.pdf_max_stream_bytes * 4 <= DEFAULT_LIMITS.pdf_worker_memory_bytes


def _worker_address_space_limit() -> int:
    """RLIMIT_AS of the running shared ingest worker, read from /proc (what the kernel enforces)."""
    sandbox = pdftext._sandbox(LIMITS.pdf_worker_memory_bytes)
    pid = sandbox.pid
    assert pid is not None
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max address space"):
            return int(line.split()[3])
    raise AssertionError("no address-space limit line")


@pytest.mark.parametrize(
    ("make", "code", "detail"),
    [
        (H.content_bomb, "pdf_too_complex", "Limit reached"),
        (H.pages_of_bombs, "pdf_too_complex", "Limit reached"),
        (H.image_bomb, "pdf_too_complex", "40000 x 27000"),
        (H.image_huge_declared, "pdf_too_complex", "100000 x 100000"),
        (H.image_jpeg_lying_size, "pdf_too_complex", "JPEG declares 65000 x 65000"),
        (H.many_pages, "pdf_too_many_pages", None),
    ],
    ids=[
        "content-deflate-bomb",
        "20-pages-of-bombs",
        "image-deflate-bomb",
        "image-huge-dims",
        "jpeg-lying-about-its-size",
        "5000-pages",
    ],
)
def test_a_bomb_is_refused_early_with_the_cap_in_force(
    make: Callable[[], bytes], code: str, detail: str | None
) -> None:
    data = make()
    started = time.monotonic()
    with pytest.raises(PdfRejected) as info:
        analyse_pdf(data, LIMITS)
    elapsed = time.monotonic() - started
    assert info.value.reason.code == code, info.value.details
    if detail is not None:
        assert any(detail in d for d in info.value.details), info.value.details
    # Refused by the decoding caps, not by running into the wall: seconds, not the 60 s deadline.
    assert elapsed < 10, elapsed
    # The same worker (or its replacement) runs under the cap, and the next file is read normally.
    assert analyse_pdf(text_pdf_bytes(["营业执照", "统一社会信用代码 91440300MA5G7Q2K0X"]), LIMITS).pages == 1
    assert _worker_address_space_limit() <= 512 * MiB


def test_a_stream_just_under_the_cap_is_read() -> None:
    """The caps refuse bombs, not large honest pages: 8 MiB of page content (spaces) is read."""
    analysis = analyse_pdf(H.content_bomb(8), LIMITS)
    assert analysis.pages == 1
    assert analysis.page_real == (False,)  # blank: rendered for OCR, which finds nothing


def test_the_worker_does_not_inherit_the_function_s_memory() -> None:
    """A fresh interpreter, not a fork of the (OCR-laden) function: its resident set starts small."""
    sandbox = pdftext._sandbox(LIMITS.pdf_worker_memory_bytes)
    analyse_pdf(text_pdf_bytes(["营业执照"]), LIMITS)
    pid = sandbox.pid
    assert pid is not None
    status = Path(f"/proc/{pid}/status").read_text()
    resident_kib = int(next(x for x in status.splitlines() if x.startswith("VmRSS")).split()[1])
    assert resident_kib < 160 * 1024, resident_kib


def test_the_worker_gets_none_of_the_function_s_secrets() -> None:
    """The worker parses hostile bytes: it is given no AWS credentials (the tests set dummy ones)."""
    import os

    assert os.environ.get("AWS_SECRET_ACCESS_KEY")
    sandbox = pdftext._sandbox(LIMITS.pdf_worker_memory_bytes)
    analyse_pdf(text_pdf_bytes(["营业执照"]), LIMITS)
    pid = sandbox.pid
    assert pid is not None
    names = {
        item.split(b"=", 1)[0] for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") if item
    }
    assert not {n for n in names if n.startswith(b"AWS_")}, names
