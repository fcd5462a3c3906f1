"""Documents only, one at a time (issue 14 item 4): real OCR on corpus files and rendered scenes,
through `process_upload` as the ingest function runs it.

A street or product photo, a poster or a single text line is `not_a_document` unless the slot takes
photos; several documents in one image are `multiple_documents` (an ID card's two sides are one);
an unrelated document is `material_type_mismatch`, naming a class only when the classifier is sure
of it; none of them is ever catalogued.

Corpus files: ../shared/corpus/01_ocr_images (sources and licences in its MANIFEST.md).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from onestop.catalogue import load_catalogue
from onestop.materials.classify import CONFIDENT, type_name
from onestop.materials.documentness import assess, measure_page
from onestop.materials.ocr import OcrEngine, OcrLine, get_rapid_engine
from onestop.materials.pipeline import IngestOutcome, process_upload
from onestop.materials.service import _slot_takes
from PIL import Image, ImageDraw

from infra import samples
from tests import document_specimens as docs
from tests.materials_specimens import SPECIMENS, _font, png_bytes

pytestmark = [pytest.mark.slow]
IMAGES = "01_ocr_images"


@pytest.fixture(scope="module")
def engine() -> OcrEngine:
    return get_rapid_engine()


def _names_in(text: str) -> set[str]:
    """Catalogue material types whose zh or en name appears in a reason."""
    found = set()
    for mt in load_catalogue().material_types:
        zh, en = type_name(mt.code)
        if mt.code != "other" and (zh in text or en in text.lower()):
            found.add(mt.code)
    return found


def _codes(outcome: IngestOutcome) -> set[str]:
    return {p.code for p in outcome.problems}


def _not_catalogued(outcome: IngestOutcome, code: str) -> None:
    assert outcome.status == "needs_attention", outcome.reason.en
    assert code in _codes(outcome)
    assert outcome.reason.zh
    assert outcome.reason.en
    assert outcome.normalised_pdf is not None  # kept: a reviewer may still accept it


# --- rendered scenes -----------------------------------------------------------------------------------


def street_scene() -> Image.Image:
    """A street photo: sky gradient, a road, a shop front with a sign, an "open" board, trees."""
    width, height = 1280, 960
    img = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    for y in range(height):
        c = int(120 + 100 * y / height)
        draw.line((0, y, width, y), fill=(c // 2, c // 2 + 30, c))
    draw.rectangle((0, 600, width, height), fill=(90, 90, 95))
    draw.rectangle((150, 250, 700, 600), fill=(160, 120, 90))
    draw.rectangle((200, 200, 650, 290), fill=(180, 20, 20))
    draw.text((230, 210), "老王便利店", font=_font(64), fill=(255, 230, 0))
    draw.rectangle((800, 300, 1150, 600), fill=(120, 130, 150))
    draw.text((830, 320), "营业中", font=_font(40), fill="white")
    draw.text((830, 380), "24小时", font=_font(30), fill="white")
    for x in range(0, width, 160):
        draw.ellipse((x, 640, x + 60, 700), fill=(40, 90, 40))
    return img


def side_by_side(pages: list[Image.Image], background: tuple[int, int, int] = (40, 40, 45)) -> Image.Image:
    """Pages at half size pasted side by side on a dark desk, 60 px apart."""
    small = [p.convert("RGB").resize((p.width // 2, p.height // 2)) for p in pages]
    width = sum(p.width for p in small) + 60 * (len(small) + 1)
    out = Image.new("RGB", (width, max(p.height for p in small) + 120), background)
    x = 60
    for page in small:
        out.paste(page, (x, 60))
        x += page.width + 60
    return out


def id_back() -> Image.Image:
    """The emblem side of a resident ID card, card-sized."""
    img = Image.new("RGB", (1012, 638), (246, 248, 250))
    draw = ImageDraw.Draw(img)
    draw.text((330, 90), "中华人民共和国", font=_font(56), fill=(20, 20, 20))
    draw.text((300, 190), "居民身份证", font=_font(80), fill=(20, 20, 20))
    draw.text((180, 420), "签发机关  深圳市公安局福田分局", font=_font(36), fill=(20, 20, 20))
    draw.text((180, 500), "有效期限  2016.05.06-2036.05.06", font=_font(36), fill=(20, 20, 20))
    return img


def both_sides_on_a_page() -> Image.Image:
    """Front and back of one ID card photocopied onto one white A4 page."""
    page = Image.new("RGB", (1240, 1754), "white")
    front = SPECIMENS["resident_id_card"]().image
    for card, top in ((front, 200), (id_back(), 1000)):
        small = card.resize((card.width * 3 // 4, card.height * 3 // 4))
        page.paste(small, (240, top))
        ImageDraw.Draw(page).rectangle(
            (240, top, 240 + small.width, top + small.height), outline=(120, 120, 120), width=2
        )
    return page


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


# --- non-documents -------------------------------------------------------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.parametrize("slot", ["other", "business_licence"])
@pytest.mark.parametrize(
    "name", ["rapidocr_ch_en_num.jpg", "rapidocr_single_line.jpg", "rapidocr_en_rec.jpg"]
)
def test_corpus_non_documents_are_not_documents(
    corpus: Path, engine: OcrEngine, name: str, slot: str
) -> None:
    """A product card (advert) and single text lines, whatever the slot."""
    outcome = process_upload(
        (corpus / IMAGES / name).read_bytes(), expected_material_type=slot, engine=engine
    )
    _not_catalogued(outcome, "not_a_document")
    assert "material_type_mismatch" not in _codes(outcome)
    assert outcome.classification is not None
    assert outcome.classification.material_type == "other"
    assert outcome.manifest["classification"]["documentness"]["is_document"] is False


@pytest.mark.timeout(120)
def test_street_photo_is_not_a_document_unless_the_slot_takes_photos(engine: OcrEngine) -> None:
    data = _png(street_scene())
    outcome = process_upload(data, expected_material_type="other", engine=engine)
    _not_catalogued(outcome, "not_a_document")
    photos = process_upload(data, expected_material_type="other", accepts_photos=True, engine=engine)
    assert photos.status == "catalogued", [p.en for p in photos.problems]
    assert photos.classification is not None
    assert photos.classification.material_type == "other"


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", ["street_photo", "product_card", "single_text_line"])
def test_realistic_non_documents(engine: OcrEngine, name: str) -> None:
    spec = docs.OTHERS[name]()
    data, filename = docs.damage(spec.image, "clean")
    outcome = process_upload(
        data, declared={"filename": filename}, expected_material_type="other", engine=engine
    )
    _not_catalogued(outcome, "not_a_document")


def test_slot_flags_come_from_the_catalogue() -> None:
    """ingest_object passes the slot's flags to process_upload (materials.service._slot_takes)."""
    assert _slot_takes("direct-selling-outlet-inspection", "outlet_photos") == {
        "accepts_photos": True,
        "also_accepts": (),
    }
    assert _slot_takes("end-of-life-vehicle-recycling-qualification", "equipment_list") == {
        "accepts_photos": False,
        "also_accepts": ("invoice",),
    }
    assert _slot_takes("technology-contract-registration", "no_such_slot") == {}
    assert _slot_takes(None, "outlet_photos") == {}


# --- unrelated documents -------------------------------------------------------------------------------


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("chineseocr_train_ticket.jpg", "train_ticket"),
        ("invoice_vat_electronic.png", "invoice"),
        ("invoice_vat_machine_photo_is_jpeg.png", "invoice"),
        ("invoice_vat_special_specimen.jpg", "invoice"),
    ],
)
def test_unrelated_documents_in_an_other_slot_are_named_not_catalogued(
    corpus: Path, engine: OcrEngine, name: str, found: str
) -> None:
    outcome = process_upload(
        (corpus / IMAGES / name).read_bytes(), expected_material_type="other", engine=engine
    )
    _not_catalogued(outcome, "material_type_mismatch")
    assert "multiple_documents" not in _codes(outcome)
    assert outcome.classification is not None
    assert outcome.classification.material_type == found
    assert outcome.classification.confidence >= CONFIDENT
    assert _names_in(outcome.reason.en) == {found}
    assert _names_in(outcome.reason.zh) == {found}


@pytest.mark.timeout(120)
def test_unrelated_document_in_a_typed_slot_is_a_mismatch(corpus: Path, engine: OcrEngine) -> None:
    outcome = process_upload(
        (corpus / IMAGES / "chineseocr_train_ticket.jpg").read_bytes(),
        expected_material_type="resident_id_card",
        engine=engine,
    )
    _not_catalogued(outcome, "material_type_mismatch")
    assert "classification_uncertain" not in _codes(outcome)
    assert _names_in(outcome.reason.en) == {"train_ticket", "resident_id_card"}


@pytest.mark.timeout(120)
def test_receipt_in_a_slot_that_takes_receipts_is_catalogued(corpus: Path, engine: OcrEngine) -> None:
    outcome = process_upload(
        (corpus / IMAGES / "invoice_vat_special_specimen.jpg").read_bytes(),
        expected_material_type="equipment_list",
        also_accepts=("invoice",),
        engine=engine,
    )
    assert outcome.status == "catalogued", [p.en for p in outcome.problems]
    assert outcome.classification is not None
    assert outcome.classification.material_type == "invoice"


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", ["receipt", "lab_report"])
def test_realistic_receipt_and_lab_report_are_never_catalogued(engine: OcrEngine, name: str) -> None:
    spec = docs.OTHERS[name]()
    data, filename = docs.damage(spec.image, "clean")
    for slot in ("other", "business_licence"):
        outcome = process_upload(
            data, declared={"filename": filename}, expected_material_type=slot, engine=engine
        )
        _not_catalogued(outcome, "material_type_mismatch")
        # Named only as what it was decided to be, never as a class set aside.
        assert outcome.classification is not None
        decided = outcome.classification.material_type
        assert decided in ("invoice", "lab_report")
        assert _names_in(outcome.reason.en) <= {decided, slot}


@pytest.mark.timeout(120)
def test_a_book_page_is_a_document_of_no_known_type(corpus: Path, engine: OcrEngine) -> None:
    data = (corpus / IMAGES / "chineseocr_book_photo.jpeg").read_bytes()
    other = process_upload(data, expected_material_type="other", engine=engine)
    assert other.status == "catalogued", [p.en for p in other.problems]
    typed = process_upload(data, expected_material_type="business_licence", engine=engine)
    _not_catalogued(typed, "material_type_mismatch")
    mismatch = next(p for p in typed.problems if p.code == "material_type_mismatch")
    # Not the expected type, and no class named besides it: nothing was recognised.
    assert _names_in(mismatch.en) == {"business_licence"}
    assert _names_in(mismatch.zh) == {"business_licence"}


# --- several documents in one image --------------------------------------------------------------------


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    "kinds",
    [("business_licence", "application_form"), ("business_licence", "resident_id_card", "application_form")],
)
def test_collage_is_multiple_documents(engine: OcrEngine, kinds: tuple[str, ...]) -> None:
    image = side_by_side([SPECIMENS[k]().image for k in kinds])
    outcome = process_upload(_png(image), expected_material_type="application_form", engine=engine)
    _not_catalogued(outcome, "multiple_documents")
    assert outcome.fields.get("applicant_name") is None  # never read from a mix of documents
    blocks = outcome.manifest["classification"]["documentness"]["pages"][0]["blocks"]
    assert sorted(blocks) == sorted(kinds)


@pytest.mark.timeout(240)
def test_photographed_collage_is_multiple_documents(engine: OcrEngine) -> None:
    spec = docs.OTHERS["collage"]()
    data, filename = docs.damage(spec.image, "clean")
    outcome = process_upload(
        data, declared={"filename": filename}, expected_material_type=spec.slot_type, engine=engine
    )
    _not_catalogued(outcome, "multiple_documents")


@pytest.mark.timeout(180)
def test_id_card_front_and_back_on_one_page_is_one_document(engine: OcrEngine) -> None:
    outcome = process_upload(
        png_bytes(both_sides_on_a_page()), expected_material_type="resident_id_card", engine=engine
    )
    assert "multiple_documents" not in _codes(outcome), [p.en for p in outcome.problems]
    assert "not_a_document" not in _codes(outcome)
    assert outcome.classification is not None
    assert outcome.classification.material_type == "resident_id_card"
    spec = docs.DOCUMENTS["id_card_both_sides"]()
    data, filename = docs.damage(spec.image, "clean")
    photo = process_upload(
        data, declared={"filename": filename}, expected_material_type="resident_id_card", engine=engine
    )
    assert "multiple_documents" not in _codes(photo), [p.en for p in photo.problems]
    assert photo.classification is not None
    assert photo.classification.material_type == "resident_id_card"


@pytest.mark.timeout(120)
def test_two_copies_of_one_card_side_by_side_are_two_documents(engine: OcrEngine) -> None:
    """Same type, same title words, a desk between them: two documents, not two parts of one."""
    card = SPECIMENS["resident_id_card"]().image
    outcome = process_upload(
        _png(side_by_side([card, card])), expected_material_type="resident_id_card", engine=engine
    )
    assert "multiple_documents" in _codes(outcome)


# --- the demo's own documents --------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_demo_contract_is_catalogued_as_a_technology_contract(engine: OcrEngine) -> None:
    slot = load_catalogue().item("technology-contract-registration").material("contract")
    outcome = process_upload(samples.contract_pdf(), expected_material_type=slot.material_type, engine=engine)
    assert outcome.classification is not None
    assert outcome.classification.material_type == "technology_contract"
    assert outcome.classification.confidence >= CONFIDENT
    assert not {"material_type_mismatch", "classification_uncertain", "not_a_document"} & _codes(outcome)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", ["technology_contract", "labour_contract"])
def test_rendered_contracts_are_their_types(engine: OcrEngine, name: str) -> None:
    spec = docs.DOCUMENTS[name]()
    data, filename = docs.damage(spec.image, "clean")
    outcome = process_upload(
        data, declared={"filename": filename}, expected_material_type=spec.slot_type, engine=engine
    )
    assert outcome.classification is not None
    assert outcome.classification.material_type == spec.material_type
    assert outcome.classification.confidence >= CONFIDENT
    assert not {"material_type_mismatch", "not_a_document", "multiple_documents"} & _codes(outcome)


# --- the measurements themselves (no OCR) ---------------------------------------------------------------


def _line(text: str, x: float, y: float, w: float, h: float) -> OcrLine:
    return OcrLine(text, ((x, y), (x + w, y), (x + w, y + h), (x, y + h)), 0.95)


def test_one_or_two_lines_are_not_a_document() -> None:
    white = np.full((200, 800, 3), 255, dtype=np.uint8)
    page = measure_page(white, [_line("在中国作家协会第三届儿童文学", 10, 10, 700, 40)])
    assert not page.document
    assert not assess([page]).is_document


def test_a_text_layer_page_is_a_document_by_construction() -> None:
    assert assess([], text_layer_pages=1).is_document


def test_even_aligned_lines_on_paper_are_a_document_and_on_a_picture_are_not() -> None:
    lines = [_line(f"第{i}行 普通文字", 100, 100 + 60 * i, 400, 30) for i in range(8)]
    white = np.full((800, 700, 3), 250, dtype=np.uint8)
    assert measure_page(white, lines).document
    red = np.zeros((800, 700, 3), dtype=np.uint8)
    red[..., 0] = 200
    page = measure_page(red, lines)
    assert not page.document
    assert page.paper < 0.3
