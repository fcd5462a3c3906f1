"""Hostile input through the ingest handler (S3 → SQS event, against moto) and the verify API
(POST /verify), each file in a long-lived worker process under an address-space cap, with the
function's own timeout and memory size from template.yaml as the limits.

Inputs: every file of ../shared/corpus (01_ocr_images, 02_pdfs, 03_signatures, 04_tricky_images; see
its MANIFEST.md for each file's source and licence, e.g. pdfminer.six (MIT), py-pdf/pypdf (BSD-3),
py-pdf/sample-files (CC-BY-SA-4.0), qpdf (Apache-2.0), python-pillow/Pillow (MIT-CMU), RapidAI/RapidOCR
(Apache-2.0), chineseocr (MIT), guanshuicheng/invoice (MIT), pyHanko (MIT)) and the generated ones of
tests/robustness/hostile_files.py (zero bytes, nested zips and a zip bomb, a 10,000-page PDF, huge
declared dimensions, polyglots, wrong extensions).

For each: the worker survives, the handler answers within the timeout and under the memory size, the
material ends in a definite status with a reason in Chinese and English (exactly as expected where
the corpus or the generator says what is right), and one event announces it; the verify API answers
a report that says "not valid" with a zh/en reason per check, or a 413/415/422 with zh/en messages.
"""

from __future__ import annotations

import mimetypes
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CORPUS
from tests.materials_expectations import PDFS, TRICKY_IMAGES

from .hostile_files import GENERATED
from .runner import FunctionLimits, HostileWorker

pytestmark = [pytest.mark.xdist_group("hostile"), pytest.mark.slow, pytest.mark.timeout(900)]

ANY = "*"
STATUSES = {"catalogued", "needs_attention", "rejected"}
VERIFY_MAX_BYTES = 4 * 1024 * 1024  # onestop.verification.VerifyLimits.max_bytes


@dataclass(frozen=True)
class Case:
    name: str
    path: Path | None  # a corpus file, or None for a generated one
    filename: str
    content_type: str
    status: str = ANY
    reason: str = ANY
    note: str | None = None  # a note the manifest must carry
    verify_status: int | None = None  # None: 200 for a PDF, 422 otherwise


def _declared_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _corpus_cases() -> list[Case]:
    if not CORPUS.is_dir():
        return []
    special = {
        # A JSON-lines label file: not a document format at all.
        "01_ocr_images/labels.jsonl": ("rejected", "unsupported_type", None),
        # An all-black photo: nothing to read.
        "01_ocr_images/rapidocr_empty_black.jpg": ("rejected", "not_a_document", None),
        # A JPEG named .png (MANIFEST: content sniffing vs extension): processed as JPEG, and noted.
        "01_ocr_images/invoice_vat_machine_photo_is_jpeg.png": (ANY, ANY, "declared_type_mismatch"),
        # PEM certificates: text, not a document format.
        "03_signatures/pyhanko/testing-ca_ca-chain.cert.pem": ("rejected", "unsupported_type", None),
    }
    cases = []
    for path in sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "MANIFEST.md"):
        rel = path.relative_to(CORPUS).as_posix()
        status, reason, note = special.get(rel, (ANY, ANY, None))
        if rel.startswith("02_pdfs/"):
            expected = PDFS[rel.removeprefix("02_pdfs/")]
            status, reason = expected.status, expected.reason
        elif rel.startswith("04_tricky_images/"):
            expected = TRICKY_IMAGES[path.name]
            status, reason = expected.status, expected.reason
        elif rel.startswith("03_signatures/") and path.suffix == ".pdf":
            status, reason = "needs_attention", "needs_attention"  # readable, of no catalogued type
        cases.append(Case(rel, path, path.name, _declared_type(path.name), status, reason, note))
    return cases


CASES = _corpus_cases()
GENERATED_NAMES = sorted(GENERATED)


@pytest.fixture(scope="module")
def generated_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


def _materialise(name: str, folder: Path) -> Case:
    hostile = GENERATED[name]()
    path = folder / name
    path.write_bytes(hostile.data)
    return Case(
        f"generated/{name}",
        path,
        hostile.filename,
        hostile.content_type,
        hostile.status,
        hostile.reason,
        verify_status=hostile.verify_status,
    )


@pytest.fixture(scope="module")
def ingest_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileWorker]:
    worker = HostileWorker(
        "ingest", FunctionLimits.of("IngestFunction"), tmp_path_factory.mktemp("w") / "ingest.log"
    )
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def verify_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileWorker]:
    worker = HostileWorker(
        "verify", FunctionLimits.of("VerifyFunction"), tmp_path_factory.mktemp("w") / "verify.log"
    )
    worker.start()
    yield worker
    worker.stop()


def _survived(worker: HostileWorker, reply: dict[str, Any]) -> None:
    assert "error" not in reply, f"the {worker.target} worker {reply['error']}: {reply}\n{worker.log_tail()}"
    assert "exception" not in reply, f"the handler raised: {reply['exception']}\n{worker.log_tail()}"
    assert worker.alive()
    limits = worker.limits
    assert reply["seconds"] < limits.timeout_s, (
        f"{reply['seconds']:.1f} s, over the {limits.timeout_s} s timeout"
    )
    assert reply["peak_rss_mb"] < limits.memory_mb, (
        f"peak RSS {reply['peak_rss_mb']:.0f} MB, over the function's {limits.memory_mb} MB"
    )


def _check_ingest(worker: HostileWorker, case: Case) -> dict[str, Any]:
    assert case.path is not None
    reply = worker.run(
        {
            "path": str(case.path),
            "filename": case.filename,
            "content_type": case.content_type,
            "upload_id": uuid.uuid4().hex,
        }
    )
    _survived(worker, reply)
    assert reply["batch"] == {"batchItemFailures": []}, "a hostile file must not make the message retry"
    status, reason = reply.get("status"), reply.get("reason") or {}
    assert status in STATUSES, reply
    assert status == case.status or case.status == ANY, (status, reason)
    if status != "catalogued":  # a catalogued material carries no reason (nothing to act on)
        assert reason.get("code") == case.reason or case.reason == ANY, reason
        assert reason.get("zh"), f"no zh reason: {reason}"
        assert reason.get("en"), f"no en reason: {reason}"
    assert reply["events"] == ["MaterialRejected" if status == "rejected" else "MaterialCatalogued"]
    if status != "rejected":
        assert reply.get("normalised_is_pdf") is True
    if case.note:
        assert case.note in reply.get("notes", []), reply.get("notes")
    return reply


def _check_verify(worker: HostileWorker, case: Case) -> None:
    assert case.path is not None
    data = case.path.read_bytes()
    reply = worker.run({"path": str(case.path), "content_type": "application/pdf"})
    _survived(worker, reply)
    body = reply["body"]
    is_pdf = b"%PDF-" in data[:1024]  # what PDF readers accept (ISO 32000-1, the header may be offset)
    expected = case.verify_status or (200 if is_pdf else 422)
    if len(data) > VERIFY_MAX_BYTES:
        expected = 413
    assert reply["status_code"] == expected, body
    if expected == 200:
        assert body["valid"] is False, body
        for check in body["checks"]:
            assert check["reason_zh"], check
            assert check["reason_en"], check
        assert any(c["verdict"] == "fail" for c in body["checks"])
    else:
        assert body["message"]["zh"], body
        assert body["message"]["en"], body


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_corpus_file_through_ingest(ingest_worker: HostileWorker, case: Case) -> None:
    _check_ingest(ingest_worker, case)


@pytest.mark.parametrize("name", GENERATED_NAMES)
def test_generated_file_through_ingest(ingest_worker: HostileWorker, generated_dir: Path, name: str) -> None:
    _check_ingest(ingest_worker, _materialise(name, generated_dir))


def test_oversized_upload_is_rejected_without_reading_it(
    ingest_worker: HostileWorker, tmp_path: Path
) -> None:
    # One byte over UPLOAD_MAX_BYTES (20 MiB): refused from the object's size, never downloaded.
    path = tmp_path / "big.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(20 * 1024 * 1024 - 8))
    assert path.stat().st_size == 20 * 1024 * 1024 + 1
    reply = _check_ingest(
        ingest_worker, Case("big", path, "big.pdf", "application/pdf", "rejected", "file_too_large")
    )
    assert reply["downloads"] == 0
    # The same count sees the download of a file within the limit.
    small = tmp_path / "small.pdf"
    small.write_bytes(b"%PDF-1.7\n" + bytes(1024))
    within = _check_ingest(ingest_worker, Case("small", small, "small.pdf", "application/pdf"))
    assert within["downloads"] == 1


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_corpus_file_through_verify(verify_worker: HostileWorker, case: Case) -> None:
    _check_verify(verify_worker, case)


@pytest.mark.parametrize("name", GENERATED_NAMES)
def test_generated_file_through_verify(verify_worker: HostileWorker, generated_dir: Path, name: str) -> None:
    _check_verify(verify_worker, _materialise(name, generated_dir))


def test_verify_refuses_oversized_and_mislabelled_bodies(
    verify_worker: HostileWorker, tmp_path: Path
) -> None:
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.7\n" + bytes(VERIFY_MAX_BYTES + 1))
    _check_verify(verify_worker, Case("big", big, "big.pdf", "application/pdf", verify_status=413))
    text = verify_worker.run({"path": str(big), "content_type": "text/plain"})
    _survived(verify_worker, text)
    assert text["status_code"] == 415
    assert text["body"]["message"]["zh"]
    assert text["body"]["message"]["en"]


def test_workers_survived_everything_and_still_do_their_job(
    ingest_worker: HostileWorker, verify_worker: HostileWorker, tmp_path: Path
) -> None:
    """Last in the module: neither worker was restarted (no hang, no crash), and both still work."""
    from infra import samples

    assert ingest_worker.restarts == 0, ingest_worker.log_tail()
    assert verify_worker.restarts == 0, verify_worker.log_tail()
    good = tmp_path / "site.pdf"
    good.write_bytes(samples.site_certificate_pdf("深圳市前海星河技术有限公司"))
    _check_ingest(ingest_worker, Case("good", good, "site.pdf", "application/pdf", "catalogued"))
    genuine = verify_worker.run({"path": "GENUINE", "content_type": "application/pdf"})
    _survived(verify_worker, genuine)
    assert genuine["status_code"] == 200
    assert genuine["body"]["valid"] is True, genuine["body"]["checks"]
