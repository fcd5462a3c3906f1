"""`make demo`: the whole flow on the embedded local stack, over real HTTP, with a readable report.

An applicant opens an application for a real service item, uploads its materials through presigned
POSTs, learns at once what is missing, completes it; ingestion catalogues each file (OCR for images);
a reviewer accepts and approves; the e-licence is issued and sealed, downloaded and verified; the
scheduler sweeps deadlines. Any step that does not do what it should makes the demo exit non-zero.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from onestop import cli
from onestop.quality.kpis import KpiReport, render_table

from infra import samples

from .stack import LocalStack, PortInUse, StackConfig

ITEM_CODE = "technology-contract-registration"
WINDOW_ITEM = "outbound-investment-filing"  # applied for at the service window (issue 18 item 3)


class DemoFailure(RuntimeError):
    """A step did not do what it should."""


@dataclass
class Report:
    """What happened, step by step."""

    lines: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def step(self, title: str) -> None:
        self.lines.append("")
        self.lines.append(f"── {title}")
        print(self.lines[-1], flush=True)

    def say(self, text: str) -> None:
        self.lines.append(f"   {text}")
        print(self.lines[-1], flush=True)


class Client:
    """HTTP calls as one user."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, expect: tuple[int, ...], **kw: Any) -> Any:
        response = self.session.request(method, self.base + path, timeout=120, **kw)
        if response.status_code not in expect:
            raise DemoFailure(f"{method} {path} → {response.status_code}: {response.text[:600]}")
        ctype = response.headers.get("Content-Type", "")
        return response.json() if ctype.startswith("application/json") else response.content


def _wait(what: str, probe: Callable[[], Any], timeout_s: float = 180.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.5)
    raise DemoFailure(f"timed out after {timeout_s:.0f} s waiting for {what}")


def _upload(client: Client, app_id: str, slot: str, filename: str, content_type: str, data: bytes) -> str:
    ticket = client.call(
        "POST",
        f"/applications/{app_id}/materials/{slot}/uploads",
        (201,),
        json={"filename": filename, "content_type": content_type, "size": len(data)},
    )
    response = requests.post(
        ticket["url"], data=ticket["fields"], files={"file": (filename, data, content_type)}, timeout=60
    )
    if response.status_code not in (200, 201, 204):
        raise DemoFailure(f"presigned POST to storage → {response.status_code}: {response.text[:300]}")
    return str(ticket["upload_id"])


def scenario(stack: LocalStack, out: Path, report: Report) -> dict[str, str]:
    """Run the flow; return the ids it created. Raises DemoFailure at the first step that misbehaves."""
    anonymous = Client(stack.api_url)
    enterprise = samples.SampleEnterprise()
    # The clerk acts for the enterprise: a verified claim the identity federation vouches for (the
    # custom:uscc attribute of the user in the pool), not something the application form can claim.
    applicant = Client(
        stack.api_url, stack.token("demo-applicant", ["applicant"], "星河技术 经办人", uscc=[enterprise.uscc])
    )
    reviewer = Client(stack.api_url, stack.token("demo-reviewer", ["reviewer"], "审查员 李"))

    report.step("1. Catalogue (public)")
    items = anonymous.call("GET", "/items", (200,))
    items = items.get("items", items) if isinstance(items, dict) else items
    report.say(f"{len(items)} service items; e.g. " + "; ".join(i["name_zh"] for i in items[:3]))
    item = anonymous.call("GET", f"/items/{ITEM_CODE}", (200,))
    report.say(
        f"{item['name_zh']} / {item['name_en']}: promised {item['promised_limit_days']} working days, "
        f"statutory {item['statutory_limit_days']}; {len(item['materials'])} materials"
    )

    report.step("2. Application by an enterprise (USCC check digit validated)")
    bad = applicant.call(
        "POST",
        "/applications",
        (422,),
        json={
            "item_code": ITEM_CODE,
            "applicant": {"kind": "enterprise", "uscc": "91440300MA5FQ1P38X", "name": "x"},
        },
    )
    report.say(f"a mistyped USCC is refused: {bad['message']['en']}")
    created = applicant.call(
        "POST",
        "/applications",
        (201,),
        json={
            "item_code": ITEM_CODE,
            "applicant": {"kind": "enterprise", "uscc": enterprise.uscc, "name": enterprise.name},
            "contact": {"name": "赵经办", "phone": "0755-86001234"},
        },
    )
    app_id = created["id"]
    report.say(f"application {app_id} created, status {created['status']}")

    report.step("3. Uploads through presigned POST, then submit: the one-time correction notice")
    _upload(
        applicant,
        app_id,
        "application",
        "申请表.pdf",
        "application/pdf",
        samples.application_form_pdf(item["name_zh"], enterprise),
    )
    _upload(
        applicant, app_id, "contract", "contract.pdf", "application/pdf", samples.contract_pdf(enterprise)
    )

    def processed(count: int) -> Callable[[], Any]:
        def probe() -> Any:
            detail = applicant.call("GET", f"/applications/{app_id}", (200,))
            done = [m for m in detail["materials"] if m["status"] not in ("awaiting_upload", "processing")]
            return detail if len(done) == len(detail["materials"]) == count else None

        return probe

    _wait("the first two materials to be catalogued", processed(2))
    notice = applicant.call("POST", f"/applications/{app_id}/submit", (422,))
    report.say(f"submit refused: {notice['message']['zh']} / {notice['message']['en']}")
    for detail in notice.get("details", []):
        report.say(f"  · {detail['zh']} — {detail['en']}")
    if not any("business_licence" in json.dumps(d) for d in notice.get("details", [])):
        raise DemoFailure("the notice does not name the missing business licence")
    _upload(
        applicant,
        app_id,
        "business_licence",
        "营业执照.png",
        "image/png",
        samples.business_licence_png(enterprise),
    )
    report.say("business licence uploaded as a scanned image (goes through PP-OCR)")

    report.step("4. Ingestion: sniff, text/OCR, classify, validate fields, normalise, catalogue")

    started = time.monotonic()
    detail = _wait("the three materials to be catalogued", processed(3))
    report.say(f"all materials processed in {time.monotonic() - started:.1f} s")
    for m in detail["materials"]:
        cls = m.get("classification") or {}
        fields = ", ".join(f"{k}={v}" for k, v in sorted((m.get("fields") or {}).items())[:4])
        report.say(
            f"{m['slot']:<17} {m['status']:<15} as {cls.get('material_type', '?')} "
            f"({cls.get('confidence', 0):.2f}) {fields}"
        )
        for p in m.get("problems", []):
            report.say(f"    problem: {p['en']}")
    licence_material = next(m for m in detail["materials"] if m["slot"] == "business_licence")
    if (licence_material.get("fields") or {}).get("uscc") != enterprise.uscc:
        raise DemoFailure(
            f"OCR did not read the USCC off the business licence: {licence_material.get('fields')}"
        )

    report.step("5. Submit, accept (deadline on the working-day clock), approve")
    submitted = applicant.call("POST", f"/applications/{app_id}/submit", (200,))
    report.say(f"status {submitted['status']}")
    other = Client(stack.api_url, stack.token("someone-else", ["applicant"]))
    other.call("GET", f"/applications/{app_id}", (404,))
    report.say("another applicant gets 404 for this application (isolation)")
    queue = reviewer.call("GET", "/review/queue", (200,))
    entries = queue.get("items", queue) if isinstance(queue, dict) else queue
    report.say(f"reviewer queue: {len(entries)} application(s)")
    accepted = reviewer.call("POST", f"/applications/{app_id}/decision", (200,), json={"action": "accept"})
    deadline = accepted.get("deadline") or {}
    report.say(f"accepted; decide by {deadline.get('due')} ({deadline.get('working_days')} working days)")
    approved = reviewer.call(
        "POST",
        f"/applications/{app_id}/decision",
        (200,),
        json={"action": "approve", "comment": "材料齐全，符合规定"},
    )
    report.say(f"approved: status {approved['status']}")
    again = reviewer.call("POST", f"/applications/{app_id}/decision", (409,), json={"action": "approve"})
    report.say(f"a second approve is a conflict: {again['message']['en']}")

    report.step("6. E-licence: issued on ApplicationApproved, sealed with the KMS key")

    def licence_issued() -> Any:
        detail = applicant.call("GET", f"/applications/{app_id}", (200,))
        return detail.get("licence_id")

    licence_id = _wait("the licence to be issued", licence_issued, 120)
    report.say(f"licence id {licence_id}")
    licence = applicant.call("GET", f"/licences/{licence_id}", (200,))
    pdf = requests.get(licence["download_url"], timeout=60).content
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"licence-{app_id}.pdf"
    path.write_bytes(pdf)
    report.say(f"sealed licence PDF written to {path} ({len(pdf)} bytes)")
    evidence = licence.get("evidence") or []
    report.say(f"issued on {len(evidence)} piece(s) of evidence pinned at submission (version + SHA-256)")

    report.step("7. Verification by a third party (public API)")
    verdict = anonymous.call("POST", "/verify", (200,), data=pdf, headers={"Content-Type": "application/pdf"})
    for check in verdict["checks"]:
        mark = "✓" if check["verdict"] == "pass" else "✗"
        report.say(f"{mark} {check['check']:<10} {check['reason_en']}")
    if not verdict["valid"]:
        raise DemoFailure("the genuine licence did not verify")
    tampered = bytearray(pdf)
    middle = len(tampered) // 3
    tampered[middle] = (tampered[middle] + 1) % 256
    bad_verdict = anonymous.call(
        "POST", "/verify", (200,), data=bytes(tampered), headers={"Content-Type": "application/pdf"}
    )
    if bad_verdict["valid"]:
        raise DemoFailure("a tampered licence verified as valid")
    failed = [c["check"] for c in bad_verdict["checks"] if c["verdict"] == "fail"]
    report.say(f"one byte changed → not valid (failed: {', '.join(failed)})")
    status = anonymous.call("GET", f"/verify/{licence_id}", (200,))
    if not status["valid"]:
        raise DemoFailure(f"the status look-up of the issued licence is not valid: {status['summary']}")
    report.say(f"status look-up by licence number (QR code): {status['summary']['en']}")
    shown = (status.get("licence") or {}).get("holder_name")
    named = anonymous.call("GET", f"/verify/{licence_id}", (200,), params={"holder": enterprise.name})
    if not named["valid"] or (named.get("licence") or {}).get("holder_name") != enterprise.name:
        raise DemoFailure(f"naming the holder did not confirm it: {named['summary']}")
    report.say(f"by number alone the holder is masked ({shown}); naming it as printed confirms it")
    offline = _verify_offline(anonymous, path, out, report)

    report.step("8. 好差评: the applicant rates the service")
    indicators = dict.fromkeys(
        ("overall_satisfaction", "efficiency", "guidance_accuracy", "convenience", "platform_usability"), 5
    )
    applicant.call(
        "POST",
        f"/applications/{app_id}/review",
        (200, 201),
        json={"level": "very_satisfied", "indicators": indicators, "comment": "全程网办，一次都没跑"},
    )
    again_review = applicant.call(
        "POST",
        f"/applications/{app_id}/review",
        (409,),
        json={"level": "satisfied", "indicators": indicators},
    )
    report.say(
        f"rated 非常满意 (very satisfied); a second rating is refused: {again_review['message']['en']}"
    )

    report.step("9. At the service window: a clerk applies on the enterprise's behalf")
    _window_application(stack, applicant, enterprise, report)

    report.step("10. Deadline sweep (scheduler) and KPIs")
    sweep = stack.run_schedule("SchedulerFunctionDailySweep")
    report.say(
        f"daily sweep: examined {sweep['examined']}, at risk {sweep['at_risk']}, overdue {sweep['overdue']}, "
        f"open bad-review cases {sweep['cases_open']}"
    )
    stats = reviewer.call("GET", "/stats", (200,))
    for line in render_table(KpiReport.model_validate(stats)).splitlines():
        report.say(line)
    if stats["totals"]["licences_issued"] < 1:
        raise DemoFailure("the KPI report does not count the licence this demo issued")
    return {"application_id": app_id, "licence_id": str(licence_id), "offline_command": offline}


def _window_application(
    stack: LocalStack, applicant: Client, enterprise: samples.SampleEnterprise, report: Report
) -> None:
    """A clerk signed in through the service-window client applies for the enterprise (whose papers the
    window checked), uploads and submits; the enterprise's own account follows it online."""
    clerk = Client(stack.api_url, stack.token("demo-clerk", ["clerk"], "窗口 王", client="service_window"))
    impostor = Client(
        stack.api_url,
        stack.token("demo-applicant", ["applicant"], "星河技术 经办人", client="service_window"),
    )
    body = {
        "item_code": WINDOW_ITEM,
        "applicant": {"kind": "enterprise", "uscc": enterprise.uscc, "name": enterprise.name},
    }
    refused = impostor.call("POST", "/applications", (403,), json=body)
    report.say(f"an applicant's token from the window's client is refused: {refused['message']['en']}")
    created = clerk.call("POST", "/applications", (201,), json=body)
    app_id = created["id"]
    report.say(f"window application {app_id}: channel {created['channel']}, clerk {created['clerk']}")
    form = samples.application_form_pdf("境外投资备案", enterprise)
    _upload(clerk, app_id, "application", "申请表.pdf", "application/pdf", form)
    scan = samples.business_licence_png(enterprise)
    _upload(clerk, app_id, "business_licence", "营业执照.png", "image/png", scan)

    def processed() -> Any:
        detail = clerk.call("GET", f"/applications/{app_id}", (200,))
        done = [m for m in detail["materials"] if m["status"] not in ("awaiting_upload", "processing")]
        return detail if len(done) == len(detail["materials"]) == 2 else None

    _wait("the window's two materials to be catalogued", processed)
    submitted = clerk.call("POST", f"/applications/{app_id}/submit", (200,))
    report.say(f"submitted by the clerk: status {submitted['status']}")
    followed = applicant.call("GET", "/applications/window", (200,), params={"party": enterprise.uscc})
    if app_id not in [a["id"] for a in followed["items"]]:
        raise DemoFailure("the enterprise's account does not see the window's application")
    report.say(f"the enterprise's own account follows it online ({len(followed['items'])} from the window)")


def _verify_offline(anonymous: Client, pdf: Path, out: Path, report: Report) -> str:
    """Leave the bureau's trust bundle beside the licence and check the licence with the offline CLI,
    as a third party would once the stack is gone. Returns the command to run it again."""
    bundle = out / "trust.json"
    lists = out / "status-lists"
    argv = ["verify", str(pdf), "--trust-bundle", str(bundle)]
    last: list[tuple[int, str]] = []

    def fetch_and_check() -> tuple[int, str] | None:
        trust = anonymous.call("GET", "/trust", (200,))
        bundle.write_text(json.dumps(trust, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        # The licence types' signed status lists beside it (what `onestop trust update` caches): offline,
        # the CLI reads the licence's status from them rather than leaving it unknown.
        shutil.rmtree(lists, ignore_errors=True)
        lists.mkdir()
        for name in trust.get("status_lists") or []:
            found = anonymous.call("GET", f"/status-lists/{quote(name, safe='')}", (200,))
            (lists / f"{quote(name, safe='')}.json").write_text(json.dumps(found) + "\n", encoding="utf-8")
        printed = io.StringIO()
        last[:] = [(cli.main(argv, printed), printed.getvalue())]
        return last[0] if last[0][0] == cli.EXIT_OK else None

    # The issue function publishes the type's list after the licence is issued (LicenceIssued): wait
    # for it. Every check must pass offline, the status too (from the signed status list).
    try:
        code, printed = _wait("the licence type's status list to name the licence", fetch_and_check, 60)
    except DemoFailure:
        code, output = last[0] if last else (None, "")
        raise DemoFailure(f"the offline verifier did not pass the licence (exit {code}): {output}") from None
    report.say(
        f"trust bundle (GET /trust) and status lists written to {bundle} and {lists}/; "
        f"offline check with the CLI, exit {code}:"
    )
    for line in printed.splitlines():
        if line.strip():
            report.say(f"  {line}")
    return "onestop " + " ".join(argv)


def run_demo(config: StackConfig, out: Path) -> int:
    report = Report()
    print("onestop demo — starting the embedded local stack (moto + template.yaml wiring)…", flush=True)
    try:
        stack = LocalStack(config).start()
    except PortInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    code = 0
    try:
        report.say(f"stack up in {stack.startup_s:.1f} s: API {stack.api_url}, AWS {stack.moto_url}")
        report.say(
            f"{len(stack.functions)} functions, {len(stack.routes)} routes, "
            f"{len(stack.pollers)} event sources, {len(stack.schedules)} schedules — all from template.yaml"
        )
        ids = scenario(stack, out, report)
        stack.wait_idle(30)
        dlq = stack.client("sqs").get_queue_attributes(
            QueueUrl=stack.outputs["UploadsDeadLetterQueueUrl"],
            AttributeNames=["ApproximateNumberOfMessages"],
        )["Attributes"]["ApproximateNumberOfMessages"]
        report.step("Summary")
        report.say(f"uploads dead-letter queue: {dlq} message(s)")
        for logical_id, worker in stack.runtime.workers.items() if stack.runtime else []:
            if worker.invocations:
                cold = worker.cold_start_s or 0.0
                report.say(f"{logical_id:<18} {worker.invocations:>3} invocation(s), cold start {cold:.1f} s")
        report.say(f"demo finished in {time.monotonic() - report.started:.1f} s — OK")
        report.say("verify the licence offline, with the bureau's trust bundle the demo left beside it:")
        report.say(f"  {ids['offline_command']}")
    except DemoFailure as exc:
        report.step("FAILED")
        report.say(str(exc))
        code = 1
    finally:
        out.mkdir(parents=True, exist_ok=True)
        if stack.runtime is not None and stack.runtime.log_dir is not None:
            shutil.copytree(stack.runtime.log_dir, out / "function-logs", dirs_exist_ok=True)
            print(f"function logs (like CloudWatch Logs): {out / 'function-logs'}", flush=True)
        stack.stop()
    (out / "report.txt").write_text("\n".join(report.lines) + "\n", encoding="utf-8")
    return code
