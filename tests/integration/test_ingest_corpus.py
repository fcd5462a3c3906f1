"""Every file of ../shared/corpus/02_pdfs and 04_tricky_images through the ingest handler on moto.

Each ends in its expected material status with a zh/en reason, and a catalogue entry for the ones that
are catalogued. Sources and licences per file: ../shared/corpus/MANIFEST.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from functions.ingest import app
from tests.integration.ingest_stack import MATERIALS, Context, Stack, open_stack
from tests.materials_expectations import PDFS, TRICKY_IMAGES

pytestmark = [pytest.mark.slow]


# Refused from the object's bytes or size by the ingest gate (materials.gate), not by processing.
GATE_REFUSALS = {"unsupported_type", "format_not_accepted", "file_too_large"}


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    yield from open_stack(monkeypatch)


@pytest.mark.timeout(600)
def test_corpus_through_the_handler(stack: Stack, corpus: Path) -> None:
    files = [(corpus / "02_pdfs" / name, exp) for name, exp in sorted(PDFS.items())]
    files += [(corpus / "04_tricky_images" / name, exp) for name, exp in sorted(TRICKY_IMAGES.items())]
    expected_by_upload = {}
    records = []
    for n, (path, expected) in enumerate(files):
        upload_id = f"U{n:03d}"
        key = f"uploads/CORPUS/other_slot/{upload_id}/{path.name}"
        put = stack.upload(key, path.read_bytes())
        body = stack.s3_event(key, put["version_id"], put["etag"], put["size"])
        records.extend(stack.sqs_event(body, message_id=f"m-{upload_id}")["Records"])
        expected_by_upload[upload_id] = (path.name, expected)
    # Lambda delivers up to 10 records per batch.
    for start in range(0, len(records), 10):
        reply = app.lambda_handler({"Records": records[start : start + 10]}, Context())
        assert reply == {"batchItemFailures": []}
    items = {item["upload_id"]: item for item in stack.materials_of("CORPUS")}
    assert set(items) == set(expected_by_upload)
    for upload_id, (name, expected) in expected_by_upload.items():
        item = items[upload_id]
        assert item["status"] == expected.status, (name, item.get("reason"))
        reason = item.get("reason")
        assert reason is not None, name
        assert reason["code"] == expected.reason, name
        assert reason["zh"]
        assert reason["en"]
        catalogue = {
            v["Key"].rsplit("/", 1)[1]
            for v in stack.catalogue_versions(f"catalogue/CORPUS/other_slot/{upload_id}/")
        }
        if expected.status == "rejected" and expected.reason in GATE_REFUSALS:
            assert catalogue == set(), name  # refused by the ingest gate, before any processing
            assert "normalised" not in item
        elif expected.status == "rejected":
            assert catalogue == {"manifest.json"}, name
            assert "normalised" not in item
        else:
            previews = sorted(k for k in catalogue if k.startswith("page-"))
            assert catalogue - set(previews) == {"manifest.json", "material.pdf", "original"}, name
            # The reviewer's upright page previews, numbered from the first page without a gap.
            assert previews == [f"page-{i:03d}.jpg" for i in range(1, len(previews) + 1)], name
            assert previews, name
            pdf = stack.s3.get_object(Bucket=MATERIALS, Key=item["normalised"]["key"])["Body"].read()
            assert pdf.startswith(b"%PDF")
    kinds = sorted(e["detail-type"] for e in stack.events())
    rejected = sum(1 for _, exp in expected_by_upload.values() if exp.status == "rejected")
    assert kinds.count("MaterialRejected") == rejected
    assert kinds.count("MaterialCatalogued") == len(files) - rejected
