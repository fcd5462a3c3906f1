"""Key fields per material type, read by layout from OCR boxes (or a text layer), validated and
cross-checked, all by the catalogue's field rules (material_types.yaml: labels, value position,
multi-line, validator, required, cross_check, min_confidence, sides).

A value that is missing when required, or fails its validator, is always a problem (field_missing,
field_invalid or the identifier's own check code) and never lands in `values`; what was read stays in
`readings` for the reviewer. A value read with low OCR confidence is kept but flagged (field_uncertain).
No material type has code here: a new type is a catalogue entry.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from onestop.catalogue.models import FieldSpec, MaterialType
from onestop.errors import NotFound, Reason

from .layout import Found, LabelRule, Page, page_box, read_page, text_page
from .validators import Checked, check, find_resident_id, find_uscc, parse_date, squeeze

__all__ = [
    "DEFAULT_MIN_CONFIDENCE",
    "ApplicantLike",
    "ExtractedFields",
    "FieldReading",
    "Page",
    "extract_fields",
    "parse_date",
    "text_page",
]

# Under this OCR confidence a value is kept but sent to a reviewer (FieldSpec.min_confidence overrides).
DEFAULT_MIN_CONFIDENCE = 0.8
_SHANGHAI = ZoneInfo("Asia/Shanghai")


class ApplicantLike(Protocol):
    """What the cross-check needs of an applicant (`onestop.applications.models.Applicant` fits)."""

    @property
    def kind(self) -> str: ...

    @property
    def code(self) -> str: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class FieldReading:
    """Where and how a field was read (interfaces.md §1): `value` cleaned when valid, else as read;
    `box` = (x0, y0, x1, y1) as fractions of the upright page, None for a text layer."""

    value: str
    confidence: float
    page: int
    box: tuple[float, float, float, float] | None
    source: str
    raw: str

    def as_dict(self) -> dict[str, object]:
        return {
            "value": self.value,
            "confidence": round(self.confidence, 4),
            "page": self.page,
            "box": list(self.box) if self.box is not None else None,
            "source": self.source,
        }


@dataclass(frozen=True)
class ExtractedFields:
    """Valid field values (shared field names), every reading, and the problems the checks found."""

    values: dict[str, str]
    problems: tuple[Reason, ...] = ()
    readings: dict[str, FieldReading] = field(default_factory=dict)
    sides: tuple[str, ...] = ()


def _spec_of(material_type: str) -> MaterialType | None:
    from onestop.catalogue.loader import load_catalogue

    try:
        return load_catalogue().material_type(material_type)
    except NotFound:
        return None


def _rules(spec: MaterialType) -> list[LabelRule]:
    rules = [LabelRule(f.name, tuple(f.label_variants), f.value, f.multiline) for f in spec.fields]
    if spec.other_labels:
        rules.append(LabelRule("_other", tuple(spec.other_labels)))
    return rules


def _anywhere(f: FieldSpec, pages: Sequence[Page]) -> Found | None:
    """An identifier printed without (a readable) label: the first well-formed one on any page."""
    finder = find_uscc if f.validator == "uscc" else find_resident_id
    for page in pages:
        for i, line in enumerate(page.lines):
            if finder(line.text):
                conf = float(line.confidence)
                box = page_box(page, i)
                return Found(f.name, line.text, conf, conf, page.index, box, page.source)
        joined = "".join(line.text for line in page.lines)  # a number split over two boxes
        if finder(joined):
            return Found(f.name, joined, 1.0 if page.source == "text_layer" else 0.0, 0.0, page.index, None,
                         page.source)  # fmt: skip
    return None


def _missing(f: FieldSpec, doc_zh: str, side_zh: str = "") -> Reason:
    where = f"{doc_zh}{side_zh}"
    return Reason(
        "field_missing",
        f"未能在{where}上识别出{f.label_zh}，请确认文件清晰完整、该栏已填写。",
        f"Could not read the {f.label_en.lower()} on the document; check that the file is clear and "
        "complete and that the field is filled in.",
        f.name,
    )


def _uncertain(f: FieldSpec, value: str, confidence: float) -> Reason:
    return Reason(
        "field_uncertain",
        f"{f.label_zh}“{value}”识别把握不足（置信度 {confidence:.2f}），请人工核对。",
        f"The {f.label_en.lower()} '{value}' was read with low confidence ({confidence:.2f}); "
        "a reviewer should check it.",
        f.name,
    )


def _expired(f: FieldSpec, until: date, doc_zh: str) -> Reason:
    return Reason(
        f.expired_code or "document_expired",
        f"{doc_zh}已于 {until.isoformat()} 过期，请提供有效期内的证件。",
        f"The document expired on {until.isoformat()}; provide one that is still valid.",
        f.name,
    )


def _flat_name(s: str) -> str:
    return re.sub(r"[\s()（）]", "", squeeze(s))


def cross_check(
    f: FieldSpec, value: str, applicant: ApplicantLike | None, doc_zh: str, doc_en: str
) -> Reason | None:
    """The catalogue's cross-check of a valid value with the applicant; also run on a reviewer's
    correction (applications/corrections.py), so a corrected value meets the same rule."""
    if applicant is None or f.cross_check is None:
        return None
    kind = applicant.kind
    if f.cross_check == "applicant_code":
        if f.validator == "uscc" and kind == "enterprise" and value != applicant.code.upper():
            return Reason(
                "uscc_not_applicant",
                f"{doc_zh}上的统一社会信用代码 {value} 与申请人的 {applicant.code} 不一致。",
                f"The unified social credit code on the {doc_en.lower()}, {value}, is not the applicant's "
                f"({applicant.code}).",
                f.name,
            )
        if f.validator == "resident_id" and kind == "person" and value != applicant.code.upper():
            return Reason(
                "id_not_applicant",
                f"{doc_zh}上的公民身份号码与申请人的不一致。",
                f"The citizen identity number on the {doc_en.lower()} is not the applicant's.",
                f.name,
            )
        return None
    wanted = {"enterprise_name": "enterprise", "person_name": "person"}.get(f.validator)
    if wanted in (kind, None) and _flat_name(value) != _flat_name(applicant.name):
        return Reason(
            "name_not_applicant",
            f"{doc_zh}上的{f.label_zh}“{value}”与申请人“{applicant.name}”不一致。",
            f"The {f.label_en.lower()} on the {doc_en.lower()}, '{value}', differs from the applicant's, "
            f"'{applicant.name}'.",
            f.name,
        )
    return None


def _consistency(
    values: dict[str, str], readings: dict[str, FieldReading], specs: dict[str, FieldSpec], today: date | None
) -> list[Reason]:
    """A citizen identity number (even one failing its check) against the birth date and sex beside it."""
    read = (readings[n].value for n, s in specs.items() if s.validator == "resident_id" and n in readings)
    number = next((find_resident_id(v) for v in read if find_resident_id(v)), None)
    if number is None:
        return []
    out: list[Reason] = []
    birth = values.get("birth_date")
    if birth and re.fullmatch(r"\d{4}-\d{2}-\d{2}", birth):
        from onestop.identifiers.resident_id import resident_id_problems

        out += [
            p
            for p in resident_id_problems(number, date.fromisoformat(birth), today=today)
            if p.code == "resident_id_birth_date_mismatch"
        ]
    sex = values.get("sex")
    if sex in ("男", "女") and number[16:17].isdigit() and (int(number[16]) % 2 == 1) != (sex == "男"):
        out.append(
            Reason(
                "resident_id_sex_mismatch",
                "公民身份号码第17位表示的性别与证件上的性别不一致。",
                "The sex encoded in the 17th digit of the number differs from the sex printed on the card.",
                "sex",
            )
        )
    return out


def _sides(spec: MaterialType, labelled: set[str], read: set[str]) -> tuple[str, ...]:
    """The sides whose labels (or values) are on the pages; the first side when none is recognised."""
    if not spec.sides:
        return ()
    present = tuple(
        s.code for s in spec.sides if any(f.side == s.code and f.name in labelled for f in spec.fields)
    )
    if present:
        return present
    present = tuple(
        s.code for s in spec.sides if any(f.side == s.code and f.name in read for f in spec.fields)
    )
    return present or (spec.sides[0].code,)


def extract_fields(
    material_type: str,
    lines: Sequence[str] = (),
    applicant: ApplicantLike | None = None,
    *,
    today: date | None = None,
    pages: Sequence[Page] | None = None,
    spec: MaterialType | None = None,
) -> ExtractedFields:
    """Fields of `material_type` (its catalogue spec, looked up when not given) from `pages` (OCR
    lines with boxes, one upright page each) or, without pages, from text `lines` in reading order."""
    spec = spec if spec is not None else _spec_of(material_type)
    if spec is None or not spec.fields:
        return ExtractedFields({})
    pages = list(pages) if pages else [text_page(lines)]
    today = today or datetime.now(_SHANGHAI).date()
    doc_zh, doc_en = spec.name_zh, spec.name_en
    rules = _rules(spec)

    found: dict[str, Found] = {}
    candidates: dict[str, list[Found]] = {}
    labelled: set[str] = set()
    for page in pages:
        reading = read_page(page, rules)
        labelled |= reading.labelled
        for name, occurrences in reading.candidates.items():
            found.setdefault(name, occurrences[0])
            candidates.setdefault(name, []).extend(occurrences)
    for f in spec.fields:
        if f.anywhere and f.name not in found:
            hit = _anywhere(f, pages)
            if hit is not None:
                found[f.name] = hit

    sides = _sides(spec, labelled, set(found))
    specs: dict[str, FieldSpec] = {f.name: f for f in spec.fields if f.side is None or f.side in sides}
    all_labels = [v for f in spec.fields for v in f.label_variants] + list(spec.other_labels)

    values: dict[str, str] = {}
    readings: dict[str, FieldReading] = {}
    problems: list[Reason] = []
    for name, f in specs.items():
        hit = found.get(name)
        if hit is None:
            if f.required:
                side = next((s for s in spec.sides if s.code == f.side), None)
                problems.append(_missing(f, doc_zh, f"（{side.name_zh}）" if side else ""))
            continue
        result: Checked = check(hit.text, f, labels=all_labels, today=today, doc_zh=doc_zh)
        for other in candidates.get(name, [])[1:] if result.value is None else []:
            # The label printed again (申请人 in a closing pledge): the first occurrence that validates.
            retry = check(other.text, f, labels=all_labels, today=today, doc_zh=doc_zh)
            if retry.value is not None:
                hit, result = other, retry
                break
        if result.value is None and f.anywhere:
            # The labelled reading is no identifier (a title beside the label): one printed elsewhere.
            elsewhere = _anywhere(f, pages)
            if elsewhere is not None:
                retry = check(elsewhere.text, f, labels=all_labels, today=today, doc_zh=doc_zh)
                if retry.value is not None:
                    hit, result = elsewhere, retry
        raw = squeeze(hit.text)
        readings[name] = FieldReading(
            result.value if result.value is not None else raw,
            hit.confidence,
            hit.page,
            hit.box,
            hit.source,
            hit.text,
        )
        problems.extend(result.problems)
        if result.value is None:
            continue
        values[name] = result.value
        floor = f.min_confidence if f.min_confidence is not None else DEFAULT_MIN_CONFIDENCE
        if hit.confidence < floor:
            problems.append(_uncertain(f, result.value, hit.confidence))
        if f.parts is not None:
            for part, key in zip(f.parts, ("from", "until"), strict=True):
                values[part] = result.parts[key]
                readings[part] = FieldReading(
                    result.parts[key], hit.confidence, hit.page, hit.box, hit.source, hit.text
                )
        if f.expired_code and result.valid_until is not None and result.valid_until < today:
            problems.append(_expired(f, result.valid_until, doc_zh))
        crossed = cross_check(f, result.value, applicant, doc_zh, doc_en)
        if crossed is not None:
            problems.append(crossed)
    problems.extend(_consistency(values, readings, specs, today))
    return ExtractedFields(values=values, problems=tuple(problems), readings=readings, sides=sides)
