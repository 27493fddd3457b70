"""Child processes of the local stack (the AWS stand-in, API and pump workers), never orphaned.

A child is started with a pipe on its stdin and says ``ready <address>`` as its first line on
stdout. It exits when told to (SIGTERM, SIGINT) and also when the pipe closes: the parent
closes it in :meth:`Child.stop`, and the kernel closes it when the parent dies in any way
(even SIGKILL), so an interrupted test run leaves no moto server or worker behind.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

READY = "ready"
GRACE_SECONDS = 5.0  # after asking a child to stop, before killing it


@dataclass
class Child:
    """One child process: started, waited for until ready, stopped (and reaped) once."""

    name: str
    argv: Sequence[str]
    address: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 60.0) -> Child:
        self.process = subprocess.Popen(
            [sys.executable, *self.argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C goes to the parent, which stops the children
        )
        try:
            self.address = self._ready_line(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _ready_line(self, timeout: float) -> str:
        assert self.process is not None and self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        buffer = b""
        while b"\n" not in buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"{self.name} was not ready within {timeout:g} s")
            readable, _, _ = select.select([fd], [], [], min(left, 0.5))
            if readable:
                chunk = os.read(fd, 4096)
                if not chunk:
                    code = self.process.wait()
                    raise RuntimeError(f"{self.name} exited with {code} before it was ready")
                buffer += chunk
        word, _, address = buffer.split(b"\n", 1)[0].decode().partition(" ")
        if word != READY:
            raise RuntimeError(f"{self.name} said {word!r} instead of {READY!r}")
        return address.strip()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = GRACE_SECONDS) -> None:
        """Close its stdin (it shuts down), then SIGTERM, then SIGKILL; always reaped."""
        p = self.process
        if p is None:
            return
        for pipe in (p.stdin, p.stdout):
            if pipe is not None:
                pipe.close()
        for escalate in (None, p.terminate, p.kill):
            if escalate is not None:
                escalate()
            try:
                p.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                continue


def stop_all(children: Sequence[Child], grace: float = GRACE_SECONDS) -> None:
    """Stop children in parallel: each may take a moment to finish its invocation."""
    threads = [
        threading.Thread(target=c.stop, args=(grace,), name=f"stop:{c.name}") for c in children
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def say_ready(address: str) -> None:
    """The child's first and only line on stdout; later output (logs) goes to stderr.

    Nobody reads the pipe after this line: a child logging to it would block once it filled.
    """
    sys.stdout.write(f"{READY} {address}\n")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())


def exit_with_parent(shutdown: Callable[[], None]) -> None:
    """Call ``shutdown`` when stdin closes or a stop signal comes; then exit, cleanly or not.

    ``shutdown`` must make the child's main loop return. Should it hang, the process exits
    anyway after :data:`GRACE_SECONDS`.
    """
    once = threading.Event()

    def stop(*_: object) -> None:
        if once.is_set():
            return
        once.set()
        threading.Thread(target=_hard_exit_later, daemon=True).start()
        threading.Thread(target=shutdown, name="shutdown", daemon=True).start()

    def watch_stdin() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=watch_stdin, name="parent-watch", daemon=True).start()


def _hard_exit_later() -> None:
    time.sleep(GRACE_SECONDS)
    os._exit(1)


def quick_exit(code: int) -> None:
    """Exit a child without the interpreter's teardown (a large import graph takes ~1 s)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
