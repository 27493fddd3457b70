"""``python -m local.worker api|pump``: one Lambda container of the local stack, as a process.

Started by :class:`local.stack.LocalStack` when it runs more than one worker of a kind. The
environment (endpoint, tables, queues, the dev issuer's keys) is inherited from the stack.
An API worker serves the app on a free port, one request at a time; a pump worker runs the
event source mappings (see ``local.stack.add_mappings`` for how work is split). Either says
``ready <address>`` when it can take work and exits with its parent (``local.children``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import threading

from local.children import exit_with_parent, quick_exit, say_ready

# ``module:function`` called with the worker's kind before it takes work: the e2e tests use it
# to record each function's AWS calls in the workers too (tests/e2e/iam.py), the soak to inject
# throttling (local/faults.py). Several are separated by commas.
PLUGIN_ENV = "TVARIT_WORKER_PLUGIN"


def _container() -> None:
    """The worker's composition root and app, imported as Lambda would on a cold start."""
    from chalicelib import settings as cfg
    from chalicelib import wiring

    wiring.use(wiring.Container(cfg.Settings.from_env()))
    importlib.import_module("app")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from chalicelib.observability import logger

    logger.setLevel(os.environ.get("TVARIT_LOG_LEVEL", "WARNING"))


def _plugin(kind: str) -> None:
    for spec in filter(None, os.environ.get(PLUGIN_ENV, "").split(",")):
        module, _, function = spec.strip().partition(":")
        getattr(importlib.import_module(module), function)(kind)


def serve_api(port: int = 0) -> None:
    from local.stack import api_server

    _container()
    _plugin("api")
    app = importlib.import_module("app").app
    server = api_server(app, port, threading.Lock())
    host, port = server.server.server_address[:2]
    exit_with_parent(server.shutdown)
    say_ready(f"http://{host}:{port}")
    server.server.serve_forever(poll_interval=0.1)
    server.server.server_close()
    quick_exit(0)


def run_pump(index: int, workers: int, resources_json: str, escalate_every: float) -> None:
    from chalicelib import settings as cfg
    from local.bootstrap import Resources
    from local.pump import EventPump
    from local.stack import add_mappings, make_clients

    _container()
    _plugin("pump")
    events = importlib.import_module("chalicelib.events")
    settings = cfg.Settings.from_env()
    assert settings.endpoint_url, "a pump worker runs against the local AWS endpoint"
    resources = Resources(**json.loads(resources_json))
    pump = EventPump(make_clients(settings.endpoint_url, settings.region), settings.region)
    add_mappings(pump, resources, events, escalate_every, worker=(index, workers))
    if os.environ.get("POWERTOOLS_METRICS_DISABLED") == "true":
        # Each function in a container of its own, as on Lambda (LocalStack.function_containers):
        # dispatch no longer waits behind whole analyze batches for one shared container.
        for sqs in pump.sqs:
            sqs.lock = threading.Lock()
        for stream in pump.streams:
            stream.lock = threading.Lock()
    stopped = threading.Event()
    exit_with_parent(stopped.set)
    pump.start()
    say_ready(f"pump {index}/{workers}")
    stopped.wait()
    pump.stop(timeout=0.2)  # what is in flight is abandoned, as at a Lambda timeout
    quick_exit(0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m local.worker", description=__doc__.splitlines()[0])
    kinds = p.add_subparsers(dest="kind", required=True)
    api = kinds.add_parser("api", help="serve the API on a free port")
    # A worker restarted in place (the soak's SIGKILL) takes its old port behind the front.
    api.add_argument("--port", type=int, default=0)
    pump = kinds.add_parser("pump", help="run the event source mappings")
    pump.add_argument("--index", type=int, required=True)
    pump.add_argument("--workers", type=int, required=True)
    pump.add_argument("--resources", required=True, help="local.bootstrap.Resources as JSON")
    pump.add_argument("--escalate-every", type=float, default=5.0)
    args = p.parse_args(argv)
    if args.kind == "api":
        serve_api(args.port)
    else:
        if not 0 <= args.index < args.workers:
            p.error("--index must be in 0..--workers-1")
        run_pump(args.index, args.workers, args.resources, args.escalate_every)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
