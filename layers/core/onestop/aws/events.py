"""EventBridge implementation of the EventPublisher port."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from onestop.errors import Unavailable

from .clients import client


class EventBridgePublisher:
    """Puts domain events on the onestop bus; a failed entry raises so that the caller retries."""

    def __init__(self, bus_name: str, source: str, events: Any | None = None) -> None:
        self.bus_name = bus_name
        self.source = source
        self._events = events

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        events = self._events if self._events is not None else client("events")
        reply = events.put_events(
            Entries=[
                {
                    "EventBusName": self.bus_name,
                    "Source": self.source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, ensure_ascii=False, default=str),
                }
            ]
        )
        if reply.get("FailedEntryCount"):
            raise Unavailable(
                "event_not_published",
                "事件发布失败，请稍后重试。",
                "The event could not be published; retry later.",
                extra={"entries": reply.get("Entries", [])},
            )
