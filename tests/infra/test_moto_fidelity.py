"""moto's DynamoDB, as the tests and the local stack run it, isolates transactions as AWS does."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from infra.local.moto_fidelity import EXIT_WITH_PARENT
from tests.process_state import is_running

ROOT = Path(__file__).resolve().parents[2]

ROUNDS = 150
RACERS = 3


def _claim(client: Any, n: int, racer: int) -> str:
    try:
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": "t",
                        "Item": {"PK": {"S": f"CLAIM#{n}"}, "by": {"S": str(racer)}},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {"Put": {"TableName": "t", "Item": {"PK": {"S": f"RECORD#{n}"}, "by": {"S": str(racer)}}}},
            ]
        )
    except client.exceptions.TransactionCanceledException:
        return "lost"
    return "won"


def test_racing_transactions_leave_one_whole_winner() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        with concurrent.futures.ThreadPoolExecutor(RACERS) as pool:
            for n in range(ROUNDS):
                # Any other exception (moto without the lock raises "dictionary changed size during
                # iteration" from its rollback copy) propagates here and fails the test.
                outcomes = list(pool.map(lambda racer, n=n: _claim(client, n, racer), range(RACERS)))
                assert outcomes.count("won") == 1, (n, outcomes)
        items = {i["PK"]["S"]: i["by"]["S"] for i in client.scan(TableName="t")["Items"]}
    for n in range(ROUNDS):
        # The record is the winner's: no loser's rollback undid it, no half transaction is visible.
        assert items.get(f"RECORD#{n}") == items.get(f"CLAIM#{n}") is not None, n


_LAUNCHER = """
import os, subprocess, sys
server = subprocess.Popen(
    [sys.executable, "-m", "infra.local.moto_server", "-H", "127.0.0.1", "-p", "0"],
    env={**os.environ, %r: str(os.getpid())}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
)
print(server.pid, flush=True)
os._exit(0)  # killed without cleanup, as a test run or `make serve` can be
"""


def test_the_local_moto_server_exits_with_its_parent() -> None:
    launched = subprocess.run(
        [sys.executable, "-c", _LAUNCHER % EXIT_WITH_PARENT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    server = int(launched.stdout.split()[0])
    try:
        gone = time.monotonic() + 30
        while is_running(server) and time.monotonic() < gone:
            time.sleep(0.2)
        assert not is_running(server)
    finally:
        if is_running(server):
            os.kill(server, signal.SIGKILL)
