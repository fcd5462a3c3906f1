"""Move messages from a dead-letter queue back to its source queue, so they are processed again.

    python -m infra.redrive --queue onestop-ingest            # DLQ found from the queue's RedrivePolicy
    python -m infra.redrive --dlq onestop-ingest-dlq --queue onestop-ingest --max 100 --dry-run

Works against AWS and the local moto stack alike (endpoint from AWS_ENDPOINT_URL). Plain receive /
send / delete, so that it needs no StartMessageMoveTask support; a message is deleted from the DLQ only
after it was sent to the source queue (at-least-once: the ingest function is idempotent).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from onestop.aws.clients import client


@dataclass(frozen=True)
class RedriveResult:
    dlq_url: str
    queue_url: str
    moved: int
    dry_run: bool


def queue_url(sqs: Any, name_or_url: str) -> str:
    if name_or_url.startswith(("https://", "http://")):
        return name_or_url
    url: str = sqs.get_queue_url(QueueName=name_or_url)["QueueUrl"]
    return url


def dlq_of(sqs: Any, source_url: str) -> str:
    """The dead-letter queue named in the source queue's RedrivePolicy."""
    attrs = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    policy = attrs.get("RedrivePolicy")
    if not policy:
        raise SystemExit(f"{source_url} has no RedrivePolicy; pass --dlq")
    arn = json.loads(policy)["deadLetterTargetArn"]
    return queue_url(sqs, arn.rsplit(":", 1)[-1])


def redrive(
    queue: str,
    dlq: str | None = None,
    *,
    max_messages: int | None = None,
    dry_run: bool = False,
    sqs: Any = None,
) -> RedriveResult:
    """Move up to `max_messages` (all when None) from the DLQ to `queue`."""
    sqs = sqs or client("sqs")
    source_url = queue_url(sqs, queue)
    dlq_url = queue_url(sqs, dlq) if dlq else dlq_of(sqs, source_url)
    moved = 0
    while max_messages is None or moved < max_messages:
        batch = 10 if max_messages is None else max(1, min(10, max_messages - moved))
        reply = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=batch,
            WaitTimeSeconds=1,
            VisibilityTimeout=60,
            MessageAttributeNames=["All"],
        )
        messages = reply.get("Messages", [])
        if not messages:
            break
        for message in messages:
            if dry_run:
                moved += 1
                continue
            kwargs: dict[str, Any] = {"QueueUrl": source_url, "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                kwargs["MessageAttributes"] = message["MessageAttributes"]
            sqs.send_message(**kwargs)
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
        if dry_run:
            # Make the peeked messages visible again; a dry run changes nothing.
            for message in messages:
                sqs.change_message_visibility(
                    QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            break
    return RedriveResult(dlq_url=dlq_url, queue_url=source_url, moved=moved, dry_run=dry_run)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.redrive", description=__doc__.splitlines()[0])
    parser.add_argument("--queue", required=True, help="source queue name or URL (where messages go back)")
    parser.add_argument("--dlq", help="dead-letter queue name or URL (default: from the RedrivePolicy)")
    parser.add_argument("--max", type=int, default=None, help="move at most this many messages")
    parser.add_argument("--dry-run", action="store_true", help="count (one batch) without moving")
    args = parser.parse_args(argv)
    result = redrive(args.queue, args.dlq, max_messages=args.max, dry_run=args.dry_run)
    verb = "would move" if result.dry_run else "moved"
    print(f"{verb} {result.moved} message(s) from {result.dlq_url} to {result.queue_url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
