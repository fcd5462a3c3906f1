"""Steps the e2e tests share: the sample enterprise's technology-contract materials, uploading them
through the presigned POSTs, and waiting for the ingest function to process them."""

from __future__ import annotations

import time
from typing import Any

import requests

from infra import samples

from .conftest import Api

ITEM = "technology-contract-registration"


def contract_files(enterprise: samples.SampleEnterprise) -> dict[str, tuple[str, bytes, str]]:
    """slot → (file name, bytes, content type) of a complete technology-contract application."""
    return {
        "application": (
            "a.pdf",
            samples.application_form_pdf("技术进出口合同登记", enterprise),
            "application/pdf",
        ),
        "contract": ("c.pdf", samples.contract_pdf(enterprise), "application/pdf"),
        "business_licence": ("b.png", samples.business_licence_png(enterprise), "image/png"),
    }


def upload_files(api: Api, app_id: str, files: dict[str, tuple[str, bytes, str]]) -> None:
    """Each file through its own upload ticket, as a portal sends it."""
    for slot, (name, data, ctype) in files.items():
        reply = api.post(
            f"/applications/{app_id}/materials/{slot}/uploads",
            json={"filename": name, "content_type": ctype, "size": len(data)},
        )
        assert reply.status_code == 201, reply.text
        ticket = reply.json()
        sent = requests.post(
            ticket["url"], data=ticket["fields"], files={"file": (name, data, ctype)}, timeout=30
        )
        assert sent.status_code in (200, 204), sent.text


def wait_processed(api: Api, app_id: str, count: int, timeout_s: float = 240) -> dict[str, Any]:
    """The application once `count` materials are past ingest (catalogued, flagged or refused)."""
    deadline = time.monotonic() + timeout_s
    detail: dict[str, Any] = {}
    while time.monotonic() < deadline:
        detail = api.get(f"/applications/{app_id}").json()
        done = [m for m in detail["materials"] if m["status"] not in ("awaiting_upload", "processing")]
        if len(detail["materials"]) == len(done) == count:
            return detail
        time.sleep(0.5)
    raise AssertionError(f"materials not processed in {timeout_s} s: {detail.get('materials')}")
