"""`onestop catalogue export|import`: a catalogue version as YAML through the admin API.

    onestop catalogue export --service URL [--version N] > catalogue.yaml
    onestop catalogue import --service URL catalogue.yaml [--base N] [--comment TEXT]

The bearer token of an admin comes from `--token` or `$ONESTOP_TOKEN`. Export without `--version` is
the current version; import without `--base` is made from the current version (409 if another change
comes first: nothing is lost, run it again after looking). Exit codes: 0 done; 1 refused by the API
(the reasons printed in Chinese and English); 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
HTTP_TIMEOUT_S = 60
MAX_YAML_BYTES = 4 * 1024 * 1024


class Refused(Exception):
    """The API answered with an error: its body (code, message, details)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body


def _call(service: str, token: str, path: str, body: Any | None = None) -> Any:
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310 - the URL is checked to be http(s)
        service + path,
        data=data,
        method="GET" if body is None else "POST",
        headers={"Accept": "application/json", "Authorization": f"Bearer {token}"}
        | ({"Content-Type": "application/json"} if body is not None else {}),
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as reply:  # noqa: S310
            return json.loads(reply.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raw = exc.read().decode("utf-8", "replace")
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            parsed = {"message": {"zh": raw, "en": raw}}
        raise Refused(exc.code, parsed) from None


def _print_refusal(exc: Refused, err: TextIO) -> None:
    body = exc.body if isinstance(exc.body, dict) else {}
    message = body.get("message") or {}
    err.write(
        f"HTTP {exc.status} {body.get('code', '')}\n  {message.get('zh', '')}\n  {message.get('en', '')}\n"
    )
    for detail in body.get("details") or []:
        err.write(f"  - {detail.get('zh', '')}\n    {detail.get('en', '')}\n")
    if "current_version" in body:
        err.write(f"  current version: {body['current_version']}\n")


def command(args: argparse.Namespace, out: TextIO, err: TextIO | None = None) -> int:
    """Run `onestop catalogue …`."""
    err = err or sys.stderr
    service = (args.service or os.environ.get("ONESTOP_API") or "").rstrip("/")
    token = args.token or os.environ.get("ONESTOP_TOKEN")
    if not service.startswith(("https://", "http://")):
        err.write("onestop catalogue: --service (or $ONESTOP_API) must be an http(s) URL\n")
        return EXIT_USAGE
    if not token:
        err.write("onestop catalogue: an admin's token is needed (--token or $ONESTOP_TOKEN)\n")
        return EXIT_USAGE
    try:
        if args.catalogue_command == "export":
            version = args.version or _call(service, token, "/admin/catalogue/versions")["current_version"]
            out.write(_call(service, token, f"/admin/catalogue/versions/{int(version)}/export")["yaml"])
            return EXIT_OK
        path: Path = args.file
        if not path.is_file() or path.stat().st_size > MAX_YAML_BYTES:
            err.write(f"onestop catalogue: {path} is not a file of at most {MAX_YAML_BYTES} bytes\n")
            return EXIT_USAGE
        base = args.base or _call(service, token, "/admin/catalogue/versions")["current_version"]
        body = {"base_version": int(base), "yaml": path.read_text(encoding="utf-8")}
        if args.comment:
            body["comment"] = args.comment
        made = _call(service, token, "/admin/catalogue/import", body)
        out.write(f"version {made['version']} (from {made['base_version']}): {made['summary']['en']}\n")
        out.write(f"版本 {made['version']}（基于 {made['base_version']}）：{made['summary']['zh']}\n")
        return EXIT_OK
    except Refused as exc:
        _print_refusal(exc, err)
        return EXIT_REFUSED
    except (urllib.error.URLError, TimeoutError) as exc:
        err.write(f"onestop catalogue: cannot reach {service}: {exc}\n")
        return EXIT_REFUSED
