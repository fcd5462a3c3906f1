"""`onestop trust update --service URL [--out DIR] [--root ROOT.pem]`: cache the bureau's signed trust
list and status lists for offline checks (`onestop verify photo.jpg` reads them).

The trust list is accepted only when its signer chains to a pinned root (licences/trust_list.py):
`--root` (the bureau's root certificate, obtained out of band), else the roots pinned by an earlier
update in DIR, else the bundle shipped in the package. Nothing is written unless the trust list and
every status list it names verify; a list older than the cached one is refused (a replay).

Exit codes: 0 cached; 1 the service's trust list or a status list did not verify; 2 usage error
(no pinned root, the service unreachable, a bad argument).
"""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _pins(roots: Sequence[Path], folder: Path) -> list[Any]:
    from onestop.cli import UsageError
    from onestop.licences.trust_list import CACHE_PINS
    from onestop.verification.anchors import bundled_anchors, load_pem_bundle

    if roots:
        try:
            return [c for p in roots for c in load_pem_bundle(p.read_bytes())]
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read the root certificate: {exc}") from exc
    if (folder / CACHE_PINS).is_file():
        return load_pem_bundle((folder / CACHE_PINS).read_bytes())
    bundled = bundled_anchors()
    if bundled is not None:
        return list(bundled.roots)
    raise UsageError(
        "no pinned root: give the bureau's root certificate with --root ROOT.pem (obtained from the "
        "bureau out of band; the trust list is checked against it and it is remembered in the cache)"
    )


def _previous_issue_time(folder: Path) -> Any:
    from datetime import datetime

    from onestop.licences.trust_list import CACHE_TRUST

    try:
        cached = json.loads((folder / CACHE_TRUST).read_text("utf-8"))
        return datetime.fromisoformat(cached["issued_at"]) if cached.get("jws") else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def update(service: str, folder: Path, roots: Sequence[Path], out: TextIO) -> int:
    """Fetch, verify and cache; what was done goes to `out`, refusals to stderr."""
    import sys

    from onestop.cli import UsageError, _http_json
    from onestop.licences.status_list import StatusList, StatusListError
    from onestop.licences.trust_list import TrustListError, verify_trust_list, write_cache

    pinned = _pins(roots, folder)
    try:
        document = _http_json(f"{service}/trust")
    except (OSError, ValueError, urllib.error.URLError) as exc:
        raise UsageError(f"cannot fetch {service}/trust: {exc}") from exc
    try:
        verified = verify_trust_list(document, pinned_roots=pinned, not_before=_previous_issue_time(folder))
    except TrustListError as exc:
        sys.stderr.write(f"onestop trust update: {exc.message_zh}\n  {exc.message_en}\n")
        return EXIT_FAILED
    lists: list[StatusList] = []
    for name in verified.status_lists:
        url = f"{service}/status-lists/{quote(name, safe='')}"
        try:
            status_list = StatusList.from_document(_http_json(url))
        except (OSError, ValueError, urllib.error.URLError, StatusListError) as exc:
            sys.stderr.write(f"onestop trust update: 状态列表 {name} 无法读取 / cannot read {url}: {exc}\n")
            return EXIT_FAILED
        problem = status_list.verify(verified.anchors) or (
            None if status_list.name == name else f"it names itself {status_list.name!r}"
        )
        if problem is not None:
            sys.stderr.write(
                f"onestop trust update: 状态列表 {name} 不可信 / status list {name}: {problem}\n"
            )
            return EXIT_FAILED
        lists.append(status_list)
    written = write_cache(folder, verified, lists, pinned_roots=pinned)
    out.write(
        f"信任列表 Trust list: issued {verified.issued_at.isoformat()}, valid until "
        f"{verified.valid_until.isoformat()}, signed by {verified.signer_kid}; "
        f"{len(verified.anchors.seals)} seal(s), {len(verified.anchors.tsa)} TSA anchor(s)\n"
    )
    for status_list in lists:
        out.write(
            f"状态列表 Status list {status_list.name}: as of {status_list.issued_at.isoformat()}, "
            f"valid until {status_list.valid_until.isoformat()}\n"
        )
    for sha in verified.ignored_roots:
        out.write(f"注意 Note: root {sha} is listed but not pinned; it is not trusted (pin it with --root)\n")
    out.write(f"已缓存 Cached in {folder} ({len(written)} files)\n")
    return EXIT_OK


def command(args: Any, out: TextIO) -> int:
    """`onestop trust update` (cli.main dispatches here)."""
    from onestop.cli import _check_url
    from onestop.verification.photo_cli import default_cache_dir

    folder: Path = args.out or default_cache_dir()
    return update(_check_url(args.service), folder, args.root, out)
