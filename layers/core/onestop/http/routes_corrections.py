"""Reviewer route: correct a value read from a material, or its type, with a reason (field-level audit)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, ConfigDict, Field

from onestop.applications.corrections import MATERIAL_TYPE, MAX_VALUE, CorrectionInput
from onestop.applications.identity import Principal

from .context import BEARER, application_service, current_principal
from .inputs import Paragraph, Text
from .responses import responses
from .schemas import APPLICATION_ID, FieldCorrectionOut, MaterialOut

router = Router()

Caller = Annotated[Principal, Depends(current_principal)]
FIELD = r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$"


class CorrectionIn(BaseModel):
    """What the document says, in the reviewer's words, and why the reading was wrong."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    field: str = Field(
        min_length=1,
        max_length=64,
        pattern=FIELD,
        description=f'a field of the material type (e.g. "uscc"), or "{MATERIAL_TYPE}" to set the type',
    )
    value: Text = Field(min_length=1, max_length=MAX_VALUE, description="the value on the document")
    reason: Paragraph = Field(min_length=1, max_length=1000, description="why the reading is corrected")


class CorrectionOut(BaseModel):
    """The material as it now reads; `applied` is false when the same correction was already made."""

    model_config = ConfigDict(defer_build=True)  # built with its first answer, not at cold start
    applied: bool
    correction: FieldCorrectionOut | None = None
    application_version: int
    material: MaterialOut


@router.post(
    "/applications/<application_id>/materials/<upload_id>/corrections",
    summary="Correct a value read from a material, or its type (reviewer)",
    description=(
        "The value is checked with the catalogue's validator for the field; an unknown field is a 400. "
        "The document is never changed: the correction is recorded beside it (who, when, old → new, "
        "why), the problems on that field are settled, and the material is catalogued once none is "
        "left. Only while the application is submitted or accepted, never on one's own or one's "
        "party's application. The same correction again changes nothing (`applied: false`)."
    ),
    tags=["review"],
    security=BEARER,
    responses=responses(200, 403, 404, 409, 422, signed_in=True),
)
def correct_material(
    application_id: Annotated[
        str, Path(pattern=APPLICATION_ID, description="application id (32 hex digits)")
    ],
    upload_id: Annotated[str, Path(pattern=APPLICATION_ID, description="the material's upload id")],
    body: CorrectionIn,
    caller: Caller,
) -> CorrectionOut:
    result = application_service().correct(
        caller, application_id, upload_id, CorrectionInput(body.field, body.value, body.reason)
    )
    c = result.correction
    return CorrectionOut(
        applied=result.applied,
        correction=FieldCorrectionOut.model_validate(c.model_dump()) if c is not None else None,
        application_version=result.application.version,
        material=MaterialOut.of(result.material, None, None),
    )
