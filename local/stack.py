"""The whole service on one machine: moto server as AWS, the API, the event pump, the phones.

Used by ``make run`` (``python -m local``) and by the end-to-end tests. Everything listens on
127.0.0.1 on free ports unless told otherwise. The environment variables it sets for the
in-process handlers are restored by :meth:`LocalStack.stop`.
"""

from __future__ import annotations

import importlib
import logging
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from chalicelib import settings as cfg
from chalicelib import wiring
from local.bootstrap import Resources, bootstrap
from local.phone import PhoneSink
from local.pump import EventPump, ScheduleMapping, SqsMapping, StreamMapping

ROOT = Path(__file__).resolve().parent.parent
REGION = "ap-south-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_clients(endpoint_url: str, region: str = REGION) -> dict[str, Any]:
    import botocore.session

    session = botocore.session.get_session()
    return {
        name: session.create_client(name, region_name=region, endpoint_url=endpoint_url)
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
    region: str = REGION
    # Delivery channels of the local stage: SMS and e-mail subscriptions are real on moto (its
    # deliveries are dropped; the phone sink mirrors them). DLT ids: local placeholders.
    channels: str = "sms,email"
    sms_entity_id: str = "LOCAL-DLT-ENTITY"
    sms_template_id: str = "LOCAL-DLT-TEMPLATE"
    log_level: str = field(default_factory=lambda: os.environ.get("TVARIT_LOG_LEVEL", "WARNING"))

    aws_url: str = ""
    api_url: str = ""
    resources: Resources | None = None
    clients: dict[str, Any] = field(default_factory=dict)
    pump: EventPump | None = None
    phone: PhoneSink | None = None
    app_module: ModuleType | None = None
    _saved_env: dict[str, str | None] = field(default_factory=dict)
    _moto: subprocess.Popen[bytes] | None = None
    _api: Any = None
    _api_thread: threading.Thread | None = None
    _invoke_lock: threading.Lock = field(default_factory=threading.Lock)

    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _start_moto(self) -> None:
        """moto server in its own process: it gets its own core and GIL, as AWS would."""
        port = self.aws_port or _free_port()
        self._moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.aws_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._moto.poll() is not None:
                raise RuntimeError(f"moto server exited with {self._moto.returncode}")
            try:
                with urllib.request.urlopen(f"{self.aws_url}/moto-api/", timeout=1):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"moto server did not answer on {self.aws_url}")

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
        # The API's port is chosen first: notifications link to its task pages.
        self.api_port = self.api_port or _free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self._start_moto()
        self._set_env(self._start_issuer())
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
                cfg.ENV_WEBHOOK_SECRET: self.webhook_secret,
                cfg.ENV_PUBLIC_BASE_URL: self.api_url,
                cfg.ENV_CHANNELS: self.channels,
                cfg.ENV_SMS_ENTITY_ID: self.sms_entity_id,
                cfg.ENV_SMS_TEMPLATE_ID: self.sms_template_id,
                "POWERTOOLS_METRICS_DISABLED": os.environ.get(
                    "POWERTOOLS_METRICS_DISABLED", "true"
                ),
            }
        )
        self.clients = make_clients(self.aws_url, self.region)
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
        settings = cfg.Settings.from_env()
        wiring.use(wiring.Container(settings))
        # Import the app only now, as Lambda would in an environment that is configured.
        self.app_module = importlib.import_module("app")
        events = importlib.import_module("chalicelib.events")
        self._start_api()
        self.pump = EventPump(self.clients, self.region, invoke_lock=self._invoke_lock)
        self.pump.sqs.append(
            SqsMapping(
                "analyze",
                self.resources.mentions_queue_url,
                self.resources.mentions_queue_arn,
                events.analyze_mentions,
                events.ANALYZE_BATCH_SIZE,
            )
        )
        self.pump.streams.append(
            StreamMapping(
                "dispatch",
                self.resources.tasks_stream_arn,
                events.dispatch_tasks,
                batch_size=100,
                on_failure_queue_url=self.resources.dispatch_failures_url,
            )
        )
        self.pump.schedules.append(
            ScheduleMapping("escalate", events.escalate_tasks, self.escalate_every)
        )
        self.pump.schedules.append(
            ScheduleMapping("flush_digests", events.flush_digests, self.escalate_every)
        )
        if self.run_pump:
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
        from chalice.config import Config
        from chalice.local import ChaliceRequestHandler, LocalDevServer

        invoke_lock = self._invoke_lock

        class QuietHandler(ChaliceRequestHandler):  # type: ignore[misc]
            def log_message(self, format: str, *args: Any) -> None:
                return  # one line per request would drown the phones' output

            def _generic_handle(self) -> None:
                with invoke_lock:  # one invocation at a time, shared with the event pump
                    super()._generic_handle()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = (
                _generic_handle
            )

        assert self.app_module is not None
        config = Config.create(
            chalice_stage="local",
            app_name="tvarit",
            chalice_app=self.app_module.app,
            project_dir=str(ROOT),
        )
        self._api = LocalDevServer(
            self.app_module.app, config, "127.0.0.1", self.api_port, handler_cls=QuietHandler
        )
        host, port = self._api.server.server_address[:2]
        self.api_url = f"http://{host}:{port}"
        self._api_thread = threading.Thread(
            target=self._api.server.serve_forever, name="api", daemon=True
        )
        self._api_thread.start()

    def stop(self) -> None:
        if self.pump is not None:
            self.pump.stop()
        if self._api is not None:
            self._api.shutdown()
            self._api.server.server_close()
        if self._moto is not None:
            self._moto.terminate()
            try:
                self._moto.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._moto.kill()
        wiring.use(None)
        if self.signing_key_path is not None:
            self.signing_key_path.unlink(missing_ok=True)
            self.signing_key_path.parent.rmdir()
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
