"""X-Ray tracing is built lazily, and only where Lambda runs the function with tracing on."""

from __future__ import annotations

import subprocess
import sys

from chalicelib.settings import Settings


def test_tracing_is_read_from_lambdas_environment() -> None:
    assert Settings.from_env({}).tracing is False
    assert Settings.from_env({"AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000"}).tracing is True
    disabled = {"AWS_XRAY_DAEMON_ADDRESS": "x:1", "POWERTOOLS_TRACE_DISABLED": "true"}
    assert Settings.from_env(disabled).tracing is False


def test_no_tracer_and_no_xray_sdk_when_tracing_is_off() -> None:
    code = (
        "import sys, app\n"
        "from chalicelib import observability\n"
        "assert observability.tracer() is None\n"
        "assert not any(m.startswith('aws_xray_sdk') for m in sys.modules), 'x-ray imported'\n"
    )
    env = {"PATH": "", "AWS_DEFAULT_REGION": "ap-south-1"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_the_tracer_is_built_once_and_wraps_the_handler() -> None:
    # In a child process: the tracer patches botocore for the whole process.
    code = """
from types import SimpleNamespace
import app
from chalicelib import observability
first = observability.tracer()
assert first is not None and observability.tracer() is first
event = SimpleNamespace(context=SimpleNamespace(function_name="tvarit-analyze"))
assert observability.observe(event, lambda e: ("done", e)) == ("done", event)
"""
    env = {
        "PATH": "",
        "AWS_DEFAULT_REGION": "ap-south-1",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
    }
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
