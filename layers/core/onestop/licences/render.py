"""One-page A4 licence PDF (reportlab): Chinese with English lines, QR code, a drawn red seal.

The text font is a pre-subset TrueType font shipped in `fonts/` (GB 2312 + ASCII + every label and
catalogue name; see infra/fonts/make_subset.py); reportlab embeds only the glyphs used, with a
ToUnicode map, so `pdftotext`/pypdf read the Chinese back. A character outside that font does not
crash rendering: it is drawn with the standard non-embedded Adobe-GB1 CID font (STSong-Light, which
every PDF viewer substitutes) and reported in `RenderedLicence.fallback_chars`.

Speed (issue 16): what a licence type and its issuer fix - heading, title (and its fitted size),
the issuer line, the footer label and note (wrapped) and the seal's lettering (placed on the rim) -
is laid out once per process into a `_Template` keyed on every one of those texts (font runs split,
widths measured, positions computed); a licence replays that draw list and lays out only its own
fields, the QR code and its caption (the square grows with the payload). Glyph widths come from a
per-character table instead of reportlab's per-string measuring (the greedy wrap re-measured the
whole line for every character), the QR code is encoded by zxing-cpp (C++; segno's pure-Python mask
search took 8-20 ms) and drawn as one path of integer module rectangles, the page stream is saved
without the pure-Python ASCII85 layer, and rl-accel (reportlab's C accelerator) formats the numbers.
Text itself still goes through reportlab's text objects per document: the embedded font subset and
its character codes belong to each document, so text operators cannot be copied byte for byte from
one document into another.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from importlib import resources

from reportlab import rl_config
from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from .credential import CREDENTIAL_INFO_KEY, looks_like_credential
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
LEFT, RIGHT = 72.0, PAGE_W - 72.0

# QR code: error correction M, 2 modules of white border inside the drawn square. The square grows
# with the symbol (a signed credential is version 10-14, a verify URL version 4-6) so that a module
# stays >= 1.8 pt (0.63 mm) where it can, but never past QR_MAX: it must stay under the field rows
# (ROWS_FLOOR) and above its caption and the footer.
QR_BORDER = 2
QR_MIN, QR_MAX = 118.0, 136.0
QR_MODULE_PT = 1.8
_ZXING_EC_M = 4  # zxing-cpp's ec_level scale 0-8: 4 is M (checked by decoding in the tests)


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


# character -> (font, advance width in 1/1000 em); filled lazily, one entry per distinct character
_GLYPHS: dict[str, tuple[str, float]] = {}


def _glyph(ch: str) -> tuple[str, float]:
    got = _GLYPHS.get(ch)
    if got is None:
        covered = _register_fonts()
        font = FONT if ord(ch) in covered or ch == " " else FALLBACK_FONT
        got = _GLYPHS[ch] = (font, pdfmetrics.stringWidth(ch, font, 1000))
    return got


def _clean(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text)


def _units(text: str) -> float:
    """Width of clean `text` in 1/1000 em (times size/1000 gives points)."""
    return sum(_glyph(ch)[1] for ch in text)


def _runs(text: str, missing: set[str]) -> tuple[tuple[str, str], ...]:
    """Split clean `text` into (font, chunk) runs; characters the subset lacks go to the fallback font."""
    runs: list[tuple[str, str]] = []
    current: str | None = None
    chunk: list[str] = []
    for ch in text:
        font = _glyph(ch)[0]
        if font == FALLBACK_FONT:
            missing.add(ch)
        if font != current and chunk:
            assert current is not None
            runs.append((current, "".join(chunk)))
            chunk = []
        current = font
        chunk.append(ch)
    if chunk and current is not None:
        runs.append((current, "".join(chunk)))
    return tuple(runs)


def width(text: str, size: float) -> float:
    """Width in points of `text` at `size` (fallback characters measured in the fallback font)."""
    return _units(_clean(text)) * size / 1000


def wrap(text: str, size: float, max_width: float) -> list[str]:
    """Greedy wrap: break anywhere between CJK characters, at spaces inside Latin words."""
    limit = max_width * 1000 / size
    lines: list[str] = []
    line = ""
    line_units = 0.0
    for ch in text:
        if ch == "\n":
            lines.append(line)
            line, line_units = "", 0.0
            continue
        if not ch.isprintable():
            ch = " "
        ch_units = _glyph(ch)[1]
        if line_units + ch_units <= limit or not line:
            line += ch
            line_units += ch_units
            continue
        cut = line.rfind(" ")
        if ch.isascii() and ch != " " and cut > 0 and line[-1:].isascii():
            lines.append(line[:cut])
            line = line[cut + 1 :] + ch
        else:
            lines.append(line.rstrip())
            line = ch.lstrip()
        line_units = _units(line)
    if line:
        lines.append(line)
    return lines or [""]


@dataclass(frozen=True)
class _Text:
    """One line of text, laid out: left edge, baseline, font runs, style; `at` places it in a
    rotated frame (x, y, degrees) as the seal's rim lettering needs."""

    x: float
    y: float
    runs: tuple[tuple[str, str], ...]
    size: float
    colour: Color
    bold: bool
    at: tuple[float, float, float] | None = None


def _layout(
    x: float,
    y: float,
    text: str,
    size: float,
    missing: set[str],
    *,
    align: str = "left",
    colour: Color = INK,
    bold: bool = False,
    at: tuple[float, float, float] | None = None,
) -> _Text:
    text = _clean(text)
    if align == "centre":
        x -= _units(text) * size / 2000
    elif align == "right":
        x -= _units(text) * size / 1000
    return _Text(x, y, _runs(text, missing), size, colour, bold, at)


def _draw(c: Canvas, item: _Text) -> None:
    if item.at is not None:
        c.saveState()
        c.translate(item.at[0], item.at[1])
        c.rotate(item.at[2])
    t = c.beginText(item.x, item.y)
    t.setFillColor(item.colour)
    # The font has one weight; fill + thin stroke makes a legible bold without a second font.
    # The render mode is graphics state and outlives the text object, so always set it.
    t.setTextRenderMode(2 if item.bold else 0)
    if item.bold:
        c.setStrokeColor(item.colour)
        c.setLineWidth(item.size / 40)
    for font, chunk in item.runs:
        t.setFont(font, item.size)
        t.textOut(chunk)
    c.drawText(t)
    if item.at is not None:
        c.restoreState()


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


@dataclass(frozen=True)
class _Template:
    """What one licence type issued by one authority always shows, laid out once: `under` is drawn
    before the licence's own fields, `seal` after them (it overlaps the issue date, translucent)."""

    under: tuple[_Text, ...]
    seal: tuple[_Text, ...]
    seal_box: tuple[int, int, int, int]
    note_bottom: float  # baseline of the footer note's last line; the verify URL goes under it
    fallback_chars: frozenset[str]


@lru_cache(maxsize=128)
def _template(name_zh: str, name_en: str, issuer_name: str, issuer_name_en: str) -> _Template:
    """The static layout of a licence type + issuer (keyed on every text it shows, nothing else)."""
    missing: set[str] = set()
    under: list[_Text] = []
    centre = PAGE_W / 2
    under.append(_layout(centre, 772, "电子证照  E-LICENCE", 9, missing, align="centre", colour=GREY))
    title_size = 26.0
    while width(name_zh, title_size) > RIGHT - LEFT and title_size > 14:
        title_size -= 1
    under.append(_layout(centre, 738, name_zh, title_size, missing, align="centre", bold=True))
    under.append(_layout(centre, 716, name_en, 11, missing, align="centre", colour=GREY))
    # issuer half under the seal's rim, as on paper, clear of the star so both stay legible
    cx, cy = SEAL_CENTRE
    under.append(_layout(cx - 24, cy + 8, issuer_name, 13, missing, align="right"))
    y = 100.0
    under.append(_layout(LEFT, y, "电子证照标识 E-licence identifier", 8, missing, colour=GREY))
    note = (
        f"本证照由{issuer_name}加盖电子印章签发。扫描二维码或访问下列网址可核验证照真伪及状态。"
        f" Sealed electronically by the {issuer_name_en}; verify it and its status at:"
    )
    last = y - 28
    for i, line in enumerate(wrap(note, 7.5, RIGHT - LEFT)):
        last = y - 28 - i * 10
        under.append(_layout(LEFT, last, line, 7.5, missing, colour=GREY))
    seal, seal_box = _seal_lettering(issuer_name, missing)
    return _Template(tuple(under), seal, seal_box, last, frozenset(missing))


def _seal_lettering(
    bureau_name: str, missing: set[str]
) -> tuple[tuple[_Text, ...], tuple[int, int, int, int]]:
    """The bureau's name clockwise on the upper rim and the subtitle; the seal's bounding box."""
    cx, cy = SEAL_CENTRE
    r = SEAL_RADIUS
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
    items: list[_Text] = []
    for i, ch in enumerate(chars):
        angle = 90 + span / 2 - step * i if n > 1 else 90.0
        theta = math.radians(angle)
        at = (cx + text_r * math.cos(theta), cy + text_r * math.sin(theta), angle - 90)
        items.append(
            _layout(0, -size * 0.35, ch, size, missing, align="centre", colour=SEAL_RED, bold=True, at=at)
        )
    items.append(
        _layout(cx, cy - r * 0.55, SEAL_SUBTITLE, 8.5, missing, align="centre", colour=SEAL_RED, bold=True)
    )
    pad = 3
    box = (
        math.floor(cx - r - pad),
        math.floor(cy - r - pad),
        math.ceil(cx + r + pad),
        math.ceil(cy + r + pad),
    )
    return tuple(items), box


def _draw_frame(c: Canvas) -> None:
    c.setStrokeColor(FRAME)
    c.setLineWidth(2.4)
    c.rect(26, 26, PAGE_W - 52, PAGE_H - 52, stroke=1, fill=0)
    c.setLineWidth(0.8)
    c.rect(32, 32, PAGE_W - 64, PAGE_H - 64, stroke=1, fill=0)


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


def _draw_seal(c: Canvas, lettering: tuple[_Text, ...]) -> None:
    """A red round seal: rim, five-pointed star, then the cached lettering."""
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
    for item in lettering:
        _draw(c, item)
    c.restoreState()


def qr_modules(text: str) -> tuple[int, bytes]:
    """The QR symbol (error correction M, no quiet zone) for `text`: side in modules and one byte per
    module, row by row from the top, 0 = dark."""
    import zxingcpp  # imported here: only rendering needs the encoder

    bitmap = zxingcpp.write_barcode(zxingcpp.BarcodeFormat.QRCode, text, quiet_zone=0, ec_level=_ZXING_EC_M)
    view = memoryview(bitmap)
    n = view.shape[0] if view.shape else 0
    if view.shape != (n, n) or n < 21:
        raise ValueError(f"unexpected QR bitmap shape {view.shape}")
    return n, view.tobytes()


def qr_size(n: int) -> float:
    """Side in points of the drawn QR square (border included) for a symbol of `n` modules."""
    return min(QR_MAX, max(QR_MIN, (n + 2 * QR_BORDER) * QR_MODULE_PT))


def _draw_qr(c: Canvas, text: str, x: float, centre_y: float) -> tuple[float, float]:
    """The QR code as one vector path of module rectangles (crisp at any zoom, no image decoding),
    in a coordinate system of one unit per module so that the path is short integers. Returns the
    square's bottom edge and side."""
    n, modules = qr_modules(text)
    size = qr_size(n)
    y = centre_y - size / 2
    module = size / (n + 2 * QR_BORDER)
    ops: list[str] = []
    for row in range(n):
        base = row * n
        top = n - 1 - row  # module rows count up from the bottom of the symbol
        col = 0
        while col < n:
            if modules[base + col] == 0:
                start = col
                while col < n and modules[base + col] == 0:
                    col += 1
                ops.append(f"{start} {top} {col - start} 1 re")
            else:
                col += 1
    c.saveState()
    c.setFillColor(INK)
    c.translate(x + QR_BORDER * module, y + QR_BORDER * module)
    c.scale(module, module)
    c.addLiteral("\n".join(ops) + "\nf")
    c.restoreState()
    return y, size


# The QR's signed credential is also written to the document information (CREDENTIAL_INFO_KEY), where a
# verifier of the PDF reads it without drawing the page: with the licence type's signed status list at
# hand, an offline check of the PDF learns the status as a check of its picture does (verification/
# status.py, status_from_credential). The seal covers it like every byte of the first revision.
def _with_credential_info(c: Canvas, credential: str) -> None:
    """Add `credential` to the canvas's document information (reportlab writes a fixed set of keys)."""
    from reportlab.pdfbase.pdfdoc import PDFDictionary, PDFInfo, PDFString

    class LicenceInfo(PDFInfo):
        def format(self, document: object) -> bytes:
            text: bytes = super().format(document)
            extra = PDFDictionary({CREDENTIAL_INFO_KEY: PDFString(credential)}).format(document)
            # Both are "<< … >>" dictionaries: ours joins reportlab's before its closing ">>".
            return text[: text.rindex(b">>")] + extra.strip()[2:-2] + b">>"

    info = LicenceInfo()
    info.__dict__.update(c._doc.info.__dict__)
    c._doc.info = info


def render_licence(meta: LicenceMetadata, *, verify_url: str, qr_text: str | None = None) -> RenderedLicence:
    """Draw the licence for `meta`; the QR code carries `qr_text` (e.g. a signed credential) or, by
    default, `verify_url`, which is printed under the footer note either way."""
    _register_fonts()
    tpl = _template(meta.name_zh, meta.name_en, meta.issuer_name, meta.issuer_name_en)
    missing: set[str] = set(tpl.fallback_chars)
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, pageCompression=1, lang="zh-CN")
    c.setTitle(f"{meta.name_zh} {meta.number}")
    c.setAuthor(meta.issuer_name)
    c.setSubject(meta.licence_id)
    c.setCreator("onestop e-licence")
    c.setKeywords([meta.licence_id, meta.number, meta.holder_code])
    if qr_text is not None and looks_like_credential(qr_text):
        _with_credential_info(c, qr_text)
    _draw_frame(c)
    for item in tpl.under:
        _draw(c, item)

    def text(
        x: float,
        y: float,
        value: str,
        size: float,
        *,
        align: str = "left",
        colour: Color = INK,
        bold: bool = False,
    ) -> None:
        _draw(c, _layout(x, y, value, size, missing, align=align, colour=colour, bold=bold))

    centre = PAGE_W / 2
    text(centre, 690, f"证照编号：{meta.number}", 12, align="centre")
    text(centre, 676, f"Licence No. {meta.number}", 8.5, align="centre", colour=GREY)

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
    label_x, value_x = LEFT, LEFT + 118
    value_w = RIGHT - value_x
    y = 638.0
    omitted: list[str] = []
    for label_zh, label_en, value, note in rows:
        lines = wrap(value, 12.5, value_w)
        notes = wrap(note, 8, value_w) if note else []
        used = 16 * len(lines) + 10 * len(notes)
        if y - max(used, 24) < ROWS_FLOOR:  # one page, and nothing drawn over the QR code or the seal
            omitted.append(label_zh)
            continue
        text(label_x, y, label_zh, 11.5, bold=True)
        if label_en:
            text(label_x, y - 12, label_en, 7.5, colour=GREY)
        for i, line in enumerate(lines):
            text(value_x, y - i * 16, line, 12.5)
        for i, line in enumerate(notes):
            text(value_x, y - 16 * len(lines) + 3 - i * 10, line, 8, colour=GREY)
        y -= max(used, 24) + 12

    cx, cy = SEAL_CENTRE
    text(cx - 24, cy - 14, _zh_date(meta.issue_date), 12, align="right")
    qr_bottom, qr_side = _draw_qr(c, qr_text if qr_text is not None else verify_url, LEFT, cy)
    text(LEFT + qr_side / 2, qr_bottom - 12, "扫码核验  Scan to verify", 8.5, align="centre", colour=GREY)
    _draw_seal(c, tpl.seal)

    text(LEFT, 88, meta.licence_id, 8.5)
    text(LEFT, tpl.note_bottom - 11, verify_url, 7.5, colour=GREY)

    c.showPage()
    # Binary (Flate only) page stream: reportlab's default ASCII85 layer on top is pure Python, ~2 ms
    # a licence, and makes the stream a quarter larger; PDF needs no 7-bit safety here. The switch is
    # a module global read while saving, so it is set around save() and put back.
    a85 = rl_config.useA85
    rl_config.useA85 = 0
    try:
        c.save()
    finally:
        rl_config.useA85 = a85
    return RenderedLicence(
        pdf=buf.getvalue(),
        seal_box=tpl.seal_box,
        fallback_chars=frozenset(missing),
        omitted_rows=tuple(omitted),
    )
