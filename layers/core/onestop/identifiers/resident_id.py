"""Citizen identity number (公民身份号码, GB 11643-1999).

18 characters: 6-digit address code, 8-digit birth date (YYYYMMDD), 3-digit sequence (odd = male),
and an ISO 7064 MOD 11-2 check character (0-9 or X).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from onestop.errors import InvalidInput, Reason

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHANGHAI = ZoneInfo("Asia/Shanghai")
# Older than this is a typing error, not a living applicant.
_EARLIEST_BIRTH_YEAR = 1880


def id_check_char(first17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise ValueError("need 17 ASCII digits")
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def _birth_segment(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def resident_id_problems(
    number: str, birth_date: date | None = None, *, today: date | None = None
) -> list[Reason]:
    """Every reason `number` is invalid (empty when valid).

    `birth_date` is the date printed elsewhere (e.g. 出生 on the card); a mismatch is a reason.
    `today` defaults to the current date in Asia/Shanghai.
    """
    field = "id_number"
    if len(number) != 18:
        hint_zh = "（不接受15位的第一代身份证号码）" if len(number) == 15 else ""
        hint_en = " (15-digit first-generation numbers are not accepted)" if len(number) == 15 else ""
        return [
            Reason(
                "resident_id_length",
                f"公民身份号码应为18位，当前为{len(number)}位{hint_zh}。",
                f"A citizen identity number has 18 characters; this one has {len(number)}{hint_en}.",
                field,
            )
        ]
    if not (number[:17].isascii() and number[:17].isdigit() and number[17] in "0123456789X"):
        return [
            Reason(
                "resident_id_alphabet",
                "公民身份号码前17位应为数字，最后一位为数字或大写 X。",
                "The first 17 characters must be digits and the last a digit or a capital X.",
                field,
            )
        ]
    out: list[Reason] = []
    expected = id_check_char(number[:17])
    if number[17] != expected:
        out.append(
            Reason(
                "resident_id_check_char",
                f"公民身份号码校验位不符（第18位应为 {expected}，实为 {number[17]}），请核对是否抄错。",
                f"The check character does not match (18th character should be {expected}, "
                f"not {number[17]}); please check the number for a typing error.",
                field,
            )
        )
    born = _birth_segment(number)
    today = today or datetime.now(_SHANGHAI).date()
    if born is None or born.year < _EARLIEST_BIRTH_YEAR:
        out.append(
            Reason(
                "resident_id_birth_date_invalid",
                f"公民身份号码第7–14位（出生日期 {number[6:14]}）不是有效日期。",
                f"Characters 7-14 (birth date {number[6:14]}) are not a real date.",
                field,
            )
        )
    elif born > today:
        out.append(
            Reason(
                "resident_id_birth_date_future",
                f"公民身份号码中的出生日期 {born.isoformat()} 晚于今天。",
                f"The birth date in the number, {born.isoformat()}, is in the future.",
                field,
            )
        )
    elif birth_date is not None and born != birth_date:
        out.append(
            Reason(
                "resident_id_birth_date_mismatch",
                f"公民身份号码中的出生日期 {born.isoformat()} 与所填出生日期 "
                f"{birth_date.isoformat()} 不一致。",
                f"The birth date in the number, {born.isoformat()}, differs from the stated birth date "
                f"{birth_date.isoformat()}.",
                field,
            )
        )
    return out


def validate_resident_id(number: str, birth_date: date | None = None, *, today: date | None = None) -> None:
    """Raise `InvalidInput` (code ``invalid_resident_id``) with one reason per problem found."""
    reasons = resident_id_problems(number, birth_date, today=today)
    if reasons:
        raise InvalidInput(
            "invalid_resident_id", "公民身份号码无效。", "Invalid citizen identity number.", reasons
        )


def is_valid_resident_id(number: str, birth_date: date | None = None) -> bool:
    """True when `number` passes every check `validate_resident_id` makes."""
    return not resident_id_problems(number, birth_date)


def birth_date_of(number: str) -> date:
    """The birth date encoded in characters 7-14; raises `InvalidInput` when it is not a real date."""
    born = _birth_segment(number) if len(number) == 18 else None
    if born is None:
        raise InvalidInput(
            "invalid_resident_id",
            "无法从公民身份号码中读出出生日期。",
            "Cannot read a birth date from this citizen identity number.",
            [
                Reason(
                    "resident_id_birth_date_invalid",
                    "公民身份号码第7–14位不是有效日期。",
                    "Characters 7-14 are not a real date.",
                    "id_number",
                )
            ],
        )
    return born


def normalise_resident_id(text: str) -> str:
    """Strip blanks and upper-case a trailing x, the forgiving step before validation."""
    return "".join(text.split()).upper()
