"""Issue 14 item 7: who may correct what was read from a material, and what a correction may not do.

Attacks through the api function's handler against moto: an applicant correcting the reading of its
own document (to slip a value past the reviewer), a two-group account or a reviewer bound to the
applicant correcting readings on that application, an invalid value, a material of another
application named under this one, an e-licence "corrected", and a replayed correction counted twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.api_helpers import USCC_A, USCC_B, Aws, Client, catalogued, moto_aws

both = Client("two-hats", ("applicant", "reviewer"), uscc=(USCC_A,), id_number=None)
applicant = Client("applicant-a", uscc=(USCC_A,), id_number=None)
other_applicant = Client("applicant-b", uscc=(USCC_B,), id_number=None)
reviewer = Client("reviewer-1", ("reviewer",))
interested = Client("reviewer-2", ("reviewer",), uscc=(USCC_A,), id_number=None)
admin = Client("admin-1", ("admin",))

UNSURE = {
    "code": "field_uncertain",
    "zh": "置信度低。",
    "en": "Low confidence.",
    "field": "legal_representative",
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with moto_aws(monkeypatch) as stack:
        yield stack


def submitted(aws: Aws, owner: Client, uscc: str = USCC_A) -> tuple[str, str]:
    reply = owner.post(
        "/applications",
        body={
            "item_code": "outbound-investment-filing",
            "applicant": {"kind": "enterprise", "uscc": uscc, "name": "深圳市示例贸易有限公司"},
        },
    )
    assert reply.status == 201, reply.body
    app_id = str(reply.body["id"])
    catalogued(aws, owner, app_id, "application", "application_form")
    licence = catalogued(
        aws,
        owner,
        app_id,
        "business_licence",
        "business_licence",
        {"uscc": uscc, "legal_representative": "张三丰"},
    )
    aws.set_material(app_id, "business_licence", licence, status="needs_attention", problems=[UNSURE])
    reply = owner.post(f"/applications/{app_id}/submit")
    assert reply.status == 200, reply.body
    return app_id, licence


def correct(client: Client, app_id: str, upload_id: str, **body: Any) -> Any:
    body = {"field": "legal_representative", "value": "张三", "reason": "原件为张三", **body}
    return client.post(f"/applications/{app_id}/materials/{upload_id}/corrections", body=body)


def unchanged(aws: Aws, app_id: str, upload_id: str) -> None:
    item = aws.table.get_item(Key={"PK": f"APP#{app_id}", "SK": f"MAT#business_licence#{upload_id}"})["Item"]
    assert item["fields"]["legal_representative"] == "张三丰"
    assert not item.get("corrections")
    events = reviewer.get(f"/applications/{app_id}").body["audit_trail"]
    assert "correct_field" not in [e["action"] for e in events]


def refused(reply: Any, status: int, code: str) -> None:
    assert reply.status == status, reply.body
    assert reply.body["code"] == code, reply.body
    assert reply.body["message"]["zh"], reply.body
    assert reply.body["message"]["en"], reply.body


def test_an_applicant_cannot_correct_the_reading_of_its_own_document(aws: Aws) -> None:
    app_id, licence = submitted(aws, applicant)
    refused(correct(applicant, app_id, licence), 403, "reviewer_role_required")
    refused(correct(other_applicant, app_id, licence), 403, "reviewer_role_required")
    anonymous = Client(None).post(
        f"/applications/{app_id}/materials/{licence}/corrections",
        body={"field": "legal_representative", "value": "张三", "reason": "r"},
    )
    assert anonymous.status == 401
    unchanged(aws, app_id, licence)


def test_a_reviewer_cannot_correct_readings_on_their_own_application(aws: Aws) -> None:
    app_id, licence = submitted(aws, both)
    refused(correct(both, app_id, licence), 403, "own_application")
    unchanged(aws, app_id, licence)
    assert correct(reviewer, app_id, licence).status == 200  # another member of staff may


def test_a_reviewer_bound_to_the_applicant_cannot_correct_its_readings(aws: Aws) -> None:
    app_id, licence = submitted(aws, applicant)
    refused(correct(interested, app_id, licence), 403, "party_conflict")
    unchanged(aws, app_id, licence)
    assert correct(admin, app_id, licence).status == 200  # a disinterested admin may


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("uscc", "91440300MA5F00012X", "invalid_correction"),  # fails the check characters
        ("uscc", "not a code", "invalid_correction"),
        ("legal_representative", "   ", "validation_failed"),  # blank after trimming: the schema's
        ("legal_representative", "张\u202e三", "validation_failed"),  # a bidi override
        ("material_type", "../../etc/passwd", "invalid_correction"),
    ],
)
def test_an_invalid_value_is_refused(aws: Aws, field: str, value: str, code: str) -> None:
    app_id, licence = submitted(aws, applicant)
    refused(correct(reviewer, app_id, licence, field=field, value=value), 422, code)
    unchanged(aws, app_id, licence)


def test_an_unknown_field_is_refused(aws: Aws) -> None:
    app_id, licence = submitted(aws, applicant)
    refused(correct(reviewer, app_id, licence, field="approved"), 400, "unknown_field")
    refused(correct(reviewer, app_id, licence, field="../status"), 422, "validation_failed")
    unchanged(aws, app_id, licence)


def test_a_material_of_another_application_cannot_be_named_under_this_one(aws: Aws) -> None:
    app_id, _ = submitted(aws, applicant)
    other_app, other_licence = submitted(aws, other_applicant, USCC_B)
    refused(correct(reviewer, app_id, other_licence), 404, "material_not_found")
    item = aws.table.get_item(Key={"PK": f"APP#{other_app}", "SK": f"MAT#business_licence#{other_licence}"})
    assert not item["Item"].get("corrections")


def test_an_elicence_is_not_corrected(aws: Aws) -> None:
    app_id, licence = submitted(aws, applicant)
    aws.set_material(
        app_id,
        "business_licence",
        licence,
        source="elicence",
        status="catalogued",
        problems=[],
        classification={"material_type": "business_licence", "confidence": Decimal("1")},
    )
    refused(correct(reviewer, app_id, licence), 409, "material_not_correctable")


def test_a_replayed_correction_does_no_double_work(aws: Aws) -> None:
    app_id, licence = submitted(aws, applicant)
    first = correct(reviewer, app_id, licence)
    assert first.status == 200
    assert first.body["applied"] is True
    for _ in range(3):
        again = correct(reviewer, app_id, licence)
        assert again.status == 200, again.body
        assert again.body["applied"] is False
    detail = reviewer.get(f"/applications/{app_id}").body
    assert detail["version"] == first.body["application_version"]
    [m] = [m for m in detail["materials"] if m["upload_id"] == licence]
    assert len(m["corrections"]) == 1
    assert [e["action"] for e in detail["audit_trail"]].count("correct_field") == 1
    pinned = aws.table.get_item(Key={"PK": f"APP#{app_id}", "SK": "META"})["Item"]["evidence"]
    assert [len(e.get("corrections") or []) for e in pinned if e["upload_id"] == licence] == [1]
