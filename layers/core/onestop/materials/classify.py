"""Which catalogue material type a document is, from the words on it, with the cues that decided it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from onestop.errors import Reason

# (zh, en) names of the shared material type codes.
MATERIAL_TYPES: dict[str, tuple[str, str]] = {
    "business_licence": ("营业执照", "business licence"),
    "resident_id_card": ("居民身份证", "resident ID card"),
    "application_form": ("申请表", "application form"),
    "site_certificate": ("场地使用证明/租赁合同", "lease or site certificate"),
    "articles_of_association": ("公司章程", "articles of association"),
    "land_use_certificate": ("土地使用权证明", "land-use right certificate"),
    "site_plan": ("平面布置图", "site plan"),
    "safety_approval": ("安全条件审查/安全评价意见", "safety review or assessment opinion"),
    "fire_approval": ("消防验收意见", "fire-safety acceptance opinion"),
    "name_preapproval": ("企业名称预先核准通知书", "enterprise name pre-approval notice"),
    "power_of_attorney": ("授权委托书", "power of attorney"),
    "environmental_approval": ("环境影响评价批复", "environmental impact approval"),
    "financial_statement": ("财务审计报告", "audited financial statement"),
    "qualification_certificate": ("资质/资格证书", "qualification certificate"),
    "other": ("其他材料", "other material"),
}

# Cue words per type and their weight. A title word (weight >= 3) alone is enough; field labels add up.
_CUES: dict[str, tuple[tuple[str, float], ...]] = {
    "business_licence": (
        ("营业执照", 4),
        ("统一社会信用代码", 3),
        ("法定代表人", 1.5),
        ("注册资本", 1.5),
        ("成立日期", 1.5),
        ("营业期限", 1.5),
        ("经营范围", 1.5),
        ("登记机关", 1.5),
        ("住所", 0.5),
        ("类型", 0.3),
        ("国家企业信用信息公示系统", 1),
    ),
    "resident_id_card": (
        ("公民身份号码", 4),
        ("公民身份证号码", 4),
        ("居民身份证", 3),
        ("中华人民共和国居民身份证", 2),
        ("签发机关", 1),
        ("有效期限", 0.8),
        ("姓名", 0.7),
        ("性别", 1),
        ("民族", 1.5),
        ("出生", 1),
        ("住址", 1.5),
    ),
    "application_form": (
        ("申请表", 4),
        ("申请书", 3),
        ("申请人", 1.5),
        ("申请事项", 1.5),
        ("申请日期", 1.5),
        ("联系电话", 1),
        ("联系人", 0.8),
        ("申请人签字", 1),
        ("申请人（签字", 1),
        ("盖章", 0.3),
    ),
    "site_certificate": (
        ("租赁合同", 4),
        ("场地使用证明", 4),
        ("房屋租赁", 3),
        ("出租方", 2),
        ("承租方", 2),
        ("出租人", 1.5),
        ("承租人", 1.5),
        ("租赁期限", 2),
        ("租金", 1.5),
        ("甲方", 0.5),
        ("乙方", 0.5),
    ),
    "articles_of_association": (
        ("公司章程", 4),
        ("章程", 1.5),
        ("股东会", 1.5),
        ("股东", 0.8),
        ("出资方式", 1.5),
        ("出资额", 1),
        ("董事会", 1),
        ("监事", 1),
        ("总则", 0.8),
    ),
    "land_use_certificate": (
        ("土地使用权", 4),
        ("国有土地使用证", 4),
        ("不动产权证书", 4),
        ("宗地", 2),
        ("地号", 1.5),
        ("使用权面积", 2),
        ("使用权类型", 2),
        ("土地用途", 1.5),
        ("权利人", 1),
    ),
    "site_plan": (
        ("平面布置图", 4),
        ("平面图", 3),
        ("总平面", 3),
        ("比例", 0.8),
        ("图例", 1.5),
        ("储罐", 1),
        ("加油机", 1),
    ),
    "safety_approval": (
        ("安全条件审查", 4),
        ("安全评价", 3),
        ("安全预评价", 3),
        ("安全验收评价", 3),
        ("应急管理局", 1.5),
        ("安全生产", 1),
    ),
    "fire_approval": (
        ("消防验收", 4),
        ("消防安全检查", 3),
        ("消防", 1.5),
        ("消防救援", 1),
        ("验收意见", 1),
        ("合格", 0.5),
    ),
    "name_preapproval": (
        ("企业名称预先核准通知书", 5),
        ("名称预先核准", 4),
        ("预先核准", 2),
        ("企业名称", 0.8),
        ("保留期", 1.5),
    ),
    "power_of_attorney": (
        ("授权委托书", 4),
        ("委托书", 2.5),
        ("委托人", 1.5),
        ("受托人", 1.5),
        ("委托代理人", 1.5),
        ("委托事项", 1.5),
        ("委托期限", 1),
    ),
    "environmental_approval": (
        ("环境影响评价", 3),
        ("环境影响报告", 3),
        ("环评", 2),
        ("批复", 1.5),
        ("生态环境局", 1.5),
        ("污染", 0.8),
    ),
    "financial_statement": (
        ("审计报告", 4),
        ("资产负债表", 3),
        ("利润表", 2.5),
        ("现金流量表", 2.5),
        ("会计师事务所", 1.5),
        ("注册会计师", 1.5),
        ("财务报表", 2),
    ),
    "qualification_certificate": (
        ("资质证书", 4),
        ("资格证书", 4),
        ("许可证", 2.5),
        ("证书编号", 1.5),
        ("发证机关", 1.5),
        ("发证日期", 1),
        ("有效期至", 0.8),
    ),
}

_ID_NUMBER = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")
_USCC = re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NP-RT-UW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RT-UW-Y]{10}(?![0-9A-Z])")

# Fewer meaningful characters than this: nothing a reviewer could read as a document.
MIN_DOCUMENT_CHARS = 4
CONFIDENT = 0.6


@dataclass(frozen=True)
class Classification:
    """The decided material type, how sure, and why (zh/en, naming the matched cues)."""

    material_type: str
    confidence: float
    reason_zh: str
    reason_en: str
    cues: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)
    is_document: bool = True

    def as_dict(self) -> dict[str, object]:
        return {
            "material_type": self.material_type,
            "confidence": round(self.confidence, 3),
            "reason_zh": self.reason_zh,
            "reason_en": self.reason_en,
        }


def compact(text: str) -> str:
    """NFKC, no blanks: OCR splits and spaces words unpredictably ('营 业 执 照')."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def meaningful_chars(text: str) -> int:
    return sum(1 for ch in text if unicodedata.category(ch) in {"Lu", "Ll", "Lt", "Lo", "Nd"})


def type_name(code: str) -> tuple[str, str]:
    return MATERIAL_TYPES.get(code, MATERIAL_TYPES["other"])


def _score(flat: str) -> tuple[dict[str, float], dict[str, list[str]]]:
    scores: dict[str, float] = {}
    matched: dict[str, list[str]] = {}
    for code, cues in _CUES.items():
        total = 0.0
        hits: list[str] = []
        for cue, weight in cues:
            if cue in flat:
                # A longer cue that contains a shorter one already counted is the same evidence.
                if any(cue in h for h in hits):
                    continue
                total += weight
                hits.append(cue)
        if _ID_NUMBER.search(flat) and code == "resident_id_card":
            total += 1.0
            hits.append("18位身份号码")
        if _USCC.search(flat) and code == "business_licence":
            total += 1.0
            hits.append("18位信用代码")
        if total:
            scores[code] = total
            matched[code] = hits
    return scores, matched


def classify(text: str) -> Classification:
    """Classify the document text (OCR lines joined, or the PDF text layer)."""
    flat = compact(text)
    if meaningful_chars(flat) < MIN_DOCUMENT_CHARS:
        return Classification(
            "other",
            0.0,
            "未识别到文字，不像是一份文件（可能是空白页、纯色图片或照片）。",
            "No readable text was found; this does not look like a document "
            "(blank page, plain image or photo).",
            is_document=False,
        )
    scores, matched = _score(flat)
    if not scores:
        return Classification(
            "other",
            0.3,
            "未匹配到任何已知材料类型的特征词。",
            "None of the cue words of a known material type were found.",
        )
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    best, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    # Strength: saturates at a title word plus two labels; margin: how clearly it beats the runner-up.
    strength = min(1.0, top / 6.0)
    margin = (top - second) / top
    confidence = round(strength * (0.5 + 0.5 * margin), 3)
    zh_name, en_name = type_name(best)
    cues = tuple(matched[best])
    shown_zh = "、".join(f"“{c}”" for c in cues[:6])
    shown_en = ", ".join(f"'{c}'" for c in cues[:6])
    return Classification(
        best,
        confidence,
        f"识别为{zh_name}：匹配到 {shown_zh}。",
        f"Classified as {en_name}: matched {shown_en}.",
        cues=cues,
        scores=dict(ranked),
    )


def mismatch_problem(found: str, expected: str) -> Reason:
    """The upload's class differs from the slot it was uploaded into."""
    found_zh, found_en = type_name(found)
    exp_zh, exp_en = type_name(expected)
    article = "an" if found_en[:1] in "aeiou" else "a"
    return Reason(
        "material_type_mismatch",
        f"该文件看起来是{found_zh}，却作为{exp_zh}上传；请确认是否传错了文件。",
        f"This looks like {article} {found_en}, uploaded as the {exp_en}; "
        "check that the right file was uploaded.",
        "material_type",
    )


def low_confidence_problem(result: Classification) -> Reason:
    zh, en = type_name(result.material_type)
    return Reason(
        "classification_uncertain",
        f"无法确定材料类型（最可能是{zh}，置信度 {result.confidence:.2f}），需要人工确认。",
        f"The material type is uncertain (most likely {en}, confidence {result.confidence:.2f}); "
        "a reviewer needs to confirm it.",
        "material_type",
    )
