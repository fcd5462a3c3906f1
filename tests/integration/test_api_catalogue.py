"""Public routes through the Lambda handler: catalogue, OpenAPI, Swagger UI, CORS, unknown routes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from onestop.catalogue import load_catalogue

from .api_helpers import BIG_ITEM, Aws, Client, moto_aws


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with moto_aws(monkeypatch) as stack:
        yield stack


pytestmark = pytest.mark.usefixtures("aws")
anonymous = Client(None)


def test_list_items_is_public_and_lists_the_whole_catalogue() -> None:
    reply = anonymous.get("/items")
    assert reply.status == 200
    codes = [i["code"] for i in reply.body["items"]]
    assert codes == [i.code for i in load_catalogue().items]
    assert reply.body["count"] == len(codes)
    first = reply.body["items"][0]
    assert first["name"] == first["name_zh"]
    assert set(first["category_name"]) == {"zh", "en"}


def test_search_by_words_category_and_language() -> None:
    reply = anonymous.get("/items", query={"q": "labour", "lang": "en"})
    assert reply.status == 200
    assert [i["code"] for i in reply.body["items"]] == [BIG_ITEM]
    assert reply.body["items"][0]["name"] == reply.body["items"][0]["name_en"]

    reply = anonymous.get("/items", query={"category": "administrative_licensing"})
    assert reply.status == 200
    assert reply.body["items"]
    assert {i["category"] for i in reply.body["items"]} == {"administrative_licensing"}


def test_unknown_category_is_a_field_level_422() -> None:
    reply = anonymous.get("/items", query={"category": "magic"})
    assert reply.status == 422
    assert reply.body["details"][0]["field"] == "category"
    assert reply.body["details"][0]["zh"]
    assert reply.body["details"][0]["en"]


def test_item_detail_has_the_material_list() -> None:
    reply = anonymous.get(f"/items/{BIG_ITEM}", query={"lang": "en"})
    assert reply.status == 200
    item = load_catalogue().item(BIG_ITEM)
    assert [m["slot"] for m in reply.body["materials"]] == [m.slot for m in item.materials]
    business = next(m for m in reply.body["materials"] if m["slot"] == "business_licence")
    assert business["content_types"] == ["application/pdf", "image/jpeg", "image/png"]
    assert business["name"] == business["name_en"]
    assert reply.body["applicable_online"] is True
    assert reply.body["legal_basis"]


def test_unknown_item_is_404_in_both_languages() -> None:
    reply = anonymous.get("/items/no-such-item")
    assert reply.status == 404
    assert reply.body["code"] == "item_not_found"
    assert reply.body["message"]["zh"]
    assert reply.body["message"]["en"]


def test_malformed_item_code_is_422() -> None:
    reply = anonymous.get("/items/NOT_A_CODE")
    assert reply.status == 422
    assert reply.body["details"][0]["field"] == "code"


def test_openapi_document_lists_every_route() -> None:
    reply = anonymous.get("/openapi.json")
    assert reply.status == 200
    spec = reply.body
    assert spec["openapi"].startswith("3.")
    operations = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert operations == {
        ("GET", "/items"),
        ("GET", "/items/{code}"),
        ("POST", "/applications"),
        ("GET", "/applications"),
        ("GET", "/applications/{application_id}"),
        ("POST", "/applications/{application_id}/materials/{slot}/uploads"),
        ("POST", "/applications/{application_id}/materials/{slot}/elicence"),
        ("DELETE", "/applications/{application_id}/materials/{slot}/uploads/{upload_id}"),
        ("POST", "/applications/{application_id}/submit"),
        ("POST", "/applications/{application_id}/withdraw"),
        ("GET", "/review/queue"),
        ("POST", "/applications/{application_id}/decision"),
        ("POST", "/applications/{application_id}/materials/{upload_id}/corrections"),
        ("GET", "/licences/{licence_id}"),
        ("POST", "/licences/{licence_id}/lifecycle"),
        ("GET", "/applications/{application_id}/review"),
        ("POST", "/applications/{application_id}/review"),
        ("GET", "/cases"),
        ("GET", "/cases/{case_id}"),
        ("POST", "/cases/{case_id}/steps"),
        ("GET", "/stats"),
        ("POST", "/bindings"),
        ("GET", "/bindings"),
        ("GET", "/bindings/pending"),
        ("GET", "/bindings/{request_id}"),
        ("POST", "/bindings/{request_id}/decision"),
        ("GET", "/admin/catalogue/versions"),
        ("GET", "/admin/catalogue/versions/{version}"),
        ("GET", "/admin/catalogue/versions/{version}/export"),
        ("POST", "/admin/catalogue/items"),
        ("PUT", "/admin/catalogue/items/{code}"),
        ("POST", "/admin/catalogue/items/{code}/retire"),
        ("POST", "/admin/catalogue/import"),
        # Channels: the service window's applications a party follows (issue 18.3).
        ("GET", "/applications/window"),
        # Notifications: one's own preferences and inbox (issue 18.2).
        ("GET", "/me/notification-preferences"),
        ("PUT", "/me/notification-preferences"),
        ("GET", "/me/inbox"),
        ("POST", "/me/inbox/{item_id}/read"),
        # The legal clock (issue 18.4).
        ("GET", "/applications/{application_id}/clock"),
        ("POST", "/applications/{application_id}/clock/pauses"),
        ("POST", "/applications/{application_id}/clock/pauses/{n}/end"),
        ("POST", "/applications/{application_id}/clock/extension"),
        ("POST", "/applications/{application_id}/clock/extension/decision"),
        # Work assignment (issue 18.5).
        ("GET", "/applications/{application_id}/assignment"),
        ("POST", "/applications/{application_id}/claim"),
        ("POST", "/applications/{application_id}/release"),
        ("POST", "/applications/{application_id}/assignee"),
        ("GET", "/review/reviewers"),
        # The verify function's routes, declared in the same document (onestop.http.contract).
        ("POST", "/verify"),
        ("GET", "/verify/{licence_id}"),
        ("GET", "/trust"),
        ("GET", "/status-lists/{type}"),
    }
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    assert "security" not in spec["paths"]["/items"]["get"]
    assert spec["paths"]["/applications"]["post"]["security"] == [{"bearerAuth": []}]
    # every error is documented with the one error shape, or (where the gateway itself may answer)
    # that shape or the gateway's own {message}
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    either = {"anyOf": [error_ref, {"$ref": "#/components/schemas/GatewayMessage"}]}
    for ops in spec["paths"].values():
        for op in ops.values():
            for code, response in op["responses"].items():
                if int(code) >= 400:
                    assert response["content"]["application/json"]["schema"] in (error_ref, either)


def test_swagger_ui_is_served_at_docs() -> None:
    reply = anonymous.get("/docs")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")
    assert "swagger" in reply.raw.lower()


def test_the_function_grants_no_cors_of_its_own() -> None:
    # CORS is the HttpApi's CorsConfiguration (only the portal's origin); API Gateway answers preflights
    # and ignores CORS headers from the function, so a `*` here would only mislead (issue 13).
    reply = anonymous.get("/items", headers={"origin": "https://evil.example"})
    assert reply.status == 200
    assert not [k for k in reply.headers if k.startswith("access-control-")]


def test_every_answer_carries_nosniff_no_store_and_a_locked_down_csp() -> None:
    for reply in (anonymous.get("/items"), anonymous.get("/no/such/route"), anonymous.get("/applications")):
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in reply.headers["content-security-policy"]
    docs = anonymous.get("/docs").headers
    assert docs["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in docs, "the Swagger UI page loads its script from a CDN"


def test_unknown_route_is_404_with_zh_and_en() -> None:
    reply = anonymous.get("/no/such/route")
    assert reply.status == 404
    assert reply.body["code"] == "route_not_found"
    assert reply.body["message"]["zh"]
    assert reply.body["message"]["en"]


def test_catalogue_needs_no_table(aws: Aws) -> None:
    aws.table.delete()
    assert anonymous.get("/items").status == 200


def test_known_route_with_another_method_is_405_with_allow() -> None:
    reply = anonymous.request("PUT", "/items")
    assert reply.status == 405
    assert reply.headers["allow"] == "GET, OPTIONS"
    assert reply.body["message"]["zh"]
    assert reply.body["message"]["en"]


def test_unknown_query_parameter_is_422_not_ignored() -> None:
    reply = anonymous.get("/items", query={"categry": "public_service"})
    assert reply.status == 422
    assert reply.body["code"] == "unknown_query_parameter"
    assert [d["field"] for d in reply.body["details"]] == ["categry"]
