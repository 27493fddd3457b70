"""Structured logs and metrics through powertools, registered once as Chalice middleware.

The correlation id of a post's journey is its mention key: ingest, analyze and dispatch log it,
and the task carries it (``mention_key``), so one key finds every line about one post.

X-Ray tracing (powertools Tracer) is built on the first invocation, and only where Lambda runs
the function with active tracing: importing and patching the X-Ray SDK costs over 100 ms, which
a cold start elsewhere (tests, the local stack, tracing off) should not pay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

SERVICE = "tvarit"
NAMESPACE = "Tvarit"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

_tracer: Any = None  # None: not decided yet; False: tracing is off in this container
_cold_start = True  # the container's first invocation: its import and first work are slow
_CONTEXT_FIELDS = ("function_name", "memory_limit_in_mb", "invoked_function_arn", "aws_request_id")


def tracer() -> Any | None:
    """The powertools Tracer of this container, or ``None`` where tracing is off."""
    global _tracer
    if _tracer is None:
        from chalicelib.wiring import container

        if not container().settings.tracing:
            _tracer = False
        else:
            from aws_lambda_powertools import Tracer

            # botocore only: the AWS calls are what a trace of this service is for.
            _tracer = Tracer(service=SERVICE, patch_modules=("botocore",))
    return _tracer or None


def observe(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Middleware for every handler: request ids in every log line, metrics flushed once."""
    context = getattr(event, "lambda_context", None) or getattr(event, "context", None)
    request_id = getattr(context, "aws_request_id", None)
    # Thread-safe keys: one Lambda process runs one invocation at a time, but the local stack
    # runs the API and the event pump as threads of one process.
    if request_id:
        logger.thread_safe_append_keys(request_id=request_id)
    has_context = context is not None and all(hasattr(context, f) for f in _CONTEXT_FIELDS)
    global _cold_start
    if _cold_start and context is not None and has_context and not is_metrics_disabled():
        # powertools' ColdStart metric (its own EMF line, dimension function_name): how often
        # a post waits for a container's import and first analyze (make bench-coldstart).
        metrics.provider.add_cold_start_metric(context)
    _cold_start = False

    def run(_event: Any, _context: Any) -> Any:
        active = tracer()
        if active is None:
            return get_response(event)
        name = getattr(context, "function_name", None) or "handler"
        with active.provider.in_subsegment(f"## {name}"):
            return get_response(event)

    try:
        if has_context:
            # The function's name, memory, ARN, request id and cold_start on every log line.
            return logger.inject_lambda_context(run)(event, context)
        return run(event, context)
    finally:
        logger.thread_safe_clear_keys()
        if metrics.metric_set:  # flushing nothing only makes powertools warn
            metrics.flush_metrics()
            # With POWERTOOLS_METRICS_DISABLED, flush keeps the set, which then prints itself
            # once it reaches 100 values: clear it either way.
            metrics.clear_metrics()
