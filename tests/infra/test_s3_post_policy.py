"""The local S3 POST policy check (infra/local/s3_post_policy.py): each rule passing and failing.

Policies here are signed as boto3 signs them (the signature is checked against botocore's own
generate_presigned_post too), so a refusal is the rule at work, not a malformed test form.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import boto3
import pytest

from infra.local.s3_post_policy import (
    LOCAL_CREDENTIALS,
    PostRefused,
    PostUpload,
    check_post,
    moto_secret_of,
    signature,
)

NOW = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)
BUCKET = "onestop-uploads"
KEY = "uploads/app-1/business_licence/up-1/x.pdf"
CREDENTIAL = "testing/20260301/cn-north-1/s3/aws4_request"


def secret_of(access_key: str) -> str | None:
    return LOCAL_CREDENTIALS.get(access_key)


def signed(
    conditions: list[Any],
    fields: dict[str, str] | None = None,
    *,
    expiration: datetime = NOW + timedelta(minutes=10),
    size: int | None = 100,
    secret: str = "testing",
    filename: str = "x.pdf",
    bucket: str = BUCKET,
) -> PostUpload:
    """A form as boto3 would build it: SigV4 fields (covered by the policy), then `fields`."""
    sigv4 = {
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": CREDENTIAL,
        "x-amz-date": "20260301T080000Z",
    }
    policy = {
        "expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "conditions": [*conditions, *({k: v} for k, v in sigv4.items())],
    }
    policy_b64 = base64.b64encode(json.dumps(policy).encode()).decode()
    form = {
        "key": KEY,
        **sigv4,
        "policy": policy_b64,
        "x-amz-signature": signature(secret, "20260301", "cn-north-1", policy_b64),
        **(fields or {}),
    }
    return PostUpload(bucket=bucket, fields=form, file_size=size, filename=filename)


BASE: list[Any] = [{"bucket": BUCKET}, {"key": KEY}]


def refused(upload: PostUpload, now: datetime = NOW) -> PostRefused:
    with pytest.raises(PostRefused) as caught:
        check_post(upload, secret_of, now)
    return caught.value


def test_a_well_formed_post_passes() -> None:
    check_post(signed(BASE), secret_of, NOW)


def test_the_signature_is_the_one_botocore_computes() -> None:
    s3 = boto3.client(
        "s3",
        region_name="cn-north-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    post = s3.generate_presigned_post(
        BUCKET,
        KEY,
        Fields={"Content-Type": "application/pdf"},
        Conditions=[{"Content-Type": "application/pdf"}, ["content-length-range", 1, 100]],
    )
    fields = post["fields"]
    date = fields["x-amz-credential"].split("/")[1]
    assert signature("testing", date, "cn-north-1", fields["policy"]) == fields["x-amz-signature"]
    check_post(PostUpload(bucket=BUCKET, fields=fields, file_size=100), secret_of)


# ------------------------------------------------------------------------- who may post at all


def test_no_policy_is_an_anonymous_write_and_denied() -> None:
    error = refused(PostUpload(bucket=BUCKET, fields={"key": KEY}, file_size=5))
    assert (error.status, error.code, error.message) == (403, "AccessDenied", "Access Denied")


@pytest.mark.parametrize(
    "missing", ["x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "key"]
)
def test_a_signed_post_lacking_a_required_field_is_an_invalid_argument(missing: str) -> None:
    upload = signed(BASE)
    fields = {k: v for k, v in upload.fields.items() if k != missing}
    error = refused(PostUpload(bucket=BUCKET, fields=fields, file_size=100))
    assert (error.status, error.code) == (400, "InvalidArgument")
    assert f"must contain a field named '{missing}'" in error.message
    assert error.details["ArgumentName"] == missing


def test_only_sigv4_is_accepted() -> None:
    upload = signed(BASE)
    error = refused(
        PostUpload(bucket=BUCKET, fields={**upload.fields, "x-amz-algorithm": "AWS4-HMAC-SHA1"}, file_size=1)
    )
    assert (error.status, error.code) == (400, "InvalidArgument")


def test_a_post_without_a_file_is_refused() -> None:
    error = refused(signed(BASE, size=None))
    assert (error.status, error.code, error.details["ArgumentName"]) == (400, "InvalidArgument", "file")


def test_an_unknown_access_key_is_refused() -> None:
    upload = signed(BASE)
    credential = CREDENTIAL.replace("testing", "AKIAUNKNOWN0000000000")
    error = refused(
        PostUpload(bucket=BUCKET, fields={**upload.fields, "x-amz-credential": credential}, file_size=1)
    )
    assert (error.status, error.code) == (403, "InvalidAccessKeyId")
    assert error.details["AWSAccessKeyId"] == "AKIAUNKNOWN0000000000"


def test_a_policy_signed_with_another_secret_does_not_match() -> None:
    error = refused(signed(BASE, secret="guessed"))
    assert (error.status, error.code) == (403, "SignatureDoesNotMatch")
    assert error.message.startswith("The request signature we calculated does not match")


def test_a_policy_edited_after_signing_does_not_match() -> None:
    upload = signed(BASE, size=100)
    policy = json.loads(base64.b64decode(upload.fields["policy"]))
    policy["conditions"].append(["content-length-range", 1, 10**9])
    forged = {**upload.fields, "policy": base64.b64encode(json.dumps(policy).encode()).decode()}
    error = refused(PostUpload(bucket=BUCKET, fields=forged, file_size=100))
    assert error.code == "SignatureDoesNotMatch"


def test_a_credential_date_other_than_x_amz_date_is_refused() -> None:
    upload = signed(BASE)
    error = refused(
        PostUpload(bucket=BUCKET, fields={**upload.fields, "x-amz-date": "20260302T080000Z"}, file_size=1)
    )
    assert (error.status, error.code, error.details["ArgumentName"]) == (400, "InvalidArgument", "x-amz-date")


def test_a_malformed_credential_is_refused() -> None:
    upload = signed(BASE)
    error = refused(
        PostUpload(bucket=BUCKET, fields={**upload.fields, "x-amz-credential": "testing"}, file_size=1)
    )
    assert (error.status, error.details["ArgumentName"]) == (400, "x-amz-credential")


def test_the_iam_keys_of_moto_count_as_known() -> None:
    from moto import mock_aws

    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_user(UserName="uploader")
        key = iam.create_access_key(UserName="uploader")["AccessKey"]
        assert moto_secret_of(key["AccessKeyId"]) == key["SecretAccessKey"]
    assert moto_secret_of("AKIANOSUCHKEY0000000") is None
    assert moto_secret_of("testing") == "testing"


# ------------------------------------------------------------------------- the policy document


def _resigned(policy_text: str) -> PostUpload:
    """A form whose policy is `policy_text` (base64), correctly signed."""
    upload = signed(BASE)
    policy_b64 = base64.b64encode(policy_text.encode()).decode()
    fields = {
        **upload.fields,
        "policy": policy_b64,
        "x-amz-signature": signature("testing", "20260301", "cn-north-1", policy_b64),
    }
    return PostUpload(bucket=BUCKET, fields=fields, file_size=1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "Invalid Policy: Invalid JSON."),
        ('["a list"]', "Invalid Policy: Invalid JSON."),
        ('{"conditions": []}', "Invalid Policy: Policy missing expiration."),
        ('{"expiration": "2026-03-01T09:00:00Z"}', "Invalid Policy: Policy missing conditions."),
        (
            '{"expiration": "tomorrow", "conditions": []}',
            "Invalid Policy: Invalid 'expiration' value: 'tomorrow'",
        ),
    ],
)
def test_a_malformed_policy_document_is_refused(text: str, message: str) -> None:
    error = refused(_resigned(text))
    assert (error.status, error.code, error.message) == (400, "InvalidPolicyDocument", message)


def test_a_policy_that_is_not_base64_is_refused() -> None:
    upload = signed(BASE)
    fields = {
        **upload.fields,
        "policy": "%%%",
        "x-amz-signature": signature("testing", "20260301", "cn-north-1", "%%%"),
    }
    error = refused(PostUpload(bucket=BUCKET, fields=fields, file_size=1))
    assert (error.code, error.message) == (
        "InvalidPolicyDocument",
        "Invalid Policy: Invalid Base64 Encoding.",
    )


def test_an_expired_policy_is_refused_and_one_still_valid_passes() -> None:
    upload = signed(BASE, expiration=NOW + timedelta(seconds=1))
    check_post(upload, secret_of, NOW + timedelta(seconds=1))
    error = refused(upload, NOW + timedelta(seconds=2))
    assert (error.status, error.code, error.message) == (
        403,
        "AccessDenied",
        "Invalid according to Policy: Policy expired.",
    )


# ------------------------------------------------------------------------- conditions


def _condition_failed(error: PostRefused, shown: str) -> None:
    assert (error.status, error.code) == (403, "AccessDenied")
    assert error.message == f"Invalid according to Policy: Policy Condition failed: {shown}"


def test_exact_key_condition() -> None:
    other = KEY.replace("app-1", "app-2")
    upload = signed(BASE)
    check_post(upload, secret_of, NOW)
    moved = PostUpload(bucket=BUCKET, fields={**upload.fields, "key": other}, file_size=100)
    _condition_failed(refused(moved), f'["eq", "$key", "{KEY}"]')


def test_the_key_is_compared_after_filename_expansion() -> None:
    upload = signed([{"bucket": BUCKET}, {"key": "uploads/a/scan.pdf"}], {"key": "uploads/a/${filename}"})
    check_post(
        PostUpload(bucket=BUCKET, fields=upload.fields, file_size=1, filename="scan.pdf"), secret_of, NOW
    )
    refused(PostUpload(bucket=BUCKET, fields=upload.fields, file_size=1, filename="other.pdf"))


def test_bucket_condition_is_the_bucket_posted_to() -> None:
    upload = signed(BASE)
    check_post(upload, secret_of, NOW)
    elsewhere = PostUpload(bucket="onestop-materials", fields=upload.fields, file_size=100)
    _condition_failed(refused(elsewhere), f'["eq", "$bucket", "{BUCKET}"]')


def test_eq_array_condition_and_content_type() -> None:
    conditions = [*BASE, ["eq", "$Content-Type", "application/pdf"]]
    check_post(signed(conditions, {"Content-Type": "application/pdf"}), secret_of, NOW)
    error = refused(signed(conditions, {"Content-Type": "image/png"}))
    _condition_failed(error, '["eq", "$Content-Type", "application/pdf"]')


def test_field_names_match_case_insensitively_and_values_exactly() -> None:
    conditions = [*BASE, {"Content-Type": "application/pdf"}]
    check_post(signed(conditions, {"content-type": "application/pdf"}), secret_of, NOW)
    refused(signed(conditions, {"content-type": "application/PDF"}))


def test_a_condition_on_a_field_the_form_lacks_fails() -> None:
    error = refused(signed([*BASE, ["starts-with", "$Content-Type", ""]]))
    _condition_failed(error, '["starts-with", "$Content-Type", ""]')


def test_starts_with_on_key() -> None:
    conditions = [{"bucket": BUCKET}, ["starts-with", "$key", "uploads/app-1/"]]
    check_post(signed(conditions), secret_of, NOW)
    upload = signed(conditions)
    moved = PostUpload(
        bucket=BUCKET, fields={**upload.fields, "key": "uploads/app-2/business_licence/x.pdf"}, file_size=1
    )
    _condition_failed(refused(moved), '["starts-with", "$key", "uploads/app-1/"]')


def test_starts_with_empty_allows_any_value() -> None:
    check_post(
        signed([*BASE, ["starts-with", "$x-amz-meta-note", ""]], {"x-amz-meta-note": "任意"}), secret_of, NOW
    )


def test_starts_with_on_content_type_applies_to_every_listed_type() -> None:
    conditions = [*BASE, ["starts-with", "$Content-Type", "image/"]]
    check_post(signed(conditions, {"Content-Type": "image/png, image/jpeg"}), secret_of, NOW)
    refused(signed(conditions, {"Content-Type": "image/png, application/pdf"}))


def test_starts_with_is_refused_on_fields_that_only_match_exactly() -> None:
    error = refused(
        signed([*BASE, ["starts-with", "$success_action_status", "2"]], {"success_action_status": "201"})
    )
    _condition_failed(error, '["starts-with", "$success_action_status", "2"]')


def test_metadata_conditions() -> None:
    conditions = [
        *BASE,
        {"x-amz-meta-application-id": "app-1"},
        ["eq", "$x-amz-meta-slot", "business_licence"],
    ]
    honest = {"x-amz-meta-application-id": "app-1", "x-amz-meta-slot": "business_licence"}
    check_post(signed(conditions, honest), secret_of, NOW)
    error = refused(signed(conditions, {**honest, "x-amz-meta-application-id": "app-2"}))
    _condition_failed(error, '["eq", "$x-amz-meta-application-id", "app-1"]')
    error = refused(signed(conditions, {"x-amz-meta-application-id": "app-1"}))
    _condition_failed(error, '["eq", "$x-amz-meta-slot", "business_licence"]')


@pytest.mark.parametrize(
    "condition",
    [
        ["in", "$key", [KEY]],
        ["eq", "key", KEY],
        ["eq", "$key"],
        ["eq", "$key", 5],
        ["content-length-range", 1],
        ["content-length-range", "1", "100"],
        ["content-length-range", 10, 1],
        "key",
        [],
    ],
)
def test_a_condition_s3_cannot_interpret_fails(condition: Any) -> None:
    error = refused(signed([*BASE, condition]))
    assert (error.status, error.code) == (403, "AccessDenied")
    assert error.message.startswith("Invalid according to Policy: Policy Condition failed:")


# ------------------------------------------------------------------------- extra fields and size


def test_a_field_outside_the_policy_is_refused() -> None:
    error = refused(signed(BASE, {"x-amz-meta-upload-id": "forged"}))
    assert (error.status, error.code, error.message) == (
        403,
        "AccessDenied",
        "Invalid according to Policy: Extra input fields: x-amz-meta-upload-id",
    )


def test_a_content_type_outside_the_policy_is_an_extra_field() -> None:
    error = refused(signed(BASE, {"Content-Type": "text/html"}))
    assert error.message == "Invalid according to Policy: Extra input fields: Content-Type"


def test_exempt_fields_need_no_condition() -> None:
    check_post(signed(BASE, {"x-ignore-tracking": "1", "file": "ignored"}), secret_of, NOW)


@pytest.mark.parametrize(("size", "passes"), [(1, True), (4096, True), (4097, False), (0, False)])
def test_content_length_range(size: int, passes: bool) -> None:
    upload = signed([*BASE, ["content-length-range", 1, 4096]], size=size)
    if passes:
        check_post(upload, secret_of, NOW)
        return
    error = refused(upload)
    assert error.status == 400
    if size > 4096:
        assert error.code == "EntityTooLarge"
        assert error.message == "Your proposed upload exceeds the maximum allowed size"
        assert error.details == {"ProposedSize": 4097, "MaxSizeAllowed": 4096}
    else:
        assert error.code == "EntityTooSmall"
        assert error.details == {"ProposedSize": 0, "MinSizeAllowed": 1}


def test_the_error_body_is_s3s_xml() -> None:
    error = refused(signed(BASE, {"x-amz-meta-a": "<b>"}))
    root = ElementTree.fromstring(error.xml("REQ1"))
    assert root.tag == "Error"
    assert root.findtext("Code") == "AccessDenied"
    assert root.findtext("Message") == "Invalid according to Policy: Extra input fields: x-amz-meta-a"
    assert root.findtext("RequestId") == "REQ1"
    large = refused(signed([*BASE, ["content-length-range", 1, 10]], size=11))
    root = ElementTree.fromstring(large.xml())
    assert root.findtext("ProposedSize") == "11"
    assert root.findtext("MaxSizeAllowed") == "10"
