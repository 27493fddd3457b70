"""The real pollers in the local stack: fake platform APIs → polls queue → mentions → tasks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib import wiring
from local.demo import load_demo_config, load_posts, seed
from local.polling_demo import PollingDemo, start_polling
from local.stack import LocalStack


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[LocalStack, PollingDemo]]:
    stack = LocalStack(run_pump=False).start()
    polling: PollingDemo | None = None
    try:
        demo = load_demo_config()
        seed(wiring.container().config_repo, demo)
        # X's filtered stream on too (its plan is off by default): every stream path runs here.
        polling = start_polling(
            stack, demo.leaders, load_posts(), run_pump=False, x_plan="enterprise"
        )
        yield stack, polling
    finally:
        if polling is not None:
            polling.stop()
        stack.stop()


def _mention_keys() -> set[str]:
    from chalicelib.adapters.dynamo.models import MentionModel

    return {m.key for m in MentionModel.scan(attributes_to_get=["key"])}


def test_every_polled_platform_reaches_the_store_and_x_posts_become_tasks(
    running: tuple[LocalStack, PollingDemo],
) -> None:
    stack, polling = running
    assert stack.pump is not None
    assert polling.tick() > 0
    stack.pump.drain()
    keys = _mention_keys()
    platforms = {k.split("#", 1)[0] for k in keys}
    assert platforms == {"x", "youtube", "rss", "bluesky", "mastodon"}
    toi_story = (
        "rss#https://timesofindia.indiatimes.com/india/kaun-sa-dharm-ganda-hai-bjp-slams-"
        "mamata-banerjee-over-alleged-provocative-speech-on-eid/articleshow/119799583.cms"
    )
    assert toi_story in keys
    tasks = stack.task_count()
    assert tasks > 0  # the demo leaders' posts match the demo keyword queries
    # The next tick finds nothing due: no new poll, no new mention, no new task.
    polling.tick()
    stack.pump.drain()
    assert _mention_keys() == keys
    assert stack.task_count() == tasks
    paths = polling.fake.paths("/2/users/")
    assert {p.split("/")[3] for p in paths} == {"18839785", "405427035"}


def _jetstream_post(did: str, rkey: str, at: int, text: str) -> dict[str, object]:
    import copy
    import json

    from local.fake_platforms import EVENTS

    event = copy.deepcopy(
        json.loads((EVENTS / "bluesky" / "jetstream_post_commit.json").read_text())
    )
    event.update(did=did, time_us=at)
    event["commit"]["rkey"] = rkey
    event["commit"]["record"]["text"] = text
    event["commit"]["record"].pop("reply", None)
    return event


def test_jetstream_runs_in_the_stack_and_resumes_without_gap_or_duplicate_task(
    running: tuple[LocalStack, PollingDemo],
) -> None:
    import time

    from chalicelib.domain.platforms import stream_keys
    from chalicelib.services.polling import PollState

    stack, polling = running
    assert stack.pump is not None
    polling.read_streams()
    stack.pump.drain()
    conn = polling.fake.jetstream_connections[0]
    assert conn["dids"] == ["did:plc:tvaritleader0000000000a"]  # the watched DID only
    (key,) = [k for k in stream_keys() if k.startswith("bluesky#")]
    store = wiring.container().cursor_store
    first = store.get(key)
    assert first is not None and first.cursor["time_us"]
    keys, tasks = _mention_keys(), stack.task_count()
    # New posts while nobody reads; the next run is cut after one message and resumes.
    did = conn["dids"][0]
    base = int(first.cursor["time_us"]) + 1000
    texts = ["पहली नई पोस्ट", "दूसरी नई पोस्ट", "तीसरी नई पोस्ट"]
    new = [_jetstream_post(did, f"3newpost{i}", base + i, t) for i, t in enumerate(texts)]
    polling.fake.data.jetstream_events.extend(new)
    polling.fake.drop_jetstream_after(1)
    polling.read_streams()  # cut after one post; its 1 s backoff outlasts this 1 s run
    polling.read_streams()
    stack.pump.drain()
    want = {f"bluesky#at://{did}/app.bsky.feed.post/3newpost{i}" for i in range(3)}
    assert _mention_keys() - keys == want
    after = store.get(key)
    assert after is not None and after.cursor["time_us"] == str(base + 2)
    # A crash before the cursor was saved: the same events are read again. No new mention,
    # and no new task.
    tasks_after = stack.task_count()
    store.save(key, PollState(cursor=first.cursor, last_success_at=time.time()))
    polling.read_streams()
    stack.pump.drain()
    assert _mention_keys() - keys == want
    assert stack.task_count() == tasks_after >= tasks


def _x_stream_post(n: int, author: str, text: str) -> dict[str, object]:
    tid = str(1_990_000_000_000_000_000 + n)
    return {
        "id": tid,
        "text": text,
        "author_id": author,
        "created_at": "2027-01-15T08:00:00.000Z",
        "edit_history_tweet_ids": [tid],
    }


def test_x_filtered_stream_runs_in_the_stack_and_a_cut_resumes_with_backfill_once(
    running: tuple[LocalStack, PollingDemo],
) -> None:
    import time

    from chalicelib.services.polling import PollState

    stack, polling = running
    assert stack.pump is not None
    fake = polling.fake
    polling.read_streams()  # the first run syncs the rules with the watchlist
    stack.pump.drain()
    assert sorted(r["value"] for r in fake.x_rules) == ["from:18839785 OR from:405427035"]
    stream_key = "x#filtered-stream"
    store = wiring.container().cursor_store
    first = store.get(stream_key)
    assert first is not None and first.cursor["seen_at"]
    keys, tasks = _mention_keys(), stack.task_count()
    # Posts made while no run reads; the next run is cut mid-way through the second one.
    texts = ["पहली नई पोस्ट #चुनाव", "दूसरी नई पोस्ट", "तीसरी नई पोस्ट"]
    at = time.time() - 2
    for n, text in enumerate(texts):
        fake.data.x_stream_posts.append({"at": at, "tweet": _x_stream_post(n, "18839785", text)})
    fake.drop_x_stream_after(1)
    polling.read_streams()  # cut; 250 ms later a reconnect with backfill resends
    stack.pump.drain()
    want = {f"x#{1_990_000_000_000_000_000 + n}" for n in range(3)}
    assert _mention_keys() - keys == want
    asked = [c["backfill_minutes"] for c in fake.x_stream_connections]
    assert asked[-2:] == [1, 1]
    # A crash before the position was saved, and backfill again: the same posts are read
    # again. No new mention, and no new task.
    tasks_after = stack.task_count()
    store.save(stream_key, PollState(cursor=first.cursor, last_success_at=time.time()))
    polling.read_streams()
    stack.pump.drain()
    assert _mention_keys() - keys == want
    assert stack.task_count() == tasks_after >= tasks
