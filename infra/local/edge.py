"""What stands in front of the HTTP API in AWS, read from template.yaml and applied by the local gateway.

- `EdgeWebAcl` (AWS::WAFv2::WebACL on the CloudFront distribution): per-client rate-based rules, each
  answered with the rule's custom response (429, Retry-After, the JSON body of CustomResponseBodies).
- The HttpApi stage's route throttles (DefaultRouteSettings / RouteSettings): token buckets per route for
  all clients together, answered as API Gateway does (429 `{"message":"Too Many Requests"}`).
- `WebSecurityHeaders` (AWS::CloudFront::ResponseHeadersPolicy): the headers CloudFront adds to the pages.
- API Gateway's fixed quotas: a 10 MB request body, and Lambda's 6 MB invocation payload.

Only the parts of WAF's statement language the template uses are understood; anything else raises, so
that a rule added to the template cannot silently be skipped here.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# API Gateway's maximum request body (HTTP API quota, not adjustable): 10 MB.
MAX_REQUEST_BODY = 10 * 1024 * 1024
# Lambda's synchronous invocation payload (the whole v2 event, body base64-encoded when binary).
MAX_INVOKE_PAYLOAD = 6 * 1024 * 1024

Clock = Callable[[], float]
PathTest = Callable[[str], bool]


def _byte_match(statement: Mapping[str, Any]) -> PathTest:
    if set(statement.get("FieldToMatch", {})) != {"UriPath"}:
        raise ValueError(
            f"only UriPath byte matches are emulated locally, not {statement.get('FieldToMatch')}"
        )
    transforms = [
        t["Type"] for t in sorted(statement.get("TextTransformations", []), key=lambda t: t["Priority"])
    ]
    if set(transforms) - {"NONE", "LOWERCASE", "URL_DECODE"}:
        raise ValueError(f"text transformations {transforms} are not emulated locally")
    needle = str(statement["SearchString"])
    position = statement["PositionalConstraint"]
    tests: dict[str, Callable[[str], bool]] = {
        "EXACTLY": lambda s: s == needle,
        "STARTS_WITH": lambda s: s.startswith(needle),
        "ENDS_WITH": lambda s: s.endswith(needle),
        "CONTAINS": lambda s: needle in s,
    }
    if position not in tests:
        raise ValueError(f"positional constraint {position} is not emulated locally")

    def test(path: str) -> bool:
        from urllib.parse import unquote

        for kind in transforms:
            if kind == "LOWERCASE":
                path = path.lower()
            elif kind == "URL_DECODE":
                path = unquote(path)
        return tests[position](path)

    return test


def compile_statement(statement: Mapping[str, Any]) -> PathTest:
    """A WAF statement (the subset the template uses) as a test of the request path."""
    ((kind, body),) = statement.items()
    if kind == "ByteMatchStatement":
        return _byte_match(body)
    if kind == "NotStatement":
        inner = compile_statement(body["Statement"])
        return lambda path: not inner(path)
    if kind in ("AndStatement", "OrStatement"):
        parts = [compile_statement(s) for s in body["Statements"]]
        combine = all if kind == "AndStatement" else any
        return lambda path: combine(p(path) for p in parts)
    raise ValueError(f"WAF statement {kind} is not emulated locally")


@dataclass(frozen=True)
class Blocked:
    """The answer to a request the edge refused."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    content_type: str
    rule: str


@dataclass
class RateRule:
    """A rate-based rule: at most `limit` requests per `window_s` from one client address in scope."""

    name: str
    priority: int
    limit: int
    window_s: int
    in_scope: PathTest
    answer: Blocked
    _seen: dict[str, deque[float]] = field(default_factory=dict, repr=False)

    def over_limit(self, client: str, now: float) -> bool:
        """Count this request and say whether the client is over the limit (blocked requests count too:
        WAF rates what arrives, so a client that keeps hammering stays blocked)."""
        seen = self._seen.setdefault(client, deque())
        while seen and seen[0] <= now - self.window_s:
            seen.popleft()
        seen.append(now)
        return len(seen) > self.limit


_CONTENT_TYPES = {
    "APPLICATION_JSON": "application/json",
    "TEXT_PLAIN": "text/plain",
    "TEXT_HTML": "text/html",
}


def rate_rules_from_web_acl(props: Mapping[str, Any]) -> list[RateRule]:
    """The web ACL's rate-based rules with their custom responses, in priority order."""
    bodies = props.get("CustomResponseBodies", {})
    rules = []
    for rule in props.get("Rules", []):
        rate = rule["Statement"].get("RateBasedStatement")
        if rate is None:
            raise ValueError(f"WAF rule {rule['Name']}: only rate-based rules are emulated locally")
        if rate.get("AggregateKeyType", "IP") != "IP":
            raise ValueError(f"WAF rule {rule['Name']}: only per-IP aggregation is emulated locally")
        scope = rate.get("ScopeDownStatement")
        response = rule["Action"]["Block"]["CustomResponse"]
        body = bodies[response["CustomResponseBodyKey"]] if "CustomResponseBodyKey" in response else None
        answer = Blocked(
            status=int(response["ResponseCode"]),
            headers={h["Name"]: str(h["Value"]) for h in response.get("ResponseHeaders", [])},
            body=str(body["Content"]).encode() if body else b"",
            content_type=_CONTENT_TYPES[body["ContentType"]] if body else "text/plain",
            rule=rule["Name"],
        )
        rules.append(
            RateRule(
                name=rule["Name"],
                priority=int(rule["Priority"]),
                limit=int(rate["Limit"]),
                window_s=int(rate.get("EvaluationWindowSec", 300)),
                in_scope=compile_statement(scope) if scope else (lambda path: True),
                answer=answer,
            )
        )
    return sorted(rules, key=lambda r: r.priority)


@dataclass
class TokenBucket:
    """API Gateway's throttle: `rate` requests per second on average, bursts up to `burst`."""

    rate: float
    burst: int
    tokens: float = -1.0
    last: float = 0.0

    def take(self, now: float) -> bool:
        if self.tokens < 0:
            self.tokens, self.last = float(self.burst), now
        self.tokens = min(float(self.burst), self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


THROTTLED = Blocked(429, {}, b'{"message":"Too Many Requests"}', "application/json", "route-throttle")


@dataclass(frozen=True)
class RouteThrottles:
    """The stage's throttles: per route key, else the default."""

    default: tuple[float, int] | None
    per_route: Mapping[str, tuple[float, int]]

    @classmethod
    def from_stage(cls, props: Mapping[str, Any]) -> RouteThrottles:
        def pair(settings: Mapping[str, Any] | None) -> tuple[float, int] | None:
            if not settings or "ThrottlingRateLimit" not in settings:
                return None
            return float(settings["ThrottlingRateLimit"]), int(settings["ThrottlingBurstLimit"])

        per_route = {key: p for key, s in (props.get("RouteSettings") or {}).items() if (p := pair(s))}
        return cls(pair(props.get("DefaultRouteSettings")), per_route)

    def limits_for(self, route_key: str) -> tuple[float, int] | None:
        return self.per_route.get(route_key, self.default)


class Edge:
    """The rate limits in front of the local gateway, thread-safe (the gateway serves on threads)."""

    def __init__(
        self, rules: list[RateRule], throttles: RouteThrottles | None, clock: Clock = time.monotonic
    ) -> None:
        self.rules = rules
        self.throttles = throttles
        self.clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()
        self.refused: dict[str, int] = {}  # rule or route throttle → requests refused (for /_local/health)

    def check_client(self, client: str, path: str) -> Blocked | None:
        """WAF: the first rate rule (by priority) that the client is over, if any.

        Every rule in scope counts the request, as WAF evaluates each rate-based rule it reaches
        (a rule whose client is over the limit blocks, and later rules do not see the request).
        """
        with self._lock:
            now = self.clock()
            for rule in self.rules:
                if rule.in_scope(path) and rule.over_limit(client, now):
                    self.refused[rule.name] = self.refused.get(rule.name, 0) + 1
                    return rule.answer
        return None

    def check_route(self, route_key: str) -> Blocked | None:
        """API Gateway's route throttle for `route_key` (all clients together)."""
        limits = self.throttles.limits_for(route_key) if self.throttles else None
        if limits is None:
            return None
        with self._lock:
            bucket = self._buckets.setdefault(route_key, TokenBucket(*limits))
            if bucket.take(self.clock()):
                return None
            self.refused[route_key] = self.refused.get(route_key, 0) + 1
            return THROTTLED


def security_headers(config: Mapping[str, Any]) -> dict[str, str]:
    """The headers a CloudFront ResponseHeadersPolicyConfig adds (security and custom headers)."""
    out: dict[str, str] = {}
    security = config.get("SecurityHeadersConfig", {})
    if csp := security.get("ContentSecurityPolicy"):
        # An empty Sub variable (no identity origin locally) leaves a double space before ";".
        out["Content-Security-Policy"] = " ".join(str(csp["ContentSecurityPolicy"]).split()).replace(
            " ;", ";"
        )
    if "ContentTypeOptions" in security:
        out["X-Content-Type-Options"] = "nosniff"
    if frame := security.get("FrameOptions"):
        out["X-Frame-Options"] = frame["FrameOption"]
    if referrer := security.get("ReferrerPolicy"):
        out["Referrer-Policy"] = referrer["ReferrerPolicy"]
    if hsts := security.get("StrictTransportSecurity"):
        value = f"max-age={int(hsts['AccessControlMaxAgeSec'])}"
        if hsts.get("IncludeSubdomains"):
            value += "; includeSubDomains"
        if hsts.get("Preload"):
            value += "; preload"
        out["Strict-Transport-Security"] = value
    for item in config.get("CustomHeadersConfig", {}).get("Items", []):
        out[item["Header"]] = str(item["Value"])
    return out


def with_sub_variables(value: Any, variables: Mapping[str, str]) -> Any:
    """`value` with the named variables of its Fn::Sub [text, {vars}] forms replaced.

    The pages' CSP names the storage and identity origins as Sub variables; locally they are the moto
    server and the gateway itself, so the local stack puts its own values there and resolves the rest.
    """
    if isinstance(value, list):
        return [with_sub_variables(v, variables) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], list):
        text, names = value["Fn::Sub"]
        return {"Fn::Sub": [text, {k: variables.get(k, v) for k, v in names.items()}]}
    return {k: with_sub_variables(v, variables) for k, v in value.items()}
