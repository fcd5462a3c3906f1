"""The catalogue's field validators (issue 14 item 2): each cleans a value or says why it is none."""

from __future__ import annotations

from datetime import date

import pytest
from onestop.catalogue.models import FieldSpec
from onestop.identifiers.uscc import compose_uscc
from onestop.materials.validators import check, date_range, parse_money

USCC = compose_uscc("91440300", "MA5G7Q2K")


def spec(validator: str, **kw: object) -> FieldSpec:
    return FieldSpec.model_validate(
        {"name": "address", "label_zh": "栏目", "label_en": "Field", "validator": validator, **kw}
    )


def ok(raw: str, validator: str, **kw: object) -> str | None:
    result = check(raw, spec(validator, **kw), labels=["名称", "住所", "经办人", "联系人"])
    assert (result.value is None) == bool(result.problems)
    return result.value


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("张三丰", "张三丰"),
        ("张 三 丰", "张三丰"),
        ("买买提·艾力", "买买提·艾力"),
        ("John Smith", "John Smith"),
        ("(CARDHOLDER NAME)", None),
        ("（签字）", None),
        ("签名", None),
        ("名称", None),
        ("经办人", None),
        ("张", None),
        ("2019年03月15日", None),
        ("CARDHOLDER NAME", None),
    ],
)
def test_person_name(raw: str, want: str | None) -> None:
    assert ok(raw, "person_name") == want


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("深圳市前海示例科技有限公司", "深圳市前海示例科技有限公司"),
        ("示例公司", "示例公司"),
        ("深圳市福田区示例小吃店", "深圳市福田区示例小吃店"),
        ("名称深圳市示例有限公司", None),
        ("商户", None),
        ("(签字盖章)", None),
        ("2024年", None),
    ],
)
def test_enterprise_name(raw: str, want: str | None) -> None:
    assert ok(raw, "enterprise_name") == want


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("138 0013 8000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("0755-8888 6666", "0755-88886666"),
        ("(0755)88886666", "0755-88886666"),
        ("经办人", None),
        ("联系人：王五", None),
        ("12345", None),
    ],
)
def test_phone(raw: str, want: str | None) -> None:
    assert ok(raw, "phone") == want


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("人民币壹佰万元整", "1000000元"),
        ("100万元", "1000000元"),
        ("1,000,000.00元", "1000000元"),
        ("人民币伍拾万零叁仟元整", "503000元"),
        ("壹仟贰佰叁拾肆元伍角", "1234.5元"),
        ("50万美元", "500000美元"),
        ("人民币捌拾万元整（¥800,000.00）。", "800000元"),
        ("若干", None),
        ("0元", None),
    ],
)
def test_money(raw: str, want: str | None) -> None:
    assert ok(raw, "money") == want


def test_date_range_open_ended_and_bounded() -> None:
    assert date_range("2019年03月15日至长期") == (date(2019, 3, 15), None)
    assert date_range("2015.06.25-2035.06.25") == (date(2015, 6, 25), date(2035, 6, 25))
    assert date_range("20150625-20350625") == (date(2015, 6, 25), date(2035, 6, 25))
    assert date_range("2035.06.25-2015.06.25") is None  # ends before it starts
    assert date_range("长期") is None
    result = check("2019年03月15日至长期", spec("date_range"))
    assert result.value == "2019-03-15至长期"
    assert result.parts == {"from": "2019-03-15", "until": "长期"}


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("深圳市市场监督管理局", "深圳市市场监督管理局"),
        ("深圳市公安局福田分局", "深圳市公安局福田分局"),
        ("国家知识产权局专利局", "国家知识产权局专利局"),
        ("2024", None),
        ("2024年05月06日", None),
        ("B1-203铺", None),
        ("深圳市", None),
    ],
)
def test_authority(raw: str, want: str | None) -> None:
    assert ok(raw, "authority") == want


def test_address_text_sex_and_date() -> None:
    assert ok("深圳市南山区粤海街道科技园路1号", "address") == "深圳市南山区粤海街道科技园路1号"
    assert ok("住所", "address") is None
    assert ok("12345", "address") is None
    assert ok("13800138000深圳市南山区粤海街道科技园路1号", "address") is None
    assert ok("男", "sex") == "男"
    assert ok("男女", "sex") is None
    assert ok("2013年5月6日", "date") == "2013-05-06"
    assert ok("2013年13月6日", "date") is None
    assert ok("ABC-123", "text", chars=["latin", "digit"]) is None
    assert ok("ABC123", "text", chars=["latin", "digit"], max_length=6) == "ABC123"
    assert ok("ABC1234", "text", chars=["latin", "digit"], max_length=6) is None


def test_identifiers_keep_their_own_check_codes() -> None:
    good = check(f"统一社会信用代码 {USCC.replace('0', 'O')}", spec("uscc"))
    assert good.value == USCC
    bad = check(USCC[:-1] + ("0" if USCC[-1] != "0" else "1"), spec("uscc"))
    assert bad.value is None
    assert [p.code for p in bad.problems] == ["uscc_check_char"]
    short = check("9144030", spec("uscc"))
    assert [p.code for p in short.problems] == ["field_invalid"]
    assert short.problems[0].field == "address"
    assert short.problems[0].zh
    assert short.problems[0].en


def test_parse_money_refuses_mixed_text() -> None:
    assert parse_money("约100万元左右") is None


def test_ethnicity_is_one_of_the_56_groups() -> None:
    assert ok("汉", "ethnicity") == "汉"
    assert ok("漢", "ethnicity") == "汉"  # the recogniser's traditional form of the printed character
    assert ok("维吾尔族", "ethnicity") == "维吾尔"
    assert ok("火星", "ethnicity") is None
