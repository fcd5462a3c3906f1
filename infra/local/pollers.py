"""Event sources with Lambda's semantics: SQS event source mappings and EventBridge rules.

SQS: receive up to BatchSize messages, invoke with an SQS event, delete what succeeded; with
ReportBatchItemFailures only the reported items stay; an invocation error keeps the whole batch.
Messages left on the queue come back after the visibility timeout and moto moves them to the DLQ
after maxReceiveCount, as SQS does. Locally a failed message becomes visible again after
`retry_delay_s` instead of the full visibility timeout, so that retries take seconds, not minutes.
A mapping delivers as many batches at once as its function has workers (its ScalingConfig
MaximumConcurrency, under the local cap of infra/local/runtime.py); its invocations wait for a worker
rather than being throttled, as Lambda's pollers retry throttled invocations.

EventBridge: each rule gets a local tap queue as its target (same bus, same pattern); a poller
invokes the rule's function with the event and, after the rule's MaximumRetryAttempts, sends the
event to the rule's dead-letter queue.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("infra.local")

Invoke = Callable[[str, dict[str, Any]], Any]


@dataclass(frozen=True)
class SqsMapping:
    """An AWS::Lambda::EventSourceMapping from an SQS queue."""

    name: str
    function: str
    queue_url: str
    queue_arn: str
    batch_size: int
    window_s: float
    report_failures: bool


@dataclass(frozen=True)
class RuleWiring:
    """An AWS::Events::Rule with a Lambda target, plus its local tap queue."""

    name: str
    function: str
    bus: str
    pattern: dict[str, Any]
    tap_queue_url: str
    dead_letter_arn: str | None
    max_attempts: int


class _Poller(threading.Thread, ABC):
    """Polls on `lanes` threads at once (this one and lanes - 1 more), each delivering one batch at a
    time, as Lambda runs up to the mapping's maximum concurrency of batches in parallel."""

    def __init__(self, name: str, sqs: Any, stop: threading.Event, lanes: int = 1) -> None:
        super().__init__(name=name, daemon=True)
        self.sqs = sqs
        self.stop_event = stop
        self.lanes = max(1, lanes)
        self.invocations = 0
        self.failures = 0
        self._counts = threading.Lock()
        self._delivering = 0
        self._lane_threads: list[threading.Thread] = []

    @property
    def busy(self) -> bool:
        """Some lane is delivering a batch."""
        return self._delivering > 0

    @contextmanager
    def _delivery(self) -> Iterator[None]:
        with self._counts:
            self._delivering += 1
        try:
            yield
        finally:
            with self._counts:
                self._delivering -= 1

    def _count(self, *, failed: int = 0) -> None:
        with self._counts:
            self.invocations += 1
            self.failures += failed

    def run(self) -> None:
        for lane in range(1, self.lanes):
            thread = threading.Thread(target=self._loop, name=f"{self.name}-{lane}", daemon=True)
            thread.start()
            self._lane_threads.append(thread)
        self._loop()
        for thread in self._lane_threads:
            thread.join(5)

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.poll_once()
            except Exception:  # keep polling, like the Lambda service; log for the operator
                if not self.stop_event.is_set():
                    log.exception("poller %s failed; retrying", self.name)
                    time.sleep(0.5)

    @abstractmethod
    def poll_once(self) -> None:
        """Receive and deliver one batch (returns after at most about a second when idle)."""


class SqsPoller(_Poller):
    """Drives one SQS event source mapping."""

    def __init__(
        self,
        mapping: SqsMapping,
        sqs: Any,
        invoke: Invoke,
        stop: threading.Event,
        retry_delay_s: int,
        region: str,
        lanes: int = 1,
    ) -> None:
        super().__init__(f"sqs-{mapping.name}", sqs, stop, lanes)
        self.mapping = mapping
        self.invoke = invoke
        self.retry_delay_s = retry_delay_s
        self.region = region

    def poll_once(self) -> None:
        m = self.mapping
        reply = self.sqs.receive_message(
            QueueUrl=m.queue_url,
            MaxNumberOfMessages=min(10, m.batch_size),
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = reply.get("Messages", [])
        if not messages:
            return
        with self._delivery():
            self._deliver(messages)

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        m = self.mapping
        records = [
            {
                "messageId": msg["MessageId"],
                "receiptHandle": msg["ReceiptHandle"],
                "body": msg["Body"],
                "attributes": msg.get("Attributes", {}),
                "messageAttributes": msg.get("MessageAttributes", {}),
                "md5OfBody": msg.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": m.queue_arn,
                "awsRegion": self.region,
            }
            for msg in messages
        ]
        failed: set[str]
        try:
            result = self.invoke(m.function, {"Records": records})
            self._count()
            failed = set()
            if m.report_failures and isinstance(result, dict):
                failed = {f["itemIdentifier"] for f in result.get("batchItemFailures") or []}
        except Exception as exc:
            self._count()
            log.warning(
                "%s: invocation failed, batch of %d kept: %s\n%s",
                m.function,
                len(records),
                exc,
                getattr(exc, "trace", ""),
            )
            failed = {r["messageId"] for r in records}
        for msg in messages:
            if msg["MessageId"] in failed:
                with self._counts:
                    self.failures += 1
                self.sqs.change_message_visibility(
                    QueueUrl=m.queue_url,
                    ReceiptHandle=msg["ReceiptHandle"],
                    VisibilityTimeout=self.retry_delay_s,
                )
            else:
                self.sqs.delete_message(QueueUrl=m.queue_url, ReceiptHandle=msg["ReceiptHandle"])


class RulePoller(_Poller):
    """Delivers one rule's matched events to its function, with retries and a dead-letter queue."""

    def __init__(
        self, wiring: RuleWiring, sqs: Any, invoke: Invoke, stop: threading.Event, retry_delay_s: int
    ) -> None:
        super().__init__(f"rule-{wiring.name}", sqs, stop)
        self.wiring = wiring
        self.invoke = invoke
        self.retry_delay_s = retry_delay_s
        self.dead_lettered = 0

    def poll_once(self) -> None:
        w = self.wiring
        reply = self.sqs.receive_message(
            QueueUrl=w.tap_queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1, AttributeNames=["All"]
        )
        for msg in reply.get("Messages", []):
            with self._delivery():
                self._deliver(msg)

    def _deliver(self, msg: dict[str, Any]) -> None:
        w = self.wiring
        attempt = int(msg.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        event = json.loads(msg["Body"])
        try:
            self.invoke(w.function, event)
            self._count()
        except Exception as exc:
            self._count(failed=1)
            if attempt <= w.max_attempts:
                log.warning("%s: attempt %d failed, will retry: %s", w.function, attempt, exc)
                self.sqs.change_message_visibility(
                    QueueUrl=w.tap_queue_url,
                    ReceiptHandle=msg["ReceiptHandle"],
                    VisibilityTimeout=self.retry_delay_s,
                )
                return
            log.error("%s: giving up after %d attempts: %s", w.function, attempt, exc)
            if w.dead_letter_arn:
                self.sqs.send_message(
                    QueueUrl=_queue_url_from_arn(self.sqs, w.dead_letter_arn),
                    MessageBody=msg["Body"],
                    MessageAttributes={
                        "ERROR_CODE": {"DataType": "String", "StringValue": "INVOCATION_FAILED"},
                        "ERROR_MESSAGE": {"DataType": "String", "StringValue": str(exc)[:250]},
                        "RULE_ARN": {"DataType": "String", "StringValue": w.name},
                    },
                )
                self.dead_lettered += 1
        self.sqs.delete_message(QueueUrl=w.tap_queue_url, ReceiptHandle=msg["ReceiptHandle"])


def _queue_url_from_arn(sqs: Any, arn: str) -> str:
    parts = arn.split(":")
    url: str = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
    return url
