"""The binding loop on the local stack, over HTTP: the user pool is in moto, the local token endpoint
issues each token from the user's attributes there, and an admin's approval writes them through the
api function's Cognito adapter (AdminUpdateUserAttributes) — so the next token carries the binding."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests

from infra import samples
from infra.local import LocalStack

pytestmark = pytest.mark.xdist_group("stack")

ITEM = "technology-contract-registration"


def token(stack: LocalStack, body: dict[str, Any]) -> str:
    reply = requests.post(f"{stack.api_url}/_local/token", json=body, timeout=30)
    assert reply.status_code == 200, reply.text
    return str(reply.json()["id_token"])


def claims_of(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def call(stack: LocalStack, jwt: str, method: str, path: str, **kw: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {jwt}"}
    return requests.request(method, stack.api_url + path, headers=headers, timeout=60, **kw)


def test_the_token_endpoint_issues_the_federations_parties_and_keeps_them(stack: LocalStack) -> None:
    person = samples.sample_resident_id()
    first = claims_of(
        token(
            stack,
            {"sub": "fed-user", "groups": ["applicant"], "uscc": ["91440300MA5F0001XX"], "id_number": person},
        )
    )
    assert first["custom:uscc"] == "91440300MA5F0001XX"
    assert first["custom:id_number"] == person
    # Signing in again without them: they are the user's attributes now, not the request's.
    again = claims_of(token(stack, {"sub": "fed-user", "groups": ["applicant"]}))
    assert again["custom:uscc"] == "91440300MA5F0001XX"
    assert again["cognito:username"] == first["cognito:username"]


def test_an_approved_binding_is_in_the_next_token(stack: LocalStack) -> None:
    enterprise = samples.SampleEnterprise()
    clerk = token(stack, {"sub": "binding-clerk", "groups": ["applicant"], "name": "经办人 赵"})
    body = {
        "item_code": ITEM,
        "applicant": {"kind": "enterprise", "uscc": enterprise.uscc, "name": enterprise.name},
    }
    refused = call(stack, clerk, "POST", "/applications", json=body)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "party_not_bound"

    pdf = samples.application_form_pdf("授权委托书", enterprise)
    created = call(
        stack,
        clerk,
        "POST",
        "/bindings",
        json={"uscc": enterprise.uscc, "enterprise_name": enterprise.name, "document": {"size": len(pdf)}},
    )
    assert created.status_code == 201, created.text
    ticket = created.json()["upload"]
    posted = requests.post(
        ticket["url"], data=ticket["fields"], files={"file": ("poa.pdf", pdf, "application/pdf")}, timeout=60
    )
    assert posted.status_code in (200, 201, 204), posted.text

    admin = token(stack, {"sub": "binding-admin", "groups": ["admin"]})
    request_id = created.json()["request"]["id"]
    pending = call(stack, admin, "GET", "/bindings/pending").json()["items"]
    assert request_id in [r["id"] for r in pending]
    document = call(stack, admin, "GET", f"/bindings/{request_id}").json()["document_url"]
    assert requests.get(document, timeout=60).content == pdf
    approved = call(
        stack,
        admin,
        "POST",
        f"/bindings/{request_id}/decision",
        json={"action": "approve", "reason": "授权委托书有效"},
    )
    assert approved.status_code == 200, approved.text

    # The token in hand predates the approval; the next sign-in carries the enterprise.
    assert call(stack, clerk, "POST", "/applications", json=body).status_code == 403
    renewed = token(stack, {"sub": "binding-clerk", "groups": ["applicant"], "name": "经办人 赵"})
    assert enterprise.uscc in claims_of(renewed)["custom:uscc"].split(",")
    opened = call(stack, renewed, "POST", "/applications", json=body)
    assert opened.status_code == 201, opened.text
