"""Field validators named by the catalogue (FieldSpec.validator): each cleans a value as read or says why
it is not one.

`check(raw, spec, ...)` returns the cleaned value, or None with the problems (zh/en `Reason`, field set)
that make it unusable. A value that fails is never returned as if valid; the caller keeps the raw
reading beside the problem for the reviewer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from onestop.catalogue.loader import load_catalogue
from onestop.catalogue.models import FieldSpec
from onestop.errors import Reason
from onestop.identifiers.resident_id import resident_id_problems
from onestop.identifiers.uscc import uscc_problems

_CJK = r"\u3400-\u9fff"
_STRIP = " \t:：;；,，、|。.-—_"
_USCC_CHARS = "0-9A-HJ-NP-RT-UW-Y"
USCC_RE = re.compile(rf"(?<![0-9A-Z])[{_USCC_CHARS}]{{18}}(?![0-9A-Z])")
ID_RE = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9X](?![0-9])")
# Letters that never occur in a USCC and the digits OCR mistakes them for.
_USCC_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "Z": "2", "S": "5"})
_DATE_RE = re.compile(r"(\d{4})\s*[年.\-/]\s*(\d{1,2})\s*[月.\-/]\s*(\d{1,2})\s*日?")
_OPEN_END = re.compile(r"长期|永久|长久|无固定期限|不约定期限")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-?(\d{7,8})(?!\d)")
_LEGAL_FORMS = (
    "有限责任公司", "股份有限公司", "有限公司", "公司", "合伙企业", "个人独资企业", "企业", "集团",
    "厂", "店", "中心", "事务所", "合作社", "商行", "经营部", "门市部", "商店", "超市", "工作室",
    "分公司", "分店", "研究院", "研究所", "医院", "诊所", "学校", "协会", "商会", "基金会", "委员会",
    "局", "场", "站", "社", "行", "馆", "院", "所", "部", "处",
)  # fmt: skip
_AUTHORITY_ENDS = (
    "局", "分局", "委员会", "委", "厅", "部", "所", "中心", "院", "处", "办公室", "办", "政府", "署",
    "站", "队", "大队", "支队", "科", "会", "馆", "事务所",
)  # fmt: skip
_ADDRESS_CHARS = re.compile(r"[省市区县旗镇乡村街道路巷弄号楼室栋幢层园里苑座组屯场坊湾]")
_CLASSES: dict[str, str] = {
    "cjk": _CJK + "\u00b7",
    "latin": "A-Za-z",
    "digit": "0-9",
    "punct": r"\(\)（）《》〈〉\[\]【】<>“”\"'‘’、，,。.;；:：\-—~～/&+#%·@",
    "space": " ",
}


@dataclass(frozen=True)
class Checked:
    """The outcome of one validator: the cleaned value (None when unusable) and the problems."""

    value: str | None
    problems: tuple[Reason, ...] = ()
    parts: dict[str, str] = field(default_factory=dict)  # date_range: {"from": …, "until": …}
    valid_until: date | None = None  # the end date when the value has one (date, date_range)


def norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def squeeze(value: str) -> str:
    """Drop blanks OCR puts between CJK characters; keep single blanks between Latin words."""
    value = norm(value)
    value = re.sub(rf"(?<=[{_CJK};:,、。])\s+|\s+(?=[{_CJK};:,、。])", "", value)
    return re.sub(r"\s+", " ", value).strip(_STRIP)


def parse_date(text: str) -> date | None:
    """'2013年05月06日', '2013.5.6', '2013-05-06', '20130506' -> date; None when there is no real date."""
    m = _DATE_RE.search(norm(text))
    if not m:
        compact = re.sub(r"\D", "", text)
        if len(compact) == 8:
            try:
                return date(int(compact[:4]), int(compact[4:6]), int(compact[6:]))
            except ValueError:
                return None
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def find_uscc(text: str) -> str | None:
    """The first 18-character USCC-shaped run in `text` (blanks dropped, OCR confusables mended)."""
    flat = re.sub(r"\s+", "", norm(text)).upper().translate(_USCC_CONFUSABLE)
    m = USCC_RE.search(flat)
    return m.group(0) if m else None


def find_resident_id(text: str) -> str | None:
    """The first citizen-identity-number-shaped run in `text` (blanks dropped)."""
    flat = re.sub(r"\s+", "", norm(text)).upper()
    m = ID_RE.search(flat)
    return m.group(0) if m else None


def _placeholder(value: str, labels: Iterable[str]) -> bool:
    """A role word, a label, a bracketed blank ("(签字)", "(CARDHOLDER NAME)")."""
    flat = re.sub(r"\s+", " ", value).strip().upper()
    bare = flat.strip("()（）[]【】<>《》 ")
    if re.fullmatch(r"[(（\[【<《].*[)）\]】>》]", flat):
        return True
    compact = {re.sub(r"\s+", "", lab) for lab in labels}
    return bare in load_catalogue().blank_words or re.sub(r"\s+", "", bare) in compact


@dataclass(frozen=True)
class _Ctx:
    spec: FieldSpec
    labels: frozenset[str]
    today: date | None


_Result = tuple[str | None, str, str]  # (value, why_zh, why_en); value None = invalid


def _person_name(value: str, ctx: _Ctx) -> _Result:
    v = re.sub(rf"(?<=[{_CJK}·])\s+|\s+(?=[{_CJK}·])", "", value).replace("•", "·").replace("・", "·")
    if _placeholder(v, ctx.labels):
        return None, "是占位文字或标签，不是姓名", "is a placeholder or a label, not a name"
    if re.fullmatch(rf"[{_CJK}](?:[{_CJK}·]{{0,18}})[{_CJK}]", v) and "··" not in v:
        return v, "", ""
    if re.fullmatch(r"[A-Za-z][A-Za-z .'\-]{0,38}[A-Za-z]", v) and sum(c.isalpha() for c in v) >= 2:
        return v, "", ""
    return (
        None,
        "不像姓名（应为2–20个汉字或字母）",
        "does not look like a name (2-20 Chinese characters or letters)",
    )


def _enterprise_name(value: str, ctx: _Ctx) -> _Result:
    v = value
    if _placeholder(v, ctx.labels):
        return None, "是占位文字或标签，不是名称", "is a placeholder or a label, not a name"
    long_labels = [lab for lab in ctx.labels if len(lab) >= 3 and lab not in _LEGAL_FORMS]
    if any(lab in v for lab in long_labels) or any(v.startswith(lab) for lab in ctx.labels):
        return None, "混入了其他栏目的标签", "contains another field's label"
    if not re.fullmatch(rf"[{_CJK}A-Za-z0-9()（）·&\-. ]{{2,100}}", v):
        return None, "含有名称中不应出现的字符", "contains characters a name does not have"
    cjk = len(re.findall(rf"[{_CJK}]", v))
    if v.endswith(_LEGAL_FORMS) or cjk >= 4:
        return v, "", ""
    return None, "不像单位名称（过短或缺少组织形式）", "does not look like an organisation's name (too short)"


def _party(value: str, ctx: _Ctx) -> _Result:
    person = _person_name(value, ctx)
    return person if person[0] is not None else _enterprise_name(value, ctx)


def _address(value: str, ctx: _Ctx) -> _Result:
    if _placeholder(value, ctx.labels) or any(value.startswith(lab) for lab in ctx.labels if len(lab) >= 2):
        return None, "是占位文字或标签，不是地址", "is a placeholder or a label, not an address"
    cjk = len(re.findall(rf"[{_CJK}]", value))
    # A run of 7+ digits is a phone or an identifier from a neighbouring field, never a house number.
    if (
        cjk < 5
        or len(value) < 6
        or len(value) > 200
        or not _ADDRESS_CHARS.search(value)
        or re.search(r"\d{7,}", value)
    ):
        return None, "不像地址", "does not look like an address"
    return value, "", ""


def _authority(value: str, ctx: _Ctx) -> _Result:
    v = value.replace(" ", "")
    if _placeholder(v, ctx.labels):
        return None, "是占位文字或标签，不是机关名称", "is a placeholder or a label, not an authority"
    if (
        re.search(r"\d", v)
        or not re.fullmatch(rf"[{_CJK}()（）]{{4,60}}", v)
        or not v.endswith(_AUTHORITY_ENDS)
    ):
        return (
            None,
            "不像机关名称（应以局、委员会、厅、中心等结尾，且不含数字）",
            "does not look like an authority's name (ends in 局, 委员会, 厅, 中心 …, no digits)",
        )
    return v, "", ""


def _date(value: str, ctx: _Ctx) -> _Result:
    parsed = parse_date(value)
    if parsed is None:
        return None, "不是有效日期", "is not a valid date"
    return parsed.isoformat(), "", ""


def date_range(value: str) -> tuple[date, date | None] | None:
    """'2019年03月15日至长期' -> (2019-03-15, None); '2015.06.25-2035.06.25' -> both; None if unreadable."""
    text = norm(value)
    dates = [parse_date(m.group(0)) for m in _DATE_RE.finditer(text)]
    if not dates or dates[0] is None:
        compact = re.findall(r"(?<!\d)\d{8}(?!\d)", text)  # 20150625-20350625
        dates = [parse_date(c) for c in compact]
        if not dates or dates[0] is None:
            return None
    start = dates[0]
    if len(dates) > 1:
        end = dates[1]
        if end is None or end < start:
            return None
        return start, end
    if _OPEN_END.search(text):
        return start, None
    return None


def _sex(value: str, ctx: _Ctx) -> _Result:
    has_m, has_f = "男" in value, "女" in value
    if has_m != has_f:
        return ("男" if has_m else "女"), "", ""
    return None, "应为“男”或“女”", "must be 男 or 女"


# The 56 ethnic groups as printed on a resident ID card (GB/T 3304), without the trailing 族.
ETHNIC_GROUPS = frozenset(
    {
        "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白",
        "土家", "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西",
        "景颇", "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯",
        "阿昌", "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京",
        "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
    }
)  # fmt: skip
# Traditional forms the recogniser sometimes returns for the simplified characters of those names.
_TRADITIONAL = str.maketrans("漢維爾鮮僳納達倫赫門羅蘇", "汉维尔鲜僳纳达伦赫门罗苏")


def _ethnicity(value: str, ctx: _Ctx) -> _Result:
    v = value.split(" ")[0].translate(_TRADITIONAL).removesuffix("族")
    if v in ETHNIC_GROUPS:
        return v, "", ""
    return None, "不是56个民族之一", "is not one of the 56 ethnic groups"


def _phone(value: str, ctx: _Ctx) -> _Result:
    flat = re.sub(r"[\s()（）]", "", value).replace("+86", "").replace("—", "-")
    mobile = _MOBILE.search(flat.replace("-", ""))
    if mobile:
        return mobile.group(0), "", ""
    land = _LANDLINE.search(flat)
    if land:
        return f"{land.group(1)}-{land.group(2)}", "", ""
    return (
        None,
        "不是电话号码（手机11位或带区号的固定电话）",
        "is not a phone number (11-digit mobile or landline)",
    )


_CN_DIGITS = {
    "零": 0, "〇": 0, "壹": 1, "一": 1, "贰": 2, "二": 2, "两": 2, "叁": 3, "三": 3, "肆": 4, "四": 4,
    "伍": 5, "五": 5, "陆": 6, "六": 6, "柒": 7, "七": 7, "捌": 8, "八": 8, "玖": 9, "九": 9,
}  # fmt: skip
_CN_UNITS = {"拾": 10, "十": 10, "佰": 100, "百": 100, "仟": 1000, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
_CURRENCIES = {"美元": "美元", "港币": "港元", "港元": "港元", "欧元": "欧元", "日元": "日元", "英镑": "英镑"}


def _cn_number(text: str) -> int | None:
    """Chinese numerals (壹佰万, 一千二百三十) -> int; None when something else is in the way."""
    total = section = digit = 0
    seen = False
    for ch in text:
        if ch in _CN_DIGITS:
            digit, seen = _CN_DIGITS[ch], True
        elif ch in _CN_UNITS:
            section += (digit or (1 if not seen or digit == 0 else digit)) * _CN_UNITS[ch]
            digit, seen = 0, True
        elif ch in _CN_BIG:
            total += (section + digit) * _CN_BIG[ch]
            section = digit = 0
        else:
            return None
    return total + section + digit if seen else None


def parse_money(value: str) -> tuple[float, str] | None:
    """'人民币壹佰万元整', '100万元', '1,000,000.00元' -> (1000000.0, '元'); None when unreadable."""
    # The amount in figures often follows in brackets: "人民币捌拾万元整(¥800,000.00)".
    text = re.sub(r"\([^()]*\)", "", norm(value)).replace(",", "").replace(" ", "").strip("。.;")
    text = text.replace("¥", "").replace("￥", "")
    unit = next((u for k, u in _CURRENCIES.items() if k in text), "元")
    text = re.sub("人民币|美元|港币|港元|欧元|日元|英镑|RMB|CNY", "", text, flags=re.I)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(万|亿)?(?:元|圆)?(?:整)?", text)
    if m:
        return float(m.group(1)) * (_CN_BIG[m.group(2)] if m.group(2) else 1), unit
    m = re.fullmatch(
        r"([零〇壹一贰二两叁三肆四伍五陆六柒七捌八玖九拾十佰百仟千万亿]+)(?:元|圆)(?:([零〇壹一贰二两叁三肆四伍五陆六柒七捌八玖九])角)?(?:([零〇壹一贰二两叁三肆四伍五陆六柒七捌八玖九])分)?整?",
        text,
    )
    if m:
        whole = _cn_number(m.group(1))
        if whole is None:
            return None
        jiao = _CN_DIGITS.get(m.group(2) or "零", 0)
        fen = _CN_DIGITS.get(m.group(3) or "零", 0)
        return whole + jiao / 10 + fen / 100, unit
    return None


def _money(value: str, ctx: _Ctx) -> _Result:
    parsed = parse_money(value)
    if parsed is None or parsed[0] <= 0:
        return None, "不是金额", "is not an amount of money"
    amount, unit = parsed
    shown = f"{amount:.2f}".rstrip("0").rstrip(".")
    return f"{shown}{unit}", "", ""


def _text(value: str, ctx: _Ctx) -> _Result:
    spec = ctx.spec
    if _placeholder(value, ctx.labels):
        return None, "是占位文字或标签", "is a placeholder or a label"
    if not spec.min_length <= len(value) <= spec.max_length:
        return (
            None,
            f"长度应为{spec.min_length}–{spec.max_length}个字符",
            f"must be {spec.min_length}-{spec.max_length} characters long",
        )
    if spec.chars:
        allowed = "".join(_CLASSES[c] for c in spec.chars)
        if not re.fullmatch(f"[{allowed}]+", value):
            return None, "含有不允许的字符", "contains characters that are not allowed"
    return value, "", ""


_SIMPLE: dict[str, Callable[[str, _Ctx], _Result]] = {
    "person_name": _person_name,
    "enterprise_name": _enterprise_name,
    "party": _party,
    "address": _address,
    "authority": _authority,
    "date": _date,
    "sex": _sex,
    "ethnicity": _ethnicity,
    "phone": _phone,
    "money": _money,
    "text": _text,
}


def invalid(spec: FieldSpec, raw: str, why_zh: str, why_en: str, doc_zh: str = "文件") -> Reason:
    """The `field_invalid` problem: the value as read and why it is not one."""
    return Reason(
        "field_invalid",
        f"{doc_zh}上的{spec.label_zh}“{raw}”{why_zh}，请核对。",
        f"The {spec.label_en.lower()} on the document, '{raw}', {why_en}; please check it.",
        spec.name,
    )


def check(
    raw: str,
    spec: FieldSpec,
    *,
    labels: Iterable[str] = (),
    today: date | None = None,
    doc_zh: str = "文件",
) -> Checked:
    """Clean and validate `raw` with the spec's validator."""
    value = squeeze(raw)
    label_set = frozenset(re.sub(r"\s+", "", lab) for lab in labels)
    if spec.validator == "uscc":
        code = find_uscc(value)
        if code is None:
            return Checked(
                None,
                (invalid(spec, value, "不是18位统一社会信用代码", "is not an 18-character code", doc_zh),),
            )
        problems = tuple(uscc_problems(code))
        return Checked(None if problems else code, problems)
    if spec.validator == "resident_id":
        number = find_resident_id(value)
        if number is None:
            return Checked(
                None, (invalid(spec, value, "不是18位公民身份号码", "is not an 18-character number", doc_zh),)
            )
        problems = tuple(resident_id_problems(number, today=today))
        return Checked(None if problems else number, problems)
    if spec.validator == "date_range":
        span = date_range(value)
        if span is None:
            why = ("不是有效的起止日期", "is not a valid period (start and end date or 长期)")
            return Checked(None, (invalid(spec, value, *why, doc_zh),))
        start, end = span
        until = end.isoformat() if end else "长期"
        return Checked(f"{start.isoformat()}至{until}", (), {"from": start.isoformat(), "until": until}, end)
    result, why_zh, why_en = _SIMPLE[spec.validator](value, _Ctx(spec, label_set, today))
    if result is None:
        return Checked(None, (invalid(spec, value, why_zh, why_en, doc_zh),))
    end = date.fromisoformat(result) if spec.validator == "date" else None
    return Checked(result, (), {}, end)
