"""Signed status lists (licences/status_list.py): the W3C bit layout, herd-privacy size, gzip bombs,
type confusion between signed documents, and the publisher's rebuild from the registry."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onestop.licences.jws import TYP_TRUST_LIST, SealKey, seal_key_from_signer, sign_jws
from onestop.licences.models import LicenceStatus
from onestop.licences.pki import DevPki, make_dev_pki
from onestop.licences.signers import LocalKeySigner
from onestop.licences.status_list import (
    MIN_ENTRIES,
    REVOKED,
    SUPERSEDED,
    SUSPENDED,
    VALID,
    StatusList,
    StatusListError,
    build_status_list,
    status_value,
)

from tests.unit.test_licence_support import BUREAU, TYPE_CODE

AT = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pki() -> DevPki:
    return make_dev_pki(BUREAU)


@pytest.fixture(scope="module")
def key(pki: DevPki) -> SealKey:
    return seal_key_from_signer(LocalKeySigner.from_dev_pki(pki))


def raw_bits(status_list: StatusList) -> bytes:
    """The bitstring decoded here, independently of the module (multibase 'u' + base64url + gzip)."""
    text = status_list.document()["encodedList"]
    assert text[0] == "u"
    return gzip.decompress(base64.urlsafe_b64decode(text[1:] + "=" * (-len(text[1:]) % 4)))


def test_index_0_is_the_two_leftmost_bits_of_the_first_byte(key: SealKey) -> None:
    out = build_status_list(TYPE_CODE, {0: REVOKED, 5: SUSPENDED}, key=key, at=AT)
    bits = raw_bits(out)
    assert bits[0] == 0b1000_0000  # index 0 = 0b10 (revoked), indexes 1-3 = 0
    assert bits[1] == 0b0001_0000  # byte 1 holds indexes 4-7; index 5 is its second pair: 0b01
    assert out.status_at(0) == REVOKED
    assert out.status_at(5) == SUSPENDED
    assert out.status_at(4) == VALID


def test_a_list_is_never_smaller_than_the_herd(key: SealKey) -> None:
    out = build_status_list(TYPE_CODE, {}, key=key, at=AT)
    assert out.size == MIN_ENTRIES
    assert len(raw_bits(out)) == MIN_ENTRIES * 2 // 8
    assert len(json.dumps(out.document())) < 2000  # zeros compress: the download stays small
    assert out.status_at(MIN_ENTRIES) is None
    grown = build_status_list(TYPE_CODE, {MIN_ENTRIES + 3: SUPERSEDED}, key=key, at=AT)
    assert grown.size == 2 * MIN_ENTRIES
    assert grown.status_at(MIN_ENTRIES + 3) == SUPERSEDED


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.integers(0, 300_000), st.integers(0, 3), max_size=40))
def test_every_entry_reads_back(key: SealKey, entries: dict[int, int]) -> None:
    out = StatusList.from_document(build_status_list(TYPE_CODE, entries, key=key, at=AT).document())
    for index, value in entries.items():
        assert out.status_at(index) == value
    for index in (0, 1, out.size - 1):
        assert out.status_at(index) == entries.get(index, 0)


def test_the_validity_window_is_36_hours(key: SealKey) -> None:
    out = build_status_list(TYPE_CODE, {}, key=key, at=AT)
    assert out.valid_until - out.valid_from == timedelta(hours=36)
    assert out.fresh(AT + timedelta(hours=35))
    assert not out.fresh(AT + timedelta(hours=37))


def test_a_gzip_bomb_in_the_list_is_refused(key: SealKey) -> None:
    bomb = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(64 * 1024 * 1024), 9)).rstrip(b"=").decode()
    payload = {
        "type": "BitstringStatusList",
        "list": TYPE_CODE,
        "statusSize": 2,
        "encodedListSha256": hashlib.sha256(bomb.encode()).hexdigest(),
        "issued_at": AT.isoformat(),
        "validFrom": AT.isoformat(),
        "validUntil": AT.isoformat(),
    }
    token = sign_jws(payload, typ="onestop-status-list+jwt", key=key)
    with pytest.raises(StatusListError, match="too large"):
        StatusList.from_document({"jws": token, "encodedList": bomb})


def test_a_bitstring_that_is_not_the_signed_one_is_refused(key: SealKey) -> None:
    document = build_status_list(TYPE_CODE, {3: REVOKED}, key=key, at=AT).document()
    cleared = build_status_list(TYPE_CODE, {}, key=key, at=AT).document()["encodedList"]
    with pytest.raises(StatusListError, match="signed digest"):
        StatusList.from_document({**document, "encodedList": cleared})


def test_a_busy_list_still_signs_within_kms_s_message_limit(key: SealKey) -> None:
    import random

    rng = random.Random(17)
    entries = {rng.randrange(0, 1_000_000): rng.randrange(1, 4) for _ in range(50_000)}
    out = build_status_list(TYPE_CODE, entries, key=key, at=AT)
    assert len(out.encoded) > 4096  # the bitstring alone is past KMS's RAW limit
    signing_input = out.jws.rsplit(".", 1)[0]
    assert len(signing_input) < 1024
    assert all(out.status_at(i) == v for i, v in list(entries.items())[:500])


def test_a_trust_list_signature_cannot_pass_for_a_status_list(key: SealKey) -> None:
    payload = {"type": "BitstringStatusList", "list": TYPE_CODE, "statusSize": 2}
    token = sign_jws(payload, typ=TYP_TRUST_LIST, key=key)
    with pytest.raises(StatusListError, match="type"):
        StatusList.from_document({"jws": token, "encodedList": "u"})


@pytest.mark.parametrize(
    ("status", "value"),
    [
        (LicenceStatus.VALID, VALID),
        (LicenceStatus.SUSPENDED, SUSPENDED),
        (LicenceStatus.REVOKED, REVOKED),
        (LicenceStatus.CANCELLED, REVOKED),
        (LicenceStatus.WITHDRAWN, REVOKED),
        (LicenceStatus.SUPERSEDED, SUPERSEDED),
    ],
)
def test_registry_statuses_map_to_list_values(status: LicenceStatus, value: int) -> None:
    assert status_value(status) == value


# ----------------------------------------------------------------------------- the publisher


def test_a_change_landing_while_a_list_is_written_is_published_too(key: SealKey) -> None:
    from dataclasses import replace

    from onestop.licences.publishing import ListPublisher
    from onestop.licences.status_list import status_list_key

    from tests.unit.test_licence_support import MemoryBlobStore, MemoryRegistry, sample_metadata

    registry = MemoryRegistry()
    from onestop.licences.models import LicenceRecord

    for index in (0, 1):
        meta = sample_metadata(licence_id=sample_metadata().licence_id[:-5] + f"00{index + 1}.X")
        record = LicenceRecord(
            meta, LicenceStatus.VALID, AT, status_index=registry.next_status_index(TYPE_CODE)
        )
        registry.reserve(record, guard_application=False)

    class RacingStore(MemoryBlobStore):
        """The first write of the list races a revocation that the publisher's read did not see."""

        def put(
            self,
            key: str,
            body: bytes,
            content_type: str,
            metadata: Mapping[str, str] | None = None,
            if_absent: bool = False,
        ) -> str:
            version = super().put(key, body, content_type, metadata, if_absent)
            if self.puts == 1:
                racing = next(r for r in registry.records.values() if r.status_index == 1)
                registry.records[racing.licence_id] = replace(racing, status=LicenceStatus.REVOKED)
            return version

    store = RacingStore()
    publisher = ListPublisher(
        registry=registry,
        store=store,
        seal_key=lambda: key,
        anchors=lambda: pytest.fail("a status list publication needs no trust anchors"),
        now=lambda: AT,
    )
    publisher.status_list(TYPE_CODE)
    assert store.puts == 2  # it noticed and published again
    final = StatusList.from_document(json.loads(store.get(status_list_key(TYPE_CODE)).body))
    assert (final.status_at(0), final.status_at(1)) == (VALID, REVOKED)
