"""Shared helpers for the licence tests (no tests of its own): in-memory ports that keep the same
conditional semantics as the DynamoDB/S3 adapters, sample data, and the two independent signature
checks (pyHanko's validator and poppler's pdfsig with an NSS database)."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from onestop.errors import NotFound
from onestop.identifiers.licence_id import make_licence_id
from onestop.identifiers.resident_id import id_check_char
from onestop.identifiers.uscc import compose_uscc
from onestop.licences.issuance import ApprovalFacts, IssuerProfile, LicenceType
from onestop.licences.models import (
    Action,
    AuditEntry,
    HolderKind,
    LicenceMetadata,
    LicenceRecord,
    LicenceStatus,
    StoredPdf,
    illegal_transition,
)
from onestop.licences.pki import BureauIdentity, cert_pem
from onestop.licences.registry import AlreadyReserved
from onestop.ports import ObjectHead, PresignedPost, StoredObject
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

BUREAU_USCC = compose_uscc("11440300", "MB2D0315")
DEFINER_USCC = compose_uscc("11440300", "MB2D0315")
TYPE_CODE = f"{DEFINER_USCC}001"
HOLDER_USCC = compose_uscc("91440300", "MA5F0001")
PERSON_ID = "44030419900101123" + id_check_char("44030419900101123")
BUREAU = BureauIdentity("深圳市商务局", "Shenzhen Municipal Commerce Bureau", BUREAU_USCC)
ISSUER = IssuerProfile(
    name_zh=BUREAU.name_zh,
    name_en=BUREAU.name_en,
    uscc=BUREAU_USCC,
    division_code="440300",
    public_base_url="https://onestop.example.gov.cn",
    location="深圳 Shenzhen",
)
OIL_LICENCE = LicenceType(
    type_code=TYPE_CODE,
    name_zh="成品油零售经营批准证书",
    name_en="Approval Certificate for Retail Sale of Refined Oil Products",
    validity_years=5,
    definer_name="深圳市商务局",
)
APPROVED_AT = datetime(2025, 3, 14, 2, 30, tzinfo=UTC)


def sample_metadata(**changes: Any) -> LicenceMetadata:
    """A valid refined-oil licence's metadata (GB/T 36903 fields); `changes` override any field."""
    fields: dict[str, Any] = {
        "licence_id": make_licence_id(TYPE_CODE, BUREAU_USCC, "20250000001"),
        "number": "440300-20250000001",
        "name_zh": "成品油零售经营批准证书",
        "name_en": "Approval Certificate for Retail Sale of Refined Oil Products",
        "type_code": TYPE_CODE,
        "version": 1,
        "issuer_name": BUREAU.name_zh,
        "issuer_name_en": BUREAU.name_en,
        "issuer_code": BUREAU_USCC,
        "definer_name": BUREAU.name_zh,
        "division_code": "440300",
        "issue_date": date(2025, 3, 14),
        "valid_from": date(2025, 3, 14),
        "valid_until": date(2030, 3, 13),
        "holder_name": "深圳市鹏城能源有限公司",
        "holder_code": HOLDER_USCC,
        "holder_kind": HolderKind.ENTERPRISE,
        "item_code": "refined-oil-retail-qualification",
        "item_name": "成品油零售经营资格审批",
        "application_id": "app-1",
    }
    fields.update(changes)
    return LicenceMetadata(**fields)


def approval(application_id: str = "app-0001", **changes: Any) -> ApprovalFacts:
    facts = ApprovalFacts(
        application_id=application_id,
        item_code="refined-oil-retail-qualification",
        item_name="成品油零售经营资格审批",
        holder_kind=HolderKind.ENTERPRISE,
        holder_name="深圳市鹏城能源有限公司",
        holder_code=HOLDER_USCC,
        approved_at=APPROVED_AT,
        approved_by="reviewer-li",
        extra=(("经营地址", "深圳市南山区深南大道9999号"),),
    )
    return replace(facts, **changes)


# --- in-memory ports ---------------------------------------------------------------------------


class MemoryBlobStore:
    """A versioned bucket in memory (every put makes a new version, like the licences bucket)."""

    def __init__(self, name: str = "licences") -> None:
        self.name = name
        self.versions: dict[str, list[tuple[str, bytes, str, dict[str, str]]]] = {}
        self.puts = 0

    def put(
        self,
        key: str,
        body: bytes,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        if_absent: bool = False,
    ) -> str:
        if if_absent and self.versions.get(key):
            from onestop.errors import ObjectExists

            raise ObjectExists("object_exists", "该位置已有文件。", "A file already exists at this location.")
        self.puts += 1
        version = f"v{self.puts}"
        self.versions.setdefault(key, []).append((version, bytes(body), content_type, dict(metadata or {})))
        return version

    def _find(self, key: str, version_id: str | None) -> tuple[str, bytes, str, dict[str, str]] | None:
        versions = self.versions.get(key)
        if not versions:
            return None
        if version_id is None:
            return versions[-1]
        return next((v for v in versions if v[0] == version_id), None)

    def get(self, key: str, version_id: str | None = None, max_bytes: int | None = None) -> StoredObject:
        found = self._find(key, version_id)
        if found is None:
            raise NotFound("object_not_found", "文件不存在。", "The file does not exist.")
        version, body, ctype, meta = found
        return StoredObject(key, body, ctype, version, hashlib.md5(body).hexdigest(), meta)

    def head(self, key: str, version_id: str | None = None) -> ObjectHead | None:
        found = self._find(key, version_id)
        if found is None:
            return None
        version, body, ctype, meta = found
        return ObjectHead(key, len(body), ctype, version, hashlib.md5(body).hexdigest(), meta)

    def presign_post(self, *args: Any, **kwargs: Any) -> PresignedPost:
        raise NotImplementedError

    def presign_get(
        self, key: str, expires_in: int, version_id: str | None = None, download_as: str | None = None
    ) -> str:
        return f"memory://{self.name}/{key}?versionId={version_id}"


@dataclass
class RecordingPublisher:
    """Collects published events; `fail_next` makes the next publish raise (a crash stand-in)."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail_next: int = 0

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("event bus down")
        self.events.append((detail_type, dict(detail)))

    def of(self, detail_type: str) -> list[dict[str, Any]]:
        return [d for t, d in self.events if t == detail_type]


class MemoryRegistry:
    """The LicenceRegistry protocol in memory, with the same conditional behaviour as DynamoDB."""

    def __init__(self) -> None:
        self.records: dict[str, LicenceRecord] = {}
        self.claims: dict[str, str] = {}
        self.counters: dict[int, int] = {}
        self.index_counters: dict[str, int] = {}
        self.index_claims: dict[tuple[str, int], str] = {}
        self.audit: list[tuple[str, AuditEntry]] = []
        self.fail_complete = 0

    def next_serial(self, year: int) -> int:
        self.counters[year] = self.counters.get(year, 0) + 1
        return self.counters[year]

    def next_status_index(self, list_name: str) -> int:
        self.index_counters[list_name] = self.index_counters.get(list_name, 0) + 1
        return self.index_counters[list_name] - 1

    def status_list_names(self) -> list[str]:
        return sorted(self.index_counters)

    def status_entries(self, list_name: str) -> dict[int, LicenceStatus]:
        out: dict[int, LicenceStatus] = {}
        for (name, index), licence_id in self.index_claims.items():
            record = self.records.get(licence_id)
            if name == list_name and record is not None and record.status_index == index:
                out[index] = record.status
        return out

    def licence_for_application(self, application_id: str) -> str | None:
        return self.claims.get(application_id)

    def reserve(self, record: LicenceRecord, *, guard_application: bool) -> None:
        if guard_application and record.application_id in self.claims:
            raise AlreadyReserved(self.claims[record.application_id])
        if record.licence_id in self.records:
            raise AlreadyReserved(record.licence_id)
        claim = (record.metadata.type_code, record.status_index)
        if record.status_index is not None and claim in self.index_claims:
            raise RuntimeError(f"status index {claim} already held")  # a conditional-put failure
        if record.status_index is not None:
            self.index_claims[(record.metadata.type_code, record.status_index)] = record.licence_id
        if guard_application:
            self.claims[record.application_id] = record.licence_id
        self.records[record.licence_id] = record
        self.audit.extend((record.licence_id, e) for e in record.history)

    def get(self, licence_id: str) -> LicenceRecord | None:
        return self.records.get(licence_id)

    def complete(
        self,
        licence_id: str,
        *,
        pdf: StoredPdf,
        seal_cert_sha256: str,
        issued_at: datetime,
        entry: AuditEntry,
        supersede: tuple[str, AuditEntry] | None = None,
    ) -> LicenceRecord:
        if self.fail_complete:
            self.fail_complete -= 1
            raise RuntimeError("registry unavailable")
        record = self.records[licence_id]
        if record.status is not LicenceStatus.ISSUING:
            raise illegal_transition(licence_id, Action.ISSUE, record.status)
        if supersede is not None:
            old = self.records[supersede[0]]
            if old.status is not LicenceStatus.VALID:
                raise illegal_transition(old.licence_id, Action.SUPERSEDE, old.status)
            self.records[old.licence_id] = old.with_entry(
                supersede[1], status=LicenceStatus.SUPERSEDED, superseded_by=licence_id
            )
            self.audit.append((old.licence_id, supersede[1]))
        done = record.with_entry(
            entry,
            status=LicenceStatus.VALID,
            pdf=pdf,
            seal_cert_sha256=seal_cert_sha256,
            issued_at=issued_at,
            event_published=False,
        )
        self.records[licence_id] = done
        self.audit.append((licence_id, entry))
        return done

    def transition(
        self, licence_id: str, *, allowed_from: frozenset[LicenceStatus], entry: AuditEntry
    ) -> LicenceRecord:
        record = self.records.get(licence_id)
        if record is None or not record.visible:
            raise NotFound("licence_not_found", "未找到该电子证照。", "No such e-licence.")
        if record.status not in allowed_from:
            raise illegal_transition(licence_id, entry.action, record.status)
        done = record.with_entry(entry, status=entry.to_status)
        self.records[licence_id] = done
        self.audit.append((licence_id, entry))
        return done

    def mark_published(self, licence_id: str) -> None:
        self.records[licence_id] = replace(self.records[licence_id], event_published=True)

    def by_holder(self, holder_code: str) -> list[LicenceRecord]:
        out = [r for r in self.records.values() if r.holder_code == holder_code and r.visible]
        return sorted(out, key=lambda r: r.issued_at or r.reserved_at, reverse=True)


# --- signature checks ----------------------------------------------------------------------------


def pyhanko_status(pdf: bytes, roots: list[Any], *, moment: datetime | None = None) -> PdfSignatureStatus:
    """Validate the (single) signature of `pdf` with pyHanko against `roots` (asn1crypto certs)."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    sigs = reader.embedded_signatures
    assert len(sigs) == 1, f"expected one signature, found {len(sigs)}"
    context = ValidationContext(trust_roots=roots, allow_fetching=False, moment=moment)
    return validate_pdf_signature(sigs[0], context)


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: apt-get install -y poppler-utils libnss3-tools")
    return path


def pdfsig(pdf: bytes, root_pems: list[bytes] | None = None) -> str:
    """poppler's pdfsig report; with `root_pems`, an NSS database trusting exactly those roots."""
    require_tool("pdfsig")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "licence.pdf"
        path.write_bytes(pdf)
        nss = Path(tmp) / "nss"
        nss.mkdir()
        require_tool("certutil")
        subprocess.run(
            ["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True, capture_output=True
        )
        for i, pem in enumerate(root_pems or []):
            root = Path(tmp) / f"root{i}.pem"
            root.write_bytes(pem)
            subprocess.run(
                ["certutil", "-A", "-d", f"sql:{nss}", "-n", f"root{i}", "-t", "CT,C,C", "-i", str(root)],
                check=True,
                capture_output=True,
            )
        done = subprocess.run(
            ["pdfsig", "-nssdir", f"sql:{nss}", str(path)], capture_output=True, text=True, check=False
        )
        return done.stdout + done.stderr


def assert_pdfsig_trusted(pdf: bytes, root_pem: bytes | list[bytes]) -> None:
    report = pdfsig(pdf, root_pem if isinstance(root_pem, list) else [root_pem])
    assert "Signature is Valid." in report, report
    assert "Total document signed" in report, report
    assert "Not total document signed" not in report, report
    assert "Certificate is Trusted." in report, report


def assert_pyhanko_trusted(status: PdfSignatureStatus) -> None:
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    assert status.intact, status.pretty_print_details()
    assert status.valid, status.pretty_print_details()
    assert status.trusted, status.pretty_print_details()
    assert status.coverage is SignatureCoverageLevel.ENTIRE_FILE
    assert status.docmdp_ok
    assert status.bottom_line, status.pretty_print_details()


def root_pem_of(cert: Any) -> bytes:
    return cert_pem(cert)
