"""werkzeug's WSGI request handler with HTTP/1.1 keep-alive, for the local gateway and moto's server.

werkzeug's development server closes every connection after one response (it sends
`Connection: close`, then waits up to 10 ms for stray request bytes) and logs each request, so every
call from a client, from a function's boto3 to the embedded AWS, and from the benchmark to the
gateway paid a TCP handshake, a new server thread and an access-log line. API Gateway, CloudFront
and the AWS endpoints keep connections open; so does this handler:

- the response goes out in one write (status line, headers and body: no Nagle stall between them),
  with a Content-Length computed when the application gave none;
- the request body the application left unread is read and dropped before the next request (a
  chunked body that was not read to its end closes the connection instead);
- a connection idle for `timeout` seconds is closed, as load balancers do.

Everything else, the WSGI environ above all, is werkzeug's (or moto's, for its handler).
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import WSGIRequestHandler

log = logging.getLogger("infra.local")

_NO_BODY_STATUS = (204, 304)
# A request body left unread larger than this is not drained: the connection closes instead.
_MAX_DRAIN = 16 * 1024 * 1024


class _Body:
    """The request body with a declared length: reads stop at its end; `drain` skips what is left."""

    def __init__(self, stream: Any, length: int) -> None:
        self._stream = stream
        self.remaining = length

    def read(self, size: int | None = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        data: bytes = self._stream.read(size)
        self.remaining -= len(data)
        if not data:
            self.remaining = 0
        return data

    def readline(self, size: int | None = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        data: bytes = self._stream.readline(size)
        self.remaining -= len(data)
        if not data:
            self.remaining = 0
        return data

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Any:
        return iter(self.readline, b"")

    def drain(self) -> bool:
        """Skip the unread rest; False when it is too large to be worth it (close instead)."""
        if self.remaining > _MAX_DRAIN:
            return False
        while self.remaining > 0 and self.read(min(self.remaining, 1 << 20)):
            pass
        return True


class KeepAliveMixin:
    """Put before a werkzeug WSGIRequestHandler (sub)class: one response per request, connection kept."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout: float | None = 75  # seconds a kept-alive connection may sit idle

    # provided by the handler classes this is mixed into
    server: Any
    headers: Any
    command: str
    request_version: str
    close_connection: bool
    wfile: Any
    rfile: Any
    environ: dict[str, Any]
    make_environ: Callable[[], dict[str, Any]]
    _headers_buffer: list[bytes]

    def run_wsgi(self) -> None:
        environ = self.make_environ()
        self.environ = environ
        body: _Body | None = None
        if environ.get("wsgi.input_terminated"):
            self.close_connection = True  # chunked: simpler to close than to find the body's end
        else:
            try:
                length = max(0, int(environ.get("CONTENT_LENGTH") or 0))
            except ValueError:
                length = 0
                self.close_connection = True
            body = _Body(self.rfile, length)
            environ["wsgi.input"] = body
        status = "500 INTERNAL SERVER ERROR"
        response_headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []

        def start_response(
            status_line: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            nonlocal status, response_headers
            status, response_headers = status_line, list(headers)
            return chunks.append

        try:
            app_iter: Iterable[bytes] = self.server.app(environ, start_response)
            try:
                chunks.extend(app_iter)
            finally:
                close = getattr(app_iter, "close", None)
                if close is not None:
                    close()
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return
        except Exception:
            print(f"Error on request:\n{traceback.format_exc()}", file=sys.stderr)
            status, response_headers = "500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain")]
            chunks = [b"Internal Server Error"]
            self.close_connection = True
        if body is not None and not body.drain():
            self.close_connection = True
        self._send(status, response_headers, b"".join(chunks))

    def _send(self, status: str, headers: list[tuple[str, str]], payload: bytes) -> None:
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        with_body = self.command != "HEAD" and code not in _NO_BODY_STATUS and code >= 200
        lines = [f"{self.protocol_version} {code} {reason}\r\n"]
        has_length = False
        for name, value in headers:
            lowered = name.lower()
            if lowered in ("connection", "transfer-encoding", "keep-alive"):
                continue  # hop-by-hop: this server decides
            if lowered == "content-length":
                if not with_body and self.command != "HEAD":
                    continue
                has_length = True
            lines.append(f"{name}: {value}\r\n")
        if with_body and not has_length:
            lines.append(f"Content-Length: {len(payload)}\r\n")
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1")
        self.wfile.write(head + payload if with_body else head)
        self._headers_buffer = []

    def log_error(self, format: str, *args: Any) -> None:
        """A kept-alive connection left idle times out: normal here, not worth a line on the console."""
        if format.startswith("Request timed out"):
            log.debug(format, *args)
            return
        super().log_error(format, *args)  # type: ignore[misc]

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log line per request (werkzeug's costs a tenth of a small request)."""
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s %s", self.command, getattr(self, "path", ""), code)


class KeepAliveRequestHandler(KeepAliveMixin, WSGIRequestHandler):
    """werkzeug's request handler with keep-alive."""
