"""``make run``: the whole service locally, showing it work on real recorded posts.

Starts the moto server, the API and the event pump, seeds the demo configuration, subscribes the
demo warriors' phones, replays the recorded posts through the signed webhook, replays them again
to show that duplicates make no new task, then keeps running until Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections import Counter
from typing import Any

STARTED = time.monotonic()


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m local", description=__doc__.splitlines()[0])
    p.add_argument("--api-port", type=int, default=int(os.environ.get("TVARIT_API_PORT", "8000")))
    p.add_argument("--aws-port", type=int, default=int(os.environ.get("TVARIT_AWS_PORT", "0")))
    p.add_argument("--rate", type=float, default=float(os.environ.get("TVARIT_REPLAY_RATE", "25")))
    p.add_argument("--limit", type=int, default=int(os.environ.get("TVARIT_REPLAY_LIMIT", "0")))
    p.add_argument(
        "--api-workers",
        type=_workers,
        default=os.environ.get("TVARIT_API_WORKERS", "1"),  # argparse applies type= to it
        help="API processes behind a round-robin front on --api-port, like concurrent Lambda "
        "containers (1: a thread of this process)",
    )
    p.add_argument(
        "--pump-workers",
        type=_workers,
        default=os.environ.get("TVARIT_PUMP_WORKERS", "1"),
        help="event pump processes sharing the queues and the stream's shards (at least one, "
        "apart from the API's process)",
    )
    p.add_argument("--quiet-phones", action="store_true", help="do not print each delivery")
    p.add_argument("--exit", action="store_true", help="stop after the demo instead of serving")
    p.add_argument(
        "--no-poll",
        dest="poll",
        action="store_false",
        default=os.environ.get("TVARIT_POLL", "1") not in ("", "0"),
        help="skip polling the fake platform APIs (X, YouTube, RSS, Bluesky, Mastodon) first",
    )
    return p.parse_args(argv)


def _workers(value: str) -> int:
    """A worker count: 1..16 (the machine's cores are the real limit)."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 1 <= n <= 16:
        raise argparse.ArgumentTypeError(f"{n} is not between 1 and 16")
    return n


def _wait_until_quiet(stack: Any, quiet_seconds: float = 2.0, limit: float = 180.0) -> None:
    """Wait until the mentions queue is empty and nothing new reached a phone for a while."""
    deadline = time.monotonic() + limit
    last = (-1, -1)
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        state = (len(stack.phone.deliveries), stack.task_count())
        if state != last or stack.queue_depth(stack.resources.mentions_queue_url) > 0:
            last, quiet_since = state, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_seconds:
            return
        time.sleep(0.25)


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    from chalicelib import wiring
    from local.demo import load_demo_config, load_posts, seed
    from local.phone import Delivery, format_delivery, keep_polling
    from local.replay import replay
    from local.stack import LocalStack

    port_in_use = _port_busy(args.api_port)
    stack = LocalStack(
        aws_port=args.aws_port,
        api_port=0 if port_in_use else args.api_port,
        api_workers=args.api_workers,
        pump_workers=args.pump_workers,
        separate_pump=True,  # API and pump are different functions: the API never waits on it
    )
    stop = threading.Event()
    running: list[Any] = []  # the polling demo, once started
    _stop_on_signals(stack, stop, running)
    stack.start()
    assert stack.phone is not None and stack.resources is not None
    first_task: list[float] = []

    def show(d: Delivery) -> None:
        if not first_task:
            first_task.append(time.monotonic() - STARTED)
        if not args.quiet_phones:
            print(format_delivery(d), flush=True)

    stack.phone.on_delivery = show
    r = stack.resources
    print("Tvarit local stack is up")
    print(f"  AWS (moto server)   {stack.aws_url}")
    print(f"  API (chalice local) {stack.api_url}   try: curl {stack.api_url}/health")
    if args.api_workers > 1:
        print(f"  API workers         {' '.join(stack.api_urls)} (round robin behind the above)")
    print(f"  pump workers        {args.pump_workers} process(es), apart from the API")
    print(f"  mentions queue      {r.mentions_queue_url}")
    print(f"  dead-letter queue   {r.mentions_dlq_url}")
    print(f"  tasks stream        {r.tasks_stream_arn}")
    print(f"  state topics        {len(r.topic_arns)} (one per state/UT)")
    print(f"  webhook secret      {stack.webhook_secret}")
    settings = wiring.container().settings
    print(
        f"  task pages          {settings.public_base_url}/t/<task id>; a notice to several "
        f"teams links {settings.public_base_url}/i/<incident>, which opens the reader's own task"
    )
    print(
        f"  channels            {', '.join(sorted(settings.enabled_channels))} "
        "(SMS/e-mail: moto keeps the subscriptions, the phone sink shows what they would get)"
    )
    print(f"  dev token issuer    export TVARIT_DEV_SIGNING_KEY={stack.signing_key_path}")
    print("                      then: tvarit token --role state_head --state RJ")
    if port_in_use:
        print(f"  (port {args.api_port} was busy; the API took a free port)")

    demo = load_demo_config()
    seed(wiring.container().config_repo, demo, contacts=wiring.container().contact_sync)
    for team in demo.teams:
        for member in team.members:
            stack.phone.add_device(member, team)
    contacts = stack.phone.mirror_contacts()
    print(
        f"Seeded {len(demo.leaders)} leaders, {len(demo.queries)} keyword queries, "
        f"{len(demo.teams)} teams, {len(stack.phone.devices)} warrior phones, "
        f"{len(contacts)} SMS/e-mail subscriptions"
    )

    telegram_chats = []
    if stack.fake_telegram is not None:
        from local.telegram_stack import link_demo_chat

        for n, team in enumerate(demo.teams):
            telegram_chats.append(
                link_demo_chat(
                    stack.api_url,
                    stack.issuer,
                    stack.fake_telegram,
                    team,
                    group_id=f"-10010000000{n:02d}",
                    warrior_user_id=5550100 + n,
                )
            )
        print(
            f"  telegram bot        fake Bot API {stack.fake_telegram.url}; each demo team's "
            "group linked by its lead, one member's account each (through the API and /start)"
        )

    # Survives AWS being away (says so once, resumes); mirrors SMS/e-mail members added
    # through the API every 2 s.
    threading.Thread(
        target=keep_polling,
        args=(stack.phone, stop, lambda line: print(line, flush=True)),
        name="phones",
        daemon=True,
    ).start()
    polling = _start_polling(stack, demo, load_posts()) if args.poll else None
    running.extend([polling] if polling is not None else [])
    posts = load_posts()[: args.limit or None]
    print(f"Replaying {len(posts)} recorded posts at {args.rate:g}/s through POST /ingest/webhook")
    began = time.monotonic()
    report = replay(posts, stack.api_url, stack.webhook_secret, rate=args.rate)
    if report.stop is not None:
        print(f"Replay stopped after {report.sent} posts: {report.stop.detail}")
    sent_in = time.monotonic() - began
    _wait_until_quiet(stack)
    drained_in = time.monotonic() - began

    def task_deliveries() -> list[Delivery]:
        assert stack.phone is not None
        return [d for d in stack.phone.deliveries if d.kind != "escalation" and d.channel == "push"]

    deliveries = len(task_deliveries())
    tasks = {d.task_id for d in task_deliveries()}
    stored_tasks = stack.task_count()
    by_state = Counter(d.state for d in task_deliveries())
    print(
        f"\nReplay: {report.accepted} accepted, {report.rejected} rejected → {stored_tasks} tasks "
        f"({len(tasks)} seen on phones), {deliveries} phone deliveries by state {dict(by_state)}"
    )
    texts = Counter(d.channel for d in stack.phone.deliveries if d.channel != "push")
    print(f"SMS and e-mail that would have gone out: {dict(texts)} (leads only, by default)")
    print(f"Sent in {sent_in:.1f} s; pipeline idle {drained_in:.1f} s after the first post")
    if first_task:
        print(f"Time from start to the first task on a phone: {first_task[0]:.1f} s")
    _print_first_page(stack, task_deliveries())
    if telegram_chats:
        from local.telegram_stack import show_demo

        for line in show_demo(stack.fake_telegram, telegram_chats):
            print(line)

    print("Replaying the same posts again: duplicates must create no new task…")
    again = replay(posts, stack.api_url, stack.webhook_secret, rate=0, progress=None)
    _wait_until_quiet(stack)
    new_tasks = stack.task_count() - stored_tasks
    print(
        f"Second replay: {again.accepted} accepted → {new_tasks} new tasks, "
        f"{len(task_deliveries()) - deliveries} new task deliveries"
    )
    escalations = [
        d for d in stack.phone.deliveries if d.kind == "escalation" and d.channel == "push"
    ]
    print(
        f"Escalations so far (nobody acknowledges in the demo): {len(escalations)}, "
        f"to {sorted({d.member_name for d in escalations})} (team leads only)"
    )
    if stack.pump is not None and stack.pump.stats.errors:
        print(f"Pump errors: {stack.pump.stats.errors[:3]}")

    if args.exit:
        stop.set()
        if polling is not None:
            polling.stop()
        stack.stop()
        return 0
    print(
        f"\nServing. Send your own: tvarit replay --url {stack.api_url} --secret "
        f"{stack.webhook_secret} --limit 5. Ctrl-C stops everything."
    )
    try:
        while not stop.is_set():
            stop.wait(1)
    except KeyboardInterrupt:
        pass
    stop.set()
    print("\nStopping…")
    if polling is not None:
        polling.stop()
    stack.stop()
    return 0


# Seconds each child (moto, workers) gets to exit on Ctrl-C before it is killed: the whole
# stack is down within about 2 s (tests/e2e/test_shutdown.py).
INTERRUPT_GRACE = 0.5


def _stop_on_signals(stack: Any, stop: threading.Event, running: list[Any]) -> None:
    """Ctrl-C or SIGTERM, in any phase (start, demo, serving): stop everything now and exit.

    The pump abandons an invocation in flight (its messages come back, as after a Lambda
    timeout) rather than finishing it; a second Ctrl-C exits at once.
    """

    from local.children import quick_exit

    def interrupted(signum: int, _frame: object) -> None:
        if stop.is_set():
            os._exit(128 + signum)
        stop.set()
        print("\nStopping…", flush=True)
        for part in running:
            part.stop()
        stack.stop(grace=INTERRUPT_GRACE)
        quick_exit(128 + signum)  # the interpreter's teardown of the app's imports: ~1 s

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)


def _start_polling(stack: Any, demo: Any, posts: list[dict[str, Any]]) -> Any:
    """Poll the fake platform APIs until the pipeline is quiet, then keep the schedule running."""
    from chalicelib.adapters.dynamo.models import MentionModel
    from local.polling_demo import start_polling, summary

    before = stack.task_count()
    polling = start_polling(stack, demo.leaders, posts, every_seconds=5.0, x_plan="enterprise")
    from local.fake_platforms import stream_from_timelines

    # The demo's newest X posts are on the filtered stream too: one post, two paths, one
    # mention.
    stream_from_timelines(polling.fake.data, time.time())
    print(f"Polling the fake platform APIs at {polling.fake.url} every 5 s (schedule)")
    time.sleep(2.0)  # the first schedule tick and its polls
    _wait_until_quiet(stack)
    keys = [m.key for m in MentionModel.scan(attributes_to_get=["key"])]
    print(
        f"Polled mentions stored by platform {summary(keys)} → "
        f"{stack.task_count() - before} tasks from polling. The webhook replay below repeats "
        "these X posts (duplicates: no new task) and adds the older ones the first poll skipped"
    )
    _print_sources(polling)
    return polling


def _print_sources(polling: Any) -> None:
    """Where the streaming and uploads-playlist paths run, and what they did so far."""
    from chalicelib.domain.platforms import stream_keys
    from chalicelib.wiring import container

    fake = polling.fake
    for conn in fake.jetstream_connections[:1]:
        print(
            f"  Jetstream           {fake.url.replace('http', 'ws', 1)}/subscribe "
            f"(wantedDids={','.join(conn['dids'])}), "
            f"{len(polling.streams)} stream consumer(s) every 5 s"
        )
    for conn in fake.x_stream_connections[:1]:
        rules = "; ".join(r["value"] for r in fake.x_rules)
        print(
            f"  X filtered stream   {fake.url}/2/tweets/search/stream (rules: {rules}), "
            f"backfill_minutes={conn['backfill_minutes']}, {len(fake.x_stream_connections)} "
            "connection(s)"
        )
    for key in stream_keys():
        state = container().cursor_store.get(key)
        if state is not None:
            position = ", ".join(f"{k}={v}" for k, v in state.cursor.items() if k != "seen")
            print(f"    cursor {key} in DynamoDB: {position or '-'}")
    calls = fake.paths("/youtube/v3/playlistItems")
    if calls:
        print(
            f"  YouTube uploads     {fake.url}/youtube/v3/playlistItems "
            f"(playlistItems.list, 1 unit): {len(calls)} call(s)"
        )


def _print_first_page(stack: Any, deliveries: list[Any]) -> None:
    """The first task's page, and how to sign in to it locally (the dev login)."""
    from chalicelib.domain.links import task_page_url
    from chalicelib.wiring import container

    if not deliveries:
        return
    first = deliveries[0]
    url = task_page_url(container().settings.public_base_url, first.task_id)
    print(f"Task page of the first task: {url}")
    print(
        f"  Sign in on the dev login page as a member of team {first.team_id} (e.g. "
        f"{first.member_name}); a member of another team gets 404. Inbox: {stack.api_url}/t"
    )


def _port_busy(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


if __name__ == "__main__":
    sys.exit(main())
