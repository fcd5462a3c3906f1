"""Key fields per material type, read from OCR lines or a text layer, validated and cross-checked.

A failing check never hides a value: the value is kept and the check becomes a problem on the material
(code, zh, en, field) for the reviewer to see.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from onestop.errors import Reason
from onestop.identifiers.resident_id import resident_id_problems
from onestop.identifiers.uscc import uscc_problems


class ApplicantLike(Protocol):
    """What the cross-check needs of an applicant (`onestop.applications.models.Applicant` fits)."""

    @property
    def kind(self) -> str: ...

    @property
    def code(self) -> str: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class ExtractedFields:
    """Field values (shared field names) and the problems their checks found."""

    values: dict[str, str]
    problems: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class _Label:
    field: str
    pattern: str
    multiline: bool = False


# Labels per material type, most specific first (a longer label wins over a shorter one it contains).
_ENTERPRISE = (
    _Label("uscc", r"统一社会信用代码"),
    _Label("enterprise_name", r"(?:企业|单位|公司)?名\s*称"),
    _Label("legal_representative", r"法定代表人|负责人|经营者|投资人"),
    _Label("registered_capital", r"注册资本"),
    _Label("established_date", r"成立日期|注册日期"),
    _Label("business_term", r"营业期限|经营期限"),
    _Label("business_scope", r"经营范围", multiline=True),
    _Label("issuing_authority", r"登记机关"),
    _Label("address", r"住\s*所|经营场所|营业场所", multiline=True),
    _Label("_type", r"类\s*型"),
)
_LABELS: dict[str, tuple[_Label, ...]] = {
    "business_licence": _ENTERPRISE,
    "name_preapproval": _ENTERPRISE,
    "resident_id_card": (
        _Label("id_number", r"公民身份(?:证)?号码"),
        _Label("person_name", r"姓\s*名"),
        _Label("sex", r"性\s*别"),
        _Label("ethnicity", r"民\s*族"),
        _Label("birth_date", r"出\s*生"),
        _Label("address", r"住\s*址", multiline=True),
        _Label("issuing_authority", r"签发机关"),
        _Label("_validity", r"有效期限"),
    ),
    "application_form": (
        _Label("uscc", r"统一社会信用代码"),
        _Label("applicant_name", r"申请人(?:名称|姓名)?|申请单位(?:名称)?"),
        _Label("legal_representative", r"法定代表人"),
        _Label("contact_phone", r"联系电话|手机号码|电话"),
        _Label("_contact", r"联系人"),
        _Label("address", r"(?:经营|通讯|联系|注册)?地址|住\s*所", multiline=True),
        _Label("_item", r"申请事项"),
        _Label("_date", r"申请日期"),
    ),
    "site_certificate": (
        # "出租方（甲方）": the role in brackets belongs to the label (text is NFKC: brackets are ASCII).
        _Label("lessor", r"出租[方人](?:\s*\([^)]{0,6}\))?|甲方(?:\s*\([^)]{0,6}\))?"),
        _Label("lessee", r"承租[方人](?:\s*\([^)]{0,6}\))?|乙方(?:\s*\([^)]{0,6}\))?"),
        _Label("lease_term", r"租赁期限|租期"),
        _Label("address", r"(?:房屋|场地)?(?:坐落|地址|位置)", multiline=True),
    ),
    "power_of_attorney": (
        _Label("_principal", r"委托人"),
        _Label("_agent", r"受托人|委托代理人"),
        _Label("id_number", r"身份证(?:号码|号)"),
    ),
}

_USCC_CHARS = "0-9A-HJ-NP-RT-UW-Y"
_USCC_RE = re.compile(rf"(?<![0-9A-Z])[{_USCC_CHARS}]{{18}}(?![0-9A-Z])")
_ID_RE = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9X](?![0-9])")
# Letters that never occur in a USCC and the digits OCR mistakes them for.
_USCC_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "Z": "2", "S": "5"})
_DATE_RE = re.compile(r"(\d{4})\s*[年.\-/]\s*(\d{1,2})\s*[月.\-/]\s*(\d{1,2})\s*日?")
_PHONE_RE = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)")
_SEPARATORS = " :：\t"


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _squeeze(value: str) -> str:
    """Drop blanks OCR puts between CJK characters; keep single blanks between Latin words."""
    value = re.sub(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])", "", value)
    return re.sub(r"\s+", " ", value).strip(_SEPARATORS + "，,;；")


def parse_date(text: str) -> date | None:
    """'2013年05月06日', '2013.5.6', '2013-05-06' -> date; None when there is no real date."""
    m = _DATE_RE.search(_norm(text))
    if not m:
        compact = re.sub(r"\D", "", text)
        if len(compact) == 8:
            m2 = (compact[:4], compact[4:6], compact[6:])
            try:
                return date(int(m2[0]), int(m2[1]), int(m2[2]))
            except ValueError:
                return None
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _segments(lines: Sequence[str], labels: Sequence[_Label]) -> list[tuple[_Label | None, str]]:
    """Split every line at the labels it contains: [(label or None, text after it), ...]."""
    combined = re.compile("|".join(f"(?P<L{i}>{lab.pattern})" for i, lab in enumerate(labels)))
    out: list[tuple[_Label | None, str]] = []
    for raw in lines:
        line = _norm(raw)
        if not line:
            continue
        pos = 0
        current: _Label | None = None
        for m in combined.finditer(line):
            chunk = line[pos : m.start()]
            if current is not None or chunk.strip():
                out.append((current, chunk))
            current = labels[int((m.lastgroup or "L0")[1:])]
            pos = m.end()
        out.append((current, line[pos:]))
        out.append((None, "\n"))  # line break marker
    return out


def _label_values(lines: Sequence[str], labels: Sequence[_Label]) -> dict[str, str]:
    segs = _segments(lines, labels)
    values: dict[str, str] = {}
    for i, (label, text) in enumerate(segs):
        if label is None or label.field in values:
            continue
        value = text.strip(_SEPARATORS)
        j = i + 1
        if not value:
            # Label alone: the value is the next unlabelled text (on this or the following line).
            while j < len(segs) and segs[j][0] is None:
                if segs[j][1] != "\n" and segs[j][1].strip(_SEPARATORS):
                    value = segs[j][1].strip(_SEPARATORS)
                    j += 1
                    break
                j += 1
        if label.multiline:
            # Continue onto following lines that carry no label (a wrapped address).
            while j < len(segs) and segs[j][0] is None:
                if segs[j][1] != "\n":
                    value += segs[j][1].strip()
                j += 1
        if value:
            values[label.field] = _squeeze(value)
    return values


def _find_uscc(text: str) -> str | None:
    flat = re.sub(r"\s+", "", _norm(text)).upper().translate(_USCC_CONFUSABLE)
    m = _USCC_RE.search(flat)
    return m.group(0) if m else None


def _find_id(text: str) -> str | None:
    flat = re.sub(r"\s+", "", _norm(text)).upper()
    m = _ID_RE.search(flat)
    return m.group(0) if m else None


def _missing(field: str, zh_name: str, en_name: str, type_zh: str) -> Reason:
    return Reason(
        "field_missing",
        f"未能在{type_zh}上识别出{zh_name}，请确认文件清晰完整。",
        f"Could not read the {en_name} on the document; check that the file is clear and complete.",
        field,
    )


_FIELD_NAMES = {
    "uscc": ("统一社会信用代码", "unified social credit code"),
    "enterprise_name": ("名称", "enterprise name"),
    "id_number": ("公民身份号码", "citizen identity number"),
    "person_name": ("姓名", "name"),
}
_REQUIRED = {
    "business_licence": ("uscc", "enterprise_name"),
    "resident_id_card": ("id_number", "person_name"),
}


def _same_name(a: str, b: str) -> bool:
    flat = lambda s: re.sub(r"[\s()（）]", "", _norm(s))  # noqa: E731
    return flat(a) == flat(b)


def _cross_check(
    values: Mapping[str, str], applicant: ApplicantLike | None, material_type: str
) -> list[Reason]:
    if applicant is None:
        return []
    out: list[Reason] = []
    if applicant.kind == "enterprise":
        code = values.get("uscc")
        if code and material_type in ("business_licence", "application_form") and code != applicant.code:
            out.append(
                Reason(
                    "uscc_not_applicant",
                    f"文件上的统一社会信用代码 {code} 与申请人的 {applicant.code} 不一致。",
                    f"The unified social credit code on the document, {code}, is not the applicant's "
                    f"({applicant.code}).",
                    "uscc",
                )
            )
        name = values.get("enterprise_name")
        if name and material_type == "business_licence" and not _same_name(name, applicant.name):
            out.append(
                Reason(
                    "name_not_applicant",
                    f"营业执照上的名称“{name}”与申请人“{applicant.name}”不一致。",
                    f"The name on the licence, '{name}', differs from the applicant's, '{applicant.name}'.",
                    "enterprise_name",
                )
            )
    elif applicant.kind == "person" and material_type == "resident_id_card":
        number = values.get("id_number")
        if number and number != applicant.code.upper():
            out.append(
                Reason(
                    "id_not_applicant",
                    "身份证上的公民身份号码与申请人的不一致。",
                    "The citizen identity number on the card is not the applicant's.",
                    "id_number",
                )
            )
        name = values.get("person_name")
        if name and not _same_name(name, applicant.name):
            out.append(
                Reason(
                    "name_not_applicant",
                    f"身份证上的姓名“{name}”与申请人“{applicant.name}”不一致。",
                    f"The name on the card, '{name}', differs from the applicant's, '{applicant.name}'.",
                    "person_name",
                )
            )
    return out


def _validity(values: dict[str, str], raw: str) -> None:
    dates = [m for m in _DATE_RE.finditer(_norm(raw))]
    parsed = [parse_date(m.group(0)) for m in dates]
    if parsed and parsed[0]:
        values["valid_from"] = parsed[0].isoformat()
    if len(parsed) > 1 and parsed[1]:
        values["valid_until"] = parsed[1].isoformat()
    elif "长期" in raw:
        values["valid_until"] = "长期"


def extract_fields(
    material_type: str,
    lines: Sequence[str],
    applicant: ApplicantLike | None = None,
    *,
    today: date | None = None,
) -> ExtractedFields:
    """Fields for `material_type` from text lines in reading order, with their problems."""
    labels = _LABELS.get(material_type, ())
    raw = _label_values(lines, labels) if labels else {}
    text = "\n".join(lines)
    values: dict[str, str] = {}
    problems: list[Reason] = []

    for field, value in raw.items():
        if not field.startswith("_"):
            values[field] = value

    # Identifiers: prefer the labelled value, else any well-formed code in the text.
    if (
        material_type in ("business_licence", "name_preapproval", "application_form", "other")
        or "uscc" in raw
    ):
        code = _find_uscc(raw.get("uscc", "")) or _find_uscc(text)
        if code:
            values["uscc"] = code
        else:
            values.pop("uscc", None)
    if material_type in ("resident_id_card", "power_of_attorney") or "id_number" in raw:
        number = _find_id(raw.get("id_number", "")) or _find_id(text)
        if number:
            values["id_number"] = number
        else:
            values.pop("id_number", None)
    if "contact_phone" in values:
        phone = _PHONE_RE.search(values["contact_phone"].replace(" ", ""))
        if phone:
            values["contact_phone"] = phone.group(0)

    # Dates to ISO 8601; an unreadable date is a problem, the raw text is kept.
    for field in ("established_date", "birth_date"):
        if field in values:
            parsed = parse_date(values[field])
            if parsed:
                values[field] = parsed.isoformat()
            else:
                problems.append(
                    Reason(
                        "date_unreadable",
                        f"无法识别日期“{values[field]}”。",
                        f"The date '{values[field]}' could not be read.",
                        field,
                    )
                )
    if "_validity" in raw:
        _validity(values, raw["_validity"])
    if "sex" in values:
        sex = "男" if "男" in values["sex"] else "女" if "女" in values["sex"] else values["sex"]
        values["sex"] = sex
    if "ethnicity" in values:
        values["ethnicity"] = values["ethnicity"].split(" ")[0]

    # Check characters and internal consistency.
    if "uscc" in values:
        problems.extend(uscc_problems(values["uscc"]))
    if "id_number" in values:
        birth = date.fromisoformat(values["birth_date"]) if _is_iso(values.get("birth_date")) else None
        problems.extend(resident_id_problems(values["id_number"], birth, today=today))
        number = values["id_number"]
        if values.get("sex") in ("男", "女") and number[16:17].isdigit():
            printed_male = values["sex"] == "男"
            if (int(number[16]) % 2 == 1) != printed_male:
                problems.append(
                    Reason(
                        "resident_id_sex_mismatch",
                        "公民身份号码第17位表示的性别与证件上的性别不一致。",
                        "The sex encoded in the 17th digit of the number differs from the sex "
                        "printed on the card.",
                        "sex",
                    )
                )
    type_zh = _type_zh(material_type)
    for field in _REQUIRED.get(material_type, ()):
        if field not in values:
            zh, en = _FIELD_NAMES[field]
            problems.append(_missing(field, zh, en, type_zh))
    problems.extend(_cross_check(values, applicant, material_type))
    return ExtractedFields(values=values, problems=tuple(problems))


def _is_iso(value: str | None) -> bool:
    return bool(value) and bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value or ""))


def _type_zh(material_type: str) -> str:
    from .classify import type_name

    return type_name(material_type)[0]
