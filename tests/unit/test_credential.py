"""The signed QR credential (licences/credential.py) and its check (verification/credential_check.py).

Attacks first: a flipped byte anywhere in the COSE message, a credential signed by a key the trust list
does not name, a forged credential claiming a trusted kid, a credential for another licence, a flipped
status bit, an expired or forged status list, a zlib bomb. The codec is checked against pycose, an
independent COSE implementation.
"""

from __future__ import annotations

import contextlib
import zlib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import base45
import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onestop.identifiers.licence_id import make_licence_id
from onestop.licences.credential import (
    CREDENTIAL_PREFIX,
    Credential,
    CredentialError,
    b45decode,
    b45encode,
    credential_for,
    decode_text,
    encode_credential,
    facts_digest,
    looks_like_credential,
    parse_credential,
)
from onestop.licences.jws import SealKey, seal_key_from_signer
from onestop.licences.models import LicenceRecord, LicenceStatus
from onestop.licences.pki import DevPki, make_dev_pki, to_asn1
from onestop.licences.signers import LocalKeySigner
from onestop.licences.status_list import REVOKED, SUPERSEDED, SUSPENDED, StatusList, build_status_list
from onestop.verification.anchors import TrustAnchors
from onestop.verification.credential_check import check_credential

from tests.unit.test_licence_support import BUREAU, BUREAU_USCC, TYPE_CODE, sample_metadata

NOW = datetime.now(UTC).replace(microsecond=0)
INDEX = 4242


@pytest.fixture(scope="module")
def pki() -> DevPki:
    return make_dev_pki(BUREAU, now=NOW)


@pytest.fixture(scope="module")
def key(pki: DevPki) -> SealKey:
    return seal_key_from_signer(LocalKeySigner.from_dev_pki(pki))


@pytest.fixture(scope="module")
def trust(pki: DevPki) -> TrustAnchors:
    return TrustAnchors(roots=(to_asn1(pki.root_cert),), seals=(to_asn1(pki.seal_cert),))


@pytest.fixture(scope="module")
def stranger() -> DevPki:
    """A look-alike bureau with its own root and seal: same names, other keys."""
    return make_dev_pki(BUREAU, now=NOW)


def credential(key: SealKey, **meta_changes: object) -> tuple[Credential, str]:
    meta = sample_metadata(
        valid_from=NOW.date(), valid_until=NOW.date() + timedelta(days=365), **meta_changes
    )
    cred = credential_for(meta, status_index=INDEX, kid=key.kid, issued_at=NOW)
    return cred, encode_credential(cred, key.sign)


def lists(key: SealKey, entries: dict[int, int] | None = None, at: datetime = NOW) -> dict[str, StatusList]:
    status_list = build_status_list(TYPE_CODE, entries or {}, key=key, at=at)
    return {status_list.name: status_list}


def repack(message: bytes) -> str:
    return CREDENTIAL_PREFIX + base45.b45encode(zlib.compress(message)).decode("ascii")


# ----------------------------------------------------------------------------- attacks


def test_a_flipped_byte_anywhere_in_the_signed_message_is_never_valid(
    key: SealKey, trust: TrustAnchors
) -> None:
    _, text = credential(key)
    message = decode_text(text)
    good = check_credential(text, trust=trust, status_lists=lists(key), at=NOW)
    assert good.verdict == "valid", good.as_dict()
    for i in range(len(message)):
        for bit in (0x01, 0x80):
            forged = bytearray(message)
            forged[i] ^= bit
            verdict = check_credential(repack(bytes(forged)), trust=trust, status_lists=lists(key), at=NOW)
            assert verdict.verdict in {"invalid", "unknown_issuer"}, (i, bit, verdict.as_dict())
            assert verdict.tick("integrity") is None or verdict.tick("integrity").ok is not True  # type: ignore[union-attr]


def test_a_changed_holder_name_with_the_old_signature_fails_integrity(
    key: SealKey, trust: TrustAnchors
) -> None:
    _, text = credential(key)
    tag = cbor2.loads(decode_text(text))
    protected, _unprotected, payload, signature = tag.value
    claims = dict(cbor2.loads(payload))
    claims[2] = "深圳市假冒能源有限公司"
    forged = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, cbor2.dumps(claims), signature]))
    verdict = check_credential(repack(forged), trust=trust, status_lists=lists(key), at=NOW)
    assert verdict.verdict == "invalid"
    assert verdict.tick("integrity").ok is False  # type: ignore[union-attr]
    assert "篡改" in verdict.tick("integrity").reason_zh  # type: ignore[union-attr]


def test_a_key_not_in_the_trust_list_is_an_unknown_issuer(stranger: DevPki, trust: TrustAnchors) -> None:
    other = seal_key_from_signer(LocalKeySigner.from_dev_pki(stranger))
    _, text = credential(other)
    verdict = check_credential(text, trust=trust, status_lists=lists(other), at=NOW)
    assert verdict.verdict == "unknown_issuer"
    assert verdict.tick("issuer").ok is False  # type: ignore[union-attr]
    assert other.kid in verdict.tick("issuer").reason_en  # type: ignore[union-attr]


def test_a_forger_naming_the_bureaus_kid_fails_integrity(
    key: SealKey, stranger: DevPki, trust: TrustAnchors
) -> None:
    other = seal_key_from_signer(LocalKeySigner.from_dev_pki(stranger))
    forger = replace(other, kid=key.kid)  # claims the bureau's key id, signs with its own key
    _, text = credential(forger)
    verdict = check_credential(text, trust=trust, status_lists=lists(key), at=NOW)
    assert verdict.verdict == "invalid"
    assert verdict.tick("integrity").ok is False  # type: ignore[union-attr]


def test_a_seal_whose_root_is_not_trusted_is_an_unknown_issuer(
    pki: DevPki, key: SealKey, stranger: DevPki
) -> None:
    # The genuine seal certificate listed, but under a root the verifier does not trust.
    trust = TrustAnchors(roots=(to_asn1(stranger.root_cert),), seals=(to_asn1(pki.seal_cert),))
    _, text = credential(key)
    assert check_credential(text, trust=trust, status_lists=lists(key), at=NOW).verdict == "unknown_issuer"


@pytest.mark.parametrize(
    ("value", "verdict"), [(SUSPENDED, "suspended"), (REVOKED, "revoked"), (SUPERSEDED, "superseded")]
)
def test_a_flipped_status_bit_changes_the_verdict(
    key: SealKey, trust: TrustAnchors, value: int, verdict: str
) -> None:
    _, text = credential(key)
    assert check_credential(text, trust=trust, status_lists=lists(key, {INDEX: 0}), at=NOW).verdict == "valid"
    out = check_credential(text, trust=trust, status_lists=lists(key, {INDEX: value}), at=NOW)
    assert out.verdict == verdict
    assert out.tick("status").ok is False  # type: ignore[union-attr]
    # the neighbours' bits do not leak into this index
    for near in (INDEX - 1, INDEX + 1):
        assert (
            check_credential(text, trust=trust, status_lists=lists(key, {near: 3}), at=NOW).verdict == "valid"
        )


def test_an_expired_status_list_gives_status_unknown_as_of_its_time(
    key: SealKey, trust: TrustAnchors
) -> None:
    _, text = credential(key)
    old = lists(key, {INDEX: 0}, at=NOW - timedelta(hours=40))
    out = check_credential(text, trust=trust, status_lists=old, at=NOW)
    assert out.verdict == "status_unknown"
    as_of = (NOW - timedelta(hours=40)).strftime("%Y-%m-%d %H:%M UTC")
    assert f"as of {as_of}" in out.message_en
    assert as_of in out.message_zh
    assert out.tick("status").ok is None  # type: ignore[union-attr]
    assert out.tick("integrity").ok is True  # type: ignore[union-attr]


def test_a_status_list_signed_by_another_key_is_not_believed(
    key: SealKey, stranger: DevPki, trust: TrustAnchors
) -> None:
    _, text = credential(key)
    other = seal_key_from_signer(LocalKeySigner.from_dev_pki(stranger))
    forged = build_status_list(TYPE_CODE, {}, key=replace(other, kid=key.kid), at=NOW)
    out = check_credential(text, trust=trust, status_lists={TYPE_CODE: forged}, at=NOW)
    assert out.verdict == "status_unknown"


def test_a_status_list_with_an_edited_bit_fails_its_signature(key: SealKey, trust: TrustAnchors) -> None:
    import base64
    import hashlib
    import json

    _, text = credential(key)
    revoked = lists(key, {INDEX: REVOKED})[TYPE_CODE]
    cleared = lists(key, {})[TYPE_CODE].encoded  # the forger clears the revocation bit
    header, payload, signature = revoked.jws.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["encodedListSha256"] = hashlib.sha256(cleared.encode()).hexdigest()  # and the digest it names
    edited = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    forged = StatusList.from_document({"jws": f"{header}.{edited}.{signature}", "encodedList": cleared})
    assert forged.status_at(INDEX) == 0
    assert (
        check_credential(text, trust=trust, status_lists={TYPE_CODE: forged}, at=NOW).verdict
        == "status_unknown"
    )


def test_no_status_list_is_status_unknown_not_valid(key: SealKey, trust: TrustAnchors) -> None:
    _, text = credential(key)
    assert check_credential(text, trust=trust, status_lists={}, at=NOW).verdict == "status_unknown"


def test_an_expired_licence_is_expired(key: SealKey, trust: TrustAnchors) -> None:
    meta = sample_metadata(valid_from=date(2020, 1, 1), valid_until=NOW.date() - timedelta(days=2))
    cred = credential_for(meta, status_index=INDEX, kid=key.kid, issued_at=NOW)
    out = check_credential(encode_credential(cred, key.sign), trust=trust, status_lists=lists(key), at=NOW)
    assert out.verdict == "expired"


def record_of(meta_changes: dict[str, object], status: LicenceStatus = LicenceStatus.VALID) -> LicenceRecord:
    meta = sample_metadata(
        valid_from=NOW.date(), valid_until=NOW.date() + timedelta(days=365), **meta_changes
    )
    return LicenceRecord(metadata=meta, status=status, reserved_at=NOW, issued_at=NOW, status_index=INDEX)


def test_online_the_registry_must_hold_the_same_facts(key: SealKey, trust: TrustAnchors) -> None:
    cred, text = credential(key)
    same = record_of({})
    assert facts_digest(same.metadata) == cred.digest
    ok = check_credential(text, trust=trust, status_lists={}, at=NOW, registry_lookup=lambda _: same)
    assert ok.verdict == "valid"
    assert ok.tick("registry").ok is True  # type: ignore[union-attr]
    # another licence's facts (a genuine credential of licence A shown for licence B's record)
    other = record_of({"extra": (("经营地址", "深圳市福田区另一条路1号"),)})
    bad = check_credential(text, trust=trust, status_lists={}, at=NOW, registry_lookup=lambda _: other)
    assert bad.verdict == "invalid"
    assert bad.tick("registry").ok is False  # type: ignore[union-attr]
    gone = check_credential(text, trust=trust, status_lists={}, at=NOW, registry_lookup=lambda _: None)
    assert gone.verdict == "invalid"


def test_through_the_services_public_look_up_validity_and_version_must_agree(
    key: SealKey, trust: TrustAnchors
) -> None:
    from onestop.verification.status import RegistryEntry, face_of, masked_face

    _, text = credential(key)
    record = record_of({})
    entry = RegistryEntry.from_record(record, NOW)
    public = RegistryEntry.from_public(entry.public(masked=True))
    ok = check_credential(text, trust=trust, status_lists={}, at=NOW, registry_lookup=lambda _: public)
    assert ok.verdict == "valid", ok.as_dict()
    moved = replace(public, face=masked_face({**face_of(record), "valid_until": "2099-01-01"}))
    bad = check_credential(text, trust=trust, status_lists={}, at=NOW, registry_lookup=lambda _: moved)
    assert bad.verdict == "invalid"
    assert "valid_until" in bad.tick("registry").reason_en  # type: ignore[union-attr]
    suspended = replace(public, status=LicenceStatus.SUSPENDED)
    out = check_credential(text, trust=trust, status_lists={}, at=NOW, registry_lookup=lambda _: suspended)
    assert out.verdict == "suspended"


def test_online_the_registry_status_wins_over_a_lagging_list(key: SealKey, trust: TrustAnchors) -> None:
    _, text = credential(key)
    revoked = record_of({}, LicenceStatus.REVOKED)
    out = check_credential(
        text, trust=trust, status_lists=lists(key), at=NOW, registry_lookup=lambda _: revoked
    )
    assert out.verdict == "revoked"


def test_offline_the_registry_tick_says_not_consulted(key: SealKey, trust: TrustAnchors) -> None:
    _, text = credential(key)
    out = check_credential(text, trust=trust, status_lists=lists(key), at=NOW)
    assert [t.name for t in out.ticks] == ["integrity", "issuer", "status", "registry"]
    assert out.tick("registry").ok is None  # type: ignore[union-attr]
    assert out.message_zh
    assert out.message_en


def test_a_zlib_bomb_is_refused_without_inflating_it() -> None:
    bomb = CREDENTIAL_PREFIX + base45.b45encode(zlib.compress(b"\0" * 50_000_000, 9)).decode()
    with pytest.raises(CredentialError) as err:
        parse_credential(bomb)
    assert err.value.code == "credential_malformed"
    assert err.value.message_zh
    assert err.value.message_en


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_a_credential_or_a_clean_error(text: str) -> None:
    with contextlib.suppress(CredentialError):
        parse_credential(CREDENTIAL_PREFIX + text)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_behind_the_prefix_are_a_credential_or_a_clean_error(data: bytes) -> None:
    with contextlib.suppress(CredentialError):
        parse_credential(repack(data))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_our_base45_is_rfc_9285_as_the_base45_package_has_it(data: bytes) -> None:
    text = b45encode(data)
    assert text == base45.b45encode(data).decode("ascii")
    assert b45decode(text) == data


@pytest.mark.parametrize("text", ["GGW", ":::", "A", "AB~", "ab"])  # over range, dangling, outside alphabet
def test_base45_refuses_what_rfc_9285_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="base45"):
        b45decode(text)


def test_a_url_is_not_a_credential() -> None:
    assert not looks_like_credential("https://onestop.example.gov.cn/verify/1.2.156.3005.2.x")
    assert looks_like_credential("OS1:ABC")


# ----------------------------------------------------------------------------- the codec


serials = st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=32)
names = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), min_size=1, max_size=60
)
days = st.dates(min_value=date(1970, 1, 1), max_value=date(2200, 12, 31))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    serial=serials,
    version=st.integers(1, 999),
    holder_name=names,
    holder_code=st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=1, max_size=18),
    item_code=st.text(alphabet="abcdefghijklmnopqrstuvwxyz-0123456789", min_size=1, max_size=40),
    valid_from=days,
    valid_until=st.none() | days,
    index=st.integers(0, 2**32),
    digest=st.binary(min_size=32, max_size=32),
    issued=st.integers(0, 2**33),
)
def test_encode_then_parse_round_trips_any_credential(
    key: SealKey,
    serial: str,
    version: int,
    holder_name: str,
    holder_code: str,
    item_code: str,
    valid_from: date,
    valid_until: date | None,
    index: int,
    digest: bytes,
    issued: int,
) -> None:
    cred = Credential(
        licence_id=make_licence_id(TYPE_CODE, BUREAU_USCC, serial, version),
        version=version,
        holder_name=holder_name,
        holder_code=holder_code,
        item_code=item_code,
        licence_type=TYPE_CODE,
        valid_from=valid_from,
        valid_until=valid_until,
        status_list=TYPE_CODE,
        status_index=index,
        digest=digest.hex(),
        kid=key.kid,
        issued_at=datetime.fromtimestamp(issued, UTC),
    )
    text = encode_credential(cred, key.sign)
    assert text.startswith(CREDENTIAL_PREFIX)
    assert set(text[len(CREDENTIAL_PREFIX) :]) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    parsed, _ = parse_credential(text)
    assert parsed == cred


def test_pycose_verifies_the_credential_we_build(pki: DevPki, key: SealKey) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from pycose.keys.curves import P256
    from pycose.keys.ec2 import EC2Key
    from pycose.messages import Sign1Message

    _, text = credential(key)
    message = Sign1Message.decode(decode_text(text))
    numbers = pki.seal_key.public_key().public_numbers()
    assert isinstance(pki.seal_key, ec.EllipticCurvePrivateKey)
    message.key = EC2Key(crv=P256, x=numbers.x.to_bytes(32, "big"), y=numbers.y.to_bytes(32, "big"))
    assert message.verify_signature()
    assert message.phdr_encoded or message.phdr  # the kid and alg are protected
    assert bytes.fromhex(key.kid) in message.phdr.values()


def test_the_credential_of_a_long_name_still_fits_version_15_at_level_m(key: SealKey) -> None:
    import segno

    _, text = credential(key, holder_name="深圳市南山区前海深港现代服务业合作区某某石油化工贸易有限责任公司")
    qr = segno.make(text, error="m", micro=False, boost_error=False)
    assert qr.mode == "alphanumeric"
    assert int(qr.version) <= 15, (qr.version, len(text))
