"""API latency while the pump is busy, pump as a thread of the API's process vs its own process.

Starts the local stack twice (``--layouts``), seeds the demo, measures ``GET /health`` and
``GET /me/tasks`` idle (the baseline of the same run), then while a replay of the recorded
posts (fresh ids each round) keeps the pump busy. In the threaded layout it also times the
shared invocation lock: how long API requests waited for it, and how long each holder held it.
Prints one JSON line: per layout, p50/p95/max in ms, and the busy/idle p95 ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # app.py, local/


class TimedLock:
    """A lock that records, per holder thread, how long each acquisition waited and held."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.waits: dict[str, list[float]] = defaultdict(list)
        self.holds: dict[str, list[float]] = defaultdict(list)
        self._since = 0.0

    def __enter__(self) -> TimedLock:
        asked = time.perf_counter()
        self._lock.acquire()
        self._since = time.perf_counter()
        self.waits[_role()].append(self._since - asked)
        return self

    def __exit__(self, *exc: object) -> None:
        self.holds[_role()].append(time.perf_counter() - self._since)
        self._lock.release()

    def acquire(self, *args: Any, **kwargs: Any) -> bool:
        return self._lock.acquire(*args, **kwargs)

    def release(self) -> None:
        self._lock.release()


def _role() -> str:
    name = threading.current_thread().name
    return name.split(":")[0] if ":" in name else ("schedules" if name == "schedules" else "api")


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(_pct(values, 0.5) * 1e3, 1),
        "p95": round(_pct(values, 0.95) * 1e3, 1),
        "max": round(max(values, default=0.0) * 1e3, 1),
    }


def _get(url: str, token: str | None) -> float:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    began = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return time.perf_counter() - began


def _sample(stack: Any, token: str, until: threading.Event, out: dict[str, list[float]]) -> None:
    while not until.is_set():
        out["health"].append(_get(f"{stack.api_url}/health", None))
        out["me_tasks"].append(_get(f"{stack.api_url}/me/tasks", token))
        until.wait(0.1)


def run(layout: str, rounds: int, rate: float) -> dict[str, Any]:
    from chalicelib import wiring
    from local.demo import load_demo_config, load_posts, seed
    from local.replay import replay
    from local.stack import LocalStack

    stack = LocalStack(separate_pump=layout == "processes", log_level="ERROR")
    timed = TimedLock()
    if layout == "threads":
        stack._invoke_lock = timed  # type: ignore[assignment]
    stack.start()
    try:
        demo = load_demo_config()
        seed(wiring.container().config_repo, demo, contacts=wiring.container().contact_sync)
        team = demo.teams[0]
        member = team.members[0]
        claims = {"sub": member.id, "custom:role": "warrior", "custom:team": team.id}
        token = stack.issuer.mint(claims, datetime.now(UTC))
        idle: dict[str, list[float]] = {"health": [], "me_tasks": []}
        stop = threading.Event()
        sampler = threading.Thread(target=_sample, args=(stack, token, stop, idle))
        sampler.start()
        time.sleep(3.0)
        stop.set()
        sampler.join()
        timed.waits.clear()
        timed.holds.clear()

        posts = load_posts()
        batch = [
            {**p, "id": f"{p['id']}{r:02d}", "url": f"{p.get('url', '')}?r={r}"}
            for r in range(rounds)
            for p in posts
        ]
        busy: dict[str, list[float]] = {"health": [], "me_tasks": []}
        stop = threading.Event()
        sampler = threading.Thread(target=_sample, args=(stack, token, stop, busy))
        sampler.start()
        began = time.monotonic()
        report = replay(batch, stack.api_url, stack.webhook_secret, rate=rate, progress=None)
        queue = stack.resources.mentions_queue_url if stack.resources else ""
        while stack.queue_depth(queue) > 0 and time.monotonic() - began < 600:
            time.sleep(0.5)
        busy_seconds = time.monotonic() - began
        stop.set()
        sampler.join()
        result: dict[str, Any] = {
            "posts": len(batch),
            "accepted": report.accepted,
            "busy_seconds": round(busy_seconds, 1),
            "idle": {k: _ms(v) for k, v in idle.items()},
            "busy": {k: _ms(v) for k, v in busy.items()},
            "p95_ratio_busy_over_idle": {
                k: round(_pct(busy[k], 0.95) / max(_pct(idle[k], 0.95), 1e-9), 1) for k in busy
            },
        }
        if layout == "threads":
            result["lock_wait"] = {k: _ms(v) for k, v in timed.waits.items()}
            result["lock_hold"] = {k: _ms(v) for k, v in timed.holds.items()}
        return result
    finally:
        stack.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layouts", default="threads,processes")
    p.add_argument("--rounds", type=int, default=1, help="replays of the recorded posts")
    p.add_argument("--rate", type=float, default=50.0, help="posts per second")
    args = p.parse_args()
    out: dict[str, Any] = {"bench": "api_while_busy", "load_before": os.getloadavg()[0]}
    for layout in args.layouts.split(","):
        out[layout] = run(layout, args.rounds, args.rate)
    out["load_after"] = os.getloadavg()[0]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
