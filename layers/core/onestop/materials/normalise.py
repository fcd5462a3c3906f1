"""The catalogued form of a material: one standard PDF (searchable) plus a manifest.

Images are wrapped into PDF without recompression (img2pdf copies JPEG/PNG data streams as they are);
OCR text is laid over the page as invisible text (render mode 3) so that the PDF can be searched and
copied. The text layer is added by appending a content stream and a font resource to each page, without
parsing the page's existing content (which, for an uploaded PDF, is untrusted).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from onestop.errors import Reason
from onestop.observability import logger

from .image_bounds import image_end
from .images import LoadedImage
from .ocr import OcrLine
from .sniff import Sniffed

# A4 long side in points: images are placed at the resolution that makes their longer side this long.
_A4_LONG_PT = 841.89
_FONT_NAME = "/OnestopOCR"


@dataclass(frozen=True)
class PageText:
    """OCR lines of one page and the pixel size of the (upright, displayed) image they were read from.

    `turn` (clockwise, a multiple of 90) is added to the page's /Rotate first: the lines are in the frame
    of the page as it is displayed after that turn.
    """

    width_px: int
    height_px: int
    lines: tuple[OcrLine, ...]
    turn: int = 0


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- images -> PDF -----------------------------------------------------------------------------------


def _png_bytes(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


# EXIF orientations that are pure turns, as the clockwise /Rotate that shows the stored pixels upright.
_EXIF_TURNS = {None: 0, 1: 0, 6: 90, 3: 180, 8: 270}


def image_to_pdf(
    data: bytes, sniffed: Sniffed, loaded: LoadedImage, turn: int = 0
) -> tuple[bytes, tuple[Reason, ...]]:
    """Wrap the uploaded image into a one-page PDF; returns the PDF and notes on what was done.

    The original JPEG/PNG/TIFF data goes in as is: its EXIF turn plus `turn` (clockwise, found by
    materials/orientation.py on the EXIF-upright pixels) become the page's /Rotate, so the page shows
    upright without re-encoding. Images img2pdf cannot pass through (transparency, several frames,
    mirrored EXIF orientations) are re-encoded losslessly as PNG from the upright first frame.
    """
    import img2pdf

    long_px = max(loaded.width, loaded.height)
    dpi = long_px * 72.0 / _A4_LONG_PT
    layout = img2pdf.get_fixed_dpi_layout_fun((dpi, dpi))
    image, notes = _image_only(data, sniffed)
    passthrough = not loaded.had_alpha and loaded.frames == 1 and loaded.exif_orientation in _EXIF_TURNS
    if passthrough:
        rotate = (_EXIF_TURNS[loaded.exif_orientation] + turn) % 360
        try:
            pdf = img2pdf.convert(image, layout_fun=layout, rotation=img2pdf.Rotation[str(rotate)])
            return pdf, notes
        except Exception as exc:  # img2pdf refuses some valid images; fall back to a lossless re-encode
            logger.info("image not passed through; re-encoding losslessly", extra={"error": repr(exc)})
    pdf = img2pdf.convert(
        _png_bytes(loaded.rgb), layout_fun=layout, rotation=img2pdf.Rotation[str(turn % 360)]
    )
    note = Reason(
        "image_reencoded_lossless",
        "图片已无损转换为 PNG 后封装为 PDF（透明背景、多帧或特殊方向）。",
        "The image was re-encoded losslessly as PNG before wrapping (transparency, frames or orientation).",
    )
    return pdf, (*notes, note)


def _image_only(data: bytes, sniffed: Sniffed) -> tuple[bytes, tuple[Reason, ...]]:
    """The image's own bytes: from where it starts to where it says it ends. Bytes after its end are
    cut off and noted, never copied into the material (a decoder ignores them, so nothing else would
    see what they carry)."""
    end = image_end(data, sniffed.kind, sniffed.offset)
    if end is None or end >= len(data):
        return data[sniffed.offset :], ()
    extra = len(data) - end
    note = Reason(
        "trailing_data_removed",
        f"图片结束标记之后附加的 {extra} 字节数据已去除，未放入电子材料。",
        f"{extra} bytes appended after the image's end marker were removed and not kept in the material.",
    )
    logger.warning("bytes after the image's end removed", extra={"bytes": extra, "kind": sniffed.kind})
    return data[sniffed.offset : end], (note,)


# --- invisible text layer ----------------------------------------------------------------------------


def _to_unicode_cmap() -> bytes:
    # Codes are UCS-2 (the UniGB-UCS2-H encoding), so the map is the identity over the BMP.
    ranges = [f"<{hi:02X}00> <{hi:02X}FF> <{hi:02X}00>" for hi in range(256) if not 0xD8 <= hi <= 0xDF]
    chunks = []
    for start in range(0, len(ranges), 100):
        part = ranges[start : start + 100]
        chunks.append(f"{len(part)} beginbfrange\n" + "\n".join(part) + "\nendbfrange")
    body = "\n".join(chunks)
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        f"{body}\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode("ascii")


def _char_width(ch: str) -> int:
    return 500 if ord(ch) < 0x80 else 1000


def _user_point(
    u: float, v: float, box: tuple[float, float, float, float], rotate: int, scale: float
) -> tuple[float, float]:
    """Displayed-page pixel (u right, v down) -> PDF user space, for a page with this crop box and /Rotate."""
    x0, y0, x1, y1 = box
    du, dv = u * scale, v * scale
    if rotate == 90:
        return x0 + dv, y0 + du
    if rotate == 180:
        return x1 - du, y0 + dv
    if rotate == 270:
        return x1 - dv, y1 - du
    return x0 + du, y1 - dv


def _line_ops(line: OcrLine, box: tuple[float, float, float, float], rotate: int, scale: float) -> str | None:
    text = "".join(ch for ch in line.text if ord(ch) <= 0xFFFF and not 0xD800 <= ord(ch) <= 0xDFFF)
    if not text.strip():
        return None
    p0, p1, _p2, p3 = line.box
    a = _user_point(*p0, box, rotate, scale)
    b = _user_point(*p1, box, rotate, scale)
    d = _user_point(*p3, box, rotate, scale)
    ux, uy = b[0] - a[0], b[1] - a[1]  # along the baseline, full line length
    vx, vy = a[0] - d[0], a[1] - d[1]  # bottom to top, full line height
    natural = sum(_char_width(ch) for ch in text) / 1000.0
    if natural <= 0 or (ux == 0 and uy == 0) or (vx == 0 and vy == 0):
        return None
    size = 0.85
    ox, oy = d[0] + vx * 0.12, d[1] + vy * 0.12
    hexed = "".join(f"{ord(ch):04X}" for ch in text)
    return (
        f"BT 3 Tr {_FONT_NAME} 1 Tf "
        f"{ux / natural:.4f} {uy / natural:.4f} {vx * size:.4f} {vy * size:.4f} {ox:.3f} {oy:.3f} Tm "
        f"<{hexed}> Tj ET"
    )


def _font_dict(writer: Any) -> Any:
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    to_unicode = DecodedStreamObject()
    to_unicode.set_data(_to_unicode_cmap())
    descriptor = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/FontDescriptor"),
            NameObject("/FontName"): NameObject("/STSong-Light"),
            NameObject("/Flags"): NumberObject(6),
            NameObject("/FontBBox"): ArrayObject([NumberObject(n) for n in (-25, -254, 1000, 880)]),
            NameObject("/ItalicAngle"): NumberObject(0),
            NameObject("/Ascent"): NumberObject(880),
            NameObject("/Descent"): NumberObject(-120),
            NameObject("/CapHeight"): NumberObject(880),
            NameObject("/StemV"): NumberObject(93),
        }
    )
    cid_font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/CIDFontType0"),
            NameObject("/BaseFont"): NameObject("/STSong-Light"),
            NameObject("/CIDSystemInfo"): DictionaryObject(
                {
                    NameObject("/Registry"): TextStringObject("Adobe"),
                    NameObject("/Ordering"): TextStringObject("GB1"),
                    NameObject("/Supplement"): NumberObject(2),
                }
            ),
            NameObject("/FontDescriptor"): writer._add_object(descriptor),
            NameObject("/DW"): NumberObject(1000),
            NameObject("/W"): ArrayObject([NumberObject(1), NumberObject(95), FloatObject(500)]),
        }
    )
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type0"),
            NameObject("/BaseFont"): NameObject("/STSong-Light-UniGB-UCS2-H"),
            NameObject("/Encoding"): NameObject("/UniGB-UCS2-H"),
            NameObject("/DescendantFonts"): ArrayObject([writer._add_object(cid_font)]),
            NameObject("/ToUnicode"): writer._add_object(to_unicode),
        }
    )
    return writer._add_object(font)


def _stream(writer: Any, data: bytes) -> Any:
    from pypdf.generic import DecodedStreamObject

    stream = DecodedStreamObject()
    stream.set_data(data)
    return writer._add_object(stream)


def _resources_of(page: Any) -> Any:
    node = page
    while node is not None:
        resources = node.get("/Resources")
        if resources is not None:
            return resources.get_object()
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
    return None


def stamp_text_layer(pdf: bytes, pages: Mapping[int, PageText]) -> bytes:
    """Add invisible OCR text to the given pages (index -> text) and return the new PDF."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject

    if not any(pt.lines or pt.turn % 360 for pt in pages.values()):
        return pdf
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    font_ref = _font_dict(writer)
    for index, page_text in pages.items():
        if index >= len(writer.pages):
            continue
        page = writer.pages[index]
        rotate = int(page.get("/Rotate", 0) or 0) % 360
        if page_text.turn % 360:
            rotate = (rotate + page_text.turn) % 360
            page[NameObject("/Rotate")] = NumberObject(rotate)
        if not page_text.lines:
            continue
        crop = page.cropbox
        box = (float(crop.left), float(crop.bottom), float(crop.right), float(crop.top))
        displayed_width = (box[3] - box[1]) if rotate in (90, 270) else (box[2] - box[0])
        scale = displayed_width / max(1, page_text.width_px)
        ops = [op for line in page_text.lines if (op := _line_ops(line, box, rotate, scale))]
        if not ops:
            continue
        inherited = _resources_of(page)
        resources = DictionaryObject() if inherited is None else DictionaryObject(dict(inherited))
        fonts = resources.get("/Font")
        fonts = DictionaryObject(dict(fonts.get_object())) if fonts is not None else DictionaryObject()
        fonts[NameObject(_FONT_NAME)] = font_ref
        resources[NameObject("/Font")] = fonts
        page[NameObject("/Resources")] = resources
        contents = page.get("/Contents")
        existing: list[Any] = []
        if contents is not None:
            raw = page.raw_get("/Contents")
            target = contents.get_object()
            existing = list(target) if isinstance(target, ArrayObject) else [raw]
        overlay = ("q\n" + "\n".join(ops) + "\nQ\n").encode("ascii")
        page[NameObject("/Contents")] = ArrayObject(
            [_stream(writer, b"q\n"), *existing, _stream(writer, b"\nQ\n"), _stream(writer, overlay)]
        )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def turn_pages(pdf: bytes, turns: Mapping[int, int]) -> bytes:
    """Only add clockwise quarter turns to the pages' /Rotate (when the text layer could not be added)."""
    try:
        return stamp_text_layer(pdf, {i: PageText(1, 1, (), turn) for i, turn in turns.items()})
    except Exception as exc:
        logger.warning("pages not turned upright", extra={"error": repr(exc)})
        return pdf


# --- manifest ---------------------------------------------------------------------------------------


def build_manifest(
    *,
    original: bytes,
    normalised: bytes | None,
    sniffed: Sniffed,
    pages: int,
    status: str,
    reason: Reason,
    engine_versions: Mapping[str, str] | None,
    classification: Mapping[str, Any] | None,
    fields: Mapping[str, Any],
    problems: Sequence[Reason],
    field_readings: Mapping[str, Any] | None = None,
    notes: Sequence[Reason],
    timings: Mapping[str, float],
    text_sources: Sequence[str],
    declared: Mapping[str, Any] | None = None,
    orientation: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The JSON that travels with the catalogued PDF: what came in, what came out, and how.

    `orientation` has one {"page", "rotated", "deskewed_deg"} per OCR'd page (materials/orientation.py).
    """
    return {
        "schema": "onestop.material-manifest/1",
        "status": status,
        "reason": reason.as_dict(),
        "original": {
            "sha256": sha256_hex(original),
            "size": len(original),
            "sniffed_type": sniffed.mime,
            "declared": dict(declared or {}),
        },
        "normalised": (
            {"sha256": sha256_hex(normalised), "size": len(normalised), "pages": pages}
            if normalised is not None
            else None
        ),
        "pages": pages,
        "text_sources": list(text_sources),
        "ocr": dict(engine_versions or {}),
        "classification": dict(classification or {}),
        "fields": dict(fields),
        "field_readings": dict(field_readings or {}),
        "problems": [p.as_dict() for p in problems],
        "notes": [n.as_dict() for n in notes],
        "timings_s": {k: round(v, 4) for k, v in timings.items()},
        "orientation": [dict(entry) for entry in orientation],
    }
