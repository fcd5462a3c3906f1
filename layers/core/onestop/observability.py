"""The one Logger, Tracer and Metrics used by every function and module.

The service name comes from POWERTOOLS_SERVICE_NAME, which template.yaml sets per function: passing
`service=` here would override it and put every metric under one `service` dimension, out of reach
of the dashboard and alarms that select by function.

The Tracer records through `LazyXRayProvider`, not Powertools' default provider: Powertools imports
the X-Ray SDK (aws_xray_sdk.core, which pulls in botocore's session and its docs machinery) when the
Tracer is built, whether tracing is on or not; that was the largest part of every function's cold
start. Here the SDK is imported on the first traced call, and never while tracing is disabled.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment


class _NoSegment(BaseSegment):
    """What a traced call records into while tracing is disabled: nothing."""

    def close(self, end_time: int | None = None) -> None:
        return None

    def add_subsegment(self, subsegment: Any) -> None:
        return None

    def remove_subsegment(self, subsegment: Any) -> None:
        return None

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        return None


class LazyXRayProvider(BaseProvider):
    """Powertools' X-Ray provider (the SDK's `xray_recorder`), imported on first use.

    `enabled` is set from the Tracer once it has decided (POWERTOOLS_TRACE_DISABLED, or not running in
    Lambda): while False, subsegments are no-ops and the SDK is never imported. On the first traced
    call with tracing on, the SDK is imported, the patching the Tracer asked for at construction
    (`patch_all`, Powertools' default) is applied, and subsegments are streamed one by one as
    Powertools configures its own provider (streaming_threshold=0), all before the call is recorded.
    """

    def __init__(self) -> None:
        self.enabled = False
        self._recorder: Any = None
        self._patch: Sequence[str] | None = None  # modules to patch; None = nothing asked yet
        self._patch_all = False
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the X-Ray SDK has been imported (for tests and the cold-start benchmark)."""
        return self._recorder is not None

    def recorder(self) -> Any:
        """The SDK's recorder, imported, patched and configured on the first call."""
        if self._recorder is None:
            with self._lock:
                if self._recorder is None:
                    from aws_xray_sdk.core import patch, patch_all, xray_recorder

                    if self._patch_all:
                        patch_all()
                    elif self._patch:
                        patch(self._patch)
                    xray_recorder.configure(streaming_threshold=0)
                    self._recorder = xray_recorder
        return self._recorder

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[Any]:
        if not self.enabled:
            yield _NoSegment()
            return
        with self.recorder().in_subsegment(name=name, **kwargs) as subsegment:
            yield subsegment

    def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> AbstractAsyncContextManager[Any]:
        @asynccontextmanager
        async def segment() -> Any:
            if not self.enabled:
                yield _NoSegment()
                return
            async with self.recorder().in_subsegment_async(name=name, **kwargs) as subsegment:
                yield subsegment

        return segment()

    def put_annotation(self, key: str, value: Any) -> None:
        if self.enabled:
            self.recorder().put_annotation(key=key, value=value)

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        if self.enabled:
            self.recorder().put_metadata(key=key, value=value, namespace=namespace)

    def patch(self, modules: Sequence[str]) -> None:
        # Called by the Tracer at construction (auto_patch), only when tracing is on: remembered, and
        # applied when the SDK is imported. Patching the classes (botocore's BaseClient, http.client)
        # then also covers clients created before it.
        if self._recorder is not None:
            from aws_xray_sdk.core import patch

            patch(modules)
        else:
            self._patch = tuple(modules)

    def patch_all(self) -> None:
        if self._recorder is not None:
            from aws_xray_sdk.core import patch_all

            patch_all()
        else:
            self._patch_all = True


logger = Logger()
xray = LazyXRayProvider()
tracer = Tracer(provider=xray)
xray.enabled = not tracer.disabled
metrics = Metrics(namespace="Onestop")

# One X-Ray subsegment per adapter call (nothing is recorded while tracing is disabled, as in the
# tests and the local stack). Responses are left out: they hold applicants' personal data and can
# outgrow a trace segment; exceptions are recorded.
traced = tracer.capture_method(capture_response=False)

# The ids that tie log lines of one flow together (what an operator searches the logs by).
CORRELATION_KEYS = ("application_id", "licence_id", "case_id", "slot", "upload_id", "upload_key", "event_id")


@contextmanager
def correlated(**ids: str | None) -> Iterator[None]:
    """Every log line inside carries these ids (None values are left out); removed on the way out, so
    that the next record or request of a warm container does not inherit them."""
    keys = {k: v for k, v in ids.items() if v is not None}
    logger.append_keys(**keys)
    try:
        yield
    finally:
        logger.remove_keys(list(keys))
