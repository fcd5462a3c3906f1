"""Normalisation: images wrapped without recompression, invisible text layer, manifest."""

from __future__ import annotations

import io
from pathlib import Path

import pypdfium2
from onestop.errors import Reason
from onestop.materials.images import load_image
from onestop.materials.limits import Limits
from onestop.materials.normalise import PageText, build_manifest, image_to_pdf, sha256_hex, stamp_text_layer
from onestop.materials.ocr import OcrLine
from onestop.materials.sniff import sniff
from PIL import Image
from pypdf import PdfReader


def _jpeg(size: tuple[int, int] = (400, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (250, 250, 250)).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def _image_streams(pdf: bytes) -> list[bytes]:
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    xobjects = page["/Resources"]["/XObject"]
    return [xobjects[name].get_object()._data for name in xobjects]


def test_jpeg_is_embedded_byte_for_byte() -> None:
    data = _jpeg()
    pdf, notes = image_to_pdf(data, sniff(data), load_image(data, Limits()))
    assert notes == ()
    assert _image_streams(pdf) == [data]


def test_junk_before_soi_is_dropped_not_reencoded() -> None:
    data = _jpeg()
    dirty = b"junk!" + data
    pdf, _ = image_to_pdf(dirty, sniff(dirty), load_image(dirty, Limits()))
    assert _image_streams(pdf) == [data]


def test_exif_rotation_becomes_page_rotation(corpus: Path) -> None:
    # RapidOCR test image (Apache-2.0), EXIF orientation 3.
    data = (corpus / "01_ocr_images/rapidocr_img_exif_orientation.jpg").read_bytes()
    pdf, _ = image_to_pdf(data, sniff(data), load_image(data, Limits()))
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert page.get("/Rotate") == 180
    assert _image_streams(pdf) == [data]


def test_transparent_png_is_flattened_losslessly(corpus: Path) -> None:
    data = (corpus / "01_ocr_images/rapidocr_black_font_transparent.png").read_bytes()
    loaded = load_image(data, Limits())
    pdf, notes = image_to_pdf(data, sniff(data), loaded)
    assert [n.code for n in notes] == ["image_reencoded_lossless"]
    rendered = pypdfium2.PdfDocument(pdf)[0].render(scale=loaded.width / 841.89 * 72 / 72).to_pil()
    assert rendered.convert("RGB").getpixel((2, 2)) == (255, 255, 255)


def test_invisible_text_layer_is_extractable_and_placed_on_the_line() -> None:
    data = _jpeg((800, 400))
    loaded = load_image(data, Limits())
    pdf, _ = image_to_pdf(data, sniff(data), loaded)
    line = OcrLine(
        "统一社会信用代码 91440300", ((100.0, 100.0), (700.0, 100.0), (700.0, 150.0), (100.0, 150.0)), 0.99
    )
    upside = OcrLine("倒置文字", ((700.0, 350.0), (300.0, 350.0), (300.0, 300.0), (700.0, 300.0)), 0.99)
    stamped = stamp_text_layer(pdf, {0: PageText(800, 400, (line, upside))})
    text = PdfReader(io.BytesIO(stamped)).pages[0].extract_text()
    assert "统一社会信用代码" in text
    assert "91440300" in text
    assert "倒置文字" in text
    # pdfium agrees on where the characters are: the first one starts near x=100 px of 800.
    page = pypdfium2.PdfDocument(stamped)[0]
    textpage = page.get_textpage()
    left, _bottom, _right, top = textpage.get_charbox(0)
    width, height = page.get_size()
    assert abs(left / width * 800 - 100) < 12
    assert abs((height - top) / height * 400 - 100) < 15
    # The page image is untouched: same single embedded JPEG.
    assert _image_streams(stamped) == [data]


def test_manifest_records_hashes_and_versions() -> None:
    data = _jpeg()
    manifest = build_manifest(
        original=data,
        normalised=b"%PDF-1.7 fake",
        sniffed=sniff(data),
        pages=1,
        status="catalogued",
        reason=Reason("catalogued", "已编目。", "Catalogued."),
        engine_versions={"engine": "rapidocr", "rapidocr": "3.10.0"},
        classification={"material_type": "other", "confidence": 0.5},
        fields={"uscc": "X"},
        problems=[Reason("p", "问题", "problem", "uscc")],
        notes=[],
        timings={"total": 0.123456},
        text_sources=["ocr"],
    )
    assert manifest["original"]["sha256"] == sha256_hex(data)
    assert manifest["normalised"]["sha256"] == sha256_hex(b"%PDF-1.7 fake")
    assert manifest["ocr"]["rapidocr"] == "3.10.0"
    assert manifest["problems"] == [{"code": "p", "zh": "问题", "en": "problem", "field": "uscc"}]
    assert manifest["timings_s"]["total"] == 0.1235


# An MP3 frame header and an EOI inside the appended bytes: the end is found by structure, not search.
APPENDED = b"ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x64" + b"\xff\xd9" + b"\x00" * 500


def test_bytes_after_a_jpegs_end_are_cut_off_and_noted() -> None:
    """Issue 14: an MP3 appended to a JPEG went into the catalogued PDF byte for byte."""
    data = _jpeg()
    dirty = data + APPENDED
    pdf, notes = image_to_pdf(dirty, sniff(dirty), load_image(dirty, Limits()))
    assert _image_streams(pdf) == [data]
    assert [n.code for n in notes] == ["trailing_data_removed"]
    assert f"{len(APPENDED)} " in notes[0].en
    assert APPENDED[:14] not in pdf


def test_a_progressive_jpeg_with_appended_bytes_keeps_all_its_scans() -> None:
    buffer = io.BytesIO()
    Image.effect_noise((300, 200), 60).convert("RGB").save(buffer, format="JPEG", progressive=True)
    data = buffer.getvalue()
    assert data.count(b"\xff\xda") > 1  # several scans
    dirty = data + APPENDED
    pdf, notes = image_to_pdf(dirty, sniff(dirty), load_image(dirty, Limits()))
    assert _image_streams(pdf) == [data]
    assert [n.code for n in notes] == ["trailing_data_removed"]


def test_bytes_after_a_pngs_end_are_noted_and_not_kept() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (10, 200, 30)).save(buffer, format="PNG")
    dirty = buffer.getvalue() + APPENDED
    pdf, notes = image_to_pdf(dirty, sniff(dirty), load_image(dirty, Limits()))
    assert [n.code for n in notes] == ["trailing_data_removed"]
    assert APPENDED[:14] not in pdf


def test_every_corpus_image_ends_where_its_structure_says(corpus: Path) -> None:
    """Real files (EXIF thumbnails with their own EOI, restart markers, fill bytes) end at their
    last byte, or, for a damaged one, the end is not claimed at all."""
    from onestop.materials.image_bounds import image_end

    checked = 0
    for path in sorted(corpus.rglob("*")):
        if path.suffix.lower() not in {".jpg", ".jpeg", ".png"}:
            continue
        data = path.read_bytes()
        found = sniff(data)
        if found.kind not in {"jpeg", "png"}:
            continue
        end = image_end(data, found.kind, found.offset)
        assert end in (None, len(data)) or data[end:].strip(b"\x00\r\n ") == b"", path.name
        checked += 1
    assert checked >= 10


def test_truncated_or_malformed_images_have_no_end() -> None:
    from onestop.materials.image_bounds import image_end

    data = _jpeg()
    assert image_end(data, "jpeg") == len(data)
    assert image_end(data[: len(data) // 2], "jpeg") is None
    assert image_end(b"\xff\xd8\x00\x00", "jpeg") is None
    assert image_end(b"not an image", "jpeg") is None
    assert image_end(data, "tiff") is None
    buffer = io.BytesIO()
    Image.new("L", (20, 20)).save(buffer, format="PNG")
    png = buffer.getvalue()
    assert image_end(png, "png") == len(png)
    assert image_end(png[:-6], "png") is None
    assert image_end(b"junk" + png, "png", 4) == len(png) + 4
