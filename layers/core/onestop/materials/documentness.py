"""Is an OCR'd page a document, and is it one document? Measured from the OCR boxes and the pixels.

A document has several lines of evenly sized, aligned text on paper, or paragraphs, or the words of a
known material type. A street or product photo, a poster or a single text line has not. Several
separated blocks of text that each carry their own title or cues are several documents (a collage),
unless they are parts of one: blocks of the same type whose title words differ (an ID card's front
with 公民身份号码 and its back with 居民身份证) are one document; two blocks that share a title word
are two copies. Pure: numbers in, numbers out; the pipeline turns them into problems.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from onestop.errors import Reason

from .classify import CONFIDENT, TITLE_WEIGHT, classify, meaningful_chars, type_name
from .ocr import OcrLine

# Fewer lines than this is a caption, a sign or a single line, not a document.
MIN_LINES = 3
# Share of the text area on light, unsaturated pixels (paper) under which the text sits on a picture.
MIN_PAPER = 0.3
# Median characters per line from which the text is running prose (a page of a book, a letter).
PARAGRAPH_CHARS = 12
# A form or certificate: at least this many lines, evenly sized and aligned.
FORM_LINES = 5
MIN_UNIFORMITY = 0.75
MIN_ALIGNMENT = 0.6
# Boxes closer than this many median line heights (across, down) belong to one block of text: wide
# enough for a title above its body and label/value columns, narrower than the margin of two papers.
BLOCK_GAP_X = 6.0
BLOCK_GAP_Y = 4.0
BLOCK_MIN_LINES = 3

Rect = tuple[float, float, float, float]


@dataclass(frozen=True)
class PageLayout:
    """What one OCR'd page looks like, and the verdict; every figure lands in the manifest."""

    lines: int
    line_height: float  # median line height, fraction of the page height
    coverage: float  # share of the page covered by text boxes
    uniformity: float  # share of lines within 35 % of the median line height
    alignment: float  # share of lines whose left edge, centre or right edge lines up with another's
    paper: float  # share of the text area on light, unsaturated pixels
    chars_per_line: float  # median
    evidence: float  # the classifier's top cue score on the page
    blocks: tuple[str, ...]  # the type of each block of text that carries its own title or cues
    document: bool
    multiple: bool
    why: str

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float):
                out[key] = round(value, 3)
        out["blocks"] = list(self.blocks)
        return out


def _rect(line: OcrLine) -> Rect:
    xs = [p[0] for p in line.box]
    ys = [p[1] for p in line.box]
    return min(xs), min(ys), max(xs), max(ys)


def _height(line: OcrLine) -> float:
    """The box's short side: the text height even when the line is skewed."""
    p0, p1, _, p3 = line.box
    return max(1.0, min(math.dist(p0, p3), math.dist(p0, p1)))


def _paper_mask(rgb: np.ndarray) -> np.ndarray:
    """Light, unsaturated pixels: paper (ink, seals, desks and pictures are not). HSV in OpenCV:
    saturation under 25 %, value over 60 %."""
    import cv2

    hsv = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3], dtype=np.uint8), cv2.COLOR_RGB2HSV)
    return (hsv[..., 1] < 64) & (hsv[..., 2] > 153)


def _paper_share(rgb: np.ndarray | None, rects: Sequence[Rect]) -> float:
    """Share of light, unsaturated pixels over the area the text spans (sampled on a coarse grid)."""
    if rgb is None or rgb.ndim != 3 or not rects:
        return 1.0
    height, width = rgb.shape[:2]
    x0 = max(0, int(min(r[0] for r in rects)))
    y0 = max(0, int(min(r[1] for r in rects)))
    x1 = min(width, int(max(r[2] for r in rects)) + 1)
    y1 = min(height, int(max(r[3] for r in rects)) + 1)
    if x1 <= x0 or y1 <= y0:
        return 1.0
    step = max(1, math.ceil(max(x1 - x0, y1 - y0) / 400))
    return float(_paper_mask(rgb[y0:y1:step, x0:x1:step]).mean())


def _lined_up(rects: Sequence[Rect], tolerance: float) -> float:
    def near(a: float, values: list[float]) -> bool:
        return any(abs(a - v) <= tolerance for v in values)

    count = 0
    for i, r in enumerate(rects):
        others = [s for j, s in enumerate(rects) if j != i]
        if (
            near(r[0], [s[0] for s in others])
            or near(r[2], [s[2] for s in others])
            or near((r[0] + r[2]) / 2, [(s[0] + s[2]) / 2 for s in others])
        ):
            count += 1
    return count / len(rects)


def _blocks(rects: Sequence[Rect], unit: float) -> list[list[int]]:
    """Indices of boxes grouped into blocks: boxes closer than the block gaps join (single linkage)."""
    parent = list(range(len(rects)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(rects):
        for j in range(i):
            b = rects[j]
            gap_x = max(a[0], b[0]) - min(a[2], b[2])
            gap_y = max(a[1], b[1]) - min(a[3], b[3])
            if gap_x <= BLOCK_GAP_X * unit and gap_y <= BLOCK_GAP_Y * unit:
                parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(rects)):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=lambda g: min(g))


def _span(rects: Sequence[Rect], block: Sequence[int]) -> Rect:
    return (
        min(rects[i][0] for i in block),
        min(rects[i][1] for i in block),
        max(rects[i][2] for i in block),
        max(rects[i][3] for i in block),
    )


def _separated(rgb: np.ndarray | None, a: Rect, b: Rect, unit: float) -> bool:
    """Is there a band of background (not paper) between two blocks of text, wider than a ruling
    line? Two papers on a desk or pasted on a dark ground are; two parts of one form are not."""
    if rgb is None or rgb.ndim != 3:
        return True
    if a[2] <= b[0] or b[2] <= a[0]:  # side by side: look for background columns between them
        left, right = (a, b) if a[2] <= b[0] else (b, a)
        lo, hi = max(a[1], b[1]), min(a[3], b[3])
        if hi - lo < unit:
            lo, hi = min(a[1], b[1]), max(a[3], b[3])
        strip = rgb[int(lo) : int(hi) + 1, int(left[2]) : int(right[0]) + 1, :3]
        axis = 0  # share of paper per column
    elif a[3] <= b[1] or b[3] <= a[1]:  # one above the other: background rows
        top, bottom = (a, b) if a[3] <= b[1] else (b, a)
        lo, hi = max(a[0], b[0]), min(a[2], b[2])
        if hi - lo < unit:
            lo, hi = min(a[0], b[0]), max(a[2], b[2])
        strip = rgb[int(top[3]) : int(bottom[1]) + 1, int(lo) : int(hi) + 1, :3]
        axis = 1  # share of paper per row
    else:
        return False  # overlapping spans: one page
    if strip.size == 0:
        return False
    paper = _paper_mask(strip).mean(axis=axis)
    run = best = 0
    for share in paper:
        run = run + 1 if share < 0.3 else 0
        best = max(best, run)
    return best >= max(6.0, 0.5 * unit)


def _sheets(rgb: np.ndarray | None, rects: Sequence[Rect], unit: float) -> list[int]:
    """For each text box, the sheet of paper it lies on: connected regions of paper that cover at
    least 3 % of the image (documents side by side on a desk are separate sheets); -1 for none.
    Ink, ruling lines and seal strokes thinner than a third of a text line are closed over first,
    so that a form's table does not cut its page into cells."""
    if rgb is None or rgb.ndim != 3 or not rects:
        return [0] * len(rects)
    import cv2

    height, width = rgb.shape[:2]
    step = max(1, math.ceil(max(height, width) / 800))
    paper = _paper_mask(rgb[::step, ::step]).astype(np.uint8)
    size = max(3, round(0.3 * unit / step)) | 1
    closed = cv2.morphologyEx(paper, cv2.MORPH_CLOSE, np.ones((size, size), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=4)
    big = np.zeros(count, dtype=bool)
    big[1:] = stats[1:, cv2.CC_STAT_AREA] >= 0.03 * closed.size
    out = []
    for x0, y0, x1, y1 in rects:
        window = labels[int(y0) // step : int(y1) // step + 1, int(x0) // step : int(x1) // step + 1]
        votes = np.bincount(window.ravel(), minlength=count) * big  # pixels per big sheet
        out.append(int(votes.argmax()) if votes.any() else -1)
    return out


def _documents_in(
    rgb: np.ndarray | None, lines: Sequence[OcrLine], rects: Sequence[Rect], unit: float
) -> tuple[str, ...]:
    """The type of each block that is a document on its own (own cues, confidently one type).
    Blocks are cut by sheet of paper first, then by gaps in the text. Blocks of one type are parts
    of one document (a form's header and body, an ID card's two sides) unless they share a title
    word and lie on different sheets or with background between them (two copies)."""
    by_sheet: dict[int, list[int]] = {}
    for index, sheet in enumerate(_sheets(rgb, rects, unit)):
        by_sheet.setdefault(sheet, []).append(index)
    found: list[tuple[str, frozenset[str], Rect, int]] = []
    for sheet, members in sorted(by_sheet.items()):
        for block in _blocks([rects[i] for i in members], unit):
            if len(block) < BLOCK_MIN_LINES:
                continue
            chosen = [members[i] for i in block]
            result = classify("\n".join(lines[i].text for i in chosen))
            if result.material_type == "other" or result.confidence < CONFIDENT:
                continue
            if result.top_score < TITLE_WEIGHT:
                continue
            found.append((result.material_type, frozenset(result.title_cues), _span(rects, chosen), sheet))
    merged: list[tuple[str, frozenset[str], Rect, int]] = []
    for code, titles, span, sheet in found:
        for k, (other_code, other_titles, other_span, other_sheet) in enumerate(merged):
            # Text off any sheet (a shadow, a tinted band) tells nothing; overlapping spans are one page.
            on_two = sheet != other_sheet and -1 not in (sheet, other_sheet)
            apart = on_two or _separated(rgb, span, other_span, unit)
            if code == other_code and (not (titles & other_titles) or not apart):
                merged[k] = (code, titles | other_titles, other_span, other_sheet)
                break
        else:
            merged.append((code, titles, span, sheet))
    return tuple(code for code, _, _, _ in merged)


def measure_page(rgb: np.ndarray | None, lines: Sequence[OcrLine]) -> PageLayout:
    """Measure one page from its OCR lines (pixel boxes in `rgb`'s frame) and judge it."""
    readable = [ln for ln in lines if meaningful_chars(ln.text) > 0]
    page_h = float(rgb.shape[0]) if rgb is not None else 0.0
    page_w = float(rgb.shape[1]) if rgb is not None else 0.0
    if not readable:
        return PageLayout(0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, (), False, False, "no text")
    rects = [_rect(ln) for ln in readable]
    heights = [_height(ln) for ln in readable]
    unit = statistics.median(heights)
    area = sum((r[2] - r[0]) * (r[3] - r[1]) for r in rects)
    coverage = area / (page_w * page_h) if page_w and page_h else 0.0
    uniformity = sum(1 for h in heights if abs(h - unit) <= 0.35 * unit) / len(heights)
    alignment = _lined_up(rects, unit) if len(rects) > 1 else 0.0
    paper = _paper_share(rgb, rects)
    chars = statistics.median(meaningful_chars(ln.text) for ln in readable)
    evidence = classify("\n".join(ln.text for ln in readable))
    score = evidence.top_score if evidence.material_type != "other" else 0.0
    blocks = _documents_in(rgb, readable, rects, unit) if len(readable) >= 2 * BLOCK_MIN_LINES else ()
    n = len(readable)
    if n < MIN_LINES:
        document, why = False, f"only {n} line(s) of text"
    elif score >= TITLE_WEIGHT:
        document, why = True, f"cues of {evidence.material_type}"
    elif paper < MIN_PAPER:
        document, why = False, f"text on a picture, not on paper (paper {paper:.2f})"
    elif chars >= PARAGRAPH_CHARS:
        document, why = True, "running text"
    elif n >= FORM_LINES and uniformity >= MIN_UNIFORMITY and alignment >= MIN_ALIGNMENT:
        document, why = True, "even, aligned lines"
    else:
        document, why = (
            False,
            f"scattered text of mixed sizes (uniformity {uniformity:.2f}, alignment {alignment:.2f})",
        )
    return PageLayout(
        lines=n,
        line_height=unit / page_h if page_h else 0.0,
        coverage=coverage,
        uniformity=uniformity,
        alignment=alignment,
        paper=paper,
        chars_per_line=float(chars),
        evidence=score,
        blocks=blocks,
        document=document,
        multiple=len(blocks) > 1,
        why=why,
    )


@dataclass(frozen=True)
class Documentness:
    """The verdict over a whole upload: OCR'd pages measured, pages with a real text layer trusted."""

    is_document: bool
    multiple: bool
    pages: tuple[PageLayout, ...]
    text_layer_pages: int = 0

    @property
    def blocks(self) -> tuple[str, ...]:
        return next((p.blocks for p in self.pages if p.multiple), ())

    def as_dict(self) -> dict[str, object]:
        return {
            "is_document": self.is_document,
            "multiple_documents": self.multiple,
            "text_layer_pages": self.text_layer_pages,
            "pages": [p.as_dict() for p in self.pages],
        }


def assess(pages: Sequence[PageLayout], text_layer_pages: int = 0) -> Documentness:
    """A born-digital text layer is a document by construction; OCR'd pages must look like one."""
    is_document = text_layer_pages > 0 or any(p.document for p in pages)
    multiple = any(p.multiple for p in pages)
    return Documentness(is_document, multiple, tuple(pages), text_layer_pages)


def not_a_document_problem(verdict: Documentness) -> Reason:
    """Text was found, but not a document's: a reviewer may still accept it (the file is kept)."""
    why = next((p.why for p in verdict.pages if not p.document), "")
    return Reason(
        "not_a_document",
        "这张图片看起来不像是一份文件（像照片、海报、商品图或单行文字）；请上传材料本身的扫描件或照片。"
        "如确为所需材料，工作人员可以确认。",
        "This does not look like a document (it looks like a photo, a poster, a product picture or a "
        f"single line of text: {why}); upload a scan or photo of the document itself. If it is the "
        "material asked for, a reviewer can accept it.",
        "material_type",
    )


def multiple_documents_problem(verdict: Documentness) -> Reason:
    """Several documents in one image: fields would mix; each must be uploaded on its own."""
    names = [type_name(code) for code in verdict.blocks]
    shown_zh = "、".join(zh for zh, _ in names)
    shown_en = ", ".join(en for _, en in names)
    return Reason(
        "multiple_documents",
        f"一张图片中有多份文件（识别到：{shown_zh}）；请每份文件单独拍照或扫描后分别上传。",
        f"The image holds several documents (found: {shown_en}); photograph or scan each one on its "
        "own and upload them separately.",
        "material_type",
    )
