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

from onestop.catalogue import Catalogue, FieldSpec, MaterialType
from onestop.errors import Conflict, InvalidInput, MalformedRequest, NotFound, Reason
from onestop.materials import validators
from onestop.materials.classify import type_name
from onestop.materials.validators import Checked
from onestop.observability import metrics

from . import assignment
from .access import not_found
from .clock import SHANGHAI
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


def check_value(spec: FieldSpec | None, field: str, value: str, *, today: date | None = None) -> Checked:
    """The value as stored and why it is not valid: the catalogue's validator for the field
    (`onestop.materials.validators`, as ingest checks what it reads); a field the catalogue does not
    describe (read by an older pipeline) takes any non-blank text of a sensible length."""
    text = _clean(value)
    if not text:
        return Checked(
            None, (Reason("value_blank", "请填写更正后的内容。", "Enter the corrected value.", field),)
        )
    if len(text) > MAX_VALUE:
        why = Reason(
            "value_too_long", f"内容不能超过 {MAX_VALUE} 个字符。", f"At most {MAX_VALUE} characters.", field
        )
        return Checked(None, (why,))
    if spec is None:
        return Checked(text)
    checked = validators.check(text, spec, labels=spec.label_variants, today=today)
    if checked.value is None and not checked.problems:  # a validator that says no without a reason
        return Checked(None, (validators.invalid(spec, text, "无效", "is not valid"),))
    return checked


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
        after, old, new, resolved = _type_change(deps.catalogue.of(application), material, given.value)
    else:
        today = deps.now().astimezone(SHANGHAI).date()
        after, old, new, resolved = _field_change(
            deps.catalogue.of(application), application, material, given.field, given.value, today
        )
    if old == new and not resolved and not _overrides(material, given.field):
        return CorrectionResult(application, material, None)  # the same statement again: nothing to do
    assignment.before_action(deps, reviewer, application, "correct")  # the owner's work (or claims it)
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
    still_open = [p for p in material.problems if p not in resolved]
    return (
        material.model_copy(update={"classification": classification, "problems": still_open}),
        old,
        code,
        resolved,
    )


def _spec_of(catalogue: Catalogue, material_type: str | None) -> MaterialType | None:
    return next((t for t in catalogue.material_types if t.code == material_type), None)


def _field_change(
    catalogue: Catalogue, application: Application, material: Material, field: str, value: str, today: date
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
    checked = check_value(spec, field, value, today=today)
    if checked.value is None:
        raise InvalidInput(
            "invalid_correction",
            "更正后的内容不符合该字段的格式。",
            "The corrected value is not valid for this field.",
            [Reason(p.code, p.zh, p.en, "value") for p in checked.problems],
        )
    stored = checked.value
    current = material.fields.get(field)
    old = None if current is None else str(current)
    resolved = [p for p in material.problems if p.field == field]
    fields = {**material.fields, field: stored}
    if spec is not None and spec.parts is not None and checked.parts:
        # A period split into two fields on the document (valid from / until): both follow the value.
        start, until = spec.parts
        fields[start], fields[until] = checked.parts["from"], checked.parts["until"]
        resolved += [p for p in material.problems if p.field in (start, until)]
    still_open = [p for p in material.problems if p not in resolved]
    if spec is not None:
        # Imported here: the field reader brings the OCR stack (numpy) the api function never needs.
        from onestop.materials.fields import cross_check as catalogue_cross_check

        doc_zh, doc_en = type_name(kind.code if kind is not None else "other")
        mismatch = catalogue_cross_check(spec, stored, application.applicant, doc_zh, doc_en)
        if mismatch is not None:  # the document, as the reviewer reads it, is not the applicant's
            still_open.append(mismatch)
    return material.model_copy(update={"fields": fields, "problems": still_open}), old, stored, resolved


def _settled(
    after: Material, before: Material, correction: FieldCorrection, resolved: list[Reason], now: Any
) -> Material:
    """The material with the correction listed, the settled problems moved aside and its status."""
    open_problems = after.problems  # the change already took out what it settled
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
