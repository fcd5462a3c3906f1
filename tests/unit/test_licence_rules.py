"""Licence issuance and lifecycle rules pinned exactly: the events other systems consume (every key
and value), the audit entries, the reason limit at its boundary, the validity of renewals on the
last valid day, and that each entry point passes its actor, reason code, time and timestamper on.

The expected values are written out from the sample approval (test_licence_support.approval: app-0001,
approved 2025-03-14 02:30 UTC = 10:30 in Beijing, holder 深圳市鹏城能源有限公司, five-year validity).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from asn1crypto import keys as asn1_keys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from onestop.errors import Conflict, InvalidInput, NotFound
from onestop.identifiers.licence_id import make_licence_id
from onestop.licences.issuance import ISSUE_ACTOR, issue_licence, pdf_key
from onestop.licences.lifecycle import (
    MAX_REASON_CHARS,
    LicenceChanges,
    change_licence,
    change_status,
    get_licence,
    latest_version,
    renew_licence,
)
from onestop.licences.models import Action, AuditEntry, HolderKind, LicenceRecord, LicenceStatus
from onestop.licences.pki import DevPki, issue_timestamping_certificate, make_dev_pki, to_asn1
from pyhanko.sign.timestamps import DummyTimeStamper, TimestampRequestError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from tests.unit.test_licence_lifecycle import LATER, World
from tests.unit.test_licence_support import (
    APPROVED_AT,
    BUREAU,
    BUREAU_USCC,
    HOLDER_USCC,
    ISSUER,
    OIL_LICENCE,
    TYPE_CODE,
    MemoryBlobStore,
    MemoryRegistry,
    RecordingPublisher,
    approval,
    pyhanko_status,
)

LID1 = make_licence_id(TYPE_CODE, BUREAU_USCC, "20250000001", 1)
LID2 = make_licence_id(TYPE_CODE, BUREAU_USCC, "20250000001", 2)
LATER_ISO = "2025-04-13T02:30:00+00:00"  # LATER = APPROVED_AT + 30 days


@pytest.fixture(scope="module")
def pki() -> DevPki:
    return make_dev_pki(BUREAU)


@pytest.fixture
def world(pki: DevPki) -> World:
    return World(pki)


class CountingTimeStamper(DummyTimeStamper):
    """pyHanko's own test TSA, counting the timestamps it issues."""

    calls = 0

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> Any:
        type(self).calls += 1
        return await super().async_timestamp(message_digest, md_algorithm)


@pytest.fixture(scope="module")
def stamper(pki: DevPki) -> CountingTimeStamper:
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa_cert = issue_timestamping_certificate(
        root_cert=pki.root_cert,
        root_key=pki.root_key,
        public_key=tsa_key.public_key(),
        bureau=BUREAU,
        now=datetime.now(UTC),
    )
    key_info = asn1_keys.PrivateKeyInfo.load(
        tsa_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return CountingTimeStamper(
        tsa_cert=to_asn1(tsa_cert),
        tsa_key=key_info,
        certs_to_embed=SimpleCertificateStore.from_certs([to_asn1(pki.root_cert)]),
    )


# ------------------------------------------------------------------------- issuance


def test_issue_event_and_audit_are_exact(pki: DevPki) -> None:
    registry, store, publisher = MemoryRegistry(), MemoryBlobStore(), RecordingPublisher()
    record = issue_licence(
        approval(),
        licence_type=OIL_LICENCE,
        issuer=ISSUER,
        registry=registry,
        store=store,
        signer=World(pki).signer,
        publisher=publisher,
        now=APPROVED_AT,
    )
    assert record.licence_id == LID1
    assert record.history == (
        AuditEntry(
            APPROVED_AT,
            ISSUE_ACTOR,
            Action.RESERVE,
            None,
            LicenceStatus.ISSUING,
            "申请已由 reviewer-li 批准 / application approved by reviewer-li",
        ),
        AuditEntry(
            APPROVED_AT,
            ISSUE_ACTOR,
            Action.ISSUE,
            LicenceStatus.ISSUING,
            LicenceStatus.VALID,
            "电子证照已签章并存储 / sealed and stored",
        ),
    )
    assert record.pdf is not None
    body = store.get(pdf_key(LID1)).body
    assert record.pdf.as_dict() == {
        "bucket": store.name,
        "key": f"licences/{LID1}.pdf",
        "version_id": record.pdf.version_id,
        "sha256": hashlib.sha256(body).hexdigest(),
        "size": len(body),
    }
    assert publisher.events == [
        (
            "LicenceIssued",
            {
                "schema_version": 1,
                "licence_id": LID1,
                "application_id": "app-0001",
                "item_code": "refined-oil-retail-qualification",
                "holder_code": HOLDER_USCC,
                "holder_kind": "enterprise",
                "holder_name": "深圳市鹏城能源有限公司",
                "version": 1,
                "supersedes": None,
                "issued_at": "2025-03-14T02:30:00+00:00",
                "valid_from": "2025-03-14",
                "valid_until": "2030-03-13",
                "pdf": record.pdf.as_dict(),
                "seal_cert_sha256": record.seal_cert_sha256,
            },
        )
    ]
    # The stored object says whose it is (a leftover is only reused when it matches).
    head = store.head(pdf_key(LID1))
    assert head is not None
    assert head.metadata == {
        "licence-id": LID1,
        "sha256": hashlib.sha256(body).hexdigest(),
        "seal-cert-sha256": record.seal_cert_sha256,
    }


def test_issue_passes_the_timestamper_on(pki: DevPki, stamper: CountingTimeStamper) -> None:
    before = CountingTimeStamper.calls
    store = MemoryBlobStore()
    record = issue_licence(
        approval(),
        licence_type=OIL_LICENCE,
        issuer=ISSUER,
        registry=MemoryRegistry(),
        store=store,
        signer=World(pki).signer,
        publisher=RecordingPublisher(),
        now=APPROVED_AT,
        timestamper=stamper,
    )
    assert CountingTimeStamper.calls > before  # (pyHanko asks twice: size estimate, then the token)
    assert record.pdf is not None
    status = pyhanko_status(store.get(record.pdf.key).body, [to_asn1(pki.root_cert)])
    assert status.timestamp_validity is not None


# ------------------------------------------------------------------------- status changes


STATUS_CHANGES: list[tuple[Action, LicenceStatus]] = [
    (Action.SUSPEND, LicenceStatus.SUSPENDED),
    (Action.REVOKE, LicenceStatus.REVOKED),
    (Action.CANCEL, LicenceStatus.CANCELLED),
    (Action.WITHDRAW, LicenceStatus.WITHDRAWN),
]


@pytest.mark.parametrize(("action", "status"), STATUS_CHANGES, ids=lambda x: getattr(x, "value", ""))
def test_status_change_event_and_audit_are_exact(world: World, action: Action, status: LicenceStatus) -> None:
    record = change_status(
        action, world.lid, actor="admin-zhao", reason="  依法处理  ", reason_code="law-12", **world.status()
    )
    entry = AuditEntry(LATER, "admin-zhao", action, LicenceStatus.VALID, status, "依法处理", "law-12")
    assert record.status is status
    assert record.history[-1] == entry
    assert world.publisher.events == [
        (
            "LicenceStatusChanged",
            {
                "schema_version": 1,
                "licence_id": LID1,
                "action": action.value,
                "from_status": "01",
                "to_status": status.value,
                "actor": "admin-zhao",
                "reason": "依法处理",
                "reason_code": "law-12",
                "at": LATER_ISO,
                "application_id": "app-0001",
                "holder_code": HOLDER_USCC,
                "version": 1,
            },
        )
    ]


def test_reinstate_passes_everything_on_and_a_retry_is_announced_again(world: World) -> None:
    change_status(Action.SUSPEND, world.lid, actor="r1", reason="暂扣", **world.status())
    back = change_status(
        Action.REINSTATE,
        world.lid,
        actor="r2",
        reason="整改完成",
        reason_code="fixed",
        **world.status(now=LATER + timedelta(days=1)),
    )
    assert back.history[-1] == AuditEntry(
        LATER + timedelta(days=1),
        "r2",
        Action.REINSTATE,
        LicenceStatus.SUSPENDED,
        LicenceStatus.VALID,
        "整改完成",
        "fixed",
    )
    # The same request again: nothing changes, the same event goes out again.
    again = change_status(
        Action.REINSTATE,
        world.lid,
        actor="r2",
        reason="整改完成",
        reason_code="fixed",
        **world.status(now=LATER + timedelta(days=2)),
    )
    assert again.history == back.history
    first, second = world.publisher.of("LicenceStatusChanged")[1:]
    assert first == second
    assert second["at"] == "2025-04-14T02:30:00+00:00"
    assert (second["licence_id"], second["action"], second["version"]) == (LID1, "reinstate", 1)


@pytest.mark.parametrize(
    ("length", "ok"),
    [(1, True), (MAX_REASON_CHARS, True), (MAX_REASON_CHARS + 1, False), (0, False)],
    ids=["reason-at-min", "reason-at-max", "reason-at-max+1", "reason-empty"],
)
def test_reason_length(world: World, length: int, ok: bool) -> None:
    assert MAX_REASON_CHARS == 500
    reason = "理" * length
    if ok:
        record = change_status(Action.SUSPEND, world.lid, actor="r", reason=reason, **world.status())
        assert record.history[-1].reason == reason
    else:
        with pytest.raises(InvalidInput) as refused:
            change_status(Action.SUSPEND, world.lid, actor="r", reason=reason, **world.status())
        assert refused.value.code == "licence_reason_required"
        assert [(r.code, r.field) for r in refused.value.details] == [("licence_reason_required", "reason")]
        assert world.publisher.events == []


def test_not_found_names_the_licence_and_hides_a_licence_being_issued(world: World) -> None:
    missing = LID1.replace("20250000001", "20250000099")
    with pytest.raises(NotFound) as exc:
        get_licence(world.registry, missing)
    assert (exc.value.code, exc.value.extra) == ("licence_not_found", {"licence_id": missing})
    # A record reserved but not yet issued is not visible.
    world.registry.records[LID1] = replace(world.licence, status=LicenceStatus.ISSUING)
    with pytest.raises(NotFound) as exc:
        get_licence(world.registry, LID1)
    assert exc.value.extra == {"licence_id": LID1}


# ------------------------------------------------------------------------- new versions


def test_renew_event_and_supersede_audit_are_exact(world: World) -> None:
    new = renew_licence(
        world.lid, validity_years=5, actor="reviewer-li", reason="  延续申请已批准 ", **world.version()
    )
    assert new.licence_id == LID2
    reason = f"延续申请已批准（新版本 new version {LID2}）"
    old = world.registry.get(LID1)
    assert old is not None
    assert old.history[-1] == AuditEntry(
        LATER, "reviewer-li", Action.SUPERSEDE, LicenceStatus.VALID, LicenceStatus.SUPERSEDED, reason
    )
    assert new.history[0] == AuditEntry(
        LATER, "reviewer-li", Action.RESERVE, None, LicenceStatus.ISSUING, "延续申请已批准"
    )
    assert world.publisher.of("LicenceStatusChanged") == [
        {
            "schema_version": 1,
            "licence_id": LID1,
            "action": "supersede",
            "from_status": "01",
            "to_status": LicenceStatus.SUPERSEDED.value,
            "actor": "reviewer-li",
            "reason": reason,
            "reason_code": None,
            "at": LATER_ISO,
            "superseded_by": LID2,
            "application_id": "app-0001",
            "holder_code": HOLDER_USCC,
        }
    ]
    [issued] = world.publisher.of("LicenceIssued")
    assert (issued["licence_id"], issued["version"], issued["supersedes"]) == (LID2, 2, LID1)
    assert (issued["valid_from"], issued["valid_until"]) == ("2030-03-14", "2035-03-13")


def test_renew_on_the_last_valid_day_continues_the_validity(world: World) -> None:
    # Valid until 2030-03-13: renewed on that very day (Beijing), the new version starts the next day.
    last_day = datetime(2030, 3, 13, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
    new = renew_licence(
        world.lid, validity_years=5, actor="r", reason="到期当日延续", **world.version(now=last_day)
    )
    assert (new.metadata.valid_from, new.metadata.valid_until) == (date(2030, 3, 14), date(2035, 3, 13))
    assert new.metadata.issue_date == date(2030, 3, 13)


def test_latest_version_stops_at_a_missing_or_unfinished_successor(world: World) -> None:
    new = renew_licence(world.lid, validity_years=5, actor="r", reason="延续", **world.version())
    assert latest_version(world.registry, LID1).licence_id == LID2
    assert latest_version(world.registry, LID1, max_hops=0).licence_id == LID1
    world.registry.records[LID2] = replace(new, status=LicenceStatus.ISSUING)  # not visible yet
    assert latest_version(world.registry, LID1).licence_id == LID1
    del world.registry.records[LID2]  # not there at all
    assert latest_version(world.registry, LID1).licence_id == LID1


def test_change_applies_every_particular_and_passes_everything_on(
    world: World, pki: DevPki, stamper: CountingTimeStamper
) -> None:
    with pytest.raises(InvalidInput) as empty:
        change_licence(world.lid, changes=LicenceChanges(), actor="r", reason="无变更", **world.version())
    assert empty.value.code == "licence_change_empty"
    before = CountingTimeStamper.calls
    extra = (("经营地址", "深圳市福田区福华路1号"),)
    new = change_licence(
        world.lid,
        changes=LicenceChanges(
            holder_name=" 深圳市鹏城新能源有限公司 ", extra=extra, item_name="成品油零售经营资格变更"
        ),
        actor="reviewer-zhou",
        reason="企业名称和地址变更",
        **world.version(timestamper=stamper),
    )
    after_change = CountingTimeStamper.calls
    assert after_change > before
    meta = new.metadata
    assert (meta.holder_name, meta.extra, meta.item_name) == (
        "深圳市鹏城新能源有限公司",
        extra,
        "成品油零售经营资格变更",
    )
    assert (meta.valid_from, meta.valid_until) == (date(2025, 4, 13), date(2030, 3, 13))
    assert new.history[0].actor == "reviewer-zhou"
    assert new.history[0].reason == "企业名称和地址变更"
    # A renewal passes the timestamper on too.
    renewed = renew_licence(
        new.licence_id, validity_years=5, actor="r", reason="延续", **world.version(timestamper=stamper)
    )
    assert CountingTimeStamper.calls > after_change
    assert renewed.metadata.version == 3


# ------------------------------------------------------------------------- issuance details


def test_issued_metadata_is_the_approval_and_the_issuer(pki: DevPki) -> None:
    record = issue_licence(
        approval(holder_name="  深圳市鹏城能源有限公司 "),
        licence_type=replace(OIL_LICENCE, definer_name=None),  # the definer defaults to the issuer
        issuer=ISSUER,
        registry=MemoryRegistry(),
        store=MemoryBlobStore(),
        signer=World(pki).signer,
        publisher=RecordingPublisher(),
        now=APPROVED_AT + timedelta(hours=1),
    )
    meta = record.metadata
    assert (meta.licence_id, meta.number, meta.version, meta.type_code) == (
        LID1,
        "440300-20250000001",
        1,
        TYPE_CODE,
    )
    assert (
        meta.issuer_name,
        meta.issuer_name_en,
        meta.issuer_code,
        meta.definer_name,
        meta.division_code,
    ) == (
        "深圳市商务局",
        "Shenzhen Municipal Commerce Bureau",
        BUREAU_USCC,
        "深圳市商务局",
        "440300",
    )
    assert (meta.holder_name, meta.holder_code, meta.item_code, meta.item_name, meta.extra) == (
        "深圳市鹏城能源有限公司",
        HOLDER_USCC,
        "refined-oil-retail-qualification",
        "成品油零售经营资格审批",
        (("经营地址", "深圳市南山区深南大道9999号"),),
    )
    assert record.reserved_at == APPROVED_AT + timedelta(hours=1)
    assert record.issued_at == APPROVED_AT + timedelta(hours=1)


def test_the_seal_names_the_issuer_and_its_location(pki: DevPki) -> None:
    from pypdf import PdfReader

    store = MemoryBlobStore()
    record = issue_licence(
        approval(),
        licence_type=OIL_LICENCE,
        issuer=ISSUER,
        registry=MemoryRegistry(),
        store=store,
        signer=World(pki).signer,
        publisher=RecordingPublisher(),
        now=APPROVED_AT,
    )
    assert record.pdf is not None
    [(_, body, content_type, _)] = store.versions[record.pdf.key]
    assert content_type == "application/pdf"
    import io

    fields = PdfReader(io.BytesIO(body)).get_fields() or {}
    [sig] = [f for f in fields.values() if f.get("/FT") == "/Sig"]
    value = sig["/V"]
    assert value["/Name"] == "深圳市商务局"
    assert value["/Location"] == "深圳 Shenzhen"
    widget = sig.indirect_reference.get_object() if sig.indirect_reference else sig
    rect = [float(x) for x in widget.get("/Rect", [0, 0, 0, 0])]
    assert rect[2] > rect[0]
    assert rect[3] > rect[1]  # the visible seal box
    text = PdfReader(io.BytesIO(body)).pages[0].extract_text()
    assert f"https://onestop.example.gov.cn/verify/{LID1}" in text.replace("\n", "")


def test_holder_checks_use_the_approval_date(pki: DevPki) -> None:
    # Born 2025-06-01, after the approval (2025-03-14): refused, whatever today's date is.
    # Check by hand: 4·7 + 4·9 + 3·5 + 4·4 + 2·2 + 2·6 + 5·3 + 6·9 + 1·5 + 1·2 = 187; 187 mod 11 = 0 → "1".
    born_later = "440304202506010011"
    with pytest.raises(InvalidInput) as refused:
        issue_licence(
            approval(holder_kind=HolderKind.PERSON, holder_code=born_later, holder_name="王小明"),
            licence_type=OIL_LICENCE,
            issuer=ISSUER,
            registry=MemoryRegistry(),
            store=MemoryBlobStore(),
            signer=World(pki).signer,
            publisher=RecordingPublisher(),
            now=APPROVED_AT,
        )
    assert [r.code for r in refused.value.details] == ["resident_id_birth_date_future"]
    with pytest.raises(InvalidInput) as blank:
        issue_licence(
            approval(holder_name="  "),
            licence_type=OIL_LICENCE,
            issuer=ISSUER,
            registry=MemoryRegistry(),
            store=MemoryBlobStore(),
            signer=World(pki).signer,
            publisher=RecordingPublisher(),
            now=APPROVED_AT,
        )
    assert blank.value.as_dict() == {
        "code": "licence_holder_missing",
        "message": {
            "zh": "持证主体名称为空，无法签发证照。",
            "en": "The holder's name is empty; the licence cannot be issued.",
        },
        "details": [
            {
                "code": "licence_holder_missing",
                "zh": "请填写持证主体名称。",
                "en": "Give the holder's name.",
                "field": "holder_name",
            }
        ],
    }


def test_a_claim_without_its_record_is_an_inconsistency(pki: DevPki) -> None:
    registry = MemoryRegistry()
    registry.claims["app-0001"] = LID1  # claimed, but no record (cannot happen in one transaction)
    with pytest.raises(Conflict) as err:
        issue_licence(
            approval(),
            licence_type=OIL_LICENCE,
            issuer=ISSUER,
            registry=registry,
            store=MemoryBlobStore(),
            signer=World(pki).signer,
            publisher=RecordingPublisher(),
            now=APPROVED_AT,
        )
    assert err.value.code == "licence_registry_inconsistent"
    assert err.value.extra == {"licence_id": LID1, "application_id": "app-0001"}


def test_a_new_version_replaces_only_a_valid_licence_of_the_same_type(world: World) -> None:
    change_type = replace(OIL_LICENCE, issues="new_version")
    other_type = replace(OIL_LICENCE, type_code=TYPE_CODE[:-3] + "002", issues="new_version")
    kwargs = world.version(now=LATER)
    kwargs.pop("now")
    # The holder's valid licence is of another type: nothing to replace.
    with pytest.raises(Conflict) as err:
        issue_licence(approval("app-other"), licence_type=other_type, now=LATER, **kwargs)
    assert err.value.code == "licence_predecessor_missing"
    assert err.value.extra == {"holder_code": HOLDER_USCC, "type_code": TYPE_CODE[:-3] + "002"}
    # The same type, but suspended: nothing to replace either.
    change_status(Action.SUSPEND, world.lid, actor="r", reason="暂扣", **world.status())
    with pytest.raises(Conflict):
        issue_licence(approval("app-change"), licence_type=change_type, now=LATER, **kwargs)
    change_status(Action.REINSTATE, world.lid, actor="r", reason="恢复", **world.status())
    world.publisher.events.clear()
    new = issue_licence(approval("app-change"), licence_type=change_type, now=LATER, **kwargs)
    old = world.registry.get(LID1)
    assert old is not None
    assert old.history[-1] == AuditEntry(
        LATER,
        ISSUE_ACTOR,
        Action.SUPERSEDE,
        LicenceStatus.VALID,
        LicenceStatus.SUPERSEDED,
        f"申请 app-change 已批准 / application app-change approved（新版本 new version {LID2}）",
    )
    assert new.history[0].reason == "申请已由 reviewer-li 批准 / application approved by reviewer-li"
    assert (new.metadata.item_code, new.metadata.application_id) == (
        "refined-oil-retail-qualification",
        "app-change",
    )


class RacingStore(MemoryBlobStore):
    """Another delivery writes `winner` to the key between this one's check and its write."""

    def __init__(self, winner: tuple[bytes, dict[str, str]]) -> None:
        super().__init__()
        self.winner: tuple[bytes, dict[str, str]] | None = winner

    def put(
        self, key: str, body: bytes, content_type: str, metadata: Any = None, if_absent: bool = False
    ) -> str:
        if self.winner is not None:
            won, self.winner = self.winner, None
            super().put(key, won[0], content_type, metadata=won[1])
        return super().put(key, body, content_type, metadata=metadata, if_absent=if_absent)


def _issue_into(store: MemoryBlobStore, pki: DevPki) -> LicenceRecord:
    return issue_licence(
        approval(),
        licence_type=OIL_LICENCE,
        issuer=ISSUER,
        registry=MemoryRegistry(),
        store=store,
        signer=World(pki).signer,
        publisher=RecordingPublisher(),
        now=APPROVED_AT,
    )


def test_a_concurrent_writer_of_the_same_licence_wins_and_its_pdf_is_used(pki: DevPki) -> None:
    first = MemoryBlobStore()
    _issue_into(first, pki)
    [(_, body, _, meta)] = first.versions[pdf_key(LID1)]
    racing = RacingStore((body, meta))
    record = _issue_into(racing, pki)
    assert racing.puts == 1  # only the winner's write: the conditional write lost
    assert record.pdf is not None
    assert record.pdf.as_dict() == {
        "bucket": "licences",
        "key": pdf_key(LID1),
        "version_id": "v1",
        "sha256": hashlib.sha256(body).hexdigest(),
        "size": len(body),
    }
    assert record.seal_cert_sha256 == meta["seal-cert-sha256"]


def test_a_foreign_object_at_the_key_is_a_conflict(pki: DevPki) -> None:
    racing = RacingStore((b"%PDF-1.7 not ours", {"licence-id": "someone-else"}))
    with pytest.raises(Conflict) as err:
        _issue_into(racing, pki)
    assert err.value.code == "licence_pdf_foreign"
    assert err.value.extra == {"licence_id": LID1, "key": pdf_key(LID1)}


def test_an_interrupted_issue_reuses_its_stored_pdf_exactly(pki: DevPki) -> None:
    registry, store = MemoryRegistry(), MemoryBlobStore()
    registry.fail_complete = 1
    kwargs: dict[str, Any] = {
        "licence_type": OIL_LICENCE,
        "issuer": ISSUER,
        "registry": registry,
        "store": store,
        "signer": World(pki).signer,
        "publisher": RecordingPublisher(),
        "now": APPROVED_AT,
    }
    with pytest.raises(RuntimeError):
        issue_licence(approval(), **kwargs)
    record = issue_licence(approval(), **kwargs)
    [(version, body, _, _)] = store.versions[pdf_key(LID1)]
    assert record.pdf is not None
    assert record.pdf.as_dict() == {
        "bucket": "licences",
        "key": pdf_key(LID1),
        "version_id": version,
        "sha256": hashlib.sha256(body).hexdigest(),
        "size": len(body),
    }


def test_issuer_profile_and_licence_type_from_their_sources() -> None:
    from types import SimpleNamespace

    from onestop.catalogue import load_catalogue
    from onestop.licences.issuance import IssuerProfile, LicenceType
    from onestop.settings import Settings

    authority = load_catalogue().authority
    # The resource names Settings requires (the issuer profile reads none of them).
    names = {
        name: f"onestop-{name}"
        for name in (
            "table_name",
            "idempotency_table_name",
            "uploads_bucket",
            "materials_bucket",
            "licences_bucket",
            "event_bus_name",
        )
    }
    plain = IssuerProfile.from_settings(
        Settings(public_base_url="https://onestop.example.gov.cn/X/", **names)
    )
    assert plain == IssuerProfile(
        name_zh=authority.name_zh,
        name_en=authority.name_en,
        uscc=authority.uscc,
        division_code=authority.division_code,
        public_base_url="https://onestop.example.gov.cn/X/",
        tsa_url=None,
    )
    # A trailing slash is not doubled, whatever the path ends in.
    assert plain.verify_url("ID") == "https://onestop.example.gov.cn/X/verify/ID"
    stamped = IssuerProfile.from_settings(
        Settings(tsa_url="https://tsa.example.gov.cn/tsr", **names),
        authority=SimpleNamespace(**authority.model_dump()),
    )
    assert stamped.tsa_url == "https://tsa.example.gov.cn/tsr"
    spec = SimpleNamespace(type_code=TYPE_CODE, name_zh="证", name_en="Licence", validity_years=3)
    assert LicenceType.from_spec(spec, "定义机构") == LicenceType(
        TYPE_CODE, "证", "Licence", 3, "定义机构", "new"
    )


def test_utc_now_takes_naive_times_as_utc_and_keeps_aware_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from onestop.licences.issuance import utc_now

    naive = datetime(2025, 3, 14, 2, 30)
    assert utc_now(naive) == APPROVED_AT
    assert utc_now(naive).tzinfo is UTC
    beijing = datetime(2025, 3, 14, 10, 30, tzinfo=timezone(timedelta(hours=8)))
    assert utc_now(beijing) is beijing
    # The current time is the current time in UTC, whatever the machine's zone.
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        assert abs(utc_now() - datetime.now(UTC)) < timedelta(minutes=1)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_change_approval_carries_its_own_particulars_into_the_new_version(world: World) -> None:
    change_type = replace(OIL_LICENCE, issues="new_version")
    kwargs = world.version()
    kwargs.pop("now")
    extra = (("经营地址", "深圳市福田区福华路1号"),)
    new = issue_licence(
        approval(
            "app-change",
            item_code="refined-oil-retail-change",
            item_name="成品油零售经营批准证书变更",
            holder_name=" 深圳市鹏城新能源有限公司 ",
            extra=extra,
        ),
        licence_type=change_type,
        now=LATER,
        **kwargs,
    )
    meta = new.metadata
    assert (meta.item_code, meta.item_name, meta.holder_name, meta.extra) == (
        "refined-oil-retail-change",
        "成品油零售经营批准证书变更",
        "深圳市鹏城新能源有限公司",
        extra,
    )
    assert new.history[0].actor == ISSUE_ACTOR
    assert new.reserved_at == LATER


def test_a_suspended_licence_cannot_have_a_successor(world: World) -> None:
    change_status(Action.SUSPEND, world.lid, actor="r", reason="暂扣", **world.status())
    with pytest.raises(Conflict) as err:
        renew_licence(world.lid, validity_years=5, actor="r", reason="延续", **world.version())
    assert err.value.extra["licence_id"] == LID1


class CompletedElsewhere(MemoryRegistry):
    """A concurrent worker's completion lands first: ours is refused (the conditional write fails)."""

    def __init__(self, *, finish_first: bool) -> None:
        super().__init__()
        self.finish_first = finish_first

    def complete(self, licence_id: str, **kw: Any) -> LicenceRecord:
        if self.finish_first:
            super().complete(licence_id, **kw)
        raise Conflict("licence_state_changed", "状态已变化。", "The state changed.")


@pytest.mark.parametrize("finish_first", [True, False], ids=["completed-elsewhere", "still-issuing"])
def test_a_refused_completion_takes_the_concurrent_result_or_fails(pki: DevPki, finish_first: bool) -> None:
    registry, publisher = CompletedElsewhere(finish_first=finish_first), RecordingPublisher()
    kwargs: dict[str, Any] = {
        "licence_type": OIL_LICENCE,
        "issuer": ISSUER,
        "registry": registry,
        "store": MemoryBlobStore(),
        "signer": World(pki).signer,
        "publisher": publisher,
        "now": APPROVED_AT,
    }
    if finish_first:
        record = issue_licence(approval(), **kwargs)
        assert record.status is LicenceStatus.VALID
        assert record.licence_id == LID1
        assert [d["licence_id"] for d in publisher.of("LicenceIssued")] == [LID1]
    else:
        with pytest.raises(Conflict) as err:
            issue_licence(approval(), **kwargs)
        assert err.value.code == "licence_state_changed"
        assert publisher.events == []


def test_a_configured_timestamp_authority_is_used(pki: DevPki) -> None:
    # Nothing listens on the discard port: an issuer with a TSA URL must try it (and fail), not
    # seal without a timestamp.
    with pytest.raises(TimestampRequestError):
        issue_licence(
            approval(),
            licence_type=OIL_LICENCE,
            issuer=replace(ISSUER, tsa_url="http://127.0.0.1:9/tsr"),
            registry=MemoryRegistry(),
            store=MemoryBlobStore(),
            signer=World(pki).signer,
            publisher=RecordingPublisher(),
            now=APPROVED_AT,
        )


@pytest.mark.parametrize(
    "metadata",
    [
        {"licence-id": "1.2.156.3005.2.another", "sha256": "DIGEST", "seal-cert-sha256": "SEAL"},
        {"licence-id": LID1, "sha256": "DIGEST"},
    ],
    ids=["leftover-of-another-licence", "leftover-without-seal-digest"],
)
def test_a_leftover_pdf_is_reused_only_if_it_is_this_licence_complete(
    pki: DevPki, metadata: dict[str, str]
) -> None:
    genuine = MemoryBlobStore()
    _issue_into(genuine, pki)
    [(_, body, _, meta)] = genuine.versions[pdf_key(LID1)]
    store = MemoryBlobStore()
    real = {"DIGEST": meta["sha256"], "SEAL": meta["seal-cert-sha256"]}
    store.put(
        pdf_key(LID1), body, "application/pdf", metadata={k: real.get(v, v) for k, v in metadata.items()}
    )
    record = _issue_into(store, pki)
    assert store.puts == 2  # sealed again, not reused
    assert record.pdf is not None
    assert record.pdf.version_id == "v2"


def test_event_times_are_utc_whatever_the_machine_zone(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        new = renew_licence(world.lid, validity_years=5, actor="r", reason="延续", **world.version())
        change_status(Action.SUSPEND, new.licence_id, actor="r", reason="暂扣", **world.status())
    finally:
        monkeypatch.undo()
        time.tzset()
    assert [e["at"] for e in world.publisher.of("LicenceStatusChanged")] == [LATER_ISO, LATER_ISO]
    [issued] = world.publisher.of("LicenceIssued")
    assert issued["issued_at"] == LATER_ISO
