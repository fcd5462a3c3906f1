"""moto_speed.py's short-cut gives, byte for byte, the DynamoDB answers of moto's own serializer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.serialize import BaseJSONSerializer

from infra.local import moto_speed

RICH_ITEM: dict[str, Any] = {
    "pk": {"S": "APP#1"},
    "sk": {"S": "MATERIAL#01"},
    "text": {"S": '营业执照 \u2028 "quoted" \\ tab\t'},
    "empty": {"S": ""},
    "n": {"N": "-12.500"},
    "big": {"N": "123456789012345678901234567890"},
    "yes": {"BOOL": True},
    "no": {"BOOL": False},
    "nothing": {"NULL": True},
    "tags": {"SS": ["b", "a"]},
    "scores": {"NS": ["1", "2.5"]},
    "list": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"deep": {"L": [{"BOOL": False}, {"NULL": True}]}}}]},
    "map": {"M": {"fields": {"M": {"name": {"S": "张三"}, "n": {"N": "3"}}}, "empty": {"M": {}}}},
    "blob": {"B": b"\x00\x01binary\xff"},
    "blobs": {"BS": [b"a", b"\xfe"]},
    "nested_blob": {"M": {"inner": {"B": b"\x10\x20"}}},
}


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        client.put_item(TableName="t", Item=RICH_ITEM)
        client.put_item(TableName="t", Item={"pk": {"S": "APP#1"}, "sk": {"S": "A"}, "n": {"N": "1"}})
        yield client


def _bodies(client: Any) -> list[bytes]:
    """The raw response bodies of the reads the API makes."""
    bodies: list[bytes] = []

    def keep(http_response: Any, **_: Any) -> None:
        bodies.append(http_response.content)

    client.meta.events.register("after-call.dynamodb", keep)
    try:
        client.query(
            TableName="t",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "APP#1"}},
        )
        client.get_item(TableName="t", Key={"pk": {"S": "APP#1"}, "sk": {"S": "MATERIAL#01"}})
        client.scan(TableName="t")
        client.batch_get_item(RequestItems={"t": {"Keys": [{"pk": {"S": "APP#1"}, "sk": {"S": "A"}}]}})
    finally:
        client.meta.events.unregister("after-call.dynamodb", keep)
    return bodies


def test_the_short_cut_answers_exactly_as_moto_does(table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    slow = BaseJSONSerializer._serialize_type_structure
    assert not getattr(BaseJSONSerializer, "_onestop_fast", False), "this process has moto's own path"
    expected = _bodies(table)
    taken: list[Any] = []
    plain: Callable[[Any], bool] = moto_speed.is_plain_attribute_value

    def counting(value: Any) -> bool:
        result = plain(value)
        if result:
            taken.append(value)
        return result

    monkeypatch.setattr(moto_speed, "is_plain_attribute_value", counting)
    monkeypatch.setattr(
        BaseJSONSerializer, "_serialize_type_structure", moto_speed.fast_structure_serializer(slow)
    )
    assert _bodies(table) == expected
    assert len(taken) > 20  # the short-cut did the work (the binaries went the long way)


@pytest.mark.parametrize(
    "value",
    [
        {"B": "AAE="},
        {"BS": ["AAE="]},
        {"M": {"x": {"B": b"\x00"}}},
        {"L": [{"S": "a"}, {"B": b"\x00"}]},
        {"N": 3},
        {"BOOL": "true"},
        {"NULL": False},
        {"S": "a", "N": "1"},
        {"SS": ["a", 1]},
        {},
    ],
)
def test_values_moto_would_transform_take_the_long_way(value: Any) -> None:
    assert not moto_speed.is_plain_attribute_value(value)
