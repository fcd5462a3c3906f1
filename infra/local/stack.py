"""The embedded local stack: moto server + the template's resources + Lambda/API Gateway wiring."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from werkzeug.wrappers import Request, Response

from .edge import Edge, RouteThrottles, rate_rules_from_web_acl, security_headers, with_sub_variables
from .gateway import CorsConfig, HttpApiGateway, Route, ServerThread, routes_from_api
from .identity import LocalDirectory, LocalIdentityProvider
from .moto_fidelity import EXIT_WITH_PARENT
from .pollers import RulePoller, RuleWiring, SqsMapping, SqsPoller
from .provision import provision
from .runtime import BACKGROUND_NICE, DEFAULT_MAX_WORKERS, FunctionSpec, LocalRuntime
from .template import REPO_ROOT, Resolver, function_sources, load_sam_template, parameter_values, translate

log = logging.getLogger("infra.local")

ACCOUNT_ID = "123456789012"
LOCAL_AUDIENCE = "onestop-local-portal"


class PortInUse(RuntimeError):
    """A port the stack needs is taken."""


@dataclass
class StackConfig:
    """How to run the local stack. Ports 0 pick free ports (tests)."""

    host: str = "127.0.0.1"
    moto_port: int = 4566
    api_port: int = 3000
    region: str = "us-east-1"
    stage: str = "dev"
    state_dir: Path | None = None
    retry_delay_s: int = 1
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    warm: tuple[str, ...] = ()
    # Worker processes per function at most (runtime.py says why 4); the template's concurrency limits
    # apply beneath it.
    max_workers_per_function: int = DEFAULT_MAX_WORKERS
    function_logs_to_files: bool = False  # True: each function logs to <state dir>/logs/<id>.log
    # How much lower background functions' workers run (runtime.py says why); 0: as the stack.
    background_nice: int = BACKGROUND_NICE
    # The template's rate limits (web ACL rules, route throttles). False only for throughput benchmarks,
    # which measure the emulator rather than the limits.
    edge_limits: bool = True


@dataclass(frozen=True)
class Schedule:
    """An AWS::Scheduler::Schedule: run on demand locally."""

    name: str
    function: str
    expression: str
    payload: Any


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _check_port(host: str, port: int, what: str, flag: str) -> None:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            raise PortInUse(
                f"port {port} on {host} is in use, so the {what} cannot start. Is another local stack "
                f"running (stop it with Ctrl-C), or choose another port with {flag}."
            ) from exc


class LocalStack:
    """Start with `start()`, stop with `stop()`; or use it as a context manager."""

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self._owns_state_dir = self.config.state_dir is None
        self.state_dir = Path(self.config.state_dir or tempfile.mkdtemp(prefix="onestop-local-"))
        self._stop = threading.Event()
        self._moto: subprocess.Popen[bytes] | None = None
        self._moto_log: Any = None
        self._gateway: ServerThread | None = None
        self.runtime: LocalRuntime | None = None
        self.pollers: list[SqsPoller | RulePoller] = []
        self.schedules: dict[str, Schedule] = {}
        self.routes: list[Route] = []
        self.functions: dict[str, FunctionSpec] = {}
        self.outputs: dict[str, Any] = {}
        self.resolver: Resolver | None = None
        self.cfn: dict[str, Any] = {}
        self.sam: dict[str, Any] = {}
        self.startup_s: float | None = None
        self.idp: LocalIdentityProvider | None = None
        self.edge: Edge | None = None
        self._gateway_app: HttpApiGateway | None = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def moto_url(self) -> str:
        return f"http://{self.config.host}:{self.config.moto_port}"

    @property
    def api_url(self) -> str:
        return f"http://{self.config.host}:{self.config.api_port}"

    def client(self, service: str) -> Any:
        """A boto3 client pointed at the embedded AWS."""
        make_client: Any = boto3.client  # service names are dynamic here; the stubs want literals
        return make_client(
            service,
            endpoint_url=self.moto_url,
            region_name=self.config.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
            config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard"}),
        )

    def start(self) -> LocalStack:
        started = time.monotonic()
        cfg = self.config
        if cfg.moto_port == 0:
            cfg.moto_port = _free_port(cfg.host)
        if cfg.api_port == 0:
            cfg.api_port = _free_port(cfg.host)
        _check_port(cfg.host, cfg.moto_port, "embedded AWS (moto)", "--moto-port")
        _check_port(cfg.host, cfg.api_port, "HTTP API", "--api-port")
        try:
            self._start_moto()
            self._build()
            self._start_wiring()
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - started
        return self

    def _start_moto(self) -> None:
        # Its own process: moto keeps its state in module globals, so two stacks in one process (tests)
        # would share it; a process is also what "the embedded AWS" is to every function worker.
        log = open(self.state_dir / "moto.log", "ab")  # noqa: SIM115 - closed in stop()
        self._moto_log = log
        self._moto = subprocess.Popen(
            # moto's server, with DynamoDB transactions isolated as in AWS (moto_fidelity.py), gone
            # with this process however it ends.
            [
                sys.executable,
                "-m",
                "infra.local.moto_server",
                "-H",
                self.config.host,
                "-p",
                str(self.config.moto_port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "false", EXIT_WITH_PARENT: str(os.getpid())},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._moto.poll() is not None:
                raise RuntimeError(
                    f"the embedded AWS (moto server) exited; see {self.state_dir / 'moto.log'}"
                )
            with socket.socket() as s:
                if s.connect_ex((self.config.host, self.config.moto_port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("the embedded AWS (moto server) did not start within 30 s")

    def _build(self) -> None:
        cfg = self.config
        sam = load_sam_template()
        cfn = translate(sam, cfg.region)
        self.sam = sam
        self.cfn = cfn
        overrides = {
            "Stage": cfg.stage,
            "PublicBaseUrl": self.api_url,
            "PortalOrigin": self.api_url,
            **cfg.parameter_overrides,
        }
        params = parameter_values(cfn, overrides, cfg.region, ACCOUNT_ID)
        resolver = Resolver(parameters=params, conditions_src=cfn.get("Conditions", {}))
        self.resolver = resolver
        resources = cfn["Resources"]
        # Functions are not created in moto, but others refer to their names and ARNs.
        for logical_id, resource in resources.items():
            if resource["Type"] == "AWS::Lambda::Function":
                name = resolver.resolve(resource["Properties"].get("FunctionName", logical_id))
                resolver.refs[logical_id] = name
                resolver.attrs[(logical_id, "Arn")] = (
                    f"arn:aws:lambda:{cfg.region}:{ACCOUNT_ID}:function:{name}"
                )
        provision(cfn, resolver, self.client)
        sources = function_sources(sam)
        # Functions an HTTP API route invokes; the others run in the background (runtime.py says why).
        http_functions = {
            logical_id
            for logical_id, resource in sam["Resources"].items()
            if any(
                event.get("Type") == "HttpApi"
                for event in (resource.get("Properties", {}).get("Events") or {}).values()
            )
        }
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            props = resource["Properties"]
            env = resolver.resolve(props.get("Environment", {}).get("Variables", {}))
            source = sources[logical_id]
            reserved = resolver.resolve(props.get("ReservedConcurrentExecutions"))
            self.functions[logical_id] = FunctionSpec(
                logical_id=logical_id,
                function_name=resolver.refs[logical_id],
                module=source.module,
                handler=source.handler,
                timeout_s=int(props.get("Timeout", 3)),
                memory_mb=int(props.get("MemorySize", 128)),
                environment={k: str(v) for k, v in env.items()},
                reserved_concurrency=None if reserved is None else int(reserved),
                event_source_max_concurrency=self._event_source_max_concurrency(logical_id),
                background=logical_id not in http_functions,
            )
        self.outputs = {
            name: self._try_resolve(spec["Value"]) for name, spec in cfn.get("Outputs", {}).items()
        }

    def _app_clients(self) -> list[str]:
        """The app client ids of the HttpApi JWT authorizer's audience (the template's clients, created
        in moto), the web portal's first."""
        assert self.resolver is not None
        for _, api in self._of_type("AWS::ApiGatewayV2::Api"):
            schemes = ((api["Properties"].get("Body") or {}).get("components") or {}).get("securitySchemes")
            for scheme in (schemes or {}).values():
                jwt_config = (scheme.get("x-amazon-apigateway-authorizer") or {}).get("jwtConfiguration")
                if jwt_config and jwt_config.get("audience"):
                    return [str(a) for a in self.resolver.resolve(jwt_config["audience"])]
        return []

    def _channel_aliases(self) -> dict[str, str]:
        """Channel → app client id, from the api function's CHANNEL_CLIENTS (what the api maps back)."""
        from onestop.applications.channels import parse_clients

        for spec in self.functions.values():
            text = spec.environment.get("CHANNEL_CLIENTS")
            if text:
                return {channel.value: client for client, channel in parse_clients(text).items()}
        return {}

    def _event_source_max_concurrency(self, logical_id: str) -> int | None:
        """The lowest ScalingConfig MaximumConcurrency of the SQS event sources that drive a function."""
        assert self.resolver is not None
        found = []
        for _, mapping in self._of_type("AWS::Lambda::EventSourceMapping"):
            props = mapping["Properties"]
            target = props.get("FunctionName")
            if isinstance(target, dict) and target.get("Ref") == logical_id:
                scaling = self.resolver.resolve(props.get("ScalingConfig") or {})
                if "MaximumConcurrency" in scaling:
                    found.append(int(scaling["MaximumConcurrency"]))
        return min(found) if found else None

    def _try_resolve(self, value: Any) -> Any:
        assert self.resolver is not None
        try:
            return self.resolver.resolve(value)
        except KeyError:
            return None  # an output about a resource that is not emulated (e.g. the Cognito domain)

    def base_env(self) -> dict[str, str]:
        """The environment every local function starts from (the template adds its own variables)."""
        keep = {
            k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
        }
        keep.update(
            {
                "AWS_ENDPOINT_URL": self.moto_url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": self.config.region,
                "AWS_REGION": self.config.region,
                "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
                "POWERTOOLS_DEV": "false",
                "ONESTOP_LOCAL_STATE_DIR": str(self.state_dir),
                "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "layers" / "core")]),
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS"):
            if key in os.environ:
                keep[key] = os.environ[key]
        return keep

    def _function_for_arn(self, arn: str) -> str:
        for logical_id in self.functions:
            assert self.resolver is not None
            if self.resolver.attrs[(logical_id, "Arn")] == arn:
                return logical_id
        raise KeyError(f"no function with ARN {arn}")

    def _start_wiring(self) -> None:
        cfg = self.config
        assert self.resolver is not None
        resolver = self.resolver
        log_dir = self.state_dir / "logs" if cfg.function_logs_to_files else None
        runtime = LocalRuntime(
            self.functions, self.base_env(), log_dir, cfg.max_workers_per_function, cfg.background_nice
        )
        self.runtime = runtime
        sqs = self.client("sqs")
        events = self.client("events")
        for logical_id, resource in self.cfn["Resources"].items():
            props = resource.get("Properties", {})
            kind = resource["Type"]
            if kind == "AWS::Lambda::EventSourceMapping":
                p = resolver.resolve(props)
                queue_arn = p["EventSourceArn"]
                queue_name = queue_arn.split(":")[5]
                mapping = SqsMapping(
                    name=logical_id,
                    function=self._function_logical(p["FunctionName"]),
                    queue_url=sqs.get_queue_url(QueueName=queue_name)["QueueUrl"],
                    queue_arn=queue_arn,
                    batch_size=int(p.get("BatchSize", 10)),
                    window_s=float(p.get("MaximumBatchingWindowInSeconds", 0)),
                    report_failures="ReportBatchItemFailures" in (p.get("FunctionResponseTypes") or []),
                )
                self.pollers.append(
                    SqsPoller(
                        mapping,
                        self.client("sqs"),
                        self.invoke_waiting,
                        self._stop,
                        cfg.retry_delay_s,
                        cfg.region,
                        # As many batches at once as the function's workers can take (its
                        # MaximumConcurrency, under the local cap).
                        lanes=runtime.workers[mapping.function].size,
                    )
                )
            elif kind == "AWS::Events::Rule":
                p = resolver.resolve(props)
                for target in p.get("Targets", []):
                    tap_name = f"onestop-local-tap-{logical_id}-{target['Id']}"[:80]
                    tap_url = sqs.create_queue(QueueName=tap_name)["QueueUrl"]
                    tap_arn = sqs.get_queue_attributes(QueueUrl=tap_url, AttributeNames=["QueueArn"])[
                        "Attributes"
                    ]["QueueArn"]
                    bus = p.get("EventBusName", "default")
                    events.put_rule(
                        Name=logical_id, EventBusName=bus, EventPattern=json.dumps(p["EventPattern"])
                    )
                    events.put_targets(
                        Rule=logical_id, EventBusName=bus, Targets=[{"Id": "local-tap", "Arn": tap_arn}]
                    )
                    retry = target.get("RetryPolicy", {})
                    wiring = RuleWiring(
                        name=logical_id,
                        function=self._function_for_arn(target["Arn"]),
                        bus=bus,
                        pattern=p["EventPattern"],
                        tap_queue_url=tap_url,
                        dead_letter_arn=(target.get("DeadLetterConfig") or {}).get("Arn"),
                        max_attempts=int(retry.get("MaximumRetryAttempts", 185)),
                    )
                    self.pollers.append(
                        RulePoller(
                            wiring, self.client("sqs"), self.invoke_waiting, self._stop, cfg.retry_delay_s
                        )
                    )
            elif kind == "AWS::Scheduler::Schedule":
                p = resolver.resolve({k: v for k, v in props.items() if k != "Target"})
                target = props["Target"]
                function = self._function_for_arn(resolver.resolve(target["Arn"]))
                payload = json.loads(target["Input"]) if "Input" in target else {}
                self.schedules[logical_id] = Schedule(logical_id, function, p["ScheduleExpression"], payload)
        api_bodies = [
            (logical_id, r["Properties"]["Body"])
            for logical_id, r in self.cfn["Resources"].items()
            if r["Type"] == "AWS::ApiGatewayV2::Api"
        ]
        for _, body in api_bodies:
            self.routes.extend(routes_from_api(body, self._function_for_uri))
        self.routes.sort(key=lambda r: r.specificity(), reverse=True)
        cors = CorsConfig.from_api(api_bodies[0][1], resolver.resolve) if api_bodies else None
        if cors is not None:
            # samtranslator writes the parameters' defaults into the API body; the allowed origins are
            # this stack's PortalOrigin (its override), as CloudFormation would resolve them.
            for resource in self.sam["Resources"].values():
                origins = (resource.get("Properties", {}).get("CorsConfiguration") or {}).get("AllowOrigins")
                if resource["Type"] == "AWS::Serverless::HttpApi" and origins:
                    cors.allow_origins = [str(o) for o in resolver.resolve(origins)]
        assert self.resolver is not None
        clients = self._app_clients()
        self.idp = LocalIdentityProvider(
            issuer=f"{self.api_url}/_local/idp",
            audience=clients[0] if clients else LOCAL_AUDIENCE,
            directory=LocalDirectory.for_stack(self.cfn, self.resolver.refs, self.client),
            other_clients=tuple(clients[1:]),
            aliases=self._channel_aliases(),
        )
        static = {"/web/": REPO_ROOT / "web"} if (REPO_ROOT / "web").is_dir() else {}
        extra: dict[str, Callable[[Request], Response]] = {"/_local/health": self._health}
        for name in self.schedules:
            extra[f"/_local/schedules/{name}"] = self._schedule_endpoint(name)
        self.edge = self._edge() if cfg.edge_limits else None
        gateway = HttpApiGateway(
            self.routes,
            self.invoke,
            self.idp,
            cors,
            static,
            extra,
            edge=self.edge,
            static_headers=self._page_headers(),
        )
        self._gateway_app = gateway
        self._gateway = ServerThread(gateway, cfg.host, cfg.api_port)
        self._gateway.start()
        for poller in self.pollers:
            poller.start()
        for logical_id in self.config.warm:
            self.runtime.workers[logical_id].warm()
        self._after_start()

    def _after_start(self) -> None:
        """One-time set-up that AWS would have from ops: the bureau's PKI over the KMS seal key."""
        bootstrap = _optional_pki_bootstrap()
        if bootstrap is not None:
            bootstrap(self)

    def _of_type(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [(k, r) for k, r in self.cfn["Resources"].items() if r["Type"] == kind]

    def _edge(self) -> Edge:
        """The web ACL's rate rules and the API stage's route throttles, as the template has them."""
        assert self.resolver is not None
        rules = []
        for _, acl in self._of_type("AWS::WAFv2::WebACL"):
            rules.extend(rate_rules_from_web_acl(self.resolver.resolve(acl["Properties"])))
        stages = self._of_type("AWS::ApiGatewayV2::Stage")
        throttles = RouteThrottles.from_stage(stages[0][1]["Properties"]) if stages else None
        return Edge(rules, throttles)

    def _page_headers(self) -> dict[str, str]:
        """The response headers policy CloudFront applies to /web/*; storage and identity are local."""
        assert self.resolver is not None
        distributions = self._of_type("AWS::CloudFront::Distribution")
        if not distributions:
            return {}
        behaviours = distributions[0][1]["Properties"]["DistributionConfig"].get("CacheBehaviors", [])
        policy_ref = next(
            (b.get("ResponseHeadersPolicyId") for b in behaviours if b["PathPattern"] == "/web/*"), None
        )
        if not isinstance(policy_ref, dict) or "Ref" not in policy_ref:
            return {}
        config = self.cfn["Resources"][policy_ref["Ref"]]["Properties"]["ResponseHeadersPolicyConfig"]
        # The presigned POST goes to the moto server; the identity provider is this gateway ('self').
        local = with_sub_variables(config, {"StorageOrigin": self.moto_url, "IdentityOrigin": ""})
        return security_headers(self.resolver.resolve(local))

    def _function_logical(self, name_or_arn: str) -> str:
        for logical_id, spec in self.functions.items():
            if name_or_arn in (spec.function_name, logical_id) or name_or_arn.endswith(
                f":{spec.function_name}"
            ):
                return logical_id
        raise KeyError(name_or_arn)

    def _function_for_uri(self, uri: Any) -> str:
        text = uri["Fn::Sub"] if isinstance(uri, dict) else str(uri)
        found = re.search(r"\$\{(\w+)\.Arn\}", text)
        if not found:
            raise ValueError(f"cannot find the function in integration uri {uri!r}")
        return found.group(1)

    def _health(self, request: Request) -> Response:
        return Response(json.dumps(self.describe(), ensure_ascii=False), mimetype="application/json")

    def _schedule_endpoint(self, name: str) -> Callable[[Request], Response]:
        def run(request: Request) -> Response:
            if request.method != "POST":
                return Response(status=405)
            result = self.run_schedule(name)
            return Response(json.dumps(result, default=str, ensure_ascii=False), mimetype="application/json")

        return run

    # ------------------------------------------------------------------ operations
    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """A synchronous invocation (API Gateway's): throttled at once beyond a reserved limit."""
        assert self.runtime is not None
        return self.runtime.invoke(function, event)

    def invoke_waiting(self, function: str, event: dict[str, Any]) -> Any:
        """An invocation by an event source or the scheduler, which retry a throttle: waits instead."""
        assert self.runtime is not None
        return self.runtime.invoke(function, event, wait=True)

    @contextmanager
    def edge_limits_lifted(self) -> Iterator[None]:
        """Serve without the rate limits for a while: for a fuzzer, one client sending thousands of
        requests a minute, which is what the limits refuse and not what it tests."""
        assert self._gateway_app is not None
        edge, self._gateway_app.edge = self._gateway_app.edge, None
        try:
            yield
        finally:
            self._gateway_app.edge = edge

    def run_schedule(self, name: str) -> Any:
        schedule = self.schedules[name]
        return self.invoke_waiting(schedule.function, schedule.payload)

    def token(
        self,
        sub: str,
        groups: list[str],
        name: str = "",
        *,
        uscc: Sequence[str] = (),
        id_number: str | None = None,
        client: str | None = None,
    ) -> str:
        """A token for `sub`; `uscc` / `id_number` are what the identity federation vouches for (added
        to the user's attributes in the pool); the token carries every party the user is bound to.
        `client`: the app client (id or channel, e.g. "city_app"); the web portal's when None."""
        assert self.idp is not None
        return self.idp.issue(sub, groups, name, uscc=uscc, id_number=id_number, client=client)

    def wait_idle(self, timeout_s: float = 120.0) -> bool:
        """Wait until every wired queue is empty and no poller is delivering."""
        sqs = self.client("sqs")
        urls = [p.mapping.queue_url for p in self.pollers if isinstance(p, SqsPoller)]
        urls += [p.wiring.tap_queue_url for p in self.pollers if isinstance(p, RulePoller)]
        deadline = time.monotonic() + timeout_s
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            pending = 0
            for url in urls:
                attrs = sqs.get_queue_attributes(
                    QueueUrl=url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
                pending += int(attrs["ApproximateNumberOfMessages"]) + int(
                    attrs["ApproximateNumberOfMessagesNotVisible"]
                )
            busy = any(p.busy for p in self.pollers)
            if pending == 0 and not busy:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 0.5:
                    return True
            else:
                quiet_since = None
            time.sleep(0.2)
        return False

    def describe(self) -> dict[str, Any]:
        return {
            "api_url": self.api_url,
            "aws_endpoint": self.moto_url,
            "region": self.config.region,
            "state_dir": str(self.state_dir),
            "functions": {k: v.module for k, v in self.functions.items()},
            "routes": [r.route_key + ("" if r.authorized else " (public)") for r in self.routes],
            "event_sources": [p.name for p in self.pollers],
            "schedules": {k: v.expression for k, v in self.schedules.items()},
            "outputs": self.outputs,
            "startup_s": self.startup_s,
            "edge_refused": dict(self.edge.refused) if self.edge else None,
        }

    def stop(self) -> None:
        self._stop.set()
        for poller in self.pollers:
            poller.join(5)
        if self._gateway is not None:
            self._gateway.stop()
            self._gateway = None
        if self.runtime is not None:
            self.runtime.stop()
        if self._moto is not None:
            self._moto.terminate()
            try:
                self._moto.wait(10)
            except subprocess.TimeoutExpired:
                self._moto.kill()
            self._moto = None
            self._moto_log.close()
        if self._owns_state_dir and self.state_dir.exists():
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def environment_for_clients(self) -> Mapping[str, str]:
        """Environment variables that point a process (a test, a script) at this stack."""
        env = self.base_env()
        any_function = next(iter(self.functions.values()), None)
        if any_function is not None:
            env.update(any_function.environment)
        return env


def _optional_pki_bootstrap() -> Callable[[LocalStack], Any] | None:
    """The PKI bootstrap lives in infra.pki; the stack runs it when it is present."""
    try:
        from infra.pki.local import bootstrap_local_stack
    except ImportError as exc:
        if "infra.pki" not in str(exc):
            raise
        print("note: infra.pki not present; licences cannot be sealed in this stack", file=sys.stderr)
        return None
    return bootstrap_local_stack
