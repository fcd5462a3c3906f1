"""The ingest gate (onestop.materials.gate): each check on its own, and the order they are made in."""

from __future__ import annotations

from dataclasses import replace

import pytest
from onestop.materials.gate import Target, Ticket, UploadClaim, check_format, check_object
from onestop.materials.sniff import Sniffed
from onestop.ports import ObjectHead

KEY = "uploads/A1/business_licence/U1/licence.pdf"
MAX = 20 * 1024 * 1024
TICKET = Ticket(key=KEY, status="awaiting_upload", max_bytes=10_000, formats=("pdf", "jpeg", "png"))
DRAFT = Target(status="draft", version=3)
CLAIM = UploadClaim(application=DRAFT, ticket=TICKET)


def head(size: int = 5_000, upload_id: str | None = "U1", version: str = "v1") -> ObjectHead:
    metadata = {"upload-id": upload_id} if upload_id is not None else {}
    return ObjectHead(
        key=KEY, size=size, content_type="application/pdf", version_id=version, etag="e", metadata=metadata
    )


def check(claim: UploadClaim = CLAIM, **kw: object) -> str | None:
    args: dict[str, object] = {
        "key": KEY,
        "upload_id": "U1",
        "head": head(),
        "version_id": "v1",
        "max_bytes": MAX,
    }
    args.update(kw)
    refusal = check_object(claim, **args)  # type: ignore[arg-type]
    return refusal.code if refusal is not None else None


def test_the_object_a_ticket_asked_for_is_admitted() -> None:
    assert check() is None
    assert check(head=head(size=10_000)) is None  # at the slot's maximum


@pytest.mark.parametrize(
    ("claim", "code"),
    [
        (UploadClaim(application=None, ticket=None), "upload_not_requested"),
        (UploadClaim(application=DRAFT, ticket=None), "upload_not_requested"),
        (UploadClaim(application=None, ticket=TICKET), "upload_not_requested"),
        (UploadClaim(application=DRAFT, ticket=replace(TICKET, source="elicence")), "upload_not_requested"),
        (
            UploadClaim(application=DRAFT, ticket=replace(TICKET, key=KEY.replace("licence.pdf", "x.pdf"))),
            "upload_not_requested",
        ),
    ],
    ids=["nothing", "no-ticket", "no-application", "an-e-licence-record", "another-key"],
)
def test_no_ticket_for_exactly_this_key_is_refused(claim: UploadClaim, code: str) -> None:
    assert check(claim) == code


@pytest.mark.parametrize("upload_id", [None, "U2", ""])
def test_the_ticket_id_must_be_in_the_object_metadata(upload_id: str | None) -> None:
    assert check(head=head(upload_id=upload_id)) == "upload_ticket_mismatch"


def test_over_the_slot_maximum_is_refused_and_marks_the_applicants_record() -> None:
    refusal = check_object(
        CLAIM, key=KEY, upload_id="U1", head=head(size=10_001), version_id="v1", max_bytes=MAX
    )
    assert refusal is not None
    assert refusal.code == "file_too_large"
    assert refusal.marks_material
    assert "10000" in refusal.reason.en
    assert "10000" in refusal.reason.zh


def test_the_global_limit_applies_when_it_is_lower_or_the_ticket_names_none() -> None:
    assert check(head=head(size=9_000), max_bytes=8_000) == "file_too_large"
    no_limit = UploadClaim(application=DRAFT, ticket=replace(TICKET, max_bytes=None))
    assert check(no_limit, head=head(size=MAX)) is None
    assert check(no_limit, head=head(size=MAX + 1)) == "file_too_large"


@pytest.mark.parametrize("status", ["submitted", "accepted", "approved", "rejected", "withdrawn"])
def test_an_application_no_longer_editable_takes_no_upload(status: str) -> None:
    claim = UploadClaim(application=Target(status=status, version=5), ticket=TICKET)
    refusal = check_object(claim, key=KEY, upload_id="U1", head=head(), version_id="v1", max_bytes=MAX)
    assert refusal is not None
    assert (refusal.code, refusal.action, refusal.marks_material) == (
        "late_upload_refused",
        "late_upload_refused",
        True,
    )


def test_correction_requested_still_takes_uploads() -> None:
    assert (
        check(UploadClaim(application=Target(status="correction_requested", version=4), ticket=TICKET))
        is None
    )


def test_a_used_ticket_takes_no_second_object_and_keeps_the_first() -> None:
    used = replace(TICKET, status="catalogued", claimed_version="v1")
    refusal = check_object(
        UploadClaim(DRAFT, used),
        key=KEY,
        upload_id="U1",
        head=head(version="v2"),
        version_id="v2",
        max_bytes=MAX,
    )
    assert refusal is not None
    assert refusal.code == "upload_ticket_used"
    assert not refusal.marks_material  # the catalogued material stays as it was
    submitted = UploadClaim(Target(status="approved", version=7), used)
    late = check_object(
        submitted, key=KEY, upload_id="U1", head=head(version="v2"), version_id="v2", max_bytes=MAX
    )
    assert late is not None
    assert (late.code, late.marks_material) == ("late_upload_refused", False)


def test_the_version_that_claimed_the_ticket_is_admitted_again_even_after_submit() -> None:
    # A duplicated notification: the material's conditional write makes it a no-op; refusing it would
    # quarantine the evidence itself.
    for status in ("processing", "catalogued", "failed"):
        claimed = replace(TICKET, status=status, claimed_version="v1")
        assert check(UploadClaim(Target(status="approved", version=7), claimed)) is None


def test_an_attempt_that_failed_before_recording_its_version_may_be_retried_while_editable() -> None:
    failed = replace(TICKET, status="failed", claimed_version=None)
    assert check(UploadClaim(DRAFT, failed)) is None
    assert check(UploadClaim(Target(status="submitted", version=4), failed)) == "late_upload_refused"
    rejected = replace(TICKET, status="rejected", claimed_version=None)
    assert check(UploadClaim(DRAFT, rejected)) == "upload_ticket_used"


def test_identity_is_checked_before_state_so_a_stranger_cannot_mark_the_record() -> None:
    late = UploadClaim(Target(status="submitted", version=4), TICKET)
    assert check(late, head=head(upload_id="U2")) == "upload_ticket_mismatch"
    assert check(late, key=KEY.replace("A1", "A2")) == "upload_not_requested"


@pytest.mark.parametrize(
    ("kind", "formats", "code"),
    [
        ("pdf", ("pdf",), None),
        ("png", ("pdf", "jpeg", "png"), None),
        ("png", ("pdf",), "format_not_accepted"),
        ("tiff", ("pdf", "jpeg", "png"), "format_not_accepted"),
        ("gif", ("pdf", "jpeg", "png"), "unsupported_type"),
        ("unknown", ("pdf",), "unsupported_type"),
        ("empty", ("pdf",), "file_empty"),
    ],
)
def test_the_sniffed_format_must_be_one_the_slot_accepts(
    kind: str, formats: tuple[str, ...], code: str | None
) -> None:
    claim = UploadClaim(DRAFT, replace(TICKET, formats=formats))
    refusal = check_format(claim, Sniffed(kind))
    assert (refusal.code if refusal else None) == code
    if refusal is not None:
        assert refusal.marks_material
        assert refusal.reason.zh
        assert ("upload it again" if kind == "empty" else "accepts only") in refusal.reason.en


def test_without_formats_on_the_ticket_the_default_applies() -> None:
    claim = UploadClaim(DRAFT, replace(TICKET, formats=None))
    assert check_format(claim, Sniffed("tiff")) is None
    refusal = check_format(claim, Sniffed("tiff"), default=("pdf",))
    assert refusal is not None
    assert refusal.code == "format_not_accepted"
    assert "actually TIFF" in refusal.reason.en
    assert "accepts only PDF" in refusal.reason.en
