"""The public verify function: `POST /verify` (a PDF), `GET /verify/{licence_id}`, `GET /trust`,
`GET /status-lists/{type}` (the signed lists the issue function publishes, licences/publishing.py).

No sign-in. Every answer about a document is a verification report (200), whatever the verdict; only
a request that cannot be a verification is an error: too large (413), not a PDF (415/422), a
malformed licence number (422). Errors have the API's one shape (`onestop.http.errors`).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import quote, unquote

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from onestop.errors import InvalidInput, NotFound, PayloadTooLarge, Reason
from onestop.licences.status_list import status_list_key
from onestop.licences.trust_list import TRUST_LIST_KEY
from onestop.observability import logger, metrics
from onestop.verification import (
    DEFAULT_LIMITS,
    TrustAnchors,
    VerifyLimits,
    verify_licence_id,
    verify_pdf,
)
from onestop.verification.status import RegistryLookup

from .errors import error_body, json_response, register_error_handlers
from .middlewares import HardenedHttpResolver

PDF_TYPES = frozenset({"application/pdf", "application/octet-stream"})
WEB_PAGE = "/web/verify/index.html"  # explicit file: static hosts need not map "dir/" to index
MAX_HOLDER_CHARS = 200  # longer than any registered name or code
TYPE_CODE = re.compile(r"[0-9A-HJ-NP-RTUW-Y]{18}[0-9]{3}")  # a licence type code names its status list


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class VerifyDependencies:
    """What the routes need; tests pass their own, the Lambda builds them from the settings."""

    trust: Callable[[], TrustAnchors]
    registry_lookup: RegistryLookup
    now: Callable[[], datetime] = field(default=_now)
    limits: VerifyLimits = DEFAULT_LIMITS
    web_page: str = WEB_PAGE
    # A published object of the licences bucket's public prefix by key (None: not published yet).
    published: Callable[[str], bytes | None] = field(default=lambda key: None)


def default_dependencies() -> VerifyDependencies:
    """The composition root's: the cached PKI of the licences bucket and the registry in the table."""
    from onestop.aws.composition import verify_dependencies

    return verify_dependencies()


def _too_large(limit: int) -> PayloadTooLarge:
    mb = limit // (1024 * 1024)
    return PayloadTooLarge(
        "pdf_too_large",
        f"文件超过{mb} MB，不能直接上传核验。电子证照原件通常小于100 KB，请确认选择的文件是否正确。",
        f"The file is over {mb} MB and cannot be sent for verification directly. An original e-licence is "
        "usually under 100 KB; check that this is the right file.",
        [
            Reason(
                "use_other_path",
                "大文件请改用证照编号查询（GET /verify/{证照标识}），或使用离线核验工具 onestop verify。",
                "For a large file, look the licence number up instead (GET /verify/{licence id}), or use "
                "the offline tool `onestop verify`.",
                "body",
            )
        ],
        extra={"max_bytes": limit},
    )


def _not_pdf(detail_zh: str, detail_en: str) -> InvalidInput:
    return InvalidInput(
        "not_a_pdf",
        "上传的内容不是PDF文件。请上传电子证照的PDF原件。",
        "The upload is not a PDF. Send the e-licence's original PDF file.",
        [Reason("not_a_pdf", detail_zh, detail_en, "body")],
    )


def _header(event: Any, name: str) -> str:
    value = event.headers.get(name) if event.headers else None
    return str(value or "")


def read_pdf_body(event: Any, limit: int) -> bytes:
    """The PDF bytes of a `POST /verify` event, or the 413 / 415 / 422 that explains what is wrong."""
    content_type = _header(event, "content-type").split(";")[0].strip().lower()
    if content_type not in PDF_TYPES:
        raise _UnsupportedType(content_type)
    body = event.body or ""
    if event.is_base64_encoded:
        if len(body) > (limit + 2) // 3 * 4 + 4:  # refuse before decoding
            raise _too_large(limit)
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise _not_pdf("请求体的Base64编码无效。", "The request body is not valid base64.") from None
    else:
        # API Gateway passes binary media base64-encoded; a text body means the bytes were mangled.
        data = body.encode("utf-8", errors="surrogateescape") if isinstance(body, str) else bytes(body)
    if len(data) > limit:
        raise _too_large(limit)
    if not data:
        raise _not_pdf("请求体为空。", "The request body is empty.")
    if b"%PDF-" not in data[:1024]:
        raise _not_pdf(
            "文件开头没有PDF标识（%PDF-）。", "The file does not start with the PDF marker (%PDF-)."
        )
    return data


class _UnsupportedType(Exception):
    def __init__(self, content_type: str) -> None:
        super().__init__(content_type)
        self.content_type = content_type


def build_verify_api(
    deps: VerifyDependencies | Callable[[], VerifyDependencies] | None = None,
) -> APIGatewayHttpResolver:
    """The resolver of the verify function. Dependencies are built on first use, not at import."""
    dependencies: Callable[[], VerifyDependencies]
    if deps is None:
        dependencies = default_dependencies  # cached by the composition root (reset() forgets it)
    elif isinstance(deps, VerifyDependencies):
        fixed = deps
        dependencies = lambda: fixed  # noqa: E731 - a constant factory
    else:
        dependencies = cache(deps)

    # CORS is the HttpApi's (template.yaml); API Gateway ignores a function's CORS headers.
    app = HardenedHttpResolver()
    register_error_handlers(app)

    @app.exception_handler(_UnsupportedType)
    def _unsupported(exc: _UnsupportedType) -> Response:
        shown = exc.content_type or "（无）"
        return json_response(
            415,
            error_body(
                "unsupported_media_type",
                f"请以 Content-Type: application/pdf 上传PDF文件（收到的是 {shown}）。",
                f"Send the PDF with Content-Type: application/pdf (got {exc.content_type or 'none'}).",
                [
                    Reason(
                        "unsupported_media_type",
                        "内容类型不受支持。",
                        "Unsupported content type.",
                        "content-type",
                    )
                ],
            ),
        )

    @app.post("/verify")
    def verify_document() -> Response:
        d = dependencies()
        data = read_pdf_body(app.current_event, d.limits.max_bytes)
        report = verify_pdf(
            data, trust=d.trust(), registry_lookup=d.registry_lookup, now=d.now(), limits=d.limits
        )
        body = report.as_dict()
        logger.info(
            "licence PDF verified",
            extra={
                "valid": report.valid,
                "sha256": report.sha256,
                "verdicts": {c.check.value: c.code for c in report.checks},
                "licence_id": report.licence.get("licence_id"),
            },
        )
        metrics.add_metric(name="PdfVerified" if report.valid else "PdfRejected", unit="Count", value=1)
        return Response(200, content_types.APPLICATION_JSON, body, headers={"Cache-Control": "no-store"})

    @app.get("/verify/<licence_id>")
    def verify_number(licence_id: str) -> Response:
        d = dependencies()
        text = unquote(licence_id)
        accept = _header(app.current_event, "accept")
        if "text/html" in accept and "application/json" not in accept:
            # A person who scanned the licence's QR code: show the verification page, not JSON.
            return Response(
                302, content_types.TEXT_HTML, "", headers={"Location": f"{d.web_page}?id={quote(text)}"}
            )
        holder = (app.current_event.query_string_parameters or {}).get("holder")
        if holder is not None and len(holder) > MAX_HOLDER_CHARS:
            raise InvalidInput(
                "holder_too_long",
                f"持证主体名称或代码不能超过 {MAX_HOLDER_CHARS} 个字符。",
                f"The holder's name or code may be at most {MAX_HOLDER_CHARS} characters.",
                [Reason("holder_too_long", "过长。", "Too long.", "holder")],
            )
        report = verify_licence_id(text, registry_lookup=d.registry_lookup, now=d.now(), holder=holder)
        metrics.add_metric(name="NumberVerified" if report.valid else "NumberRejected", unit="Count", value=1)
        return Response(
            200, content_types.APPLICATION_JSON, report.as_dict(), headers={"Cache-Control": "no-store"}
        )

    @app.get("/trust")
    def trust_document() -> Response:
        d = dependencies()
        # The signed trust list (licences/trust_list.py) once published; before the first publication
        # the unsigned document, which `onestop trust update` refuses and older readers still take.
        signed = d.published(TRUST_LIST_KEY)
        body: Any = signed.decode("utf-8") if signed else d.trust().document(generated_at=d.now())
        return Response(
            200, content_types.APPLICATION_JSON, body, headers={"Cache-Control": "public, max-age=300"}
        )

    @app.get("/status-lists/<list_name>")
    def status_list_document(list_name: str) -> Response:
        d = dependencies()
        name = unquote(list_name)
        if not TYPE_CODE.fullmatch(name):
            raise InvalidInput(
                "status_list_name_invalid",
                "状态列表名称应为21位证照类型代码。",
                "A status list is named by its 21-character licence type code.",
                [Reason("status_list_name_invalid", "格式不正确。", "Malformed.", "type")],
            )
        body = d.published(status_list_key(name))
        if body is None:
            raise NotFound(
                "status_list_not_found",
                "该类证照尚无状态列表。",
                "No status list is published for this licence type.",
                extra={"type": name},
            )
        # Fetching a list reveals nothing about which licence is checked; caches may share it.
        return Response(
            200,
            content_types.APPLICATION_JSON,
            body.decode("utf-8"),
            headers={"Cache-Control": "public, max-age=300"},
        )

    return app
