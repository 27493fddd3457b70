"""botocore sessions that share one data loader per container.

Every botocore session parses the service models it uses (DynamoDB's alone is a large JSON
file) and the endpoint data again. PynamoDB makes one session per model's connection, and a
container touches up to seven tables: measured here, seven sessions with their own loaders
cost 330 ms of a cold start, seven sharing one loader 100 ms. The loader only caches parsed
files, so sharing it across sessions (and threads) is safe.
"""

from __future__ import annotations

from typing import Any

_loader: Any = None


def new_session() -> Any:
    """A fresh botocore session (they are not thread-safe) on the container's shared loader."""
    import botocore.session

    global _loader
    from chalicelib.stages import count_aws_call

    session = botocore.session.get_session()
    # Every AWS call is counted (the AwsCallsPerMention metric, bench/latency.py).
    session.register("before-send", count_aws_call)
    if _loader is None:
        from chalicelib.adapters.botocore_data import load_packed

        # The deployment package's pre-parsed data files when it has them (botocore_data.py).
        packed = load_packed()
        _loader = packed if packed is not None else session.get_component("data_loader")
    session.register_component("data_loader", _loader)
    return session


def share_with_pynamodb() -> None:
    """Make PynamoDB's connections use :func:`new_session` (it has no hook but its import)."""
    import pynamodb.connection.base

    setattr(pynamodb.connection.base, "get_session", new_session)  # noqa: B010 (not re-exported)
