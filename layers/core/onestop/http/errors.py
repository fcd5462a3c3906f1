"""The one place where errors become HTTP responses.

Every error body has the same shape: `{code, message: {zh, en}, details: [{code, zh, en, field}]}`.
Domain errors carry their own status; request validation becomes field-level zh/en messages;
anything unexpected is a 500 with a reference id that is logged with the stack (the client never
sees the stack).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from onestop.applications.identity import principal_from_event
from onestop.errors import DomainError, Reason, TooManyRequests, Unauthorized
from onestop.observability import logger, metrics

from .inputs import TEXT_MESSAGES, UNION_TAGS


def error_body(code: str, zh: str, en: str, details: Sequence[Reason] = (), **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "message": {"zh": zh, "en": en},
        "details": [d.as_dict() for d in details],
    }
    body.update(extra)
    return body


def json_response(status: int, body: Mapping[str, Any]) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=dict(body))


def domain_error_response(exc: DomainError) -> Response:
    body = exc.as_dict()
    body.setdefault("details", [])
    if exc.http_status >= 500:
        logger.warning("dependency unavailable", extra={"code": exc.code})
    response = json_response(exc.http_status, body)
    if isinstance(exc, TooManyRequests):
        # RFC 9110 Retry-After (seconds): when the quota is renewed; the body says it in words too.
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


# ----------------------------------------------------------------------------- validation

_FIELD_ROOTS = {"body", "query", "path", "header", "cookie"}


def _field_of(loc: Sequence[Any]) -> str:
    parts = [p for p in loc if p not in UNION_TAGS]
    if parts and parts[0] in _FIELD_ROOTS:
        root, rest = parts[0], parts[1:]
        if not rest:
            return str(root)
        parts = rest
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _messages(error: Mapping[str, Any]) -> tuple[str, str]:
    """A zh/en sentence for one pydantic error (types as pydantic names them)."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    table: dict[str, tuple[str, str]] = {
        "missing": ("缺少必填项。", "This field is required."),
        "email": ("电子邮箱地址格式不正确。", "Not a valid e-mail address."),
        "extra_forbidden": ("不允许的字段，请检查字段名是否拼写正确。", "Unknown field; check its spelling."),
        "string_type": ("应为文本。", "Must be a string."),
        "int_type": ("应为整数。", "Must be an integer."),
        "int_parsing": ("应为整数。", "Must be an integer."),
        "int_from_float": ("应为整数。", "Must be a whole number."),
        "bool_type": ("应为 true 或 false。", "Must be true or false."),
        "bool_parsing": ("应为 true 或 false。", "Must be true or false."),
        "list_type": ("应为数组。", "Must be a list."),
        "dict_type": ("应为 JSON 对象。", "Must be a JSON object."),
        "model_type": ("应为 JSON 对象。", "Must be a JSON object."),
        "model_attributes_type": ("应为 JSON 对象。", "Must be a JSON object."),
        "string_pattern_mismatch": ("格式不正确。", "Has the wrong format."),
        "union_tag_not_found": (
            "缺少 kind 字段（enterprise 或 person）。",
            "The kind field is missing (enterprise or person).",
        ),
        "value_error": ("取值无效。", "Invalid value."),
        "string_unicode": (
            "含有无效的 Unicode 字符，请检查文字的复制来源。",
            "Contains an invalid Unicode character (a lone surrogate); check where the text was copied from.",
        ),
    }
    if kind in TEXT_MESSAGES:
        zh, en = TEXT_MESSAGES[kind]
        return zh.format_map(ctx), en.format_map(ctx)
    if kind == "string_too_short":
        return (
            f"至少需要 {ctx.get('min_length')} 个字符。",
            f"Needs at least {ctx.get('min_length')} characters.",
        )
    if kind == "string_too_long":
        return (f"不能超过 {ctx.get('max_length')} 个字符。", f"At most {ctx.get('max_length')} characters.")
    if kind == "too_long":
        return (f"最多 {ctx.get('max_length')} 项。", f"At most {ctx.get('max_length')} entries.")
    if kind == "too_short":
        return (f"至少 {ctx.get('min_length')} 项。", f"At least {ctx.get('min_length')} entries.")
    bounds = {
        "greater_than": ("必须大于", "Must be greater than", "gt"),
        "greater_than_equal": ("必须大于或等于", "Must be at least", "ge"),
        "less_than": ("必须小于", "Must be less than", "lt"),
        "less_than_equal": ("必须小于或等于", "Must be at most", "le"),
    }
    if kind in bounds:
        zh, en, key = bounds[kind]
        return (f"{zh} {ctx.get(key)}。", f"{en} {ctx.get(key)}.")
    if kind in {"literal_error", "enum"}:
        expected = ctx.get("expected", "")
        return (f"取值必须是：{expected}。", f"Must be one of: {expected}.")
    if kind == "union_tag_invalid":
        expected = ctx.get("expected_tags", "")
        return (f"kind 必须是：{expected}。", f"kind must be one of: {expected}.")
    return table.get(kind, ("取值无效。", f"Invalid value ({kind or 'unknown'})."))


def validation_reasons(errors: Sequence[Mapping[str, Any]]) -> list[Reason]:
    out: list[Reason] = []
    for error in errors:
        zh, en = _messages(error)
        field = _field_of(error.get("loc", ()))
        out.append(Reason(f"invalid_{error.get('type', 'value')}", f"{field}：{zh}", f"{field}: {en}", field))
    return out


# ----------------------------------------------------------------------------- registration


def _route_needs_sign_in(app: APIGatewayHttpResolver) -> bool:
    route = app.context.get("_route")
    return bool(route is not None and route.security)


def allowed_methods(app: APIGatewayHttpResolver, path: str) -> list[str]:
    """Methods some route takes on `path` (for 405 + Allow when the path exists but not the method)."""
    # Powertools keeps its route table private; read it defensively so an upgrade degrades to 404.
    routes = list(getattr(app, "_static_routes", [])) + list(getattr(app, "_dynamic_routes", []))
    methods = {
        str(getattr(r, "method", "")).upper()
        for r in routes
        if getattr(r, "rule", None) is not None
        and r.rule.match(path)
        and getattr(r, "include_in_schema", True)
    }
    methods.discard("")
    if methods:
        methods.add("OPTIONS")
    return sorted(methods)


def register_error_handlers(app: APIGatewayHttpResolver) -> None:
    """Install every error mapping on `app` (one call in `build_api`)."""

    @app.exception_handler(DomainError)
    def _domain(exc: DomainError) -> Response:
        return domain_error_response(exc)

    @app.exception_handler(RequestValidationError)
    def _validation(exc: RequestValidationError) -> Response:
        # Say "sign in" before "fix the body": validation runs before the route, and an anonymous
        # caller should not learn more about a protected route than that it needs a sign-in.
        if _route_needs_sign_in(app) and principal_from_event(app.current_event.raw_event).is_anonymous:
            return domain_error_response(
                Unauthorized(
                    "authentication_required",
                    "请先登录后再操作（缺少或无效的身份令牌）。",
                    "Sign in first: the request carries no valid identity token.",
                )
            )
        errors = list(exc.errors())
        if any(tuple(e.get("loc", ()))[:1] == ("response",) for e in errors):
            # Powertools reports a reply that does not match its declared schema this way: our bug.
            return unexpected_error_response(exc)
        if any(e.get("type") == "json_invalid" for e in errors):
            pos = next((e["loc"][1] for e in errors if len(e.get("loc", ())) > 1), None)
            where_zh = f"（约第 {pos} 个字符处）" if pos is not None else ""
            where_en = f" (near character {pos})" if pos is not None else ""
            return json_response(
                400,
                error_body(
                    "malformed_json",
                    f"请求体不是有效的 JSON{where_zh}，请检查格式。",
                    f"The request body is not valid JSON{where_en}; check its syntax.",
                    [Reason("malformed_json", "JSON 格式错误。", "Malformed JSON.", "body")],
                ),
            )
        return json_response(
            422,
            error_body(
                "validation_failed",
                "请求内容有误，请按字段提示修改。",
                "The request is not valid; correct the fields listed.",
                validation_reasons(errors),
            ),
        )

    @app.exception_handler(RequestUnsupportedContentType)
    def _content_type(exc: RequestUnsupportedContentType) -> Response:
        return unsupported_media_type()

    @app.exception_handler(NotFoundError)
    def _no_route(exc: NotFoundError) -> Response:
        allowed = allowed_methods(app, app.current_event.path)
        if allowed:
            response = json_response(
                405,
                error_body(
                    "method_not_allowed",
                    f"该接口不支持此请求方法，可用：{', '.join(allowed)}。",
                    f"This route does not take that method; it takes {', '.join(allowed)}.",
                ),
            )
            response.headers["Allow"] = ", ".join(allowed)
            return response
        return json_response(
            404,
            error_body(
                "route_not_found",
                "没有这个接口，请查阅 /docs 中的接口文档。",
                "There is no such route; see the API documentation at /docs.",
            ),
        )

    @app.exception_handler(ServiceError)
    def _service_error(exc: ServiceError) -> Response:
        return json_response(
            exc.status_code,
            error_body(
                "request_error", "请求无法处理。", f"The request cannot be handled ({exc.msg}).".strip()
            ),
        )

    @app.exception_handler(UnicodeDecodeError)
    def _not_utf8(exc: UnicodeDecodeError) -> Response:
        return json_response(
            400,
            error_body(
                "body_not_utf8",
                "请求体须为 UTF-8 编码的 JSON。",
                "The request body must be UTF-8 encoded JSON.",
                [Reason("body_not_utf8", "编码错误。", "Not UTF-8.", "body")],
            ),
        )

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # Powertools parses multipart bodies itself and raises a bare ValueError on a missing
        # boundary; the API takes JSON only, so that is the client's content type, not our fault.
        content_type = (app.current_event.headers or {}).get("content-type", "")
        if isinstance(exc, ValueError) and content_type.lower().startswith("multipart/"):
            return unsupported_media_type()
        return unexpected_error_response(exc)


def unsupported_media_type() -> Response:
    return json_response(
        415,
        error_body(
            "unsupported_media_type",
            "请求体须为 application/json。",
            "The request body must be application/json.",
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


def unexpected_error_response(exc: BaseException) -> Response:
    reference = uuid.uuid4().hex
    # The stack goes to the log under the reference; the client only gets the reference.
    logger.error("unhandled error", exc_info=exc, extra={"reference": reference, "error": type(exc).__name__})
    metrics.add_metric(name="UnhandledError", unit="Count", value=1)
    return json_response(
        500,
        error_body(
            "internal_error",
            f"服务暂时出错，请稍后重试；如需协助请提供编号 {reference}。",
            f"Something went wrong on our side; try again later. If you contact support, quote {reference}.",
            reference=reference,
        ),
    )
