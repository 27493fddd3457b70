"""Lambda entry point of every event function (SQS, schedule, stream): ``lambda_entry.<name>``.

Chalice points a blueprint's event function straight at its module (``chalicelib.events.x``),
so in AWS ``app.py`` is never imported: the blueprints are never registered and the middleware
(logs, metrics flush, tracing) never attached to them (aws/chalice#1566). The deployment
template points those functions here instead; importing this module imports the event
functions' app first (``event_app.py``: the event blueprints without the HTTP API's).
"""

from __future__ import annotations

import importlib
from typing import Any

from chalicelib import event_app as _app


def __getattr__(name: str) -> Any:
    """The registered handler whose function is called ``name`` (Lambda looks it up by name)."""
    sources: list[Any] = [*_app.app.event_sources, *_app.app.pure_lambda_functions]
    for source in sources:
        module, attribute = source.handler_string.rsplit(".", 1)
        if attribute == name:
            return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"no event function named {name!r}")
