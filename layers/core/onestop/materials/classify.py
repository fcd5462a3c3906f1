"""Which catalogue material type a document is, from the words on it, with the cues that decided it.

The catalogue (``material_types.yaml``: each type's ``cues_zh`` with weights) is the only cue list; a
new document type is data. A best guess is named only when it clears `GUESS_FLOOR`: under it the
result is "other" and no reason mentions the discarded class.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from onestop.catalogue import load_catalogue
from onestop.errors import Reason

_ID_NUMBER = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")
_USCC = re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NP-RT-UW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RT-UW-Y]{10}(?![0-9A-Z])")
# Identifier shapes (not words, so not in the catalogue's cue lists): a small extra for their type.
_PATTERNS: dict[str, tuple[re.Pattern[str], str, float]] = {
    "resident_id_card": (_ID_NUMBER, "18位身份号码", 1.0),
    "business_licence": (_USCC, "18位信用代码", 1.0),
}

# Fewer meaningful characters than this: nothing a reviewer could read as a document.
MIN_DOCUMENT_CHARS = 4
# At or above: the type is taken without review.
CONFIDENT = 0.6
# Under it a best guess is not named anywhere: the result is "other" (issue 14: a receipt was
# catalogued "as resident ID card" at 0.12).
GUESS_FLOOR = 0.3
# A cue of at least this weight is a title word: on its own it says what the document is.
TITLE_WEIGHT = 3.0


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
    # Title-weight cues of the decided type that matched (two copies of one document share them).
    title_cues: tuple[str, ...] = ()
    # The page measurements the pipeline judged "is it a document, is it one" on (for a reviewer).
    documentness: dict[str, object] | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "material_type": self.material_type,
            "confidence": round(self.confidence, 3),
            "reason_zh": self.reason_zh,
            "reason_en": self.reason_en,
        }
        if self.documentness is not None:
            out["documentness"] = self.documentness
        return out

    @property
    def top_score(self) -> float:
        return max(self.scores.values(), default=0.0)


def compact(text: str) -> str:
    """NFKC, no blanks: OCR splits and spaces words unpredictably ('营 业 执 照')."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def meaningful_chars(text: str) -> int:
    return sum(1 for ch in text if unicodedata.category(ch) in {"Lu", "Ll", "Lt", "Lo", "Nd"})


@functools.cache
def _cue_table() -> tuple[tuple[str, tuple[tuple[str, float], ...]], ...]:
    """(type code, ((cue, weight), …)) per catalogue type, cues compacted like the text they meet."""
    return tuple(
        (t.code, tuple((compact(c.word), c.weight) for c in t.cues_zh))
        for t in load_catalogue().material_types
        if t.cues_zh
    )


@functools.cache
def _names() -> dict[str, tuple[str, str, bool]]:
    return {t.code: (t.name_zh, t.name_en, t.is_material) for t in load_catalogue().material_types}


def type_name(code: str) -> tuple[str, str]:
    """(zh, en) name of a catalogue material type, the English lower-cased for use inside a sentence."""
    zh, en, _ = _names().get(code) or _names()["other"]
    if len(en) > 1 and not en[1].isupper():  # "Business licence" -> "business licence"; keep "ID …"
        en = en[0].lower() + en[1:]
    return zh, en


def is_material(code: str) -> bool:
    """False for a known document that is no material of any item (a ticket, a receipt)."""
    entry = _names().get(code)
    return entry[2] if entry else True


class _MaterialTypes(Mapping[str, tuple[str, str]]):
    """Read-only view: type code -> (zh, en) name, straight from the catalogue."""

    def __getitem__(self, code: str) -> tuple[str, str]:
        if code not in _names():
            raise KeyError(code)
        return type_name(code)

    def __iter__(self) -> Iterator[str]:
        return iter(_names())

    def __len__(self) -> int:
        return len(_names())


MATERIAL_TYPES: Mapping[str, tuple[str, str]] = _MaterialTypes()


def _score(flat: str) -> tuple[dict[str, float], dict[str, list[str]], dict[str, list[str]]]:
    scores: dict[str, float] = {}
    matched: dict[str, list[str]] = {}
    titles: dict[str, list[str]] = {}
    for code, cues in _cue_table():
        total = 0.0
        hits: list[str] = []
        for cue, weight in cues:
            if cue in flat:
                # A cue inside a longer one already counted is the same evidence.
                if any(cue in h for h in hits):
                    continue
                total += weight
                hits.append(cue)
                if weight >= TITLE_WEIGHT:
                    titles.setdefault(code, []).append(cue)
        pattern = _PATTERNS.get(code)
        if pattern is not None and pattern[0].search(flat):
            total += pattern[2]
            hits.append(pattern[1])
        if total:
            scores[code] = total
            matched[code] = hits
    return scores, matched, titles


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
    scores, matched, titles = _score(flat)
    if not scores:
        return Classification(
            "other",
            GUESS_FLOOR,
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
    if confidence < GUESS_FLOOR:
        return Classification(
            "other",
            confidence,
            "未能可靠地识别为任何已知材料类型（特征词太少或相互矛盾）。",
            "The document could not be recognised as any known material type with confidence "
            "(too few or conflicting cue words).",
            scores=dict(ranked),
        )
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
        title_cues=tuple(titles.get(best, ())),
    )


def _article(en: str) -> str:
    return "an" if en[:1].lower() in "aeiou" else "a"


def mismatch_problem(found: str, expected: str) -> Reason:
    """The upload's class differs from the slot it was uploaded into."""
    found_zh, found_en = type_name(found)
    exp_zh, exp_en = type_name(expected)
    return Reason(
        "material_type_mismatch",
        f"该文件看起来是{found_zh}，却作为{exp_zh}上传；请确认是否传错了文件。",
        f"This looks like {_article(found_en)} {found_en}, uploaded as the {exp_en}; "
        "check that the right file was uploaded.",
        "material_type",
    )


def not_expected_problem(expected: str) -> Reason:
    """Uploaded into a typed slot, but recognised as nothing in particular: no class is named."""
    exp_zh, exp_en = type_name(expected)
    return Reason(
        "material_type_mismatch",
        f"该文件不像是{exp_zh}（未识别到{exp_zh}的特征）；请确认是否传错了文件，或由工作人员确认。",
        f"This does not look like the {exp_en} (none of its features were recognised); check that the "
        "right file was uploaded, or a reviewer will confirm it.",
        "material_type",
    )


def unrelated_problem(found: str) -> Reason:
    """A known document that is no material of any item (a ticket, a receipt) in a slot that takes any."""
    found_zh, found_en = type_name(found)
    return Reason(
        "material_type_mismatch",
        f"该文件看起来是{found_zh}，不是本事项所需的材料；请确认是否传错了文件。",
        f"This looks like {_article(found_en)} {found_en}, which is not a material of this item; "
        "check that the right file was uploaded.",
        "material_type",
    )


def low_confidence_problem(result: Classification) -> Reason:
    """The type is not certain; names the guess (it cleared the floor) or says that nothing matched."""
    if result.material_type == "other":
        return Reason(
            "classification_uncertain",
            "未能识别材料类型，需要人工确认。",
            "The material type could not be recognised; a reviewer needs to confirm it.",
            "material_type",
        )
    zh, en = type_name(result.material_type)
    return Reason(
        "classification_uncertain",
        f"无法确定材料类型（最可能是{zh}，置信度 {result.confidence:.2f}），需要人工确认。",
        f"The material type is uncertain (most likely {en}, confidence {result.confidence:.2f}); "
        "a reviewer needs to confirm it.",
        "material_type",
    )
