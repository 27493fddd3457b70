"""AWS round trips per mention on the analyze stage (issue 17: at most 4 on the common path).

The analyze use case on the DynamoDB adapters under moto; every request is counted where the
app's botocore sessions send it (``chalicelib.stages.aws_calls``). Configuration is loaded
first (once per container and version), then each mention's own calls are counted, by
operation: a call added to any path fails its test.

A matched mention (``adapters/dynamo/routing.py``): one BatchGetItem of its lookups, the
mention and its own incident's tasks; one BatchGetItem of the candidate incidents and their
tasks (only when a lookup names one); one TransactWriteItems of everything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from itertools import count
from typing import Any

import pytest

from chalicelib.domain.language import detect
from chalicelib.domain.mention import Author
from chalicelib.services.analyze import AnalyzeService
from chalicelib.services.config_cache import CachedConfig
from chalicelib.settings import Settings
from chalicelib.stages import aws_calls
from tests.factories import T0, make_leader, make_message, make_query, make_team
from tests.seeding import seed

TTL = 60.0
BG, TX, PUT, GET = "BatchGetItem", "TransactWriteItems", "PutItem", "GetItem"
TEXT = "मोदी जी तो कह रहे थे कि नोटबंदी के बाद काला धन ख़त्म हो गया। पंजाब गोवा में तो जम के बँटा"


@pytest.fixture
def analyzer(tables: Settings) -> Iterator[AnalyzeService]:
    from chalicelib.adapters.dynamo.incidents import DynamoIncidentIndex
    from chalicelib.adapters.dynamo.repositories import (
        DynamoConfigRepository,
        DynamoMentionRepository,
        DynamoTaskRepository,
    )
    from chalicelib.adapters.dynamo.routing import DynamoMentionRouter

    store = DynamoConfigRepository(lambda: T0)
    seed(store, make_leader(), make_query(), make_team())
    ticks = count()
    service = AnalyzeService(
        config=CachedConfig(store, TTL, lambda: float(next(ticks)) / 100),
        mentions=DynamoMentionRepository(),
        tasks=DynamoTaskRepository(),
        clock=lambda: T0,
        detect=detect,
        mention_ttl=timedelta(days=2),
        matched_ttl=timedelta(days=30),
        incidents=DynamoIncidentIndex(),
        router=DynamoMentionRouter(),
    )
    service.config.watch_config()  # the container's first load, not a mention's cost
    service.config.teams_in_state("DL")
    yield service


def calls(service: AnalyzeService, message: dict[str, Any]) -> tuple[int, Any]:
    before = aws_calls.in_this_thread
    outcome = service.handle(message)
    return aws_calls.in_this_thread - before, outcome


def operations(service: AnalyzeService, message: dict[str, Any]) -> tuple[Counter[str], Any]:
    """The DynamoDB operations one mention cost, each with its count."""
    before = aws_calls.snapshot()
    outcome = service.handle(message)
    spent = aws_calls.snapshot() - before
    return Counter({op.removeprefix("dynamodb."): n for op, n in spent.items()}), outcome


def test_a_mention_that_matches_nothing_costs_one_write(analyzer: AnalyzeService) -> None:
    n, outcome = calls(analyzer, make_message(native_id="1", text="A quiet day in Delhi"))
    assert (n, outcome.duplicate, outcome.task_ids) == (1, False, ())
    n, again = calls(analyzer, make_message(native_id="1", text="A quiet day in Delhi"))
    assert (n, again.duplicate) == (1, True)


def test_a_new_incident_costs_two_calls(analyzer: AnalyzeService) -> None:
    ops, outcome = operations(analyzer, make_message(native_id="1", text=TEXT))
    assert outcome.incident_reason == "new" and len(outcome.new_task_ids) == 1
    # Nothing to look up further: the lookups' BatchGetItem, then one write of it all.
    assert ops == Counter({BG: 1, TX: 1})
    assert analyzer.mentions.status_of(outcome.key) == "routed"
    task = analyzer.tasks.get(outcome.new_task_ids[0])
    assert task is not None and task.mention_count == 1


def test_a_new_incident_beside_an_old_one_costs_three_calls(analyzer: AnalyzeService) -> None:
    """The bench's common case: the leader + query list names an earlier incident (here one
    outside the grouping window), so its record is read, and a new incident opens anyway."""
    old = analyzer.handle(make_message(native_id="1", text=TEXT, created_at=T0 - timedelta(days=2)))
    ops, outcome = operations(analyzer, make_message(native_id="2", text="नोटबंदी फिर से"))
    assert outcome.incident_reason == "new" and outcome.incident_key != old.incident_key
    assert len(outcome.new_task_ids) == 1
    assert ops == Counter({BG: 2, TX: 1})


def test_a_repost_joins_its_incident_and_pages_nobody(analyzer: AnalyzeService) -> None:
    first = analyzer.handle(make_message(native_id="1", text=TEXT))
    ops, repost = operations(
        analyzer, make_message(native_id="2", text="RT @AamAadmiParty: " + TEXT)
    )
    assert repost.incident_key == first.incident_key and repost.new_task_ids == ()
    assert repost.task_ids == first.task_ids
    # The lookups (and the mention), the candidate record with its task, one write.
    assert ops == Counter({BG: 2, TX: 1})
    task = analyzer.tasks.get(first.task_ids[0])
    assert task is not None and task.mention_count == 2
    assert task.priority == first_priority(analyzer, first.task_ids[0])


def first_priority(analyzer: AnalyzeService, task_id: str) -> float:
    task = analyzer.tasks.get(task_id)
    assert task is not None
    return task.priority


def test_a_repost_that_raises_the_priority_costs_no_more(analyzer: AnalyzeService) -> None:
    first = analyzer.handle(make_message(native_id="1", text=TEXT))
    before = first_priority(analyzer, first.task_ids[0])
    # The leader posts it again, now with a reach that makes it more urgent.
    loud = Author(id="1", handle="ArvindKejriwal", name="Arvind Kejriwal", followers=50_000_000)
    ops, repost = operations(
        analyzer, make_message(native_id="2", text="RT @AamAadmiParty: " + TEXT, author=loud)
    )
    assert repost.task_ids == first.task_ids and repost.new_task_ids == ()
    assert ops == Counter({BG: 2, TX: 1})
    assert first_priority(analyzer, first.task_ids[0]) > before
    # A quieter repost later leaves the raised priority where it is (it only rises).
    raised = first_priority(analyzer, first.task_ids[0])
    ops, _ = operations(analyzer, make_message(native_id="3", text="RT @x: " + TEXT))
    assert ops == Counter({BG: 2, TX: 1})
    task = analyzer.tasks.get(first.task_ids[0])
    assert task is not None and (task.priority, task.mention_count) == (raised, 3)


def test_past_the_config_ttl_one_getitem_more_then_none(analyzer: AnalyzeService) -> None:
    """Once per container and ttl, not per mention: the version is read, and when unchanged
    nothing else of the configuration is."""
    analyzer.handle(make_message(native_id="1", text=TEXT))
    analyzer.config.monotonic = lambda: 10 * TTL  # the ttl has passed
    ops, outcome = operations(analyzer, make_message(native_id="2", text="RT @x: " + TEXT))
    assert outcome.task_ids and outcome.new_task_ids == ()
    assert ops == Counter({GET: 1, BG: 2, TX: 1})
    ops, _ = operations(analyzer, make_message(native_id="3", text="RT @y: " + TEXT))
    assert ops == Counter({BG: 2, TX: 1})
    ops, _ = operations(analyzer, make_message(native_id="4", text="A quiet day in Delhi"))
    assert ops == Counter({PUT: 1})


def test_a_redelivered_mention_is_a_duplicate_and_counts_once(analyzer: AnalyzeService) -> None:
    first = analyzer.handle(make_message(native_id="1", text=TEXT))
    ops, again = operations(analyzer, make_message(native_id="1", text=TEXT))
    assert again.duplicate
    assert ops == Counter({BG: 1})  # its own pointer and the mention, routed: nothing written
    task = analyzer.tasks.get(first.task_ids[0])
    assert task is not None and task.mention_count == 1


def test_a_crash_before_the_mention_is_stored_is_finished_by_the_redelivery(
    analyzer: AnalyzeService,
) -> None:
    """The incident and task were written, the mention not: the redelivery routes it."""
    from chalicelib.domain.analysis import analyze
    from chalicelib.domain.incidents import signature
    from chalicelib.domain.mention import mention_from_dict

    message = make_message(native_id="1", text=TEXT)
    config = analyzer.config.watch_config()
    analyzed = analyze(
        mention_from_dict(message), detect(TEXT), config, T0, timedelta(1), timedelta(30)
    )
    decision = analyzer.incidents.assign(analyzed.incident_probe(signature))
    outcome = analyzer.handle(message)
    assert (outcome.duplicate, outcome.incident_key) == (False, decision.incident_key)
    assert outcome.incident_reason == "redelivery" and len(outcome.new_task_ids) == 1
    assert analyzer.mentions.status_of(outcome.key) == "routed"
    assert analyzer.handle(message).duplicate


def test_the_tasks_of_several_teams_are_one_write(analyzer: AnalyzeService) -> None:
    from chalicelib.adapters.dynamo.repositories import DynamoConfigRepository

    seed(DynamoConfigRepository(lambda: T0), make_team("DL-EAST-01"))
    analyzer.config.invalidate()
    analyzer.config.watch_config()
    analyzer.config.teams_in_state("DL")
    ops, outcome = operations(analyzer, make_message(native_id="1", text=TEXT))
    assert len(outcome.new_task_ids) == 2
    # The two tasks in the one TransactWriteItems, so dispatch sees them together.
    assert ops == Counter({BG: 1, TX: 1})


def test_a_containers_first_load_reads_the_version_once(analyzer: AnalyzeService) -> None:
    """The version is read once (it was twice) with the leaders, queries, chains and routes."""
    fresh = CachedConfig(analyzer.config.store, TTL, lambda: 0.0)
    before = aws_calls.snapshot()
    fresh.watch_config()
    spent = aws_calls.snapshot() - before
    # GetItem of the version and of the route tree; a Query of leaders, queries and chains.
    assert spent == Counter({"dynamodb.GetItem": 2, "dynamodb.Query": 3})


def test_a_mention_that_lost_a_race_reads_and_decides_again(analyzer: AnalyzeService) -> None:
    """Another container routes a repost between this one's reads and its write: the
    transaction is cancelled (a list's version moved on), read again, and both count once."""
    from chalicelib.adapters.dynamo.routing import DynamoMentionRouter
    from chalicelib.domain.analysis import analyze, plan_tasks
    from chalicelib.domain.incidents import signature
    from chalicelib.domain.mention import mention_from_dict

    first = analyzer.handle(make_message(native_id="1", text=TEXT))
    config = analyzer.config.watch_config()
    teams = analyzer.config.teams_in_state("DL")

    def analyzed_of(native_id: str, text: str) -> Any:
        message = make_message(native_id=native_id, text=text)
        return analyze(
            mention_from_dict(message), detect(text), config, T0, timedelta(1), timedelta(30)
        )

    mine, theirs = analyzed_of("2", "RT @a: " + TEXT), analyzed_of("3", "RT @b: " + TEXT)
    raced: list[str] = []

    def plan_with_a_race(incident_key: str) -> list[Any]:
        if incident_key == first.incident_key and not raced:
            # Called between this router's reads and its write: the other container wins.
            other = DynamoMentionRouter().route(
                theirs,
                theirs.incident_probe(signature),
                lambda k: plan_tasks(theirs, config, teams, T0, k),
                "c-3",
            )
            raced.append(other.decision.reason)
        return plan_tasks(mine, config, teams, T0, incident_key)

    before = aws_calls.snapshot()
    routed = DynamoMentionRouter().route(
        mine, mine.incident_probe(signature), plan_with_a_race, "c-2"
    )
    spent = aws_calls.snapshot() - before
    assert raced == ["near_duplicate"]
    assert routed.decision.incident_key == first.incident_key and routed.created == ()
    # Ours: 2 reads + a cancelled write, then 2 reads + the write; theirs: 2 reads + 1 write.
    assert spent["dynamodb.TransactWriteItems"] == 3
    task = analyzer.tasks.get(first.task_ids[0])
    assert task is not None and task.mention_count == 3
    assert analyzer.mentions.status_of("x#2") == analyzer.mentions.status_of("x#3") == "routed"


def test_a_read_past_100_keys_is_split(analyzer: AnalyzeService) -> None:
    """BatchGetItem takes 100 keys: a flood naming many incidents costs a call per 100."""
    from chalicelib.adapters.dynamo.routing import _batch_get

    first = analyzer.handle(make_message(native_id="1", text=TEXT))
    ids = [f"t_none_{i}" for i in range(150)] + [first.task_ids[0]]
    before = aws_calls.snapshot()
    reads = _batch_get([], ["x#1"], ids)
    assert aws_calls.snapshot() - before == Counter({"dynamodb.BatchGetItem": 2})
    assert list(reads.tasks) == [first.task_ids[0]] and list(reads.mentions) == ["x#1"]
