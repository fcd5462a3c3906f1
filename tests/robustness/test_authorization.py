"""Authorization matrix: every route of the api and verify functions × {anonymous, applicant A,
applicant B, reviewer, admin, two-group account D}, over HTTP on the local stack (API Gateway's JWT
check included).

The parties: A is bound to enterprise E (its applications are E's), B to another enterprise only, D is
in the applicant and reviewer groups and bound to E as well (a member of staff who acts for E), the
reviewer and the admin to none. The claims come from the stack's user pool, as in AWS.

Rules asserted: protected routes answer 401 to an anonymous caller; applicant B gets 404 for anything
of applicant A's (the same answer as for something that does not exist) and 403 when it opens an
application for E; applicants get 403 on reviewer routes; the owner and reviewers get through (a
business-rule answer such as 409 or 422 on a request that is allowed but not possible now counts as
"through"); the licence lifecycle and binding decisions are the admin's; D may not decide on E's
application (separation of duties) but, bound to E, sees E's licence. Public routes answer everyone.
The route list comes from the API's own OpenAPI document and the stack's routes, so a new route that
is not in the matrix fails the test.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from onestop.identifiers.uscc import compose_uscc

from bench.bench_load import Portal
from infra import samples
from infra.local import LocalStack

pytestmark = [pytest.mark.xdist_group("stack"), pytest.mark.slow, pytest.mark.timeout(600)]

ITEM = "technology-contract-registration"
E = samples.SampleEnterprise()  # A's enterprise (and D's)
ANON, A, B, R = "anonymous", "applicant_a", "applicant_b", "reviewer"
ADM, D = "admin", "two_groups"
OTHER_USCC = compose_uscc("91440300", "MA5FMX02")  # B's enterprise
NEW_USCC = compose_uscc("91440300", "MA5FMX03")  # what the binding rows ask for
THROUGH = (200, 201, 204, 409, 422)  # authorized; the answer is about the request itself

BAD_REVIEW = {
    "level": "dissatisfied",
    "indicators": {
        "overall_satisfaction": 2,
        "efficiency": 2,
        "guidance_accuracy": 3,
        "convenience": 2,
        "platform_usability": 3,
    },
    "comment": "等待时间太长",
}


@dataclass(frozen=True)
class Row:
    """One route: how to call it, and what each caller must get (a code or a set of codes)."""

    method: str
    path: str  # OpenAPI template; {placeholders} filled from the world below
    expect: Mapping[str, int | tuple[int, ...]]
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] | None = None


Expect = int | tuple[int, ...]


def _protected(
    owner: Expect,
    other: Expect,
    reviewer: Expect,
    admin: Expect | None = None,
    dual: Expect | None = None,
) -> Mapping[str, Expect]:
    """What each caller gets; the admin gets what a reviewer does and D what the owner's colleague
    who reviews does, unless said otherwise."""
    return {
        ANON: 401,
        A: owner,
        B: other,
        R: reviewer,
        ADM: reviewer if admin is None else admin,
        D: reviewer if dual is None else dual,
    }


PUBLIC: Mapping[str, Expect] = {ANON: 200, A: 200, B: 200, R: 200, ADM: 200, D: 200}

MATRIX: list[Row] = [
    Row("GET", "/items", PUBLIC),
    Row("GET", "/items/{item}", PUBLIC),
    Row("GET", "/openapi.json", PUBLIC),
    Row("GET", "/docs", PUBLIC),
    Row("GET", "/applications", _protected(200, 200, THROUGH)),
    # For E (A's and D's enterprise): B is not bound to it.
    Row("POST", "/applications", _protected(201, 403, 403, 403, 201), body="create"),
    # Each for its own enterprise (B: its own; staff have no enterprise of their own here).
    Row("POST", "/applications", _protected(201, 201, 403, 403, 201), body="create_own"),
    Row("GET", "/applications/{application_id}", _protected(200, 404, 200)),
    # The window's applications of a party: only accounts bound to it (A and D are bound to E).
    Row("GET", f"/applications/window?party={E.uscc}", _protected(200, 403, 403, 403, 200)),
    Row(
        "POST",
        "/applications/{application_id}/materials/{slot}/uploads",
        _protected(201, 404, 403, 403, 403),
        body={"filename": "a.pdf", "content_type": "application/pdf", "size": 1000},
    ),
    Row(
        "POST",
        "/applications/{application_id}/materials/{slot}/elicence",
        _protected(THROUGH, 404, 403, 403, 403),
        body="elicence",
    ),
    Row(
        "DELETE",
        "/applications/{application_id}/materials/{slot}/uploads/{upload_id}",
        _protected(204, 404, 403, 403, 403),
    ),
    Row("POST", "/applications/{application_id}/submit", _protected(422, 404, 403, 403, 403)),
    Row("POST", "/applications/{withdrawable}/withdraw", _protected(200, 404, 403, 403, 403), body={}),
    Row(
        "POST",
        "/applications/{application_id}/decision",
        # D is bound to E: no decision on E's application (party_conflict), whatever its state.
        _protected(403, 403, 409, 409, 403),
        body={"action": "approve"},
    ),
    Row(
        "POST",
        "/applications/{application_id}/materials/{upload_id}/corrections",
        # Reviewers only (applicants 403), never D on E's application (separation of duties).
        _protected(403, 403, THROUGH, THROUGH, 403),
        body={"field": "material_type", "value": "other", "reason": "核对授权矩阵"},
    ),
    Row("GET", "/review/queue", _protected(403, 403, 200)),
    Row("GET", "/licences/{licence_id}", _protected(200, 404, 200)),
    Row(
        "POST",
        "/licences/{licence_id}/lifecycle",
        # The admin group's alone; reinstating a valid licence is then a 409.
        _protected(403, 403, 403, 409, 403),
        body={"action": "reinstate", "reason": "核对授权矩阵"},
    ),
    Row("POST", "/applications/{finished}/review", _protected(201, 404, 403, 403, 403), body=BAD_REVIEW),
    Row("GET", "/applications/{reviewed}/review", _protected(200, 404, 200)),
    Row("GET", "/cases", _protected(403, 403, 200)),
    Row("GET", "/cases/{case_id}", _protected(403, 403, 200)),
    Row(
        "POST",
        "/cases/{case_id}/steps",
        _protected(403, 403, 200, THROUGH, THROUGH),
        body={"step": "verify", "note": "已核实"},
    ),
    Row("GET", "/stats", _protected(403, 403, 200)),
    # A already asked for this enterprise in the world (409 binding_pending while it waits).
    Row("POST", "/bindings", _protected((201, 409), 201, 403, 403, 201), body="binding"),
    Row("GET", "/bindings", _protected(200, 200, 200)),
    Row("GET", "/bindings/pending", _protected(403, 403, 403, 200, 403)),
    Row("GET", "/bindings/{binding_id}", _protected(200, 404, 404, 200, 404)),
    Row(
        "POST",
        "/bindings/{binding_id}/decision",
        _protected(403, 403, 403, 200, 403),
        body={"action": "reject", "reason": "核对授权矩阵"},
    ),
    # The catalogue's versions: the admin group's alone. The admin's changes are refused on their
    # content (422: an invalid item or YAML; 404: no such base version), so the matrix changes nothing.
    Row("GET", "/admin/catalogue/versions", _protected(403, 403, 403, 200, 403)),
    Row("GET", "/admin/catalogue/versions/{catalogue_version}", _protected(403, 403, 403, 200, 403)),
    Row("GET", "/admin/catalogue/versions/{catalogue_version}/export", _protected(403, 403, 403, 200, 403)),
    Row(
        "POST",
        "/admin/catalogue/items",
        _protected(403, 403, 403, 422, 403),
        body={"base_version": 1, "item": {"code": "matrix-item"}},
    ),
    Row(
        "PUT",
        "/admin/catalogue/items/{item}",
        _protected(403, 403, 403, 422, 403),
        body={"base_version": 1, "item": {"code": ITEM}},
    ),
    Row(
        "POST",
        "/admin/catalogue/items/{item}/retire",
        _protected(403, 403, 403, 404, 403),  # no such version to retire it from
        body={"base_version": 999999},
    ),
    Row(
        "POST",
        "/admin/catalogue/import",
        _protected(403, 403, 403, 422, 403),
        body={"base_version": 1, "yaml": "items: []"},
    ),
    # Work assignment (issue 18.5): reviewers claim and release (a draft is not in the queue: 409);
    # reassigning is the admin's; the reviewer list is the admin's to pick from.
    # Y (decided) is no longer claimable: 409 for those allowed to try.
    Row("GET", "/applications/{reviewed}/assignment", _protected(403, 403, 200)),
    Row("POST", "/applications/{reviewed}/claim", _protected(403, 403, THROUGH, THROUGH, 403)),
    # Releasing is no decision: D (bound to E) is told there is nothing to release, like any reviewer.
    Row("POST", "/applications/{reviewed}/release", _protected(403, 403, THROUGH)),
    Row(
        "POST",
        "/applications/{reviewed}/assignee",
        _protected(403, 403, 403, THROUGH, 403),
        body={"reviewer": "matrix-reviewer", "reason": "核对授权矩阵"},
    ),
    Row("GET", "/review/reviewers", _protected(403, 403, 403, 200, 403)),
    # The legal clock (issue 18.4): the owner and reviewers read it; reviewers pause and ask for the
    # extension, the admin decides it (a draft's clock does not run: 409).
    Row("GET", "/applications/{application_id}/clock", _protected(200, 404, 200)),
    Row(
        "POST",
        "/applications/{application_id}/clock/pauses",
        _protected(403, 403, THROUGH, THROUGH, 403),
        body={"procedure": "hearing", "reason": {"zh": "核对授权矩阵", "en": "authorization matrix"}},
    ),
    Row(
        "POST",
        "/applications/{application_id}/clock/pauses/{pause}/end",
        _protected(403, 403, (*THROUGH, 404), (*THROUGH, 404), 403),
        body={},
    ),
    Row(
        "POST",
        "/applications/{application_id}/clock/extension",
        _protected(403, 403, THROUGH, THROUGH, 403),
        body={"days": 5, "reason": {"zh": "核对授权矩阵", "en": "authorization matrix"}},
    ),
    Row(
        "POST",
        "/applications/{application_id}/clock/extension/decision",
        _protected(403, 403, 403, (*THROUGH, 404), 403),
        body={"decision": "refuse", "reason": {"zh": "核对授权矩阵", "en": "authorization matrix"}},
    ),
    # Notifications (issue 18.2): one's own preferences and inbox, whoever one is.
    Row("GET", "/me/notification-preferences", _protected(200, 200, 200)),
    Row(
        "PUT",
        "/me/notification-preferences",
        _protected(200, 200, 200),
        body={"channels": ["email"], "language": "zh"},
    ),
    Row("GET", "/me/inbox", _protected(200, 200, 200)),
    # A's own inbox item: nobody else's to mark (404, as for one that does not exist).
    Row("POST", "/me/inbox/{inbox_item}/read", _protected(200, 404, 404)),
    Row("POST", "/verify", PUBLIC, raw=b"licence", headers={"Content-Type": "application/pdf"}),
    Row("GET", "/verify/{licence_id}", PUBLIC, headers={"Accept": "application/json"}),
    Row("GET", "/trust", PUBLIC),
    # public; a type with no published list answers 404 to everyone alike (lists appear asynchronously)
    Row("GET", "/status-lists/{no_list_type}", {ANON: 404, A: 404, B: 404, R: 404, ADM: 404, D: 404}),
]


def _template(path: str) -> str:
    """`/applications/{withdrawable}/withdraw` → `/applications/{}/withdraw` (names do not matter)."""
    return re.sub(r"\{[^}]+\}", "{}", path.split("?", 1)[0])


@dataclass
class World:
    portals: dict[str, Portal]
    values: dict[str, str]
    licence_pdf: bytes


def _wait(what: str, probe: Any, timeout_s: float = 180) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def world(robust_stack: LocalStack) -> World:
    stack = robust_stack
    portals = {
        ANON: Portal(stack.api_url, None),
        A: Portal(stack.api_url, stack.token("matrix-applicant-a", ["applicant"], "A", uscc=[E.uscc])),
        B: Portal(stack.api_url, stack.token("matrix-applicant-b", ["applicant"], "B", uscc=[OTHER_USCC])),
        R: Portal(stack.api_url, stack.token("matrix-reviewer", ["reviewer"], "R")),
        ADM: Portal(stack.api_url, stack.token("matrix-admin", ["admin"], "ADM")),
        D: Portal(
            stack.api_url, stack.token("matrix-two-groups", ["applicant", "reviewer"], "D", uscc=[E.uscc])
        ),
    }
    a, r = portals[A], portals[R]
    enterprise = E
    # Y: approved, with a licence, reviewed badly (so it has a rectification case).
    approved = a.create(ITEM, enterprise)["id"]
    a.upload(
        approved,
        "application",
        "a.pdf",
        samples.application_form_pdf("技术进出口合同登记", enterprise),
        "application/pdf",
    )
    a.upload(approved, "contract", "c.pdf", samples.contract_pdf(enterprise), "application/pdf")
    a.upload(approved, "business_licence", "b.png", samples.business_licence_png(enterprise), "image/png")
    detail = a.wait_processed(approved, 3, 180)
    assert [m["status"] for m in detail["materials"]] == ["catalogued"] * 3, detail["materials"]
    assert a.request("x", "POST", f"/applications/{approved}/submit").status_code == 200
    for action in ("accept", "approve"):
        reply = r.request("x", "POST", f"/applications/{approved}/decision", json={"action": action})
        assert reply.status_code == 200, reply.text
    licence_id = _wait("the licence", lambda: a.detail(approved).get("licence_id"))
    licence = a.request("x", "GET", f"/licences/{licence_id}").json()
    pdf = requests.get(licence["download_url"], timeout=60).content
    reply = a.request("x", "POST", f"/applications/{approved}/review", json=BAD_REVIEW)
    assert reply.status_code == 201, reply.text
    cases = r.request("x", "GET", "/cases").json()["items"]
    case_id = next(c["id"] for c in cases if c["application_id"] == approved)
    # X: a draft with one upload slot in use; W: a draft to withdraw; Z: withdrawn (finished, unreviewed).
    draft = a.create(ITEM, enterprise)["id"]
    ticket = a.request(
        "x",
        "POST",
        f"/applications/{draft}/materials/contract/uploads",
        json={"filename": "c.pdf", "content_type": "application/pdf", "size": 1000},
    ).json()
    binding = a.request(
        "x",
        "POST",
        "/bindings",
        json={"uscc": NEW_USCC, "enterprise_name": "深圳市矩阵测试有限公司", "document": {"size": 1000}},
    )
    assert binding.status_code == 201, binding.text
    withdrawable = a.create(ITEM, enterprise)["id"]
    finished = a.create(ITEM, enterprise)["id"]
    assert a.request("x", "POST", f"/applications/{finished}/withdraw", json={}).status_code == 200
    values = {
        "no_list_type": "91440300MA5F000181999",  # well-formed type code, no licence of it
        "item": ITEM,
        "catalogue_version": "1",
        "application_id": draft,
        "slot": "contract",
        "upload_id": ticket["upload_id"],
        "withdrawable": withdrawable,
        "finished": finished,
        "reviewed": approved,
        "licence_id": licence_id,
        "case_id": case_id,
        "binding_id": binding.json()["request"]["id"],
        # The notify function told A of Y's acceptance, approval and licence (asynchronously).
        "inbox_item": _wait("A's inbox", lambda: a.request("x", "GET", "/me/inbox").json()["items"])[0]["id"],
        "pause": "1",  # Y has no pause: the number is refused on its content
    }
    return World(portals, values, pdf)


def _call(world: World, who: str, row: Row) -> requests.Response:
    path = row.path.format(**world.values)
    kwargs: dict[str, Any] = {"headers": row.headers or {}}
    if row.body == "create":
        kwargs["json"] = {
            "item_code": ITEM,
            "applicant": {"kind": "enterprise", "uscc": E.uscc, "name": E.name},
        }
    elif row.body == "create_own":
        uscc = OTHER_USCC if who == B else E.uscc
        kwargs["json"] = {
            "item_code": ITEM,
            "applicant": {"kind": "enterprise", "uscc": uscc, "name": "自有企业"},
        }
    elif row.body == "binding":
        kwargs["json"] = {
            "uscc": NEW_USCC,
            "enterprise_name": "深圳市矩阵测试有限公司",
            "document": {"size": 1000},
        }
    elif row.body == "elicence":
        kwargs["json"] = {"licence_id": world.values["licence_id"]}
    elif row.body is not None:
        kwargs["json"] = row.body
    if row.raw is not None:
        kwargs["data"] = world.licence_pdf
    return world.portals[who].request("matrix", row.method, path, **kwargs)


def test_matrix_covers_every_route(robust_stack: LocalStack) -> None:
    spec = requests.get(robust_stack.api_url + "/openapi.json", timeout=30).json()
    documented = {
        (method.upper(), _template(path))
        for path, ops in spec["paths"].items()
        for method in ops
        if method in ("get", "post", "put", "patch", "delete")
    }
    verify_routes = {
        (r.method, _template(r.path)) for r in robust_stack.routes if r.function == "VerifyFunction"
    }
    public_gateway = {(r.method, _template(r.path)) for r in robust_stack.routes if not r.authorized}
    covered = {(row.method, _template(row.path)) for row in MATRIX}
    missing = (documented | verify_routes | public_gateway) - covered
    assert not missing, f"routes without a row in the authorization matrix: {sorted(missing)}"


# Callers in this order: a row's owner call may change state (withdraw, review, delete), so it goes last;
# the admin's binding decision comes after everyone it must not be decided for.
ORDER = (ANON, B, R, D, ADM, A)


@pytest.mark.parametrize("row", MATRIX, ids=lambda r: f"{r.method} {r.path}")
def test_route_answers_each_caller_as_the_rules_say(world: World, row: Row) -> None:
    got = {}
    for who in ORDER:
        response = _call(world, who, row)
        got[who] = response.status_code
        expected = row.expect[who]
        allowed = expected if isinstance(expected, tuple) else (expected,)
        assert response.status_code in allowed, (
            f"{who}: {row.method} {row.path} → {response.status_code}, expected {expected}: "
            f"{response.text[:300]}"
        )
        is_json = response.headers.get("Content-Type", "").startswith("application/json")
        if response.status_code >= 400 and is_json:
            message = response.json().get("message")
            # The API's error shape; the gateway's own 401 is {"message": "Unauthorized"}, as AWS's is.
            if isinstance(message, dict):
                assert message.get("zh"), message
                assert message.get("en"), message
    if row.expect[B] == 404 and "{licence_id}" not in row.path:
        # B's 404 must be the answer for something that does not exist: nothing confirms A's exists.
        missing = dict(world.values)
        for key in ("application_id", "withdrawable", "finished", "reviewed", "upload_id", "binding_id"):
            missing[key] = "0" * 32
        missing["inbox_item"] = "20000101T000000Z-" + "0" * 16
        ghost = World(world.portals, missing, world.licence_pdf)
        as_b, as_missing = _call(world, B, row), _call(ghost, A, row)
        assert as_missing.status_code == 404
        assert as_b.json()["code"] == as_missing.json()["code"]
        assert as_b.json()["message"] == as_missing.json()["message"]
