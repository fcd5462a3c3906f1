"""The OpenAPI document of everything the API serves, as a client meets it.

`/openapi.json` is the api function's resolver's document, completed with what a client meets that
the resolver does not know about:

- the verify function's routes (`POST /verify`, `GET /verify/{licence_id}`, `GET /trust`,
  `GET /status-lists/{type}`: same domain, another function), with their reports' schemas;
- the answers API Gateway, CloudFront and WAF give themselves, on the operations where they can occur:
  401 `{"message":"Unauthorized"}` from the JWT authorizer and 403 `{"message":"Forbidden"}` on every
  signed-in route; 413 `{"message":"Request Entity Too Large"}` (the 10 MB quota) on every route that
  takes a body; 429 on every route (WAF's rate-based rules answer with the API's error shape,
  `rate_limited`, the stage's route throttles with `{"message":"Too Many Requests"}`); 500 and 503
  `{"message": …}` when the integration fails or the function is throttled; 404 `{"message":"Not
  Found"}` on routes with path parameters (values with characters no route takes, e.g. a line
  break). Each is declared as "the API's error body or the gateway's message", since either may come
  back;
- links between operations (an application's id from its creation to the routes that take it, an
  upload's id from its ticket to its removal), so that a client and schemathesis' stateful tests can
  follow them.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from .schemas import ErrorResponse, LocalisedText

REF = "#/components/schemas/{model}"
ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
GATEWAY_REF = {"$ref": "#/components/schemas/GatewayMessage"}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class GatewayMessage(_Out):
    """An answer API Gateway, CloudFront or WAF gives itself, before the function is reached."""

    message: str = Field(description="e.g. Unauthorized, Forbidden, Too Many Requests")


# ----------------------------------------------------------------------------- the verify function


class CheckOut(_Out):
    """One check of a verification (integrity, issuer, status, identifier …) and its verdict."""

    check: str
    name: LocalisedText
    verdict: Literal["pass", "fail", "unknown"]
    code: str
    reason_zh: str
    reason_en: str
    details: dict[str, Any] = Field(default_factory=dict)


class FileOut(_Out):
    sha256: str | None = None
    size: int


class PdfReport(_Out):
    """The verdict on a licence PDF: valid only when every check passed."""

    valid: bool
    summary: LocalisedText
    checks: list[CheckOut]
    licence: dict[str, Any] = Field(description="the licence's face data as read from the file")
    file: FileOut
    checked_at: datetime


class NumberReport(_Out):
    """The verdict on a licence number: the identifier's check and the registry's status."""

    licence_id: str
    valid: bool
    summary: LocalisedText
    checks: list[CheckOut]
    licence: dict[str, Any] | None = Field(description="public face data; holders masked")
    registry: dict[str, Any] | None
    checked_at: datetime


class TickOut(_Out):
    """One tick of a picture's verdict: passed (true), failed (false) or could not be checked (null)."""

    name: Literal["integrity", "issuer", "status", "registry"]
    ok: bool | None
    reason_zh: str
    reason_en: str


class PhotoReport(_Out):
    """The verdict on a photo or screenshot of a printed licence, from the QR code read in it."""

    kind: Literal["photo"]
    valid: bool
    verdict: str = Field(
        description="valid | invalid | suspended | revoked | superseded | expired | status_unknown | "
        "unknown_issuer (a signed credential); url_only (a link on the bureau's site: nothing signed), "
        "off_domain (a link elsewhere: a forgery warning naming the host), no_qr, not_a_licence"
    )
    source: Literal["credential", "url", "none", "other"]
    summary: LocalisedText
    ticks: list[TickOut]
    credential: dict[str, Any] | None = Field(description="what the signed credential states")
    licence: dict[str, Any] | None = Field(description="a URL-only QR: the registry's face, holders masked")
    registry: dict[str, Any] | None
    url: str | None
    host: str | None = Field(description="the host a URL-only QR code leads to (punycode)")
    qr_codes: list[str]
    image: dict[str, Any] | None = Field(description="size, format, decoding pass and time")
    checked_at: datetime | None


class TrustDocument(_Out):
    """The roots, seal certificates and time-stamping anchors verifiers trust; once published, signed
    (`jws`: a compact JWS over the manifest of certificate hashes, licences/trust_list.py)."""

    roots: list[dict[str, Any]]
    seals: list[dict[str, Any]]
    current_seal: str | None = None
    tsa: list[dict[str, Any]]
    generated_at: datetime | None = None
    issued_at: datetime | None = None
    valid_until: datetime | None = None
    status_lists: list[str] | None = Field(default=None, description="the licence types with a status list")
    status_list_keys: list[str] | None = Field(default=None, description="kids that sign status lists")
    verify_base_url: str | None = None
    jws: str | None = Field(default=None, description="the signature; absent before the first publication")


class StatusListDocument(_Out):
    """A licence type's signed status list (W3C Bitstring Status List layout, 2 bits an index)."""

    type: Literal["BitstringStatusList"]
    list: str = Field(description="the licence type code")
    issued_at: datetime
    valid_until: datetime
    encodedList: str = Field(description="multibase base64url of the gzip bitstring")
    jws: str = Field(description="compact JWS over the list's name, window and the encodedList's SHA-256")


def _json(ref: dict[str, Any] | str) -> dict[str, Any]:
    schema = {"$ref": REF.format(model=ref)} if isinstance(ref, str) else ref
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    descriptions = {
        404: "No such route",
        413: "Over the size limit",
        415: "Neither a PDF nor a JPEG, PNG or WebP picture (HEIC is refused with what to do instead)",
        422: "Not a PDF or a readable picture (a decompression bomb: over 50 MP of JPEG, 16 MP of PNG "
        "or WebP), or a malformed licence number",
        503: "The trust anchors cannot be read now; retry later",
    }
    return {str(c): {"description": descriptions[c], **_json(ERROR_REF)} for c in codes}


_PDF_BODY = {"type": "string", "format": "binary"}

VERIFY_PATHS: dict[str, dict[str, Any]] = {
    "/verify": {
        "post": {
            "tags": ["verify"],
            "summary": "Verify a licence PDF (seal, issuer, registry status), or a photo or screenshot of "
            "the printed licence (its QR code); no sign-in",
            "operationId": "verify_document_verify_post",
            "requestBody": {
                "required": True,
                "description": "A licence PDF, or a picture of the printed licence (JPEG, PNG, WebP; "
                "octet-stream is read by its first bytes), each at most 4 MB. A picture's declared size "
                "is checked before decoding: at most 50 megapixels of JPEG, 16 of PNG or WebP.",
                "content": {
                    "application/pdf": {"schema": _PDF_BODY},
                    "application/octet-stream": {"schema": _PDF_BODY},
                    "image/jpeg": {"schema": _PDF_BODY},
                    "image/png": {"schema": _PDF_BODY},
                    "image/webp": {"schema": _PDF_BODY},
                },
            },
            "responses": {
                "200": {
                    "description": "A report, whatever the verdict: PdfReport for a PDF, PhotoReport "
                    "(kind photo) for a picture",
                    **_json(
                        {
                            "oneOf": [
                                {"$ref": REF.format(model="PdfReport")},
                                {"$ref": REF.format(model="PhotoReport")},
                            ]
                        }
                    ),
                },
                **_errors(413, 415, 422, 503),
            },
        }
    },
    "/verify/{licence_id}": {
        "get": {
            "tags": ["verify"],
            "summary": "Look a licence number up in the registry; a browser is sent to the verification page",
            "operationId": "verify_number_verify__licence_id__get",
            "parameters": [
                {
                    "name": "licence_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1},
                    "description": "GB/T 36904 e-licence identifier",
                },
                {
                    "name": "holder",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "the holder's name or code as printed: checked, and on a match "
                    "the full face is shown",
                },
            ],
            "responses": {
                "200": {"description": "A report, whatever the verdict", **_json("NumberReport")},
                "302": {
                    "description": "Accept: text/html (a scanned QR code): to the verification page",
                    "headers": {"Location": {"schema": {"type": "string"}}},
                },
                **_errors(422, 503),
            },
        }
    },
    "/trust": {
        "get": {
            "tags": ["verify"],
            "summary": "The trust anchors (roots, seals, TSA) for offline verification",
            "operationId": "trust_document_trust_get",
            "responses": {
                "200": {"description": "The trust document", **_json("TrustDocument")},
                **_errors(503),
            },
        }
    },
    "/status-lists/{type}": {
        "get": {
            "tags": ["verify"],
            "summary": "A licence type's signed status list, for checking QR credentials offline",
            "operationId": "status_list_document_status_lists__type__get",
            "parameters": [
                {
                    "name": "type",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1},
                    "description": "the 21-character licence type code (a credential's status list)",
                }
            ],
            "responses": {
                "200": {"description": "The signed status list", **_json("StatusListDocument")},
                "404": {"description": "No status list is published for this type", **_json(ERROR_REF)},
                **_errors(422),
            },
        }
    },
}
VERIFY_MODELS: tuple[type[BaseModel], ...] = (
    GatewayMessage,
    PdfReport,
    PhotoReport,
    NumberReport,
    TrustDocument,
    StatusListDocument,
)

# ----------------------------------------------------------------------------- gateway answers

_GATEWAY = {
    404: (
        "Not found: the function's (no such thing, or not yours), or the gateway's "
        '{"message":"Not Found"} when the path, with the values put in, matches no route'
    ),
    401: 'Not signed in: the function\'s error, or the JWT authorizer\'s {"message":"Unauthorized"}',
    403: 'Not allowed: the function\'s error, or the gateway\'s {"message":"Forbidden"}',
    413: (
        "Body too large: the function's limit, or API Gateway's 10 MB "
        '{"message":"Request Entity Too Large"}'
    ),
    429: (
        "Too many requests: a quota (the function's error, Retry-After), a WAF rate rule "
        '(code rate_limited, Retry-After) or a route throttle ({"message":"Too Many Requests"})'
    ),
    500: "Server error: the function's (quote `reference`), or the gateway's when the integration failed",
    503: "Unavailable: a dependency (retry later), or the function throttled",
}


def _either() -> dict[str, Any]:
    return {"application/json": {"schema": {"anyOf": [copy.deepcopy(ERROR_REF), copy.deepcopy(GATEWAY_REF)]}}}


def answer_validation_in_the_error_shape(operation: dict[str, Any]) -> None:
    """Powertools declares its own `HTTPValidationError` for a 422 a route did not list; the error
    handlers answer every validation failure in the one error shape, so the document says that."""
    entry = operation.get("responses", {}).get("422")
    if entry is None or "HTTPValidationError" not in json.dumps(entry):
        return
    entry["description"] = "The request is not valid: one detail per field (zh/en)"
    entry["content"] = {"application/json": {"schema": copy.deepcopy(ERROR_REF)}}


def add_gateway_answers(operation: dict[str, Any]) -> None:
    """Declare the gateway's own answers where they can occur on `operation` (in place)."""
    codes = [429, 500, 503]
    if operation.get("security"):
        codes += [401, 403]
    if "requestBody" in operation:
        codes.append(413)
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        codes.append(404)
    responses = operation.setdefault("responses", {})
    for code in codes:
        entry = responses.setdefault(str(code), {})
        entry["description"] = _GATEWAY[code]
        entry["content"] = _either()
        if code == 429:
            entry["headers"] = {
                "Retry-After": {
                    "description": "seconds to wait (quotas and WAF)",
                    "schema": {"type": "integer"},
                }
            }


# ----------------------------------------------------------------------------- links


# (method, path, status) of the producer → link name → (method, path) of the consumer, parameters.
LINKS: list[tuple[tuple[str, str, str], str, tuple[str, str], dict[str, str]]] = [
    (("post", "/applications", "201"), name, target, {"application_id": "$response.body#/id"})
    for name, target in [
        ("GetApplication", ("get", "/applications/{application_id}")),
        ("RequestUpload", ("post", "/applications/{application_id}/materials/{slot}/uploads")),
        ("AttachElicence", ("post", "/applications/{application_id}/materials/{slot}/elicence")),
        ("Submit", ("post", "/applications/{application_id}/submit")),
        ("Withdraw", ("post", "/applications/{application_id}/withdraw")),
        ("Decide", ("post", "/applications/{application_id}/decision")),
    ]
] + [
    (
        ("post", "/applications/{application_id}/materials/{slot}/uploads", "201"),
        "RemoveUpload",
        ("delete", "/applications/{application_id}/materials/{slot}/uploads/{upload_id}"),
        {
            "application_id": "$request.path.application_id",
            "slot": "$request.path.slot",
            "upload_id": "$response.body#/upload_id",
        },
    ),
    (
        ("post", "/applications/{application_id}/submit", "200"),
        "GetSubmitted",
        ("get", "/applications/{application_id}"),
        {"application_id": "$response.body#/id"},
    ),
]


def add_links(document: dict[str, Any]) -> None:
    """OpenAPI links between operations that exist in `document` (in place)."""
    paths = document["paths"]
    for (method, path, status), name, (to_method, to_path), parameters in LINKS:
        source = paths.get(path, {}).get(method)
        target = paths.get(to_path, {}).get(to_method)
        if source is None or target is None or status not in source.get("responses", {}):
            continue
        links = source["responses"][status].setdefault("links", {})
        links[name] = {"operationId": target["operationId"], "parameters": dict(parameters)}


# ----------------------------------------------------------------------------- the document


def complete(api_document: str) -> str:
    """The api resolver's document with the verify routes, the gateway's answers and the links."""
    document: dict[str, Any] = json.loads(api_document)
    document["paths"].update(copy.deepcopy(VERIFY_PATHS))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    _, defs = models_json_schema([(m, "serialization") for m in VERIFY_MODELS], ref_template=REF)
    for name, schema in defs.get("$defs", {}).items():
        schemas.setdefault(name, schema)
    schemas.setdefault("ErrorResponse", ErrorResponse.model_json_schema(ref_template=REF))
    document.setdefault("tags", []).append(
        {"name": "verify", "description": "public: verify a licence PDF or number (the verify function)"}
    )
    for item in document["paths"].values():
        for method in METHODS:
            if method in item:
                answer_validation_in_the_error_shape(item[method])
                add_gateway_answers(item[method])
    add_links(document)
    return json.dumps(document, ensure_ascii=False)
