"""Issue 13, items 6, 8 and 9 (the gateway half): limits, headers, framing, CORS and body limits at the edge.

Each test is an outsider's attack over HTTP against a local stack of its own (its rate limits are
state: a burst here must not throttle the other suites' stack). Clients are told apart by their
address, as WAF's per-IP rules tell them apart: each test speaks from its own loopback address
(127.0.0.x), so one client's burst is not another's.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from infra.local import LocalStack, StackConfig
from infra.local.edge import MAX_REQUEST_BODY, rate_rules_from_web_acl
from infra.local.template import load_sam_template
from tests.e2e.browser import chromium, watch

pytestmark = [pytest.mark.xdist_group("edge"), pytest.mark.timeout(600)]

PAGES = ["index.html", "portal/index.html", "desk/index.html", "kpi/index.html", "verify/index.html"]


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(StackConfig(moto_port=0, api_port=0, warm=("VerifyFunction",))) as running:
        yield running


def send(
    stack: LocalStack,
    method: str,
    path: str,
    *,
    client: str = "127.0.0.1",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request from the loopback address `client` (a client of its own to the per-IP rules)."""
    url = urlsplit(stack.api_url)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=120, source_address=(client, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        reply = conn.getresponse()
        return Answer(reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read())
    finally:
        conn.close()


def _verify_rule() -> Any:
    sam = load_sam_template()
    from infra.local.template import Resolver, parameter_values

    resolver = Resolver(parameter_values(sam, {}, "us-east-1", "123456789012"), sam.get("Conditions", {}))
    rules = rate_rules_from_web_acl(resolver.resolve(sam["Resources"]["EdgeWebAcl"]["Properties"]))
    return next(r for r in rules if r.name == "verify-per-ip")


# ------------------------------------------------------------------ item 6: limits


def test_forty_parallel_verify_posts_from_one_client_are_mostly_refused_with_429(stack: LocalStack) -> None:
    """The attack: 40 parallel POST /verify from one address (each one a verify invocation before)."""
    rule = _verify_rule()
    pdf = b"%PDF-1.7\n" + b"0" * 200_000  # not a licence: the verify function refuses it quickly
    headers = {"Content-Type": "application/pdf"}

    def post(_: int) -> Answer:
        return send(stack, "POST", "/verify", client="127.0.0.11", body=pdf, headers=headers)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(40)))
    served = [a for a in answers if a.status != 429]
    # The route throttle (for all clients together) answers first while the burst lasts; whatever it
    # lets through, the per-client rule never lets more than its limit reach the function.
    assert len(served) <= rule.limit, [a.status for a in answers]
    assert len(answers) - len(served) >= 40 - rule.limit
    # Once over the per-client limit: WAF's answer, Retry-After and a body in the API's error shape.
    again = send(stack, "POST", "/verify", client="127.0.0.11", body=pdf, headers=headers)
    assert again.status == 429
    assert again.headers["retry-after"] == str(rule.window_s)
    assert again.headers["content-type"].startswith("application/json")
    body = again.json()
    assert body["code"] == "rate_limited"
    assert body["message"]["zh"]
    assert body["message"]["en"]
    # Another client is not affected by this one's burst.
    assert send(stack, "GET", "/trust", client="127.0.0.12").status == 200


def test_a_client_under_the_limit_is_never_refused(stack: LocalStack) -> None:
    rule = _verify_rule()
    for _ in range(min(rule.limit, 8)):
        answer = send(stack, "GET", "/verify/SW-0000-000000", client="127.0.0.13")
        assert answer.status != 429, answer.body


def test_a_flood_of_api_requests_from_one_client_is_refused(stack: LocalStack) -> None:
    """Signed-in routes without a token: cheap for the attacker, and still counted against the client."""
    sam = load_sam_template()
    limit = next(
        r["Statement"]["RateBasedStatement"]["Limit"]
        for r in sam["Resources"]["EdgeWebAcl"]["Properties"]["Rules"]
        if r["Name"] == "api-per-ip"
    )
    statuses: list[int] = []

    def hit(_: int) -> int:
        return send(stack, "GET", "/applications", client="127.0.0.14").status

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(hit, range(limit + 5)))
    assert statuses.count(429) >= 5
    # Route throttles answer 429 too, but only WAF's per-client rule says when to come back.
    blocked = send(stack, "GET", "/applications", client="127.0.0.14")
    assert blocked.status == 429
    assert blocked.headers["retry-after"] == "120"
    assert blocked.json()["code"] == "rate_limited"
    assert send(stack, "GET", "/items", client="127.0.0.15").status == 200


# ------------------------------------------------------------------ item 9: body limits, CORS, methods


def test_a_body_over_api_gateways_10_mb_is_413_before_any_function(stack: LocalStack) -> None:
    answer = send(
        stack,
        "POST",
        "/verify",
        client="127.0.0.21",
        body=b"%PDF" + b"0" * MAX_REQUEST_BODY,
        headers={"Content-Type": "application/pdf"},
    )
    assert answer.status == 413
    assert answer.json() == {"message": "Request Entity Too Large"}


def test_a_pdf_over_4_5_mb_never_reaches_verify_as_in_aws(stack: LocalStack) -> None:
    """base64 makes it over Lambda's 6 MB payload: API Gateway's 500, not the verify function's answer."""
    big = send(
        stack,
        "POST",
        "/verify",
        client="127.0.0.22",
        body=b"%PDF" + b"0" * (4_800_000),
        headers={"Content-Type": "application/pdf"},
    )
    assert big.status == 500
    assert big.json() == {"message": "Internal Server Error"}
    small = send(
        stack,
        "POST",
        "/verify",
        client="127.0.0.22",
        body=b"%PDF" + b"0" * 1_000_000,
        headers={"Content-Type": "application/pdf"},
    )
    assert "code" in small.json(), "under the payload limit the verify function answers itself"
    over_own_limit = send(
        stack,
        "POST",
        "/verify",
        client="127.0.0.22",
        body=b"%PDF" + b"0" * (4 * 1024 * 1024),
        headers={"Content-Type": "application/pdf"},
    )
    # The function's own limit sits under what reaches it: a person gets its 413 and the way out.
    assert over_own_limit.status == 413
    assert over_own_limit.json()["code"] == "pdf_too_large"


def test_cors_is_granted_only_to_the_portal_origin(stack: LocalStack) -> None:
    evil = {"Origin": "https://evil.example"}
    assert (
        "access-control-allow-origin"
        not in send(stack, "GET", "/items", client="127.0.0.23", headers=evil).headers
    )
    assert (
        "access-control-allow-origin"
        not in send(stack, "GET", "/trust", client="127.0.0.23", headers=evil).headers
    )
    preflight = send(
        stack,
        "OPTIONS",
        "/applications",
        client="127.0.0.23",
        headers={**evil, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    portal = {"Origin": stack.api_url}  # PortalOrigin of the local stack
    granted = send(stack, "GET", "/items", client="127.0.0.23", headers=portal)
    assert granted.headers["access-control-allow-origin"] == stack.api_url


def test_trace_is_405(stack: LocalStack) -> None:
    for path in ("/items", "/applications", "/verify"):
        assert send(stack, "TRACE", path, client="127.0.0.24").status == 405


def test_api_answers_are_not_sniffed_or_stored(stack: LocalStack) -> None:
    for path in ("/items", "/trust", "/verify/SW-0000-000000"):
        headers = send(stack, "GET", path, client="127.0.0.25").headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
    # Personal or per-request data is not kept by caches on the way; the public trust anchors choose
    # their own caching.
    assert send(stack, "GET", "/items", client="127.0.0.25").headers["cache-control"] == "no-store"


# ------------------------------------------------------------------ item 8: the pages' headers and framing


def test_every_page_has_csp_no_framing_nosniff_referrer_policy_and_hsts(stack: LocalStack) -> None:
    for page in PAGES:
        answer = send(stack, "GET", f"/web/{page}", client="127.0.0.31")
        assert answer.status == 200, page
        h = answer.headers
        csp = h["content-security-policy"]
        assert "frame-ancestors 'none'" in csp, page
        assert "script-src 'self'" in csp, page
        assert "unsafe-inline" not in csp, page
        assert h["x-frame-options"] == "DENY", page
        assert h["x-content-type-options"] == "nosniff", page
        assert h["referrer-policy"] == "no-referrer", page
        assert h["strict-transport-security"].startswith("max-age="), page


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@contextmanager
def framing_site(target: str) -> Iterator[str]:
    """Another origin (its own server on loopback) whose page frames `target`."""
    page = f'<!doctype html><iframe id="f" src="{target}" width="800" height="600"></iframe>'.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the http.server interface
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        thread.join(5)


def test_the_desk_cannot_be_framed(stack: LocalStack, browser: Any) -> None:
    """Clickjacking: another site frames the desk under its own buttons."""
    context = browser.new_context()
    try:
        page = watch(context.new_page())
        with framing_site(f"{stack.api_url}/web/desk/index.html") as site:
            page.goto(site)
            page.wait_for_timeout(1500)
            framed = [f for f in page.frames if f != page.main_frame]
            assert framed, "the framing page has its iframe"
            for frame in framed:
                try:
                    loaded = frame.evaluate("() => !!document.querySelector('#main, header.site')")
                except Exception:  # Chromium's error page in place of the refused document
                    loaded = False
                assert not loaded, "the desk rendered inside another site's frame"
    finally:
        context.close()


def test_pages_run_under_their_csp_without_violations(stack: LocalStack, browser: Any) -> None:
    """No inline script or style is left for the CSP to refuse, and the scripts do run (texts painted)."""
    context = browser.new_context(locale="zh-CN")
    try:
        for name in PAGES:
            page = watch(context.new_page())
            page.goto(f"{stack.api_url}/web/{name}")
            page.wait_for_load_state("networkidle")
            painted = page.evaluate("() => document.documentElement.getAttribute('lang')")
            assert painted, name
            assert page.csp_violations == [], name
            assert page.js_errors == [], name
            page.close()
        # The sign-in form of the portal signs in through the same-origin token endpoint.
        page = watch(context.new_page())
        page.goto(f"{stack.api_url}/web/portal/index.html")
        page.wait_for_load_state("networkidle")
        assert page.csp_violations == []
    finally:
        context.close()


def test_an_injected_inline_script_does_not_run(stack: LocalStack, browser: Any) -> None:
    """What the CSP is for: markup that slips into a page cannot run script or read the token."""
    context = browser.new_context()
    try:
        page = watch(context.new_page())
        page.goto(f"{stack.api_url}/web/portal/index.html")
        page.wait_for_load_state("networkidle")
        page.evaluate(
            """() => {
                // As an injection would arrive: an inline handler, an inline script, HTML into a sink.
                // Each is refused (Trusted Types: a thrown TypeError; CSP: not run), so each is tried.
                try {
                    const img = document.createElement('img');
                    img.setAttribute('onerror', 'window.__pwned = 1');
                    img.setAttribute('src', 'data:,x');
                    document.body.appendChild(img);
                } catch (e) { /* Trusted Types refuse the string */ }
                try {
                    const s = document.createElement('script');
                    s.text = 'window.__pwned = 2';
                    document.body.appendChild(s);
                } catch (e) { /* Trusted Types refuse the string */ }
                try {
                    const html = '<img src="data:,y" onerror="window.__pwned = 3">';
                    document.body.insertAdjacentHTML('beforeend', html);
                } catch (e) { /* Trusted Types refuse the string */ }
            }"""
        )
        page.wait_for_timeout(500)
        assert page.evaluate("() => window.__pwned") is None
        assert page.csp_violations, "Chromium reports the refused inline code"
    finally:
        context.close()
