"""Delivery-channel bench (issue 13): Telegram sends through the fake Bot API, and fan-out.

Measures, in one run, against the fake Bot API server on 127.0.0.1 (``local.fake_telegram``):

* baseline: bare ``getMe`` round trips per second (HTTP and JSON only);
* unpaced: task messages rendered and sent with ``sendMessage`` per second, no limits kept
  (what the adapter and the fake cost, as a ratio to the baseline);
* paced: the real ``TelegramSender`` posting N tasks to N groups with its limits and real
  sleeps: the delivery rate should sit just under the bot's 30 messages/s;
* 429: one ``retry_after`` obeyed inside the same paced run (the sleep shows in its time);
* one group: 41 messages into one chat on a simulated clock: the per-group limit (20 a
  minute) makes it 2 minutes whatever the bot's rate.

Then the fan-out arithmetic of ``domain.channels.fanout_seconds`` for one national incident to
50,000 teams. One JSON line at the end. Run: ``make bench-channels``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.adapters.channels.telegram import TelegramBotApi
from chalicelib.adapters.platforms.http import Urllib3Transport
from chalicelib.domain.channels import SNS, TELEGRAM, fanout_seconds, send_delay
from chalicelib.domain.tasks import Task, TaskStatus, task_id_for
from chalicelib.domain.telegram_bot import keyboard, render_task
from chalicelib.services.ports import ConfigRecord
from chalicelib.services.telegram_bot import TeamChats, TelegramSender
from local.fake_telegram import BOT_TOKEN, FakeTelegram

T0 = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
N_BASELINE = 200
N_UNPACED = 200
N_PACED = 90
TEAMS = 50_000


def make_task(n: int) -> Task:
    team = f"UP-{n:05d}"
    return Task(
        task_id=task_id_for(team, "inc_bench"),
        team_id=team,
        state="UP",
        incident_key="inc_bench",
        mention_key="x#1",
        created_at=T0,
        status=TaskStatus.DISPATCHED,
        version=2,
        leader_name="Narendra Modi",
        category="economy",
        terms=("नोटबंदी", "black money"),
        excerpt="मोदी जी तो कह रहे थे कि नोटबंदी के बाद काला धन ख़त्म हो गया। " * 3,
        url="https://x.com/ArvindKejriwal/status/1",
        severity=4,
    )


@dataclass
class Tasks:
    items: dict[str, Task]

    def get(self, task_id: str) -> Task | None:
        return self.items.get(task_id)

    def events(self, task_id: str) -> list[Any]:
        return []


@dataclass
class Config:
    """The config items the sender reads: each team's chat pointer (no members needed)."""

    chats: dict[str, str]

    def get_item(self, pk: str, sk: str) -> ConfigRecord | None:
        return None

    def list_items(
        self, pk: str, limit: int | None = None, after: str | None = None
    ) -> list[ConfigRecord]:
        return [
            ConfigRecord("pointer", f"telegram#{team}", {"chat_id": chat}, 1)
            for team, chat in self.chats.items()
        ]


@dataclass
class Ledger:
    records: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)

    def delivered(self, channel: str, keys: Sequence[tuple[str, int]]) -> frozenset[Any]:
        return frozenset(k for k in keys if k in self.records)

    def record(self, channel: str, key: Any, ref: str, chat: str, expires_at: Any) -> bool:
        return self.records.setdefault(key, (ref, chat)) == (ref, chat)

    def forget(self, channel: str, key: Any) -> None:
        self.records.pop(key, None)

    def first(self, channel: str, task_id: str) -> tuple[str, str] | None:
        return next((v for (t, _), v in self.records.items() if t == task_id), None)


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def main() -> int:
    with FakeTelegram() as fake:
        api = TelegramBotApi(BOT_TOKEN, Urllib3Transport(timeout=10.0), fake.url)
        began = time.perf_counter()
        for _ in range(N_BASELINE):
            api.call("getMe", {})
        baseline = rate(N_BASELINE, time.perf_counter() - began)

        tasks = [make_task(n) for n in range(max(N_UNPACED, N_PACED))]
        began = time.perf_counter()
        for n, task in enumerate(tasks[:N_UNPACED]):
            api.send_message(f"-100{n:010d}", render_task(task), keyboard(task))
        unpaced = rate(N_UNPACED, time.perf_counter() - began)

        paced_tasks = tasks[:N_PACED]
        chats = {t.team_id: f"-200{n:010d}" for n, t in enumerate(paced_tasks)}
        config = Config(chats)
        sender = TelegramSender(
            Tasks({t.task_id: t for t in paced_tasks}),
            config,
            TeamChats(config, lambda team: "UP", time.monotonic, ttl=3600.0),
            Ledger(),
            api,
            lambda: T0,
            time.time,
            time.sleep,
        )
        fake.throttle(1)  # one 429 with retry_after 1 s, obeyed inside the paced run
        began = time.perf_counter()
        for t in paced_tasks:
            assert sender.handle({"op": "send", "task_id": t.task_id, "version": 1}) == "sent"
        paced_seconds = time.perf_counter() - began
        paced = rate(N_PACED, paced_seconds)
        sent_at = [c.at for c in fake.calls if c.method == "sendMessage" and c.status == 200]
        paced_at = sent_at[-N_PACED:]
        worst_second = max(
            sum(1 for t in paced_at if start <= t < start + 1.0) for start in paced_at
        )

    # One group, simulated clock: how long 41 messages take under the per-group limit alone.
    clock, sent = 0.0, list[float]()
    for _ in range(41):
        clock += send_delay(clock, sent, sent, TELEGRAM)
        sent.append(clock)
    one_group_seconds = clock

    fanout = {
        "telegram_50k_groups_min": round(fanout_seconds(TELEGRAM, TEAMS) / 60, 1),
        # One publish per state topic and language: ~79 entries in 36 calls (docs/response.md).
        "sns_publish_one_incident_s": round(fanout_seconds(SNS, 79), 3),
        # FCM: 600,000 messages a minute per project; 500,000 warriors' phones.
        "sns_push_500k_devices_s": round(500_000 / 10_000, 1),
    }
    result = {
        "bench": "channels",
        "load": os.getloadavg()[0],
        "baseline_getme_per_s": round(baseline, 1),
        "unpaced_send_per_s": round(unpaced, 1),
        "unpaced_vs_baseline": round(unpaced / baseline, 3),
        "paced_messages": N_PACED,
        "paced_seconds": round(paced_seconds, 2),
        "paced_send_per_s": round(paced, 1),
        "paced_vs_limit": round(paced / 30.0, 3),
        "paced_worst_second": worst_second,
        "one_group_41_messages_s": round(one_group_seconds, 1),
        **fanout,
    }
    print(
        f"baseline getMe {baseline:.0f}/s; unpaced sendMessage {unpaced:.0f}/s "
        f"({unpaced / baseline:.2f}x baseline); paced {paced:.1f}/s over {N_PACED} groups "
        f"(limit 30/s, worst 1-s window {worst_second}, one 429 obeyed); one group: 41 messages "
        f"in {one_group_seconds:.0f} s"
    )
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
