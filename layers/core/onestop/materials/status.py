"""The processing state of one uploaded material: the one spelling every module uses."""

from __future__ import annotations

from enum import StrEnum


class MaterialStatus(StrEnum):
    """Processing state of one uploaded file (the ingest function moves it on)."""

    AWAITING_UPLOAD = "awaiting_upload"
    PROCESSING = "processing"
    CATALOGUED = "catalogued"
    NEEDS_ATTENTION = "needs_attention"
    REJECTED = "rejected"
    FAILED = "failed"


# A material not finished yet: it may be (re)processed or marked failed.
OPEN_STATUSES = (MaterialStatus.AWAITING_UPLOAD, MaterialStatus.PROCESSING, MaterialStatus.FAILED)
