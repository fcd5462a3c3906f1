"""`onestop` console script. `onestop verify FILE.pdf` checks a licence offline, or online with --service.

Exit codes: 0 every check passed; 1 a check failed; 2 usage error (bad arguments, unreadable or
oversized file, no trust anchors); 3 nothing failed but something could not be checked (offline: the
status; online: the service unreachable; a file the worker could not finish).

Trust: `--trust-bundle trust.json` (the `GET /trust` document: roots, published seals, TSA anchors) is
the full trust model; `--trust ROOT.pem` gives roots only, so seal publication is not checked and the
issuer check cannot pass; `--service URL` fetches the bundle from the service; else the bundle shipped
in the package, if any.

The file is never read whole before its size is known: a regular file is refused by its size, and
standard input or a device is read up to the limit plus one byte.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNCHECKED = 0, 1, 2, 3
MARKS = {"pass": "✓", "fail": "✗", "unknown": "?"}
HTTP_TIMEOUT_S = 15
MAX_BUNDLE_BYTES = 1024 * 1024


class UsageError(Exception):
    """Something the user must fix before verifying (exit 2)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onestop", description="onestop e-licence tools")
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser(
        "verify",
        help="verify an e-licence PDF",
        description=(
            "Check that an e-licence PDF is unaltered and sealed by the bureau (offline, against the "
            "bundled or given trust anchors), and with --service also its registered status; offline, "
            "the status comes from the licence type's signed status list when one is at hand (--cache, "
            "or a status-lists folder beside --trust-bundle). "
            "Exit 0: every check passed; 1: a check failed; 2: usage error; 3: nothing failed but a "
            "check could not be made (offline without a fresh status list: the status)."
        ),
    )
    verify.add_argument(
        "file",
        type=Path,
        help="the licence PDF, or a photo or screenshot of it (JPEG, PNG, WebP: its QR code is checked); "
        "'-' reads standard input",
    )
    verify.add_argument(
        "--cache",
        type=Path,
        metavar="DIR",
        help="the trust bundle and status lists `onestop trust update` stored (for a picture, by "
        "default: $ONESTOP_CACHE or ~/.cache/onestop when it holds them)",
    )
    verify.add_argument(
        "--trust-bundle",
        type=Path,
        metavar="JSON",
        help="the trust bundle (the service's GET /trust document): roots, published seals, TSA anchors; "
        "status lists (GET /status-lists/{type}) in a status-lists folder beside it are used offline",
    )
    verify.add_argument(
        "--trust",
        action="append",
        type=Path,
        default=[],
        metavar="PEM",
        help="root certificate(s) in PEM (repeatable); roots only: seal publication is not checked",
    )
    verify.add_argument(
        "--service",
        metavar="URL",
        help="base URL of the verify service: fetches /trust (unless --trust) and the licence status",
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    trust = commands.add_parser("trust", help="the bureau's signed trust list, cached for offline checks")
    trust_commands = trust.add_subparsers(dest="trust_command", required=True)
    update = trust_commands.add_parser(
        "update",
        help="fetch, verify and cache the signed trust list and status lists",
        description=(
            "Fetch the service's signed trust list and every status list it names, check them against "
            "the pinned bureau root, and cache them for `onestop verify` offline. Exit 0: cached; 1: a "
            "list did not verify (nothing written); 2: usage error."
        ),
    )
    update.add_argument("--service", required=True, metavar="URL", help="base URL of the verify service")
    update.add_argument(
        "--out", type=Path, metavar="DIR", help="cache folder (default: $ONESTOP_CACHE or ~/.cache/onestop)"
    )
    update.add_argument(
        "--root",
        action="append",
        type=Path,
        default=[],
        metavar="PEM",
        help="the bureau's root certificate (repeatable; default: the roots pinned in the cache, or bundled)",
    )
    _catalogue_parser(commands)
    return parser


def _catalogue_parser(commands: Any) -> None:
    """`onestop catalogue export|import` (onestop.catalogue.cli, imported only when run)."""
    catalogue = commands.add_parser("catalogue", help="export or import the catalogue as YAML (admins)")
    verbs = catalogue.add_subparsers(dest="catalogue_command", required=True)
    for name, text in (("export", "print a catalogue version as YAML"), ("import", "import a YAML file")):
        verb = verbs.add_parser(name, help=text)
        verb.add_argument("--service", metavar="URL", help="the API's base URL (default $ONESTOP_API)")
        verb.add_argument("--token", metavar="JWT", help="an admin's bearer token (default $ONESTOP_TOKEN)")
        if name == "export":
            verb.add_argument("--version", type=int, metavar="N", help="the version (default: the current)")
        else:
            verb.add_argument("file", type=Path, help="the YAML file (as exported)")
            verb.add_argument("--base", type=int, metavar="N", help="the version it was made from")
            verb.add_argument("--comment", help="why (recorded in the version's audit)")


def _http_json(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - http(s) only
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as reply:  # noqa: S310
        return json.loads(reply.read().decode("utf-8"))


def _check_url(url: str) -> str:
    if not url.startswith(("https://", "http://")):
        raise UsageError(f"--service must be an http(s) URL, not {url!r}")
    return url.rstrip("/")


def _anchors(trust_files: Sequence[Path], service: str | None, bundle: Path | None = None) -> Any:
    from onestop.verification import TrustAnchors, bundled_anchors

    if bundle is not None:
        try:
            if bundle.stat().st_size > MAX_BUNDLE_BYTES:
                raise UsageError(f"{bundle} is over {MAX_BUNDLE_BYTES // 1024} KB; it is not a trust bundle")
            return TrustAnchors.from_trust_document(json.loads(bundle.read_text("utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"cannot read the trust bundle {bundle}: {exc}") from exc
    if trust_files:
        try:
            return TrustAnchors.from_pem([p.read_bytes() for p in trust_files])
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read the trust anchors: {exc}") from exc
    if service:
        try:
            return TrustAnchors.from_trust_document(_http_json(f"{service}/trust"))
        except (OSError, ValueError, KeyError, urllib.error.URLError) as exc:
            raise UsageError(f"cannot fetch the trust anchors from {service}/trust: {exc}") from exc
    bundled = bundled_anchors()
    if bundled is None:
        raise UsageError(
            "no trust anchors: give the bureau's trust bundle with --trust-bundle trust.json "
            "(or its root certificate with --trust ROOT.pem), or the verify service with --service URL"
        )
    return bundled


def _service_lookup(service: str) -> Any:
    """A registry look-up backed by `GET /verify/{id}` of the service (same status logic as the API)."""
    from onestop.verification import RegistryEntry

    def lookup(licence_id: str) -> RegistryEntry | None:
        doc = _http_json(f"{service}/verify/{quote(licence_id, safe='')}")
        registry = doc.get("registry")
        if not registry:
            return None
        return RegistryEntry.from_public({**registry, "licence": doc.get("licence") or {}})

    return lookup


def _print_report(report: Any, out: TextIO) -> None:
    data = report.as_dict()
    out.write(f"{data['summary']['zh']}  {data['summary']['en']}\n\n")
    for check in data["checks"]:
        mark = MARKS.get(check["verdict"], "?")
        out.write(f" {mark} {check['name']['zh']} {check['name']['en']}\n")
        out.write(f"     {check['reason_zh']}\n     {check['reason_en']}\n")
    licence = data.get("licence") or {}
    rows = [
        ("证照标识 Identifier", licence.get("licence_id")),
        ("证照名称 Name", licence.get("name_zh")),
        ("证照编号 Number", licence.get("number")),
        ("持证主体 Holder", licence.get("holder_name")),
        ("持证主体代码 Holder code", licence.get("holder_code")),
        ("颁发机构 Issuer", licence.get("issuer_name")),
        ("有效期 Validity", _validity(licence)),
    ]
    shown = [(k, v) for k, v in rows if v]
    if shown:
        out.write("\n")
        for label, value in shown:
            out.write(f"   {label}: {value}\n")
    out.write(f"\n   SHA-256: {data['file']['sha256']}\n")


def _validity(licence: dict[str, Any]) -> str | None:
    start, end = licence.get("valid_from"), licence.get("valid_until")
    if not start:
        return None
    return f"{start} – {end or '长期 long-term'}"


def _exit_code(report: Any) -> int:
    verdicts = {c.verdict.value for c in report.checks}
    if "fail" in verdicts:
        return EXIT_FAILED
    if "unknown" in verdicts:
        return EXIT_UNCHECKED
    return EXIT_OK


def _too_large(name: str, limit: int) -> UsageError:
    return UsageError(
        f"{name} is over {limit // (1024 * 1024)} MB; an e-licence is under 100 KB, so it is not one "
        "(refused without reading it)"
    )


def read_bounded(path: Path, limit: int, image_limit: int | None = None) -> bytes:
    """The file's bytes, refusing anything over `limit` before reading it (stdin and devices: at limit+1).

    With `image_limit`, a file that starts like a picture (photo.sniff_format) may be that large."""
    import os
    import stat

    from onestop.verification.image_types import is_image

    def limit_for(head: bytes) -> int:
        return image_limit if image_limit is not None and is_image(head) else limit

    if str(path) == "-":
        head = sys.stdin.buffer.read(16)
        allowed = limit_for(head)
        data = head + sys.stdin.buffer.read(allowed + 1 - len(head))
        if len(data) > allowed:
            raise _too_large("standard input", allowed)
        return data
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise UsageError(f"{path} is a directory")
            regular = stat.S_ISREG(info.st_mode)
            if regular and info.st_size > max(limit, image_limit or 0):  # too large for anything
                raise _too_large(str(path), limit)
            head = handle.read(16)
            allowed = limit_for(head)
            if regular and info.st_size > allowed:
                raise _too_large(str(path), allowed)
            data = head + handle.read(allowed + 1 - len(head))
    except IsADirectoryError as exc:
        raise UsageError(f"{path} is a directory") from exc
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > allowed:  # a device or a file that grew while we read it
        raise _too_large(str(path), allowed)
    return data


def verify_command(args: argparse.Namespace, out: TextIO) -> int:
    from onestop.verification import DEFAULT_LIMITS, verify_pdf
    from onestop.verification.checks import quiet_pyhanko
    from onestop.verification.image_types import CLI_PHOTO_LIMITS, is_image

    data = read_bounded(args.file, DEFAULT_LIMITS.max_bytes, image_limit=CLI_PHOTO_LIMITS.max_bytes)
    if is_image(data):  # a photo or screenshot of the paper: its QR code is checked (photo_cli.py)
        from onestop.verification import photo_cli

        return photo_cli.command(args, data, out)
    quiet_pyhanko()
    service = _check_url(args.service) if args.service else None
    lists: Any = None
    if service is None and args.cache is not None:
        from onestop.verification.photo_cli import load_cached

        anchors, lists = load_cached(args.cache)
    else:
        anchors = _anchors(args.trust, service, args.trust_bundle)
        if service is None and args.trust_bundle is not None:
            from onestop.verification.photo_cli import CACHE_LISTS, lists_in

            lists = lists_in(args.trust_bundle.parent / CACHE_LISTS)
    # Offline, the signed status lists at hand give the status (the registry is not asked).
    lookup = _service_lookup(service) if service else None
    report = verify_pdf(data, trust=anchors, registry_lookup=lookup, status_lists=lists)
    if args.json:
        json.dump(report.as_dict(), out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        _print_report(report, out)
    return _exit_code(report)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage message
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    try:
        if args.command == "verify":
            return verify_command(args, out)
        if args.command == "trust":
            from onestop.verification import trust_update

            return trust_update.command(args, out)
        if args.command == "catalogue":
            from onestop.catalogue import cli as catalogue_cli

            return catalogue_cli.command(args, out)
    except UsageError as exc:
        sys.stderr.write(f"onestop {args.command}: {exc}\n")
        return EXIT_USAGE
    parser.print_help(sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
