"""Polling in the local stack: the fake platform APIs, the polls queue, the schedule and poller.

``start_polling(stack, leaders, posts)`` starts :class:`~local.fake_platforms.FakePlatforms`
serving the recorded payloads plus the demo leaders' posts as their X timelines, creates the
polls queue on the moto server, points the platform clients at the fake server, gives the demo
leaders pollable accounts on X, YouTube, RSS, Bluesky and Mastodon, and runs the
``schedule-polls`` and ``poll`` handlers from an event pump of its own, with each stream
consumer of the platform descriptors (Jetstream) on the same schedule, reading the fake
server's ``/subscribe`` for ``stream_seconds``. The real pollers and consumers run unchanged;
their mentions go through the same mentions queue as webhook posts.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from chalicelib import settings as cfg
from chalicelib import wiring
from chalicelib.domain.config_kinds import LEADERS
from chalicelib.domain.org import Leader
from chalicelib.domain.platforms import PLATFORMS
from chalicelib.services.config_admin import ConfigAdmin, system_principal
from chalicelib.services.ports import ConfigRepository
from chalicelib.settings import POLLS_QUEUE_NAME
from local.fake_platforms import FAKE_ENV, FakePlatforms, demo_dataset, pollable_leaders
from local.pump import EventPump, ScheduleMapping, SqsMapping


class _Stack(Protocol):
    """What this module needs of ``local.stack.LocalStack``."""

    clients: dict[str, Any]
    region: str

    def _set_env(self, values: dict[str, str]) -> None: ...


@dataclass
class PollingDemo:
    """The running pieces; :meth:`stop` ends the pump and the fake server."""

    fake: FakePlatforms
    pump: EventPump
    queue_url: str
    schedule: ScheduleMapping
    # One schedule per stream of a platform descriptor (Jetstream), reading for a short while.
    streams: list[ScheduleMapping] = field(default_factory=list)

    def tick(self) -> int:
        """Fire the schedule once and deliver the poll messages (deterministic, for tests)."""
        self.pump.fire_schedule(self.schedule)
        return self.pump.drain()

    def read_streams(self) -> int:
        """Fire each stream consumer's schedule once and deliver what it enqueued."""
        for mapping in self.streams:
            self.pump.fire_schedule(mapping)
        return self.pump.drain()

    def stop(self) -> None:
        self.pump.stop()
        self.fake.stop()


def start_polling(
    stack: _Stack,
    leaders: Iterable[Leader],
    posts: Iterable[Mapping[str, Any]],
    config_repo: ConfigRepository | None = None,
    every_seconds: float = 5.0,
    run_pump: bool = True,
    stream_seconds: float = 1.0,
    x_plan: str = "basic",
) -> PollingDemo:
    """Start the fake platforms and the pollers against a started local stack.

    ``x_plan`` other than "basic" turns on X's filtered stream consumer (TVARIT_X_PLAN).
    """
    fake = FakePlatforms(demo_dataset(posts)).start()
    sqs = stack.clients["sqs"]
    url = sqs.create_queue(QueueName=POLLS_QUEUE_NAME, Attributes={"VisibilityTimeout": "30"})[
        "QueueUrl"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    stack._set_env(
        {
            cfg.ENV_POLLS_QUEUE_URL: url,
            cfg.ENV_PLATFORM_BASE_URL: fake.url,
            # A stream run holds the local stack's one invocation lock: keep it short here.
            cfg.ENV_STREAM_SECONDS: str(stream_seconds),
            cfg.ENV_X_PLAN: x_plan,
            **FAKE_ENV,
        }
    )
    # A container with the new settings; adapters are rebuilt lazily on first use.
    wiring.use(wiring.Container(cfg.Settings.from_env()))
    repo = config_repo or wiring.container().config_repo
    admin, seeder = ConfigAdmin(repo), system_principal("local:polling-demo")
    for leader in pollable_leaders(leaders, f"{fake.url}/feeds/toi.xml"):
        admin.put(LEADERS, seeder, dataclasses.asdict(leader))
    from chalicelib import events

    pump = EventPump(stack.clients, stack.region, invoke_lock=getattr(stack, "_invoke_lock", None))
    pump.sqs.append(SqsMapping("poll", url, arn, events.poll_accounts, events.POLL_BATCH_SIZE))
    if os.environ.get("POWERTOOLS_METRICS_DISABLED") == "true":
        # The pollers in a container of their own, as on Lambda: the first polls of a run no
        # longer wait for the scheduled stream consumers (each holds its container a while).
        pump.sqs[-1].lock = threading.Lock()
    schedule = ScheduleMapping("schedule-polls", events.schedule_polls, every_seconds)
    pump.schedules.append(schedule)
    streams = [
        ScheduleMapping(
            f"consume-{st.name}",
            getattr(events, f"consume_{st.name.replace('-', '_')}"),
            every_seconds,
        )
        for p in PLATFORMS
        for st in p.streams
    ]
    pump.schedules.extend(streams)
    if run_pump:
        pump.start()
    return PollingDemo(fake, pump, url, schedule, streams)


def summary(mention_keys: Iterable[str]) -> str:
    """``x: 12, rss: 48, ...`` for a log line."""
    counts: dict[str, int] = {}
    for key in mention_keys:
        platform = key.split("#", 1)[0]
        counts[platform] = counts.get(platform, 0) + 1
    return json.dumps(dict(sorted(counts.items())))
