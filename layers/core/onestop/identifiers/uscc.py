"""Unified Social Credit Code (统一社会信用代码, GB 32100-2015).

18 characters: registration authority (1), entity kind (1), administrative division (6),
organisation code (9, itself carrying a GB 11714 check character) and a mod-31 check character.
The first two are checked against the standard's code table, not only the check characters: an
all-zero code passes both checks (zeros weigh nothing) but has no registration authority 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from onestop.errors import InvalidInput, Reason

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@dataclass(frozen=True)
class RegistrationAuthority:
    """A registration-authority code (1st character) and the entity types (2nd) it registers."""

    zh: str
    en: str
    entity_types: dict[str, str]


# GB 32100-2015 Table 1, 登记管理部门代码 (1st character) with its 机构类别代码 (2nd character), as the
# standard publishes it, plus the two authorities its amendments added (A: the Central Military
# Commission's reform and establishment office; N: agriculture, for rural collective economic
# organisations) — *the amendment rows are from the data service centre's published table, not the
# 2015 text*. The one place the table lives: a new authority or type is one line here.
REGISTRATION_AUTHORITIES: dict[str, RegistrationAuthority] = {
    "1": RegistrationAuthority(
        "机构编制",
        "institutional establishment",
        {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
    ),
    "2": RegistrationAuthority("外交", "foreign affairs", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": RegistrationAuthority(
        "司法行政",
        "justice administration",
        {
            "1": "律师执业机构",
            "2": "公证处",
            "3": "基层法律服务所",
            "4": "司法鉴定机构",
            "5": "仲裁委员会",
            "9": "其他",
        },
    ),
    "4": RegistrationAuthority("文化", "culture", {"1": "外国在华文化中心", "9": "其他"}),
    "5": RegistrationAuthority(
        "民政", "civil affairs", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}
    ),
    "6": RegistrationAuthority(
        "旅游",
        "tourism",
        {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"},
    ),
    "7": RegistrationAuthority(
        "宗教", "religious affairs", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}
    ),
    "8": RegistrationAuthority("工会", "trade unions", {"1": "基层工会", "9": "其他"}),
    "9": RegistrationAuthority(
        "工商", "industry and commerce", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}
    ),
    "A": RegistrationAuthority(
        "中央军委改革和编制办公室", "CMC reform and establishment office", {"1": "军队事业单位", "9": "其他"}
    ),
    "N": RegistrationAuthority(
        "农业",
        "agriculture",
        {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
    ),
    "Y": RegistrationAuthority("其他", "other", {"1": "其他"}),
}

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
    out = _code_table_reasons(code)
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


def _code_table_reasons(code: str) -> list[Reason]:
    """The registration authority (1st character) and the entity type (2nd) against GB 32100's table."""
    authority = REGISTRATION_AUTHORITIES.get(code[0])
    if authority is None:
        known = "、".join(REGISTRATION_AUTHORITIES)
        return [
            Reason(
                "uscc_registration_authority",
                f"统一社会信用代码第1位（登记管理部门代码）不能是 {code[0]}，"
                f"应为 {known} 之一，请核对是否抄错。",
                f"The 1st character (registration authority) cannot be {code[0]}; GB 32100 has only "
                f"{', '.join(REGISTRATION_AUTHORITIES)}. Please check the code for a typing error.",
                "uscc",
            )
        ]
    if code[1] not in authority.entity_types:
        types_zh = "、".join(f"{k}（{v}）" for k, v in authority.entity_types.items())
        return [
            Reason(
                "uscc_entity_type",
                f"统一社会信用代码第2位（机构类别代码）不能是 {code[1]}：登记管理部门「{authority.zh}」"
                f"（第1位 {code[0]}）只有 {types_zh}，请核对是否抄错。",
                f"The 2nd character (entity type) cannot be {code[1]}: registration authority {code[0]} "
                f"({authority.en}) registers only types {', '.join(authority.entity_types)}. Please "
                "check the code for a typing error.",
                "uscc",
            )
        ]
    return []


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
