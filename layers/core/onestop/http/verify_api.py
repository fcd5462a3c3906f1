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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from onestop.errors import InvalidInput, NotFound, PayloadTooLarge, Reason
from onestop.observability import logger, metrics
from onestop.verification import (
    DEFAULT_LIMITS,
    TrustAnchors,
    VerifyLimits,
    verify_licence_id,
    verify_pdf,
)
from onestop.verification.image_types import (
    DEFAULT_PHOTO_LIMITS,
    HEIF_TYPES,
    IMAGE_TYPES,
    PhotoLimits,
    sniff_format,
)
from onestop.verification.status import RegistryLookup

if TYPE_CHECKING:
    from onestop.licences.status_list import StatusList

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
    # The bureau's verify site (PUBLIC_BASE_URL): a URL-only QR on it is looked up, one off it is a
    # forgery warning (verification/photo.py). None: every URL-only QR is "cannot tell".
    verify_base_url: str | None = None
    photo_limits: PhotoLimits = DEFAULT_PHOTO_LIMITS


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


def _content_type(event: Any) -> str:
    return _header(event, "content-type").split(";")[0].strip().lower()


def is_image_request(event: Any) -> bool:
    """Whether a `POST /verify` sends a picture: an image type, or octet-stream with an image's magic."""
    content_type = _content_type(event)
    if content_type in IMAGE_TYPES or content_type in HEIF_TYPES:
        return True
    if content_type != "application/octet-stream" or not event.body:
        return False
    head = event.body[:64]
    if event.is_base64_encoded:
        try:
            head = base64.b64decode(head[: len(head) // 4 * 4])
        except (binascii.Error, ValueError):
            return False
    elif isinstance(head, str):
        head = head.encode("utf-8", errors="surrogateescape")
    return sniff_format(bytes(head)) is not None


def read_image_body(event: Any, limits: PhotoLimits) -> bytes:
    """The picture's bytes of a `POST /verify` event (size checked; the picture itself by photo.py)."""
    from onestop.verification.photo import heif_refused, image_too_large, not_an_image

    if _content_type(event) in HEIF_TYPES:
        raise heif_refused(_content_type(event))
    return _body_bytes(event, limits.max_bytes, image_too_large, not_an_image)


def read_pdf_body(event: Any, limit: int) -> bytes:
    """The PDF bytes of a `POST /verify` event, or the 413 / 415 / 422 that explains what is wrong."""
    content_type = _content_type(event)
    if content_type not in PDF_TYPES:
        raise _UnsupportedType(content_type)
    data = _body_bytes(event, limit, _too_large, _not_pdf)
    if b"%PDF-" not in data[:1024]:
        raise _not_pdf(
            "文件开头没有PDF标识（%PDF-）。", "The file does not start with the PDF marker (%PDF-)."
        )
    return data


def _body_bytes(
    event: Any,
    limit: int,
    too_large: Callable[[int], PayloadTooLarge],
    unreadable: Callable[[str, str], InvalidInput],
) -> bytes:
    """The raw body: base64 refused by its length before decoding; empty refused."""
    body = event.body or ""
    if event.is_base64_encoded:
        if len(body) > (limit + 2) // 3 * 4 + 4:  # refuse before decoding
            raise too_large(limit)
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise unreadable("请求体的Base64编码无效。", "The request body is not valid base64.") from None
    else:
        # API Gateway passes binary media base64-encoded; a text body means the bytes were mangled.
        data = body.encode("utf-8", errors="surrogateescape") if isinstance(body, str) else bytes(body)
    if len(data) > limit:
        raise too_large(limit)
    if not data:
        raise unreadable("请求体为空。", "The request body is empty.")
    return data


class PublishedStatusLists(Mapping[str, "StatusList"]):
    """The status lists the issue function published, read when a credential names one (a mapping
    by licence type code, as check_credential takes it). A list that is missing or unreadable is absent:
    the status is then "unknown", never "valid"."""

    def __init__(self, published: Callable[[str], bytes | None]) -> None:
        self._published = published
        self._read: dict[str, StatusList | None] = {}

    def __getitem__(self, name: str) -> StatusList:
        if name not in self._read:
            self._read[name] = self._load(name)
        found = self._read[name]
        if found is None:
            raise KeyError(name)
        return found

    def _load(self, name: str) -> StatusList | None:
        import json

        from onestop.licences.status_list import StatusList, StatusListError, status_list_key

        if not TYPE_CODE.fullmatch(name):
            return None
        body = self._published(status_list_key(name))
        if body is None:
            return None
        try:
            return StatusList.from_document(json.loads(body))
        except (ValueError, StatusListError) as exc:
            logger.warning("published status list unreadable", extra={"list": name, "error": str(exc)})
            return None

    def __iter__(self) -> Iterator[str]:
        return iter(k for k, v in self._read.items() if v is not None)

    def __len__(self) -> int:
        return sum(1 for v in self._read.values() if v is not None)


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
                f"请以 Content-Type: application/pdf 上传PDF文件，或以 image/jpeg、image/png、image/webp "
                f"上传证照照片或截图（收到的是 {shown}）。",
                "Send the PDF with Content-Type: application/pdf, or a photo or screenshot of the licence "
                f"as image/jpeg, image/png or image/webp (got {exc.content_type or 'none'}).",
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
        if is_image_request(app.current_event):
            return _verify_picture(d, read_image_body(app.current_event, d.photo_limits))
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

    def _verify_picture(d: VerifyDependencies, data: bytes) -> Response:
        from onestop.verification.photo import PhotoDependencies, check_photo

        deps = PhotoDependencies(
            trust=d.trust(),
            status_lists=PublishedStatusLists(d.published),
            at=d.now(),
            registry_lookup=d.registry_lookup,
            verify_base_url=d.verify_base_url,
            limits=d.photo_limits,
        )
        verdict = check_photo(data, deps)
        body = verdict.as_dict()
        logger.info(
            "licence picture verified",
            extra={
                "verdict": verdict.verdict,
                "source": verdict.source,
                "host": verdict.host,
                "licence_id": verdict.credential.credential.licence_id
                if verdict.credential and verdict.credential.credential
                else None,
                "image": body["image"],
            },
        )
        metrics.add_metric(name="PhotoVerified" if verdict.valid else "PhotoRejected", unit="Count", value=1)
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
        from onestop.licences.trust_list import TRUST_LIST_KEY

        d = dependencies()
        # The signed trust list (licences/trust_list.py) once published; before the first publication
        # the unsigned document, which `onestop trust update` refuses and older readers still take.
        signed = d.published(TRUST_LIST_KEY)
        body: Any = signed.decode("utf-8") if signed else d.trust().document(generated_at=d.now())
        return Response(
            200, content_types.APPLICATION_JSON, body, headers={"Cache-Control": "public, max-age=300"}
        )

    @app.get("/status-lists/<type>")  # the template's and the contract's name for it
    def status_list_document(type: str) -> Response:
        from onestop.licences.status_list import status_list_key

        d = dependencies()
        name = unquote(type)
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
