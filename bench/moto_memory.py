"""What grows in the local AWS (moto) under a steady replay, with and without the retention.

Starts the local stack (pump in its own process, the demo's warriors' phones polling), replays
the recorded posts with fresh ids at ``--rate`` for ``--seconds``, and reads the moto server's
``/_tvarit/memory`` at the start and the end. Prints one JSON line per run: the growth of each
container (count, approximate bytes) and of moto's RSS, and the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # app.py, local/


def _memory(aws_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{aws_url}/_tvarit/memory", timeout=120) as r:
        data: dict[str, Any] = json.loads(r.read())
        return data


def _flat(m: dict[str, Any]) -> dict[str, float]:
    out = {
        "rss_kb": m["rss_kb"],
        "stream_iterators": m["stream_iterators"]["count"],
        "stream_iterators_kb": m["stream_iterators"]["bytes"] / 1024,
        "sns_published": m["sns_published"]["count"],
        "sns_published_kb": m["sns_published"]["bytes"] / 1024,
        "sqs_messages": m["sqs"]["messages"],
        "sqs_deleted_handles": m["sqs"]["deleted_handles"],
        "sqs_deleted_handles_kb": m["sqs"]["deleted_handles_bytes"] / 1024,
    }
    for name, t in m["dynamodb"].items():
        short = name.removeprefix("tvarit-")
        out[f"{short}_items"] = t["items"]
        out[f"{short}_items_kb"] = t["items_bytes"] / 1024
        if t["stream_records"]:
            out[f"{short}_stream_records"] = t["stream_records"]
            out[f"{short}_stream_kb"] = t["stream_bytes"] / 1024
    return out


def run(retention: bool, seconds: float, rate: float) -> dict[str, Any]:
    from chalicelib import wiring
    from local.demo import load_demo_config, load_posts, seed
    from local.phone import keep_polling
    from local.replay import replay
    from local.stack import LocalStack

    stack = LocalStack(separate_pump=True, aws_retention=retention, log_level="ERROR").start()
    stop = threading.Event()
    try:
        demo = load_demo_config()
        seed(wiring.container().config_repo, demo, contacts=wiring.container().contact_sync)
        assert stack.phone is not None
        for team in demo.teams:
            for member in team.members:
                stack.phone.add_device(member, team)
        stack.phone.mirror_contacts()
        phones = threading.Thread(
            target=keep_polling, args=(stack.phone, stop, lambda _: None), daemon=True
        )
        phones.start()
        before = _flat(_memory(stack.aws_url))
        posts = load_posts()
        n = int(seconds * rate)
        batch = [
            {**p, "id": f"{p['id']}{i // len(posts):03d}", "url": f"{p.get('url', '')}?{i}"}
            for i, p in ((i, posts[i % len(posts)]) for i in range(n))
        ]
        began = time.monotonic()
        report = replay(batch, stack.api_url, stack.webhook_secret, rate=rate, progress=None)
        time.sleep(max(0.0, seconds - (time.monotonic() - began)))
        after = _flat(_memory(stack.aws_url))
        return {
            "retention": retention,
            "seconds": round(time.monotonic() - began, 1),
            "posts_accepted": report.accepted,
            "phone_deliveries": len(stack.phone.deliveries),
            "growth": {k: round(after.get(k, 0) - before.get(k, 0), 1) for k in after},
            "end": {k: round(v, 1) for k, v in after.items()},
            "dynamodb_requests": dict(
                list(_memory(stack.aws_url)["dynamodb_requests"].items())[:6]
            ),
        }
    finally:
        stop.set()
        stack.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=120.0)
    p.add_argument("--rate", type=float, default=5.0, help="posts per second")
    p.add_argument("--runs", default="off,on", help="retention off, on, or both")
    args = p.parse_args()
    os.environ["TVARIT_AWS_PROFILE"] = "1"  # the moto child attributes RSS growth to requests
    for run_name in args.runs.split(","):
        result = run(run_name == "on", args.seconds, args.rate)
        result["load"] = os.getloadavg()[0]
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
