"""One contract, two implementations: the DynamoDB repositories and the in-memory fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.analysis import WatchConfig, analyze
from chalicelib.domain.keywords import compile_queries
from chalicelib.domain.language import detect
from chalicelib.domain.mention import Author
from chalicelib.domain.tasks import Task, TaskAction, TaskStatus, task_id_for, transition
from chalicelib.errors import ConflictError, InvalidInputError, PreconditionFailedError
from chalicelib.services.config_cache import CachedConfig, load_teams, load_watch_config
from chalicelib.settings import Settings
from tests.factories import T0, make_leader, make_mention, make_query, make_team
from tests.fakes import InMemoryConfigRepository, InMemoryMentionRepository, InMemoryTaskRepository
from tests.seeding import SEEDER, seed


@pytest.fixture(params=["memory", "dynamo"])
def repos(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "memory":
        return {
            "mentions": InMemoryMentionRepository(),
            "tasks": InMemoryTaskRepository(),
            "config": InMemoryConfigRepository(),
        }
    request.getfixturevalue("tables")
    from chalicelib.adapters.dynamo.repositories import (
        DynamoConfigRepository,
        DynamoMentionRepository,
        DynamoTaskRepository,
    )

    counter = iter(range(1_000_000))
    return {
        "mentions": DynamoMentionRepository(),
        "tasks": DynamoTaskRepository(),
        "config": DynamoConfigRepository(lambda: T0, new_id=lambda: str(next(counter))),
    }


def analyzed(**overrides: Any) -> Any:
    query = make_query()
    config = WatchConfig.build("1", [make_leader()], [query], compile_queries([query]))
    mention = make_mention(**overrides)
    return analyze(
        mention, detect(mention.text), config, T0, timedelta(days=30), timedelta(days=365)
    )


def make_task(team: str = "DL-CENTRAL-01") -> Task:
    return Task(
        task_id=task_id_for(team, "x#1"),
        team_id=team,
        state="DL",
        incident_key="x#1",
        mention_key="x#1",
        created_at=T0,
        query_ids=("q-demonetisation",),
        terms=("नोटबंदी", "black money"),
        severity=4,
        route={"strategy": "leader-state"},
    )


def test_a_mention_is_stored_once(repos: dict[str, Any]) -> None:
    mentions = repos["mentions"]
    record = analyzed()
    assert mentions.status_of(record.mention.key) is None
    assert mentions.put_new(record, "c-1") is True
    assert mentions.put_new(record, "c-1") is False
    assert mentions.status_of(record.mention.key) == "analyzed"
    mentions.mark_routed(record.mention.key, ["t_1"])
    assert mentions.status_of(record.mention.key) == "routed"


def test_a_task_is_created_once_and_reads_back_equal(repos: dict[str, Any]) -> None:
    tasks = repos["tasks"]
    task = make_task()
    assert tasks.create(task) is True
    assert tasks.create(replace(task, severity=1)) is False
    assert tasks.get(task.task_id) == task
    assert tasks.get("t_missing") is None


def test_transitions_are_optimistic_and_append_events(repos: dict[str, Any]) -> None:
    tasks = repos["tasks"]
    task = make_task()
    tasks.create(task)
    dispatched, event = transition(task, TaskAction.DISPATCH, "system", T0)
    assert event is not None
    tasks.save_transition(dispatched, event, expected_version=1)
    acked, ack = transition(dispatched, TaskAction.ACK, "w1", T0 + timedelta(minutes=2))
    assert ack is not None
    with pytest.raises(ConflictError):
        tasks.save_transition(acked, ack, expected_version=1)  # stale version
    tasks.save_transition(acked, ack, expected_version=2)
    stored = tasks.get(task.task_id)
    assert stored is not None and stored.status is TaskStatus.ACKNOWLEDGED and stored.version == 3
    assert [(e.seq, e.action, e.actor) for e in tasks.events(task.task_id)] == [
        (2, TaskAction.DISPATCH, "system"),
        (3, TaskAction.ACK, "w1"),
    ]


def test_config_round_trips_and_every_change_is_audited(repos: dict[str, Any]) -> None:
    config = repos["config"]
    seed(
        config,
        make_leader(),
        make_query(),
        make_team("DL-CENTRAL-01", "DL"),
        make_team("UP-VARANASI-01", "UP"),
    )
    first = load_watch_config(config)
    assert first.leader_for("x", "@arvindkejriwal") == make_leader()
    assert list(first.queries) == ["q-demonetisation"]
    assert [t.id for t in load_teams(config, "DL")] == ["DL-CENTRAL-01"]
    seed(config, make_leader(state="PB"))
    second = load_watch_config(config)
    assert second.leader_for("x", "ArvindKejriwal").state == "PB"
    assert int(second.version) > int(first.version)


def test_config_partitions_list_in_id_order_from_a_position(repos: dict[str, Any]) -> None:
    config = repos["config"]
    for n in (3, 1, 2, 4):
        config.write_item("LEADER", f"l{n}", "leader", {"n": n}, "DL", "u", None)
    assert [r.id for r in config.list_items("LEADER")] == ["l1", "l2", "l3", "l4"]
    assert [r.id for r in config.list_items("LEADER", limit=2)] == ["l1", "l2"]
    assert [r.id for r in config.list_items("LEADER", limit=2, after="l2")] == ["l3", "l4"]
    assert config.list_items("LEADER", after="l4") == []


def test_dynamo_audit_log_records_who_before_and_after(tables: Settings) -> None:
    from chalicelib.adapters.dynamo.models import AuditModel
    from chalicelib.adapters.dynamo.repositories import DynamoConfigRepository

    ids = iter(["a", "b", "b"])
    repo = DynamoConfigRepository(lambda: T0, new_id=lambda: next(ids))
    seed(repo, make_leader())
    seed(repo, make_leader(name="A. Kejriwal"))
    records = sorted(AuditModel.query("DL"), key=lambda r: r.action)
    assert [(r.action, r.actor, r.entity) for r in records] == [
        ("create", SEEDER.sub, "leader"),
        ("update", SEEDER.sub, "leader"),
    ]
    assert records[1].before["name"] == "Arvind Kejriwal"
    assert records[1].after["name"] == "A. Kejriwal"
    # A colliding audit key fails the whole change rather than overwrite history.
    with pytest.raises(PreconditionFailedError):
        seed(repo, make_leader(name="Someone"))
    assert len(list(AuditModel.query("DL"))) == 2


def test_mentions_expire_through_ttl(tables: Settings) -> None:
    from chalicelib.adapters.dynamo.models import MentionModel
    from chalicelib.adapters.dynamo.repositories import DynamoMentionRepository

    matched = analyzed()
    unmatched = analyzed(native_id="2", text="Good morning")
    DynamoMentionRepository().put_new(matched, "c")
    DynamoMentionRepository().put_new(unmatched, "c")
    assert MentionModel.get("x#1849000000000000001").expires_at == T0 + timedelta(days=365)
    assert MentionModel.get("x#2").expires_at == T0 + timedelta(days=30)


def test_open_tasks_are_due_for_escalation_until_acknowledged(repos: dict[str, Any]) -> None:
    tasks = repos["tasks"]
    due = T0 + timedelta(minutes=15)
    task = replace(make_task(), escalate_at=due)
    tasks.create(task)
    tasks.create(replace(make_task("DL-EAST-01"), escalate_at=due + timedelta(hours=1)))
    assert tasks.due_for_escalation("DL", T0) == []
    assert [t.task_id for t in tasks.due_for_escalation("DL", due)] == [task.task_id]
    assert tasks.due_for_escalation("UP", due) == []
    # One step taken: due again later; a stale second recorder loses.
    assert tasks.record_escalation(task, 0, due + timedelta(minutes=15)) is True
    assert tasks.record_escalation(task, 0, due + timedelta(minutes=15)) is False
    assert tasks.due_for_escalation("DL", due) == []
    stored = tasks.get(task.task_id)
    assert stored.escalation_step == 1
    acked, event = transition(stored, TaskAction.ACK, "w1", due)
    tasks.save_transition(acked, event, expected_version=stored.version)
    later = tasks.due_for_escalation("DL", due + timedelta(days=1))
    assert [t.team_id for t in later] == ["DL-EAST-01"]


def test_deleting_a_mention_returns_its_tasks_and_redacts_only_theirs(
    repos: dict[str, Any],
) -> None:
    mentions, tasks = repos["mentions"], repos["tasks"]
    record = analyzed()
    mentions.put_new(record, "c")
    task = replace(make_task(), mention_key=record.mention.key, excerpt="the gaffe")
    other = replace(make_task("DL-EAST-01"), mention_key="x#other", excerpt="another post")
    tasks.create(task)
    tasks.create(other)
    mentions.mark_routed(record.mention.key, [task.task_id])
    assert mentions.delete(record.mention.key) == [task.task_id]
    assert mentions.status_of(record.mention.key) is None
    assert mentions.delete(record.mention.key) == []
    tasks.redact(task.task_id, record.mention.key)
    tasks.redact(other.task_id, record.mention.key)  # opened by another post: untouched
    assert tasks.get(task.task_id).excerpt == "(deleted on the platform)"
    assert tasks.get(other.task_id).excerpt == "another post"


def test_later_mentions_are_counted_once_each(repos: dict[str, Any]) -> None:
    tasks = repos["tasks"]
    task = make_task()
    tasks.create(task)
    tasks.note_mention(task.task_id, "x#2")
    tasks.note_mention(task.task_id, "x#2")
    tasks.note_mention(task.task_id, "x#3")
    assert tasks.get(task.task_id).mention_count == 3


def test_the_compiled_matcher_is_reused_until_the_queries_change(tables: Settings) -> None:
    from chalicelib.adapters.dynamo.repositories import DynamoConfigRepository

    repo = DynamoConfigRepository(lambda: T0)
    cache = CachedConfig(repo, 0.0, iter(range(1, 100)).__next__)
    seed(repo, make_query())
    first = cache.watch_config().matcher
    seed(repo, make_leader())  # not a query change
    assert cache.watch_config().matcher is first
    seed(repo, make_query(id="q-cbi", query="CBI"))
    second = cache.watch_config().matcher
    assert second is not first
    assert [m.query_id for m in second.match("The CBI raided")] == ["q-cbi"]


def test_a_teams_tasks_page_newest_first_and_stay_in_the_team(repos: dict[str, Any]) -> None:
    tasks = repos["tasks"]
    mine = [
        replace(make_task(), task_id=f"t_{n}", created_at=T0 + timedelta(minutes=n))
        for n in range(5)
    ]
    for t in [*mine, replace(make_task("DL-EAST-01"), created_at=T0 + timedelta(hours=1))]:
        assert tasks.create(t)
    seen: list[str] = []
    cursor = None
    for _ in range(6):
        page, cursor = tasks.list_by_team("DL-CENTRAL-01", 2, cursor)
        assert len(page) <= 2
        seen += [t.task_id for t in page]
        if cursor is None:
            break
    assert seen == ["t_4", "t_3", "t_2", "t_1", "t_0"]
    page, _ = tasks.list_by_team("DL-CENTRAL-01", 10, None, status="dispatched")
    assert page == []
    new, event = transition(mine[1], TaskAction.DISPATCH, "dispatcher", T0)
    assert event is not None
    tasks.save_transition(new, event, 1)
    page, _ = tasks.list_by_team("DL-CENTRAL-01", 10, None, status="dispatched")
    assert [t.task_id for t in page] == ["t_1"]


def test_a_forged_cursor_is_invalid_input(repos: dict[str, Any]) -> None:
    from chalicelib.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        repos["tasks"].list_by_team("DL-CENTRAL-01", 2, "bm90LWpzb24")


def test_config_items_are_versioned_audited_and_deletable(repos: dict[str, Any]) -> None:
    from chalicelib.errors import NotFoundError, PreconditionFailedError

    config = repos["config"]
    created = config.write_item("LEADER", "l1", "leader", {"n": 1}, "RJ", "u1", None)
    assert created.version == 1 and created.data == {"n": 1}
    with pytest.raises(ConflictError):
        config.write_item("LEADER", "l1", "leader", {"n": 9}, "RJ", "u1", None)
    with pytest.raises(PreconditionFailedError):
        config.write_item("LEADER", "l1", "leader", {"n": 2}, "RJ", "u2", 5)
    updated = config.write_item(
        "LEADER", "l1", "leader", {"n": 2}, "RJ", "u2", 1, index=[("IDX", "l1", {"s": "RJ"})]
    )
    assert updated.version == 2
    assert config.get_item("IDX", "l1").data == {"s": "RJ"}
    assert [r.id for r in config.list_items("LEADER")] == ["l1"]
    config.write_item("LEADER", "l1", "leader", None, "RJ", "u3", 2, index=[("IDX", "l1", None)])
    assert config.get_item("LEADER", "l1") is None and config.get_item("IDX", "l1") is None
    with pytest.raises(NotFoundError):
        config.write_item("LEADER", "l1", "leader", None, "RJ", "u3", 3)
    records, cursor = config.audit_log("RJ", 2)
    assert [(r.action, r.actor) for r in records] == [("delete", "u3"), ("update", "u2")]
    assert records[0].before == {"n": 2} and records[0].after is None
    assert cursor is not None
    rest, _ = config.audit_log("RJ", 2, cursor)
    assert [(r.action, r.actor, r.before) for r in rest] == [("create", "u1", None)]
    assert config.audit_log("UP", 5) == ([], None)


def test_audit_records_keep_where_their_object_lived(repos: dict[str, Any]) -> None:
    from chalicelib.domain.access import Scope

    config = repos["config"]
    east, central = Scope("DL", "EAST", "t1"), Scope("DL", "CENTRAL", "t1")
    config.write_item("TEAMS#DL", "t1", "team", {"n": 1}, "DL", "u1", None, objects=[east])
    config.write_item("TEAMS#DL", "t1", "team", {"n": 2}, "DL", "u1", 1, objects=[east, central])
    config.write_item("TEAMS#DL", "t2", "team", {"n": 1}, "DL", "u1", None)  # says nowhere
    records, _ = config.audit_log("DL", 5)
    assert [r.objects for r in records] == [None, (east, central), (east,)]


def test_a_new_item_claims_its_index_pointer(repos: dict[str, Any]) -> None:
    """Two states creating one team id: the second create finds the pointer taken (issue 12)."""
    config = repos["config"]
    pointer = [("TEAMIDX", "shared-id", {"pk": "TEAMS#RJ"})]
    config.write_item("TEAMS#RJ", "shared-id", "team", {"s": "RJ"}, "RJ", "u1", None, pointer)
    taken = [("TEAMIDX", "shared-id", {"pk": "TEAMS#MP"})]
    with pytest.raises(ConflictError) as refused:
        config.write_item("TEAMS#MP", "shared-id", "team", {"s": "MP"}, "MP", "u2", None, taken)
    assert [p.as_dict() for p in refused.value.problems] == [{"loc": "id", "msg": "taken"}]
    assert config.get_item("TEAMS#MP", "shared-id") is None  # nothing of it was written
    assert config.get_item("TEAMIDX", "shared-id").data == {"pk": "TEAMS#RJ"}
    assert [r.action for r in config.audit_log("MP", 5)[0]] == []
    # An update rewrites its own pointer.
    config.write_item("TEAMS#RJ", "shared-id", "team", {"s": "RJ2"}, "RJ", "u1", 1, pointer)
    assert config.get_item("TEAMS#RJ", "shared-id").version == 2


def test_a_sample_of_stored_mentions_carries_text_language_and_state(
    repos: dict[str, Any],
) -> None:
    mentions = repos["mentions"]
    mentions.put_new(analyzed(), "c")
    mentions.put_new(
        analyzed(native_id="2", text="Good morning", author=make_mention().author), "c"
    )
    sample = {m.key: m for m in mentions.sample(10)}
    assert set(sample) == {"x#1849000000000000001", "x#2"}
    assert sample["x#2"].text == "Good morning" and sample["x#2"].state == "DL"
    assert sample["x#1849000000000000001"].lang == "hi"
    assert len(mentions.sample(1)) == 1


def test_a_tasks_priority_only_rises(repos: dict[str, Any]) -> None:
    tasks = repos["tasks"]
    task = replace(make_task(), priority=12.5)
    tasks.create(task)
    tasks.note_mention(task.task_id, "x#2", priority=8.0)
    assert tasks.get(task.task_id).priority == 12.5
    tasks.note_mention(task.task_id, "x#3", priority=40.25)
    assert tasks.get(task.task_id).priority == 40.25
    assert tasks.get(task.task_id).mention_count == 3


def stored(mentions: Any, native_id: str, minutes: int, **overrides: Any) -> str:
    """Store an analyzed mention ingested ``minutes`` after T0; its key."""
    query = make_query()
    config = WatchConfig.build("1", [make_leader()], [query], compile_queries([query]))
    mention = make_mention(native_id=native_id, url=f"https://x.com/s/{native_id}", **overrides)
    record = analyze(
        mention,
        detect(mention.text),
        config,
        T0 + timedelta(minutes=minutes),
        timedelta(days=30),
        timedelta(days=365),
    )
    assert mentions.put_new(record, "c")
    return record.mention.key


def walk(mentions: Any, state: str, limit: int, matched: bool | None = None) -> list[Any]:
    """Every page of a state's mentions, in order; each page within ``limit``."""
    out: list[Any] = []
    cursor = None
    for _ in range(20):
        page, cursor = mentions.list_by_state(state, limit, cursor, matched)
        assert len(page) <= limit
        out += page
        if cursor is None:
            return out
    raise AssertionError("the cursor never ends")


def test_mentions_are_listed_per_state_newest_first_and_read_by_key(
    repos: dict[str, Any],
) -> None:
    mentions = repos["mentions"]
    unmatched = "बस यूं ही एक पोस्ट, कोई मुद्दा नहीं"
    keys = {
        "old": stored(mentions, "1", 1),
        "tie-a": stored(mentions, "2", 5),
        "tie-b": stored(mentions, "3", 5),  # the same instant: one analyze batch
        "plain": stored(mentions, "4", 7, text=unmatched),
        "new": stored(mentions, "5", 9),
    }
    stored(mentions, "6", 8, author=Author(id="9", handle="someone"))  # no watched leader
    mentions.mark_routed(keys["new"], ["t_1", "t_2"])

    listed = walk(mentions, "DL", 2)
    assert [m.key for m in listed][:1] == [keys["new"]]
    assert sorted(m.key for m in listed) == sorted(keys.values())
    times = [m.ingested_at for m in listed]
    assert times == sorted(times, reverse=True)
    assert [m.key for m in walk(mentions, "DL", 100, matched=False)] == [keys["plain"]]
    assert keys["plain"] not in [m.key for m in walk(mentions, "DL", 1, matched=True)]
    assert len(walk(mentions, "DL", 1, matched=True)) == 4
    assert walk(mentions, "UP", 5) == []

    new = mentions.get(keys["new"])
    assert new == next(m for m in listed if m.key == keys["new"])
    assert (new.platform, new.author_handle, new.leader_id, new.state) == (
        "x",
        "ArvindKejriwal",
        "arvind-kejriwal",
        "DL",
    )
    assert (new.url, new.status, new.task_ids) == ("https://x.com/s/5", "routed", ("t_1", "t_2"))
    assert new.ingested_at == T0 + timedelta(minutes=9) and new.created_at == T0
    assert [q.query_id for q in new.matches] == ["q-demonetisation"]
    assert new.matches[0].spans and new.lang == "hi" and new.script
    assert mentions.get(keys["plain"]).matches == ()
    unwatched = mentions.get("x#6")
    assert (unwatched.state, unwatched.leader_id) == ("", "")
    assert mentions.get("x#missing") is None
    assert sorted(m.key for m in mentions.get_many([keys["old"], "x#missing", keys["old"]])) == [
        keys["old"]
    ]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJhIjoiMSJ9"])
def test_a_forged_mention_cursor_is_invalid_input(repos: dict[str, Any], cursor: str) -> None:
    with pytest.raises(InvalidInputError):
        repos["mentions"].list_by_state("DL", 5, cursor)


def test_a_filtered_mention_page_reads_a_bounded_number_of_index_pages(tables: Settings) -> None:
    from chalicelib.adapters.dynamo.repositories import DynamoMentionRepository

    mentions = DynamoMentionRepository(max_filtered_pages=1)
    oldest = stored(mentions, "1", 0)
    for n in range(2, 8):
        stored(mentions, str(n), n, text="बस यूं ही एक पोस्ट")
    first, cursor = mentions.list_by_state("DL", 1, None, matched=True)
    assert (first, cursor is not None) == ([], True)  # 4 read, none matched: stop, say where
    assert [m.key for m in walk(mentions, "DL", 1, matched=True)] == [oldest]


def test_tasks_created_together_are_all_or_none(repos: dict[str, Any]) -> None:
    tasks = repos["tasks"]
    east, central = make_task("DL-EAST-01"), make_task("DL-CENTRAL-01")
    assert tasks.create_all([east, central]) is True
    assert tasks.get(east.task_id) is not None and tasks.get(central.task_id) is not None
    north = replace(make_task("DL-NORTH-01"), task_id="t_north")
    assert tasks.create_all([north, east]) is False  # east exists: nothing is written
    assert tasks.get("t_north") is None


def test_many_tasks_read_back_by_id_in_one_call_missing_ones_left_out(
    repos: dict[str, Any],
) -> None:
    tasks = repos["tasks"]
    east, central = make_task("DL-EAST-01"), make_task("DL-CENTRAL-01")
    tasks.create_all([east, central])
    got = tasks.get_many([east.task_id, "t_missing", central.task_id, east.task_id])
    assert got == {east.task_id: east, central.task_id: central}
    assert tasks.get_many([]) == {}
