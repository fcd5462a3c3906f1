"""Every file in ../shared/corpus/02_pdfs and 04_tricky_images ends in its expected status, with a reason,
under time and memory bounds (pytest-timeout is a guard here, not a speed assertion).

Sources and licences per file: ../shared/corpus/MANIFEST.md (pdfminer.six, pypdf, py-pdf/sample-files,
qpdf, Pillow).
"""

from __future__ import annotations

import mmap
from pathlib import Path

import pytest
from onestop.materials.limits import Limits
from onestop.materials.ocr import OcrEngine, get_rapid_engine
from onestop.materials.pipeline import process_upload

from tests.materials_expectations import PDFS, TRICKY_IMAGES, Expected

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="session")
def engine() -> OcrEngine:
    return get_rapid_engine()


def _check(
    data: bytes, name: str, expected: Expected, engine: OcrEngine, limits: Limits | None = None
) -> None:
    outcome = process_upload(
        data, declared={"filename": Path(name).name}, engine=engine, limits=limits or Limits()
    )
    assert (outcome.status, outcome.reason.code) == (expected.status, expected.reason), outcome.reason.en
    assert outcome.reason.zh
    assert outcome.reason.en
    if expected.text is not None:
        assert expected.text in outcome.text
    if expected.note is not None:
        assert expected.note in [n.code for n in outcome.notes]
    manifest = outcome.manifest
    assert manifest["status"] == outcome.status
    assert manifest["original"]["sha256"] == outcome.sha256
    if outcome.status == "rejected":
        assert outcome.normalised_pdf is None
        assert manifest["normalised"] is None
    else:
        assert outcome.normalised_pdf is not None
        assert outcome.normalised_pdf.startswith(b"%PDF")
        assert manifest["normalised"]["pages"] == outcome.pages >= 1


def test_expectations_cover_the_corpus(corpus: Path) -> None:
    pdfs = {str(p.relative_to(corpus / "02_pdfs")) for p in (corpus / "02_pdfs").rglob("*.pdf")}
    images = {p.name for p in (corpus / "04_tricky_images").iterdir() if p.is_file()}
    assert pdfs == set(PDFS)
    assert images == set(TRICKY_IMAGES)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", sorted(PDFS))
def test_pdf_corpus(corpus: Path, engine: OcrEngine, name: str) -> None:
    _check((corpus / "02_pdfs" / name).read_bytes(), name, PDFS[name], engine)


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


class PeakRss:
    """This process's peak resident set size over a block, from the current RSS at its start.

    ru_maxrss cannot do this: it is the high-water mark of the whole process, so after a bigger
    earlier test the growth reads 0. Linux resets the mark (VmHWM) to the current RSS when "5" is
    written to /proc/self/clear_refs.
    """

    def __enter__(self) -> PeakRss:
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError as exc:
            pytest.skip(f"the peak RSS cannot be reset here: {exc}")
        self.start_kib = _status_kib("VmRSS")
        return self

    def __exit__(self, *exc: object) -> None:
        self.grown_mib = (_status_kib("VmHWM") - self.start_kib) / 1024


def _touch_fresh_pages(mib: int) -> None:
    """Make `mib` MiB resident in pages new to the process: an anonymous mmap (a bytearray may reuse
    heap pages an earlier test left resident, and then RSS does not grow at all)."""
    block = mmap.mmap(-1, mib * 1024 * 1024)
    for offset in range(0, len(block), 4096):
        block[offset] = 1
    block.close()


def test_peak_rss_measures_the_block_not_the_process() -> None:
    with PeakRss() as big:
        _touch_fresh_pages(64)
    assert big.grown_mib >= 60
    # A later, smaller block: ru_maxrss would read 0 growth here, the reset mark reads the block.
    with PeakRss() as small:
        _touch_fresh_pages(16)
    assert 12 <= small.grown_mib < 60


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", sorted(TRICKY_IMAGES))
def test_tricky_images(corpus: Path, engine: OcrEngine, name: str) -> None:
    with PeakRss() as peak:
        _check((corpus / "04_tricky_images" / name).read_bytes(), name, TRICKY_IMAGES[name], engine)
    assert peak.grown_mib < 512, f"peak memory grew by {peak.grown_mib:.0f} MiB"


@pytest.mark.timeout(60)
def test_generic_pdf_into_an_other_slot_is_catalogued(corpus: Path, engine: OcrEngine) -> None:
    data = (corpus / "02_pdfs/normal/sf_001_minimal-document.pdf").read_bytes()
    outcome = process_upload(data, expected_material_type="other", engine=engine)
    assert outcome.status == "catalogued"
    assert outcome.reason.code == "catalogued"


@pytest.mark.timeout(60)
def test_size_and_empty_and_time_budget(corpus: Path, engine: OcrEngine) -> None:
    assert process_upload(b"", engine=engine).reason.code == "file_empty"
    data = (corpus / "02_pdfs/normal/sf_001_minimal-document.pdf").read_bytes()
    too_big = process_upload(data, engine=engine, limits=Limits(max_bytes=1000))
    assert (too_big.status, too_big.reason.code) == ("rejected", "file_too_large")
    slow = process_upload(data, engine=engine, limits=Limits(time_budget_s=0.0))
    assert (slow.status, slow.reason.code) == ("rejected", "processing_time_exceeded")
