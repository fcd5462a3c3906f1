"""The field types every request body uses: text that is safe to store and echo, strict whole numbers.

Text is NFC-normalised (so "é" typed two ways is one name) and refused, with the character named,
when it carries anything a person cannot see or that a terminal, log viewer or PDF renderer would
act on: control characters (Cc: NUL, ESC of ANSI sequences, BEL …), format characters (Cf: bidi
overrides and isolates, zero-width spaces and joiners, the BOM, soft hyphens) and, in single-line
text, line and paragraph separators. A text
of only blank characters (spaces of any width, the braille blank, Hangul fillers) is refused too.
Multi-line text (comments, notes, reasons) keeps its line breaks and tabs.

Whole numbers are strict: JSON `"1000"`, `1000.0` and `true` are not integers (pydantic's lax mode
would take all three).
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Strict
from pydantic_core import PydanticCustomError

# Discriminator values pydantic puts into error locations of the applicant union (schemas.py); not
# field names. Here, not beside the union: the error handlers need them, and the verify function's
# error handlers should not import the API's schemas (and with them the applications domain).
UNION_TAGS = frozenset({"enterprise", "person"})

# Categories refused everywhere (lone surrogates, Cs, never get here: pydantic refuses them as
# `string_unicode`).
_REFUSED = {"Cc": "control", "Cf": "format"}
_LINE_BREAKS = frozenset("\n\r\t")
_SEPARATORS = frozenset("\u2028\u2029")
# Letters and symbols that render as nothing: a "name" of these alone is blank.
_BLANK_LOOKALIKES = frozenset("\u2800\u3164\u115f\u1160\uffa0\u180e")


def _label(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}" if name else f"U+{ord(char):04X}"


def _refusal(char: str, position: int) -> PydanticCustomError:
    category = unicodedata.category(char)
    kind = _REFUSED.get(category, "separator")
    return PydanticCustomError(
        f"text_{kind}",
        "character U+{codepoint} at position {position} is not allowed",
        {"codepoint": f"{ord(char):04X}", "position": position, "label": _label(char)},
    )


def _clean(value: str, *, multiline: bool) -> str:
    # Refuse before normalising: NFC never removes these, and the position is the one the sender typed.
    for position, char in enumerate(value, start=1):
        if multiline and char in _LINE_BREAKS:
            continue
        if unicodedata.category(char) in _REFUSED or (not multiline and char in _SEPARATORS):
            raise _refusal(char, position)
    text = unicodedata.normalize("NFC", value)
    if text and all(c.isspace() or c in _BLANK_LOOKALIKES for c in text):
        raise PydanticCustomError("text_blank", "only blank characters", {})
    return text


def _single_line(value: str) -> str:
    return _clean(value, multiline=False)


def _multi_line(value: str) -> str:
    return _clean(value, multiline=True)


Text = Annotated[str, AfterValidator(_single_line)]
"""One line of free text: a name, a file name, a code typed by a person."""

Paragraph = Annotated[str, AfterValidator(_multi_line)]
"""Free text that may run over several lines: a comment, a note, a reason."""

WholeNumber = Annotated[int, Strict()]
"""A JSON integer, nothing that merely converts to one."""

# The zh/en sentences the error mapping (onestop.http.errors) gives these refusals; {codepoint},
# {position} and {label} come from the error's context.
TEXT_MESSAGES: dict[str, tuple[str, str]] = {
    "text_control": (
        "第 {position} 个字符 U+{codepoint} 是控制字符（如 NUL、ESC），请删除后重新输入。",
        "Character {position} ({label}) is a control character (such as NUL or ESC); "
        "remove it and try again.",
    ),
    "text_format": (
        "第 {position} 个字符 U+{codepoint} 是不可见的格式字符（如零宽字符、文字方向控制符），"
        "请删除后重新输入。",
        "Character {position} ({label}) is an invisible format character (such as a "
        "zero-width or text-direction character); remove it and try again.",
    ),
    "text_separator": (
        "第 {position} 个字符 U+{codepoint} 是换行符，此处只能填写一行。",
        "Character {position} ({label}) is a line break; this field takes one line.",
    ),
    "text_blank": (
        "只有空白或不可见字符，请填写实际内容。",
        "Contains only blank or invisible characters; enter the actual text.",
    ),
}
