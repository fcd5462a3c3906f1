"""How a reading is compared with the truth: characters (edit distance) and fields (exact, after the
normalisation any reader of the value would accept: blanks, full-width forms, date and amount notation).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

_BLANKS = re.compile(r"\s+")
_EDGE_PUNCT = ":：;；,，.。、"


def flat(text: str) -> str:
    """NFKC, no blanks, upper case: what character accuracy and field matching compare."""
    return _BLANKS.sub("", unicodedata.normalize("NFKC", text)).upper()


def char_accuracy(truth: str, read: str) -> float:
    """1 − normalised Levenshtein distance (divided by the longer string) on flattened text."""
    t, r = flat(truth), flat(read)
    if not t and not r:
        return 1.0
    return 1.0 - Levenshtein.normalized_distance(t, r)


def line_recall(lines: tuple[str, ...] | list[str], read: str) -> float:
    """Order-free: each truth line's best alignment anywhere in the reading, weighted by its length.
    Tells characters read from reading order (columns, rotation)."""
    target = flat(read)
    total = weight = 0.0
    for line in lines:
        t = flat(line)
        if not t:
            continue
        score = fuzz.partial_ratio(t, target) / 100.0 if target else 0.0
        total += score * len(t)
        weight += len(t)
    return total / weight if weight else 1.0


# --- field values ------------------------------------------------------------------------------------

_DATE = re.compile(r"(\d{4})\s*[年.\-/]\s*(\d{1,2})\s*[月.\-/]\s*(\d{1,2})\s*日?")
_OPEN_ENDED = ("长期", "无固定期限", "永久")
DATE_FIELDS_SUFFIX = ("_date",)
DATE_FIELDS = {"valid_from", "valid_until"}
RANGE_FIELDS = {"business_term", "lease_term", "contract_term", "validity", "valid_period"}
MONEY_FIELDS = {"registered_capital", "contract_amount", "amount"}


def _dates(text: str) -> list[str]:
    out = []
    for m in _DATE.finditer(unicodedata.normalize("NFKC", text)):
        y, mo, d = (int(g) for g in m.groups())
        out.append(f"{y:04d}-{mo:02d}-{d:02d}")
    if not out:
        digits = re.sub(r"\D", "", text)
        if len(digits) == 8:
            out.append(f"{digits[:4]}-{digits[4:6]}-{digits[6:]}")
    return out


def _range(text: str) -> tuple[str, ...] | None:
    parts = _DATE.findall(unicodedata.normalize("NFKC", text))
    dates = [f"{int(y):04d}-{int(m):02d}-{int(d):02d}" for y, m, d in parts]
    if any(word in text for word in _OPEN_ENDED):
        dates.append("长期")
    return tuple(dates) or None


_CN_DIGITS = dict(
    zip(
        "零〇壹一贰二两叁三肆四伍五陆六柒七捌八玖九",
        (0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9),
        strict=True,
    )
)
_CN_UNITS = {"拾": 10, "十": 10, "佰": 100, "百": 100, "仟": 1000, "千": 1000}
_CN_BIG = {"万": 10**4, "亿": 10**8}


def _chinese_number(text: str) -> int | None:
    total = section = digit = 0
    seen = False
    for ch in text:
        if ch in _CN_DIGITS:
            digit, seen = _CN_DIGITS[ch], True
        elif ch in _CN_UNITS:
            section += (digit or 1) * _CN_UNITS[ch]
            digit, seen = 0, True
        elif ch in _CN_BIG:
            total = (total + section + digit) * _CN_BIG[ch]
            section = digit = 0
            seen = True
    return total + section + digit if seen else None


def amount(text: str) -> Decimal | None:
    """'人民币壹佰万元整', '100万元', '1,000,000.00元' -> Decimal('1000000'); None when unreadable."""
    t = unicodedata.normalize("NFKC", text).replace(",", "")
    m = re.search(r"(\d+(?:\.\d+)?)\s*(万|亿)?", t)
    if m:
        try:
            value = Decimal(m.group(1))
        except InvalidOperation:
            return None
        return value * {"万": 10**4, "亿": 10**8}.get(m.group(2) or "", 1)
    n = _chinese_number(t.split("元")[0])
    return Decimal(n) if n is not None else None


def canonical(field: str, value: str) -> object:
    """The form two values of `field` are compared in."""
    if field.endswith(DATE_FIELDS_SUFFIX) or field in DATE_FIELDS:
        dates = _dates(value)
        if dates:
            return dates[0]
        if any(word in value for word in _OPEN_ENDED):
            return "长期"
    if field in RANGE_FIELDS:
        rng = _range(value)
        if rng:
            return rng
    if field in MONEY_FIELDS:
        money = amount(value)
        if money is not None:
            return money
    return flat(value).strip(_EDGE_PUNCT).replace("（", "(").replace("）", ")")


def same_value(field: str, truth: str, stored: str) -> bool:
    return canonical(field, truth) == canonical(field, stored)


@dataclass(frozen=True)
class FieldVerdict:
    """One field of one case; `verdict` as `judge` gives it."""

    case: str
    condition: str
    material_type: str
    field: str
    truth: str
    stored: str | None
    verdict: str
    flagged: bool
    required: bool

    @property
    def ok(self) -> bool:
        return self.verdict in ("exact", "blank_ok", "flagged_ok")

    @property
    def wrong_but_accepted(self) -> bool:
        """A stored value that is not the truth, and nothing said about that field."""
        return self.verdict in ("wrong", "blank_filled") and not self.flagged

    @property
    def missing_unflagged(self) -> bool:
        """No value, and no problem naming the field (for a blank on a required field too)."""
        if self.flagged:
            return False
        return self.verdict == "missing" or (self.verdict == "blank_ok" and self.required)


def judge(
    field: str, truth: str, stored: str | None, *, must_flag: bool = False, flagged: bool = False
) -> str:
    """exact | wrong | missing | blank_ok | blank_filled | flagged_ok (an invalid printed value that the
    pipeline named in a problem: right whatever it kept)."""
    if must_flag:
        return "flagged_ok" if flagged else ("wrong" if stored else "missing")
    if not truth:
        return "blank_filled" if stored else "blank_ok"
    if not stored:
        return "missing"
    return "exact" if same_value(field, truth, stored) else "wrong"
