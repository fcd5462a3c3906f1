"""Page previews for the reviewer's desk: JPEGs of the upright pages, in the frame the field boxes use.

An OCR'd page's preview is the image OCR read (turned upright and straightened by orientation.py), so
a field's box, a fraction of that frame, lands on its text. Pages read from a PDF's text layer have no
such image: they are rendered from the normalised PDF in the PDF sandbox (the file is still the
applicant's), never in the function's own process.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import numpy as np

from onestop.observability import logger

from .limits import Deadline, Limits

MAX_PREVIEW_PAGES = 10
MAX_SIDE = 1600
JPEG_QUALITY = 80


def _jpeg(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def preview_jpeg(rgb: np.ndarray) -> bytes:
    """The page as a JPEG whose longer side is at most 1600 px (never enlarged).

    OpenCV, bilinear: a 200 dpi A4 page shrinks by ~0.7, where bilinear is sharp enough to read and
    costs ~12 ms against ~140 ms for Pillow's Lanczos with an optimised JPEG (bench_orientation).
    """
    import cv2

    height, width = rgb.shape[:2]
    image = np.ascontiguousarray(rgb)
    if max(height, width) > MAX_SIDE:
        factor = MAX_SIDE / max(height, width)
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    ok, encoded = cv2.imencode(".jpg", image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return encoded.tobytes()


def render_job(pdf: bytes, indexes: list[int]) -> dict[int, bytes]:
    """In the sandbox: render the given pages, as displayed (/Rotate applied), longer side <= 1600 px."""
    import pypdfium2

    out: dict[int, bytes] = {}
    doc = pypdfium2.PdfDocument(pdf)
    try:
        for index in indexes:
            if index >= len(doc):
                continue
            page = doc[index]
            width_pt, height_pt = page.get_size()
            scale = min(200 / 72.0, MAX_SIDE / max(1.0, width_pt, height_pt))
            if width_pt * scale < 1 or height_pt * scale < 1:
                continue
            out[index] = _jpeg(page.render(scale=scale, may_draw_forms=True).to_pil().convert("RGB"))
    finally:
        doc.close()
    return out


def render_previews(
    pdf: bytes, indexes: Iterable[int], limits: Limits, deadline: Deadline | None = None
) -> dict[int, bytes]:
    """Previews of the given pages of a normalised PDF; pages that fail are left out (never raises)."""
    from onestop.sandbox import SandboxError

    from .pdftext import _sandbox

    wanted = sorted(i for i in indexes if i < MAX_PREVIEW_PAGES)
    if not wanted:
        return {}
    timeout = limits.pdf_worker_timeout_s
    if deadline is not None:
        timeout = max(1.0, min(timeout, deadline.remaining))
    try:
        return _sandbox(limits.pdf_worker_memory_bytes).run(render_job, (pdf, wanted), timeout)
    except SandboxError as exc:  # a preview is a convenience; the material stands without it
        logger.warning("page previews not rendered", extra={"error": repr(exc)})
        return {}
