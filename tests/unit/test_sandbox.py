"""The sandbox worker: deadlines, crashes, memory and CPU caps, and hostile files that exercise them."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from onestop.sandbox import Sandbox, SandboxCrashed, SandboxTimeout
from onestop.verification import Check, Verdict, VerifyLimits, verify_pdf
from onestop.verification.service import shutdown_sandboxes
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from tests.process_state import is_running
from tests.unit import test_verification_support as S

pytestmark = pytest.mark.timeout(120)


def _double(x: int) -> int:
    return 2 * x


def _sleep(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _exit_hard() -> None:
    os._exit(3)


def _allocate(n_bytes: int) -> int:
    return len(bytearray(n_bytes))


def _raise() -> None:
    raise ValueError("boom")


def _pid() -> int:
    return os.getpid()


def _spin_forever(pid_file: str) -> None:
    Path(pid_file).write_text(str(os.getpid()))
    while True:
        pass


def _cpu_limit() -> int:
    import resource

    return resource.getrlimit(resource.RLIMIT_CPU)[0]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(memory_bytes=256 * 1024 * 1024)
    yield box
    box.close()


def test_runs_jobs_in_one_reused_worker(sandbox: Sandbox) -> None:
    assert sandbox.run(_double, (21,), 10) == 42
    first = sandbox.run(_pid, (), 10)
    assert sandbox.run(_pid, (), 10) == first != os.getpid()
    assert sandbox.started == 1


def test_overrunning_job_is_killed_and_the_next_one_gets_a_fresh_worker(sandbox: Sandbox) -> None:
    before = sandbox.run(_pid, (), 10)
    with pytest.raises(SandboxTimeout):
        sandbox.run(_sleep, (30,), 0.5)
    after = sandbox.run(_pid, (), 10)
    assert after != before
    assert sandbox.started == 2


def test_a_dying_worker_is_reported_and_replaced(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxCrashed) as caught:
        sandbox.run(_exit_hard, (), 10)
    assert caught.value.error_type == "WorkerDied"
    assert sandbox.run(_double, (2,), 10) == 4


def test_memory_cap_stops_a_runaway_allocation(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxCrashed) as caught:
        sandbox.run(_allocate, (2 * 1024 * 1024 * 1024,), 30)
    assert caught.value.error_type == "MemoryError"
    assert sandbox.run(_allocate, (1024,), 10) == 1024


def test_each_job_gets_a_cpu_allowance_of_its_deadline(sandbox: Sandbox) -> None:
    first = sandbox.run(_cpu_limit, (), 10)
    assert 10 < first <= 10 + 5 + 5  # the worker's CPU so far (well under 5 s) + deadline + margin
    assert sandbox.run(_cpu_limit, (), 60) > 60


@pytest.mark.slow
def test_an_orphaned_worker_stops_at_its_cpu_allowance(tmp_path: Path) -> None:
    """A function killed mid-job (its timeout) leaves the worker alone in a loop: SIGXCPU ends it."""
    pid_file = tmp_path / "worker.pid"
    function = os.fork()
    if function == 0:  # the function: sends a job that never ends, then dies
        try:
            box = Sandbox(memory_bytes=None)
            threading.Thread(target=box.run, args=(_spin_forever, (str(pid_file),), 2.0), daemon=True).start()
            waited = time.monotonic() + 10
            while not pid_file.exists() and time.monotonic() < waited:
                time.sleep(0.05)
        finally:
            os._exit(0)
    os.waitpid(function, 0)
    worker = int(pid_file.read_text())
    try:
        assert is_running(worker)  # orphaned, spinning
        stopped = time.monotonic() + 30
        while is_running(worker) and time.monotonic() < stopped:
            time.sleep(0.2)
        assert not is_running(worker)  # within ~2 s of deadline + 5 s margin of CPU
    finally:
        if is_running(worker):  # never leave a spinner behind, whatever the outcome
            os.kill(worker, signal.SIGKILL)


def test_an_exception_in_the_job_is_reported_with_its_type(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxCrashed) as caught:
        sandbox.run(_raise, (), 10)
    assert caught.value.error_type == "ValueError"
    assert sandbox.run(_double, (1,), 10) == 2


# ----------------------------------------------------------------------------- through verify_pdf


@pytest.fixture(scope="module")
def licence() -> S.Licence:
    return S.make_licence(S.make_pki())


def test_verification_over_its_deadline_is_unknown_never_a_pass(licence: S.Licence) -> None:
    # fast_path=False: the whole-file seal would be checked in process, without the worker
    limits = VerifyLimits(timeout_s=0.001, fast_path=False)
    report = verify_pdf(licence.sealed, trust=licence.anchors, registry_lookup=None, limits=limits)
    assert report.result(Check.INTEGRITY).code == "verification_timeout"
    # A timeout is "could not be checked", never a pass and never a verdict about the file.
    assert {c.check.value: c.verdict.value for c in report.checks} == {
        "integrity": "unknown",
        "issuer": "unknown",
        "status": "unknown",
        "identifier": "unknown",
    }
    assert report.result(Check.IDENTIFIER).code == "identifier_unreadable"
    assert not report.valid
    # the next verification gets a fresh worker and succeeds
    assert (
        verify_pdf(licence.sealed, trust=licence.anchors, registry_lookup=None).result(Check.INTEGRITY).passed
    )


def test_oversized_file_is_refused_before_parsing(licence: S.Licence) -> None:
    report = verify_pdf(
        licence.sealed, trust=licence.anchors, registry_lookup=None, limits=VerifyLimits(max_bytes=1024)
    )
    assert report.result(Check.INTEGRITY).code == "file_too_large"


def test_in_process_mode_gives_the_same_report(licence: S.Licence) -> None:
    isolated = verify_pdf(licence.sealed, trust=licence.anchors, registry_lookup=None)
    inline = verify_pdf(
        licence.sealed, trust=licence.anchors, registry_lookup=None, limits=VerifyLimits(isolate=False)
    )
    assert [(c.verdict, c.code) for c in inline.checks] == [(c.verdict, c.code) for c in isolated.checks]


def _zlib_bomb_update(pdf: bytes, decoded_mb: int) -> bytes:
    """An incremental update adding a page content stream that inflates to `decoded_mb` MB."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    compressor = zlib.compressobj(9)
    chunk = b"\0" * (1024 * 1024)
    encoded = b"".join(compressor.compress(chunk) for _ in range(decoded_mb)) + compressor.flush()
    stream = generic.StreamObject(
        {generic.NameObject("/Filter"): generic.NameObject("/FlateDecode")}, encoded_data=encoded
    )
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page[generic.NameObject("/Contents")] = generic.ArrayObject(
        [page.raw_get("/Contents"), writer.add_object(stream)]
    )
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _verification_worker() -> tuple[Any, int | None]:
    from onestop.sandbox import _SHARED
    from onestop.verification.service import DEFAULT_LIMITS, SANDBOX

    sandbox = _SHARED.get((SANDBOX, DEFAULT_LIMITS.memory_bytes))
    return sandbox, (sandbox._pid if sandbox is not None else None)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


FULL_PATH = VerifyLimits(fast_path=False)  # through the worker (the fast path never starts it)


def test_zlib_bomb_in_an_update_is_contained_in_the_worker(licence: S.Licence) -> None:
    """Contained means: a precise verdict from the same worker, which survived (not killed for memory
    or time), and the bomb is never inflated — the decode budget stops pyHanko's reader at 16 MB."""
    verify_pdf(licence.sealed, trust=licence.anchors, registry_lookup=None, limits=FULL_PATH)
    _, pid_before = _verification_worker()
    bomb = _zlib_bomb_update(licence.sealed, 300)
    assert len(bomb) < 2 * 1024 * 1024
    report = verify_pdf(bomb, trust=licence.anchors, registry_lookup=None, limits=FULL_PATH)
    integrity = report.result(Check.INTEGRITY)
    assert (integrity.verdict, integrity.code) == (Verdict.FAIL, "page_changed_after_sealing")
    assert integrity.reason_zh
    assert integrity.reason_en
    sandbox, pid_after = _verification_worker()
    assert pid_after == pid_before  # the same worker answered: it was not killed
    assert sandbox is not None

    from onestop.verification.checks import _decode_limits
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(bomb), strict=True, decode_limits=_decode_limits())
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    with pytest.raises(Exception, match=r"(?i)limit|budget|exceed"):
        _ = page["/Contents"][1].get_object().data


def test_shutdown_stops_the_shared_workers(licence: S.Licence) -> None:
    verify_pdf(licence.sealed, trust=licence.anchors, registry_lookup=None, limits=FULL_PATH)
    _, pid = _verification_worker()
    assert pid is not None
    assert _pid_alive(pid)
    shutdown_sandboxes()
    assert not _pid_alive(pid)  # killed and reaped
    assert _verification_worker() == (None, None)  # gone from the registry
    report = verify_pdf(licence.sealed, trust=licence.anchors, registry_lookup=None, limits=FULL_PATH)
    assert report.result(Check.INTEGRITY).passed
    _, new_pid = _verification_worker()
    assert new_pid is not None
    assert new_pid != pid  # the next verification forked a fresh worker
