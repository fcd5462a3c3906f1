"""Object-key file names and the mapping of validation errors to field-level zh/en messages."""

from __future__ import annotations

from typing import Any

import pytest
from onestop.applications.service import sanitise_filename
from onestop.errors import Conflict, InvalidInput, Reason
from onestop.http.errors import domain_error_response, validation_reasons


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("营业执照.pdf", "营业执照.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\王\\扫描件 1.JPG", "扫描件_1.jpg"),
        ("a b;rm -rf.png", "a_b_rm_-rf.png"),
        ("...", "file"),
        (".hidden.pdf", "hidden.pdf"),
        ("x" * 300 + ".pdf", "x" * 80 + ".pdf"),
        ("noextension", "noextension"),
    ],
)
def test_sanitise_filename(given: str, expected: str) -> None:
    assert sanitise_filename(given) == expected


def test_sanitised_names_never_leave_their_folder() -> None:
    for name in ["a/../b.pdf", "/abs.pdf", "\x00.pdf", "%2e%2e%2fx.pdf", "a\nb.pdf"]:
        safe = sanitise_filename(name)
        assert "/" not in safe
        assert "\\" not in safe
        assert not safe.startswith(".")
        assert "\n" not in safe
        assert "\x00" not in safe


def test_validation_errors_become_field_level_messages() -> None:
    errors: list[dict[str, Any]] = [
        {"type": "missing", "loc": ("body", "applicant", "enterprise", "uscc"), "msg": "Field required"},
        {"type": "string_too_long", "loc": ("body", "item_code"), "ctx": {"max_length": 100}},
        {"type": "less_than_equal", "loc": ("query", "limit"), "ctx": {"le": 100}},
        {"type": "extra_forbidden", "loc": ("body", "colour")},
        {"type": "string_type", "loc": ("body", "reasons", 0, "zh")},
        {"type": "something_new", "loc": ("body",)},
    ]
    reasons = validation_reasons(errors)
    assert [r.field for r in reasons] == [
        "applicant.uscc",
        "item_code",
        "limit",
        "colour",
        "reasons[0].zh",
        "body",
    ]
    assert reasons[1].zh.endswith("不能超过 100 个字符。")
    assert reasons[1].en.endswith("At most 100 characters.")
    assert "100" in reasons[2].en
    for r in reasons:
        assert r.field is not None
        assert r.field in r.zh
        assert r.field in r.en


def test_domain_errors_keep_status_and_carry_both_languages() -> None:
    response = domain_error_response(
        InvalidInput("bad", "错", "wrong", [Reason("x", "甲", "a", "applicant.uscc")])
    )
    assert response.status_code == 422
    assert response.body == {
        "code": "bad",
        "message": {"zh": "错", "en": "wrong"},
        "details": [{"code": "x", "zh": "甲", "en": "a", "field": "applicant.uscc"}],
    }
    conflict = domain_error_response(
        Conflict("c", "冲突", "conflict", extra={"current": {"status": "approved"}})
    )
    assert conflict.status_code == 409
    assert isinstance(conflict.body, dict)
    assert conflict.body["current"] == {"status": "approved"}
    assert conflict.body["details"] == []
