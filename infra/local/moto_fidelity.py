"""Make moto's DynamoDB isolate transactions as DynamoDB does.

moto's `transact_write_items` applies its items one by one and, when a condition fails, restores a
copy of every table it touched. Two requests served at the same instant by moto's threads can
therefore see half a transaction, or have a committed write undone by another's rollback (seen in
CI: a licence claim left without its record). DynamoDB serialises transactions with every other
write and with GetItem. One lock around moto's item operations gives the same guarantee; it is
installed in the local stack's moto server (`python -m infra.local.moto_server`) and in tests that
race writes in one process.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_ITEM_OPERATIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "batch_write_item",
    "transact_write_items",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
    "get_item",
    "batch_get_item",
    "transact_get_items",
    "query",
    "scan",
)
_LOCK = threading.RLock()
_MARK = "_onestop_serialised"


def serialise_dynamodb_items() -> None:
    """Serialise moto's DynamoDB item operations (idempotent; affects this process only)."""
    from moto.dynamodb.models import DynamoDBBackend

    for name in _ITEM_OPERATIONS:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, _MARK, False):
            continue

        def serialised(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with _LOCK:
                return _original(*args, **kwargs)

        functools.update_wrapper(serialised, original)
        setattr(serialised, _MARK, True)
        setattr(DynamoDBBackend, name, serialised)


# Set by LocalStack to its own pid: the server started with it (moto_server.py) stops when that
# process is gone, so a killed `make serve` or test run leaves no server holding the port.
EXIT_WITH_PARENT = "ONESTOP_EXIT_WITH_PARENT"
