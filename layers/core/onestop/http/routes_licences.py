"""Licence routes: the holder's and reviewers' view with a short-lived download, and the lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, ConfigDict, Field

from onestop.applications.identity import Principal
from onestop.aws.composition import licence_office, licences_store
from onestop.licences.models import Action, LicenceRecord, china_date
from onestop.settings import get_settings

from .context import BEARER, application_service, current_principal
from .inputs import Paragraph, Text, WholeNumber
from .responses import responses

router = Router()

Caller = Annotated[Principal, Depends(current_principal)]
LICENCE_ID = r"^1\.2\.156\.3005\.2\.[0-9A-Za-z.]{20,120}$"


class LicenceOut(BaseModel):
    """A licence version as its holder or a reviewer sees it."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    licence_id: str
    status: str
    status_zh: str
    status_en: str
    metadata: dict[str, Any]
    issued_at: str | None = None
    pdf_sha256: str | None = None
    seal_cert_sha256: str | None = None
    supersedes: str | None = None
    superseded_by: str | None = None
    download_url: str | None = Field(default=None, description="short-lived link to the sealed PDF")
    history: list[dict[str, Any]] = Field(default_factory=list)
    requested: str | None = Field(default=None, description="renew/change asked of the issue function")
    evidence: list[dict[str, Any]] = Field(
        default_factory=list, description="the materials (object version, SHA-256) it was issued on"
    )


class LifecycleIn(BaseModel):
    """A lifecycle action with its reason (recorded in the audit trail)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    action: Literal["suspend", "reinstate", "revoke", "cancel", "withdraw", "renew", "change"]
    reason: Paragraph = Field(
        min_length=2, max_length=1000, description="why, in words the holder can act on"
    )
    reason_code: Text | None = Field(default=None, max_length=100)
    validity_years: WholeNumber | None = Field(
        default=None, ge=1, le=30, description="renew: years of the new version"
    )
    holder_name: Text | None = Field(
        default=None, min_length=1, max_length=200, description="change: new name"
    )


def _view(record: LicenceRecord, caller: Principal) -> LicenceOut:
    settings = get_settings()
    out = LicenceOut(**record.public_view(china_date(datetime.now(UTC))))
    meta = record.metadata
    # The sealed original goes only to reviewers and accounts bound to its holder.
    if record.pdf is not None and (
        caller.is_reviewer or caller.acts_for(meta.holder_kind.value, meta.holder_code)
    ):
        out.download_url = licences_store().presign_get(
            record.pdf.key,
            settings.download_url_ttl_seconds,
            version_id=record.pdf.version_id,
            download_as=f"licence-{record.metadata.number}.pdf",
        )
    out.history = [entry.as_dict() for entry in record.history]
    out.evidence = [e.as_dict() for e in record.evidence]
    return out


@router.get(
    "/licences/<licence_id>",
    summary="A licence: status, face data and a short-lived link to the sealed PDF",
    description=(
        "For reviewers, accounts bound to its holder and the owner of its application; 404 for others. "
        "`download_url` only for reviewers and accounts bound to the holder."
    ),
    tags=["licences"],
    security=BEARER,
    responses=responses(200, 404, 422, signed_in=True),
)
def get_licence(
    licence_id: Annotated[str, Path(pattern=LICENCE_ID, description="GB/T 36904 licence identifier")],
    caller: Caller,
) -> LicenceOut:
    caller.require_authenticated()
    record = licence_office().get(licence_id)
    meta = record.metadata
    if not caller.is_reviewer and not caller.acts_for(meta.holder_kind.value, meta.holder_code):
        # Otherwise only the application's owner; the same 404 hides everyone else's.
        application_service().get(caller, record.application_id)
    return _view(record, caller)


@router.post(
    "/licences/<licence_id>/lifecycle",
    summary="Suspend 暂扣, reinstate, revoke 撤销, cancel 注销, withdraw 吊销, renew 延续 or change 变更",
    description=(
        "Admins only (the admin group: licence lifecycle), and not on a licence whose application they "
        "opened or whose holder they are bound to (403). An action the status does not allow is a 409 "
        "with that status. renew and change are sealed by the issue function (which alone may use the "
        "seal key): the answer is the licence as it stands with `requested` set; the new version appears "
        "as `superseded_by`."
    ),
    tags=["licences"],
    security=BEARER,
    responses=responses(200, 403, 404, 409, 422, signed_in=True),
)
def change_status(
    licence_id: Annotated[str, Path(pattern=LICENCE_ID, description="GB/T 36904 licence identifier")],
    body: LifecycleIn,
    caller: Caller,
) -> LicenceOut:
    office = licence_office()
    caller = application_service().require_may_change_licence(caller, office.get(licence_id))
    if body.action in ("renew", "change"):
        # Sealed by the issue function (which alone may use the seal key): asked with an event.
        record = office.request_new_version(
            licence_id,
            action=body.action,
            actor=caller.label,
            actor_role=caller.primary_role,  # admin (duties.require_may_change_licence)
            reason=body.reason,
            validity_years=body.validity_years,
            holder_name=body.holder_name,
        )
        out = _view(record, caller)
        out.requested = body.action
        return out
    record = office.change_status(
        Action(body.action),
        licence_id,
        actor=caller.label,
        reason=body.reason,
        reason_code=body.reason_code,
        actor_role=caller.primary_role,  # admin (duties.require_may_change_licence)
    )
    return _view(record, caller)
