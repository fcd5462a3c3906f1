"""The completeness check behind the one-time notice (一次性告知).

Administrative Licensing Law art. 32: when materials are incomplete the applicant is told everything
missing at once. So the check never stops at the first problem: it walks every material slot of the
item and returns one reason per thing the applicant must fix, in the item's slot order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from onestop.catalogue import MaterialRequirement, ServiceItem
from onestop.errors import Reason

from .models import Applicant, Material, MaterialStatus

_BAD = {MaterialStatus.REJECTED, MaterialStatus.FAILED, MaterialStatus.NEEDS_ATTENTION}
# Problems the reviewer settles (is the machine's guess of the document type right? is a value it
# read with low confidence right?): they are shown to the reviewer, who confirms or corrects them
# (`corrections.py`), but must not hold up the applicant, who did nothing wrong.
REVIEWER_ONLY_PROBLEMS = frozenset({"classification_uncertain", "normalisation_failed", "field_uncertain"})


def _for_reviewer_only(material: Material) -> bool:
    codes = {p.code for p in material.problems}
    return bool(codes) and codes <= REVIEWER_ONLY_PROBLEMS


# Material types that, in an application by this kind of applicant, identify the applicant itself;
# the code read from the document must then be the applicant's own.
_IDENTITY_FIELDS = {
    ("enterprise", "business_licence"): ("uscc", "统一社会信用代码", "unified social credit code"),
    ("person", "resident_id_card"): ("id_number", "公民身份号码", "resident ID number"),
}


@dataclass(frozen=True)
class Notice:
    """The one-time notice: every reason, plus the whole text in both languages."""

    reasons: list[Reason]
    zh: str
    en: str


def _label(material: Material) -> tuple[str, str]:
    name = material.declared.filename if material.declared else material.upload_id
    return f"文件「{name}」", f"file '{name}'"


def _slot_field(requirement: MaterialRequirement) -> str:
    return f"materials.{requirement.slot}"


def _needed(requirement: MaterialRequirement) -> int:
    if requirement.requirement != "required":
        return 0  # conditional ones depend on facts only a reviewer can judge
    return max(1, requirement.min_count)


def _mismatch(requirement: MaterialRequirement, applicant: Applicant, material: Material) -> Reason | None:
    """Why a catalogued material does not fit its slot (wrong kind of document, someone else's)."""
    label_zh, label_en = _label(material)
    found = material.classification.material_type if material.classification else None
    if requirement.material_type != "other" and found is not None and found != requirement.material_type:
        return Reason(
            "material_mismatched",
            f"「{requirement.name_zh}」：{label_zh}识别为其他类型的材料（{found}），"
            f"不是{requirement.name_zh}，请上传正确的材料。",
            f"'{requirement.name_en}': {label_en} was recognised as a different document ({found}), "
            f"not a {requirement.name_en}; upload the right document.",
            _slot_field(requirement),
        )
    identity = _IDENTITY_FIELDS.get((applicant.kind, requirement.material_type))
    if identity is not None:
        field_name, name_zh, name_en = identity
        read = material.fields.get(field_name)
        if isinstance(read, str) and read.strip() and read.strip().upper() != applicant.code.upper():
            return Reason(
                "material_identity_mismatch",
                f"「{requirement.name_zh}」：{label_zh}上的{name_zh}（{read}）与申请人的（{applicant.code}）"
                "不一致，请上传申请人本人的材料。",
                f"'{requirement.name_en}': the {name_en} on {label_en} ({read}) is not the applicant's "
                f"({applicant.code}); upload the applicant's own document.",
                _slot_field(requirement),
            )
    return None


def _bad_reason(requirement: MaterialRequirement, material: Material) -> Reason:
    label_zh, label_en = _label(material)
    why_zh = material.reason.zh if material.reason else ""
    why_en = material.reason.en if material.reason else ""
    if not why_zh and material.problems:
        why_zh = "；".join(p.zh for p in material.problems)
        why_en = "; ".join(p.en for p in material.problems)
    status = MaterialStatus(material.status)
    verdict_zh, verdict_en = {
        MaterialStatus.REJECTED: ("未通过检查", "was rejected"),
        MaterialStatus.FAILED: ("处理失败", "could not be processed"),
        MaterialStatus.NEEDS_ATTENTION: ("存在问题", "has problems"),
    }[status]
    return Reason(
        f"material_{status.value}",
        f"「{requirement.name_zh}」：{label_zh}{verdict_zh}"
        + (f"（{why_zh}）" if why_zh else "")
        + "，请重新上传。",
        f"'{requirement.name_en}': {label_en} {verdict_en}"
        + (f" ({why_en})" if why_en else "")
        + "; upload it again.",
        _slot_field(requirement),
    )


def _slot_reasons(
    requirement: MaterialRequirement, applicant: Applicant, materials: list[Material]
) -> list[Reason]:
    good: list[Material] = []
    bad: list[Reason] = []
    processing: list[Material] = []
    waiting: list[Material] = []
    for material in materials:
        status = MaterialStatus(material.status)
        if status == MaterialStatus.NEEDS_ATTENTION and _for_reviewer_only(material):
            status = MaterialStatus.CATALOGUED
        if status == MaterialStatus.CATALOGUED:
            mismatch = _mismatch(requirement, applicant, material)
            if mismatch is None:
                good.append(material)
            else:
                bad.append(mismatch)
        elif status in _BAD:
            bad.append(_bad_reason(requirement, material))
        elif status == MaterialStatus.PROCESSING:
            processing.append(material)
        else:
            waiting.append(material)

    out: list[Reason] = [
        Reason(
            "material_processing",
            f"「{requirement.name_zh}」：{_label(m)[0]}仍在识别处理中，请稍候处理完成后再提交。",
            f"'{requirement.name_en}': {_label(m)[1]} is still being processed; submit once it is done.",
            _slot_field(requirement),
        )
        for m in processing
    ]
    needed = _needed(requirement)
    shortfall = needed - len(good)
    if shortfall > 0:
        out.extend(bad)
        out.extend(
            Reason(
                "material_not_received",
                f"「{requirement.name_zh}」：{_label(m)[0]}尚未收到，请完成上传。",
                f"'{requirement.name_en}': {_label(m)[1]} has not arrived; finish the upload.",
                _slot_field(requirement),
            )
            for m in waiting
        )
        if not bad and shortfall > len(processing) + len(waiting):
            if not good:
                out.append(
                    Reason(
                        "material_missing",
                        f"缺少必需材料「{requirement.name_zh}」，请上传。",
                        f"The required material '{requirement.name_en}' is missing; upload it.",
                        _slot_field(requirement),
                    )
                )
            else:
                out.append(
                    Reason(
                        "material_too_few",
                        f"「{requirement.name_zh}」至少需要 {needed} 份，"
                        f"目前只有 {len(good)} 份，请补充上传。",
                        f"'{requirement.name_en}' needs at least {needed} files; there are {len(good)}. "
                        "Upload the rest.",
                        _slot_field(requirement),
                    )
                )
    if len(good) > requirement.max_count:
        out.append(
            Reason(
                "material_too_many",
                f"「{requirement.name_zh}」最多 {requirement.max_count} 份，"
                f"目前有 {len(good)} 份，请删除多余的文件。",
                f"'{requirement.name_en}' takes at most {requirement.max_count} files; "
                f"there are {len(good)}. "
                "Remove the extra ones.",
                _slot_field(requirement),
            )
        )
    return out


def check_completeness(
    item: ServiceItem, applicant: Applicant, materials: Sequence[Material]
) -> list[Reason]:
    """Every problem that stops submission, in the item's slot order (empty: complete)."""
    reasons: list[Reason] = []
    for requirement in item.materials:
        reasons.extend(
            _slot_reasons(requirement, applicant, [m for m in materials if m.slot == requirement.slot])
        )
    return reasons


def notice(item: ServiceItem, reasons: Sequence[Reason]) -> Notice:
    """The notice text listing every reason at once, numbered, in Chinese and English."""
    zh_lines = [f"{i}. {r.zh}" for i, r in enumerate(reasons, 1)]
    en_lines = [f"{i}. {r.en}" for i, r in enumerate(reasons, 1)]
    zh = (
        f"一次性告知：您申请的「{item.name_zh}」材料还有 {len(reasons)} 项需要补正，"
        "请按以下清单一次性补齐后再提交：\n" + "\n".join(zh_lines)
    )
    en = (
        f"One-time notice: your application for '{item.name_en}' has {len(reasons)} material "
        "problem(s). Fix all of them, then submit again:\n" + "\n".join(en_lines)
    )
    return Notice(list(reasons), zh, en)
