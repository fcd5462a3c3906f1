"""One-page A4 licence PDF (reportlab): Chinese with English lines, QR code, a drawn red seal.

The text font is a pre-subset TrueType font shipped in `fonts/` (GB 2312 + ASCII + every label and
catalogue name; see infra/fonts/make_subset.py); reportlab embeds only the glyphs used, with a
ToUnicode map, so `pdftotext`/pypdf read the Chinese back. A character outside that font does not
crash rendering: it is drawn with the standard non-embedded Adobe-GB1 CID font (STSong-Light, which
every PDF viewer substitutes) and reported in `RenderedLicence.fallback_chars`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

import segno
from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from .models import LicenceMetadata

FONT = "OnestopCJK"
FALLBACK_FONT = "STSong-Light"  # Adobe-GB1, not embedded: viewers substitute a system Song font
FONT_FILE = "onestop-cjk.ttf"

PAGE_W, PAGE_H = A4
INK = Color(0.12, 0.12, 0.12)
GREY = Color(0.42, 0.42, 0.42)
FRAME = Color(0.62, 0.12, 0.10)
SEAL_RED = Color(0.86, 0.08, 0.08)

# Where the seal sits (the signature widget is placed over the same box).
SEAL_CENTRE = (440.0, 196.0)
SEAL_RADIUS = 64.0
SEAL_SUBTITLE = "电子证照专用章"
ROWS_FLOOR = 272.0  # the field rows stay above the QR code and the seal


@dataclass(frozen=True)
class RenderedLicence:
    """The unsigned PDF, where its seal is drawn, characters the embedded font lacked, and labels of
    item-specific lines that did not fit on the page."""

    pdf: bytes
    seal_box: tuple[int, int, int, int]  # llx, lly, urx, ury on page 1, PDF points
    fallback_chars: frozenset[str]
    omitted_rows: tuple[str, ...] = ()


@cache
def _register_fonts() -> frozenset[int]:
    """Register the fonts once per process; return the code points the embedded font covers."""
    font_res = resources.files("onestop.licences").joinpath("fonts", FONT_FILE)
    with resources.as_file(font_res) as path:
        font = TTFont(FONT, str(path))
    pdfmetrics.registerFont(font)
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    return frozenset(font.face.charToGlyph.keys())


def _runs(text: str, covered: frozenset[int], missing: set[str]) -> Iterator[tuple[str, str]]:
    """Split `text` into (font, chunk) runs; characters the subset lacks go to the fallback font."""
    current: str | None = None
    chunk: list[str] = []
    for ch in text:
        if not ch.isprintable():
            ch = " "
        if ord(ch) in covered or ch == " ":
            font = FONT
        else:
            font = FALLBACK_FONT
            missing.add(ch)
        if font != current and chunk:
            assert current is not None
            yield current, "".join(chunk)
            chunk = []
        current = font
        chunk.append(ch)
    if chunk and current is not None:
        yield current, "".join(chunk)


class _Writer:
    """Text drawing with font fallback, width measurement and simple CJK-aware wrapping."""

    def __init__(self, canvas: Canvas, covered: frozenset[int]) -> None:
        self.c = canvas
        self.covered = covered
        self.missing: set[str] = set()

    def width(self, text: str, size: float) -> float:
        return sum(pdfmetrics.stringWidth(chunk, font, size) for font, chunk in self._runs(text))

    def _runs(self, text: str) -> Iterator[tuple[str, str]]:
        return _runs(text, self.covered, self.missing)

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size: float,
        *,
        align: str = "left",
        colour: Color = INK,
        bold: bool = False,
    ) -> None:
        if align == "centre":
            x -= self.width(text, size) / 2
        elif align == "right":
            x -= self.width(text, size)
        t = self.c.beginText(x, y)
        t.setFillColor(colour)
        # The font has one weight; fill + thin stroke makes a legible bold without a second font.
        # The render mode is graphics state and outlives the text object, so always set it.
        t.setTextRenderMode(2 if bold else 0)
        if bold:
            self.c.setStrokeColor(colour)
            self.c.setLineWidth(size / 40)
        for font, chunk in self._runs(text):
            t.setFont(font, size)
            t.textOut(chunk)
        self.c.drawText(t)

    def wrap(self, text: str, size: float, width: float) -> list[str]:
        """Greedy wrap: break anywhere between CJK characters, at spaces inside Latin words."""
        lines: list[str] = []
        line = ""
        for ch in text:
            if ch == "\n":
                lines.append(line)
                line = ""
                continue
            if self.width(line + ch, size) <= width or not line:
                line += ch
                continue
            cut = line.rfind(" ")
            if ch.isascii() and ch != " " and cut > 0 and line[-1:].isascii():
                lines.append(line[:cut])
                line = line[cut + 1 :] + ch
            else:
                lines.append(line.rstrip())
                line = ch.lstrip()
        if line:
            lines.append(line)
        return lines or [""]


def _zh_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _en_date(d: date) -> str:
    return f"{d.day} {d.strftime('%B')} {d.year}"


def _validity(meta: LicenceMetadata) -> tuple[str, str]:
    if meta.valid_until is None:
        return (
            f"自{_zh_date(meta.valid_from)}起长期有效",
            f"From {_en_date(meta.valid_from)}, without expiry",
        )
    return (
        f"{_zh_date(meta.valid_from)} 至 {_zh_date(meta.valid_until)}",
        f"{_en_date(meta.valid_from)} to {_en_date(meta.valid_until)}",
    )


def _draw_frame(c: Canvas) -> None:
    c.setStrokeColor(FRAME)
    c.setLineWidth(2.4)
    c.rect(26, 26, PAGE_W - 52, PAGE_H - 52, stroke=1, fill=0)
    c.setLineWidth(0.8)
    c.rect(32, 32, PAGE_W - 64, PAGE_H - 64, stroke=1, fill=0)


def _draw_qr(c: Canvas, w: _Writer, url: str, x: float, y: float, size: float) -> None:
    """The QR code as vector rectangles (crisp at any zoom, no image decoding)."""
    qr = segno.make(url, error="m", micro=False)
    border = 2
    matrix = qr.matrix
    n = len(matrix)
    module = size / (n + 2 * border)
    path = c.beginPath()
    for row_ix, row in enumerate(matrix):
        top = y + size - (row_ix + border + 1) * module
        col = 0
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                path.rect(x + (start + border) * module, top, (col - start) * module, module)
            else:
                col += 1
    c.setFillColor(INK)
    c.drawPath(path, fill=1, stroke=0)
    w.text(x + size / 2, y - 12, "扫码核验  Scan to verify", 8.5, align="centre", colour=GREY)


def _star_path(c: Canvas, cx: float, cy: float, r: float) -> None:
    inner = r * math.sin(math.radians(18)) / math.sin(math.radians(126))
    path = c.beginPath()
    for i in range(10):
        radius = r if i % 2 == 0 else inner
        angle = math.radians(90 + i * 36)
        px, py = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
        if i == 0:
            path.moveTo(px, py)
        else:
            path.lineTo(px, py)
    path.close()
    c.drawPath(path, fill=1, stroke=0)


def _draw_seal(c: Canvas, w: _Writer, bureau_name: str) -> tuple[int, int, int, int]:
    """A red round seal: rim, five-pointed star, the bureau's name on the upper arc, a subtitle."""
    cx, cy = SEAL_CENTRE
    r = SEAL_RADIUS
    c.saveState()
    # Slight transparency lets the issuer line and date under the seal stay readable, as on paper.
    c.setFillAlpha(0.88)
    c.setStrokeAlpha(0.88)
    c.setStrokeColor(SEAL_RED)
    c.setFillColor(SEAL_RED)
    c.setLineWidth(3.2)
    c.circle(cx, cy, r, stroke=1, fill=0)
    _star_path(c, cx, cy + 2, r * 0.30)

    chars = [ch for ch in bureau_name if not ch.isspace()]
    n = len(chars)
    # Seal convention: the name runs clockwise over roughly 200-280 degrees of the upper rim.
    span = 200.0 if n <= 8 else min(280.0, 200.0 + (n - 8) * 12.0)
    step = span / (n - 1) if n > 1 else 0.0
    size = 17.0
    text_r = r - 5 - size * 0.8
    while n > 1 and size > 7 and size * 1.05 > math.radians(step) * text_r:
        size -= 0.5
        text_r = r - 5 - size * 0.8
    for i, ch in enumerate(chars):
        angle = 90 + span / 2 - step * i if n > 1 else 90.0
        theta = math.radians(angle)
        c.saveState()
        c.translate(cx + text_r * math.cos(theta), cy + text_r * math.sin(theta))
        c.rotate(angle - 90)
        w.text(0, -size * 0.35, ch, size, align="centre", colour=SEAL_RED, bold=True)
        c.restoreState()
    w.text(cx, cy - r * 0.55, SEAL_SUBTITLE, 8.5, align="centre", colour=SEAL_RED, bold=True)
    c.restoreState()
    pad = 3
    return (
        math.floor(cx - r - pad),
        math.floor(cy - r - pad),
        math.ceil(cx + r + pad),
        math.ceil(cy + r + pad),
    )


def render_licence(meta: LicenceMetadata, *, verify_url: str) -> RenderedLicence:
    """Draw the licence for `meta`; the QR code carries `verify_url`."""
    covered = _register_fonts()
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, pageCompression=1, lang="zh-CN")
    c.setTitle(f"{meta.name_zh} {meta.number}")
    c.setAuthor(meta.issuer_name)
    c.setSubject(meta.licence_id)
    c.setCreator("onestop e-licence")
    c.setKeywords([meta.licence_id, meta.number, meta.holder_code])
    w = _Writer(c, covered)
    _draw_frame(c)

    left, right = 72.0, PAGE_W - 72.0
    w.text(PAGE_W / 2, 772, "电子证照  E-LICENCE", 9, align="centre", colour=GREY)
    title_size = 26.0
    while w.width(meta.name_zh, title_size) > right - left and title_size > 14:
        title_size -= 1
    w.text(PAGE_W / 2, 738, meta.name_zh, title_size, align="centre", bold=True)
    w.text(PAGE_W / 2, 716, meta.name_en, 11, align="centre", colour=GREY)
    w.text(PAGE_W / 2, 690, f"证照编号：{meta.number}", 12, align="centre")
    w.text(PAGE_W / 2, 676, f"Licence No. {meta.number}", 8.5, align="centre", colour=GREY)

    valid_zh, valid_en = _validity(meta)
    rows: list[tuple[str, str, str, str]] = [
        ("持证主体", "Holder", meta.holder_name, ""),
        (
            "持证主体代码",
            "Holder code",
            meta.holder_code,
            f"{meta.holder_kind.code_label_zh}（代码类型 {meta.holder_code_type}）"
            f"  {meta.holder_kind.code_label_en}",
        ),
        ("关联事项", "Service item", meta.item_name, f"事项编码 Item code: {meta.item_code}"),
        ("有效期限", "Validity", valid_zh, valid_en),
        ("颁发机构", "Issuing authority", meta.issuer_name, f"{meta.issuer_name_en}  ({meta.issuer_code})"),
        ("颁发日期", "Date of issue", _zh_date(meta.issue_date), _en_date(meta.issue_date)),
        ("版本", "Version", f"第 {meta.version} 版", f"Version {meta.version:03d}"),
        # item-specific lines last: if the page runs out, only these can be left off (and are reported)
        *((label, "", value, "") for label, value in meta.extra),
    ]
    label_x, value_x = left, left + 118
    value_w = right - value_x
    y = 638.0
    omitted: list[str] = []
    for label_zh, label_en, value, note in rows:
        lines = w.wrap(value, 12.5, value_w)
        notes = w.wrap(note, 8, value_w) if note else []
        used = 16 * len(lines) + 10 * len(notes)
        if y - max(used, 24) < ROWS_FLOOR:  # one page, and nothing drawn over the QR code or the seal
            omitted.append(label_zh)
            continue
        w.text(label_x, y, label_zh, 11.5, bold=True)
        if label_en:
            w.text(label_x, y - 12, label_en, 7.5, colour=GREY)
        for i, line in enumerate(lines):
            w.text(value_x, y - i * 16, line, 12.5)
        for i, line in enumerate(notes):
            w.text(value_x, y - 16 * len(lines) + 3 - i * 10, line, 8, colour=GREY)
        y -= max(used, 24) + 12

    # issuer and date half under the seal's rim, as on paper, clear of the star so both stay legible
    cx, cy = SEAL_CENTRE
    w.text(cx - 24, cy + 8, meta.issuer_name, 13, align="right")
    w.text(cx - 24, cy - 14, _zh_date(meta.issue_date), 12, align="right")
    qr_size = 118.0
    _draw_qr(c, w, verify_url, left, cy - qr_size / 2, qr_size)
    seal_box = _draw_seal(c, w, meta.issuer_name)

    y = 100.0
    w.text(left, y, "电子证照标识 E-licence identifier", 8, colour=GREY)
    w.text(left, y - 12, meta.licence_id, 8.5)
    note = (
        f"本证照由{meta.issuer_name}加盖电子印章签发。扫描二维码或访问下列网址可核验证照真伪及状态。"
        f" Sealed electronically by the {meta.issuer_name_en}; verify it and its status at:"
    )
    for i, line in enumerate(w.wrap(note, 7.5, right - left)):
        w.text(left, y - 28 - i * 10, line, 7.5, colour=GREY)
        last = y - 28 - i * 10
    w.text(left, last - 11, verify_url, 7.5, colour=GREY)

    c.showPage()
    c.save()
    return RenderedLicence(
        pdf=buf.getvalue(),
        seal_box=seal_box,
        fallback_chars=frozenset(w.missing),
        omitted_rows=tuple(omitted),
    )
