"""Unified Social Credit Code (统一社会信用代码, GB 32100-2015).

18 characters: registration authority (1), entity kind (1), administrative division (6),
organisation code (9, itself carrying a GB 11714 check character) and a mod-31 check character.
"""

from __future__ import annotations

from onestop.errors import InvalidInput, Reason

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# GB 11714 organisation code: 8 body characters (digits or capital letters, A=10 … Z=35) + check.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_BODY_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a USCC."""
    if len(first17) != 17:
        raise ValueError(f"need 17 characters, got {len(first17)}")
    try:
        total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not in the USCC alphabet") from None
    return ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(body8: str) -> str:
    """The GB 11714 check character for an 8-character organisation-code body."""
    if len(body8) != 8:
        raise ValueError(f"need 8 characters, got {len(body8)}")
    try:
        total = sum(_ORG_BODY_ALPHABET.index(c) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    except ValueError:
        raise ValueError(f"{body8!r} has a character outside 0-9A-Z") from None
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def make_uscc(first17: str) -> str:
    """Append the GB 32100 check character (does not repair the embedded organisation-code check)."""
    return first17 + uscc_check_char(first17)


def compose_uscc(prefix8: str, org_body8: str) -> str:
    """Build a USCC whose organisation-code check (position 17) and final check (18) are both right.

    `prefix8` = registration authority + entity kind + 6-digit division code, e.g. "91440300".
    Handy for fixtures: `validate_uscc` checks both characters.
    """
    return make_uscc(prefix8 + org_body8 + org_code_check_char(org_body8))


def _reasons(code: str, *, check_org_code: bool) -> list[Reason]:
    if len(code) != 18:
        return [
            Reason(
                "uscc_length",
                f"统一社会信用代码应为18位，当前为{len(code)}位。",
                f"A unified social credit code has 18 characters; this one has {len(code)}.",
                "uscc",
            )
        ]
    bad = sorted({c for c in code if c not in _VALUE})
    if bad:
        shown = "、".join(bad)
        return [
            Reason(
                "uscc_alphabet",
                f"统一社会信用代码含有不允许的字符：{shown}（只允许数字和除 I、O、S、V、Z 外的大写字母）。",
                f"The code contains characters that are not allowed: {', '.join(bad)} "
                "(only digits and capital letters other than I, O, S, V, Z).",
                "uscc",
            )
        ]
    out: list[Reason] = []
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        out.append(
            Reason(
                "uscc_check_char",
                f"统一社会信用代码校验位不符（第18位应为 {expected}，实为 {code[17]}），请核对是否抄错。",
                f"The check character does not match (18th character should be {expected}, "
                f"not {code[17]}); please check the code for a typing error.",
                "uscc",
            )
        )
    if check_org_code:
        org_expected = org_code_check_char(code[8:16])
        if code[16] != org_expected:
            out.append(
                Reason(
                    "uscc_org_code_check",
                    f"统一社会信用代码中的组织机构代码（第9–17位）校验位不符（第17位应为 {org_expected}，"
                    f"实为 {code[16]}），请核对是否抄错。",
                    f"The organisation code inside the code (characters 9-17) fails its GB 11714 check "
                    f"(17th character should be {org_expected}, not {code[16]}); please check for a "
                    "typing error.",
                    "uscc",
                )
            )
    return out


def uscc_problems(code: str, *, check_org_code: bool = True) -> list[Reason]:
    """Every reason the code is invalid (empty when valid); for callers that collect problems."""
    return _reasons(code, check_org_code=check_org_code)


def validate_uscc(code: str, *, check_org_code: bool = True) -> None:
    """Raise `InvalidInput` (code ``invalid_uscc``) with one reason per problem found."""
    reasons = _reasons(code, check_org_code=check_org_code)
    if reasons:
        raise InvalidInput(
            "invalid_uscc", "统一社会信用代码无效。", "Invalid unified social credit code.", reasons
        )


def is_valid_uscc(code: str, *, check_org_code: bool = True) -> bool:
    """True when `code` passes every check `validate_uscc` makes."""
    return not _reasons(code, check_org_code=check_org_code)


def normalise_uscc(text: str) -> str:
    """Strip blanks and upper-case, the forgiving step before validation (OCR output, typed input)."""
    return "".join(text.split()).upper()
