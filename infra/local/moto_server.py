"""`python -m infra.local.moto_server [moto.server args]`: moto's server as the local stack runs it.

With DynamoDB transactions isolated as in AWS (moto_fidelity.py), browser POST uploads checked
against their signed POST policy as S3 does (s3_post_policy.py), and, when ONESTOP_EXIT_WITH_PARENT
names a pid, stopping once that process is gone. Not imported by the `infra.local` package, so that
runpy starts it fresh.
"""

from __future__ import annotations

import os
import threading
import time

from infra.local.moto_fidelity import EXIT_WITH_PARENT, serialise_dynamodb_items
from infra.local.moto_speed import install as install_speedups
from infra.local.s3_post_policy import install_post_policy_check


def _exit_with(parent: int) -> None:
    """Stop when `parent` is gone (we were re-parented), checked twice a second."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    serialise_dynamodb_items()
    install_post_policy_check()
    install_speedups()
    parent = os.environ.get(EXIT_WITH_PARENT, "")
    if parent.isdigit():
        _exit_with(int(parent))
    import moto.server
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    from infra.local.http_server import KeepAliveMixin

    class KeepAliveMotoHandler(KeepAliveMixin, MotoRequestHandler):
        """moto's request handler, connections kept alive (http_server.py says why)."""

    moto.server.MotoRequestHandler = KeepAliveMotoHandler  # type: ignore[misc]
    moto.server.main(argv)


if __name__ == "__main__":
    main()
