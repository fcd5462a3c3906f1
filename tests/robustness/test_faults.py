"""Faults on S3, DynamoDB, KMS and EventBridge at every step of ingest and issue.

Each test first runs the path cleanly with a recorder to learn its AWS calls in order, then, for every
call, runs it again with that call failing - transiently (throttled or failing just long enough to
defeat botocore's own retries once, so the queue or the rule has to retry) or persistently (until
the message dead-letters or the rule gives up; then the fault heals and ops redrive). Invariants:

- nothing lost: every upload ends as a material in a final status, or its message waits in the DLQ;
  after the redrive every one is final;
- nothing half-done: a catalogued material has its normalised PDF and manifest and was announced
  once; a visible licence has exactly one sealed PDF whose hash the registry records, its application
  links to it, and LicenceIssued went out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from onestop.licences.models import LicenceStatus

from tests.materials_specimens import SPECIMENS, text_pdf_bytes

from .faults import FOREVER, Fault, Injector, inject
from .world import ISSUE_ATTEMPTS, MATERIALS, World, new_id, reviewer

pytestmark = [pytest.mark.timeout(600)]

FINAL = {"catalogued", "needs_attention", "rejected", "failed"}
# onestop.aws.clients: retries={"mode": "standard", "max_attempts": 5}: five retries, six attempts.
BOTOCORE_ATTEMPTS = 6


def _licence_pdf() -> bytes:
    return text_pdf_bytes(list(SPECIMENS["business_licence"]().lines))


def _kind(service: str, occurrence: int) -> str:
    # Alternate throttling and 5xx errors over the steps so both are exercised everywhere cheaply.
    return "throttle" if (occurrence + len(service)) % 2 == 0 else "error"


# ---------------------------------------------------------------------------------------------- ingest


def _ingest_problems(
    world: World, app_id: str, upload_id: str, *, allow_dlq: bool, may_repeat_event: bool = False
) -> list[str]:
    """Broken invariants of one upload. `allow_dlq`: its message may still wait in the DLQ (before the
    redrive), and so may the event it owes. `may_repeat_event`: the fault hit the write that records
    the event as sent, so a retry announces it again (at least once is the contract there)."""
    problems = []
    items = world.materials(app_id)
    events = [e for e in world.events() if e["detail"].get("upload_id") == upload_id]
    if not items or items[0]["status"] not in FINAL:
        status = items[0]["status"] if items else "no material record"
        if not (allow_dlq and world.dlq_depth() > 0):
            problems.append(f"lost: material is {status!r} and its message is not in the DLQ")
        return problems
    item = items[0]
    reason = item.get("reason")
    if item["status"] != "catalogued" and not (reason and reason.get("zh") and reason.get("en")):
        problems.append(f"{item['status']} without a zh/en reason")
    if item["status"] in ("catalogued", "needs_attention"):
        names = {
            v["Key"].rsplit("/", 1)[1]
            for v in world.catalogue_versions(item["manifest_key"].rsplit("/", 1)[0])
        }
        # Page previews are written before the record; every one listed must exist, none other.
        listed = {p["key"].rsplit("/", 1)[1] for p in item.get("normalised", {}).get("previews", [])}
        if names != {"manifest.json", "material.pdf", "original"} | listed:
            problems.append(f"half-done: catalogue objects {sorted(names)}")
        else:
            pdf = world.aws.s3.get_object(Bucket=MATERIALS, Key=item["normalised"]["key"])["Body"].read()
            if hashlib.sha256(pdf).hexdigest() != item["normalised"]["sha256"]:
                problems.append("half-done: normalised PDF does not match its recorded hash")
        kinds = [e["detail-type"] for e in events]
        owed = allow_dlq and not kinds and world.dlq_depth() > 0
        repeated = may_repeat_event and kinds and set(kinds) == {"MaterialCatalogued"}
        if kinds != ["MaterialCatalogued"] and not owed and not repeated:
            problems.append(f"announced {kinds} instead of one MaterialCatalogued")
    return problems


def _cold_function() -> None:
    """A container that has not read the catalogue version the application pinned yet: a warm one
    keeps it for good, so that read is among the steps only on a cold start (a failed read fails the
    message, which SQS redelivers)."""
    from onestop.aws import composition

    composition.reset()


def _ingest_steps(world: World) -> list[tuple[str, str, int]]:
    app_id, upload_id = new_id(), new_id()
    world.put_upload(app_id, "business_licence", upload_id, _licence_pdf())
    put = world.put_upload(app_id, "business_licence", upload_id, _licence_pdf())
    world.notify(put)
    _cold_function()
    with inject() as recorder:
        world.drain_uploads()
    assert world.materials(app_id)[0]["status"] == "catalogued"
    steps = recorder.steps()
    services = {s for s, _, _ in steps}
    assert {"s3", "dynamodb", "eventbridge"} <= services, steps
    return steps


def _ingest_with_fault(
    world: World, injector: Injector, fault: Fault, heal_and_redrive: bool, after_publish: bool = False
) -> list[str]:
    app_id, upload_id = new_id(), new_id()
    put = world.put_upload(app_id, "business_licence", upload_id, _licence_pdf())
    world.notify(put)
    _cold_function()
    injector.faults[:] = [fault]
    world.drain_uploads()
    injector.heal()
    problems = _ingest_problems(
        world, app_id, upload_id, allow_dlq=heal_and_redrive, may_repeat_event=after_publish
    )
    if heal_and_redrive and not problems:
        world.redrive()
        world.drain_uploads()
        problems += [
            f"after redrive: {p}"
            for p in _ingest_problems(
                world, app_id, upload_id, allow_dlq=False, may_repeat_event=after_publish
            )
        ]
    if fault.injected == 0:
        problems.append("the fault was never hit")
    return problems


Scenario = Callable[[Injector, Fault], list[str]]


def _run_steps(
    steps: list[tuple[str, str, int]], scenario: Scenario, times: int, kind: str | None = None
) -> None:
    """Run `scenario` once per step with that step faulted; one injector (and one set of clients)
    for all of them, the fault swapped between scenarios. Reports every broken invariant at once."""
    report = []
    with inject() as injector:
        from onestop.aws import composition

        composition.reset()  # the idempotency layer's client is created anew, under the injector
        for service, operation, occurrence in steps:
            fault = Fault(
                service, operation, times=times, skip=occurrence, kind=kind or _kind(service, occurrence)
            )
            for problem in scenario(injector, fault):
                report.append(
                    f"{service}.{operation}#{occurrence} ({fault.kind} x{fault.injected}): {problem}"
                )
            injector.faults.clear()
        composition.reset()
    assert not report, "\n".join(report)


def _after_publish(steps: list[tuple[str, str, int]]) -> set[tuple[str, str, int]]:
    """The steps after the event went out: failing one of them may announce the material twice."""
    published = steps.index(("eventbridge", "PutEvents", 0))
    return set(steps[published + 1 :])


def test_ingest_recovers_from_a_transient_fault_at_every_step(world: World) -> None:
    steps = _ingest_steps(world)
    # Exactly botocore's attempts: the first delivery fails at this step, SQS redelivers, it succeeds.
    after = _after_publish(steps)
    _run_steps(
        steps,
        lambda i, f: _ingest_with_fault(world, i, f, False, (f.service, f.operation, f.skip) in after),
        BOTOCORE_ATTEMPTS,
    )


def test_ingest_survives_a_persistent_fault_at_every_step(world: World) -> None:
    steps = _ingest_steps(world)
    after = _after_publish(steps)
    _run_steps(
        steps,
        lambda i, f: _ingest_with_fault(world, i, f, True, (f.service, f.operation, f.skip) in after),
        FOREVER,
    )


def test_eventbridge_partial_failure_on_ingest_is_retried(world: World) -> None:
    """PutEvents answers 200 with FailedEntryCount 1: not an exception to botocore, but a failure."""
    _run_steps(
        [("eventbridge", "PutEvents", 0)],
        lambda i, f: _ingest_with_fault(world, i, f, heal_and_redrive=False),
        1,
        kind="partial",
    )


# ----------------------------------------------------------------------------------------------- issue


def _issue_problems(world: World, app_id: str, *, delivered: bool) -> list[str]:
    problems = []
    records = [r for r in world.licence_records() if r.get("application_id", app_id) == app_id]
    record = world.licence_of(app_id)
    versions = world.licence_pdf_versions()
    issued = [
        e
        for e in world.events()
        if e["detail-type"] == "LicenceIssued" and e["detail"].get("application_id") == app_id
    ]
    if len(records) > 1:
        problems.append(f"{len(records)} licence records for one application")
    if record is None or not record.visible:
        if delivered:
            problems.append("the issue function succeeded but no valid licence exists")
        if record is None and versions:
            problems.append("a sealed PDF exists without a licence record")
        return problems
    if record.status is not LicenceStatus.VALID:
        problems.append(f"licence is {record.status}")
    if len(versions) != 1:
        problems.append(f"{len(versions)} sealed PDF versions of one licence")
    assert record.pdf is not None
    body = world.licences.get(record.pdf.key, version_id=record.pdf.version_id).body
    if hashlib.sha256(body).hexdigest() != record.pdf.sha256:
        problems.append("the stored PDF does not match the registry's hash")
    if delivered and world.application(app_id).get("licence_id") != record.licence_id:
        problems.append("the application does not link to its licence")
    if delivered and not issued:
        problems.append("LicenceIssued was never published")
    # At least once, not exactly once: when the write that remembers the publication fails, the retry
    # announces again (consumers dedupe on licence_id); but never a different licence.
    if {e["detail"]["licence_id"] for e in issued} - {record.licence_id}:
        problems.append("LicenceIssued announced another licence id for this application")
    return problems


def _issue_steps(world: World) -> tuple[list[tuple[str, str, int]], tuple[str, dict[str, Any]]]:
    """The issue function's AWS calls in order, and an approved application to copy for each scenario."""
    template = world.approved_application()
    app_id, approved = world.another_approval(template)
    _cold_issue_function()
    with inject() as recorder:
        world.issue(approved)
    assert world.licence_of(app_id) is not None
    steps = recorder.steps()
    assert {"s3", "dynamodb", "kms", "eventbridge"} <= {s for s, _, _ in steps}, steps
    return steps, template


def _cold_issue_function() -> None:
    """A container that has not read the PKI yet: a warm one reads it every few minutes only, so its
    reads are among the steps only on a cold start (where a failed read is retried with the event)."""
    from onestop.aws import composition

    composition.reset()


def _issue_with_fault(
    world: World, template: tuple[str, dict[str, Any]], injector: Injector, fault: Fault, heal_and_retry: bool
) -> list[str]:
    before = {r["PK"] for r in world.licence_records()}
    app_id, approved = world.another_approval(template)
    _cold_issue_function()
    injector.faults[:] = [fault]
    # The rule retries up to 10 times; a persistent fault fails them all alike, so three show it.
    _, delivered = world.deliver_approval(approved, attempts=3 if heal_and_retry else ISSUE_ATTEMPTS)
    injector.heal()
    new_records = [r for r in world.licence_records() if r["PK"] not in before]
    problems = [p for p in _issue_problems(world, app_id, delivered=delivered) if "records" not in p]
    if len(new_records) > 1:
        problems.append(f"{len(new_records)} licence records for one application")
    if not delivered and not heal_and_retry:
        problems.append("still failing after the rule's retries")
    if heal_and_retry:
        # The event is in the rule's DLQ; ops redrive it once the fault is gone.
        _, delivered = world.deliver_approval(approved, attempts=1)
        if not delivered:
            problems.append("the redriven approval still fails after the fault healed")
        problems += [f"after redrive: {p}" for p in _issue_problems(world, app_id, delivered=delivered)]
    if fault.injected == 0:
        problems.append("the fault was never hit")
    return problems


def _only_this_licence(world: World) -> None:
    """Start each scenario with an empty licences prefix so PDF-version counts are per licence."""
    for v in world.licence_pdf_versions():
        world.aws.s3.delete_object(
            Bucket="onestop-test-licences",
            Key=v["Key"],
            VersionId=v["VersionId"],
            BypassGovernanceRetention=True,
        )


def test_issue_recovers_from_a_transient_fault_at_every_step(world: World) -> None:
    steps, template = _issue_steps(world)

    def scenario(injector: Injector, fault: Fault) -> list[str]:
        _only_this_licence(world)
        return _issue_with_fault(world, template, injector, fault, heal_and_retry=False)

    _run_steps(steps, scenario, BOTOCORE_ATTEMPTS)


def test_issue_survives_a_persistent_fault_at_every_step(world: World) -> None:
    steps, template = _issue_steps(world)

    def scenario(injector: Injector, fault: Fault) -> list[str]:
        _only_this_licence(world)
        return _issue_with_fault(world, template, injector, fault, heal_and_retry=True)

    _run_steps(steps, scenario, FOREVER)


def test_approval_survives_an_eventbridge_outage(world: World) -> None:
    """The reviewer's approval stands when the bus is down (the decision is the record of truth), and the
    ApplicationApproved event it owes is published later, so the licence is still issued."""
    from tests.integration.api_helpers import SMALL_ITEM, USCC_A, catalogued, new_application

    from .world import applicant

    app = new_application(applicant, SMALL_ITEM, USCC_A)
    for slot, kind in (("application", "application_form"), ("business_licence", "business_licence")):
        catalogued(
            world.aws,
            applicant,
            app["id"],
            slot,
            kind,
            {"uscc": USCC_A} if kind == "business_licence" else {},
        )
    assert applicant.post(f"/applications/{app['id']}/submit").status == 200
    assert reviewer.post(f"/applications/{app['id']}/decision", body={"action": "accept"}).status == 200
    with inject(Fault("eventbridge", "PutEvents")) as injector:
        decided = reviewer.post(f"/applications/{app['id']}/decision", body={"action": "approve"})
        injector.heal()
    assert decided.status == 200, decided.body
    assert world.application(app["id"])["status"] == "approved"
    assert world.application(app["id"]).get("pending_events") == {"ApplicationApproved"}
    # Whatever retries owed events (the hourly sweep is the only scheduled job), run it once healthy.
    from functions.scheduler.app import lambda_handler as scheduler

    scheduler({"sweep": "hourly"}, _SchedulerContext())
    approvals = [
        e
        for e in world.events()
        if e["detail-type"] == "ApplicationApproved" and e["detail"]["application_id"] == app["id"]
    ]
    assert len(approvals) == 1, (
        "an approval whose ApplicationApproved event failed to publish is never published later: "
        "the application stays approved with no licence"
    )


class _SchedulerContext:
    function_name = "onestop-scheduler"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:cn-north-1:123456789012:function:onestop-scheduler"
    aws_request_id = "sweep"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def test_ingest_time_budget_leaves_room_inside_the_function_timeout() -> None:
    """A file that runs out of its processing budget is rejected with a reason ("processing_time_exceeded")
    only if the function is still alive to record it. If Lambda's timeout strikes first, the invocation
    dies mid-file: SQS retries, dead-letters the message, and the material stays `processing` for good
    (the handler never reaches its last-receive `mark_failed`) - lost, from the applicant's side."""
    from onestop.materials.limits import DEFAULT_LIMITS

    from .runner import FunctionLimits

    timeout_s = FunctionLimits.of("IngestFunction").timeout_s
    room_to_record_s = 10  # store the manifest, the record and the event after the budget ran out
    assert DEFAULT_LIMITS.time_budget_s + room_to_record_s <= timeout_s, (
        f"per-file budget {DEFAULT_LIMITS.time_budget_s:.0f} s does not fit the ingest function's "
        f"{timeout_s} s timeout"
    )
