"""The whole service on one machine: moto server as AWS, the API, the event pump, the phones.

Used by ``make run`` (``python -m local``) and by the end-to-end tests. Everything listens on
127.0.0.1 on free ports unless told otherwise. The environment variables it sets for the
in-process handlers are restored by :meth:`LocalStack.stop`.

One API worker and one pump worker run as threads of this process (one Lambda container,
one invocation at a time). With ``api_workers`` or ``pump_workers`` above one, each worker is
a child process (``python -m local.worker``), as concurrent Lambda containers are: API
workers each on their own port (``api_urls``) behind a round-robin front (``api_url``); pump
workers share the queues (SQS hands a message to one receiver), split the stream's shards,
and the first of them fires the schedules. Children exit with the stack (``local.children``).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import os
import secrets
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from chalicelib import settings as cfg
from chalicelib import wiring
from local.bootstrap import Resources, bootstrap
from local.children import GRACE_SECONDS, Child, stop_all
from local.front import RoundRobinFront
from local.phone import PhoneSink
from local.pump import EventPump, ScheduleMapping, SqsMapping, StreamMapping

ROOT = Path(__file__).resolve().parent.parent
REGION = "ap-south-1"
LOG_LEVEL_ENV = "TVARIT_LOG_LEVEL"


def make_clients(
    endpoint_url: str, region: str = REGION, read_timeout: float = 10.0
) -> dict[str, Any]:
    import botocore.config
    import botocore.session

    session = botocore.session.get_session()
    # The pump's and phones' clients: a frozen or stopped moto must fail their calls in
    # seconds (botocore's default is 60 s a try), so they report it and try again; the read
    # timeout leaves room for the pump's 1 s long polls.
    config = botocore.config.Config(
        connect_timeout=2,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": 2},
    )
    return {
        name: session.create_client(
            name, region_name=region, endpoint_url=endpoint_url, config=config
        )
        for name in ("sqs", "sns", "dynamodb", "dynamodbstreams")
    }


@dataclass
class LocalStack:
    aws_port: int = 0
    api_port: int = 0
    visibility_timeout: int = 30
    max_receive_count: int = 3
    webhook_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    # The development token issuer: its key pair is made at start, its JWKS given to the app.
    issuer: Any = None
    signing_key_path: Path | None = None
    run_pump: bool = True
    escalate_every: float = 5.0  # seconds; the deployed schedule runs every minute
    # Concurrent containers: more than one worker of a kind makes each a child process.
    api_workers: int = 1
    pump_workers: int = 1
    # The pump in a child process even when it is one worker (``make run``): the API and the
    # pump are different Lambda functions, and as threads of one process every API request
    # waits behind a whole analyze batch (docs/operations.md, "API while the pump is busy").
    separate_pump: bool = False
    # How long the stack's own clients (pump, phones) and the app's wait for the local AWS.
    aws_read_timeout: float = 10.0
    # Bound what moto keeps and AWS would not (local/moto_memory.py); off only to measure it.
    aws_retention: bool = True
    region: str = REGION
    # Delivery channels of the local stage: SMS and e-mail subscriptions are real on moto (its
    # deliveries are dropped; the phone sink mirrors them). DLT ids: local placeholders.
    channels: str = "sms,email"
    sms_entity_id: str = "LOCAL-DLT-ENTITY"
    sms_template_id: str = "LOCAL-DLT-TEMPLATE"
    log_level: str = field(default_factory=lambda: os.environ.get(LOG_LEVEL_ENV, "WARNING"))
    # One container per function (API, analyze, dispatch, schedules), as Lambda runs them,
    # instead of one for all: each runs one invocation at a time, beside the others. Only with
    # POWERTOOLS_METRICS_DISABLED (the default here): powertools' metric set is per process.
    function_containers: bool = False
    # The Telegram bot (issue 13) against the fake Bot API (local.fake_telegram).
    telegram: bool = True
    fake_telegram: Any = None

    aws_url: str = ""
    api_url: str = ""
    api_urls: list[str] = field(default_factory=list)  # each API worker's own address
    resources: Resources | None = None
    clients: dict[str, Any] = field(default_factory=dict)
    pump: EventPump | None = None
    phone: PhoneSink | None = None
    app_module: ModuleType | None = None
    _saved_env: dict[str, str | None] = field(default_factory=dict)
    children: list[Child] = field(default_factory=list)
    _front: RoundRobinFront | None = None
    _api: Any = None
    _api_thread: threading.Thread | None = None
    _invoke_lock: threading.Lock = field(default_factory=threading.Lock)

    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _start_moto(self) -> None:
        """moto server in its own process: it gets its own core and GIL, as AWS would."""
        argv = ["-m", "local.aws", "--port", str(self.aws_port)]
        argv += [] if self.aws_retention else ["--no-retention"]
        aws = Child("aws", argv).start(timeout=30)
        self.children.append(aws)
        self.aws_url = aws.address

    def _start_issuer(self) -> dict[str, str]:
        import json
        import tempfile

        from chalicelib.adapters.jwt_tokens import DEV_AUDIENCE, DevIssuer

        self.issuer = DevIssuer.generate()
        key_dir = Path(tempfile.mkdtemp(prefix="tvarit-dev-issuer-"))
        self.signing_key_path = key_dir / "signing-key.pem"
        self.issuer.save(self.signing_key_path)
        return {
            cfg.ENV_JWT_ISSUER: self.issuer.issuer,
            cfg.ENV_JWT_AUDIENCE: DEV_AUDIENCE,
            cfg.ENV_JWKS: json.dumps(self.issuer.jwks()),
            cfg.ENV_DEV_SIGNING_KEY: str(self.signing_key_path),
        }

    def _push_platforms(self) -> dict[str, str]:
        """SNS platform applications for device registration (moto drops the pushes)."""
        sns = self.clients["sns"]
        creds = {"PlatformCredential": "local", "PlatformPrincipal": "local"}
        arns = {
            name: sns.create_platform_application(
                Name=f"tvarit-{name.lower()}", Platform=name, Attributes=creds
            )["PlatformApplicationArn"]
            for name in ("GCM", "APNS")
        }
        return {cfg.ENV_FCM_APP_ARN: arns["GCM"], cfg.ENV_APNS_APP_ARN: arns["APNS"]}

    def start(self) -> LocalStack:
        try:
            return self._start()
        except BaseException:
            self.stop()  # nothing started stays behind
            raise

    def _start(self) -> LocalStack:
        # The API's port is chosen first: notifications link to its task pages.
        self.api_port = self.api_port or _free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self._start_moto()
        self._set_env(self._start_issuer())
        # The API's port is chosen up front: the pages and every notification link to it.
        self.api_port = self.api_port or _free_port()
        self._set_env(
            {
                cfg.ENV_ENDPOINT_URL: self.aws_url,
                cfg.ENV_REGION: self.region,
                cfg.ENV_DEFAULT_REGION: self.region,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                # moto 5.2 + botocore 1.44: DynamoDB Streams need account-id endpoints off.
                "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
                cfg.ENV_STAGE: "local",
                LOG_LEVEL_ENV: self.log_level,  # for the worker processes
                cfg.ENV_WEBHOOK_SECRET: self.webhook_secret,
                cfg.ENV_PUBLIC_BASE_URL: f"http://127.0.0.1:{self.api_port}",
                cfg.ENV_CHANNELS: self.channels,
                cfg.ENV_SMS_ENTITY_ID: self.sms_entity_id,
                cfg.ENV_SMS_TEMPLATE_ID: self.sms_template_id,
                # The app's AWS budget against moto: a 2 s read timeout, shorter than moto's
                # queue of serialised DynamoDB requests on a loaded machine, makes clients give
                # up and retry work moto still does, until nothing gets through (docs/soak.md).
                cfg.ENV_AWS_READ_TIMEOUT: str(self.aws_read_timeout),
                "POWERTOOLS_METRICS_DISABLED": os.environ.get(
                    "POWERTOOLS_METRICS_DISABLED", "true"
                ),
            }
        )
        if self.function_containers and os.environ["POWERTOOLS_METRICS_DISABLED"] != "true":
            raise ValueError("function_containers needs POWERTOOLS_METRICS_DISABLED=true")
        self.clients = make_clients(self.aws_url, self.region, self.aws_read_timeout)
        self.resources = bootstrap(
            cfg.Settings.from_env(), self.clients, self.visibility_timeout, self.max_receive_count
        )
        self._set_env(
            {
                cfg.ENV_MENTIONS_QUEUE_URL: self.resources.mentions_queue_url,
                cfg.ENV_TOPIC_ARN_PREFIX: self.resources.topic_arn_prefix,
                **self._push_platforms(),
            }
        )
        if self.telegram:
            from local.telegram_stack import start_fake

            self.fake_telegram, telegram_env = start_fake(
                self.api_url, self.resources.telegram_queue_url
            )
            self._set_env(telegram_env)
        settings = cfg.Settings.from_env()
        wiring.use(wiring.Container(settings))
        # Import the app only now, as Lambda would in an environment that is configured.
        self.app_module = importlib.import_module("app")
        events = importlib.import_module("chalicelib.events")
        self._start_api()
        self.pump = EventPump(self.clients, self.region, invoke_lock=self._invoke_lock)
        add_mappings(self.pump, self.resources, events, self.escalate_every)
        if self.function_containers:
            for sqs in self.pump.sqs:
                sqs.lock = threading.Lock()
            for stream in self.pump.streams:
                stream.lock = threading.Lock()
        if self.run_pump and (self.pump_workers > 1 or self.separate_pump):
            self._start_pump_workers()
        elif self.run_pump:
            self.pump.start()
        self.phone = PhoneSink(self.clients["sqs"], self.clients["sns"], settings.state_topic_arn)
        # The moto server's werkzeug logs every AWS call; keep only its errors. (Set last:
        # importing the app resets the level.)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        from chalicelib.observability import logger

        logger.setLevel(self.log_level)
        return self

    def queue_depth(self, queue_url: str) -> int:
        """Messages waiting or in flight on a queue (SQS's approximate counts)."""
        attrs = self.clients["sqs"].get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(
            attrs["ApproximateNumberOfMessagesNotVisible"]
        )

    def task_count(self) -> int:
        from chalicelib.adapters.dynamo.models import TaskModel

        return sum(1 for _ in TaskModel.scan(attributes_to_get=["task_id"]))

    def _start_api(self) -> None:
        if self.api_workers > 1:
            self._start_api_workers()
            return
        assert self.app_module is not None
        lock = threading.Lock() if self.function_containers else self._invoke_lock
        self._api = api_server(self.app_module.app, self.api_port, lock)
        host, port = self._api.server.server_address[:2]
        self.api_url = f"http://{host}:{port}"
        self.api_urls = [self.api_url]
        self._api_thread = threading.Thread(
            target=self._api.server.serve_forever,
            kwargs={"poll_interval": 0.1},  # stop() waits up to one interval
            name="api",
            daemon=True,
        )
        self._api_thread.start()

    def _spawn(self, workers: list[Child]) -> None:
        """Start children side by side (each imports the app: ~2 s), keep them all or none."""
        errors: list[BaseException] = []

        def start(child: Child) -> None:
            try:
                child.start()
            except BaseException as err:  # reported below, after every start has ended
                errors.append(err)

        threads = [threading.Thread(target=start, args=(c,)) for c in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.children.extend(workers)
        if errors:
            raise errors[0]

    def _start_api_workers(self) -> None:
        self._spawn(
            [Child(f"api-{i}", ["-m", "local.worker", "api"]) for i in range(self.api_workers)]
        )
        self.api_urls = [c.address for c in self.children if c.name.startswith("api-")]
        self._front = RoundRobinFront(self.api_urls, self.api_port).start()
        self.api_url = self._front.url

    def _start_pump_workers(self) -> None:
        assert self.resources is not None
        resources = json.dumps(dataclasses.asdict(self.resources))
        self._spawn(
            [
                Child(
                    f"pump-{i}",
                    [
                        "-m",
                        "local.worker",
                        "pump",
                        f"--index={i}",
                        f"--workers={self.pump_workers}",
                        f"--resources={resources}",
                        f"--escalate-every={self.escalate_every}",
                    ],
                )
                for i in range(self.pump_workers)
            ]
        )

    def worker_pids(self) -> list[int]:
        """Process ids of the stack's children (the AWS stand-in and the workers)."""
        return [c.pid for c in self.children if c.process is not None]

    def stop(self, grace: float = GRACE_SECONDS) -> None:
        """Stop everything; each child gets ``grace`` seconds to exit before it is killed."""
        if self.pump is not None:
            self.pump.stop(timeout=min(grace, 1.0))
        if self.fake_telegram is not None:
            self.fake_telegram.stop()
            self.fake_telegram = None
        if self._api is not None:
            self._api.shutdown()
            self._api.server.server_close()
        if self._front is not None:
            self._front.stop()
        # Workers first (they may be mid-invocation against AWS), the AWS stand-in last.
        stop_all([c for c in self.children if c.name != "aws"], grace)
        stop_all([c for c in self.children if c.name == "aws"], grace)
        wiring.use(None)
        if self.signing_key_path is not None:
            self.signing_key_path.unlink(missing_ok=True)
            self.signing_key_path.parent.rmdir()
            self.signing_key_path = None  # stop() may run twice (a failed start, then the user)
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _free_port() -> int:
    """A port free now on 127.0.0.1: the pages and every notification link need it up front."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def api_server(app: Any, port: int, invoke_lock: threading.Lock) -> Any:
    """Chalice's local server for ``app``, one invocation at a time (one Lambda container).

    Chalice's ``current_request`` is a process global, and powertools' logger keys and metric
    set are per process: requests of one container must not overlap.
    """
    from chalice.config import Config
    from chalice.local import LocalDevServer

    from local.gateway import ProblemRequestHandler

    class OneAtATimeHandler(ProblemRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return  # one line per request would drown the phones' output

        def _generic_handle(self) -> None:
            try:
                with invoke_lock:
                    super()._generic_handle()
            except ConnectionError:
                return  # the client gave up waiting (a busy stack): nobody left to answer

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    config = Config.create(
        chalice_stage="local", app_name="tvarit", chalice_app=app, project_dir=str(ROOT)
    )
    return LocalDevServer(app, config, "127.0.0.1", port, handler_cls=OneAtATimeHandler)


def add_mappings(
    pump: EventPump,
    resources: Resources,
    events: ModuleType,
    escalate_every: float,
    worker: tuple[int, int] = (0, 1),
) -> None:
    """The event source mappings and schedules of the deployed stack, for one pump worker.

    Every worker consumes the mentions queue; the stream's shards are split among them; only
    the first fires the schedules (EventBridge invokes a schedule once per tick).
    """
    pump.sqs.append(
        SqsMapping(
            "analyze",
            resources.mentions_queue_url,
            resources.mentions_queue_arn,
            events.analyze_mentions,
            events.ANALYZE_BATCH_SIZE,
        )
    )
    pump.streams.append(
        StreamMapping(
            "dispatch",
            resources.tasks_stream_arn,
            events.dispatch_tasks,
            batch_size=100,
            on_failure_queue_url=resources.dispatch_failures_url,
            worker=worker,
        )
    )
    if resources.telegram_queue_url:
        pump.sqs.append(
            SqsMapping(
                "telegram_send",
                resources.telegram_queue_url,
                resources.telegram_queue_arn,
                events.telegram_send,
            )
        )
    from chalicelib.rollup_events import rollup_tasks

    pump.streams.append(
        StreamMapping("rollup", resources.tasks_stream_arn, rollup_tasks, 100, worker=worker)
    )
    if worker[0] == 0:
        pump.schedules.append(ScheduleMapping("escalate", events.escalate_tasks, escalate_every))
        pump.schedules.append(
            ScheduleMapping("flush_digests", events.flush_digests, escalate_every)
        )
