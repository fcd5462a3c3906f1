"""Fault injection for boto3 clients: a botocore `before-send` hook registered first on every new client.

`inject(Fault("s3", "PutObject", times=3))` makes the first three attempts of S3 PutObject (after
`skip` successful ones) answer like AWS does when it throttles or fails: the error response with the
service's own protocol (S3 XML, JSON elsewhere), so botocore's retry logic classifies it as it would
the real thing and the code under test sees the same ClientError. moto's in-process mock is itself a
`before-send` handler, and botocore calls every such handler (it takes the first reply, but moto would
still have executed the call): the injector therefore stands in moto's place and calls it only for
the calls it lets through. Retry back-off sleeps are zeroed while faults are installed (the retries
themselves still happen), so a test can fault dozens of steps in seconds.

Every call is recorded (`Injector.calls`), which is also how the tests learn which AWS operations a
code path makes, in order, before faulting each of them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.retries.standard
import botocore.retryhandler
from botocore import handlers
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from onestop.aws.clients import reset_clients

FOREVER = 10**9

# How each service says "slow down" and "internal error" (status, error code).
_THROTTLE = {
    "s3": (503, "SlowDown"),
    "dynamodb": (400, "ThrottlingException"),
    "kms": (400, "ThrottlingException"),
    "eventbridge": (400, "ThrottlingException"),
    "sqs": (400, "ThrottlingException"),
}
_ERROR = {
    "s3": (500, "InternalError"),
    "dynamodb": (500, "InternalServerError"),
    "kms": (500, "KMSInternalException"),
    "eventbridge": (500, "InternalException"),
    "sqs": (500, "InternalError"),
}


@dataclass
class Fault:
    """Fail `times` calls of `service`.`operation` after letting `skip` through.

    kind: "throttle" (retryable by botocore), "error" (HTTP 500, retryable), or "partial" (EventBridge
    PutEvents answers 200 with FailedEntryCount 1, which botocore does not retry).
    """

    service: str  # botocore service id, lower case: s3, dynamodb, kms, eventbridge
    operation: str  # e.g. PutObject, UpdateItem, Sign, PutEvents
    times: int = FOREVER
    skip: int = 0
    kind: str = "throttle"
    seen: int = 0
    injected: int = 0

    def matches(self, service: str, operation: str) -> bool:
        return self.service == service and self.operation == operation

    def take(self) -> bool:
        """Count one call; True when this one is to fail."""
        self.seen += 1
        if self.seen <= self.skip or self.injected >= self.times:
            return False
        self.injected += 1
        return True

    def heal(self) -> None:
        self.times = self.injected


class _Raw:
    """The raw body botocore reads from an AWSResponse."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body

    def read(self, *_: Any) -> bytes:
        return self._body


def _headers(**values: str) -> HTTPHeaders:
    headers = HTTPHeaders()
    for name, value in values.items():
        headers[name.replace("_", "-")] = value
    return headers


def _response(request: Any, service: str, kind: str) -> AWSResponse:
    if kind == "partial":
        body = json.dumps(
            {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "injected"}]}
        ).encode()
        return AWSResponse(request.url, 200, _headers(Content_Type="application/x-amz-json-1.1"), _Raw(body))
    status, code = (_THROTTLE if kind == "throttle" else _ERROR)[service]
    if service == "s3":
        xml = f"<?xml version='1.0'?><Error><Code>{code}</Code><Message>injected</Message></Error>"
        return AWSResponse(request.url, status, _headers(Content_Type="application/xml"), _Raw(xml.encode()))
    body = json.dumps({"__type": code, "message": "injected fault"}).encode()
    headers = _headers(Content_Type="application/x-amz-json-1.0", x_amzn_ErrorType=code)
    return AWSResponse(request.url, status, headers, _Raw(body))


@dataclass
class Injector:
    """The active faults and the record of every AWS call made while it was installed."""

    faults: list[Fault] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    downstream: Any = None  # moto's in-process stubber, when moto is loaded
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Any = None, event_name: str = "", **kwargs: Any) -> AWSResponse | None:
        # event_name: before-send.<service id>.<operation>
        _, service, operation = event_name.split(".", 2)
        with self._lock:
            self.calls.append((service, operation))
            for fault in self.faults:
                if fault.matches(service, operation) and fault.take():
                    return _response(request, service, fault.kind)
        if self.downstream is not None:
            reply: AWSResponse | None = self.downstream(request=request, event_name=event_name, **kwargs)
            return reply
        return None

    def heal(self) -> None:
        with self._lock:
            for fault in self.faults:
                fault.heal()

    def steps(self) -> list[tuple[str, str, int]]:
        """The recorded calls as (service, operation, occurrence) - the points a fault can hit."""
        seen: dict[tuple[str, str], int] = {}
        out = []
        for call in self.calls:
            out.append((*call, seen.get(call, 0)))
            seen[call] = seen.get(call, 0) + 1
        return out


@contextmanager
def inject(*faults: Fault) -> Iterator[Injector]:
    """Install the faults for every boto3 client created inside the block (cached clients are dropped)."""
    injector = Injector(list(faults))
    builtins = handlers.BUILTIN_HANDLERS
    stubber = _moto_stubber()
    at = next((i for i, spec in enumerate(builtins) if stubber is not None and spec[1] is stubber), None)
    spec = ("before-send", injector)
    if at is None:
        builtins.append(spec)
    else:
        injector.downstream = stubber
        builtins[at] = spec
    delays = (
        botocore.retries.standard.ExponentialBackoff.delay_amount,
        botocore.retryhandler.delay_exponential,
    )
    botocore.retries.standard.ExponentialBackoff.delay_amount = lambda self, context: 0  # type: ignore[method-assign]
    botocore.retryhandler.delay_exponential = lambda base, growth_factor, attempts: 0
    reset_clients()
    try:
        yield injector
    finally:
        if at is None:
            builtins.remove(spec)
        else:
            builtins[at] = ("before-send", stubber)
        botocore.retries.standard.ExponentialBackoff.delay_amount = delays[0]  # type: ignore[method-assign]
        botocore.retryhandler.delay_exponential = delays[1]
        reset_clients()


def _moto_stubber() -> Any:
    try:
        from moto.core.models import botocore_stubber
    except ImportError:
        return None
    return botocore_stubber
