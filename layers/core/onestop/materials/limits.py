"""Limits that keep one hostile or oversized upload from taking the ingest function down."""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Per-file bounds; defaults fit a 3 GB / 2 vCPU ingest function (measured, see bench/bench_ocr.py)."""

    max_bytes: int = 20 * MiB
    max_pages: int = 50
    # Decoded image pixels (width x height). 50 MP covers an A4 scan at 600 dpi (35 MP) with margin;
    # a larger image is treated as a decompression bomb.
    max_pixels: int = 50_000_000
    # Pages OCR'd per file: a 50-page scan at ~1.5 s a page would blow the time budget.
    max_ocr_pages: int = 20
    # Rasterising a PDF page for OCR: dpi, and a pixel cap for pages with huge media boxes.
    render_dpi: int = 200
    max_render_pixels: int = 12_000_000
    # Wall-clock budget for one file; checked between steps.
    time_budget_s: float = 240.0
    # The risky PDF parsing runs in a worker process (a fresh interpreter, ~60 MB mapped at start) with
    # these bounds (hang / memory bombs). The memory is its whole address space, so its resident memory
    # never passes it (issue 14: a 1.3 KB deflate bomb took the old worker to 1.6-1.85 GB resident).
    # Peak resident per hostile file: bench/bench_pdf_hostile.py.
    pdf_worker_timeout_s: float = 60.0
    pdf_worker_memory_bytes: int = 512 * MiB
    # Decoded bytes of one PDF stream (page content, form, font, colour profile) and of one page's
    # content: real pages need a few MB (a full embedded CJK font ~20 MB); a bomb stops here, checked
    # before PDFium, which decodes without a limit, ever sees the page. Images are bounded by
    # `max_pixels` from their declared size instead.
    pdf_max_stream_bytes: int = 32 * MiB
    # ... and of all such streams of one file together (many pages each just under the cap).
    pdf_max_decoded_bytes: int = 128 * MiB


DEFAULT_LIMITS = Limits()


class Deadline:
    """The processing-time budget of one file."""

    def __init__(self, budget_s: float) -> None:
        self._start = time.monotonic()
        self.budget_s = budget_s

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._start

    @property
    def remaining(self) -> float:
        return self.budget_s - self.elapsed

    @property
    def expired(self) -> bool:
        return self.remaining <= 0


# PIL.Image.MAX_IMAGE_PIXELS is process-global; the lock keeps two threads from racing on it.
_PIXELS_LOCK = threading.RLock()


@contextmanager
def pixel_limit(max_pixels: int) -> Iterator[None]:
    """Open images under `max_pixels`: Pillow's bomb warning becomes an error at the limit itself.

    Pillow warns above MAX_IMAGE_PIXELS and raises only above twice that; we refuse at the limit.
    """
    with _PIXELS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = previous
