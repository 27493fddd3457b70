"""``make soak`` (``python -m local.soak``): a bounded soak with chaos on the local stack.

Several API and pump worker processes share one moto server. Recorded posts (local/demo) go
through the signed webhook at a steady rate, each with a fresh id, for a set time, while faults
are injected on a schedule:

- moto frozen (SIGSTOP) and resumed (SIGCONT);
- DynamoDB and SNS throttling errors at the workers' AWS boundary (``local.faults``);
- an API worker and a pump worker killed with SIGKILL and restarted;
- a poison message on the mentions queue (it must reach the dead-letter queue);
- a duplicate burst: posts already routed, sent many times (no second task).

Warriors acknowledge some tasks through the API, as members of the task's team, at random
moments around their escalation wait. A probe times ``GET /health`` and ``GET /me/tasks``
throughout; a wiretap queue subscribed to every state topic sees each publish. At the end the
run reconciles (see :func:`reconcile`) and prints one JSON line; a failed check exits 1 with
``tvarit soak: <what>``. Latency is measured and printed, never judged.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import random
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chalicelib.domain.platforms import NAMES as PLATFORM_NAMES
from local import faults
from local.children import Child

# The stated bound on each process's resident memory (MB) over a default run.
RSS_BOUND_MB = 1024
REQUEST_TIMEOUT = 15.0
SENDERS = 4
SEND_ATTEMPTS = 6  # a webhook sender retries a 5xx or no answer, as platforms do
MAX_RETRY_AFTER = 5.0
DUPLICATE_COPIES = 5
DUPLICATE_POSTS = 10
ACK_SHARE = 0.5  # of the tasks seen on phones in states whose chain escalates
ACK_WITHIN_SECONDS = 30.0  # around the demo chains' waits (20 s and 40 s)
ESCALATING_STATES = ("DL", "UP")


class SoakFailure(Exception):
    """A reconciliation check failed: the message says which and how."""


@dataclass(frozen=True)
class SoakPlan:
    seconds: float = 600.0
    rate: float = 1.0  # posts a second: what the shared 2-core machine keeps up with, faults on
    api_workers: int = 2
    pump_workers: int = 2
    rss_bound_mb: int = RSS_BOUND_MB
    drain_seconds: float = 1200.0
    stall_seconds: float = 120.0  # the drain gives up when the backlog stops shrinking
    cycle_seconds: float = 120.0  # a fault cycle starts this often (at least once)
    freeze_seconds: float = 3.0
    throttle_share: float = 0.3
    throttle_seconds: float = 8.0
    # Short, so the poison message dead-letters (three receives) within the run.
    visibility_timeout: int = 15
    seed: int = 15
    verbose: bool = False  # what happens when, on stderr


@dataclass
class Probe:
    """Latency samples of the read endpoints, labelled by what the stack went through."""

    samples: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: Counter[str] = field(default_factory=Counter)

    def p95_ms(self, phase: str, endpoint: str) -> float | None:
        values = sorted(self.samples.get((phase, endpoint), []))
        if not values:
            return None
        return round(values[min(len(values) - 1, int(0.95 * len(values)))] * 1000, 1)


@dataclass
class Ledger:
    """What the harness did and saw, for the reconciliation."""

    accepted: set[str] = field(default_factory=set)  # mention keys answered 202
    sent: int = 0
    refused: Counter[str] = field(default_factory=Counter)  # why posts were not accepted
    retries: int = 0
    poison: list[str] = field(default_factory=list)
    burst_routes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # before the burst
    burst_sent: int = 0
    acks: dict[str, float] = field(default_factory=dict)  # task id -> epoch ms of the 200
    ack_refused: Counter[int] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    max_rss_kb: dict[str, int] = field(default_factory=dict)
    publishes: list[dict[str, Any]] = field(default_factory=list)  # the wiretap's messages
    lock: threading.Lock = field(default_factory=threading.Lock)


class Soak:
    """One run: the stack, the load, the faults, the observers and the reconciliation."""

    def __init__(self, plan: SoakPlan) -> None:
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.ledger = Ledger()
        self.probe = Probe()
        self.stop = threading.Event()
        self.replay_done = threading.Event()
        self._faulting = 0  # faults under way (the probe's phase)
        self._phase_lock = threading.Lock()
        self._dir = Path(tempfile.mkdtemp(prefix="tvarit-soak-"))
        self.switch = self._dir / "faults.json"
        self.stack: Any = None
        self.wiretap_url = ""
        self.members: dict[str, Any] = {}  # member id -> (member, team)
        self._ack_queue: list[tuple[float, str, str]] = []  # (when, task id, member id)
        self._saved_env: dict[str, str | None] = {}
        self._began = time.monotonic()
        self.backlog = -1  # mentions queued when the replay ended
        self._posts_by_key: dict[str, dict[str, Any]] = {}  # accepted key -> the post sent

    # -- the stack -----------------------------------------------------------------------------

    def start(self) -> None:
        from chalicelib import wiring
        from local.demo import load_demo_config, seed
        from local.stack import LocalStack
        from local.worker import PLUGIN_ENV

        self._saved_env = {k: os.environ.get(k) for k in (PLUGIN_ENV, faults.FAULTS_FILE_ENV)}
        plugins = [p for p in os.environ.get(PLUGIN_ENV, "").split(",") if p]
        os.environ[PLUGIN_ENV] = ",".join([*plugins, faults.PLUGIN])  # workers inherit both
        os.environ[faults.FAULTS_FILE_ENV] = str(self.switch)
        faults.write_switch(self.switch, {})
        # A short visibility timeout: the poison message dead-letters within the run.
        self.stack = LocalStack(
            api_workers=self.plan.api_workers,
            pump_workers=self.plan.pump_workers,
            visibility_timeout=self.plan.visibility_timeout,
        ).start()
        demo = load_demo_config()
        seed(wiring.container().config_repo, demo, contacts=wiring.container().contact_sync)
        for team in demo.teams:
            for member in team.members:
                self.stack.phone.add_device(member, team)
                self.members[member.id] = (member, team)
        self.stack.phone.mirror_contacts()
        self.stack.phone.on_delivery = self._on_delivery
        self._wiretap()

    def _wiretap(self) -> None:
        """One queue subscribed to every state topic without a filter: it sees each publish."""
        sqs, sns = self.stack.clients["sqs"], self.stack.clients["sns"]
        self.wiretap_url = sqs.create_queue(QueueName="tvarit-soak-wiretap")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.wiretap_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        for topic in self.stack.resources.topic_arns.values():
            sns.subscribe(
                TopicArn=topic,
                Protocol="sqs",
                Endpoint=arn,
                Attributes={"RawMessageDelivery": "true"},
            )

    def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(Exception):
            faults.write_switch(self.switch, {})
        if self.stack is not None:
            aws = self._child("aws")
            if aws is not None and aws.alive():
                os.kill(aws.pid, signal.SIGCONT)  # never leave it frozen behind us
            self.stack.stop()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for path in self._dir.iterdir():
            path.unlink()
        self._dir.rmdir()

    def _child(self, name: str) -> Child | None:
        return next((c for c in self.stack.children if c.name == name), None)

    # -- observers -------------------------------------------------------------------------------

    def _on_delivery(self, d: Any) -> None:
        if d.kind != "task" or d.channel != "push" or d.state not in ESCALATING_STATES:
            return
        with self.ledger.lock:
            if any(t == d.task_id for _, t, _ in self._ack_queue) or d.task_id in self.ledger.acks:
                return
            if self.rng.random() < ACK_SHARE:
                when = time.monotonic() + self.rng.uniform(0, ACK_WITHIN_SECONDS)
                self._ack_queue.append((when, d.task_id, d.member_id))

    def _phones(self) -> None:
        while not self.stop.is_set():
            try:
                got = self.stack.phone.poll_once() + self._drain_wiretap()
            except Exception:
                got = 0
                self.stop.wait(0.5)
            if got == 0:  # idle: a second between looks keeps ~15 queues' polls off moto
                self.stop.wait(1.0)

    def _drain_wiretap(self) -> int:
        sqs = self.stack.clients["sqs"]
        messages = sqs.receive_message(
            QueueUrl=self.wiretap_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["SentTimestamp"],
        ).get("Messages", [])
        for m in messages:
            try:
                data = json.loads(m["Body"])
            except ValueError:
                data = {"type": "unreadable"}
            if isinstance(data, dict) and "GCM" in data:  # a push payload: its data is inside
                data = json.loads(data["GCM"]).get("data", data)
            teams = m.get("MessageAttributes", {}).get("team_ids", {}).get("StringValue", "[]")
            record = {
                "data": data,
                "team_ids": json.loads(teams),
                "sent_ms": int(m["Attributes"]["SentTimestamp"]),
            }
            with self.ledger.lock:
                self.ledger.publishes.append(record)
        if messages:
            sqs.delete_message_batch(
                QueueUrl=self.wiretap_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )
        return len(messages)

    def _memory(self) -> None:
        while not self.stop.is_set():
            pids = {"harness": os.getpid()}
            pids.update({c.name: c.pid for c in self.stack.children if c.alive()})
            for name, pid in pids.items():
                kb = rss_kb(pid)
                if kb is not None:
                    with self.ledger.lock:
                        self.ledger.max_rss_kb[name] = max(kb, self.ledger.max_rss_kb.get(name, 0))
            self.stop.wait(1.0)

    def _log(self, message: str) -> None:
        if self.plan.verbose:
            print(
                f"  {time.monotonic() - self._began:6.1f} s  {message}", file=sys.stderr, flush=True
            )

    @contextlib.contextmanager
    def _fault(self, name: str) -> Iterator[None]:
        self._log(name)
        with self._phase_lock:
            self._faulting += 1
            self.ledger.faults[name] += 1
        try:
            yield
        finally:
            with self._phase_lock:
                self._faulting -= 1

    def _phase(self) -> str:
        if self.replay_done.is_set():
            return "drain"
        return "faults" if self._faulting else "replay"

    def _probe(self) -> None:
        token = self._token("w-dl-1")
        while not self.stop.is_set() and not self.replay_done.is_set():
            for endpoint, path, headers in (
                ("health", "/health", {}),
                ("me_tasks", "/me/tasks", {"Authorization": f"Bearer {token}"}),
            ):
                phase = self._phase()
                began = time.monotonic()
                status = _get(self.stack.api_url + path, headers)
                elapsed = time.monotonic() - began
                if status == 200:
                    self.probe.samples[(phase, endpoint)].append(elapsed)
                else:
                    self.probe.failures[f"{phase}:{endpoint}:{status}"] += 1
            self.stop.wait(0.5)

    def _token(self, member_id: str) -> str:
        member, team = self.members[member_id]
        role = "team_lead" if member.role == "lead" else "warrior"
        claims = {"sub": member.id, "custom:role": role, "custom:team": team.id}
        return str(self.stack.issuer.mint(claims, datetime.now(UTC), ttl_seconds=6 * 3600))

    def _acker(self) -> None:
        while not self.stop.is_set():
            now = time.monotonic()
            with self.ledger.lock:
                due = [a for a in self._ack_queue if a[0] <= now]
                self._ack_queue = [a for a in self._ack_queue if a[0] > now]
            for _, task_id, member_id in due:
                status = _post(
                    f"{self.stack.api_url}/tasks/{task_id}/ack",
                    b"{}",
                    {"Authorization": f"Bearer {self._token(member_id)}"},
                )
                with self.ledger.lock:
                    if status == 200:
                        self.ledger.acks[task_id] = time.time() * 1000
                    else:
                        self.ledger.ack_refused[status] += 1
            self.stop.wait(0.2)

    # -- load -------------------------------------------------------------------------------------

    def _send(self, post: dict[str, Any]) -> list[str]:
        """POST one post, signed, retrying a 5xx or no answer; the keys accepted, if any.

        A 503's ``Retry-After`` is honoured (capped), as a well-behaved sender would."""
        from local.replay import signed_request

        wait = 0.0
        for attempt in range(SEND_ATTEMPTS):
            if attempt:
                with self.ledger.lock:
                    self.ledger.retries += 1
                time.sleep(min(MAX_RETRY_AFTER, wait or 0.25 * 2**attempt))
            request = signed_request(
                self.stack.api_url, self.stack.webhook_secret, post, int(time.time())
            )
            try:
                with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as answer:  # noqa: S310
                    if answer.status == 202:
                        return list(json.loads(answer.read())["keys"])
                    reason = f"HTTP {answer.status}"
            except urllib.error.HTTPError as err:
                reason = f"HTTP {err.code}"
                if err.code < 500:
                    break
                wait = _retry_after(err.headers.get("Retry-After"))
            except (OSError, ValueError) as err:
                reason = type(err).__name__
                wait = 0.0
        with self.ledger.lock:
            self.ledger.refused[reason] += 1
        return []

    def _replay(self, posts: list[dict[str, Any]]) -> None:
        """Posts due at the rate go to a few senders (platforms send concurrently) until the
        time is up; a post due while every sender is stuck is skipped and counted."""
        interval = 1.0 / self.plan.rate
        due: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=SENDERS * 2)
        senders = [
            threading.Thread(target=self._sender, args=(due,), name=f"sender-{n}", daemon=True)
            for n in range(SENDERS)
        ]
        for t in senders:
            t.start()
        began = time.monotonic()
        i = 0
        while not self.stop.is_set() and time.monotonic() - began < self.plan.seconds:
            delay = began + i * interval - time.monotonic()
            if delay > 0:
                self.stop.wait(delay)
            base = posts[i % len(posts)]
            # A fresh id per pass keeps every post new; text and author stay as recorded.
            rounds = i // len(posts)
            post = {**base, "id": f"{base['id']}{rounds:03d}" if rounds else base["id"]}
            i += 1
            try:
                due.put_nowait(post)
            except queue.Full:
                with self.ledger.lock:
                    self.ledger.refused["skipped: every sender waiting on the stack"] += 1
        for _ in senders:
            due.put(None)
        for t in senders:
            t.join()
        self.replay_done.set()

    def _sender(self, due: queue.Queue[dict[str, Any] | None]) -> None:
        while (post := due.get()) is not None:
            with self.ledger.lock:
                self.ledger.sent += 1
            keys = self._send(post)
            with self.ledger.lock:
                self.ledger.accepted.update(keys)
                self._posts_by_key.update((key, post) for key in keys)

    # -- faults -----------------------------------------------------------------------------------

    def _schedule(self) -> None:
        """Fault cycles from a short warm-up on, one every ``cycle_seconds``, while posts flow."""
        plan = self.plan
        warmup = min(10.0, plan.seconds * 0.15)
        began = time.monotonic()
        cycle = 0
        while not self.stop.is_set() and not self.replay_done.is_set():
            start = began + warmup + cycle * plan.cycle_seconds
            if start - began > plan.seconds - 5:
                break
            self._wait_until(start)
            steps: list[tuple[str, Callable[[], None]]] = [
                ("poison", self._poison),
                ("throttle dynamodb", lambda: self._throttle("dynamodb")),
                ("freeze moto", self._freeze),
                ("throttle sns", lambda: self._throttle("sns")),
                ("kill api", lambda: self._kill("api")),
                ("kill pump", lambda: self._kill("pump")),
                ("duplicate burst", self._burst),
            ]
            for _name, step in steps:
                if self.stop.is_set():
                    return
                step()
                self.stop.wait(1.0)
            cycle += 1

    def _wait_until(self, when: float) -> None:
        while not self.stop.is_set() and time.monotonic() < when:
            self.stop.wait(min(1.0, when - time.monotonic()))

    def _throttle(self, service: str) -> None:
        with self._fault(f"throttle {service}"):
            faults.write_switch(self.switch, {service: self.plan.throttle_share})
            self.stop.wait(self.plan.throttle_seconds)
            faults.write_switch(self.switch, {})
            self.stop.wait(faults.REREAD_SECONDS * 2)

    def _freeze(self) -> None:
        aws = self._child("aws")
        assert aws is not None
        with self._fault("freeze moto"):
            os.kill(aws.pid, signal.SIGSTOP)
            try:
                self.stop.wait(self.plan.freeze_seconds)
            finally:
                os.kill(aws.pid, signal.SIGCONT)
            self.stop.wait(1.0)

    def _kill(self, kind: str) -> None:
        """SIGKILL one worker of a kind, then start it again in its place (same port, index)."""
        victims = [c for c in self.stack.children if c.name.startswith(f"{kind}-")]
        victim = self.rng.choice(victims)
        with self._fault(f"kill {kind}"):
            os.kill(victim.pid, signal.SIGKILL)
            victim.process.wait()  # type: ignore[union-attr]
            argv = list(victim.argv)
            if kind == "api":
                port = victim.address.rsplit(":", 1)[1]
                argv = ["-m", "local.worker", "api", "--port", port]
            fresh = Child(victim.name, argv)
            for attempt in range(5):
                try:
                    fresh.start()
                    break
                except RuntimeError:  # the old port may linger a moment
                    if attempt == 4:
                        raise
                    time.sleep(1.0)
            self.stack.children[self.stack.children.index(victim)] = fresh
            victim.stop()  # reaps it and closes its pipes

    def _poison(self) -> None:
        """A message the analyzer can never read: it must end in the dead-letter queue."""
        platform = PLATFORM_NAMES[0]  # any watched platform: the text is what poisons it
        key = f"{platform}#soak-poison-{len(self.ledger.poison)}"
        body = json.dumps({"platform": platform, "native_id": key.split("#", 1)[1], "text": 7})
        self.stack.clients["sqs"].send_message(
            QueueUrl=self.stack.resources.mentions_queue_url, MessageBody=body
        )
        with self.ledger.lock:
            self.ledger.poison.append(key)
            self.ledger.faults["poison"] += 1

    def _burst(self) -> None:
        """Posts already routed, each sent several times at once: no new task may follow."""
        from chalicelib.adapters.dynamo.models import MentionModel

        with self.ledger.lock:
            candidates = sorted(set(self._posts_by_key) - set(self.ledger.burst_routes))
        self.rng.shuffle(candidates)
        chosen: dict[str, tuple[str, ...]] = {}
        for item in MentionModel.batch_get(
            candidates[: DUPLICATE_POSTS * 4], attributes_to_get=["key", "status", "task_ids"]
        ):
            if item.status == "routed" and len(chosen) < DUPLICATE_POSTS:
                chosen[item.key] = tuple(str(t) for t in item.task_ids or ())
        if not chosen:
            return
        with self.ledger.lock:
            self.ledger.burst_routes.update(chosen)
        with self._fault("duplicate burst"):
            # One sender per post, its copies back to back: the copies race the other posts'.
            threads = [
                threading.Thread(target=self._send_copies, args=(self._posts_by_key[key],))
                for key in chosen
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

    def _send_copies(self, post: dict[str, Any]) -> None:
        for _ in range(DUPLICATE_COPIES):
            self._send(post)
            with self.ledger.lock:
                self.ledger.burst_sent += 1

    # -- running ----------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        from local.demo import load_posts

        posts = load_posts()
        self.start()
        workers = [
            threading.Thread(target=self._phones, name="phones", daemon=True),
            threading.Thread(target=self._memory, name="memory", daemon=True),
            threading.Thread(target=self._probe, name="probe", daemon=True),
            threading.Thread(target=self._acker, name="acker", daemon=True),
            threading.Thread(target=self._schedule, name="faults", daemon=True),
        ]
        for t in workers:
            t.start()
        began = time.monotonic()
        self._log("replay starts")
        self._replay(posts)
        replay_seconds = time.monotonic() - began
        faults.write_switch(self.switch, {})
        drained = self._drain()
        # Acks due later are moot; give the phones and the wiretap a last look.
        time.sleep(2.0)
        self.stop.set()
        for t in workers:
            t.join(timeout=30)
        self._drain_wiretap_all()
        summary = reconcile(self)
        summary.update(
            replay_seconds=round(replay_seconds, 1),
            backlog_after_replay=self.backlog,
            drained_seconds=round(drained, 1),
            load=os.getloadavg(),
        )
        return summary

    def _drain(self) -> float:
        """Wait until the mentions queue is empty and no task waits for dispatch, for as long
        as the backlog keeps shrinking (a loaded machine drains slowly; a stalled pipeline
        does not drain at all), at most ``drain_seconds``."""
        from chalicelib.adapters.dynamo.models import TaskModel

        began = time.monotonic()
        quiet_since = None
        said = (-1, -1)
        lowest, progress_at = 1 << 30, began
        while time.monotonic() - began < self.plan.drain_seconds:
            if time.monotonic() - progress_at > self.plan.stall_seconds:
                self._log(f"the backlog has not shrunk for {self.plan.stall_seconds:g} s")
                break
            try:
                depth = self.stack.queue_depth(self.stack.resources.mentions_queue_url)
                waiting = sum(
                    1 for t in TaskModel.scan(attributes_to_get=["status"]) if t.status == "new"
                )
            except Exception:
                depth, waiting = 1, 1
            if self.backlog < 0:
                self.backlog = depth
            if depth < lowest:
                lowest, progress_at = depth, time.monotonic()
            if (depth, waiting) != said:
                said = (depth, waiting)
                self._log(f"draining: {depth} messages on the mentions queue, {waiting} new tasks")
            if depth == 0 and waiting == 0:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= 3.0:
                    break
            else:
                quiet_since = None
            time.sleep(1.0)
        return time.monotonic() - began

    def _drain_wiretap_all(self) -> None:
        while self._drain_wiretap():
            pass


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value or 0))
    except ValueError:
        return 0.0


def rss_kb(pid: int) -> int | None:
    """Resident memory of a process (kB), from /proc; None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _get(url: str, headers: dict[str, str]) -> int:
    return _call(urllib.request.Request(url, headers=headers))  # noqa: S310


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(  # noqa: S310
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    return _call(request)


def _call(request: urllib.request.Request) -> int:
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as answer:  # noqa: S310
            answer.read()
            return int(answer.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except (OSError, ValueError):
        return 0


def covers(publish: dict[str, Any], task: Any) -> bool:
    """Whether a task notice reaches this task's team (by id, team list or audience token)."""
    data = publish["data"]
    if data.get("task_id"):
        return bool(data["task_id"] == task.task_id)
    if isinstance(data.get("tasks"), dict):
        return task.team_id in data["tasks"]
    audience = set(publish["team_ids"])
    return bool(
        task.team_id in audience
        or f"@state:{task.state}" in audience
        or f"@district:{task.state}/{task.district}" in audience
    )


def _escalated_task(publish: dict[str, Any]) -> str:
    from chalicelib.domain.tasks import task_id_for

    data = publish["data"]
    teams = [t for t in publish["team_ids"] if not t.startswith("@")]
    return str(
        data.get("task_id") or (task_id_for(teams[0], data.get("incident", "")) if teams else "")
    )


def escalated_after_ack(escalations: list[dict[str, Any]], acks: dict[str, float]) -> list[str]:
    """Tasks with an escalation published (SQS ``SentTimestamp``) after their ack's answer."""
    return sorted(
        {
            task_id
            for p in escalations
            if (task_id := _escalated_task(p)) in acks and p["sent_ms"] > acks[task_id]
        }
    )


def _dead_letters(stack: Any) -> set[str]:
    """Mention keys of the messages on the mentions dead-letter queue (read, not removed)."""
    sqs, keys = stack.clients["sqs"], set[str]()
    while True:
        messages = sqs.receive_message(
            QueueUrl=stack.resources.mentions_dlq_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=600,
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            return keys
        for m in messages:
            try:
                body = json.loads(m["Body"])
                keys.add(f"{body.get('platform')}#{body.get('native_id')}")
            except ValueError:
                keys.add(f"unreadable:{m['MessageId']}")


def _batch_get(model: Any, keys: set[str], attributes: list[str]) -> list[Any]:
    ordered = sorted(keys)
    return [
        item
        for i in range(0, len(ordered), 100)
        for item in model.batch_get(ordered[i : i + 100], attributes_to_get=attributes)
    ]


def reconcile(soak: Soak) -> dict[str, Any]:
    """What the run came to, with ``problems``: each failed check, said plainly."""
    from chalicelib.adapters.dynamo.models import MentionModel, TaskModel

    ledger, stack, plan = soak.ledger, soak.stack, soak.plan
    problems: list[str] = []
    accepted = set(ledger.accepted)  # distinct keys (some recorded posts share an id)
    stored = {m.key for m in _batch_get(MentionModel, accepted, ["key"])}
    dead = _dead_letters(stack)
    lost = accepted - stored - dead
    if lost:
        problems.append(
            f"{len(lost)} accepted posts are neither stored nor dead-lettered, "
            f"e.g. {sorted(lost)[:3]}"
        )
    stuck_poison = set(ledger.poison) - dead
    if stuck_poison:
        problems.append(f"poison messages not in the dead-letter queue: {sorted(stuck_poison)}")

    tasks = list(
        TaskModel.scan(
            attributes_to_get=[
                "task_id",
                "team_id",
                "state",
                "district",
                "incident_key",
                "status",
                "version",
                "sns_message_id",
            ]
        )
    )
    waiting = [t.task_id for t in tasks if t.status == "new"]
    if waiting:
        failures = stack.queue_depth(stack.resources.dispatch_failures_url)
        problems.append(
            f"{len(waiting)} tasks were never dispatched (the dispatch failures queue holds "
            f"{failures} records), e.g. {waiting[:3]}"
        )
    notices: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for p in ledger.publishes:
        if p["data"].get("type") == "task":
            notices[(p["data"].get("state", ""), p["data"].get("incident", ""))].append(p)
    dispatched = [t for t in tasks if t.sns_message_id not in ("", "digest") and t.status != "new"]
    unseen, reversioned, repeats = [], [], 0
    for t in dispatched:
        covering = [p for p in notices[(t.state, t.incident_key)] if covers(p, t)]
        versions = {p["data"].get("v") for p in covering}
        if not covering:
            unseen.append(t.task_id)
        elif len(versions) > 1:
            reversioned.append(f"{t.task_id} at versions {sorted(versions)}")
        # One notice per delivery language; more than that is a repeat (same id and version).
        repeats += max(0, len(covering) - len({p["data"].get("lang") for p in covering}))
    if unseen:
        problems.append(f"{len(unseen)} dispatched tasks were never published, e.g. {unseen[:3]}")
    if reversioned:
        problems.append(f"tasks published at more than one version: {reversioned[:3]}")

    shown = Counter(
        (d.member_id, d.task_id)
        for d in stack.phone.deliveries
        if d.kind == "task" and d.channel == "push"
    )
    twice = sorted(k for k, n in shown.items() if n > 1)
    if twice:
        problems.append(f"{len(twice)} tasks shown twice on a phone, e.g. {twice[:3]}")

    escalations = [p for p in ledger.publishes if p["data"].get("type") == "escalation"]
    late = escalated_after_ack(escalations, ledger.acks)
    acked_escalated = {_escalated_task(p) for p in escalations} & set(ledger.acks)
    if late:
        problems.append(f"escalations published after an acknowledgement: {late[:5]}")

    after = {
        m.key: tuple(str(t) for t in m.task_ids or ())
        for m in _batch_get(MentionModel, set(ledger.burst_routes), ["key", "task_ids"])
    }
    changed = sorted(k for k, v in ledger.burst_routes.items() if after.get(k) != v)
    if changed:
        problems.append(f"a duplicate burst changed the tasks of {changed[:3]}")
    if ledger.faults and not ledger.burst_routes:
        problems.append("the duplicate burst found no routed post to repeat")

    over = {n: kb // 1024 for n, kb in ledger.max_rss_kb.items() if kb > plan.rss_bound_mb * 1024}
    if over:
        problems.append(f"resident memory over {plan.rss_bound_mb} MB: {over}")

    def p95(phase: str) -> dict[str, float | None]:
        return {e: soak.probe.p95_ms(phase, e) for e in ("health", "me_tasks")}

    return {
        "seconds": plan.seconds,
        "rate": plan.rate,
        "api_workers": plan.api_workers,
        "pump_workers": plan.pump_workers,
        "posts_sent": ledger.sent,
        "posts_accepted": len(accepted),
        "posts_refused": dict(ledger.refused),
        "sender_retries": ledger.retries,
        "stored": len(stored),
        "dead_lettered": len(dead),
        "accepted_dead_lettered": len(accepted & dead),
        "poison": len(ledger.poison),
        "tasks": len(tasks),
        "tasks_dispatched": len(dispatched),
        "tasks_held_for_digest": sum(1 for t in tasks if t.sns_message_id == "digest"),
        "publishes": len(ledger.publishes),
        "task_publish_repeats": repeats,
        "duplicates_seen_by_phones": stack.phone.repeats_dropped,
        "tasks_shown_twice": len(twice),
        "phone_deliveries": len(stack.phone.deliveries),
        "acks": len(ledger.acks),
        "acks_refused": {str(k): v for k, v in ledger.ack_refused.items()},
        "escalations": len(escalations),
        "acked_tasks_escalated_before_ack": len(acked_escalated) - len(late),
        "escalations_after_ack": len(late),
        "duplicate_burst": {"posts": len(ledger.burst_routes), "sent": ledger.burst_sent},
        "faults": dict(ledger.faults),
        "rss_bound_mb": plan.rss_bound_mb,
        "max_rss_mb": {n: round(kb / 1024) for n, kb in sorted(ledger.max_rss_kb.items())},
        "p95_ms": {"replay": p95("replay"), "faults": p95("faults")},
        "probe_samples": {f"{k[0]}:{k[1]}": len(v) for k, v in sorted(soak.probe.samples.items())},
        "probe_failures": dict(soak.probe.failures),
        "problems": problems,
    }


def run(plan: SoakPlan) -> dict[str, Any]:
    """One soak run, its stack stopped whatever happens; the summary with its problems."""
    soak = Soak(plan)
    try:
        return soak.run()
    finally:
        soak.close()


def _parse(argv: list[str]) -> SoakPlan:
    p = argparse.ArgumentParser(prog="python -m local.soak", description=__doc__.splitlines()[0])
    p.add_argument(
        "--seconds",
        type=float,
        default=float(os.environ.get("SOAK_SECONDS", "600")),
        help="how long posts are replayed (SOAK_SECONDS; default 600)",
    )
    p.add_argument("--rate", type=float, default=SoakPlan.rate, help="posts a second")
    p.add_argument("--api-workers", type=int, default=SoakPlan.api_workers)
    p.add_argument("--pump-workers", type=int, default=SoakPlan.pump_workers)
    p.add_argument("--rss-bound-mb", type=int, default=RSS_BOUND_MB)
    p.add_argument("--seed", type=int, default=SoakPlan.seed)
    args = p.parse_args(argv)
    if args.seconds < 20:
        p.error("--seconds must be at least 20 (a warm-up and one fault cycle)")
    if args.rate <= 0:
        p.error("--rate must be above 0")
    for name in ("api_workers", "pump_workers"):
        if not 2 <= getattr(args, name) <= 8:
            p.error(f"--{name.replace('_', '-')} must be between 2 and 8 (one is killed)")
    return SoakPlan(
        seconds=args.seconds,
        rate=args.rate,
        api_workers=args.api_workers,
        pump_workers=args.pump_workers,
        rss_bound_mb=args.rss_bound_mb,
        seed=args.seed,
        verbose=True,
    )


def main(argv: list[str] | None = None) -> int:
    plan = _parse(sys.argv[1:] if argv is None else argv)
    print(
        f"tvarit soak: {plan.seconds:g} s at {plan.rate:g} posts/s, {plan.api_workers} API and "
        f"{plan.pump_workers} pump workers, a fault cycle every {plan.cycle_seconds:g} s",
        file=sys.stderr,
        flush=True,
    )
    summary = run(plan)
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    for problem in summary["problems"]:
        print(f"tvarit soak: {problem}", file=sys.stderr)
    return 1 if summary["problems"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
