"""One upload in, one outcome out: sniff, text (text layer or OCR), classify, fields, normalise, manifest.

Pure: no AWS, no clock other than the processing budget. Bad input never raises; it ends in an
outcome with status "rejected" and a reason the applicant can act on.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any

from onestop.errors import Reason
from onestop.observability import logger

from .classify import (
    CONFIDENT,
    Classification,
    classify,
    is_material,
    low_confidence_problem,
    mismatch_problem,
    not_expected_problem,
    type_name,
    unrelated_problem,
)
from .documentness import (
    Documentness,
    PageLayout,
    assess,
    measure_page,
    multiple_documents_problem,
    not_a_document_problem,
)
from .fields import ApplicantLike, extract_fields
from .images import ImageRejected, load_image
from .layout import Page, text_page
from .limits import DEFAULT_LIMITS, Deadline, Limits
from .normalise import PageText, build_manifest, image_to_pdf, sha256_hex, stamp_text_layer, turn_pages
from .ocr import OcrEngine, get_rapid_engine
from .orientation import UprightPage, get_orientation_model, orientation_corrected, read_upright
from .pdftext import DAMAGED, PdfRejected, analyse_pdf, looks_like_headless_pdf, text_quality
from .previews import MAX_PREVIEW_PAGES, preview_jpeg, render_previews
from .reasons import empty_reason, too_large_reason
from .sniff import Sniffed, sniff
from .status import MaterialStatus

CATALOGUED = MaterialStatus.CATALOGUED.value
NEEDS_ATTENTION = MaterialStatus.NEEDS_ATTENTION.value
REJECTED = MaterialStatus.REJECTED.value

_EXTENSIONS = {
    "pdf": {".pdf"},
    "jpeg": {".jpg", ".jpeg", ".jpe", ".jfif"},
    "png": {".png"},
    "tiff": {".tif", ".tiff"},
}


@dataclass(frozen=True)
class Declared:
    """What the portal said about the file; informative only, never trusted."""

    filename: str | None = None
    content_type: str | None = None
    size: int | None = None

    @classmethod
    def of(cls, value: Declared | Mapping[str, Any] | None) -> Declared:
        if value is None:
            return cls()
        if isinstance(value, Declared):
            return value
        size = value.get("size")
        return cls(value.get("filename"), value.get("content_type"), int(size) if size is not None else None)

    def as_dict(self) -> dict[str, Any]:
        return {"filename": self.filename, "content_type": self.content_type, "size": self.size}


@dataclass(frozen=True)
class IngestOutcome:
    """Everything the service stores about one processed upload."""

    status: str
    reason: Reason
    sniffed: Sniffed
    sha256: str
    size: int
    pages: int = 0
    classification: Classification | None = None
    fields: dict[str, str] = field(default_factory=dict)
    problems: tuple[Reason, ...] = ()
    notes: tuple[Reason, ...] = ()
    text: str = ""
    normalised_pdf: bytes | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    # Per field: where and how it was read ({"value", "confidence", "page", "box", "source"}).
    field_readings: dict[str, dict[str, Any]] = field(default_factory=dict)
    # JPEGs of the first pages, upright, in the frame field boxes are fractions of (materials/previews.py).
    page_previews: tuple[bytes, ...] = ()


class _Rejected(Exception):
    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.code)
        self.reason = reason


def _unsupported(sniffed: Sniffed) -> Reason:
    kind = {"unknown": "无法识别的格式", "empty": "空文件"}.get(sniffed.kind, sniffed.kind.upper())
    kind_en = {"unknown": "an unrecognised format", "empty": "an empty file"}.get(
        sniffed.kind, sniffed.kind.upper()
    )
    return Reason(
        "unsupported_type",
        f"文件实际格式为{kind}，只接受 PDF、JPEG、PNG 或 TIFF；请转换格式后上传。",
        f"The file is actually {kind_en}; only PDF, JPEG, PNG or TIFF are accepted. "
        "Convert it and upload again.",
    )


def _time_exceeded(budget: float) -> Reason:
    return Reason(
        "processing_time_exceeded",
        f"文件过于复杂，无法在 {budget:.0f} 秒内处理完；请减少页数或降低分辨率后重新上传。",
        f"The file is too complex to process within {budget:.0f} seconds; upload fewer pages or a lower "
        "resolution.",
    )


NOT_A_DOCUMENT = Reason(
    "not_a_document",
    "文件中没有可识别的文字，不像是一份材料（空白页、纯色图片或照片）；请上传材料的清晰扫描件或照片。",
    "No readable text was found; this does not look like a document (blank page, plain image or photo). "
    "Upload a clear scan or photo of the document.",
)


def _declared_mismatch(declared: Declared, sniffed: Sniffed) -> Reason | None:
    suffix = PurePosixPath(declared.filename or "").suffix.lower()
    claimed = (declared.content_type or "").split(";")[0].strip().lower()
    ext_ok = not suffix or suffix in _EXTENSIONS.get(sniffed.kind, set())
    type_ok = not claimed or claimed == sniffed.mime or (sniffed.kind == "jpeg" and claimed == "image/jpg")
    if ext_ok and type_ok:
        return None
    said = " / ".join(x for x in (suffix, claimed) if x)
    return Reason(
        "declared_type_mismatch",
        f"文件声明的类型（{said}）与实际内容（{sniffed.mime}）不符，已按实际内容处理。",
        f"The declared type ({said}) differs from the actual content ({sniffed.mime}); "
        "processed as the latter.",
    )


class _Run:
    """State of one run: timings, notes, the budget."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.deadline = Deadline(limits.time_budget_s)
        self.timings: dict[str, float] = {}
        self.notes: list[Reason] = []
        self.sources: list[str] = []
        self.layouts: list[PageLayout] = []  # OCR'd pages: is it a document, is it one (documentness)
        self.field_pages: list[Page] = []  # each page's lines with their boxes, for field extraction
        self.orientation: list[dict[str, Any]] = []  # per OCR'd page: the turn and skew undone
        self.previews: dict[int, bytes] = {}
        self._mark = time.monotonic()

    def upright(self, image: Any, engine: OcrEngine) -> UprightPage:
        """The page turned upright, straightened and read (materials/orientation.py), timed per step."""
        page = read_upright(image, engine)
        for name, seconds in page.timings.items():
            self.timings[name] = self.timings.get(name, 0.0) + seconds
        self._mark = time.monotonic()
        return page

    def keep(self, page: UprightPage, index: int) -> None:
        """Record the page's reading as used: its turn for the manifest, its upright preview."""
        self.orientation.append(page.manifest_entry(index))
        if index < MAX_PREVIEW_PAGES:
            self.previews[index] = preview_jpeg(page.image)
        self.lap("previews")

    def preview_pages(self) -> tuple[bytes, ...]:
        """Previews of pages 1, 2, ... up to the first page without one (position = page index)."""
        out: list[bytes] = []
        while len(out) in self.previews:
            out.append(self.previews[len(out)])
        return tuple(out)

    def orientation_note(self) -> None:
        turned = [entry["page"] for entry in self.orientation if entry["rotated"] or entry["deskewed_deg"]]
        if turned:
            self.notes.append(orientation_corrected(turned))

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.timings[name] = self.timings.get(name, 0.0) + now - self._mark
        self._mark = now

    def check_time(self) -> None:
        if self.deadline.expired:
            raise _Rejected(_time_exceeded(self.limits.time_budget_s))


def _engine(engine: OcrEngine | None) -> OcrEngine:
    return engine if engine is not None else get_rapid_engine()


def _pdf_text(
    data: bytes, run: _Run, engine: OcrEngine | None
) -> tuple[list[str], int, bytes | None, dict[int, PageText]]:
    run.check_time()
    try:
        analysis = analyse_pdf(data, run.limits, run.deadline)
    except PdfRejected as exc:
        logger.info("pdf rejected", extra={"code": exc.reason.code, "details": list(exc.details)[:3]})
        run.check_time()  # the worker was stopped by the file's budget, not its own limit
        raise _Rejected(exc.reason) from exc
    run.lap("pdf_analyse")
    run.notes.extend(analysis.notes)
    lines: list[str] = []
    overlays: dict[int, PageText] = {}
    for index in range(analysis.pages):
        text = analysis.page_text[index]
        source = "text_layer" if analysis.page_real[index] else "none"
        image = analysis.images.get(index)
        if image is not None:
            run.check_time()
            page = run.upright(image, _engine(engine))
            ocr_lines = list(page.lines)
            ocr_text = "\n".join(line.text for line in ocr_lines)
            if text_quality(ocr_text)["meaningful"] >= text_quality(text)["meaningful"] * 0.5 or not text:
                text, source = ocr_text, "ocr"
                overlays[index] = PageText(*page.page_size, page.page_lines(), page.rotated)
                run.keep(page, index)
                image = page.image  # upright and straightened: the frame of the boxes
                run.layouts.append(measure_page(image, ocr_lines))
                run.field_pages.append(Page(index, tuple(ocr_lines), image.shape[1], image.shape[0]))
            run.lap("ocr")
        if source != "ocr":
            run.field_pages.append(text_page(text.splitlines(), index))
        run.sources.append(source)
        lines.extend(line for line in text.splitlines() if line.strip())
    normalised = analysis.clean_pdf
    if normalised is not None and overlays:
        try:
            normalised = stamp_text_layer(normalised, overlays)
        except Exception as exc:  # the text layer is a convenience; the page images are what count
            logger.warning("text layer not added", extra={"error": repr(exc)})
            run.notes.append(_no_text_layer())
            normalised = turn_pages(normalised, {i: overlay.turn for i, overlay in overlays.items()})
        run.lap("normalise")
    if normalised is not None:
        unseen = [i for i in range(min(analysis.pages, MAX_PREVIEW_PAGES)) if i not in run.previews]
        run.previews.update(render_previews(normalised, unseen, run.limits, run.deadline))
        run.lap("previews")
    return lines, analysis.pages, normalised, overlays


def _no_text_layer() -> Reason:
    return Reason(
        "text_layer_not_added",
        "未能为规范化 PDF 添加可检索的文字层。",
        "The searchable text layer could not be added to the normalised PDF.",
    )


def _image_text(
    data: bytes, sniffed: Sniffed, run: _Run, engine: OcrEngine | None
) -> tuple[list[str], int, bytes | None]:
    run.check_time()
    try:
        loaded = load_image(data, run.limits)
    except ImageRejected as exc:
        raise _Rejected(exc.reason) from exc
    run.notes.extend(loaded.notes)
    run.lap("image_load")
    run.check_time()
    page = run.upright(loaded.rgb, _engine(engine))
    ocr_lines = list(page.lines)
    run.keep(page, 0)
    run.layouts.append(measure_page(page.image, ocr_lines))
    run.field_pages.append(Page(0, tuple(ocr_lines), page.image.shape[1], page.image.shape[0]))
    run.lap("ocr")
    run.sources.append("ocr")
    try:
        pdf, notes = image_to_pdf(data, sniffed, loaded, page.rotated)
        run.notes.extend(notes)
    except Exception as exc:
        logger.warning("image not wrapped", extra={"error": repr(exc)})
        raise _Rejected(
            Reason(
                "image_unconvertible",
                "图片无法转换为 PDF；请另存为常见的 JPEG 或 PNG 后重新上传。",
                "The image could not be converted to PDF; save it as an ordinary JPEG or PNG "
                "and upload it again.",
            )
        ) from exc
    try:
        pdf = stamp_text_layer(pdf, {0: PageText(*page.page_size, page.page_lines())})
    except Exception as exc:
        logger.warning("text layer not added", extra={"error": repr(exc)})
        run.notes.append(_no_text_layer())
    run.lap("normalise")
    return [line.text for line in ocr_lines], 1, pdf


def _as_other(result: Classification, zh: str, en: str) -> Classification:
    """The decision "other", with a reason that names no class the decision set aside."""
    return replace(result, material_type="other", reason_zh=zh, reason_en=en, cues=(), title_cues=())


_UNSURE_OTHER = (
    "未能确定具体材料类型，按其他材料编目。",
    "No material type was recognised with confidence; catalogued as other material.",
)


def _decide(
    result: Classification,
    expected: str | None,
    verdict: Documentness,
    *,
    accepts_photos: bool = False,
    also_accepts: Collection[str] = (),
) -> tuple[Classification, str, list[Reason]]:
    """The classification as decided, the type to read fields as, and the classification problems.

    Documents only (issue 14): text that does not look like a document is `not_a_document` unless
    the slot takes photos; several documents in one image are `multiple_documents`; a known
    non-material (ticket, receipt) is named and sent to review; an unrelated document in a typed
    slot is `material_type_mismatch`, naming a class only when the classifier cleared its floor.
    """
    result = replace(result, documentness=verdict.as_dict())
    if not verdict.is_document:
        if accepts_photos:
            zh, en = "本材料栏接受照片：按照片编目。", "This slot takes photographs: catalogued as a photo."
            return _as_other(result, zh, en), "other", []
        return _as_other(result, *_UNSURE_OTHER), "other", [not_a_document_problem(verdict)]
    if verdict.multiple:
        return result, "other", [multiple_documents_problem(verdict)]  # fields would mix: none read
    found = result.material_type
    typed = expected not in (None, "other")
    if found != "other" and not is_material(found):
        if found in also_accepts:
            return result, found, []
        problem = mismatch_problem(found, expected) if expected and typed else unrelated_problem(found)
        return result, found, [problem]
    if expected and typed:
        if found == expected:
            problems = [low_confidence_problem(result)] if result.confidence < CONFIDENT else []
            return result, expected, problems
        if found != "other":  # another known type, above the guess floor
            return result, found, [mismatch_problem(found, expected)]
        if result.scores.get(expected):  # some of its cues, too weak to tell: unsure, not wrong
            return result, expected, [low_confidence_problem(result)]
        return result, expected, [not_expected_problem(expected)]
    if expected == "other":
        if found == "other" or result.confidence < CONFIDENT:
            if found == "other":
                return result, "other", []
            return _as_other(result, *_UNSURE_OTHER), "other", []
        return result, found, []
    if found == "other" or result.confidence < CONFIDENT:
        return result, found, [low_confidence_problem(result)]
    return result, found, []


def process_upload(
    data: bytes,
    *,
    declared: Declared | Mapping[str, Any] | None = None,
    expected_material_type: str | None = None,
    applicant: ApplicantLike | None = None,
    limits: Limits = DEFAULT_LIMITS,
    engine: OcrEngine | None = None,
    accepts_photos: bool = False,
    also_accepts: Collection[str] = (),
) -> IngestOutcome:
    """Process one uploaded file. `engine` defaults to the process-wide RapidOCR engine (built lazily).
    `accepts_photos` and `also_accepts` are the slot's (catalogue `MaterialRequirement`)."""
    run = _Run(limits)
    declared_ = Declared.of(declared)
    sniffed = sniff(data) if data else Sniffed("empty")
    classification: Classification | None = None
    fields: dict[str, str] = {}
    field_readings: dict[str, dict[str, Any]] = {}
    problems: list[Reason] = []
    pages = 0
    normalised: bytes | None = None
    lines: list[str] = []
    try:
        if not data or sniffed.kind == "empty":
            raise _Rejected(empty_reason())
        if len(data) > limits.max_bytes:
            raise _Rejected(too_large_reason(len(data), limits.max_bytes))
        mismatch = _declared_mismatch(declared_, sniffed)
        if mismatch is not None and sniffed.accepted:
            run.notes.append(mismatch)
        if not sniffed.accepted:
            # A PDF that lost its header is a damaged PDF (re-export it), not some other type.
            raise _Rejected(DAMAGED if looks_like_headless_pdf(data) else _unsupported(sniffed))
        run.lap("sniff")
        if sniffed.kind == "pdf":
            lines, pages, normalised, _ = _pdf_text(data[sniffed.offset :], run, engine)
        else:
            lines, pages, normalised = _image_text(data, sniffed, run, engine)
        run.orientation_note()
        run.check_time()
        text = "\n".join(lines)
        classification = classify(text)
        if not classification.is_document:
            raise _Rejected(NOT_A_DOCUMENT)
        verdict = assess(run.layouts, run.sources.count("text_layer"))
        classification, read_as, problems = _decide(
            classification,
            expected_material_type,
            verdict,
            accepts_photos=accepts_photos,
            also_accepts=also_accepts,
        )
        extracted = extract_fields(read_as, lines, applicant, pages=run.field_pages)
        fields = extracted.values
        field_readings = {name: r.as_dict() for name, r in extracted.readings.items()}
        problems.extend(extracted.problems)
        if normalised is None:
            problems.append(
                Reason(
                    "normalisation_failed",
                    "未能生成规范化 PDF，请人工查看原件。",
                    "No normalised PDF could be produced; a reviewer should look at the original.",
                )
            )
        run.lap("classify_fields")
        if problems:
            status = NEEDS_ATTENTION
            reason = Reason(
                "needs_attention",
                f"需要人工核对：{problems[0].zh}",
                f"Needs a reviewer's attention: {problems[0].en}",
                problems[0].field,
            )
        else:
            status = CATALOGUED
            zh, en = type_name(classification.material_type)
            reason = Reason("catalogued", f"已编目为{zh}。", f"Catalogued as {en}.")
    except _Rejected as rejected:
        status, reason = REJECTED, rejected.reason
        normalised = None
        problems = []
        fields = {}
        field_readings = {}
        text = "\n".join(lines)
    run.timings["total"] = run.deadline.elapsed
    versions: dict[str, str] | None = None
    if "ocr" in run.sources and engine is not None:
        versions = engine.versions()
    elif "ocr" in run.sources:
        versions = get_rapid_engine().versions()
    if run.orientation:
        versions = {**(versions or {}), **get_orientation_model().versions()}
    manifest = build_manifest(
        original=data,
        normalised=normalised,
        sniffed=sniffed,
        pages=pages,
        status=status,
        reason=reason,
        engine_versions=versions,
        classification=classification.as_dict() if classification and status != REJECTED else None,
        fields=fields,
        field_readings=field_readings,
        problems=problems,
        notes=run.notes,
        timings=run.timings,
        text_sources=run.sources,
        declared=declared_.as_dict(),
        orientation=run.orientation,
    )
    return IngestOutcome(
        status=status,
        reason=reason,
        sniffed=sniffed,
        sha256=sha256_hex(data),
        size=len(data),
        pages=pages,
        classification=classification if status != REJECTED else None,
        fields=fields,
        problems=tuple(problems),
        notes=tuple(run.notes),
        text=text,
        normalised_pdf=normalised,
        manifest=manifest,
        timings=dict(run.timings),
        field_readings=field_readings,
        page_previews=run.preview_pages() if status != REJECTED else (),
    )
