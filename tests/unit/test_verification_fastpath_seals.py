"""The fast path against the full path, seal by seal (seals made in verification_seals).

Two promises of `whole_file_seal`:
- every genuine whole-file seal takes it (ECDSA and RSA PKCS#1 v1.5 keys; SHA-256/384/512; a signed
  signing-time attribute or only /M; an xref table or an xref stream; the signer named by issuer and
  serial number or by key identifier...), and what it reports is exactly what the full path
  (`analyse_pdf`, pyHanko) reports: the integrity check with its revisions and signature, the issuer
  check with every detail, the signing time, the face data, the fingerprint of the sealed bytes;
- anything else makes it step aside (None), and then the full path gives its own verdict: a seal it
  cannot vouch for never passes on the fast path.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import cms, core
from onestop.licences.pki import to_asn1
from onestop.verification import TrustAnchors
from onestop.verification.checks import analyse_pdf
from onestop.verification.facts import PdfFacts
from onestop.verification.fastpath import CLOCK_SKEW, _der_len, whole_file_seal
from onestop.verification.structure import StructureLimits
from pyhanko.pdf_utils.generic import parse_pdf_date, pdf_date
from pyhanko.sign import fields

from tests.unit import test_verification_support as S
from tests.unit import verification_forgeries as F
from tests.unit import verification_seals as V

SIGNATURE_KEYS = ("signer", "signer_sha256", "md_algorithm", "signing_time")


@pytest.fixture(scope="module")
def licence() -> S.Licence:
    return S.make_licence(S.make_pki())


@pytest.fixture(scope="module")
def ec_pki() -> V.Pki:
    return V.make_pki("ec")


@pytest.fixture(scope="module")
def rsa_pki() -> V.Pki:
    return V.make_pki("rsa")


@pytest.fixture(scope="module")
def sealed(licence: S.Licence, ec_pki: V.Pki) -> bytes:
    """A PAdES seal by pyHanko with room for the CMS signatures made here."""
    return V.pyhanko_seal(licence, ec_pki)


def now() -> datetime:
    return datetime.now(UTC)


def full_path(data: bytes, anchors: TrustAnchors, at: datetime) -> PdfFacts:
    return analyse_pdf(data, *anchors.der(), at)


def takes_fast_path(
    data: bytes, anchors: TrustAnchors, at: datetime | None = None, limits: StructureLimits | None = None
) -> PdfFacts:
    """The fast path's facts for `data`, asserted to be the full path's, field by field."""
    at = at or now()
    fast = whole_file_seal(data, anchors, at, *(() if limits is None else (limits,)))
    assert fast is not None, "a genuine whole-file seal must take the fast path"
    full = full_path(data, anchors, at)
    assert fast.issuer == full.issuer  # verdict, code, both reasons and every detail
    integrity, expected = fast.integrity, full.integrity
    assert (integrity.check, integrity.verdict, integrity.code) == (
        expected.check,
        expected.verdict,
        "intact",
    )
    assert (integrity.reason_zh, integrity.reason_en) == (expected.reason_zh, expected.reason_en)
    assert integrity.details == {
        "revisions": expected.details["revisions"],
        "fast_path": True,
        "signatures": [{k: s[k] for k in SIGNATURE_KEYS} for s in expected.details["signatures"]],
    }
    assert (fast.licence_id, fast.face, fast.sealed_sha256) == (
        full.licence_id,
        full.face,
        full.sealed_sha256,
    )
    assert (
        (fast.validation_updates, fast.unreadable) == (0, False) == (full.validation_updates, full.unreadable)
    )
    # And the values themselves, not only their agreement: the whole file is what was sealed.
    assert fast.sealed_sha256 == hashlib.sha256(data).hexdigest()
    assert integrity.details["revisions"] == data.count(b"startxref")
    return fast


def steps_aside(data: bytes, anchors: TrustAnchors, at: datetime | None = None) -> PdfFacts:
    """Asserts the fast path leaves `data` to the full path; returns the full path's facts."""
    at = at or now()
    assert whole_file_seal(data, anchors, at) is None
    return full_path(data, anchors, at)


def signed_attribute_names(data: bytes) -> list[str]:
    info = cms.ContentInfo.load(F._cms(data))["content"]["signer_infos"][0]
    return [a["type"].native for a in info["signed_attrs"]]


def signing_time_of(facts: PdfFacts) -> str:
    return str(facts.issuer.details["signing_time"])


def m_time(data: bytes) -> datetime:
    """The seal dictionary's /M as a date (pyHanko writes "D:" as "D\\072")."""
    entry = V.m_entry(data)
    literal = entry[entry.index(b"(") + 1 : -1].replace(b"\\072", b":")
    return parse_pdf_date(literal.decode("ascii"))


def expected_face(lic: S.Licence, **changes: str) -> dict[str, object]:
    m = lic.meta
    face: dict[str, object] = {
        "source": "pdf",
        "licence_id": m.licence_id,
        "number": m.number,
        "holder_code": m.holder_code,
        "name_zh": m.name_zh,
        "issuer_name": m.issuer_name,
    }
    return {**face, **changes}


# ------------------------------------------------------------------ genuine seals by pyHanko


@pytest.mark.parametrize(
    ("key", "md"),
    [("ec", "sha256"), ("ec", "sha384"), ("ec", "sha512"), ("rsa", "sha256"), ("rsa", "sha512")],
)
def test_pades_seals_take_the_fast_path_with_the_full_paths_facts(
    licence: S.Licence, ec_pki: V.Pki, rsa_pki: V.Pki, key: str, md: str
) -> None:
    pki = ec_pki if key == "ec" else rsa_pki
    data = V.pyhanko_seal(licence, pki, md=md, reserve=None)
    assert "signing_time" not in signed_attribute_names(data)  # PAdES: the time is the dictionary's /M
    fast = takes_fast_path(data, pki.anchors)
    assert fast.integrity.details["signatures"][0]["md_algorithm"] == md
    assert signing_time_of(fast) == m_time(data).isoformat()
    assert fast.face == expected_face(licence)
    assert fast.issuer.details["not_after"] == pki.seal.not_valid_after_utc.isoformat()


def test_a_seal_with_a_signed_signing_time_takes_the_fast_path(licence: S.Licence, rsa_pki: V.Pki) -> None:
    data = V.pyhanko_seal(licence, rsa_pki, subfilter=fields.SigSeedSubFilter.ADOBE_PKCS7_DETACHED)
    assert "signing_time" in signed_attribute_names(data)
    takes_fast_path(data, rsa_pki.anchors)


def test_a_licence_with_an_xref_stream_takes_the_fast_path(licence: S.Licence, ec_pki: V.Pki) -> None:
    """No `trailer` keyword to read /Info from directly: the face is read with pyHanko's reader."""
    data = V.pyhanko_seal(licence, ec_pki, unsigned=V.with_xref_stream(licence.unsigned))
    assert b"trailer" not in data
    fast = takes_fast_path(data, ec_pki.anchors)
    assert fast.face == expected_face(licence)


@pytest.mark.parametrize("xref", ["table", "stream"])
def test_the_face_is_the_sealed_revisions(licence: S.Licence, ec_pki: V.Pki, xref: str) -> None:
    """The sealing revision rewrote /Info: the face is what the last (sealed) revision says."""
    unsigned = licence.unsigned if xref == "table" else V.with_xref_stream(licence.unsigned)
    data = V.pyhanko_seal(licence, ec_pki, unsigned=unsigned, info={"Author": "深圳市商务局（盖章时）"})
    fast = takes_fast_path(data, ec_pki.anchors)
    assert fast.face == expected_face(licence, issuer_name="深圳市商务局（盖章时）")


def test_a_duplicated_info_key_is_read_as_the_full_path_reads_it(licence: S.Licence, ec_pki: V.Pki) -> None:
    """An xref-stream licence whose sealed /Info names /Author twice: both paths read it strictly, so
    neither takes either value (no face data at all)."""
    unsigned = V.with_xref_stream(licence.unsigned)
    sealed = V.pyhanko_seal(licence, ec_pki, unsigned=unsigned, info={"Author": "盖章时"})
    creator = re.search(rb"/Creator \([^)]*\)", sealed)
    assert creator is not None
    data = V.with_seal(V.replace_same_length(sealed, creator.group(0), b"/Author (X)"), ec_pki)
    assert takes_fast_path(data, ec_pki.anchors).face == {}


def test_info_values_in_objects_of_their_own(licence: S.Licence, ec_pki: V.Pki) -> None:
    """/Title and /Author as indirect objects: read through the cross-reference data, as the full path
    reads them (the direct reader used to report the unresolved reference as the text)."""
    info = {"Title": f"{licence.meta.name_zh} {licence.meta.number}", "Author": "深圳市商务局（另存）"}
    data = V.pyhanko_seal(licence, ec_pki, info=info, indirect_info=True)
    fast = takes_fast_path(data, ec_pki.anchors)
    assert fast.face == expected_face(licence, issuer_name="深圳市商务局（另存）")


def test_an_ordinary_licence_is_read_without_pyhankos_reader(
    sealed: bytes, ec_pki: V.Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The direct /Info read is what keeps the fast path fast: no pyHanko reader for a table-xref file."""
    import pyhanko.pdf_utils.reader as reader_module

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("pyHanko's reader was used")

    monkeypatch.setattr(reader_module, "PdfFileReader", refuse)
    fast = whole_file_seal(sealed, ec_pki.anchors, now())
    assert fast is not None
    assert fast.face["licence_id"] == S.metadata().licence_id


# ------------------------------------------------------------------ the signing time


def test_the_signed_signing_time_wins_over_m(sealed: bytes, ec_pki: V.Pki) -> None:
    signed_at = m_time(sealed) - timedelta(hours=3)
    data = V.with_seal(sealed, ec_pki, extra_attrs=[V.signing_time(signed_at)])
    fast = takes_fast_path(data, ec_pki.anchors)
    assert signing_time_of(fast) == signed_at.isoformat()


@pytest.mark.parametrize("form", ["literal", "hex", "offset"])
def test_m_is_read_as_pdf_syntax(sealed: bytes, ec_pki: V.Pki, form: str) -> None:
    """/M as pyHanko writes it (D\\072...), as a plain literal, as a hex string, with a UTC offset."""
    at = m_time(sealed) - timedelta(minutes=30)
    utc = at.strftime("D:%Y%m%d%H%M%SZ").encode()
    value = {
        "literal": b"(" + utc + b")",
        "hex": b"<" + utc.hex().encode() + b">",
        "offset": b"(" + (at + timedelta(hours=8)).strftime("D:%Y%m%d%H%M%S+08'00'").encode() + b")",
    }[form]
    data = V.with_seal(V.set_m(sealed, value), ec_pki)
    fast = takes_fast_path(data, ec_pki.anchors)
    assert datetime.fromisoformat(signing_time_of(fast)) == at


@pytest.mark.parametrize("form", ["no_prefix", "not_a_date", "a_number", "a_reference"])
def test_an_m_that_is_not_a_pdf_date_steps_aside(sealed: bytes, ec_pki: V.Pki, form: str) -> None:
    """Without "D:" (a time the seal certificate covers), not a date, not a string, a reference: the
    full path does not read it as a date."""
    digits = (m_time(sealed) - timedelta(minutes=30)).strftime("%Y%m%d%H%M%S").encode()
    value = {
        "no_prefix": b"(" + digits + b"Z)",
        "not_a_date": b"(yesterday)",
        "a_number": digits,
        "a_reference": b"7 0 R",
    }[form]
    full = steps_aside(V.with_seal(V.set_m(sealed, value), ec_pki), ec_pki.anchors)
    assert "signing_time" not in full.integrity.details


def test_a_signature_dictionary_outside_any_object_steps_aside(ec_pki: V.Pki) -> None:
    """Bytes sealed whole by the bureau's key around a signature dictionary that is in no object (so not
    a PDF signature at all): the fast path does not read a signing time from them."""
    m = (V.day_ago() + timedelta(hours=1)).strftime("D:%Y%m%d%H%M%SZ").encode()
    data = (
        b"%PDF-1.7\n<< /Type /Sig /M (" + m + b") /ByteRange [0 0000000000 0000000000 0000000000]"
        b" /Contents <" + b"0" * 16384 + b"> >>\n"
        b"1 0 obj\n<< /Subject (1.2.156.3005.2.B) >>\nendobj\ntrailer\n<< /Info 1 0 R >>\n%%EOF\n"
    )
    b = data.index(b"/Contents <") + len(b"/Contents ")
    c = data.index(b">", b) + 1
    data = F._set_byte_range(data, (0, b, c, len(data) - c))
    assert b" obj" not in data[: data.index(b"/ByteRange")]
    assert whole_file_seal(V.with_seal(data, ec_pki), ec_pki.anchors, now()) is None


def test_two_signing_time_attributes_step_aside(sealed: bytes, ec_pki: V.Pki) -> None:
    at = m_time(sealed) - timedelta(hours=1)
    data = V.with_seal(sealed, ec_pki, extra_attrs=[V.signing_time(at), V.signing_time(at)])
    steps_aside(data, ec_pki.anchors)


def test_a_signing_time_with_two_values_steps_aside(sealed: bytes, ec_pki: V.Pki) -> None:
    at = m_time(sealed) - timedelta(hours=1)
    data = V.with_seal(sealed, ec_pki, extra_attrs=[V.signing_time(at, at - timedelta(hours=1))])
    steps_aside(data, ec_pki.anchors)


def test_no_signing_time_at_all_steps_aside(sealed: bytes, ec_pki: V.Pki) -> None:
    """Neither a signed signing time nor /M: the full path decides (it validates at "now")."""
    data = V.with_seal(V.set_m(sealed, None), ec_pki)
    assert b"/M " not in data[slice(*V.signature_dictionary(data))]
    steps_aside(data, ec_pki.anchors)


def test_two_m_entries_step_aside(sealed: bytes, ec_pki: V.Pki) -> None:
    """A second /M in the signature dictionary: which one? Not the fast path's to choose."""
    data = V.with_seal(V.set_m(sealed, b"(D:20200101000000Z)", keep=True), ec_pki)
    steps_aside(data, ec_pki.anchors)


def test_an_m_of_another_object_before_the_seal_is_not_its_signing_time(
    licence: S.Licence, ec_pki: V.Pki
) -> None:
    """An annotation's own /M (its modification date), in an earlier revision."""
    annotated = V.with_annotation_m(licence.unsigned, datetime(2001, 1, 1, tzinfo=UTC))
    data = V.pyhanko_seal(licence, ec_pki, unsigned=annotated)
    assert data.count(b"/M ") == 2
    fast = takes_fast_path(data, ec_pki.anchors)
    assert signing_time_of(fast) == m_time(data).isoformat()


def test_an_m_after_the_seal_dictionary_is_not_its_signing_time(sealed: bytes, ec_pki: V.Pki) -> None:
    """/M-like text after the signature dictionary (here inside the XMP packet written after it)."""
    data = V.with_seal(V.replace_xmp_value(sealed, b"xmp:ModifyDate", b"/M (D:20010101000000Z)"), ec_pki)
    fast = takes_fast_path(data, ec_pki.anchors)
    assert signing_time_of(fast) == m_time(sealed).isoformat()


def test_a_signing_time_before_the_seal_certificate_steps_aside(licence: S.Licence) -> None:
    """/M says the seal was made before its certificate was valid: the full path fails it (it did not
    on the fast path, which took "now" for the signing time when /M was escaped as pyHanko writes it)."""
    pki = V.make_pki(seal_from=V.day_ago() + timedelta(hours=12))
    sealed = V.pyhanko_seal(licence, pki)
    signed = V.with_seal(V.set_m(sealed, b"(" + pdf_date(V.day_ago()).encode() + b")"), pki)
    full = steps_aside(signed, pki.anchors)
    assert (full.integrity.code, full.issuer.code) == ("intact", "certificate_not_valid_at_signing")


# ------------------------------------------------------------------ validity at signing time


@pytest.fixture(scope="module")
def bounded() -> V.Pki:
    """A seal certificate valid for one year that ended a minute ago (root and seal start together)."""
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    return V.make_pki(root_from=end - timedelta(days=400), seal_from=end - timedelta(days=365), seal_years=1)


@pytest.fixture(scope="module")
def bounded_sealed(licence: S.Licence, bounded: V.Pki) -> bytes:
    return V.pyhanko_seal(licence, bounded)


@pytest.mark.parametrize("bound", ["not_before", "not_after"])
def test_validity_bounds_are_inclusive(bounded: V.Pki, bounded_sealed: bytes, bound: str) -> None:
    at = bounded.seal.not_valid_before_utc if bound == "not_before" else bounded.seal.not_valid_after_utc
    exactly = V.with_seal(bounded_sealed, bounded, extra_attrs=[V.signing_time(at)])
    assert signing_time_of(takes_fast_path(exactly, bounded.anchors)) == at.isoformat()
    # Two seconds beyond (pyHanko allows one second of tolerance): the full path fails it.
    outside = at + (timedelta(seconds=-2) if bound == "not_before" else timedelta(seconds=2))
    beyond = V.with_seal(bounded_sealed, bounded, extra_attrs=[V.signing_time(outside)])
    assert steps_aside(beyond, bounded.anchors).issuer.code == "certificate_not_valid_at_signing"


def test_a_root_not_valid_at_signing_time_is_left_to_the_full_path(licence: S.Licence) -> None:
    """The seal certificate is valid at signing time, its root not yet: the fast path vouches only for a
    chain valid then (the full path follows RFC 5280, which does not check a trust anchor's validity)."""
    start = V.day_ago()
    pki = V.make_pki(root_from=start + timedelta(hours=2), seal_from=start)
    sealed = V.pyhanko_seal(licence, pki)
    data = V.with_seal(sealed, pki, extra_attrs=[V.signing_time(start + timedelta(hours=1))])
    steps_aside(data, pki.anchors)
    later = V.with_seal(sealed, pki, extra_attrs=[V.signing_time(start + timedelta(hours=2))])
    takes_fast_path(later, pki.anchors)


def test_a_signing_time_up_to_the_clock_skew_ahead_is_accepted(sealed: bytes, ec_pki: V.Pki) -> None:
    at = m_time(sealed)
    takes_fast_path(sealed, ec_pki.anchors, at - CLOCK_SKEW)
    full = steps_aside(sealed, ec_pki.anchors, at - CLOCK_SKEW - timedelta(seconds=1))
    assert full.issuer.code == "signing_time_in_future"


# ------------------------------------------------------------------ the signer and its certificates


def other_choice() -> cms.CertificateChoices:
    return cms.CertificateChoices(
        name="other",
        value=cms.OtherCertificateFormat(
            {"other_cert_format": "1.2.3.4", "other_cert": core.OctetString(b"x")}
        ),
    )


def test_the_signer_is_found_among_other_certificates(sealed: bytes, ec_pki: V.Pki) -> None:
    """Another certificate of the same root (another serial number) and a certificate of another format
    listed before the seal's: the seal's is the one named by issuer and serial number."""
    sibling = to_asn1(ec_pki.another_seal())
    data = V.with_seal(
        sealed, ec_pki, certificates=[other_choice(), sibling, ec_pki.root_asn1, ec_pki.seal_asn1]
    )
    fast = takes_fast_path(data, ec_pki.anchors)
    assert fast.issuer.details["signer_sha256"] == hashlib.sha256(ec_pki.seal_asn1.dump()).hexdigest()


@pytest.mark.parametrize("order", ["seal_first", "root_first"])
def test_a_signer_named_by_key_identifier(sealed: bytes, ec_pki: V.Pki, order: str) -> None:
    certs = [ec_pki.seal_asn1, ec_pki.root_asn1]
    data = V.with_seal(
        sealed,
        ec_pki,
        sid="subject_key_identifier",
        certificates=certs if order == "seal_first" else certs[::-1],
    )
    takes_fast_path(data, ec_pki.anchors)


def test_a_signer_certificate_missing_from_the_cms_steps_aside(sealed: bytes, ec_pki: V.Pki) -> None:
    steps_aside(V.with_seal(sealed, ec_pki, certificates=[ec_pki.root_asn1]), ec_pki.anchors)


# ------------------------------------------------------------------ the signing-certificate binding


@pytest.mark.parametrize("binding", ["none", "sha512", "sha1", "v1"])
def test_signing_certificate_bindings_the_full_path_accepts(
    sealed: bytes, ec_pki: V.Pki, binding: str
) -> None:
    base = V.default_attrs(sealed, ec_pki)[:2]
    extra = {
        "none": [],
        "sha512": [V.ess_v2(ec_pki.seal_asn1, algorithm="sha512")],
        "sha1": [V.ess_v2(ec_pki.seal_asn1, algorithm="sha1")],
        "v1": [V.ess_v1(ec_pki.seal_asn1)],
    }[binding]
    takes_fast_path(V.with_seal(sealed, ec_pki, attrs=base + extra), ec_pki.anchors)


@pytest.mark.parametrize("binding", ["wrong_hash", "wrong_serial", "twice", "v1_wrong_hash", "no_ids"])
def test_a_wrong_signing_certificate_binding_steps_aside(sealed: bytes, ec_pki: V.Pki, binding: str) -> None:
    cert = ec_pki.seal_asn1
    base = V.default_attrs(sealed, ec_pki)[:2]
    extra = {
        "wrong_hash": [V.ess_v2(cert, cert_hash=hashlib.sha256(ec_pki.root_asn1.dump()).digest())],
        "wrong_serial": [V.ess_v2(cert, serial=cert.serial_number + 1)],
        "twice": [V.ess_v2(cert), V.ess_v2(cert)],
        "v1_wrong_hash": [V.ess_v1(cert, cert_hash=bytes(20))],
        "no_ids": [V.ess_v2(cert, ids=0)],
    }[binding]
    full = steps_aside(V.with_seal(sealed, ec_pki, attrs=base + extra), ec_pki.anchors)
    assert not full.integrity.passed


# ------------------------------------------------------------------ the signature


def test_rsa_named_with_its_hash(licence: S.Licence, rsa_pki: V.Pki) -> None:
    """sha256WithRSAEncryption as well as rsaEncryption: PKCS#1 v1.5 either way."""
    sealed = V.pyhanko_seal(licence, rsa_pki)
    takes_fast_path(V.with_seal(sealed, rsa_pki, signature_algorithm="sha256_rsa"), rsa_pki.anchors)
    takes_fast_path(V.with_seal(sealed, rsa_pki, signature_algorithm="rsassa_pkcs1v15"), rsa_pki.anchors)


def test_a_signature_hash_other_than_the_digest(sealed: bytes, ec_pki: V.Pki) -> None:
    """ecdsa-with-SHA384 over SHA-256 message digests is verified with SHA-384, as pyHanko does."""
    data = V.with_seal(sealed, ec_pki, signature_algorithm="sha384_ecdsa", sign_hash="sha384")
    takes_fast_path(data, ec_pki.anchors)


@pytest.mark.parametrize(
    "claimed",
    [
        "sha512_ecdsa",  # another hash than the one signed with
        "rsassa_pkcs1v15",  # an RSA algorithm for an EC key
        "sha1_ecdsa",  # a broken hash
        "ed25519",  # an algorithm the fast path does not verify
    ],
)
def test_a_signature_algorithm_that_does_not_verify_steps_aside(
    sealed: bytes, ec_pki: V.Pki, claimed: str
) -> None:
    full = steps_aside(V.with_seal(sealed, ec_pki, signature_algorithm=claimed), ec_pki.anchors)
    assert not full.integrity.passed


@pytest.mark.parametrize("claimed", ["sha256_ecdsa", "rsassa_pss"])
def test_an_rsa_signature_claiming_another_algorithm_steps_aside(
    licence: S.Licence, rsa_pki: V.Pki, claimed: str
) -> None:
    sealed = V.pyhanko_seal(licence, rsa_pki)
    full = steps_aside(V.with_seal(sealed, rsa_pki, signature_algorithm=claimed), rsa_pki.anchors)
    assert not full.integrity.passed


@pytest.mark.parametrize("key", ["ec", "rsa"])
def test_a_corrupted_signature_value_steps_aside(
    licence: S.Licence, ec_pki: V.Pki, rsa_pki: V.Pki, key: str
) -> None:
    pki = ec_pki if key == "ec" else rsa_pki
    data = S.flip_signature_value(V.pyhanko_seal(licence, pki))
    assert steps_aside(data, pki.anchors).integrity.code == "signature_invalid"


def test_a_weak_digest_steps_aside(sealed: bytes, ec_pki: V.Pki) -> None:
    data = V.with_seal(sealed, ec_pki, digest="sha1", signature_algorithm="sha256_ecdsa", sign_hash="sha256")
    assert steps_aside(data, ec_pki.anchors).integrity.code == "weak_digest"


def test_a_der_ending_with_a_zero_byte_takes_the_fast_path(sealed: bytes, ec_pki: V.Pki) -> None:
    """The zero padding after the DER is not part of it, but a last DER byte of 0x00 is (1 seal in 256:
    the fast path used to strip it and leave such licences to the full path)."""
    der = V.seal_cms(sealed, ec_pki, until=lambda signature: signature[-1] == 0)
    assert der[-1] == 0
    takes_fast_path(V.put_cms(sealed, der), ec_pki.anchors)


@pytest.mark.parametrize(("attrs", "form"), [("short", "< 128"), ("medium", "128-255"), ("pades", ">= 256")])
def test_signed_attributes_of_every_length_form(sealed: bytes, ec_pki: V.Pki, attrs: str, form: str) -> None:
    """The signature is over the attributes re-tagged as a SET OF: short and long DER length forms."""
    base = V.default_attrs(sealed, ec_pki)
    chosen = {
        "short": base[:2],
        "medium": [*base[:2], V.signing_time(m_time(sealed)), V.ess_v1(ec_pki.seal_asn1)],
        "pades": base,
    }[attrs]
    data = V.with_seal(sealed, ec_pki, attrs=chosen)
    size = len(cms.CMSAttributes(chosen).contents)
    assert {"< 128": size < 128, "128-255": 128 <= size < 256, ">= 256": size >= 256}[form], size
    takes_fast_path(data, ec_pki.anchors)


@pytest.mark.parametrize("n", [0, 1, 0x7F, 0x80, 0x81, 0xFF, 0x100, 0xFFFF, 0x10000, 0xFFFFFF])
def test_der_length_encoding(n: int) -> None:
    """As asn1crypto encodes the length of n content bytes (its header, without the tag)."""
    assert _der_len(n) == core.OctetString(bytes(n)).dump()[1 : -n or None]


# ------------------------------------------------------------------ the CMS structure


def test_a_second_signer_steps_aside(sealed: bytes, ec_pki: V.Pki) -> None:
    assert steps_aside(V.with_seal(sealed, ec_pki, second_signer=True), ec_pki.anchors).integrity.code == (
        "signature_malformed"
    )


def test_encapsulated_content_steps_aside(sealed: bytes, ec_pki: V.Pki) -> None:
    full = steps_aside(V.with_seal(sealed, ec_pki, content=b"not detached"), ec_pki.anchors)
    assert full.integrity.code == "signature_malformed"


def test_a_signature_timestamp_steps_aside(licence: S.Licence, ec_pki: V.Pki) -> None:
    """PAdES B-T (a TSA's token among the unsigned attributes): the full path validates the token."""
    data = V.pyhanko_seal(licence, ec_pki, timestamper=F.self_made_tsa().stamper(), reserve=None)
    steps_aside(data, ec_pki.anchors)


def test_other_content_types_step_aside(sealed: bytes, ec_pki: V.Pki) -> None:
    base = V.default_attrs(sealed, ec_pki)
    wrong_type = [V.attribute("content_type", "signed_data"), *base[1:]]
    steps_aside(V.with_seal(sealed, ec_pki, attrs=wrong_type), ec_pki.anchors)
    no_type = base[1:]
    steps_aside(V.with_seal(sealed, ec_pki, attrs=no_type), ec_pki.anchors)
    no_digest = [base[0], base[2]]
    steps_aside(V.with_seal(sealed, ec_pki, attrs=no_digest), ec_pki.anchors)


# ------------------------------------------------------------------ the byte range and the file


def test_a_byte_range_ending_exactly_at_eof_takes_the_fast_path(sealed: bytes, ec_pki: V.Pki) -> None:
    """No end-of-line after %%EOF: the signed range ends with the file."""
    assert sealed.endswith(b"%%EOF\n")
    data = V.with_seal(V.set_byte_range_to_file(sealed[:-1]), ec_pki)
    assert data.endswith(b"%%EOF")
    takes_fast_path(data, ec_pki.anchors)


@pytest.mark.parametrize("tail", [b"X", b"XX\n", b"\nX", b" ", b"\x00"])
def test_anything_but_end_of_line_after_eof_steps_aside(sealed: bytes, ec_pki: V.Pki, tail: bytes) -> None:
    """Appended after the sealed file, or sealed with it (the signed range covering the tail)."""
    assert steps_aside(sealed + tail, ec_pki.anchors).integrity.code == "data_after_eof"
    covered = V.with_seal(V.set_byte_range_to_file(sealed + tail), ec_pki)
    assert steps_aside(covered, ec_pki.anchors).integrity.code == "data_after_eof"


def test_an_appended_eof_marker_steps_aside(sealed: bytes, ec_pki: V.Pki) -> None:
    """Only end-of-line bytes follow the new last %%EOF, but the seal does not reach it."""
    assert steps_aside(sealed + b"\n%%EOF\n", ec_pki.anchors).integrity.code == "pdf_damaged"


@pytest.mark.parametrize("other", [b"/ByteRange 12 0 R", b"/ByteRange [0 1 2 3]"])
def test_a_second_byte_range_anywhere_steps_aside(sealed: bytes, ec_pki: V.Pki, other: bytes) -> None:
    """A second /ByteRange (here in the XMP packet, sealed with the file): not a simple whole-file seal."""
    data = V.with_seal(V.replace_xmp_value(sealed, b"xmp:ModifyDate", other), ec_pki)
    assert data.count(b"/ByteRange") == 2
    steps_aside(data, ec_pki.anchors)


def test_contents_at_the_size_cap_take_the_fast_path(sealed: bytes, ec_pki: V.Pki) -> None:
    _, b, c, _ = S.byte_range(sealed)
    size = (c - b - 2) // 2
    assert size == 8192  # pyhanko_seal's room
    takes_fast_path(sealed, ec_pki.anchors, limits=StructureLimits(max_contents_bytes=size))
    assert (
        whole_file_seal(sealed, ec_pki.anchors, now(), StructureLimits(max_contents_bytes=size - 1)) is None
    )


def test_an_odd_number_of_hex_digits_steps_aside(sealed: bytes, ec_pki: V.Pki) -> None:
    """One hex digit less in /Contents, the byte range moved with it (the rest of the file unchanged)."""
    a, b, c, d = S.byte_range(sealed)
    shorter = sealed[: c - 2] + sealed[c - 1 :]
    data = F._set_byte_range(shorter, (a, b, c - 1, d))
    steps_aside(data, ec_pki.anchors)


# ------------------------------------------------------------------ the trust anchors


def test_a_seal_under_another_root_steps_aside(sealed: bytes, ec_pki: V.Pki) -> None:
    other = V.make_pki()
    anchors = TrustAnchors(roots=(other.root_asn1,), seals=(ec_pki.seal_asn1,))
    steps_aside(sealed, anchors)


def test_a_root_with_the_issuers_name_but_another_key_steps_aside(sealed: bytes, ec_pki: V.Pki) -> None:
    """A root certificate with the same subject and another key: the seal does not verify under it."""
    impostor = V.make_pki(root_from=V.day_ago())
    assert impostor.root.subject == ec_pki.root.subject
    anchors = TrustAnchors(roots=(impostor.root_asn1,), seals=(ec_pki.seal_asn1,))
    steps_aside(sealed, anchors)
