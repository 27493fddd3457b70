"""Every stage of a post's way leaves its mark (issue 17), made by the handlers themselves."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from chalice.test import Client

from chalicelib.stages import StageMark, listen
from tests.factories import make_message
from tests.functional.conftest import World
from tests.functional.test_event_handlers import analyze, stream_event


@pytest.fixture
def marks() -> Iterator[list[StageMark]]:
    seen: list[StageMark] = []
    stop = listen(seen.append)
    yield seen
    stop()


def test_analyze_then_dispatch_mark_each_stage_of_a_post(
    client: Client, world: World, marks: list[StageMark]
) -> None:
    assert analyze(client, [json.dumps(make_message())]) == {"batchItemFailures": []}
    key = "x#1849000000000000001"
    stages = [(m.stage, m.mention_key) for m in marks]
    assert stages[:3] == [("created", key), ("analyzed", key), ("task_written", key)]
    assert stages[3:] == [("task_written", key), ("stored", key)]  # two teams, two tasks
    written = {m.task_id for m in marks if m.stage == "task_written"}
    assert written == set(world.tasks.tasks)
    marks.clear()
    tasks = list(world.tasks.tasks.values())
    client.lambda_.invoke("dispatch", stream_event(tasks))
    published = [m for m in marks if m.stage == "published"]
    assert {m.task_id for m in published} == written
    assert {m.mention_key for m in published} == {key}
    assert all(m.message_id for m in published)  # the SNS message id of the publish


def test_a_duplicate_marks_nothing_past_analysis(
    client: Client, world: World, marks: list[StageMark]
) -> None:
    analyze(client, [json.dumps(make_message())])
    marks.clear()
    analyze(client, [json.dumps(make_message())])
    assert [m.stage for m in marks] == ["created"]
