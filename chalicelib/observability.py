"""Structured logs and metrics through powertools, registered once as Chalice middleware.

The correlation id of a post's journey is its mention key: ingest, analyze and dispatch log it,
and the task carries it (``mention_key``), so one key finds every line about one post.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics

SERVICE = "tvarit"
NAMESPACE = "Tvarit"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def observe(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Middleware for every handler: request ids in every log line, metrics flushed once."""
    context = getattr(event, "lambda_context", None) or getattr(event, "context", None)
    request_id = getattr(context, "aws_request_id", None)
    # Thread-safe keys: one Lambda process runs one invocation at a time, but the local stack
    # runs the API and the event pump as threads of one process.
    if request_id:
        logger.thread_safe_append_keys(request_id=request_id)
    try:
        return get_response(event)
    finally:
        logger.thread_safe_clear_keys()
        if metrics.metric_set:  # flushing nothing only makes powertools warn
            metrics.flush_metrics()
            # With POWERTOOLS_METRICS_DISABLED, flush keeps the set, which then prints itself
            # once it reaches 100 values: clear it either way.
            metrics.clear_metrics()
