"""A reviewer corrects what was read from a material (issue 14 item 7), through the api function's
handler against moto: the value and the type, with a reason; the field-level audit; the problems
settled and the material catalogued; the correction beside the pinned evidence (hashes unchanged),
in the approval event and so on the licence; a decision on the version read before a correction 409s."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from .api_helpers import USCC_A, USCC_B, Aws, Client, catalogued, moto_aws, new_application

alice = Client("alice-sub")
reviewer = Client("reviewer-1", ("reviewer",))

LEGAL_REP_UNSURE = {
    "code": "field_uncertain",
    "zh": "法定代表人识别置信度低。",
    "en": "The legal representative was read with low confidence.",
    "field": "legal_representative",
}
USCC_WRONG = {
    "code": "uscc_not_applicant",
    "zh": "统一社会信用代码与申请人的不一致。",
    "en": "The code is not the applicant's.",
    "field": "uscc",
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with moto_aws(monkeypatch) as stack:
        yield stack


def submitted_with_problems(aws: Aws) -> tuple[str, str, str]:
    """A submitted application whose business licence was read with two problems; (app, licence, form)."""
    app = new_application(alice)
    form = catalogued(aws, alice, app["id"], "application", "application_form")
    licence = catalogued(
        aws,
        alice,
        app["id"],
        "business_licence",
        "business_licence",
        {"uscc": USCC_A, "enterprise_name": "深圳市示例贸易有限公司", "legal_representative": "张三丰"},
    )
    aws.set_material(
        app["id"],
        "business_licence",
        licence,
        original={"sha256": "a" * 64, "version_id": "v1"},
        status="needs_attention",
        problems=[LEGAL_REP_UNSURE],
        field_readings={
            "legal_representative": {
                "value": "张三丰",
                "confidence": Decimal("0.41"),
                "page": 0,
                "box": [Decimal("0.2"), Decimal("0.3"), Decimal("0.4"), Decimal("0.34")],
                "source": "ocr",
            }
        },
    )
    reply = alice.post(f"/applications/{app['id']}/submit")
    assert reply.status == 200, reply.body
    return app["id"], licence, form


def correct(client: Client, app_id: str, upload_id: str, **body: Any) -> Any:
    return client.post(f"/applications/{app_id}/materials/{upload_id}/corrections", body=body)


def material(detail: dict[str, Any], upload_id: str) -> dict[str, Any]:
    return next(m for m in detail["materials"] if m["upload_id"] == upload_id)


def test_a_reviewer_corrects_a_value_with_a_field_level_audit(aws: Aws) -> None:
    app_id, licence, _ = submitted_with_problems(aws)
    before = reviewer.get(f"/applications/{app_id}").body
    assert material(before, licence)["readings"]["legal_representative"]["box"] == [0.2, 0.3, 0.4, 0.34]

    reply = correct(
        reviewer, app_id, licence, field="legal_representative", value="张三", reason="原件为张三"
    )
    assert reply.status == 200, reply.body
    assert reply.body["applied"] is True
    c = reply.body["correction"]
    assert (c["field"], c["old"], c["new"], c["actor"], c["actor_role"]) == (
        "legal_representative",
        "张三丰",
        "张三",
        "reviewer-1",
        "reviewer",
    )
    assert c["resolved"] == ["field_uncertain"]

    detail = reviewer.get(f"/applications/{app_id}").body
    m = material(detail, licence)
    assert m["status"] == "catalogued"  # no open problem left
    assert m["fields"]["legal_representative"] == "张三"
    assert m["fields_as_read"]["legal_representative"] == "张三丰"
    assert m["problems"] == []
    assert [p["code"] for p in m["resolved_problems"]] == ["field_uncertain"]
    assert [x["id"] for x in m["corrections"]] == [c["id"]]
    # the audit trail: who, when, old → new, why; the application moved one version on
    entry = detail["audit_trail"][-1]
    assert entry["action"] == "correct_field"
    assert entry["actor"] == "reviewer-1"
    assert entry["actor_role"] == "reviewer"
    assert "legal_representative: 张三丰 → 张三" in entry["comment"]
    assert entry["reasons"][0]["field"] == "materials.business_licence.legal_representative"
    assert detail["version"] == before["version"] + 1
    # the bytes pinned at submission are unchanged; the correction is listed beside them
    pinned = aws.table.get_item(Key={"PK": f"APP#{app_id}", "SK": "META"})["Item"]["evidence"]
    entry_of = next(e for e in pinned if e["upload_id"] == licence)
    assert entry_of["sha256"] == "a" * 64
    assert entry_of["version_id"] == "v1"
    assert [x["new"] for x in entry_of["corrections"]] == ["张三"]


def test_a_replayed_correction_does_no_double_work(aws: Aws) -> None:
    app_id, licence, _ = submitted_with_problems(aws)
    body = {"field": "legal_representative", "value": "张三", "reason": "原件为张三"}
    first = correct(reviewer, app_id, licence, **body)
    assert first.status == 200
    version = first.body["application_version"]
    again = correct(reviewer, app_id, licence, **body)
    assert again.status == 200, again.body
    assert again.body["applied"] is False
    assert again.body["correction"] is None
    detail = reviewer.get(f"/applications/{app_id}").body
    assert detail["version"] == version
    assert len(material(detail, licence)["corrections"]) == 1
    assert [e["action"] for e in detail["audit_trail"]].count("correct_field") == 1


def test_confirming_an_uncertain_value_settles_it_without_changing_it(aws: Aws) -> None:
    app_id, licence, _ = submitted_with_problems(aws)
    reply = correct(
        reviewer, app_id, licence, field="legal_representative", value="张三丰", reason="与原件一致"
    )
    assert reply.status == 200, reply.body
    assert reply.body["applied"] is True
    assert (reply.body["correction"]["old"], reply.body["correction"]["new"]) == ("张三丰", "张三丰")
    assert reply.body["material"]["status"] == "catalogued"


def test_a_value_failing_its_validator_is_refused_and_nothing_changes(aws: Aws) -> None:
    app_id, licence, _ = submitted_with_problems(aws)
    wrong_check = USCC_A[:-1] + ("0" if USCC_A[-1] != "0" else "1")
    reply = correct(reviewer, app_id, licence, field="uscc", value=wrong_check, reason="照片看不清")
    assert reply.status == 422, reply.body
    assert reply.body["code"] == "invalid_correction"
    assert all(d["field"] == "value" and d["zh"] and d["en"] for d in reply.body["details"])
    detail = reviewer.get(f"/applications/{app_id}").body
    assert material(detail, licence)["fields"]["uscc"] == USCC_A
    assert material(detail, licence)["corrections"] == []


def test_an_unknown_field_is_a_400_naming_what_may_be_corrected(aws: Aws) -> None:
    app_id, licence, _ = submitted_with_problems(aws)
    reply = correct(reviewer, app_id, licence, field="shoe_size", value="42", reason="x")
    assert reply.status == 400, reply.body
    assert reply.body["code"] == "unknown_field"
    assert "legal_representative" in reply.body["message"]["en"]


def test_a_corrected_code_that_is_not_the_applicants_stays_a_problem(aws: Aws) -> None:
    app_id, licence, _ = submitted_with_problems(aws)
    reply = correct(reviewer, app_id, licence, field="uscc", value=USCC_B, reason="原件代码")
    assert reply.status == 200, reply.body
    m = reply.body["material"]
    assert m["fields"]["uscc"] == USCC_B
    assert "uscc_not_applicant" in [p["code"] for p in m["problems"]]  # the catalogue's cross-check
    assert m["status"] == "needs_attention"


def test_the_type_is_corrected_and_a_mismatch_verdict_overridden(aws: Aws) -> None:
    app_id, _, form = submitted_with_problems(aws)
    aws.set_material(
        app_id,
        "application",
        form,
        status="needs_attention",
        classification={"material_type": "other", "confidence": Decimal("0.2")},
        problems=[{"code": "material_type_mismatch", "zh": "类型不符。", "en": "Not the slot's type."}],
    )
    reply = correct(
        reviewer, app_id, form, field="material_type", value="application_form", reason="是申请表"
    )
    assert reply.status == 200, reply.body
    m = reply.body["material"]
    assert m["classification"]["material_type"] == "application_form"
    assert m["status"] == "catalogued"
    assert reply.body["correction"]["old"] == "other"
    assert reply.body["correction"]["resolved"] == ["material_type_mismatch"]
    bad = correct(reviewer, app_id, form, field="material_type", value="banana", reason="x")
    assert bad.status == 422
    assert bad.body["details"][0]["code"] == "unknown_material_type"


def test_a_decision_on_the_version_read_before_a_correction_is_refused(aws: Aws) -> None:
    app_id, licence, _ = submitted_with_problems(aws)
    seen = reviewer.get(f"/applications/{app_id}").body["version"]
    assert (
        correct(reviewer, app_id, licence, field="legal_representative", value="张三", reason="r").status
        == 200
    )
    late = reviewer.post(f"/applications/{app_id}/decision", body={"action": "accept", "version": seen})
    assert late.status == 409


def test_corrections_flow_into_the_approval_event(aws: Aws) -> None:
    app_id, licence, _ = submitted_with_problems(aws)
    assert reviewer.post(f"/applications/{app_id}/decision", body={"action": "accept"}).status == 200
    assert (
        correct(reviewer, app_id, licence, field="legal_representative", value="张三", reason="r").status
        == 200
    )
    reply = reviewer.post(f"/applications/{app_id}/decision", body={"action": "approve"})
    assert reply.status == 200, reply.body
    [approved] = [e for e in aws.bus_events() if e["detail-type"] == "ApplicationApproved"]
    [entry] = [e for e in approved["detail"]["evidence"] if e["upload_id"] == licence]
    assert entry["sha256"] == "a" * 64
    [c] = entry["corrections"]
    assert (c["field"], c["old"], c["new"], c["actor"]) == (
        "legal_representative",
        "张三丰",
        "张三",
        "reviewer-1",
    )
    # once decided, nothing more is corrected
    after = correct(reviewer, app_id, licence, field="legal_representative", value="李四", reason="r")
    assert after.status == 409


# ----------------------------------------------------------------------------- the "zero error" figure


def ingested(aws: Aws, app_id: str, slot: str, material_type: str, fields: dict[str, str]) -> str:
    """A ticket, then the ingest function's own record writes (begin, complete) for its outcome."""
    from onestop.aws.material_repository import DynamoMaterialRepository
    from onestop.materials.service import MaterialRef, MaterialResult

    from .api_helpers import TABLE, upload_ticket

    reply = upload_ticket(alice, app_id, slot)
    assert reply.status == 201, reply.body
    ref = MaterialRef(app_id, slot, str(reply.body["upload_id"]))
    repository = DynamoMaterialRepository(TABLE)
    original = {"bucket": "b", "key": reply.body["key"], "version_id": "v1", "size": 1000, "sha256": "b" * 64}
    assert repository.begin_processing(ref, original)
    result = MaterialResult(
        status="catalogued",
        reason=None,
        original=original,
        classification={"material_type": material_type, "confidence": 0.9},
        fields=fields,
        problems=(),
        normalised=None,
        manifest_key=None,
    )
    assert repository.complete(ref, result)
    return ref.upload_id


def test_stats_show_the_correction_rate_per_material_type(aws: Aws) -> None:
    app = new_application(alice)
    ingested(aws, app["id"], "application", "application_form", {"applicant_name": "深圳市示例贸易有限公司"})
    licence = ingested(
        aws,
        app["id"],
        "business_licence",
        "business_licence",
        {"uscc": USCC_A, "legal_representative": "张三丰"},
    )
    assert alice.post(f"/applications/{app['id']}/submit").status == 200
    before = reviewer.get("/stats").body["materials"]
    assert before["totals"]["catalogued"] == 2
    assert before["totals"]["corrected"] == 0
    assert before["totals"]["zero_error_rate"] == 1.0

    assert (
        correct(reviewer, app["id"], licence, field="legal_representative", value="张三", reason="r").status
        == 200
    )
    assert correct(reviewer, app["id"], licence, field="uscc", value=USCC_A, reason="核对无误").status == 200
    stats = reviewer.get("/stats")
    assert stats.status == 200, stats.body
    figures = {t["material_type"]: t for t in stats.body["materials"]["by_type"]}
    assert figures["business_licence"]["catalogued"] == 1
    assert figures["business_licence"]["corrected"] == 1
    assert figures["business_licence"]["correction_rate"] == 1.0
    assert figures["business_licence"]["field_corrections"] == {"legal_representative": 1}
    assert figures["business_licence"]["confirmations"] == 0  # the uscc was not in doubt: a replay
    assert figures["application_form"]["correction_rate"] == 0.0
    assert stats.body["materials"]["totals"]["correction_rate"] == 0.5
    assert stats.body["materials"]["totals"]["zero_error_rate"] == 0.5
    # an applicant sees no statistics
    assert alice.get("/stats").status == 403
