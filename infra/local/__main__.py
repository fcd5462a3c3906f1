"""python -m infra.local {serve,demo,template} — the embedded local stack from the command line."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from .stack import LocalStack, PortInUse, StackConfig


def _config(args: argparse.Namespace) -> StackConfig:
    return StackConfig(
        function_logs_to_files=args.command == "demo",
        host=args.host,
        moto_port=args.moto_port,
        api_port=args.api_port,
        state_dir=Path(args.state_dir) if args.state_dir else None,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__)
    parser.add_argument("command", choices=["serve", "demo", "template"], nargs="?", default="serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--moto-port", type=int, default=4566, help="embedded AWS endpoint port (0 = any free)"
    )
    parser.add_argument("--api-port", type=int, default=3000, help="HTTP API port (0 = any free)")
    parser.add_argument("--state-dir", help="keep state here instead of a temporary directory")
    parser.add_argument("--out", default="demo-output", help="demo: where to write licences and the report")
    args = parser.parse_args(argv)

    if args.command == "template":
        from .template import dump, load_sam_template, translate

        print(dump(translate(load_sam_template(), "us-east-1")))
        return 0
    if args.command == "demo":
        from .demo import run_demo

        return run_demo(_config(args), Path(args.out))

    try:
        stack = LocalStack(_config(args)).start()
    except PortInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    info = stack.describe()
    print(json.dumps(info, indent=2, ensure_ascii=False))
    print(f"\nonestop local stack is up: API {stack.api_url}  AWS {stack.moto_url}  (Ctrl-C stops it)")
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping…", file=sys.stderr)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
