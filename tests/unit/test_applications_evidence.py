"""What submit pins of each material (applications.models.Evidence, pin_evidence)."""

from __future__ import annotations

from typing import Any

import pytest
from onestop.applications.models import Evidence, Material, MaterialStatus, pin_evidence


def material(slot: str, upload_id: str, status: MaterialStatus, **attrs: Any) -> Material:
    return Material(application_id="A1", slot=slot, upload_id=upload_id, status=status, **attrs)


UPLOADED = material(
    "business_licence",
    "U2",
    MaterialStatus.CATALOGUED,
    original={
        "bucket": "up",
        "key": "uploads/A1/business_licence/U2/x.pdf",
        "version_id": "v7",
        "sha256": "a" * 64,
    },
    normalised={
        "bucket": "mat",
        "key": "catalogue/A1/business_licence/U2/material.pdf",
        "sha256": "b" * 64,
        "version_id": "n3",
    },
)
ATTACHED = material(
    "current_licence",
    "E1",
    MaterialStatus.CATALOGUED,
    source="elicence",
    normalised={"bucket": "lic", "key": "licences/x.pdf", "version_id": "L9", "sha256": "c" * 64},
)


def test_an_upload_is_pinned_by_its_object_version_and_the_hash_of_its_bytes() -> None:
    assert Evidence.of(UPLOADED) == Evidence(
        slot="business_licence",
        upload_id="U2",
        source="upload",
        version_id="v7",
        sha256="a" * 64,
        normalised_version_id="n3",
        normalised_sha256="b" * 64,
    )


def test_an_attached_e_licence_is_pinned_by_its_sealed_pdf() -> None:
    pinned = Evidence.of(ATTACHED)
    assert (pinned.source, pinned.version_id, pinned.sha256) == ("elicence", "L9", "c" * 64)


@pytest.mark.parametrize(
    "status",
    [
        MaterialStatus.AWAITING_UPLOAD,
        MaterialStatus.PROCESSING,
        MaterialStatus.REJECTED,
        MaterialStatus.FAILED,
    ],
)
def test_only_catalogued_materials_are_evidence(status: MaterialStatus) -> None:
    assert pin_evidence([material("application", "U1", status)]) == []


def test_the_pinned_set_is_in_a_stable_order() -> None:
    attention = material("application", "U9", MaterialStatus.NEEDS_ATTENTION)
    assert [e.upload_id for e in pin_evidence([UPLOADED, ATTACHED, attention])] == ["U9", "U2", "E1"]
