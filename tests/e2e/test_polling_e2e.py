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
        polling = start_polling(stack, demo.leaders, load_posts(), run_pump=False)
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
