"""`onestop verify photo.jpg`: a picture of a printed licence checked offline (the CLI's photo half).

The QR code is read and judged as `POST /verify` judges a picture (verification/photo.py), with the
trust and status lists the user has at hand instead of the service's:

- `--cache DIR`: what `onestop trust update` stored (DIR/trust.json, DIR/status-lists/<type>.json);
- `--trust-bundle trust.json`: that bundle, and the status lists in a `status-lists` folder beside it;
- `--service URL`: the service's trust, and the licence type's current status list fetched from
  `GET /status-lists/{type}` (a list names no licence: the service does not learn which one is checked);
  a URL-only QR code is looked up with `GET /verify/{id}`.

No registry is asked about a credential: the status comes from the signed list, the registry tick says
"not consulted". Exit codes as for a PDF: 0 valid; 1 a finding against the licence (invalid, revoked,
suspended, superseded, expired, unknown issuer, a link off the bureau's site, a QR code that is no
licence's); 3 nothing against it but something could not be checked (status unknown, no readable QR
code, a URL-only QR code).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from onestop.licences.status_list import StatusList

    from .anchors import TrustAnchors
    from .photo import PhotoVerdict

EXIT_OK, EXIT_FAILED, EXIT_UNCHECKED = 0, 1, 3
UNCHECKED_VERDICTS = frozenset({"status_unknown", "no_qr", "url_only"})
MARKS = {True: "✓", False: "✗", None: "?"}
TICK_NAMES = {
    "integrity": ("凭证完整性", "Integrity"),
    "issuer": ("签发机关", "Issuer"),
    "status": ("证照状态", "Licence status"),
    "registry": ("登记信息", "Registry"),
}
CACHE_TRUST = "trust.json"
CACHE_LISTS = "status-lists"


def exit_code(verdict: PhotoVerdict) -> int:
    if verdict.verdict == "valid":
        return EXIT_OK
    return EXIT_UNCHECKED if verdict.verdict in UNCHECKED_VERDICTS else EXIT_FAILED


def lists_in(folder: Path) -> dict[str, StatusList]:
    """The status lists stored in `folder` (as `onestop trust update` writes them); damaged ones skipped:
    a missing list makes the status "unknown", never "valid"."""
    from onestop.licences.status_list import StatusList, StatusListError

    lists: dict[str, StatusList] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            try:
                found = StatusList.from_document(json.loads(path.read_text("utf-8")))
            except (StatusListError, ValueError, OSError):
                continue
            lists[found.name] = found
    return lists


class ServiceStatusLists(Mapping[str, "StatusList"]):
    """Status lists fetched from `GET /status-lists/{type}` when a credential names one."""

    def __init__(self, fetch: Callable[[str], Any]) -> None:
        self._fetch = fetch
        self._got: dict[str, StatusList | None] = {}

    def __getitem__(self, name: str) -> StatusList:
        from urllib.parse import quote

        from onestop.licences.status_list import StatusList, StatusListError

        if name not in self._got:
            try:
                self._got[name] = StatusList.from_document(
                    self._fetch(f"/status-lists/{quote(name, safe='')}")
                )
            except (OSError, ValueError, StatusListError):
                self._got[name] = None
        found = self._got[name]
        if found is None:
            raise KeyError(name)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(k for k, v in self._got.items() if v is not None)

    def __len__(self) -> int:
        return sum(1 for v in self._got.values() if v is not None)


def verify_photo(
    data: bytes,
    *,
    anchors: TrustAnchors,
    status_lists: Mapping[str, StatusList],
    verify_base_url: str | None,
    url_lookup: Any = None,
    now: datetime | None = None,
) -> PhotoVerdict:
    """Read the picture and judge it; with `url_lookup` (--service: the service's GET /verify/{id}) the
    registry is asked too (a URL-only QR code; a credential's registry tick), else only the signature
    and the signed status list count."""
    from .image_types import CLI_PHOTO_LIMITS
    from .photo import PhotoDependencies, judge_qr_texts, read_qr_codes

    read = read_qr_codes(data, CLI_PHOTO_LIMITS)
    deps = PhotoDependencies(
        trust=anchors,
        status_lists=status_lists,
        at=now or datetime.now(UTC),
        registry_lookup=url_lookup,
        verify_base_url=verify_base_url,
        limits=CLI_PHOTO_LIMITS,
    )
    return judge_qr_texts(read, deps)


def print_verdict(verdict: PhotoVerdict, out: TextIO) -> None:
    out.write(f"{verdict.message_zh}  {verdict.message_en}\n\n")
    for tick in verdict.ticks:
        zh, en = TICK_NAMES.get(tick.name, (tick.name, tick.name))
        out.write(f" {MARKS[tick.ok]} {zh} {en}\n     {tick.reason_zh}\n     {tick.reason_en}\n")
    facts: dict[str, Any] = {}
    if verdict.credential and verdict.credential.credential:
        facts = verdict.credential.credential.as_dict()
    elif verdict.licence:
        facts = dict(verdict.licence)
    rows = [
        ("证照标识 Identifier", facts.get("licence_id")),
        ("证照编号 Number", facts.get("number")),
        ("持证主体 Holder", facts.get("holder_name")),
        ("持证主体代码 Holder code", facts.get("holder_code")),
        ("有效期 Validity", _validity(facts)),
        ("二维码网址 QR link", verdict.url),
    ]
    shown = [(k, v) for k, v in rows if v]
    if shown:
        out.write("\n")
        for label, value in shown:
            out.write(f"   {label}: {value}\n")
    if verdict.read is not None:
        r = verdict.read
        out.write(
            f"\n   图片 Picture: {r.width}x{r.height} {r.format.lower()}, {len(r.texts)} QR, {r.ms:.0f} ms\n"
        )


def _validity(facts: Mapping[str, Any]) -> str | None:
    start, end = facts.get("valid_from"), facts.get("valid_until")
    if not start:
        return None
    return f"{start} – {end or '长期 long-term'}"


def base_url_of(document: Mapping[str, Any]) -> str | None:
    """The bureau's verify site as a trust document states it (None when it does not)."""
    value = document.get("verify_base_url") or document.get("public_base_url")
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None


def load_cached(cache: Path) -> tuple[TrustAnchors, dict[str, StatusList]]:
    """The trust anchors and status lists `onestop trust update` stored in `cache`, verified again
    against the pinned roots (cli.UsageError, exit 2, when they do not or cannot be read)."""
    from onestop import cli
    from onestop.licences.trust_list import TrustListError, load_cache

    try:
        cached_document(cache)
        return load_cache(cache)
    except TrustListError as exc:  # the cached list no longer verifies against the pinned roots
        raise cli.UsageError(
            f"{exc.message_zh} {exc.message_en} (the trust cache {cache} was altered or damaged: "
            "fill it again with `onestop trust update`)"
        ) from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise cli.UsageError(
            f"cannot read the trust cache {cache}: {exc} (fill it with `onestop trust update`)"
        ) from exc


def cached_document(folder: Path) -> dict[str, Any]:
    """The cached trust document of `folder` (raises OSError / ValueError when unreadable)."""
    loaded = json.loads((folder / CACHE_TRUST).read_text("utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError("the cached trust document is not a JSON object")
    return loaded


def default_cache_dir() -> Path:
    """Where `onestop trust update` stores, and `onestop verify` looks, by default: $ONESTOP_CACHE, else
    ~/.cache/onestop (XDG_CACHE_HOME honoured)."""
    import os

    if os.environ.get("ONESTOP_CACHE"):
        return Path(os.environ["ONESTOP_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "onestop"


def command(args: Any, data: bytes, out: TextIO) -> int:
    """`onestop verify` on a picture (cli.verify_command hands it over when the file is one)."""
    from onestop import cli
    from onestop.errors import DomainError

    service = cli._check_url(args.service) if args.service else None
    base = service
    cache: Path | None = args.cache
    if cache is None and not (args.trust or args.trust_bundle or service):
        fallback = default_cache_dir()
        cache = fallback if (fallback / CACHE_TRUST).is_file() else None
    lists: Mapping[str, StatusList]
    if cache is not None:
        anchors, lists = load_cached(cache)
        base = base or base_url_of(cached_document(cache))
    else:
        anchors = cli._anchors(args.trust, service, args.trust_bundle)
        if service:
            lists = ServiceStatusLists(lambda path: cli._http_json(f"{service}{path}"))
        elif args.trust_bundle is not None:
            lists = lists_in(args.trust_bundle.parent / CACHE_LISTS)
            try:
                base = base_url_of(json.loads(args.trust_bundle.read_text("utf-8")))
            except (OSError, ValueError, AttributeError):
                base = None
        else:
            lists = {}
    try:
        verdict = verify_photo(
            data,
            anchors=anchors,
            status_lists=lists,
            verify_base_url=base,
            url_lookup=cli._service_lookup(service) if service else None,
        )
    except DomainError as exc:  # not a picture that can be read: the user's to fix
        raise cli.UsageError(f"{exc.zh} {exc.en}") from exc
    if args.json:
        json.dump(verdict.as_dict(), out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        print_verdict(verdict, out)
    return exit_code(verdict)
