"""Make moto check browser POST uploads (SigV4 POST policies) as S3 does.

moto stores whatever a form POST to a bucket carries: no policy, a forged signature, an expired
policy, a key or Content-Type the policy does not allow, a file of any size. So no local test could
see what AWS refuses, and the app's upload tickets were never really tested. `check_post` applies
S3's rules (AWS docs: "Authenticating Requests in Browser-Based Uploads Using POST (AWS Signature
Version 4)", "POST Policy") and answers with S3's status, code and message; `install_post_policy_check`
puts it in front of moto's POST-object handler. It is installed in the local stack's moto server
(`python -m infra.local.moto_server`) and, by tests/conftest.py, in every test process (in-process
moto and threaded moto servers alike).

What it checks, in order: a policy (none: an anonymous write, refused since no bucket is public);
the SigV4 fields (algorithm AWS4-HMAC-SHA256, credential, date, signature, key); the access key;
the signature (the HMAC chain of the credential's secret key over the base64 policy); the policy
document (base64 JSON with an expiration and conditions); expiry; every condition in order (exact
match objects and ["eq", ...], ["starts-with", ...] only where S3 allows it, the bucket, the key after
`${filename}` expansion); no form field outside the policy (S3's exemptions: file, policy,
x-amz-signature, x-ignore-*); the file's size against content-length-range.

Not modelled: SigV2 POSTs (refused, as in the China regions, which accept SigV4 only; the app signs
V4), session tokens, fields placed after the file part (S3 ignores them; the form parser here does not
keep the order) and the credential scope's region against the bucket's region.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

# The credentials a local POST can be signed with, besides access keys created in moto's IAM: the local
# stack's (infra/local/stack.py base_env and client; tests/conftest.py sets the same for every test) and
# the ones moto's in-process mock (mock_aws) puts in the environment while it is active.
LOCAL_CREDENTIALS: Mapping[str, str] = {"testing": "testing", "FOOBARKEY": "FOOBARSECRET"}

ALGORITHM = "AWS4-HMAC-SHA256"
# Form fields S3 does not require the policy to cover.
_EXEMPT = frozenset({"file", "policy", "x-amz-signature"})
_EXEMPT_PREFIX = "x-ignore-"
# Fields a starts-with condition may name (S3's POST policy condition table); every other field only
# matches exactly.
_STARTS_WITH_ALLOWED = frozenset(
    {
        "key",
        "acl",
        "cache-control",
        "content-type",
        "content-disposition",
        "content-encoding",
        "expires",
        "success_action_redirect",
        "redirect",
    }
)
_META_PREFIX = "x-amz-meta-"
_CREDENTIAL = re.compile(r"^(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/s3/aws4_request$")
_AMZ_DATE = re.compile(r"^\d{8}T\d{6}Z$")
_MARK = "_onestop_post_policy_checked"


class PostRefused(Exception):
    """S3's refusal of a POST upload: its HTTP status, error code, message and extra XML elements."""

    def __init__(self, status: int, code: str, message: str, **details: str | int) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def xml(self, request_id: str | None = None) -> str:
        """The error body S3 sends (<Error><Code/><Message/>…<RequestId/><HostId/></Error>)."""
        rid = request_id or uuid.uuid4().hex[:16].upper()
        parts = [f"<Code>{escape(self.code)}</Code>", f"<Message>{escape(self.message)}</Message>"]
        parts += [f"<{name}>{escape(str(value))}</{name}>" for name, value in self.details.items()]
        parts += [f"<RequestId>{rid}</RequestId>", f"<HostId>{rid}</HostId>"]
        return '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts) + "</Error>"


@dataclass(frozen=True)
class PostUpload:
    """What one browser POST to a bucket carries: the bucket, the form's text fields, the file part."""

    bucket: str
    fields: Mapping[str, str]
    file_size: int | None  # None: no file part at all
    filename: str = ""
    _lower: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # S3 matches form field names case-insensitively ("Content-Type" and "content-type" alike).
        object.__setattr__(self, "_lower", {k.lower(): v for k, v in self.fields.items()})

    def get(self, name: str) -> str | None:
        return self._lower.get(name.lower())


SecretLookup = Callable[[str], str | None]


def check_post(upload: PostUpload, secret_of: SecretLookup, now: datetime | None = None) -> None:
    """Raise PostRefused where S3 would refuse this POST; return when S3 would store the object."""
    now = now or datetime.now(UTC)
    policy_b64 = upload.get("policy")
    if policy_b64 is None:
        # No policy: an anonymous write, which only a public-write bucket accepts; none is.
        raise PostRefused(403, "AccessDenied", "Access Denied")
    for name in ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "key"):
        if upload.get(name) is None:
            raise _missing_field(name)
    algorithm = upload.get("x-amz-algorithm")
    if algorithm != ALGORITHM:
        raise PostRefused(
            400,
            "InvalidArgument",
            f'x-amz-algorithm only supports "{ALGORITHM}"',
            ArgumentName="x-amz-algorithm",
            ArgumentValue=str(algorithm),
        )
    if upload.file_size is None:
        raise PostRefused(
            400,
            "InvalidArgument",
            "POST requires exactly one file upload per request.",
            ArgumentName="file",
            ArgumentValue=0,
        )
    _check_signature(upload, policy_b64, secret_of)
    policy = _decode_policy(policy_b64)
    if now > _expiration(policy["expiration"]):
        raise PostRefused(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    covered, length_range = _check_conditions(upload, policy["conditions"])
    extra = [
        name
        for name in upload.fields
        if name.lower() not in _EXEMPT
        and not name.lower().startswith(_EXEMPT_PREFIX)
        and name.lower() not in covered
    ]
    if extra:
        raise PostRefused(
            403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {', '.join(extra)}"
        )
    if length_range is not None:
        low, high = length_range
        if upload.file_size > high:
            raise PostRefused(
                400,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                ProposedSize=upload.file_size,
                MaxSizeAllowed=high,
            )
        if upload.file_size < low:
            raise PostRefused(
                400,
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
                ProposedSize=upload.file_size,
                MinSizeAllowed=low,
            )


def signature(secret_key: str, date: str, region: str, policy_b64: str) -> str:
    """SigV4 for a POST policy: the signing key (date, region, s3, aws4_request) over the base64 policy."""
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest()


def _missing_field(name: str) -> PostRefused:
    return PostRefused(
        400,
        "InvalidArgument",
        f"Bucket POST must contain a field named '{name}'.  If it is specified, please check the order "
        "of the fields.",
        ArgumentName=name,
        ArgumentValue="",
    )


def _check_signature(upload: PostUpload, policy_b64: str, secret_of: SecretLookup) -> None:
    credential = upload.get("x-amz-credential") or ""
    amz_date = upload.get("x-amz-date") or ""
    scope = _CREDENTIAL.match(credential)
    if scope is None:
        raise PostRefused(
            400,
            "InvalidArgument",
            "Invalid credential: expected <access key>/<yyyymmdd>/<region>/s3/aws4_request.",
            ArgumentName="x-amz-credential",
            ArgumentValue=credential,
        )
    if not _AMZ_DATE.match(amz_date) or amz_date[:8] != scope["date"]:
        raise PostRefused(
            400,
            "InvalidArgument",
            "Invalid credential date. Date is not the same as X-Amz-Date.",
            ArgumentName="x-amz-date",
            ArgumentValue=amz_date,
        )
    access_key = scope["key"]
    secret = secret_of(access_key)
    if secret is None:
        raise PostRefused(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            AWSAccessKeyId=access_key,
        )
    expected = signature(secret, scope["date"], scope["region"], policy_b64)
    provided = upload.get("x-amz-signature") or ""
    if not hmac.compare_digest(expected, provided.lower()):
        raise PostRefused(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            AWSAccessKeyId=access_key,
            StringToSign=policy_b64,
            SignatureProvided=provided,
        )


def _invalid_policy(what: str) -> PostRefused:
    return PostRefused(400, "InvalidPolicyDocument", f"Invalid Policy: {what}")


def _decode_policy(policy_b64: str) -> dict[str, Any]:
    try:
        raw = base64.b64decode(policy_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _invalid_policy("Invalid Base64 Encoding.") from exc
    try:
        policy = json.loads(raw)
    except ValueError as exc:
        raise _invalid_policy("Invalid JSON.") from exc
    if not isinstance(policy, dict):
        raise _invalid_policy("Invalid JSON.")
    if "expiration" not in policy:
        raise _invalid_policy("Policy missing expiration.")
    if not isinstance(policy.get("conditions"), list):
        raise _invalid_policy("Policy missing conditions.")
    return policy


def _expiration(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise _invalid_policy(f"Invalid 'expiration' value: '{value}'") from exc
    if parsed.tzinfo is None:
        raise _invalid_policy(f"Invalid 'expiration' value: '{value}'")
    return parsed


def _failed(condition: list[Any]) -> PostRefused:
    # S3 quotes the condition as ["op", "$field", value], exact-match objects included.
    shown = json.dumps(condition, ensure_ascii=False)
    return PostRefused(403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {shown}")


def _check_conditions(upload: PostUpload, conditions: list[Any]) -> tuple[set[str], tuple[int, int] | None]:
    """Check each condition in order; return the field names covered and the content-length-range."""
    covered: set[str] = set()
    length_range: tuple[int, int] | None = None
    for condition in conditions:
        if isinstance(condition, dict):
            if not condition:
                raise _failed([])
            for name, value in condition.items():
                shown = ["eq", f"${name}", value]
                _match(upload, "eq", str(name), value, shown)
                covered.add(str(name).lower())
            continue
        if not isinstance(condition, list) or not condition:
            raise _failed(condition if isinstance(condition, list) else [condition])
        op = str(condition[0]).lower()
        if op == "content-length-range":
            bounds = condition[1:]
            if len(bounds) != 2 or not all(type(b) is int for b in bounds) or bounds[0] > bounds[1]:
                raise _failed(condition)
            length_range = (bounds[0], bounds[1])
            continue
        if op not in ("eq", "starts-with") or len(condition) != 3:
            raise _failed(condition)
        target = condition[1]
        if not isinstance(target, str) or not target.startswith("$"):
            raise _failed(condition)
        name = target[1:]
        _match(upload, op, name, condition[2], condition)
        covered.add(name.lower())
    return covered, length_range


def _value_of(upload: PostUpload, name: str) -> str | None:
    lowered = name.lower()
    if lowered == "bucket":
        return upload.bucket  # the bucket addressed, whether or not the form repeats it
    value = upload.get(name)
    if lowered == "key" and value is not None:
        return value.replace("${filename}", upload.filename)
    return value


def _match(upload: PostUpload, op: str, name: str, expected: Any, shown: list[Any]) -> None:
    actual = _value_of(upload, name)
    if actual is None or not isinstance(expected, str):
        raise _failed(shown)
    if op == "eq":
        if actual != expected:
            raise _failed(shown)
        return
    lowered = name.lower()
    if lowered not in _STARTS_WITH_ALLOWED and not lowered.startswith(_META_PREFIX):
        raise _failed(shown)
    # A Content-Type may list several types; each one must match.
    values = [v.strip() for v in actual.split(",")] if lowered == "content-type" else [actual]
    if not all(v.startswith(expected) for v in values):
        raise _failed(shown)


# ------------------------------------------------------------------------------------ moto wiring


def moto_secret_of(access_key: str) -> str | None:
    """The secret of a local access key: the local stack's own, or one created in moto's IAM."""
    if access_key in LOCAL_CREDENTIALS:
        return LOCAL_CREDENTIALS[access_key]
    from moto.iam.models import iam_backends

    for account_id, regions in iam_backends.items():
        for partition in regions:
            backend = iam_backends[account_id][partition]
            for user in backend.users.values():
                for key in user.access_keys:
                    if key.access_key_id == access_key:
                        return str(key.secret_access_key)
    return None


def _upload_of(response: Any, request: Any, bucket: str) -> PostUpload:
    """The POST as moto parsed it (S3Response.setup_class has read the form and the file part)."""
    fields = {str(k): str(v) for k, v in response.form_data.items() if str(k).lower() != "file"}
    files = getattr(request, "files", None) or {}
    size: int | None = None
    filename = ""
    if "file" in files:
        body = response.raw_body
        size = len(body.encode() if isinstance(body, str) else body)
        filename = files["file"].filename or ""
    elif "file" in response.form_data:
        size = len(str(response.form_data["file"]).encode())
    return PostUpload(bucket=bucket, fields=fields, file_size=size, filename=filename)


def install_post_policy_check(secret_of: SecretLookup = moto_secret_of) -> None:
    """Check every form POST to a bucket in this process's moto (idempotent; DeleteObjects untouched)."""
    from moto.s3.responses import S3Response

    original = S3Response._bucket_response_post
    if getattr(original, _MARK, False):
        return

    def checked(self: Any, request: Any, bucket_name: str) -> Any:
        self.path = self._get_path(request)
        if not request.headers.get("Content-Length") or self.is_delete_keys():
            return original(self, request, bucket_name)
        try:
            check_post(_upload_of(self, request, bucket_name), secret_of)
        except PostRefused as refused:
            return refused.status, {"Content-Type": "application/xml"}, refused.xml()
        return original(self, request, bucket_name)

    functools.update_wrapper(checked, original)
    setattr(checked, _MARK, True)
    S3Response._bucket_response_post = checked  # type: ignore[method-assign]
