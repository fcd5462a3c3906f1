"""OCR engines behind one protocol: RapidOCR (default) and PaddleOCR (optional), both PP-OCR on onnxruntime.

Engines are heavy (model sessions); `get_rapid_engine()` builds one per process and reuses it across
warm invocations. Nothing here downloads anything: the RapidOCR wheel bundles its ONNX models and
the PaddleOCR engine takes local model directories.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

Point = tuple[float, float]
Box = tuple[Point, Point, Point, Point]


@dataclass(frozen=True)
class OcrLine:
    """One recognised text line. `box` runs clockwise from the text's own top-left corner, in pixels
    of the image that was passed in (so an upside-down line has its first point bottom-right)."""

    text: str
    box: Box
    confidence: float


@runtime_checkable
class OcrEngine(Protocol):
    """Recognises text lines in an RGB image (H x W x 3, uint8) and returns them in reading order."""

    name: str

    def recognise(self, image: np.ndarray) -> list[OcrLine]: ...

    def versions(self) -> dict[str, str]:
        """Engine, runtime and model identities for the manifest."""
        ...


# --- reading order ---------------------------------------------------------------------------------


def _upright(box: Box, width: int, height: int, upside_down: bool) -> Box:
    if not upside_down:
        return box
    p0, p1, p2, p3 = box
    flip = lambda p: (width - 1 - p[0], height - 1 - p[1])  # noqa: E731
    return (flip(p0), flip(p1), flip(p2), flip(p3))


def reading_order(
    lines: Sequence[OcrLine], width: int, height: int, upside_down: bool = False
) -> list[OcrLine]:
    """Rows top to bottom, left to right inside a row, judged in the page's upright frame.

    Two lines share a row when their vertical centres are closer than half a typical line height,
    which tolerates a few degrees of skew.
    """
    if not lines:
        return []
    boxes = [_upright(line.box, width, height, upside_down) for line in lines]
    # Undo the page's skew (median baseline angle of the wider lines) before grouping into rows.
    angles = sorted(
        math.atan2(b[1][1] - b[0][1], b[1][0] - b[0][0])
        for b in boxes
        if math.dist(b[0], b[1]) > 2 * max(1.0, math.dist(b[0], b[3]))
    )
    angle = angles[len(angles) // 2] if angles else 0.0
    if abs(angle) > math.radians(20):  # not a skew: vertical text or a mis-read box
        angle = 0.0
    cos_a, sin_a = math.cos(-angle), math.sin(-angle)
    keyed = []
    for line, box in zip(lines, boxes, strict=True):
        pts = [(x * cos_a - y * sin_a, x * sin_a + y * cos_a) for x, y in box]
        ys = [p[1] for p in pts]
        xs = [p[0] for p in pts]
        keyed.append(((min(ys) + max(ys)) / 2, max(ys) - min(ys), min(xs), line))
    heights = sorted(k[1] for k in keyed)
    tolerance = max(4.0, heights[len(heights) // 2] * 0.5)
    keyed.sort(key=lambda k: k[0])
    rows: list[list[tuple[float, float, float, OcrLine]]] = []
    for item in keyed:
        if rows and abs(item[0] - rows[-1][0][0]) <= tolerance:
            rows[-1].append(item)
        else:
            rows.append([item])
    return [item[3] for row in rows for item in sorted(row, key=lambda k: k[2])]


def _as_box(points: Any) -> Box:
    pts = [(float(p[0]), float(p[1])) for p in points]
    return (pts[0], pts[1], pts[2], pts[3])


# --- RapidOCR ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RapidOcrSettings:
    """Tuned by bench/bench_ocr.py on a 2-vCPU machine (see docs/benchmarks.md).

    The detector sees the page with its longer side capped at `det_limit_side_len` ("max"); images
    whose longer side is under `upscale_below` are first enlarged to `upscale_to` so that small
    photos and screenshots keep legible strokes. Recognition reads crops of the page capped at
    `max_side_len`, so capping the detector's input costs little accuracy.
    """

    intra_op_threads: int = 0  # 0 = one per available CPU
    det_limit_side_len: int = 1280
    det_limit_type: str = "max"
    max_side_len: int = 2000
    upscale_below: int = 800
    upscale_to: int = 960
    text_score: float = 0.5
    # Lines whose mean score is below this are retried with the page turned 180 degrees.
    rotate_retry_below: float = 0.75


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class RapidOcrEngine:
    """PP-OCR det + cls + rec through RapidOCR and onnxruntime, with the models its wheel bundles."""

    name = "rapidocr"

    def __init__(self, settings: RapidOcrSettings | None = None) -> None:
        from rapidocr import RapidOCR  # heavy: onnxruntime + OpenCV

        self.settings = settings or RapidOcrSettings()
        threads = self.settings.intra_op_threads or _cpu_count()
        import rapidocr

        self._model_dir = Path(rapidocr.__file__).parent / "models"
        models = self._bundled_models()
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.text_score": self.settings.text_score,
            "Global.max_side_len": self.settings.max_side_len,
            "Det.limit_side_len": self.settings.det_limit_side_len,
            "Det.limit_type": self.settings.det_limit_type,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            # Explicit paths: RapidOCR would otherwise resolve (and maybe download) models by name.
            "Det.model_path": str(models["det"]),
            "Cls.model_path": str(models["cls"]),
            "Rec.model_path": str(models["rec"]),
        }
        self._ocr = RapidOCR(params=params)
        self._lock = threading.Lock()
        self._versions: dict[str, str] | None = None

    def _bundled_models(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for path in sorted(self._model_dir.glob("*.onnx")):
            stem = path.stem.lower()
            for task in ("det", "rec", "cls"):
                if f"_{task}" in stem and task not in found:
                    found[task] = path
        missing = {"det", "rec", "cls"} - set(found)
        if missing:
            raise RuntimeError(
                f"rapidocr wheel has no bundled {sorted(missing)} model in {self._model_dir}; "
                "install a rapidocr wheel that ships its models (no download at run time)"
            )
        return found

    def versions(self) -> dict[str, str]:
        if self._versions is None:
            import onnxruntime

            out = {
                "engine": "rapidocr",
                "rapidocr": importlib.metadata.version("rapidocr"),
                "onnxruntime": onnxruntime.__version__,
            }
            for task, path in self._bundled_models().items():
                out[f"{task}_model"] = f"{path.name} sha256:{_file_digest(path)[:16]}"
            self._versions = out
        return dict(self._versions)

    def _run(self, bgr: np.ndarray, use_det: bool = True) -> tuple[list[OcrLine], list[tuple[str, float]]]:
        """One pass; returns the lines (unordered) and the classifier's per-box (label, score)."""
        ocr = self._ocr
        with self._lock:  # RapidOCR keeps per-call state on the instance
            ocr.update_params(use_det=use_det, use_cls=True, use_rec=True)
            img, op_record = ocr.preprocess_img(bgr)
            det, cls, rec, crops = ocr.run_ocr_steps(img, op_record)
            out = ocr.build_final_output(bgr, det, cls, rec, crops, op_record)
            ocr.update_params(use_det=True)
        labels = list(getattr(cls, "cls_res", None) or [])
        txts = getattr(out, "txts", None)
        scores = getattr(out, "scores", None)
        if not txts or scores is None:
            return [], labels
        boxes = getattr(out, "boxes", None)
        lines = []
        height, width = bgr.shape[:2]
        whole: Box = ((0.0, 0.0), (width - 1.0, 0.0), (width - 1.0, height - 1.0), (0.0, height - 1.0))
        for i, (text, score) in enumerate(zip(txts, scores, strict=True)):
            if not text.strip():
                continue
            box = _as_box(boxes[i]) if boxes is not None and len(boxes) > i else whole
            lines.append(OcrLine(text=text.strip(), box=box, confidence=float(score)))
        return lines, labels

    def _run_scaled(self, bgr: np.ndarray) -> tuple[list[OcrLine], list[tuple[str, float]]]:
        height, width = bgr.shape[:2]
        longer = max(height, width)
        if longer >= self.settings.upscale_below or _line_shaped(width, height):
            return self._run(bgr)
        import cv2

        factor = self.settings.upscale_to / longer
        big = cv2.resize(bgr, (round(width * factor), round(height * factor)), interpolation=cv2.INTER_CUBIC)
        lines, labels = self._run(big)
        shrink = lambda p: (p[0] / factor, p[1] / factor)  # noqa: E731
        return [
            OcrLine(
                ln.text,
                (shrink(ln.box[0]), shrink(ln.box[1]), shrink(ln.box[2]), shrink(ln.box[3])),
                ln.confidence,
            )
            for ln in lines
        ], labels

    def recognise(self, image: np.ndarray) -> list[OcrLine]:
        rgb = _as_rgb(image)
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        height, width = bgr.shape[:2]
        lines, labels = self._run_scaled(bgr)
        if not lines and _line_shaped(width, height):
            # A single cropped text line gives the detector too little context; read it whole.
            lines, labels = self._run(bgr, use_det=False)
            lines = [line for line in lines if line.confidence >= 0.8]
            return lines
        upside_down = _mostly_upside_down(labels)
        if upside_down:
            # Detector boxes run from the image's top-left; make them start at the text's top-left.
            lines = [
                OcrLine(ln.text, (ln.box[2], ln.box[3], ln.box[0], ln.box[1]), ln.confidence) for ln in lines
            ]
        if lines and _mean_confidence(lines) < self.settings.rotate_retry_below:
            # Low confidence: maybe the classifier misjudged a turned page; try it turned round.
            turned = np.ascontiguousarray(bgr[::-1, ::-1])
            turned_lines, _ = self._run_scaled(turned)
            if _mean_confidence(turned_lines) > _mean_confidence(lines) + 0.05:
                lines = [
                    OcrLine(line.text, _upright(line.box, width, height, True), line.confidence)
                    for line in turned_lines
                ]
                upside_down = True
        return reading_order(lines, width, height, upside_down)


def _mean_confidence(lines: Sequence[OcrLine]) -> float:
    if not lines:
        return 0.0
    weight = sum(max(1, len(line.text)) for line in lines)
    return sum(line.confidence * max(1, len(line.text)) for line in lines) / weight


def _mostly_upside_down(labels: Sequence[tuple[str, float]]) -> bool:
    """The text-line classifier votes per line; the page is upside down when most lines say 180."""
    if not labels:
        return False
    turned = sum(score for label, score in labels if "180" in str(label))
    upright = sum(score for label, score in labels if "180" not in str(label))
    return turned > upright


def _line_shaped(width: int, height: int) -> bool:
    return height <= 96 and width >= 2 * height


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return np.stack([image] * 3, axis=-1)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    raise ValueError(f"expected an RGB image (H x W x 3), got shape {image.shape}")


_RAPID: RapidOcrEngine | None = None
_RAPID_LOCK = threading.Lock()


def get_rapid_engine() -> RapidOcrEngine:
    """The process-wide RapidOCR engine, built on first use (model sessions load once per container)."""
    global _RAPID
    if _RAPID is None:
        with _RAPID_LOCK:
            if _RAPID is None:
                _RAPID = RapidOcrEngine()
    return _RAPID


# --- PaddleOCR (optional) ---------------------------------------------------------------------------


def paddleocr_available() -> bool:
    """True when the optional `paddleocr` package is installed."""
    try:
        importlib.metadata.version("paddleocr")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@dataclass(frozen=True)
class PaddleModelDirs:
    """Local PP-OCR model directories, each holding inference.onnx + inference.yml.

    A name left as None is read from the directory's inference.yml (Global.model_name); paddlex
    refuses a directory whose yml names another model. `python -m infra.paddle_models DEST` builds
    these directories from the models the rapidocr wheel bundles.
    """

    det: Path
    rec: Path
    cls: Path | None = None
    det_name: str | None = None
    rec_name: str | None = None
    cls_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PaddleOcrSettings:
    """The RapidOCR engine's detector cap, score floor and threads, so both engines see a page alike.

    paddleocr's own defaults (shorter side >= 64, longer side <= 4000) ran the A4 licence at full
    size: 3.0 s against 2.0 s with the longer side capped at 1280, with the same text.
    """

    intra_op_threads: int = 0  # 0 = one per available CPU
    det_limit_side_len: int = 1280
    det_limit_type: str = "max"
    text_score: float = 0.5


def _yml_model_name(directory: Path) -> str:
    import yaml

    with (Path(directory) / "inference.yml").open(encoding="utf-8") as handle:
        return str(yaml.safe_load(handle)["Global"]["model_name"])


class PaddleOcrEngine:
    """`paddleocr` 3.x with `engine="onnxruntime"` on local model directories (optional extra).

    Needs paddleocr + onnxruntime, not paddlepaddle. Every model comes from a local directory, so
    paddlex never looks for (or downloads) an official model.
    """

    name = "paddleocr"

    def __init__(self, models: PaddleModelDirs, settings: PaddleOcrSettings | None = None) -> None:
        if not paddleocr_available():
            raise RuntimeError("paddleocr is not installed (optional extra); use RapidOcrEngine")
        dirs = {"det": models.det, "rec": models.rec, **({"cls": models.cls} if models.cls else {})}
        for path in dirs.values():
            if not (Path(path) / "inference.onnx").is_file() or not (Path(path) / "inference.yml").is_file():
                raise FileNotFoundError(f"{path} needs inference.onnx and inference.yml")
        given = {"det": models.det_name, "rec": models.rec_name, "cls": models.cls_name}
        self._names = {task: given[task] or _yml_model_name(path) for task, path in dirs.items()}
        self._paths = {task: Path(path) / "inference.onnx" for task, path in dirs.items()}
        self.settings = settings or PaddleOcrSettings()
        from paddleocr import PaddleOCR  # heavy: paddlex, OpenCV, onnxruntime

        kwargs: dict[str, Any] = {
            "engine": "onnxruntime",
            "engine_config": {
                "intra_op_num_threads": self.settings.intra_op_threads or _cpu_count(),
                "inter_op_num_threads": 1,
            },
            "text_detection_model_dir": str(models.det),
            "text_detection_model_name": self._names["det"],
            "text_recognition_model_dir": str(models.rec),
            "text_recognition_model_name": self._names["rec"],
            "text_det_limit_side_len": self.settings.det_limit_side_len,
            "text_det_limit_type": self.settings.det_limit_type,
            # Keep every line: paddlex's own score filter drops rec_* entries but not the per-line
            # orientation angles, which then no longer line up; recognise() filters instead.
            "text_rec_score_thresh": 0.0,
            # These two would fetch official models: no local directory is configured for them.
            "use_doc_orientation_classify": False,
            "use_doc_unwarping": False,
            "use_textline_orientation": models.cls is not None,
        }
        if models.cls is not None:
            kwargs["textline_orientation_model_dir"] = str(models.cls)
            kwargs["textline_orientation_model_name"] = self._names["cls"]
        kwargs.update(models.extra)
        self._ocr = PaddleOCR(**kwargs)
        self._lock = threading.Lock()
        self._versions: dict[str, str] | None = None

    def versions(self) -> dict[str, str]:
        if self._versions is None:
            import onnxruntime

            out = {
                "engine": "paddleocr",
                "paddleocr": importlib.metadata.version("paddleocr"),
                "paddlex": importlib.metadata.version("paddlex"),
                "onnxruntime": onnxruntime.__version__,
            }
            for task, path in self._paths.items():
                out[f"{task}_model"] = f"{self._names[task]} sha256:{_file_digest(path)[:16]}"
            self._versions = out
        return dict(self._versions)

    def recognise(self, image: np.ndarray) -> list[OcrLine]:
        rgb = _as_rgb(image)
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        with self._lock:  # one pipeline, one onnxruntime session per model: serialise callers
            results = list(self._ocr.predict(bgr))
        lines: list[OcrLine] = []
        turned = upright = 0
        for result in results:
            data = result.json.get("res", result.json)
            texts = data.get("rec_texts") or []
            scores = data.get("rec_scores") or []
            polys = data.get("rec_polys") or []
            # Per line: 1 = the classifier read it as turned 180 degrees (-1 when it did not run).
            angles = data.get("textline_orientation_angles") or []
            for i, (text, score, poly) in enumerate(zip(texts, scores, polys, strict=True)):
                if not str(text).strip() or float(score) < self.settings.text_score:
                    continue
                box = _as_box(poly)
                angle = angles[i] if i < len(angles) else -1
                if angle == 1:
                    # Detector boxes run from the image's top-left; start them at the text's own.
                    box = (box[2], box[3], box[0], box[1])
                    turned += len(str(text))
                else:
                    upright += len(str(text))
                lines.append(OcrLine(str(text).strip(), box, float(score)))
        height, width = bgr.shape[:2]
        return reading_order(lines, width, height, upside_down=turned > upright)
