"""E-licence reuse (免提交): a material slot filled by an e-licence the bureau issued, not by an upload.

Where the catalogue marks a slot `elicence_replaceable` with an `elicence_type_code`, the applicant
names the licence by its identifier. The bureau's registry and the sealed PDF in the licences bucket
stand in for the upload, so nothing is OCR'd and nothing is copied:

- the licence must be of the slot's type, the applicant's own (holder code = applicant code) and
  valid now (its effective status: a valid licence past its last day is expired);
- the sealed PDF stored at its key must verify exactly as a third party's copy would (seal intact,
  chained to the bureau's root, registered, this very file, status valid);
- the material is then catalogued at once, its fields taken from the registry's metadata and its
  `normalised` pointer on the sealed PDF itself (a versioned, Object-Lock bucket).

Ports only: a licence look-up, the licences BlobStore and a PDF verifier; `onestop.http.context` wires
them to DynamoDB, S3 and the PKI published in the licences bucket.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from onestop.catalogue import MaterialRequirement
from onestop.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge, Reason, Unavailable
from onestop.identifiers.licence_id import LicenceId, parse_licence_id
from onestop.licences.models import HolderKind, LicenceMetadata, LicenceRecord, LicenceStatus
from onestop.ports import BlobStore, StoredObject

from .models import Application, Classification, Material, MaterialStatus

if TYPE_CHECKING:
    # The verifier (its trust anchors, sandbox and registry checks) is imported by the calls that
    # attach an e-licence, not by every route of the api function that imports this module.
    from onestop.licences.trust import PkiTrust
    from onestop.verification import TrustAnchors, VerificationReport, VerifyLimits
    from onestop.verification.status import RegistryLookup

FIELD = "licence_id"
LicenceLookup = Callable[[str], LicenceRecord | None]
# The verdict on a licence PDF as of a moment (`verify_pdf` with the bureau's trust and registry bound).
PdfVerifier = Callable[[bytes, datetime], "VerificationReport"]


@dataclass(frozen=True)
class ElicenceSource:
    """Where attachable e-licences come from: the registry, the bucket of sealed PDFs, the verifier."""

    lookup: LicenceLookup
    store: BlobStore
    verify: PdfVerifier
    max_pdf_bytes: int | None = None  # None: the verifier's own cap (verification.DEFAULT_LIMITS)

    def pdf_cap(self) -> int:
        from onestop.verification import DEFAULT_LIMITS

        return DEFAULT_LIMITS.max_bytes if self.max_pdf_bytes is None else self.max_pdf_bytes


@dataclass(frozen=True)
class VerifiedLicence:
    """A licence that passed every check, with the stored PDF that was verified."""

    record: LicenceRecord
    stored: StoredObject
    report: VerificationReport


def pdf_verifier(
    trust: Callable[[], TrustAnchors | PkiTrust],
    registry_lookup: RegistryLookup,
    *,
    limits: VerifyLimits | None = None,
) -> PdfVerifier:
    """The verifier a third party's `POST /verify` uses; `trust` is read per call (it may be cached).
    `limits`: the verifier's defaults (verification.DEFAULT_LIMITS) unless given."""

    def verify(data: bytes, now: datetime) -> VerificationReport:
        from onestop.verification import DEFAULT_LIMITS, verify_pdf

        chosen = DEFAULT_LIMITS if limits is None else limits
        return verify_pdf(data, trust=trust(), registry_lookup=registry_lookup, now=now, limits=chosen)

    return verify


def elicence_upload_id(licence_id: str) -> str:
    """The material's upload id, derived from the licence: attaching it again finds the same record,
    and like any upload id it is 32 hex digits, so the usual DELETE route removes it."""
    return hashlib.sha256(f"elicence:{licence_id}".encode()).hexdigest()[:32]


def required_type(requirement: MaterialRequirement) -> str:
    """The licence type code that may replace this slot, or why no e-licence of ours can."""
    if not requirement.elicence_replaceable:
        raise InvalidInput(
            "elicence_not_accepted",
            f"「{requirement.name_zh}」不能以电子证照代替，请上传文件。",
            f"'{requirement.name_en}' cannot be replaced by an e-licence; upload the file.",
            [Reason("elicence_not_accepted", "该材料须上传文件。", "This material needs a file.", "slot")],
        )
    if requirement.elicence_type_code is None:
        # e.g. the business licence: shared by the market regulator, not held in this bureau's registry.
        raise InvalidInput(
            "elicence_not_in_registry",
            f"「{requirement.name_zh}」由其他部门的电子证照共享服务提供，本局证照库中没有这类证照；请上传文件。",
            f"'{requirement.name_en}' is shared by another authority's e-licence service; this bureau's "
            "registry does not hold it, so upload the file.",
            [
                Reason(
                    "elicence_not_in_registry",
                    "本局证照库不能提供该材料。",
                    "This bureau's registry cannot supply this material.",
                    "slot",
                )
            ],
        )
    return requirement.elicence_type_code


def parse_requested(licence_id: str) -> LicenceId:
    """The identifier as typed, checked (shape and GB/T 36904 check character); 422 otherwise."""
    from onestop.verification import normalise_licence_id

    return parse_licence_id(normalise_licence_id(licence_id))


def check_type(
    requirement: MaterialRequirement,
    licence: LicenceId,
    expected: str,
    names: tuple[str, str] | None,
) -> None:
    """The identifier names a licence of the type the slot accepts (the type code is part of it)."""
    if licence.type_code == expected:
        return
    name_zh, name_en = names or (f"类型代码为 {expected} 的证照", f"a licence of type {expected}")
    raise InvalidInput(
        "elicence_wrong_type",
        f"「{requirement.name_zh}」只能以「{name_zh}」代替（证照类型代码 {expected}）；"
        f"您提供的证照类型代码为 {licence.type_code}，请核对证照标识。",
        f"'{requirement.name_en}' can be replaced only by '{name_en}' (licence type {expected}); "
        f"the licence given is of type {licence.type_code}. Check the identifier.",
        [
            Reason(
                "elicence_wrong_type",
                "证照类型与该材料不符。",
                "The licence is not of the type this material needs.",
                FIELD,
            )
        ],
        extra={"expected_type_code": expected, "type_code": licence.type_code},
    )


def check_record(
    record: LicenceRecord | None, licence_id: str, application: Application, today: date
) -> LicenceRecord:
    """Registered and visible, held by the applicant, and valid today."""
    if record is None or not record.visible:
        raise NotFound(
            "licence_not_found",
            f"证照库中没有标识为 {licence_id} 的电子证照，请核对标识。",
            f"The registry has no e-licence {licence_id}; check the identifier.",
            [Reason("licence_not_found", "未找到该电子证照。", "No such e-licence.", FIELD)],
        )
    applicant = application.applicant
    if record.holder_code.strip().upper() != applicant.code.strip().upper():
        # Say nothing about who does hold it: the identifier alone must not reveal a holder.
        raise InvalidInput(
            "elicence_not_applicants",
            f"该电子证照的持证主体不是本申请的申请人（{applicant.name}），只能使用申请人本人的电子证照。",
            f"This e-licence is not held by the applicant ({applicant.name}); only the applicant's own "
            "e-licences can be used.",
            [
                Reason(
                    "elicence_not_applicants",
                    "持证主体与申请人不一致。",
                    "The holder is not the applicant.",
                    FIELD,
                )
            ],
        )
    status = record.effective_status(today)
    if status is not LicenceStatus.VALID:
        raise _not_valid(record, status)
    return record


def _not_valid(record: LicenceRecord, status: LicenceStatus) -> Conflict:
    if status is LicenceStatus.SUPERSEDED and record.superseded_by:
        hint_zh = f"请改用新版本 {record.superseded_by}。"
        hint_en = f" Use the new version {record.superseded_by}."
    elif status is LicenceStatus.SUSPENDED:
        hint_zh, hint_en = (
            "恢复有效后方可使用；也可上传文件。",
            " It can be used again once reinstated; or upload a file.",
        )
    else:
        hint_zh, hint_en = "请改为上传文件。", " Upload a file instead."
    return Conflict(
        "elicence_not_valid",
        f"该电子证照当前状态为“{status.zh}”，不是有效证照，不能用于免提交。{hint_zh}",
        f"This e-licence is {status.en}, not valid, so it cannot replace the material.{hint_en}",
        [
            Reason(
                f"licence_{status.en.split()[0]}",
                f"证照状态：{status.zh}。",
                f"Licence status: {status.en}.",
                FIELD,
            )
        ],
        extra={
            "licence_id": record.licence_id,
            "licence_status": status.value,
            **({"superseded_by": record.superseded_by} if record.superseded_by else {}),
        },
    )


def _file_missing(licence_id: str) -> Conflict:
    return Conflict(
        "elicence_file_missing",
        "证照库中找不到该电子证照的签章文件，暂时不能用于免提交；请联系本局或改为上传文件。",
        "The sealed file of this e-licence cannot be found, so it cannot be used now; contact the "
        "bureau or upload a file instead.",
        extra={"licence_id": licence_id},
    )


def verify_stored(source: ElicenceSource, record: LicenceRecord, now: datetime) -> VerifiedLicence:
    """Verify the sealed PDF stored for `record` as a third party would; refuse unless all checks pass."""
    if record.pdf is None:
        raise _file_missing(record.licence_id)
    # The object at the licence's key as it is now, not the version the registry names: issue writes
    # each key once, so a newer version there means someone wrote to the bucket, and that must show
    # as a failed verification instead of being read past.
    too_large = _verification_failed(
        [
            Reason(
                "file_too_large",
                "证照库中的文件过大，不是签发的原件。",
                "The stored file is too large to be the issued original.",
                FIELD,
            )
        ]
    )
    from onestop.verification import Verdict

    cap = source.pdf_cap()
    try:
        stored = source.store.get(record.pdf.key, max_bytes=cap)
    except NotFound:
        raise _file_missing(record.licence_id) from None
    except PayloadTooLarge:
        raise too_large from None
    if len(stored.body) > cap:  # whatever the store enforced
        raise too_large
    report = source.verify(stored.body, now)
    failed = [c for c in report.checks if not c.passed]
    if failed and all(c.verdict is Verdict.UNKNOWN for c in failed):
        raise Unavailable(
            "elicence_verification_unavailable",
            "暂时无法完成电子证照核验（" + "；".join(c.reason_zh for c in failed) + "），请稍后再试。",
            "The e-licence cannot be verified right now (" + " ".join(c.reason_en for c in failed) + "); "
            "try again later.",
        )
    if failed:
        raise _verification_failed(
            [
                Reason(c.code, f"{c.check.zh}：{c.reason_zh}", f"{c.check.en}: {c.reason_en}", FIELD)
                for c in failed
            ]
        )
    if report.licence.get("licence_id") != record.licence_id:
        # A genuine licence, but another one: the file stored under this key is not this licence's.
        raise _verification_failed(
            [
                Reason(
                    "licence_file_mismatch",
                    "证照库中存放的文件属于另一个电子证照。",
                    "The file stored for this e-licence belongs to another licence.",
                    FIELD,
                )
            ]
        )
    return VerifiedLicence(record=record, stored=stored, report=report)


def _verification_failed(reasons: list[Reason]) -> InvalidInput:
    return InvalidInput(
        "elicence_verification_failed",
        "电子证照核验未通过，不能用于免提交；请联系本局或改为上传文件。",
        "The e-licence did not pass verification, so it cannot replace the material; contact the "
        "bureau or upload a file instead.",
        reasons,
    )


def licence_fields(meta: LicenceMetadata) -> dict[str, str]:
    """The extracted fields of the material, read from the registry instead of by OCR."""
    fields: dict[str, str] = {}
    if meta.holder_kind is HolderKind.ENTERPRISE:
        fields |= {"enterprise_name": meta.holder_name, "uscc": meta.holder_code}
    else:
        fields |= {"person_name": meta.holder_name, "id_number": meta.holder_code}
    return fields | {
        "issuing_authority": meta.issuer_name,
        "valid_from": meta.valid_from.isoformat(),
        "valid_until": meta.valid_until.isoformat() if meta.valid_until else "长期",  # as ingest reads it
        "licence_number": meta.number,
        "licence_id": meta.licence_id,
    }


def catalogued_material(
    application: Application,
    requirement: MaterialRequirement,
    verified: VerifiedLicence,
    *,
    bucket: str,
    upload_id: str,
    now: datetime,
) -> Material:
    """The material record: catalogued, sourced from the e-licence, pointing at the sealed PDF."""
    meta = verified.record.metadata
    normalised: dict[str, Any] = {
        "bucket": bucket,
        "key": verified.stored.key,
        "version_id": verified.stored.version_id,
        "sha256": verified.report.sha256,
    }
    return Material(
        application_id=application.id,
        slot=requirement.slot,
        upload_id=upload_id,
        status=MaterialStatus.CATALOGUED,
        source="elicence",
        classification=Classification(
            material_type=requirement.material_type,
            confidence=1.0,
            reason_zh=f"由本局签发的电子证照「{meta.name_zh}」（{meta.licence_id}）核验通过："
            "印章完整、签发机关可信、登记状态有效。",
            reason_en=f"e-licence issued by the bureau, verified: '{meta.name_en}' ({meta.licence_id}); "
            "seal intact, issuer trusted, registered and valid.",
        ),
        fields=licence_fields(meta),
        normalised=normalised,
        created_at=now,
        updated_at=now,
    )
