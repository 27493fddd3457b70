"""Post → phone latency on the local stack, per stage, at a steady rate (issue 17).

Replays the recorded real posts (local/demo/posts.jsonl) through the signed webhook of a fresh
local stack (moto server, API, event pump, the demo's warrior phones) at ``--rate`` posts a
second, and joins the stage marks the app emits (``chalicelib/stages.py``) by mention key and
task id:

    received (webhook) → queued (SQS send returned) → analyzed → stored → task_written
    → published (SNS) → delivered (the phone sink took it off the device's queue)

It prints p50/p95/p99 of each step and of the whole way (webhook received → first phone
delivery of a task the post created), the stage that takes the largest share of the p95, and
the AWS calls the app made per mention (botocore ``before-send`` events, as the
``AwsCallsPerMention`` metric counts them), split by the path the mention took. The baseline
in the same run is the pipeline's bare wire: ``round_trip_ms`` is one GetItem against the
same moto server, so a slow machine shows as a slow round trip too. Ends with one JSON line.

    python bench/latency.py [--rate 5] [--posts 150]

The platform's ``created_at`` is marked too, but recorded posts are days old: that stage is
not reported here (on AWS it is the source kind's latency, docs/response.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_P95_MS = 1000.0
# The way to a phone, in order; the mention's own write ("stored") is its last step and off
# that way (analyze stores it once its tasks are written: the mark that it is done).
STEPS = (
    ("received", "queued"),
    ("queued", "analyzed"),
    ("analyzed", "task_written"),
    ("task_written", "published"),
    ("published", "delivered"),
)
SIDE_STEPS = (("task_written", "stored"), ("analyzed", "stored"))


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summarize(values: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(percentile(values, 50), 1),
        "p95": round(percentile(values, 95), 1),
        "p99": round(percentile(values, 99), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=5.0, help="posts a second (steady)")
    parser.add_argument("--posts", type=int, default=150, help="how many recorded posts")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds to wait at the end")
    parser.add_argument(
        "--analyze-containers",
        type=int,
        default=1,
        help="concurrent analyze containers on the mentions queue (Lambda scales its SQS "
        "pollers out; a backlog waits for one container here otherwise)",
    )
    parser.add_argument(
        "--one-container",
        action="store_true",
        help="API, analyze and dispatch share one container (make run's stack), not one each",
    )
    args = parser.parse_args()
    if args.rate <= 0 or args.posts <= 0 or args.analyze_containers < 1:
        parser.error("--rate, --posts and --analyze-containers must be positive")

    os.environ.setdefault("TVARIT_LOG_LEVEL", "ERROR")
    from chalicelib import stages, wiring
    from local.demo import load_demo_config, load_posts, seed
    from local.phone import Delivery
    from local.replay import replay
    from local.stack import LocalStack

    marks: dict[str, dict[str, float]] = defaultdict(dict)  # mention key → stage → first time
    task_mention: dict[str, str] = {}  # task id → the mention that created it
    published: dict[str, float] = {}
    delivered: dict[str, float] = {}  # task id → first delivery
    lock = threading.Lock()

    def on_mark(m: stages.StageMark) -> None:
        with lock:
            if m.task_id:
                task_mention.setdefault(m.task_id, m.mention_key)
                if m.stage == "published":
                    published.setdefault(m.task_id, m.at)
            marks[m.mention_key].setdefault(m.stage, m.at)

    def on_delivery(d: Delivery) -> None:
        if d.kind == "task" and d.channel == "push":
            with lock:
                delivered.setdefault(d.task_id, time.time())

    # Each function in its own container, as on Lambda (one for all would queue the webhook
    # behind analyze batches and dispatch behind both).
    stack = LocalStack(
        run_pump=False, escalate_every=3600.0, function_containers=not args.one_container
    ).start()
    stop = threading.Event()
    unlisten = stages.listen(on_mark)
    try:
        demo = load_demo_config()
        # Every new task pages at once: the bench measures a page's way, not the teams' paging
        # limits (their digests are docs/response.md's topic).
        demo = dataclasses.replace(
            demo,
            teams=tuple(
                dataclasses.replace(t, burst=10_000, rate_per_hour=100_000.0, quiet_hours="")
                for t in demo.teams
            ),
        )
        c = wiring.container()
        seed(c.config_repo, demo, contacts=c.contact_sync)
        assert stack.phone is not None and stack.pump is not None
        for team in demo.teams:
            for member in team.members:
                stack.phone.add_device(member, team)
        stack.phone.on_delivery = on_delivery
        stack.phone.listen(stop)
        paths, calls_by_path = _count_analyze_calls(c)
        if not args.one_container:
            analyze = stack.pump.sqs[0]
            for i in range(2, args.analyze_containers + 1):
                stack.pump.sqs.append(
                    dataclasses.replace(analyze, name=f"{analyze.name}-{i}", lock=threading.Lock())
                )
        stack.pump.start()

        round_trip_ms = _round_trip_ms(stack)
        posts = load_posts()[: args.posts]
        calls_before = stages.aws_calls.snapshot()
        began = time.monotonic()
        report = replay(posts, stack.api_url, stack.webhook_secret, rate=args.rate, progress=None)
        sent_s = time.monotonic() - began
        _settle(stack, args.settle)
        calls = stages.aws_calls.snapshot() - calls_before
    finally:
        stop.set()
        unlisten()
        stack.stop()

    with lock:
        for task_id, at in delivered.items():
            key = task_mention.get(task_id)
            if key is not None:
                marks[key].setdefault("delivered", at)
                marks[key]["delivered"] = min(marks[key]["delivered"], at)
    steps: dict[str, list[float]] = {f"{a}->{b}": [] for a, b in (*STEPS, *SIDE_STEPS)}
    end_to_end: list[float] = []
    for stage_at in marks.values():
        for a, b in (*STEPS, *SIDE_STEPS):
            if a in stage_at and b in stage_at:
                steps[f"{a}->{b}"].append((stage_at[b] - stage_at[a]) * 1e3)
        if "received" in stage_at and "delivered" in stage_at:
            end_to_end.append((stage_at["delivered"] - stage_at["received"]) * 1e3)
    summary = {name: summarize(v) for name, v in steps.items()}
    e2e = summarize(end_to_end)
    on_way = [f"{a}->{b}" for a, b in STEPS]
    dominant = max(on_way, key=lambda s: summary[s]["p95"]) if end_to_end else ""

    analyzed = sum(paths.values())
    analyze_calls = sum(sum(v) for v in calls_by_path.values())
    print(
        f"bench-latency: {report.accepted} of {len(posts)} posts at {args.rate:g}/s "
        f"(sent in {sent_s:.1f} s), {analyzed} mentions analyzed, "
        f"{len(delivered)} tasks on phones; one moto GetItem {round_trip_ms:.1f} ms"
    )
    print(f"{'step (ms)':28}{'n':>6}{'p50':>9}{'p95':>9}{'p99':>9}")
    for name, s in [*summary.items(), ("received->delivered (e2e)", e2e)]:
        print(f"{name:28}{s['n']:>6}{s['p50']:>9.1f}{s['p95']:>9.1f}{s['p99']:>9.1f}")
    print(f"largest p95 step: {dominant}")
    print("AWS calls by the analyze stage per mention, by path (mean, max):")
    per_path = {}
    for path, values in sorted(calls_by_path.items()):
        per_path[path] = {
            "mentions": len(values),
            "mean": round(statistics.fmean(values), 2),
            "median": statistics.median(values),
            "max": max(values),
        }
        print(
            f"  {path:22}{len(values):>5} mentions {per_path[path]['mean']:6.2f} "
            f"median {per_path[path]['median']:g} max {per_path[path]['max']}"
        )
    print("AWS calls of the whole run by operation (API, analyze, dispatch):")
    for op, n in calls.most_common():
        print(f"  {op:40}{n:>6}")
    ok = e2e["n"] > 0 and e2e["p95"] <= TARGET_P95_MS
    common = max(per_path, key=lambda p: per_path[p]["mentions"]) if per_path else ""
    print(
        json.dumps(
            {
                "bench": "latency",
                "rate_per_s": args.rate,
                "containers": "one" if args.one_container else "per function",
                "analyze_containers": 1 if args.one_container else args.analyze_containers,
                "posts": len(posts),
                "accepted": report.accepted,
                "mentions_analyzed": analyzed,
                "tasks_delivered": len(delivered),
                "e2e_ms": e2e,
                "steps_ms": summary,
                "dominant_step": dominant,
                "round_trip_ms": round(round_trip_ms, 2),
                "e2e_p95_in_round_trips": round(e2e["p95"] / round_trip_ms, 1)
                if round_trip_ms
                else None,
                "aws_calls_per_mention": round(analyze_calls / analyzed, 2) if analyzed else None,
                "aws_calls_by_path": per_path,
                "common_path": common,
                "aws_calls_by_operation": dict(calls.most_common()),
                "target_e2e_p95_ms": TARGET_P95_MS,
                "target_met": ok,
                "load": os.getloadavg()[0],
            }
        )
    )
    return 0


def _count_analyze_calls(container: Any) -> tuple[Counter[str], dict[str, list[int]]]:
    """Wrap the analyzer to count each mention's AWS calls and the path it took."""
    from chalicelib import stages

    analyzer = container.analyzer
    handle = analyzer.handle
    paths: Counter[str] = Counter()
    calls: dict[str, list[int]] = defaultdict(list)

    def counted(message: Any, correlation_id: str = "") -> Any:
        before = stages.aws_calls.in_this_thread
        outcome = handle(message, correlation_id=correlation_id)
        n = stages.aws_calls.in_this_thread - before
        if outcome.duplicate:
            path = "duplicate"
        elif outcome.new_task_ids:
            path = "matched, new task"
        elif outcome.task_ids:
            path = "matched, task exists"
        elif outcome.incident_key:
            path = "matched, no team"
        else:
            path = "not matched"
        paths[path] += 1
        calls[path].append(n)
        return outcome

    analyzer.handle = counted  # the bench's own probe; the app is otherwise untouched
    return paths, calls


def _round_trip_ms(stack: Any, n: int = 50) -> float:
    """Median of ``n`` GetItem calls against the stack's moto server: the unit of the run."""
    from chalicelib import wiring

    table = wiring.container().settings.mentions_table
    ddb = stack.clients["dynamodb"]
    times = []
    for _ in range(n):
        t = time.perf_counter()
        ddb.get_item(TableName=table, Key={"key": {"S": "bench#none"}})
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def _settle(stack: Any, limit: float) -> None:
    """Wait until the mentions queue is empty and nothing new reached a phone for 2 s."""
    assert stack.resources is not None and stack.phone is not None
    deadline = time.monotonic() + limit
    last = (-1, time.monotonic())
    while time.monotonic() < deadline:
        depth = stack.queue_depth(stack.resources.mentions_queue_url)
        seen = len(stack.phone.deliveries)
        if depth or seen != last[0]:
            last = (seen, time.monotonic())
        elif time.monotonic() - last[1] > 2.0:
            return
        time.sleep(0.2)


if __name__ == "__main__":
    raise SystemExit(main())
