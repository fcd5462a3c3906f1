"""Real OCR on documents rendered here (CJK font from fonts-wqy-zenhei), clean and degraded.

Classification and key fields are asserted for a business licence, a resident ID card face and an
application form, as JPEG uploads, plus a scanned PDF and a born-digital PDF.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from onestop.applications.models import Applicant
from onestop.materials.ocr import OcrEngine, OcrLine, get_rapid_engine
from onestop.materials.pipeline import process_upload
from pypdf import PdfReader

from tests.materials_specimens import (
    COMPANY,
    DEGRADATIONS,
    LICENCE_USCC,
    PERSON_ID,
    SPECIMENS,
    FontMissing,
    cjk_font_path,
    jpeg_bytes,
    png_bytes,
    random_noise_photo,
    scanned_pdf_bytes,
    text_pdf_bytes,
)

pytestmark = [pytest.mark.slow]

KEY_FIELDS = {
    "business_licence": ("uscc", "enterprise_name", "legal_representative", "address", "established_date"),
    "resident_id_card": ("person_name", "sex", "birth_date", "id_number", "address"),
    "application_form": ("applicant_name", "uscc", "contact_phone"),
}


@pytest.fixture(scope="session")
def engine() -> OcrEngine:
    try:
        cjk_font_path()
    except FontMissing as exc:
        pytest.fail(str(exc))
    return get_rapid_engine()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("degradation", list(DEGRADATIONS))
@pytest.mark.parametrize("kind", list(SPECIMENS))
def test_rendered_documents(engine: OcrEngine, kind: str, degradation: str) -> None:
    specimen = SPECIMENS[kind]()
    upload = jpeg_bytes(DEGRADATIONS[degradation](specimen.image))
    outcome = process_upload(
        upload, declared={"filename": "scan.jpg"}, expected_material_type=kind, engine=engine
    )
    assert outcome.classification is not None
    assert outcome.classification.material_type == kind
    got = {name: outcome.fields.get(name) for name in KEY_FIELDS[kind]}
    assert got == {name: specimen.fields[name] for name in KEY_FIELDS[kind]}
    assert outcome.status == "catalogued", [p.en for p in outcome.problems]
    assert outcome.normalised_pdf is not None


@pytest.mark.timeout(120)
def test_wrong_slot_is_flagged(engine: OcrEngine) -> None:
    card = SPECIMENS["resident_id_card"]()
    outcome = process_upload(png_bytes(card.image), expected_material_type="business_licence", engine=engine)
    assert outcome.status == "needs_attention"
    assert outcome.classification is not None
    assert outcome.classification.material_type == "resident_id_card"
    # Names come from the catalogue (issue 14: its types are the one source), lower-cased in a sentence.
    assert "looks like a resident identity card, uploaded as the business licence" in outcome.reason.en
    assert [p.code for p in outcome.problems][:1] == ["material_type_mismatch"]
    assert outcome.fields["id_number"] == PERSON_ID  # read as what it is


@pytest.mark.timeout(120)
def test_licence_of_another_enterprise_is_flagged(engine: OcrEngine) -> None:
    applicant = Applicant(kind="enterprise", code="91440300MA5FAKE001", name="别的公司")
    outcome = process_upload(
        png_bytes(SPECIMENS["business_licence"]().image),
        expected_material_type="business_licence",
        applicant=applicant,
        engine=engine,
    )
    assert outcome.status == "needs_attention"
    assert {p.code for p in outcome.problems} == {"uscc_not_applicant", "name_not_applicant"}
    same = Applicant(kind="enterprise", code=LICENCE_USCC, name=COMPANY)
    ok = process_upload(
        png_bytes(SPECIMENS["business_licence"]().image),
        expected_material_type="business_licence",
        applicant=same,
        engine=engine,
    )
    assert ok.status == "catalogued"


@pytest.mark.timeout(120)
def test_photo_without_text_is_rejected_as_non_document(engine: OcrEngine) -> None:
    outcome = process_upload(
        jpeg_bytes(random_noise_photo()), expected_material_type="business_licence", engine=engine
    )
    assert outcome.status == "rejected"
    assert outcome.reason.code == "not_a_document"
    assert outcome.normalised_pdf is None


@pytest.mark.timeout(120)
def test_scanned_pdf_is_ocrd_and_made_searchable(engine: OcrEngine) -> None:
    specimen = SPECIMENS["business_licence"]()
    outcome = process_upload(
        scanned_pdf_bytes(specimen.image), expected_material_type="business_licence", engine=engine
    )
    assert outcome.status == "catalogued"
    assert outcome.fields["uscc"] == LICENCE_USCC
    assert outcome.manifest["text_sources"] == ["ocr"]
    assert outcome.manifest["ocr"]["engine"] == "rapidocr"
    assert outcome.normalised_pdf is not None
    layer = PdfReader(io.BytesIO(outcome.normalised_pdf)).pages[0].extract_text()
    assert LICENCE_USCC in layer.replace(" ", "")
    assert "营业执照" in layer.replace(" ", "")


class _NoOcr:
    """Fails the test if the pipeline OCRs a page whose text layer is real."""

    name = "no-ocr"

    def recognise(self, image: np.ndarray) -> list[OcrLine]:
        raise AssertionError("a born-digital page must not be OCR'd")

    def versions(self) -> dict[str, str]:
        return {"engine": self.name}


@pytest.mark.timeout(60)
def test_born_digital_pdf_uses_its_text_layer_without_ocr() -> None:
    specimen = SPECIMENS["business_licence"]()
    pdf = text_pdf_bytes(list(specimen.lines))
    outcome = process_upload(pdf, expected_material_type="business_licence", engine=_NoOcr())
    assert outcome.status == "catalogued"
    assert outcome.manifest["text_sources"] == ["text_layer"]
    assert outcome.manifest["ocr"] == {}
    assert outcome.fields["uscc"] == LICENCE_USCC
    assert outcome.fields["established_date"] == "2019-03-15"
