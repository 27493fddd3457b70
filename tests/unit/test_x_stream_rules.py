"""X's filtered stream, the pure parts as tables: rule packing, the rules diff, backoff, backfill.

The adapter's pure functions are tested here; the same functions run against the fake X
server in tests/integration/test_x_filtered_stream.py.
"""

from __future__ import annotations

import json
import time

import pytest

from chalicelib.adapters.http_stream import ScriptedStreamingResponse
from chalicelib.adapters.platforms.x import (
    PLANS,
    RULE_TAG,
    FilteredStreamSource,
    Plan,
    StreamRule,
    backfill_minutes,
    consume_filtered_stream,
    pack_from_rules,
    plan_rules,
    reconnect_delay,
    rule_accounts,
    rules_digest,
)
from chalicelib.errors import PlatformStatusError, RateLimitedError, UpstreamError
from chalicelib.services.polling import InMemoryCursorStore, InMemoryMentionSink
from chalicelib.services.streams import StreamConsumer, StreamContext
from chalicelib.settings import ENV_X_PLAN, X_PLANS, Settings

PRO = PLANS["pro"]
TINY = Plan(stream=True, max_rules=3, rule_length=30)


@pytest.mark.parametrize(
    ("accounts", "length", "rules"),
    [
        ([], 30, []),
        (["1"], 30, ["from:1"]),
        (["2", "1", "2"], 30, ["from:1 OR from:2"]),  # sorted, once each
        # "from:1 OR from:2 OR from:3" is 26 characters: it fits in 26, not in 25.
        (["1", "2", "3"], 26, ["from:1 OR from:2 OR from:3"]),
        (["1", "2", "3"], 25, ["from:1 OR from:2", "from:3"]),
        (["1", "2", "3"], 6, ["from:1", "from:2", "from:3"]),
        (["aaaaaaaaaa", "b"], 20, ["from:aaaaaaaaaa", "from:b"]),
        ([str(10**18 + i) for i in range(100)], 1024, None),  # checked below: every rule fits
    ],
)
def test_pack_from_rules(accounts: list[str], length: int, rules: list[str] | None) -> None:
    packed = pack_from_rules(accounts, length)
    if rules is not None:
        assert packed == rules
    assert all(len(r) <= length for r in packed)
    assert sorted(a for r in packed for a in rule_accounts(r) or ()) == sorted(set(accounts))


def test_a_clause_longer_than_a_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="longer than a rule"):
        pack_from_rules(["12345678"], 10)


@pytest.mark.parametrize(
    ("value", "accounts"),
    [
        ("from:1", {"1"}),
        ("from:1 OR from:leader_2", {"1", "leader_2"}),
        ("from:1 OR #election", None),  # not a rule we write
        ("(from:1 OR from:2) -is:retweet", None),
        ("from: 1", None),
        ("", None),
    ],
)
def test_rule_accounts(value: str, accounts: set[str] | None) -> None:
    got = rule_accounts(value)
    assert (None if got is None else set(got)) == accounts


def ours(rule_id: str, value: str) -> StreamRule:
    return StreamRule(rule_id, value, RULE_TAG)


@pytest.mark.parametrize(
    ("current", "watched", "add", "delete", "left_out"),
    [
        # nothing yet: one packed rule per 30 characters
        ([], ["1", "2", "3"], ["from:1 OR from:2 OR from:3"], [], []),
        # in step: no change
        ([ours("r1", "from:1 OR from:2")], ["2", "1"], [], [], []),
        # a new account goes into a new rule; the kept rule is not rewritten
        ([ours("r1", "from:1 OR from:2")], ["1", "2", "3"], ["from:3"], [], []),
        # an account no longer watched: its rule goes, the rest of it is packed anew
        (
            [ours("r1", "from:1 OR from:2"), ours("r2", "from:3")],
            ["2", "3"],
            ["from:2"],
            ["r1"],
            [],
        ),
        # someone else's rule is left alone
        ([StreamRule("f1", "#election", "theirs")], ["1"], ["from:1"], [], []),
        # a rule of ours we did not write this way is replaced
        ([ours("r1", "from:1 -is:retweet")], ["1"], ["from:1"], ["r1"], []),
        # two rules holding the same account: the second goes
        (
            [ours("r1", "from:1"), ours("r2", "from:1 OR from:2")],
            ["1", "2"],
            ["from:2"],
            ["r2"],
            [],
        ),
        # longer than the plan allows (after a downgrade): repacked
        (
            [ours("r1", "from:1 OR from:2 OR from:3 OR from:4")],
            ["1", "2", "3", "4"],
            ["from:1 OR from:2 OR from:3", "from:4"],
            ["r1"],
            [],
        ),
        # the plan's rule count, with foreign rules counted: what does not fit is left out
        (
            [StreamRule("f1", "a", "x"), StreamRule("f2", "b", "y")],
            ["1111111111", "2222222222", "3333333333"],
            ["from:1111111111"],  # two ids would be 34 characters: one rule each
            [],
            ["2222222222", "3333333333"],
        ),
        # not an X account name or id: left out, never sent
        ([], ["leader one", "@leader_2"], ["from:leader_2"], [], ["leader one"]),
        # watchlist emptied: every rule of ours goes
        ([ours("r1", "from:1"), StreamRule("f1", "#x", "theirs")], [], [], ["r1"], []),
    ],
)
def test_plan_rules(
    current: list[StreamRule],
    watched: list[str],
    add: list[str],
    delete: list[str],
    left_out: list[str],
) -> None:
    changes = plan_rules(current, watched, TINY)
    assert (list(changes.add), list(changes.delete), list(changes.left_out)) == (
        add,
        delete,
        left_out,
    )


def test_the_rules_digest_changes_with_the_watchlist_and_the_plan_only() -> None:
    base = rules_digest(["1", "2"], PRO)
    assert rules_digest(["2", "1", "1"], PRO) == base
    assert rules_digest(["1", "3"], PRO) != base
    assert rules_digest(["1", "2"], PLANS["enterprise"]) != base


NETWORK = UpstreamError("cut")
HTTP = PlatformStatusError("503", status=503)
LIMITED = RateLimitedError("429")


@pytest.mark.parametrize(
    ("error", "delays"),
    [
        # X: network errors back off linearly, 250 ms more each time, up to 16 s
        (NETWORK, {1: 0.25, 2: 0.5, 4: 1.0, 63: 15.75, 64: 16.0, 65: 16.0, 1000: 16.0}),
        # HTTP errors exponentially from 5 s, up to 320 s
        (HTTP, {1: 5.0, 2: 10.0, 3: 20.0, 6: 160.0, 7: 320.0, 8: 320.0, 100: 320.0}),
        # 429 exponentially from a minute (our cap: 64 minutes)
        (LIMITED, {1: 60.0, 2: 120.0, 3: 240.0, 7: 3840.0, 8: 3840.0, 10_000: 3840.0}),
    ],
)
def test_reconnect_delay(error: UpstreamError, delays: dict[int, float]) -> None:
    assert {n: reconnect_delay(n, error) for n in delays} == delays


NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("plan", "seen_at", "minutes"),
    [
        ("pro", None, 0),  # no backfill on Pro
        ("pro", NOW - 600, 0),
        ("enterprise", None, 1),  # a first connection looks back a minute
        ("enterprise", NOW - 5, 1),
        ("enterprise", NOW - 60, 1),
        ("enterprise", NOW - 61, 2),
        ("enterprise", NOW - 299, 5),
        ("enterprise", NOW - 3600, 5),  # at most 5: beyond that the poller covers
        ("enterprise", NOW + 30, 1),  # a clock that went back still asks one minute
    ],
)
def test_backfill_minutes(plan: str, seen_at: float | None, minutes: int) -> None:
    assert backfill_minutes(PLANS[plan], seen_at, NOW) == minutes


def test_the_settings_know_the_plans_the_adapter_knows() -> None:
    assert set(X_PLANS) == set(PLANS)
    assert Settings.from_env({}).x_plan == "basic"
    assert Settings.from_env({ENV_X_PLAN: " Pro "}).x_plan == "pro"
    with pytest.raises(ValueError, match="TVARIT_X_PLAN: unknown plan 'premium'"):
        Settings.from_env({ENV_X_PLAN: "premium"})


def test_the_basic_plan_never_connects_and_says_who_covers_x() -> None:
    consumer = StreamConsumer(InMemoryCursorStore(), InMemoryMentionSink(), wall_clock=lambda: NOW)
    ctx = StreamContext(
        consumer,
        "http://127.0.0.1:9",  # nothing listens: a connection attempt would fail loudly
        ["18839785"],
        1.0,
        secret=lambda _: "token",
        setting=lambda name: {"x_plan": "basic"}.get(name, ""),
    )
    run = consume_filtered_stream(ctx)
    assert (run.connections, run.errors) == (0, [])
    assert run.notes == ["the basic plan has no filtered stream: the timeline poller reads X"]


def _line(n: int, text: str) -> bytes:
    doc = {"data": {"id": str(1_860_000_000_000_000_000 + n), "text": text, "author_id": "7"}}
    return json.dumps(doc, ensure_ascii=False).encode() + b"\r\n"


def test_chunks_that_end_mid_letter_or_mid_line_still_make_whole_posts() -> None:
    first, second = _line(1, "पोस्ट एक"), _line(2, "पोस्ट दो")
    cut = first.index("ए".encode()) + 1  # inside a three-byte Devanagari letter
    script = [
        b"\r\n",  # a keep-alive
        first[:cut],
        first[cut:] + b"\r\n" + second[:10],
        second[10:],
        b"{not json}\r\n",  # counted, skipped: the stream goes on
    ]
    resp = ScriptedStreamingResponse(script)
    source = FilteredStreamSource(
        "https://api.x.com", "token", PLANS["pro"], lambda url, headers: resp, stall_seconds=5
    )
    batches, error = [], None
    try:
        for batch in source.read({}, until=time.monotonic() + 60):
            batches.append(batch)
    except UpstreamError as err:
        error = err  # the script ends in silence: a stall
    texts = [m.text for b in batches for m in b.mentions]
    assert texts == ["पोस्ट एक", "पोस्ट दो"]
    assert sum(b.events for b in batches) == 3
    assert error is not None and "stalled" in error.detail and resp.closed


@pytest.mark.parametrize(
    ("status", "headers", "error", "detail"),
    [
        (429, {"x-rate-limit-reset": str(int(NOW) + 300)}, RateLimitedError, "429"),
        (503, {}, PlatformStatusError, "refused with 503"),
        (401, {}, PlatformStatusError, "refused with 401"),
    ],
)
def test_a_refused_connection_is_the_error_its_backoff_needs(
    status: int, headers: dict[str, str], error: type[UpstreamError], detail: str
) -> None:
    resp = ScriptedStreamingResponse(status=status, headers=headers, body=b'{"title": "x"}')
    source = FilteredStreamSource(
        "https://api.x.com", "t", PLANS["pro"], lambda url, h: resp, wall_clock=lambda: NOW
    )
    with pytest.raises(error, match=detail) as raised:
        next(iter(source.read({}, until=time.monotonic() + 60)))
    if isinstance(raised.value, RateLimitedError):
        assert raised.value.retry_at == NOW + 300
    assert resp.closed
