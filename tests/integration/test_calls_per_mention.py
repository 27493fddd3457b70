"""AWS round trips per mention on the analyze stage (issue 17: at most 4 on the common path).

The analyze use case on the DynamoDB adapters under moto; every request is counted where the
app's botocore sessions send it (``chalicelib.stages.aws_calls``). Configuration is loaded
first (once per container and version), then each mention's own calls are counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from itertools import count
from typing import Any

import pytest

from chalicelib.domain.language import detect
from chalicelib.services.analyze import AnalyzeService
from chalicelib.services.config_cache import CachedConfig
from chalicelib.settings import Settings
from chalicelib.stages import aws_calls
from tests.factories import T0, make_leader, make_message, make_query, make_team
from tests.seeding import seed

TEXT = "मोदी जी तो कह रहे थे कि नोटबंदी के बाद काला धन ख़त्म हो गया। पंजाब गोवा में तो जम के बँटा"


@pytest.fixture
def analyzer(tables: Settings) -> Iterator[AnalyzeService]:
    from chalicelib.adapters.dynamo.incidents import DynamoIncidentIndex
    from chalicelib.adapters.dynamo.repositories import (
        DynamoConfigRepository,
        DynamoMentionRepository,
        DynamoTaskRepository,
    )

    store = DynamoConfigRepository(lambda: T0)
    seed(store, make_leader(), make_query(), make_team())
    ticks = count()
    service = AnalyzeService(
        config=CachedConfig(store, 60.0, lambda: float(next(ticks)) / 100),
        mentions=DynamoMentionRepository(),
        tasks=DynamoTaskRepository(),
        clock=lambda: T0,
        detect=detect,
        mention_ttl=timedelta(days=2),
        matched_ttl=timedelta(days=30),
        incidents=DynamoIncidentIndex(),
    )
    service.config.watch_config()  # the container's first load, not a mention's cost
    service.config.teams_in_state("DL")
    yield service


def calls(service: AnalyzeService, message: dict[str, Any]) -> tuple[int, Any]:
    before = aws_calls.in_this_thread
    outcome = service.handle(message)
    return aws_calls.in_this_thread - before, outcome


def test_a_mention_that_matches_nothing_costs_one_write(analyzer: AnalyzeService) -> None:
    n, outcome = calls(analyzer, make_message(native_id="1", text="A quiet day in Delhi"))
    assert (n, outcome.duplicate, outcome.task_ids) == (1, False, ())
    n, again = calls(analyzer, make_message(native_id="1", text="A quiet day in Delhi"))
    assert (n, again.duplicate) == (1, True)


def test_a_new_incident_costs_at_most_four_calls(analyzer: AnalyzeService) -> None:
    n, outcome = calls(analyzer, make_message(native_id="1", text=TEXT))
    assert outcome.incident_reason == "new" and len(outcome.new_task_ids) == 1
    # BatchGetItem (own pointer, bands, leader + query), TransactWriteItems (incident),
    # PutItem (the task), PutItem (the mention, routed).
    assert n == 4


def test_a_repost_joins_its_incident_and_pages_nobody(analyzer: AnalyzeService) -> None:
    first = analyzer.handle(make_message(native_id="1", text=TEXT))
    n, repost = calls(analyzer, make_message(native_id="2", text="RT @AamAadmiParty: " + TEXT))
    assert repost.incident_key == first.incident_key and repost.new_task_ids == ()
    assert repost.task_ids == first.task_ids
    # BatchGetItem of the lookups, BatchGetItem of the candidate record, TransactWriteItems,
    # one UpdateItem counting it on the team's task (a second only when its priority rises:
    # not for a repost of the same figures), PutItem of the mention.
    assert n == 5
    task = analyzer.tasks.get(first.task_ids[0])
    assert task is not None and task.mention_count == 2


def test_a_redelivered_mention_is_a_duplicate_and_counts_once(analyzer: AnalyzeService) -> None:
    first = analyzer.handle(make_message(native_id="1", text=TEXT))
    again = analyzer.handle(make_message(native_id="1", text=TEXT))
    assert again.duplicate
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
    n, outcome = calls(analyzer, make_message(native_id="1", text=TEXT))
    assert len(outcome.new_task_ids) == 2
    assert n == 4  # the two tasks in one TransactWriteItems, so dispatch sees them together
