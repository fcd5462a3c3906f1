"""E-licence identifier (电子证照标识, GB/T 36904-2018).

``1.2.156.3005.2.<type code>.<issuer USCC>.<serial>.<version>.<check>``

- type code: the defining body's 18-character USCC + a 3-digit sequence (21 characters);
- issuer: the issuing authority's USCC;
- serial: 1-32 characters of 0-9A-Z (the standard fixes no length);
- version: 3 digits, 001-999;
- check: ISO/IEC 7064 (GB/T 17710) hybrid MOD 37,36 over type code + issuer + serial + version,
  concatenated without the root and without dots, alphabet 0-9A-Z valued 0-35.

The published example ``…11100000000013338W011.11430000006122244L.20230000403.001.U`` checks out
under this reading (see tests). Like every hybrid MOD M+1,M system it detects every single-character
substitution, but not quite every adjacent transposition: swapping two characters whose values are
consecutive (e.g. "H"/"I", or "Z"/"0") goes unnoticed when the running state before them happens to be
one particular value — 36 (state, pair) combinations out of 22,680.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from onestop.errors import InvalidInput, Reason

from .uscc import uscc_problems

ROOT = "1.2.156.3005.2"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_M = 36  # modulus of the hybrid system; M + 1 = 37 is prime
_VALUE = {c: i for i, c in enumerate(ALPHABET)}

_TYPE_CODE = re.compile(r"[0-9A-HJ-NP-RTUW-Y]{18}[0-9]{3}")
_USCC_SHAPE = re.compile(r"[0-9A-HJ-NP-RTUW-Y]{18}")
_SERIAL = re.compile(r"[0-9A-Z]{1,32}")
_VERSION = re.compile(r"[0-9]{3}")
_FIELD = "licence_id"


def _running_state(body: str) -> int:
    """ISO 7064 hybrid MOD 37,36: P1 = M; S = (P + a) mod M (0 read as M); P' = 2S mod (M + 1)."""
    p = _M
    for ch in body:
        try:
            s = (p + _VALUE[ch]) % _M or _M
        except KeyError:
            raise ValueError(f"character {ch!r} is not in 0-9A-Z") from None
        p = (2 * s) % (_M + 1)
    return p


def mod37_36_check(body: str) -> str:
    """The check character that makes ``(P_n + check) mod 36 == 1`` for `body` (0-9A-Z)."""
    return ALPHABET[(_M + 1 - _running_state(body)) % _M]


def _check_ok(body: str, check: str) -> bool:
    return check in _VALUE and (_running_state(body) + _VALUE[check]) % _M == 1


@dataclass(frozen=True)
class LicenceId:
    """A parsed licence identifier; `value` is its canonical text."""

    type_code: str
    issuer_uscc: str
    serial: str
    version: int
    check: str

    @property
    def body(self) -> str:
        """The characters the check covers (no root, no dots)."""
        return f"{self.type_code}{self.issuer_uscc}{self.serial}{self.version:03d}"

    @property
    def value(self) -> str:
        return f"{ROOT}.{self.type_code}.{self.issuer_uscc}.{self.serial}.{self.version:03d}.{self.check}"

    def __str__(self) -> str:
        return self.value


def _malformed(reasons: list[Reason]) -> InvalidInput:
    return InvalidInput(
        "licence_id_malformed",
        "电子证照标识格式不正确。",
        "The e-licence identifier is not well formed.",
        reasons,
    )


def _part_reasons(type_code: str, issuer_uscc: str, serial: str, version: str) -> list[Reason]:
    out: list[Reason] = []
    if not _TYPE_CODE.fullmatch(type_code):
        out.append(
            Reason(
                "licence_type_code_format",
                "证照类型代码应为21位：定义机构的18位统一社会信用代码加3位数字顺序码。",
                "The licence type code must be 21 characters: the defining body's 18-character "
                "unified social credit code followed by 3 digits.",
                _FIELD,
            )
        )
    if not _USCC_SHAPE.fullmatch(issuer_uscc):
        out.append(
            Reason(
                "licence_issuer_format",
                "颁发机构代码应为18位统一社会信用代码。",
                "The issuing authority code must be an 18-character unified social credit code.",
                _FIELD,
            )
        )
    if not _SERIAL.fullmatch(serial):
        out.append(
            Reason(
                "licence_serial_format",
                "证照顺序号应为1至32位数字或大写字母。",
                "The serial must be 1 to 32 digits or capital letters.",
                _FIELD,
            )
        )
    if not _VERSION.fullmatch(version) or version == "000":
        out.append(
            Reason(
                "licence_version_format",
                "版本号应为三位数字（001–999）。",
                "The version must be three digits (001-999).",
                _FIELD,
            )
        )
    return out


def _uscc_reasons(type_code: str, issuer_uscc: str) -> list[Reason]:
    out: list[Reason] = []
    for part, zh, en in (
        (type_code[:18], "证照类型代码中的定义机构代码", "the defining body code inside the type code"),
        (issuer_uscc, "颁发机构代码", "the issuing authority code"),
    ):
        for r in uscc_problems(part):
            out.append(Reason(r.code, f"{zh}：{r.zh}", f"In {en}: {r.en}", _FIELD))
    return out


def make_licence_id(type_code: str, issuer_uscc: str, serial: str, version: int = 1) -> str:
    """Compose an identifier; raises `InvalidInput` (``licence_id_malformed``) on a bad part."""
    if not 1 <= version <= 999:
        raise _malformed(
            [
                Reason(
                    "licence_version_format",
                    "版本号应在1至999之间。",
                    "The version must be between 1 and 999.",
                    _FIELD,
                )
            ]
        )
    reasons = _part_reasons(type_code, issuer_uscc, serial, f"{version:03d}")
    if not reasons:
        reasons = _uscc_reasons(type_code, issuer_uscc)
    if reasons:
        raise _malformed(reasons)
    body = f"{type_code}{issuer_uscc}{serial}{version:03d}"
    return LicenceId(type_code, issuer_uscc, serial, version, mod37_36_check(body)).value


def parse_licence_id(s: str) -> LicenceId:
    """Parse and check an identifier (surrounding blanks and lower case are forgiven).

    Raises `InvalidInput` with code ``licence_id_malformed`` (wrong shape, or an embedded USCC that
    fails its own check) or ``licence_id_check_failed`` (the MOD 37,36 check character disagrees,
    i.e. the identifier was most likely mistyped or altered).
    """
    text = s.strip().upper()
    if not text.startswith(ROOT + "."):
        raise _malformed(
            [
                Reason(
                    "licence_id_root",
                    f"电子证照标识应以 {ROOT}. 开头。",
                    f"An e-licence identifier starts with {ROOT}.",
                    _FIELD,
                )
            ]
        )
    parts = text[len(ROOT) + 1 :].split(".")
    if len(parts) != 5:
        raise _malformed(
            [
                Reason(
                    "licence_id_parts",
                    "电子证照标识在根之后应有5段：类型代码.颁发机构代码.顺序号.版本号.校验位。",
                    "After the root an e-licence identifier has 5 parts: "
                    "type code.issuer code.serial.version.check.",
                    _FIELD,
                )
            ]
        )
    type_code, issuer, serial, version, check = parts
    reasons = _part_reasons(type_code, issuer, serial, version)
    if len(check) != 1 or check not in _VALUE:
        reasons.append(
            Reason(
                "licence_check_format",
                "校验位应为一位数字或大写字母。",
                "The check character must be a single digit or capital letter.",
                _FIELD,
            )
        )
    if reasons:
        raise _malformed(reasons)
    body = f"{type_code}{issuer}{serial}{version}"
    if not _check_ok(body, check):
        # The right character is not disclosed: it would turn a check into a forging aid.
        raise InvalidInput(
            "licence_id_check_failed",
            "电子证照标识校验位不符，标识可能抄错或被篡改。",
            "The e-licence identifier's check character does not match; it was probably mistyped or altered.",
            [
                Reason(
                    "licence_check_char",
                    f"校验位“{check}”与标识的其余部分不符。",
                    f"The check character {check} does not match the rest of the identifier.",
                    _FIELD,
                )
            ],
        )
    uscc_reasons = _uscc_reasons(type_code, issuer)
    if uscc_reasons:
        raise _malformed(uscc_reasons)
    return LicenceId(type_code, issuer, serial, int(version), check)


def is_valid_licence_id(s: str) -> bool:
    """True when `parse_licence_id` accepts `s`."""
    try:
        parse_licence_id(s)
    except InvalidInput:
        return False
    return True
