"""Ctrl-C stops ``python -m local`` and all its children, even mid-replay with the pump busy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Design bound: the pump abandons what is in flight (1 s at most), each child gets 0.5 s to
# exit before SIGTERM and again before SIGKILL. The wait below only guards against a hang: the
# stack used to ignore Ctrl-C for 15 s (one 5 s join per pump thread) and leave its children.
HANG = 10.0


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_ctrl_c_mid_replay_stops_the_stack_and_its_children() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local",
            "--api-port=0",
            "--no-poll",
            "--quiet-phones",
            "--rate=4",  # slow: the replay is still running when Ctrl-C comes
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr: list[str] = []
    threading.Thread(target=lambda: stderr.extend(proc.stderr or []), daemon=True).start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("Replaying"):
                break
        else:
            raise AssertionError(f"the stack never started replaying: {''.join(stderr)[-2000:]}")
        time.sleep(3.0)  # posts flowing, the pump invoking analyze and dispatch
        children = _children(proc.pid)
        assert len(children) >= 2, "expected the local AWS and a pump worker as children"
        began = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=HANG)
        took = time.monotonic() - began
        # Reaped by the parent before it exited: not merely dying of a closed pipe later.
        left = [pid for pid in children if _alive(pid)]
        rest = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    print(f"stopped in {took:.2f} s (load {os.getloadavg()[0]:.1f})")
    assert code == 128 + signal.SIGINT
    assert left == []
    assert "Stopping" in rest
    assert "Traceback" not in "".join(stderr)
