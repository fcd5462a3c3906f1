"""Applicant routes through the Lambda handler against moto: create, list, read, upload, submit, withdraw."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from onestop.catalogue import load_catalogue

from .api_helpers import (
    BIG_ITEM,
    ID_PERSON,
    MATERIALS,
    PERSON_ITEM,
    SMALL_ITEM,
    UPLOADS,
    USCC_A,
    Aws,
    Client,
    catalogued,
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


def items_in_table(aws: Aws) -> list[dict[str, Any]]:
    # A test-only scan: proves that a refused request wrote nothing.
    return list(aws.table.scan()["Items"])


def assert_bilingual_error(body: dict[str, Any], code: str) -> None:
    assert body["code"] == code
    assert body["message"]["zh"]
    assert body["message"]["en"]
    for detail in body["details"]:
        assert detail["zh"]
        assert detail["en"]


# ----------------------------------------------------------------------------- create


def test_create_enterprise_application(aws: Aws) -> None:
    reply = alice.post("/applications", body={**enterprise_body(), "contact": {"phone": "0755-88888888"}})
    assert reply.status == 201
    body = reply.body
    assert body["status"] == "draft"
    assert body["version"] == 1
    assert body["applicant"] == {"kind": "enterprise", "code": USCC_A, "name": "深圳市示例贸易有限公司"}
    assert body["item_name"]["zh"] == load_catalogue().item(SMALL_ITEM).name_zh
    stored = aws.table.get_item(Key={"PK": f"APP#{body['id']}", "SK": "META"})["Item"]
    assert stored["owner_sub"] == "alice-sub"
    assert stored["GSI3PK"] == "OWNER#alice-sub"
    assert stored["GSI1PK"] == "STATUS#draft"
    assert stored["GSI1SK"] == f"9999#{body['id']}"
    assert stored["contact"] == {"phone": "0755-88888888"}


def test_create_person_application_normalises_the_id_number(aws: Aws) -> None:
    reply = alice.post(
        "/applications",
        body={
            "item_code": PERSON_ITEM,
            "applicant": {"kind": "person", "id_number": f" {ID_PERSON.lower()} ", "name": "李四"},
        },
    )
    assert reply.status == 201, reply.body
    assert reply.body["applicant"]["code"] == ID_PERSON


def test_invalid_uscc_is_422_on_the_field_and_writes_nothing(aws: Aws) -> None:
    broken = USCC_A[:-1] + ("0" if USCC_A[-1] != "0" else "1")
    reply = alice.post("/applications", body=enterprise_body(uscc=broken))
    assert reply.status == 422
    assert_bilingual_error(reply.body, "invalid_application")
    assert {d["field"] for d in reply.body["details"]} == {"applicant.uscc"}
    assert "uscc_check_char" in {d["code"] for d in reply.body["details"]}
    assert items_in_table(aws) == []


def test_invalid_resident_id_is_422_on_the_field(aws: Aws) -> None:
    broken = ID_PERSON[:-1] + ("0" if ID_PERSON[-1] != "0" else "1")
    reply = alice.post(
        "/applications",
        body={"item_code": PERSON_ITEM, "applicant": {"kind": "person", "id_number": broken, "name": "李四"}},
    )
    assert reply.status == 422
    assert {d["field"] for d in reply.body["details"]} == {"applicant.id_number"}
    assert items_in_table(aws) == []


@pytest.mark.parametrize("email", ["x@", "张三", "a@b@c.cn"])
def test_invalid_contact_email_is_422_on_the_field(aws: Aws, email: str) -> None:
    reply = alice.post("/applications", body={**enterprise_body(), "contact": {"email": email}})
    assert reply.status == 422
    assert reply.body["details"] == [
        {
            "code": "invalid_email",
            "zh": "contact.email：电子邮箱地址格式不正确。",
            "en": "contact.email: Not a valid e-mail address.",
            "field": "contact.email",
        }
    ]
    assert items_in_table(aws) == []


def test_contact_email_is_kept_as_given(aws: Aws) -> None:
    reply = alice.post("/applications", body={**enterprise_body(), "contact": {"email": "li.si@example.cn"}})
    assert reply.status == 201
    stored = aws.table.get_item(Key={"PK": f"APP#{reply.body['id']}", "SK": "META"})["Item"]
    assert stored["contact"] == {"email": "li.si@example.cn"}


def test_unknown_item_and_bad_uscc_are_reported_together(aws: Aws) -> None:
    reply = alice.post("/applications", body=enterprise_body(item_code="no-such-item", uscc="123"))
    assert reply.status == 422
    fields = [d["field"] for d in reply.body["details"]]
    assert fields == ["item_code", "applicant.uscc"]
    assert items_in_table(aws) == []


def test_person_cannot_apply_for_an_enterprise_only_item(aws: Aws) -> None:
    reply = alice.post(
        "/applications",
        body={
            "item_code": SMALL_ITEM,
            "applicant": {"kind": "person", "id_number": ID_PERSON, "name": "李四"},
        },
    )
    assert reply.status == 422
    assert [d["field"] for d in reply.body["details"]] == ["applicant.kind"]


def test_item_not_applicable_online_is_refused(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    from onestop.http.context import application_service

    service = application_service()
    offline = service.catalogue.item(SMALL_ITEM).model_copy(
        update={"online_depth": "II", "visits_required": 1}
    )

    class OfflineCatalogue:
        def current_version_fresh(self) -> int:
            return 1

        def at(self, version: int | None) -> OfflineCatalogue:
            return self

        def item(self, code: str) -> Any:
            return offline

    monkeypatch.setattr(service, "catalogue", OfflineCatalogue())
    reply = alice.post("/applications", body=enterprise_body())
    assert reply.status == 422
    assert reply.body["details"][0]["code"] == "item_not_online"


def test_malformed_json_is_400_in_both_languages(aws: Aws) -> None:
    reply = alice.post("/applications", raw_body='{"item_code": "x", ')
    assert reply.status == 400
    assert_bilingual_error(reply.body, "malformed_json")
    assert items_in_table(aws) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**enterprise_body(), "colour": "red"}, "colour"),
        ({"item_code": SMALL_ITEM, "applicant": {"uscc": USCC_A, "name": "x"}}, "applicant"),
        ({"item_code": SMALL_ITEM, "applicant": {"kind": "enterprise", "name": "x"}}, "applicant.uscc"),
        ({"applicant": enterprise_body()["applicant"]}, "item_code"),
        ({**enterprise_body(), "contact": {"email": "not-an-address"}}, "contact.email"),
        ([1, 2], "body"),
    ],
)
def test_schema_violations_are_field_level_422(aws: Aws, body: Any, field: str) -> None:
    reply = alice.post("/applications", body=body)
    assert reply.status == 422
    assert_bilingual_error(reply.body, "validation_failed")
    assert field in [d["field"] for d in reply.body["details"]]
    assert items_in_table(aws) == []


# ----------------------------------------------------------------------------- list and read


def test_list_mine_newest_first_with_pagination(aws: Aws) -> None:
    ids = [new_application(alice)["id"] for _ in range(3)]
    new_application(Client("bob-sub"))
    first = alice.get("/applications", query={"limit": "2"})
    assert first.status == 200
    assert [a["id"] for a in first.body["items"]] == ids[::-1][:2]
    assert first.body["next_cursor"]
    second = alice.get("/applications", query={"limit": "2", "cursor": first.body["next_cursor"]})
    assert [a["id"] for a in second.body["items"]] == ids[:1]
    if second.body["next_cursor"]:
        assert alice.get("/applications", query={"cursor": second.body["next_cursor"]}).body["items"] == []


def test_cursor_from_someone_else_or_garbage_is_422(aws: Aws) -> None:
    bob = Client("bob-sub")
    for _ in range(2):
        new_application(bob)
    bobs_cursor = bob.get("/applications", query={"limit": "1"}).body["next_cursor"]
    for cursor in [bobs_cursor, "not-a-cursor", "e30"]:
        reply = alice.get("/applications", query={"cursor": cursor})
        assert reply.status == 422, cursor
        assert reply.body["details"][0]["field"] == "cursor"


def test_get_shows_materials_audit_trail_and_open_issues(aws: Aws) -> None:
    app = new_application(alice)
    catalogued(aws, alice, app["id"], "business_licence", "business_licence", {"uscc": USCC_A})
    reply = alice.get(f"/applications/{app['id']}")
    assert reply.status == 200
    body = reply.body
    assert body["status"] == "draft"
    [material] = body["materials"]
    assert material["status"] == "catalogued"
    assert material["classification"]["material_type"] == "business_licence"
    assert material["fields"] == {"uscc": USCC_A}
    assert material["slot_name"]["zh"] == "营业执照"
    assert [e["action"] for e in body["audit_trail"]] == ["create"]
    assert [i["field"] for i in body["open_issues"]] == ["materials.application"]
    assert body["allowed_actions"] == ["submit", "withdraw"]
    assert body["item"]["code"] == SMALL_ITEM


def test_get_gives_a_download_link_for_the_normalised_pdf(aws: Aws) -> None:
    app = new_application(alice)
    upload_id = catalogued(aws, alice, app["id"], "business_licence", "business_licence")
    key = f"catalogue/{app['id']}/business_licence/{upload_id}/material.pdf"
    aws.s3.put_object(Bucket=MATERIALS, Key=key, Body=b"%PDF-1.7")
    aws.set_material(
        app["id"], "business_licence", upload_id, normalised={"bucket": MATERIALS, "key": key, "pages": 1}
    )
    [material] = alice.get(f"/applications/{app['id']}").body["materials"]
    assert material["pages"] == 1
    assert requests.get(material["download_url"], timeout=10).content == b"%PDF-1.7"


def test_unknown_and_malformed_ids(aws: Aws) -> None:
    assert alice.get("/applications/" + "0" * 32).status == 404
    reply = alice.get("/applications/not-an-id")
    assert reply.status == 422
    assert reply.body["details"][0]["field"] == "application_id"


# ----------------------------------------------------------------------------- uploads


def decode_policy(fields: dict[str, str]) -> dict[str, Any]:
    return dict(json.loads(base64.b64decode(fields["policy"])))


def test_upload_ticket_is_a_well_formed_presigned_post_that_lands_the_file(aws: Aws) -> None:
    app = new_application(alice)
    reply = upload_ticket(alice, app["id"], "business_licence", filename="../营业执照 副本.PDF", size=9)
    assert reply.status == 201, reply.body
    ticket = reply.body
    upload_id = ticket["upload_id"]
    assert ticket["method"] == "POST"
    assert ticket["key"] == f"uploads/{app['id']}/business_licence/{upload_id}/营业执照_副本.pdf"
    assert ticket["fields"]["key"] == ticket["key"]
    assert ticket["expires_in"] == 600
    assert ticket["max_bytes"] == 10 * 1024 * 1024
    assert ticket["instructions"]["zh"]
    assert ticket["instructions"]["en"]
    assert UPLOADS in ticket["url"]
    # the policy fixes key, type, size range and metadata
    conditions = decode_policy(ticket["fields"])["conditions"]
    assert {"key": ticket["key"]} in conditions
    assert {"Content-Type": "application/pdf"} in conditions
    assert ["content-length-range", 1, ticket["max_bytes"]] in conditions
    assert {"x-amz-meta-application-id": app["id"]} in conditions
    assert {"x-amz-meta-slot": "business_licence"} in conditions
    assert {"x-amz-meta-upload-id": upload_id} in conditions
    # the material record waits for the upload
    stored = aws.table.get_item(Key={"PK": f"APP#{app['id']}", "SK": f"MAT#business_licence#{upload_id}"})[
        "Item"
    ]
    assert stored["status"] == "awaiting_upload"
    assert stored["declared"] == {
        "filename": "../营业执照 副本.PDF",
        "content_type": "application/pdf",
        "size": 9,
    }
    # a real multipart POST (moto intercepts requests in-process) lands the object where the policy said
    posted = requests.post(
        ticket["url"],
        data=ticket["fields"],
        files={"file": ("x.pdf", b"%PDF-1.4\n", "application/pdf")},
        timeout=10,
    )
    assert posted.status_code in (200, 201, 204), posted.text
    head = aws.s3.head_object(Bucket=UPLOADS, Key=ticket["key"])
    assert head["ContentType"] == "application/pdf"
    assert head["Metadata"] == {
        "application-id": app["id"],
        "slot": "business_licence",
        "upload-id": upload_id,
    }


@pytest.mark.parametrize(
    ("slot", "upload", "status", "code", "field"),
    [
        ("no_such_slot", {}, 422, "unknown_material_slot", "slot"),
        (
            "business_licence",
            {"content_type": "image/gif", "filename": "a.gif"},
            422,
            "invalid_upload",
            "content_type",
        ),
        (
            "business_licence",
            {"content_type": "application/pdf", "filename": "a.png"},
            422,
            "invalid_upload",
            "filename",
        ),
        ("business_licence", {"size": 10 * 1024 * 1024 + 1}, 413, "file_too_large", "size"),
        ("business_licence", {"size": 0}, 422, "validation_failed", "size"),
    ],
)
def test_bad_upload_requests_are_refused_and_write_nothing(
    aws: Aws, slot: str, upload: dict[str, Any], status: int, code: str, field: str
) -> None:
    app = new_application(alice)
    before = items_in_table(aws)
    reply = upload_ticket(alice, app["id"], slot, **upload)
    assert reply.status == status, reply.body
    assert_bilingual_error(reply.body, code)
    assert field in [d["field"] for d in reply.body["details"]]
    assert items_in_table(aws) == before


def test_too_many_uploads_for_a_slot_is_409_until_one_is_removed(aws: Aws) -> None:
    app = new_application(alice)
    first = upload_ticket(alice, app["id"], "business_licence")
    assert first.status == 201
    second = upload_ticket(alice, app["id"], "business_licence")
    assert second.status == 409
    assert_bilingual_error(second.body, "too_many_uploads")
    removed = alice.delete(
        f"/applications/{app['id']}/materials/business_licence/uploads/{first.body['upload_id']}"
    )
    assert removed.status == 204
    assert upload_ticket(alice, app["id"], "business_licence").status == 201
    trail = alice.get(f"/applications/{app['id']}").body["audit_trail"]
    assert [e["action"] for e in trail] == ["create", "remove_material"]


def test_removing_an_unknown_upload_is_404(aws: Aws) -> None:
    app = new_application(alice)
    reply = alice.delete(f"/applications/{app['id']}/materials/business_licence/uploads/{'0' * 32}")
    assert reply.status == 404


def test_a_rejected_upload_frees_its_place(aws: Aws) -> None:
    app = new_application(alice)
    first = upload_ticket(alice, app["id"], "business_licence").body["upload_id"]
    aws.set_material(app["id"], "business_licence", first, status="rejected")
    assert upload_ticket(alice, app["id"], "business_licence").status == 201


# ----------------------------------------------------------------------------- submit and withdraw


def test_submit_with_nothing_uploaded_names_every_missing_material_at_once(aws: Aws) -> None:
    app = new_application(alice, item_code=BIG_ITEM)
    reply = alice.post(f"/applications/{app['id']}/submit")
    assert reply.status == 422
    assert_bilingual_error(reply.body, "materials_incomplete")
    required = [m for m in load_catalogue().item(BIG_ITEM).materials if m.requirement == "required"]
    assert [d["field"] for d in reply.body["details"]] == [f"materials.{m.slot}" for m in required]
    notice = reply.body["notice"]
    assert notice["count"] == len(required) == 8
    for m in required:
        assert m.name_zh in notice["zh"]
        assert m.name_en in notice["en"]
    assert alice.get(f"/applications/{app['id']}").body["status"] == "draft"


def test_notice_names_missing_rejected_mismatched_and_processing_together(aws: Aws) -> None:
    app = new_application(alice)
    upload_id = upload_ticket(alice, app["id"], "business_licence").body["upload_id"]
    aws.set_material(
        app["id"],
        "business_licence",
        upload_id,
        status="catalogued",
        classification={"material_type": "resident_id_card"},
    )
    optional = upload_ticket(alice, app["id"], "investment_decision").body["upload_id"]
    aws.set_material(app["id"], "investment_decision", optional, status="processing")
    reply = alice.post(f"/applications/{app['id']}/submit")
    assert reply.status == 422
    assert {(d["field"], d["code"]) for d in reply.body["details"]} == {
        ("materials.application", "material_missing"),
        ("materials.business_licence", "material_mismatched"),
        ("materials.investment_decision", "material_processing"),
    }


def complete(aws: Aws, client: Client, application_id: str) -> None:
    catalogued(aws, client, application_id, "application", "application_form")
    catalogued(aws, client, application_id, "business_licence", "business_licence", {"uscc": USCC_A})


def test_submit_complete_application(aws: Aws) -> None:
    app = new_application(alice)
    complete(aws, alice, app["id"])
    reply = alice.post(f"/applications/{app['id']}/submit")
    assert reply.status == 200, reply.body
    assert reply.body["status"] == "submitted"
    assert reply.body["version"] == 2
    assert (
        reply.body["acceptance_due"]["working_days"]
        == load_catalogue().item(SMALL_ITEM).correction_notice_days
    )
    stored = aws.table.get_item(Key={"PK": f"APP#{app['id']}", "SK": "META"})["Item"]
    assert stored["GSI1PK"] == "STATUS#submitted"
    assert not stored["GSI1SK"].startswith("9999")
    assert "pending_events" not in stored
    [event] = aws.bus_events()
    assert event["detail-type"] == "ApplicationSubmitted"
    assert event["detail"]["application_id"] == app["id"]
    detail = alice.get(f"/applications/{app['id']}").body
    assert [(e["action"], e["from_status"], e["to_status"]) for e in detail["audit_trail"]] == [
        ("create", None, "draft"),
        ("submit", "draft", "submitted"),
    ]
    assert detail["open_issues"] == []
    # after submission, the materials are frozen
    late = upload_ticket(alice, app["id"], "investment_decision")
    assert late.status == 409
    assert late.body["current"] == {"status": "submitted", "version": 2}
    assert alice.post(f"/applications/{app['id']}/submit").status == 409


def test_withdraw_once(aws: Aws) -> None:
    app = new_application(alice)
    reply = alice.post(f"/applications/{app['id']}/withdraw", body={"comment": "填错了事项"})
    assert reply.status == 200
    assert reply.body["status"] == "withdrawn"
    again = alice.post(f"/applications/{app['id']}/withdraw")
    assert again.status == 409
    assert_bilingual_error(again.body, "illegal_transition")
    assert again.body["current"]["status"] == "withdrawn"
    trail = alice.get(f"/applications/{app['id']}").body["audit_trail"]
    assert trail[-1]["comment"] == "填错了事项"


@pytest.mark.parametrize(
    ("content_type", "raw", "status"),
    [
        ("text/plain", "hello", 415),
        ("multipart/form-data", '{"item_code": "x"}', 415),
        ("application/json", "null", 400),
    ],
)
def test_bodies_must_be_json_objects(aws: Aws, content_type: str, raw: str, status: int) -> None:
    reply = alice.post("/applications", raw_body=raw, headers={"content-type": content_type})
    assert reply.status == status
    assert reply.body["message"]["zh"]
    assert reply.body["message"]["en"]
    assert items_in_table(aws) == []


def test_withdraw_takes_no_body_or_an_object(aws: Aws) -> None:
    first = new_application(alice)
    assert alice.post(f"/applications/{first['id']}/withdraw").status == 200
    second = new_application(alice)
    assert alice.post(f"/applications/{second['id']}/withdraw", raw_body="[null]").status == 422
    assert alice.post(f"/applications/{second['id']}/withdraw", body={}).status == 200
