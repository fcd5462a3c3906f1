"""A reviewer corrects what was read from a material: one value, or the material's type.

A correction is the reviewer's statement recorded beside the document, never a change of the
document: the uploaded and normalised bytes, and the hashes pinned at submission, stay as they were.
What changes is the material's reading: `fields` holds the corrected value (the pipeline's reading is
kept in `fields_as_read`), the problems the correction settles move to `resolved_problems`, and the
material is `catalogued` once no open problem is left. The correction is listed on the material, on
its pinned evidence (so the decision, the approval event and the licence carry it, marked as the
reviewer's) and in the application's audit trail (who, when, old → new, why), all in one write that
also moves the application's version on: a decision taken on the version read before the correction
is refused (409) rather than taken on a reading that no longer stands.

Who: a reviewer or admin, under the separation of duties of `duties.py` (not on their own or their
party's application), while the application is with the reviewers (submitted or accepted).
Replaying a correction (the same value again, nothing left to settle) changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from onestop.catalogue import Catalogue, MaterialType
from onestop.errors import Conflict, InvalidInput, MalformedRequest, NotFound, Reason
from onestop.identifiers.resident_id import resident_id_problems
from onestop.identifiers.uscc import uscc_problems
from onestop.observability import metrics

from .access import not_found
from .deps import ApplicationDeps
from .duties import require_may_decide
from .identity import Principal
from .models import (
    PINNABLE_STATUSES,
    Application,
    ApplicationStatus,
    AuditEvent,
    Classification,
    Evidence,
    FieldCorrection,
    Material,
    MaterialStatus,
)
from .state import conflict

MATERIAL_TYPE = "material_type"
# The application is with the reviewers: submitted (before acceptance) or accepted (before decision).
CORRECTABLE_STATUSES = frozenset({ApplicationStatus.SUBMITTED, ApplicationStatus.ACCEPTED})
# Problems about what kind of document the file is: settled by a reviewer setting the type.
TYPE_PROBLEMS = frozenset(
    {
        "classification_uncertain",
        "material_type_mismatch",
        "material_mismatched",
        "not_a_document",
        "multiple_documents",
    }
)
# Verdicts that reject a file as not (one) document of the slot's kind: a reviewer who sees that it is
# may override them by setting the type, which catalogues the material.
OVERRIDABLE_REJECTIONS = frozenset({"not_a_document", "multiple_documents", "material_type_mismatch"})
MAX_VALUE = 2000

# The document that identifies the applicant itself (as completeness.py checks it): a corrected code
# that is not the applicant's is a problem on the material.
_IDENTITY = {
    ("enterprise", "business_licence"): "uscc",
    ("person", "resident_id_card"): "id_number",
}


@dataclass(frozen=True)
class CorrectionInput:
    """What the reviewer states: the field (or "material_type"), its value on the document, and why."""

    field: str
    value: str
    reason: str


@dataclass(frozen=True)
class CorrectionResult:
    """The material after the correction; `correction` is None when it was a replay (nothing done)."""

    application: Application
    material: Material
    correction: FieldCorrection | None

    @property
    def applied(self) -> bool:
        return self.correction is not None


# ----------------------------------------------------------------------------- values


def _clean(value: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", value)).strip()


def _invalid(field: str, zh: str, en: str, code: str = "invalid_value") -> list[Reason]:
    return [Reason(code, zh, en, field)]


_DATE = re.compile(r"(\d{4})\s*[年.\-/]\s*(\d{1,2})\s*[月.\-/]\s*(\d{1,2})\s*日?")
_MONEY = re.compile(
    r"^(?:人民币|RMB|USD|美元)?\s*[0-9]+(?:[.,][0-9]+)*\s*(?:万|亿)?\s*(?:元|美元)?\s*(?:人民币)?$"
)
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,22}[0-9]$")
_OPEN_ENDED = ("长期", "永久", "不约定期限")


def _date(text: str) -> date | None:
    m = _DATE.fullmatch(text.strip())
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def check_value(
    validator: str, field: str, value: str, *, today: date | None = None
) -> tuple[str, list[Reason]]:
    """The value as stored (normalised) and why it is not valid for `validator` (empty: valid).

    The catalogue's validators (`FieldSpec.validator`): the identifiers by their check characters,
    dates as calendar dates (stored ISO 8601), date ranges as two dates or an open end, money, phone
    numbers, and text."""
    text = _clean(value)
    if not text:
        return text, _invalid(field, "请填写更正后的内容。", "Enter the corrected value.", "value_blank")
    if len(text) > MAX_VALUE:
        return text, _invalid(
            field, f"内容不能超过 {MAX_VALUE} 个字符。", f"At most {MAX_VALUE} characters.", "value_too_long"
        )
    if validator == "uscc":
        code = re.sub(r"\s", "", text).upper()
        return code, [Reason(p.code, p.zh, p.en, field) for p in uscc_problems(code)]
    if validator == "resident_id":
        number = re.sub(r"\s", "", text).upper()
        problems = resident_id_problems(number, None, today=today)
        return number, [Reason(p.code, p.zh, p.en, field) for p in problems]
    if validator == "date":
        day = _date(text)
        if day is None:
            return text, _invalid(
                field,
                f"“{text}”不是有效日期，请按 YYYY-MM-DD 填写。",
                f"'{text}' is not a date; write it as YYYY-MM-DD.",
                "invalid_date",
            )
        return day.isoformat(), []
    if validator == "date_range":
        parts = [p.strip() for p in re.split(r"\s*(?:至|到|~|～|—|--)\s*", text) if p.strip()]
        ends = [_date(p) for p in parts]
        open_end = len(parts) == 2 and parts[1] in _OPEN_ENDED and ends[0] is not None
        if not (len(parts) == 2 and (open_end or all(ends))) or (
            not open_end and ends[0] is not None and ends[1] is not None and ends[1] < ends[0]
        ):
            return text, _invalid(
                field,
                f"“{text}”不是有效期限，请按“YYYY-MM-DD 至 YYYY-MM-DD”或“YYYY-MM-DD 至 长期”填写。",
                f"'{text}' is not a period; write 'YYYY-MM-DD 至 YYYY-MM-DD' or 'YYYY-MM-DD 至 长期'.",
                "invalid_date_range",
            )
        first = ends[0].isoformat() if ends[0] else parts[0]
        last = parts[1] if open_end else (ends[1].isoformat() if ends[1] else parts[1])
        return f"{first} 至 {last}", []
    if validator == "money":
        if not _MONEY.fullmatch(text):
            return text, _invalid(
                field,
                f"“{text}”不是金额，请填写数字和单位（如“100万元人民币”）。",
                f"'{text}' is not an amount; write a number and its unit (e.g. 100万元人民币).",
                "invalid_money",
            )
        return text, []
    if validator == "phone":
        if not _PHONE.fullmatch(text) or sum(c.isdigit() for c in text) < 7:
            return text, _invalid(
                field,
                f"“{text}”不是电话号码。",
                f"'{text}' is not a phone number.",
                "invalid_phone",
            )
        return text, []
    return text, []


# ----------------------------------------------------------------------------- the use case


def correct(
    deps: ApplicationDeps,
    principal: Principal,
    application_id: str,
    upload_id: str,
    given: CorrectionInput,
) -> CorrectionResult:
    """Record a reviewer's correction of one value (or the type) read from a material."""
    principal.require_reviewer()
    bundle = deps.repository.load(application_id)
    if bundle is None:
        raise not_found()
    application = bundle.application
    reviewer = require_may_decide(principal, application)  # not their own or their party's
    status = ApplicationStatus(application.status)
    if status not in CORRECTABLE_STATUSES:
        raise conflict(
            status,
            application.version,
            "correct",
            zh="只有已提交、已受理且尚未决定的申请可以更正材料识别结果。",
            en="Readings can be corrected only while the application is submitted or accepted, "
            "before the decision.",
        )
    material = next((m for m in bundle.materials if m.upload_id == upload_id), None)
    if material is None:
        raise NotFound(
            "material_not_found", "该申请中没有这份材料。", "There is no such material in this application."
        )
    reason = _clean(given.reason)
    if not reason:
        raise InvalidInput(
            "invalid_correction",
            "更正需要写明理由。",
            "A correction needs a reason.",
            [Reason("reason_required", "请写明更正理由。", "Give the reason for the correction.", "reason")],
        )
    if given.field == MATERIAL_TYPE:
        after, old, new, resolved = _type_change(deps.catalogue, material, given.value)
    else:
        after, old, new, resolved = _field_change(
            deps.catalogue, application, material, given.field, given.value
        )
    if old == new and not resolved and not _overrides(material, given.field):
        return CorrectionResult(application, material, None)  # the same statement again: nothing to do
    now = deps.now()
    correction = FieldCorrection(
        id=deps.new_id(),
        field=given.field,
        old=old,
        new=new,
        reason=reason,
        actor=reviewer.label,
        actor_role=reviewer.primary_role,
        at=now,
        resolved=sorted({p.code for p in resolved}),
    )
    after = _settled(after, material, correction, resolved, now)
    evidence = _evidence_with(application.evidence, after)
    updated = application.model_copy(
        update={"version": application.version + 1, "updated_at": now, "evidence": evidence}
    )
    event = AuditEvent(
        application_id=application.id,
        at=now,
        n=updated.version,
        tag=correction.id[:12],
        actor=reviewer.label,
        actor_role=reviewer.primary_role,
        action="correct_material_type" if given.field == MATERIAL_TYPE else "correct_field",
        from_status=status,
        to_status=status,
        reason=[
            Reason(
                "reviewer_correction",
                f"更正理由：{reason}",
                f"Reason for the correction: {reason}",
                f"materials.{material.slot}.{given.field}",
            )
        ],
        comment=f"{material.slot}/{material.upload_id} {given.field}: {'—' if old is None else old} → {new}",
    )
    deps.repository.apply_correction(application, updated, material, after, event)
    metrics.add_metric(name="MaterialCorrected", unit="Count", value=1)
    return CorrectionResult(updated, after, correction)


def _overrides(material: Material, field: str) -> bool:
    """Setting the type of a rejected-as-not-a-document file is an override even if the type stays."""
    return field == MATERIAL_TYPE and MaterialStatus(material.status) == MaterialStatus.REJECTED


def _correctable(material: Material, field: str) -> None:
    status = MaterialStatus(material.status)
    if material.source == "elicence":
        # A sealed e-licence is read from its verified registry record, not by OCR: nothing to correct.
        raise Conflict(
            "material_not_correctable",
            "电子证照的内容来自证照库并经验签，不能更正。",
            "An e-licence is read from the verified registry record; it cannot be corrected.",
            extra={"current": {"status": status.value, "source": material.source}},
        )
    if status in PINNABLE_STATUSES:
        return
    code = material.reason.code if material.reason else None
    if status == MaterialStatus.REJECTED and field == MATERIAL_TYPE and code in OVERRIDABLE_REJECTIONS:
        return
    raise Conflict(
        "material_not_correctable",
        "这份材料没有可更正的识别结果（尚未处理完成、处理失败或文件无法读取）；请要求申请人补正。",
        "This material has no reading to correct (not processed yet, failed, or unreadable); ask the "
        "applicant for a correction instead.",
        extra={"current": {"status": status.value}},
    )


def _current_type(material: Material) -> str | None:
    return material.classification.material_type if material.classification is not None else None


def _type_change(
    catalogue: Catalogue, material: Material, value: str
) -> tuple[Material, str | None, str, list[Reason]]:
    _correctable(material, MATERIAL_TYPE)
    code = _clean(value)
    known = {t.code for t in catalogue.material_types}
    if code not in known:
        raise InvalidInput(
            "invalid_correction",
            "材料类型无效。",
            "Not a material type.",
            [
                Reason(
                    "unknown_material_type",
                    f"“{code}”不是目录中的材料类型；可选：{', '.join(sorted(known))}。",
                    f"'{code}' is not a material type of the catalogue; "
                    f"choose one of: {', '.join(sorted(known))}.",
                    "value",
                )
            ],
        )
    old = _current_type(material)
    resolved = [p for p in material.problems if p.code in TYPE_PROBLEMS or p.field == MATERIAL_TYPE]
    if material.reason is not None and material.reason.code in OVERRIDABLE_REJECTIONS:
        resolved.append(material.reason)
    classification = Classification(
        material_type=code,
        confidence=1.0,
        reason_zh="材料类型由审核人员确认。",
        reason_en="Material type set by a reviewer.",
    )
    return material.model_copy(update={"classification": classification}), old, code, resolved


def _spec_of(catalogue: Catalogue, material_type: str | None) -> MaterialType | None:
    return next((t for t in catalogue.material_types if t.code == material_type), None)


def _field_change(
    catalogue: Catalogue, application: Application, material: Material, field: str, value: str
) -> tuple[Material, str | None, str, list[Reason]]:
    kind = _spec_of(catalogue, _current_type(material))
    names = [f.name for f in kind.fields] if kind is not None else []
    known = list(dict.fromkeys([*names, *material.fields]))
    if field not in known:
        allowed = ", ".join(known) if known else "material_type"
        raise MalformedRequest(
            "unknown_field",
            f"这类材料没有字段“{field}”；可更正：{allowed}。",
            f"This kind of material has no field '{field}'; correctable: {allowed}.",
            [Reason("unknown_field", f"未知字段“{field}”。", f"Unknown field '{field}'.", "field")],
        )
    _correctable(material, field)
    spec = kind.field(field) if kind is not None else None
    stored, problems = check_value(spec.validator if spec is not None else "text", field, value)
    if problems:
        raise InvalidInput(
            "invalid_correction",
            "更正后的内容不符合该字段的格式。",
            "The corrected value is not valid for this field.",
            [Reason(p.code, p.zh, p.en, "value") for p in problems],
        )
    current = material.fields.get(field)
    old = None if current is None else str(current)
    resolved = [p for p in material.problems if p.field == field]
    fields = {**material.fields, field: stored}
    after = material.model_copy(update={"fields": fields})
    mismatch = _identity_problem(application, material, field, stored)
    if mismatch is not None:
        after = after.model_copy(update={"problems": [*material.problems, mismatch]})
    return after, old, stored, resolved


def _identity_problem(application: Application, material: Material, field: str, value: str) -> Reason | None:
    material_type = material.classification.material_type if material.classification else None
    if _IDENTITY.get((application.applicant.kind, material_type or "")) != field:
        return None
    if value.upper() == application.applicant.code.upper():
        return None
    return Reason(
        "identity_mismatch",
        f"审核人员更正后的号码（{value}）与申请人的（{application.applicant.code}）不一致。",
        f"The number as corrected by the reviewer ({value}) is not the applicant's "
        f"({application.applicant.code}).",
        field,
    )


def _settled(
    after: Material, before: Material, correction: FieldCorrection, resolved: list[Reason], now: Any
) -> Material:
    """The material with the correction listed, the settled problems moved aside and its status."""
    open_problems = [p for p in after.problems if p not in resolved]
    status = MaterialStatus.NEEDS_ATTENTION if open_problems else MaterialStatus.CATALOGUED
    reason = None
    if open_problems:
        first = open_problems[0]
        reason = Reason(
            "needs_attention",
            f"需要人工核对：{first.zh}",
            f"Needs a reviewer's attention: {first.en}",
            first.field,
        )
    return after.model_copy(
        update={
            "fields_as_read": before.fields_as_read
            if before.fields_as_read is not None
            else dict(before.fields),
            "corrections": [*before.corrections, correction],
            "problems": open_problems,
            "resolved_problems": [*before.resolved_problems, *resolved],
            "status": status,
            "reason": reason,
            "updated_at": now,
        }
    )


def _evidence_with(pinned: list[Evidence], material: Material) -> list[Evidence]:
    """The pinned set with the material's corrections beside its hashes (the hashes as pinned); a
    rejected file a reviewer overrode joins the set as it was catalogued."""
    out: list[Evidence] = []
    found = False
    for entry in pinned:
        if entry.upload_id == material.upload_id and entry.slot == material.slot:
            out.append(entry.model_copy(update={"corrections": list(material.corrections)}))
            found = True
        else:
            out.append(entry)
    if not found:
        out.append(Evidence.of(material))
    return sorted(out, key=lambda e: (e.slot, e.upload_id))
