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
    # The risky PDF parsing runs in a forked worker with these bounds (hang / memory bombs); the memory
    # is address space the worker may add to what it inherited from the function.
    pdf_worker_timeout_s: float = 60.0
    pdf_worker_memory_bytes: int = 1536 * MiB


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
