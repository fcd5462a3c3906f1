"""Key–value reading from the OCR boxes of one page: labels, the values to their right or below, columns.

Reading order flattens a page into lines and so merges columns and splits spaced labels ("住 所" comes
back as two boxes). This module keeps the geometry instead:

- boxes are brought upright (the boxes' own text direction), so a page read sideways or upside down
  is laid out as printed;
- label fragments on one line are merged when together they spell a label ("住", "所" -> 住所);
- a label is found only at the start of a box or after a separator, never inside a longer word
  (名称 inside 商户名称);
- a label's value is the text to its right on the same line up to the next label, or else the text
  directly below it in its column; a multi-line value continues only within its value column, and
  stops at the next label or at a vertical gap.

Text-layer pages have lines but no boxes: `text_page` stacks them as synthetic line boxes, so one code
path serves both (label and value then share a line, or the value is on the next line).
"""

from __future__ import annotations

import math
import re
import statistics
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from .ocr import OcrLine

# Characters that may separate a label from what precedes it in the same box.
_SEPARATORS = " \t:：;；,，、|/"
_VALUE_STRIP = " \t:：,，、|"


@dataclass(frozen=True)
class Rect:
    """Axis-aligned box in the upright page frame (pixels, or text units for a text layer)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def h(self) -> float:
        return self.y1 - self.y0

    @property
    def w(self) -> float:
        return self.x1 - self.x0

    def x_overlap(self, other: Rect) -> float:
        return min(self.x1, other.x1) - max(self.x0, other.x0)

    def y_overlap(self, other: Rect) -> float:
        return min(self.y1, other.y1) - max(self.y0, other.y0)

    def union(self, other: Rect) -> Rect:
        return Rect(
            min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1)
        )


@dataclass(frozen=True)
class LabelRule:
    """A field's printed label variants and where its value sits. A field starting with "_" is a
    label whose value is not read: it only ends a neighbouring value (类型, 联系人 …)."""

    field: str
    variants: tuple[str, ...]
    position: str = "right_or_below"  # right | below | right_or_below
    multiline: bool = False


@dataclass(frozen=True)
class Page:
    """One upright page's text lines with their boxes; `width`/`height` are the page's, in pixels."""

    index: int
    lines: tuple[OcrLine, ...]
    width: float
    height: float
    source: str = "ocr"  # "ocr" | "text_layer"


@dataclass(frozen=True)
class Found:
    """A value read for a field: text as printed, OCR confidence (min of its boxes), box as fractions
    of the upright page (None for a text layer, whose boxes are synthetic)."""

    field: str
    text: str
    confidence: float
    mean_confidence: float
    page: int
    box: tuple[float, float, float, float] | None
    source: str


@dataclass(frozen=True)
class PageReading:
    """What one page gave: values per field, and the fields whose label is printed on it."""

    found: dict[str, Found]
    labelled: frozenset[str]
    candidates: dict[str, list[Found]] = field(default_factory=dict)


@dataclass
class _Piece:
    text: str
    rect: Rect
    confidence: float
    label: str | None  # field name when the piece is a label
    box_index: int
    used: bool = field(default=False)


_CJK = re.compile(r"[\u3400-\u9fff]")
_CLAUSE = re.compile(
    r"(?:^|[\s。;；])(?:第[一二三四五六七八九十百零\d]{1,4}[条款章]|[一二三四五六七八九十\d]{1,3}[、.．)])\s*$"
)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _char_width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def text_page(lines: Sequence[str], index: int = 0) -> Page:
    """A text-layer page: each line becomes a box one CJK character high, stacked top to bottom."""
    boxes: list[OcrLine] = []
    pitch = 2.5  # a line's height is 2 units (one CJK character square); 0.5 unit between lines
    widest = 1.0
    for i, line in enumerate(text for text in lines if text.strip()):
        width = float(max(1, sum(_char_width(c) for c in _norm(line))))
        widest = max(widest, width)
        y0, y1 = i * pitch, i * pitch + 2.0
        boxes.append(OcrLine(line, ((0.0, y0), (width, y0), (width, y1), (0.0, y1)), 1.0))
    height = max(2.0, len(boxes) * pitch)
    return Page(index, tuple(boxes), widest, height, "text_layer")


# --- geometry ------------------------------------------------------------------------------------------


def _page_angle(angles: Sequence[float]) -> float:
    """The direction most text runs in: the largest cluster (±4°) of box angles near a quarter turn
    (within 12°, a skewed page), else the largest cluster. Diagonal watermark lines can outnumber
    the page's own lines, but they do not run near a quarter turn."""
    if not angles:
        return 0.0

    def diff(a: float, b: float) -> float:
        return abs((a - b + math.pi) % (2 * math.pi) - math.pi)

    tol = math.radians(4)
    clusters = [[b for b in angles if diff(a, b) <= tol] for a in angles]
    near = [
        c
        for a, c in zip(angles, clusters, strict=True)
        if diff(a, round(a / (math.pi / 2)) * (math.pi / 2)) <= math.radians(12)
    ]
    best = max(near or clusters, key=len)
    centre = best[0]
    return centre + statistics.median((b - centre + math.pi) % (2 * math.pi) - math.pi for b in best)


def _upright_rects(page: Page) -> tuple[list[Rect], float, float, list[bool]]:
    """Axis-aligned rects of the page's boxes in its upright frame, that frame's width and height, and
    which boxes run aslant of the page (a diagonal watermark, a seal's arc: never a field's text).

    The frame is turned by the boxes' text direction (each box runs from its text's top-left to its
    top-right; `_page_angle`), so a sideways, upside-down or skewed page is read as printed.
    """
    every = [math.atan2(ln.box[1][1] - ln.box[0][1], ln.box[1][0] - ln.box[0][0]) for ln in page.lines]
    angles = [a for a, ln in zip(every, page.lines, strict=True) if ln.box[1] != ln.box[0]]
    angle = _page_angle(angles)
    cos_a, sin_a = math.cos(-angle), math.sin(-angle)

    def turn(x: float, y: float) -> tuple[float, float]:
        return (x * cos_a - y * sin_a, x * sin_a + y * cos_a)

    corners = [turn(x, y) for x, y in ((0, 0), (page.width, 0), (page.width, page.height), (0, page.height))]
    ox, oy = min(c[0] for c in corners), min(c[1] for c in corners)
    width = max(c[0] for c in corners) - ox
    height = max(c[1] for c in corners) - oy
    rects = []
    for line in page.lines:
        pts = [turn(x, y) for x, y in line.box]
        rects.append(
            Rect(
                min(p[0] for p in pts) - ox,
                min(p[1] for p in pts) - oy,
                max(p[0] for p in pts) - ox,
                max(p[1] for p in pts) - oy,
            )
        )
    aslant = [abs((a - angle + math.pi) % (2 * math.pi) - math.pi) > math.radians(15) for a in every]
    return rects, max(width, 1e-9), max(height, 1e-9), aslant


def _same_row(a: Rect, b: Rect) -> bool:
    return a.y_overlap(b) >= 0.5 * min(a.h, b.h)


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", _norm(text))


# --- labels --------------------------------------------------------------------------------------------


def _label_pattern(rules: Sequence[LabelRule]) -> tuple[re.Pattern[str], list[str]]:
    """One regex over every variant, longest first; a bracketed role ("(甲方)") belongs to the label."""
    variants = sorted(
        {(_compact(v), r.field) for r in rules for v in r.variants if _compact(v)},
        key=lambda vf: -len(vf[0]),
    )
    fields = [f for _, f in variants]
    parts = [f"(?P<L{i}>" + r"\s*".join(re.escape(c) for c in v) + r")" for i, (v, _) in enumerate(variants)]
    role = r"(?:\s*\([^()]{1,8}\))?"
    return re.compile("(?:" + "|".join(parts) + ")" + role + r"[\s:：]*"), fields


def _label_heads(rules: Sequence[LabelRule]) -> dict[str, str]:
    """The first character(s) of each spaced-out label ("住" of "住所") -> its field, when no other
    field's label starts the same way and it is not itself a whole label."""
    heads: dict[str, set[str]] = {}
    whole = {_compact(v) for r in rules for v in r.variants}
    for r in rules:
        for v in r.variants:
            c = _compact(v)
            for n in range(1, len(c)):
                heads.setdefault(c[:n], set()).add(r.field)
    return {h: next(iter(f)) for h, f in heads.items() if len(f) == 1 and h not in whole}


def _merge_spaced_labels(
    lines: list[tuple[str, Rect, float]], variants: Sequence[str], line_h: float
) -> list[tuple[str, Rect, float]]:
    """Join neighbouring boxes on one line whose texts together spell a label ("名", "称" -> "名称")."""
    compact = [_compact(v) for v in variants]
    rows: list[list[tuple[str, Rect, float]]] = []
    for item in sorted(lines, key=lambda it: (it[1].y0 + it[1].y1) / 2):
        if rows and _same_row(rows[-1][0][1], item[1]):
            rows[-1].append(item)
        else:
            rows.append([item])
    items = [it for row in rows for it in sorted(row, key=lambda it: it[1].x0)]
    merged: list[tuple[str, Rect, float]] = []
    for text, rect, conf in items:
        if merged:
            p_text, p_rect, p_conf = merged[-1]
            head, joined = _compact(p_text), _compact(p_text) + _compact(text)
            gap = rect.x0 - p_rect.x1
            if (
                head
                and _same_row(p_rect, rect)
                and -0.5 * line_h <= gap <= 4 * max(line_h, p_rect.h)
                and any(
                    len(head) < len(v)
                    and v.startswith(head)
                    and (joined.startswith(v) or v.startswith(joined))
                    for v in compact
                )
            ):
                merged[-1] = (p_text.strip() + text.strip(), p_rect.union(rect), min(p_conf, conf))
                continue
        merged.append((text, rect, conf))
    return merged


def _anchored(text: str, start: int, prev_label_end: int | None) -> bool:
    """A label starts a box, follows a separator, or follows a previous label's short value
    ("性别女民族汉"); never inside a longer word (名称 in 商户名称)."""
    if start == 0 or text[start - 1] in _SEPARATORS or not text[:start].strip(_SEPARATORS):
        return True
    if _CLAUSE.search(text[:start]):  # "第一条 租赁期限", "二、合同期限": a numbered clause's heading
        return True
    if prev_label_end is not None and len(text[prev_label_end:start].strip(_SEPARATORS)) <= 2:
        return True
    return not _CJK.match(text[start - 1]) and not text[start - 1].isalnum()


def _split(
    text: str, rect: Rect, conf: float, index: int, pattern: re.Pattern[str], fields: list[str]
) -> list[_Piece]:
    """A box's text cut at its labels, each part with its share of the box (by character width)."""
    text = _norm(text)
    widths = [_char_width(c) for c in text]
    total = max(1, sum(widths))

    def sub(a: int, b: int) -> Rect:
        x0 = rect.x0 + rect.w * sum(widths[:a]) / total
        x1 = rect.x0 + rect.w * sum(widths[:b]) / total
        return Rect(x0, rect.y0, x1, rect.y1)

    pieces: list[_Piece] = []
    pos = 0
    prev_end: int | None = None

    def value(a: int, b: int) -> None:
        # Separators go only where they touch a label; text's own punctuation ("是：") stays.
        chunk = text[a:b]
        lead = len(chunk) - len(chunk.lstrip(_VALUE_STRIP if prev_end is not None else " \t"))
        trail = len(chunk.rstrip(_VALUE_STRIP if b < len(text) else " \t"))
        if trail > lead:
            pieces.append(_Piece(chunk[lead:trail], sub(a + lead, a + trail), conf, None, index))

    for m in pattern.finditer(text):
        if not _anchored(text, m.start(), prev_end):
            continue
        value(pos, m.start())
        name = next(fields[int(k[1:])] for k, v in m.groupdict().items() if v is not None)
        pieces.append(_Piece(m.group(0).strip(), sub(m.start(), m.end()), conf, name, index))
        pos = prev_end = m.end()
    value(pos, len(text))
    return pieces


# --- values --------------------------------------------------------------------------------------------


def _right_of(label: _Piece, pieces: list[_Piece], line_h: float, page_w: float) -> list[_Piece]:
    """The pieces to the right of `label` on its line, up to the next label or a wide gap."""
    row = sorted(
        (
            p
            for p in pieces
            # A warped or tight scan lets the value's box overlap the label's end a little.
            if p is not label
            and _same_row(label.rect, p.rect)
            and p.rect.x0 >= label.rect.x0 + 0.6 * label.rect.w
            and p.rect.x1 > label.rect.x1
        ),
        key=lambda p: p.rect.x0,
    )
    out: list[_Piece] = []
    edge = label.rect.x1
    for p in row:
        if p.label is not None:
            break
        if not 0.5 * label.rect.h <= p.rect.h <= 1.8 * label.rect.h:
            continue  # a title or a footnote beside the label, not its value
        limit = max(10 * line_h, 0.3 * page_w) if not out else 2.5 * line_h
        if p.rect.x0 - edge > limit:
            break
        if not p.used:
            out.append(p)
        edge = p.rect.x1
    return out


def _below(label: _Piece, pieces: list[_Piece], line_h: float) -> _Piece | None:
    """The first piece directly below `label` in its column (None when that is another label)."""
    below = [
        p
        for p in pieces
        if p is not label
        and p.rect.y0 >= label.rect.y1 - 0.3 * line_h
        and p.rect.y0 - label.rect.y1 <= 2 * line_h
        and (p.rect.x_overlap(label.rect) > 0 or abs(p.rect.x0 - label.rect.x0) <= line_h)
    ]
    if not below:
        return None
    # The nearest text under the label decides: another label, a used value or something off to the
    # side (the date under 登记机关) means there is no value below; nothing further down is looked at.
    first = min(below, key=lambda p: (p.rect.y0, p.rect.x0))
    aligned = (
        first.rect.x_overlap(label.rect) >= 0.5 * label.rect.w or abs(first.rect.x0 - label.rect.x0) <= line_h
    )
    return None if first.label is not None or first.used or not aligned else first


def _continuation(
    label: _Piece, taken: list[_Piece], pieces: list[_Piece], line_h: float
) -> list[list[_Piece]]:
    """Further lines of a multi-line value: below it, within its column, until a label or a gap."""
    column = taken[0].rect
    for p in taken[1:]:
        column = column.union(p.rect)
    bottom = column.y1
    lines: list[list[_Piece]] = []
    while True:
        nxt = [
            p
            for p in pieces
            if not p.used
            and p not in taken
            and p.rect.y0 >= bottom - 0.3 * line_h
            and p.rect.y0 - bottom <= 1.0 * line_h
        ]
        if not nxt:
            break
        top = min(p.rect.y0 for p in nxt)
        row = [p for p in nxt if p.rect.y0 <= top + 0.5 * line_h]
        # A label on that line within the label's or the value's columns ends the value.
        span = Rect(min(label.rect.x0, column.x0), 0, column.x1, 0)
        if any(p.label is not None and p.rect.x_overlap(span) > 0 for p in row):
            break
        inside = [
            p for p in row if p.label is None and p.rect.x_overlap(column) >= 0.5 * min(p.rect.w, column.w)
        ]
        if not inside:
            break
        inside.sort(key=lambda p: p.rect.x0)
        lines.append(inside)
        taken = taken + inside
        bottom = max(p.rect.y1 for p in inside)
    return lines


def _join(parts: Sequence[str], gap: str) -> str:
    """Join texts; a blank only between two Latin words (or digits, within a line), as printed."""
    out = ""
    for part in parts:
        if out and part:
            a, b = out[-1], part[0]
            latin = a.isascii() and b.isascii() and a.isalnum() and b.isalnum()
            if latin and (gap or (a.isalpha() and b.isalpha())):
                out += " "
        out += part
    return out


def read_page(page: Page, rules: Sequence[LabelRule]) -> PageReading:
    """Values of the fields in `rules` found on `page`: per field, the value of each labelled occurrence
    in reading order (`found` holds the first; `candidates` all, for the caller to take the first valid)."""
    if not page.lines or not rules:
        return PageReading({}, frozenset())
    rects, width, height, aslant = _upright_rects(page)
    upright = [i for i in range(len(rects)) if not aslant[i]] or list(range(len(rects)))
    line_h = statistics.median(rects[i].h for i in upright) or 1.0
    variants = [v for r in rules for v in r.variants]
    boxes = _merge_spaced_labels(
        [(page.lines[i].text, rects[i], float(page.lines[i].confidence)) for i in upright], variants, line_h
    )
    pattern, fields = _label_pattern(rules)
    pieces: list[_Piece] = []
    heads = _label_heads(rules)
    for i, (text, rect, conf) in enumerate(boxes):
        head = heads.get(_compact(text).rstrip(":："))
        if head is not None:  # "住" alone, its "所" lost to blur or a seal: still the label's place
            pieces.append(_Piece(text.strip(), rect, conf, head, i))
            continue
        pieces.extend(_split(text, rect, conf, i, pattern, fields))
    by_field = {r.field: r for r in rules}
    labels = sorted((p for p in pieces if p.label is not None), key=lambda p: (p.rect.y0, p.rect.x0))
    found: dict[str, list[Found]] = {}
    for label in labels:
        name = label.label or ""
        rule = by_field[name]
        if name.startswith("_"):
            continue
        taken: list[_Piece] = []
        if rule.position in ("right", "right_or_below"):
            taken = _right_of(label, pieces, line_h, width)
        if not taken and rule.position in ("below", "right_or_below"):
            first = _below(label, pieces, line_h)
            if first is not None:
                taken = [first, *_right_of(first, pieces, line_h, width)]
        if not taken:
            continue
        lines = [taken]
        if rule.multiline:
            lines += _continuation(label, taken, pieces, line_h)
        parts = [p for line in lines for p in line]
        if name not in found:  # a later occurrence may be chosen only if valid: it claims nothing
            for p in parts:
                p.used = True
        box = parts[0].rect
        for p in parts[1:]:
            box = box.union(p.rect)
        confs = [p.confidence for p in parts]
        found.setdefault(name, []).append(
            Found(
                field=name,
                text=_join([_join([p.text for p in line], " ") for line in lines], ""),
                confidence=min(confs),
                mean_confidence=sum(confs) / len(confs),
                page=page.index,
                box=None
                if page.source == "text_layer"
                else (
                    round(max(0.0, box.x0 / width), 4),
                    round(max(0.0, box.y0 / height), 4),
                    round(min(1.0, box.x1 / width), 4),
                    round(min(1.0, box.y1 / height), 4),
                ),
                source=page.source,
            )
        )
    labelled = frozenset(p.label for p in pieces if p.label is not None and not p.label.startswith("_"))
    return PageReading({k: v[0] for k, v in found.items()}, labelled, found)


def page_box(page: Page, line_index: int) -> tuple[float, float, float, float] | None:
    """The box of one of the page's lines as fractions of the upright page (None for a text layer)."""
    if page.source == "text_layer":
        return None
    rects, width, height, _ = _upright_rects(page)
    r = rects[line_index]
    return (
        round(max(0.0, r.x0 / width), 4),
        round(max(0.0, r.y0 / height), 4),
        round(min(1.0, r.x1 / width), 4),
        round(min(1.0, r.y1 / height), 4),
    )
