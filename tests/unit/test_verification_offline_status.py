"""Offline, a sealed licence PDF's status comes from its type's signed status list (issue 16 item 2: the
demo's offline command passes), read for the credential the sealed file's document information repeats.

Attacks: a revoked or suspended entry, a stale list, a list signed by another key, no list, a credential
naming another licence, a credential added after the seal, and a file whose seal fails: none may give
"valid"; the status is then failed or unknown, never passed.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from onestop.identifiers.licence_id import make_licence_id
from onestop.licences.credential import credential_for, encode_credential
from onestop.licences.jws import SealKey, seal_key_from_signer
from onestop.licences.pki import DevPki, make_dev_pki, to_asn1
from onestop.licences.render import render_licence
from onestop.licences.seal import seal_pdf
from onestop.licences.signers import LocalKeySigner
from onestop.licences.status_list import REVOKED, SUSPENDED, StatusList, build_status_list
from onestop.verification import verify_pdf
from onestop.verification.anchors import TrustAnchors
from onestop.verification.report import Verdict

from tests.unit.test_licence_support import BUREAU, BUREAU_USCC, TYPE_CODE, sample_metadata

NOW = datetime.now(UTC).replace(microsecond=0)
INDEX = 77


@pytest.fixture(scope="module")
def pki() -> DevPki:
    return make_dev_pki(BUREAU, now=NOW - timedelta(days=1))


@pytest.fixture(scope="module")
def key(pki: DevPki) -> SealKey:
    return seal_key_from_signer(LocalKeySigner.from_dev_pki(pki))


@pytest.fixture(scope="module")
def trust(pki: DevPki) -> TrustAnchors:
    return TrustAnchors(roots=(to_asn1(pki.root_cert),), seals=(to_asn1(pki.seal_cert),))


def sealed_licence(pki: DevPki, key: SealKey, *, credential_of: dict[str, object] | None = None) -> bytes:
    """A licence sealed by the bureau whose QR (and document information) carries a credential; by
    default the licence's own, else that of the metadata changed by `credential_of`."""
    meta = sample_metadata(valid_from=NOW.date(), valid_until=NOW.date() + timedelta(days=365))
    named = sample_metadata(
        valid_from=NOW.date(), valid_until=NOW.date() + timedelta(days=365), **(credential_of or {})
    )
    text = encode_credential(credential_for(named, status_index=INDEX, kid=key.kid, issued_at=NOW), key.sign)
    rendered = render_licence(meta, verify_url="https://verify.example/x", qr_text=text)
    signer = LocalKeySigner.from_dev_pki(pki)
    return seal_pdf(rendered.pdf, signer, seal_box=rendered.seal_box, signer_name=BUREAU.name_zh).pdf


def lists(key: SealKey, entries: dict[int, int] | None = None, at: datetime = NOW) -> dict[str, StatusList]:
    status_list = build_status_list(TYPE_CODE, entries or {}, key=key, at=at)
    return {status_list.name: status_list}


def status(pdf: bytes, trust: TrustAnchors, status_lists: dict[str, StatusList] | None) -> tuple[str, str]:
    report = verify_pdf(pdf, trust=trust, registry_lookup=None, status_lists=status_lists)
    found = {c.check.value: c for c in report.checks}["status"]
    return found.verdict.value, found.code


@pytest.fixture(scope="module")
def pdf(pki: DevPki, key: SealKey) -> bytes:
    return sealed_licence(pki, key)


def test_a_fresh_list_marking_the_licence_valid_passes_the_status(
    pdf: bytes, key: SealKey, trust: TrustAnchors
) -> None:
    report = verify_pdf(pdf, trust=trust, registry_lookup=None, status_lists=lists(key))
    assert report.valid, report.as_dict()
    assert status(pdf, trust, lists(key)) == (Verdict.PASS.value, "valid_per_status_list")
    assert "credential" not in report.licence  # read for the status, not shown as face data


@pytest.mark.parametrize(("value", "code"), [(REVOKED, "revoked"), (SUSPENDED, "suspended")])
def test_a_list_marking_it_revoked_or_suspended_fails_it(
    pdf: bytes, key: SealKey, trust: TrustAnchors, value: int, code: str
) -> None:
    assert status(pdf, trust, lists(key, {INDEX: value})) == (Verdict.FAIL.value, f"{code}_per_status_list")


def test_a_stale_list_leaves_the_status_unknown(pdf: bytes, key: SealKey, trust: TrustAnchors) -> None:
    assert status(pdf, trust, lists(key, at=NOW - timedelta(days=3)))[0] == Verdict.UNKNOWN.value


def test_a_list_signed_by_another_key_is_not_believed(pdf: bytes, trust: TrustAnchors) -> None:
    other = seal_key_from_signer(
        LocalKeySigner.from_dev_pki(make_dev_pki(BUREAU, now=NOW - timedelta(days=1)))
    )
    forged = build_status_list(TYPE_CODE, {}, key=other, at=NOW)
    assert status(pdf, trust, {forged.name: forged})[0] == Verdict.UNKNOWN.value


def test_without_lists_the_status_stays_unknown(pdf: bytes, trust: TrustAnchors) -> None:
    assert status(pdf, trust, {})[0] == Verdict.UNKNOWN.value
    assert status(pdf, trust, None) == (Verdict.UNKNOWN.value, "status_not_checked")


def test_a_credential_naming_another_licence_gives_no_status(
    pki: DevPki, key: SealKey, trust: TrustAnchors
) -> None:
    """The bureau's own credential for another licence, in this licence's sealed file: its list entry
    is that other licence's, so it says nothing about this one."""
    other = sealed_licence(
        pki,
        key,
        credential_of={
            "licence_id": make_licence_id(TYPE_CODE, BUREAU_USCC, "20250000099"),
            "number": "440300-20250000099",
        },
    )
    assert status(other, trust, lists(key)) == (Verdict.UNKNOWN.value, "status_credential_unusable")


def test_a_credential_swapped_in_after_the_seal_is_never_read(
    pdf: bytes, key: SealKey, trust: TrustAnchors
) -> None:
    """The licence is revoked (its entry in the list says so). An incremental update rewrites the
    document information with a genuine credential of the same licence at another index, one the list
    marks valid: the seal no longer covers the file, and the status never passes."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, TextStringObject

    meta = sample_metadata(valid_from=NOW.date(), valid_until=NOW.date() + timedelta(days=365))
    swapped = encode_credential(
        credential_for(meta, status_index=INDEX + 1, kid=key.kid, issued_at=NOW), key.sign
    )
    writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    info = writer._info.get_object() if writer._info is not None else None
    assert info is not None
    info[NameObject("/LicenceCredential")] = TextStringObject(swapped)
    out = io.BytesIO()
    writer.write(out)
    tampered = out.getvalue()
    assert tampered.startswith(pdf)
    assert str(PdfReader(io.BytesIO(tampered)).trailer["/Info"]["/LicenceCredential"]) == swapped
    status_lists = lists(key, {INDEX: REVOKED})
    assert status(pdf, trust, status_lists)[0] == Verdict.FAIL.value  # the original: revoked
    report = verify_pdf(tampered, trust=trust, registry_lookup=None, status_lists=status_lists)
    assert not report.valid
    assert {c.check.value: c.verdict for c in report.checks}["status"] is not Verdict.PASS


def test_a_licence_whose_seal_fails_gets_no_status_from_a_list(
    pdf: bytes, key: SealKey, trust: TrustAnchors
) -> None:
    data = bytearray(pdf)
    data[len(data) // 3] ^= 0x01
    report = verify_pdf(bytes(data), trust=trust, registry_lookup=None, status_lists=lists(key))
    assert not report.valid
    assert status(bytes(data), trust, lists(key)) == (Verdict.UNKNOWN.value, "status_not_checked")
