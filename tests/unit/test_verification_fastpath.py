"""The fast path for originals: same verdicts as the full path on genuine files, never a pass the full
path would not give, and out of the way for anything that is not a whole-file bureau seal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from onestop.verification import Check, TrustAnchors, VerifyLimits, verify_pdf
from onestop.verification.fastpath import whole_file_seal

from tests.unit import test_verification_forgeries as T
from tests.unit import test_verification_support as S

pytestmark = pytest.mark.timeout(600)

FULL_PATH = VerifyLimits(fast_path=False)


@pytest.fixture(scope="module")
def suite() -> T.Suite:
    return T.Suite()


def verdicts(report: object) -> dict[str, tuple[str, str]]:
    return {c.check.value: (c.verdict.value, c.code) for c in report.checks}  # type: ignore[attr-defined]


def test_genuine_licence_takes_the_fast_path_with_the_full_paths_verdicts(suite: T.Suite) -> None:
    lic = suite.licence
    lookup = S.registry(S.record_for(lic))
    fast = verify_pdf(lic.sealed, trust=lic.anchors, registry_lookup=lookup)
    full = verify_pdf(lic.sealed, trust=lic.anchors, registry_lookup=lookup, limits=FULL_PATH)
    assert fast.result(Check.INTEGRITY).details.get("fast_path") is True
    assert "fast_path" not in full.result(Check.INTEGRITY).details
    assert verdicts(fast) == verdicts(full)
    assert fast.valid
    assert fast.licence == full.licence
    for key in ("signer", "signer_sha256", "root_sha256"):
        assert fast.result(Check.ISSUER).details[key] == full.result(Check.ISSUER).details[key]


def test_fast_path_face_data_is_what_the_full_reader_reads(suite: T.Suite) -> None:
    lic = suite.licence
    fast = whole_file_seal(lic.sealed, lic.anchors, datetime.now(UTC))
    assert fast is not None
    full = verify_pdf(lic.sealed, trust=lic.anchors, registry_lookup=None, limits=FULL_PATH)
    assert fast.face == dict(full.licence)


def test_every_attack_either_leaves_the_fast_path_or_gets_the_full_paths_verdict(suite: T.Suite) -> None:
    """Differential: across the whole attack suite, the fast path never passes what the full path fails."""
    now = datetime.now(UTC)
    taken = []
    for name, case in suite.cases.items():
        anchors = (
            T.anchors(suite.pki, roots_only=True)
            if case.trust == "roots_only"
            else T.anchors(suite.pki, suite.tsa)
        )
        fast = whole_file_seal(case.data, anchors, now)
        if fast is None:
            continue
        taken.append(name)
        full = verify_pdf(case.data, trust=anchors, registry_lookup=None, limits=FULL_PATH)
        assert full.result(Check.INTEGRITY).passed, name
        assert full.result(Check.ISSUER).passed, name
    # Only files the bureau's seal covers whole may take it: genuine seals, plus end-of-line bytes.
    assert set(taken) <= {
        "wrong_check_character",
        "eol_after_eof_lf",
        "eol_after_eof_crlf",
        "eol_after_eof_crlf_crlf",
    }, taken


@pytest.mark.parametrize("offset", [0, 9, 200, 5000, -2000, -40])
def test_one_flipped_byte_anywhere_leaves_the_fast_path(suite: T.Suite, offset: int) -> None:
    data = bytearray(suite.licence.sealed)
    at = offset % len(data)
    data[at] ^= 0x01
    assert whole_file_seal(bytes(data), suite.licence.anchors, datetime.now(UTC)) is None


def test_roots_only_trust_never_takes_the_fast_path(suite: T.Suite) -> None:
    lic = suite.licence
    roots_only = TrustAnchors(roots=lic.anchors.roots)
    assert whole_file_seal(lic.sealed, roots_only, datetime.now(UTC)) is None


def test_an_unpublished_seal_leaves_the_fast_path(suite: T.Suite) -> None:
    other = S.make_pki()
    anchors = TrustAnchors(roots=suite.licence.anchors.roots, seals=S.make_licence(other).anchors.seals)
    assert whole_file_seal(suite.licence.sealed, anchors, datetime.now(UTC)) is None


def test_a_seal_signed_in_the_future_leaves_the_fast_path(suite: T.Suite) -> None:
    past = datetime(2020, 1, 1, tzinfo=UTC)
    assert whole_file_seal(suite.licence.sealed, suite.licence.anchors, past) is None
