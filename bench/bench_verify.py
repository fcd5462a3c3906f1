"""Verifications per second on one core: `verify_pdf` against bare pyHanko on the same genuine licence.

    .venv/bin/python -m bench.bench_verify [--n 200] [--cpu 0] [--json]

Anchor: pyHanko's `validate_pdf_signature` (read + signature + difference analysis + chain) is what
any PAdES verifier pays. Side by side:
- the fast path for originals (the default for a file the seal covers whole): the CMS checked with
  `cryptography` in process, no difference analysis — `verify_pdf` with identifier and registry checks
  (an in-memory registry here), and the fast-path kernel alone (`whole_file_seal`);
- the full path (`fast_path=False`, what every other file takes): our byte-range, post-seal policy and
  timestamp checks, pyHanko's validation as second opinion and the issuer chain — in process
  (`isolate=False`) and in the forked worker with its deadline (what the API runs).
Target (issue 12): the fast path ≤ 2 ms per licence in process and ≥ 300 verifications/s on one core.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for path in (str(ROOT), str(ROOT / "layers" / "core")):
    if path not in sys.path:
        sys.path.insert(0, path)

from onestop.identifiers.licence_id import make_licence_id  # noqa: E402
from onestop.identifiers.uscc import compose_uscc  # noqa: E402
from onestop.licences.models import (  # noqa: E402
    Action,
    AuditEntry,
    HolderKind,
    LicenceMetadata,
    LicenceRecord,
    LicenceStatus,
    StoredPdf,
)
from onestop.licences.pki import BureauIdentity, make_dev_pki, to_asn1  # noqa: E402
from onestop.licences.render import render_licence  # noqa: E402
from onestop.licences.seal import seal_pdf  # noqa: E402
from onestop.licences.signers import LocalKeySigner  # noqa: E402
from onestop.verification import TrustAnchors, VerifyLimits, verify_pdf  # noqa: E402
from onestop.verification.checks import quiet_pyhanko  # noqa: E402
from onestop.verification.service import shutdown_sandboxes  # noqa: E402


def genuine_licence() -> tuple[bytes, TrustAnchors, LicenceRecord]:
    uscc = compose_uscc("11440300", "MB2D0315")
    bureau = BureauIdentity("深圳市商务局", "Shenzhen Municipal Commerce Bureau", uscc)
    pki = make_dev_pki(bureau)
    meta = LicenceMetadata(
        licence_id=make_licence_id(uscc + "001", uscc, "20250000001", 1),
        number="440300-20250000001",
        name_zh="成品油零售经营批准证书",
        name_en="Refined oil retail operation approval certificate",
        type_code=uscc + "001",
        version=1,
        issuer_name=bureau.name_zh,
        issuer_name_en=bureau.name_en,
        issuer_code=uscc,
        definer_name=bureau.name_zh,
        division_code="440300",
        issue_date=date(2025, 3, 3),
        valid_from=date(2025, 3, 3),
        valid_until=date(2030, 3, 2),
        holder_name="深圳市前海能源有限公司",
        holder_code=compose_uscc("91440300", "MA5F1234"),
        holder_kind=HolderKind.ENTERPRISE,
        item_code="refined-oil-retail-qualification",
        item_name="成品油零售经营资格审批",
        application_id="0" * 32,
    )
    rendered = render_licence(meta, verify_url=f"https://verify.example/verify/{meta.licence_id}")
    sealed = seal_pdf(
        rendered.pdf, LocalKeySigner.from_dev_pki(pki), seal_box=rendered.seal_box, signer_name="x"
    )
    at = datetime(2025, 3, 3, tzinfo=UTC)
    record = LicenceRecord(
        metadata=meta,
        status=LicenceStatus.VALID,
        reserved_at=at,
        issued_at=at,
        pdf=StoredPdf("b", "k", None, sealed.sha256, len(sealed.pdf)),
        history=(AuditEntry(at, "bench", Action.ISSUE, LicenceStatus.ISSUING, LicenceStatus.VALID),),
    )
    anchors = TrustAnchors(roots=(to_asn1(pki.root_cert),), seals=(to_asn1(pki.seal_cert),))
    return sealed.pdf, anchors, record


def bare_pyhanko(data: bytes, anchors: TrustAnchors) -> bool:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(io.BytesIO(data))
    signature = reader.embedded_signatures[0]
    context = ValidationContext(trust_roots=list(anchors.roots), allow_fetching=False)
    return bool(validate_pdf_signature(signature, context).bottom_line)


def measure(variants: dict[str, Callable[[], bool]], n: int, warm: int = 5) -> list[dict[str, Any]]:
    """Interleaved: each round runs every variant once, in rotating order, so that load from other
    processes on the machine spreads evenly over the variants instead of biasing one of them."""
    names = list(variants)
    for name in names:
        for _ in range(warm):
            assert variants[name](), f"{name}: the genuine licence did not verify"
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(n):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            start = time.perf_counter()
            ok = variants[name]()
            times[name].append(time.perf_counter() - start)
            assert ok
    out = []
    for name in names:
        median = statistics.median(times[name])
        out.append(
            {
                "name": name,
                "n": n,
                "median_ms": round(median * 1000, 2),
                "p90_ms": round(sorted(times[name])[int(0.9 * (n - 1))] * 1000, 2),
                "per_second": round(1 / median, 1),
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="timed runs per variant")
    parser.add_argument("--cpu", type=int, default=0, help="the one core to pin to (-1: do not pin)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.cpu >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})  # the forked worker inherits it: one core for everything
    quiet_pyhanko()
    data, anchors, record = genuine_licence()
    lookup = {record.licence_id: record}.get

    def ours(isolate: bool, fast: bool) -> Callable[[], bool]:
        limits = VerifyLimits(isolate=isolate, fast_path=fast)
        return lambda: verify_pdf(data, trust=anchors, registry_lookup=lookup, limits=limits).valid

    from onestop.verification.fastpath import whole_file_seal

    at = datetime.now(UTC)
    results = measure(
        {
            "pyHanko validate_pdf_signature (bare)": lambda: bare_pyhanko(data, anchors),
            "verify_pdf, fast path for originals (default)": ours(True, True),
            "fast-path kernel whole_file_seal alone": lambda: whole_file_seal(data, anchors, at) is not None,
            "verify_pdf, full path in process": ours(False, False),
            "verify_pdf, full path in the forked worker": ours(True, False),
        },
        args.n,
    )
    shutdown_sandboxes()
    meta = {"file_bytes": len(data), "cpu": args.cpu, "python": sys.version.split()[0]}
    if args.json:
        print(json.dumps({"meta": meta, "results": results}, indent=2))
    else:
        print(f"genuine licence: {len(data)} bytes; pinned to cpu {args.cpu}; median of {args.n}")
        for r in results:
            line = f"  {r['name']:42s} {r['median_ms']:7.2f} ms  p90 {r['p90_ms']:7.2f} ms"
            print(f"{line}  {r['per_second']:6.1f}/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
