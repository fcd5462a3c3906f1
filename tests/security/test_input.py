"""Issue 13 item 7, input hardening: each test sends what an outsider sent and shows it refused.

Driven through the real api handler against moto (tests/integration/api_helpers.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from onestop.identifiers.uscc import compose_uscc, make_uscc

from tests.integration.api_helpers import (
    SMALL_ITEM,
    USCC_A,
    Aws,
    Client,
    enterprise_body,
    moto_aws,
    new_application,
    upload_ticket,
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with moto_aws(monkeypatch) as stack:
        yield stack


alice = Client("alice-sub")
assert alice.claims is not None
alice.claims["custom:uscc"] = USCC_A  # bound to the enterprise it applies for (issue 13 item 1)
reviewer = Client("reviewer-1", ("reviewer",))


def _fields(reply: Any) -> list[tuple[str, str]]:
    return [(d["code"], d.get("field")) for d in reply.body.get("details", [])]


# ----------------------------------------------------------------------------- JSON nesting


@pytest.mark.parametrize("depth", [33, 1_000, 20_000])
def test_deeply_nested_json_is_malformed_json_400(aws: Aws, depth: int) -> None:
    body = json.dumps({**enterprise_body(), "x": 0}).replace("0}", "[" * depth + "]" * depth + "}")
    reply = alice.post("/applications", raw_body=body)
    assert (reply.status, reply.body["code"]) == (400, "malformed_json"), reply.body
    assert _fields(reply) == [("body_too_deep", "body")]
    assert "32" in reply.body["message"]["zh"]
    assert "32" in reply.body["message"]["en"]
    assert aws.table.scan()["Count"] == 0


# ----------------------------------------------------------------------------- invisible and control text

HOSTILE_NAMES = {
    "zero-width only": "\u200b\u200c\u200d\ufeff",
    "bidi override": "深圳示例\u202efdp.exe",
    "bidi isolate": "示例\u2066公司\u2069",
    "nul": "示例\x00公司",
    "ansi escape": "\x1b[31m示例公司\x1b[0m",
    "bell": "示例公司\x07",
    "line separator": "示例\u2028公司",
    "lone surrogate": "示例\ud800公司",
}


@pytest.mark.parametrize("name", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_names_with_invisible_or_control_characters_are_refused(aws: Aws, name: str) -> None:
    reply = alice.post("/applications", body=enterprise_body(name=name))
    assert reply.status == 422, reply.body
    [(code, field)] = _fields(reply)
    assert field == "applicant.name"
    if code == "invalid_string_unicode":  # pydantic's own refusal of a lone surrogate
        return
    assert code.startswith("invalid_text_"), code
    detail = reply.body["details"][0]
    assert "U+" in detail["zh"]
    assert "U+" in detail["en"]
    assert aws.table.scan()["Count"] == 0  # nothing stored, nothing echoed later


@pytest.mark.parametrize(
    "name",
    ["\u3000\u3000", " \u2800 ", "\u3164"],
    ids=["ideographic spaces", "braille blank", "hangul filler"],
)
def test_a_name_of_only_blank_characters_is_refused(aws: Aws, name: str) -> None:
    reply = alice.post("/applications", body=enterprise_body(name=name))
    assert reply.status == 422, reply.body
    [(code, field)] = _fields(reply)
    assert field == "applicant.name"
    assert code in {"invalid_text_blank", "invalid_string_too_short"}


def test_every_free_text_field_is_checked_not_only_the_name(aws: Aws) -> None:
    body = enterprise_body()
    body["contact"] = {"name": "张\u202e三"}
    reply = alice.post("/applications", body=body)
    assert (reply.status, _fields(reply)) == (422, [("invalid_text_format", "contact.name")])
    app = new_application(alice)
    reply = upload_ticket(alice, app["id"], "application", filename="申请书\u202eFDP.exe.pdf")
    assert (reply.status, _fields(reply)) == (422, [("invalid_text_format", "filename")])
    reply = alice.post(f"/applications/{app['id']}/withdraw", body={"comment": "bye\x1b[2J"})
    assert (reply.status, _fields(reply)) == (422, [("invalid_text_control", "comment")])


def test_multi_line_text_keeps_its_line_breaks(aws: Aws) -> None:
    app = new_application(alice)
    reply = alice.post(f"/applications/{app['id']}/withdraw", body={"comment": "第一行\n第二行\r\n\t第三行"})
    assert reply.status == 200, reply.body


def test_text_is_stored_nfc_normalised(aws: Aws) -> None:
    decomposed = "Cafe\u0301 深圳有限公司"  # e + combining acute accent
    reply = alice.post("/applications", body=enterprise_body(name=decomposed))
    assert reply.status == 201, reply.body
    assert reply.body["applicant"]["name"] == "Caf\u00e9 深圳有限公司"


# ----------------------------------------------------------------------------- USCC


@pytest.mark.parametrize(
    ("uscc", "code"),
    [
        # Both check characters right (all zeros weigh nothing): only the code table can refuse it.
        ("000000000000000000", "uscc_registration_authority"),
        # Both checks right again, but registration authority 9 (市场监管/工商) has no entity type 9.
        (compose_uscc("99440300", "MA5F0001"), "uscc_entity_type"),
        ("Y2440300" + compose_uscc("91440300", "MA5F0001")[8:], "uscc_entity_type"),
    ],
)
def test_uscc_checked_against_gb32100_codes(aws: Aws, uscc: str, code: str) -> None:
    uscc = make_uscc(uscc[:17])
    reply = alice.post("/applications", body=enterprise_body(uscc=uscc))
    assert reply.status == 422, reply.body
    assert (code, "applicant.uscc") in _fields(reply), reply.body
    detail = next(d for d in reply.body["details"] if d["code"] == code)
    assert uscc[0 if code.endswith("authority") else 1] in detail["en"]


# ----------------------------------------------------------------------------- strict integers


@pytest.mark.parametrize("size", ["1000", 1000.0, True, "1e3"], ids=["string", "float", "bool", "exp-string"])
def test_upload_size_must_be_a_json_integer(aws: Aws, size: Any) -> None:
    app = new_application(alice)
    reply = alice.post(
        f"/applications/{app['id']}/materials/application/uploads",
        body={"filename": "a.pdf", "content_type": "application/pdf", "size": size},
    )
    assert reply.status == 422, reply.body
    assert [f for _, f in _fields(reply)] == ["size"]


def test_decision_version_must_be_a_json_integer(aws: Aws) -> None:
    app = new_application(alice)
    reply = reviewer.post(f"/applications/{app['id']}/decision", body={"action": "accept", "version": "1"})
    assert reply.status == 422, reply.body
    assert [f for _, f in _fields(reply)] == ["version"]


# ----------------------------------------------------------------------------- review queue


def test_reviewers_cannot_list_drafts(aws: Aws) -> None:
    app = new_application(alice, SMALL_ITEM, USCC_A)
    reply = reviewer.get("/review/queue", query={"status": "draft"})
    assert reply.status == 422, reply.body
    assert [f for _, f in _fields(reply)] == ["status"]
    assert app["id"] not in json.dumps(reply.body)


def test_the_queue_itself_refuses_drafts() -> None:
    # The use case, not only the route: a draft is the applicant's until it is submitted.
    from onestop.applications.identity import principal_from_claims
    from onestop.applications.models import ApplicationStatus
    from onestop.applications.review_queue import queue
    from onestop.errors import Forbidden, InvalidInput

    from tests.integration.api_helpers import claims

    principal = principal_from_claims(claims("reviewer-1", ("reviewer",)))
    with pytest.raises((InvalidInput, Forbidden)) as refused:
        queue(None, principal, statuses=[ApplicationStatus.DRAFT])  # type: ignore[arg-type]
    assert refused.value.code == "status_not_reviewable"


def test_a_draft_withdrawn_before_submission_is_not_listed_either(aws: Aws) -> None:
    app = new_application(alice)
    assert alice.post(f"/applications/{app['id']}/withdraw", body={}).status == 200
    reply = reviewer.get("/review/queue", query={"status": "withdrawn"})
    assert reply.status == 200, reply.body
    assert app["id"] not in json.dumps(reply.body)
