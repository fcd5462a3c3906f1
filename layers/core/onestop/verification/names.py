"""Names that look like the bureau's: impersonation by confusable characters.

A seal certificate from a foreign CA named "深圳市商務局" (traditional 務), "深圳市\u200b商务局" (a
zero-width space) or with a bidi override reads as the bureau's name to a person. We compare
*skeletons*: NFKC, default-ignorable and bidi control characters removed, traditional Chinese mapped to
simplified (OpenCC t2s), every character replaced by its Unicode confusable prototype (the UTS #39
confusables data as packaged by confusable_homoglyphs), case folded. Equal skeletons, different text:
an impersonation.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from typing import Any

# Bidi controls are category Cf too; listed for the reader. U+115F/1160, U+3164, U+FFA0: Hangul fillers
# (default-ignorable, but Lo).
_INVISIBLE_LO = frozenset("\u115f\u1160\u3164\uffa0")


@cache
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


@cache
def _prototype(char: str) -> str:
    from confusable_homoglyphs import confusables

    try:
        found = confusables.is_confusable(char, greedy=True)
    except Exception:
        return char
    if not found:
        return char
    glyphs = {char} | {h["c"] for entry in found for h in entry.get("homoglyphs", [])}
    return min((g for g in glyphs if len(g) == 1), default=char)


def strip_invisible(text: str) -> str:
    """The text without format (Cf: zero-width, bidi controls, …) and other invisible characters."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf" and c not in _INVISIBLE_LO)


def skeleton(text: str) -> str:
    """The confusable skeleton of `text` (see the module docstring)."""
    plain = strip_invisible(unicodedata.normalize("NFKC", text)).strip()
    with contextlib.suppress(Exception):  # OpenCC missing its data: compare without the mapping
        plain = _t2s().convert(plain)
    return "".join(_prototype(c) for c in plain).casefold()


_RLO, _PDF = "\u202e", "\u202c"
_BIDI_REVERSING = re.compile(f"{_RLO}([^{_PDF}]*)(?:{_PDF}|$)")


def visual(text: str) -> str:
    """`text` as displayed where a right-to-left override reverses it ("\u202e局务商市圳深" shows as
    深圳市商务局): the reversed runs put in display order (enough for names; not a full UAX #9)."""
    return _BIDI_REVERSING.sub(lambda m: m.group(1)[::-1], text)


def confusable_with(name: str, known: Iterable[str]) -> str | None:
    """The known name that `name` imitates without being it, or None (as stored and as displayed)."""
    if not name:
        return None
    mine = {skeleton(name), skeleton(visual(name))}
    for other in known:
        if other and name != other and skeleton(other) in mine:
            return other
    return None
