"""Children of the local stack never outlive it, however the parent ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from local.children import Child

# A parent that starts the local AWS as its child, prints the child's pid, then waits forever.
PARENT = """
import sys, time
from local.children import Child
aws = Child("aws", ["-m", "local.aws"]).start()
print(aws.pid, flush=True)
time.sleep(600)
"""


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_a_child_exits_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        os.kill(parent.pid, signal.SIGKILL)  # no cleanup code runs in the parent
        parent.wait(timeout=10)
        assert _gone(child, within=10), f"local.aws (pid {child}) outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_stop_ends_a_child_that_ignores_its_pipe() -> None:
    # A child that never reads stdin and ignores SIGTERM: stop() escalates to SIGKILL.
    stubborn = Child(
        "stubborn",
        [
            "-c",
            "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready x', flush=True); time.sleep(600)",
        ],
    ).start()
    began = time.monotonic()
    stubborn.stop(grace=0.5)
    assert not stubborn.alive() and time.monotonic() - began < 5


def test_worker_counts_are_checked_before_anything_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from local.__main__ import _parse

    assert (_parse([]).api_workers, _parse([]).pump_workers) == (1, 1)  # make run as before
    args = _parse(["--api-workers", "3", "--pump-workers", "2"])
    assert (args.api_workers, args.pump_workers) == (3, 2)
    for bad, why in (("0", "0 is not between 1 and 16"), ("two", "'two' is not a whole number")):
        with pytest.raises(SystemExit) as exited:
            _parse(["--api-workers", bad])
        assert exited.value.code == 2
        assert f"--api-workers: {why}" in capsys.readouterr().err
