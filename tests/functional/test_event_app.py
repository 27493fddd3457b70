"""Event functions enter through an app of the event blueprints alone (issue 17: cold start)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _sources(app: Any) -> list[dict[str, Any]]:
    return sorted(
        (dict(vars(s)) for s in [*app.event_sources, *app.pure_lambda_functions]),
        key=lambda s: str(s["handler_string"]),
    )


def test_the_event_app_has_every_event_function_of_the_app_and_the_same_middleware() -> None:
    import app as api_app
    from chalicelib import event_app

    assert _sources(event_app.app) == _sources(api_app.app)
    assert len(_sources(event_app.app)) > 10

    def for_events(app: Any) -> list[tuple[Any, str]]:
        return [(f, kind) for f, kind in app.middleware_handlers if kind != "http"]

    assert for_events(event_app.app) == for_events(api_app.app)
    assert for_events(event_app.app)


def test_an_event_function_imports_none_of_the_http_api() -> None:
    code = (
        "import sys, json\n"
        "import chalicelib.lambda_entry as entry\n"
        "handler = entry.analyze_mentions\n"
        "assert list(handler.middleware_handlers)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = {"PATH": "", "AWS_DEFAULT_REGION": "ap-south-1"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True
    )
    modules = out.stdout.decode().strip()
    for http_only in ('"app"', '"chalicelib.api.', '"chalicelib.web.'):
        assert http_only not in modules, http_only
    assert '"chalicelib.events"' in modules
