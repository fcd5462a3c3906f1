"""Run the cases through the pipeline as the ingest function does, and judge what came back."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from evaluation.cases import Case
from evaluation.scoring import FieldVerdict, char_accuracy, judge, line_recall

_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
STATUS_CATALOGUED = "catalogued"
NOT_DETECTED = "not detected"
# What the manifest's "orientation"[i]["rotated"] (the clockwise turn applied before OCR, see
# onestop.materials.orientation) must say for a page the specimens turned counter-clockwise by `key`.
EXPECTED_CORRECTION = {0: 0, 90: 90, 180: 180, 270: 270}


@lru_cache(maxsize=1)
def catalogue_fields() -> dict[str, dict[str, bool]]:
    """{material type: {field name: required}} from the catalogue the pipeline reads."""
    text = resources.files("onestop.catalogue").joinpath("material_types.yaml").read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    return {
        t["code"]: {f["name"]: bool(f.get("required", False)) for f in t.get("fields") or []}
        for t in doc["material_types"]
    }


@dataclass
class CaseResult:
    """What the pipeline made of one case, and how that compares with the truth."""

    case: Case
    status: str = ""
    reason: str = ""
    problems: list[tuple[str, str | None]] = field(default_factory=list)
    material_type: str | None = None
    confidence: float | None = None
    stored: dict[str, str] = field(default_factory=dict)
    confidences: dict[str, float] = field(default_factory=dict)  # per field, when the pipeline gives them
    text: str = ""
    orientation: Any = None
    seconds: float = 0.0
    error: str | None = None
    char_accuracy: float | None = None  # reading order, when the truth gives the full text
    line_recall: float | None = None  # order-free
    raw_char_accuracy: float | None = None  # the bare OCR engine on the same image (corpus anchor)
    verdicts: list[FieldVerdict] = field(default_factory=list)
    undeclared: list[str] = field(default_factory=list)  # truth fields the catalogue does not declare

    @property
    def catalogued(self) -> bool:
        return self.status == STATUS_CATALOGUED

    @property
    def problem_codes(self) -> list[str]:
        return [code for code, _ in self.problems]

    @property
    def rotated(self) -> int | str | None:
        """The turn the pipeline applied to the first page, or NOT_DETECTED when it reports none."""
        if not isinstance(self.orientation, list) or not self.orientation:
            return NOT_DETECTED
        first = self.orientation[0]
        return int(first.get("rotated", 0)) if isinstance(first, Mapping) else NOT_DETECTED

    @property
    def deskewed(self) -> float | None:
        """The clockwise straightening applied to the first page (degrees), when reported."""
        if not isinstance(self.orientation, list) or not self.orientation:
            return None
        first = self.orientation[0]
        return float(first.get("deskewed_deg", 0.0)) if isinstance(first, Mapping) else None

    @property
    def upright(self) -> bool | None:
        if self.case.rotation is None or self.case.kind != "document":
            return None
        return self.rotated == EXPECTED_CORRECTION[self.case.rotation]


def _raw_engine_text(data: bytes) -> str:
    from onestop.materials.images import load_image
    from onestop.materials.limits import DEFAULT_LIMITS
    from onestop.materials.ocr import get_rapid_engine

    loaded = load_image(data, DEFAULT_LIMITS)
    return "\n".join(line.text for line in get_rapid_engine().recognise(loaded.rgb))


def run_case(case: Case, *, raw_anchor: bool = False) -> CaseResult:
    from onestop.materials.pipeline import process_upload

    result = CaseResult(case)
    started = time.perf_counter()
    try:
        suffix = "." + case.filename.rsplit(".", 1)[-1].lower()
        outcome = process_upload(
            case.data,
            declared={"filename": case.filename, "content_type": _MIME.get(suffix), "size": len(case.data)},
            expected_material_type=case.slot_type,
            applicant=case.applicant,
        )
    except Exception as exc:  # the pipeline promises never to raise: a raise is a finding, not a crash
        result.error = repr(exc)
        result.seconds = time.perf_counter() - started
        return result
    result.seconds = time.perf_counter() - started
    result.status = outcome.status
    result.reason = outcome.reason.code
    result.problems = [(p.code, p.field) for p in outcome.problems]
    if outcome.classification is not None:
        result.material_type = outcome.classification.material_type
        result.confidence = outcome.classification.confidence
    result.stored = dict(outcome.fields)
    readings = getattr(outcome, "field_readings", None) or {}  # absent before issue 14
    result.confidences = {
        name: float(r["confidence"])
        for name, r in readings.items()
        if isinstance(r, Mapping) and isinstance(r.get("confidence"), int | float)
    }
    result.text = outcome.text
    result.orientation = outcome.manifest.get("orientation")
    judge_result(result)
    if raw_anchor and case.text is not None:
        try:
            result.raw_char_accuracy = char_accuracy(case.text, _raw_engine_text(case.data))
        except Exception as exc:
            result.error = f"raw engine: {exc!r}"
    return result


def judge_result(result: CaseResult) -> None:
    """Character measures and field verdicts of a result against its case's truth."""
    case = result.case
    if case.text is not None:
        result.char_accuracy = char_accuracy(case.text, result.text)
    if case.lines:
        result.line_recall = line_recall(case.lines, result.text)
    if not case.fields or case.truth_type is None:
        return
    declared = catalogue_fields().get(case.truth_type)
    flagged = {f for _, f in result.problems if f}
    for name, truth in sorted(case.fields.items()):
        if declared is not None and name not in declared:
            result.undeclared.append(name)
            continue
        stored = result.stored.get(name) or None
        if name in case.lenient and stored is None:
            continue
        result.verdicts.append(
            FieldVerdict(
                case=case.name,
                condition=case.condition,
                material_type=case.truth_type,
                field=name,
                truth=truth,
                stored=stored,
                verdict=judge(name, truth, stored, must_flag=name in case.must_flag, flagged=name in flagged),
                flagged=name in flagged,
                required=bool(declared and declared.get(name)),
            )
        )


def run_cases(
    cases: Iterable[Case], *, raw_anchor: bool = True, progress: Callable[[CaseResult], None] | None = None
) -> list[CaseResult]:
    results = []
    for case in cases:
        result = run_case(case, raw_anchor=raw_anchor and case.source == "corpus")
        if progress is not None:
            progress(result)
        results.append(result)
    return results
