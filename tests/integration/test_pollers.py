"""The real clients and the polling service against the fake platform server on 127.0.0.1."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence

import pytest

from chalicelib.adapters.platforms.http import Urllib3Transport
from chalicelib.adapters.platforms.x import XClient
from chalicelib.domain.mention import Mention
from chalicelib.errors import UpstreamError
from chalicelib.services.polling import (
    FAILED,
    NOT_MODIFIED,
    OK,
    OVER_BUDGET,
    RATE_LIMITED,
    InMemoryCursorStore,
    InMemoryMentionSink,
    PlatformClient,
    PollingService,
    PollState,
    WatchedAccount,
    WindowBudget,
)
from local.fake_platforms import X_TOKEN, FakePlatforms, Feed, demo_accounts, demo_clients

NOW = 1_750_000_000.0
PHILLY = WatchedAccount("x", "2351222345", interval_seconds=60)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> Iterator[FakePlatforms]:
    with FakePlatforms(clock=Clock()) as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _service(
    clients: dict[str, PlatformClient],
    clock: Clock,
    cursors: InMemoryCursorStore | None = None,
    sink: InMemoryMentionSink | None = None,
    budget: WindowBudget | None = None,
) -> tuple[PollingService, InMemoryCursorStore, InMemoryMentionSink]:
    cursors = cursors if cursors is not None else InMemoryCursorStore()
    sink = sink if sink is not None else InMemoryMentionSink()
    service = PollingService(clients, cursors, sink, budget or WindowBudget(), clock)
    return service, cursors, sink


def _x(fake: FakePlatforms, clock: Clock, **kw: int) -> XClient:
    return XClient(Urllib3Transport(timeout=5), X_TOKEN, base_url=fake.url, clock=clock, **kw)


def test_x_timeline_pages_then_advances_since_id(fake: FakePlatforms, clock: Clock) -> None:
    service, cursors, sink = _service({"x": _x(fake, clock, max_pages=1, page_size=5)}, clock)
    # An account polled before, whose last seen post is older than all 12 recorded ones.
    cursors.save(PHILLY.key, PollState(cursor={"since_id": "1257000000000000000"}))
    counts = [service.poll(PHILLY).enqueued for _ in range(3)]
    assert counts == [5, 5, 2]
    keys = [m.key for m in sink.mentions]
    assert len(keys) == len(set(keys)) == 12
    assert keys[0] == "x#1257786232978968578"
    # Once every page is read, the cursor is just the newest id; no page token is left.
    assert dict(cursors.states[PHILLY.key].cursor) == {"since_id": "1257786232978968578"}
    assert "pagination_token=p5" in fake.paths("/2/users/2351222345/tweets")[1]

    assert service.poll(PHILLY).enqueued == 0
    assert "since_id=1257786232978968578" in fake.paths("/2/users")[-1]

    newer = copy.deepcopy(fake.data.x_posts["2351222345"][0])
    newer.update(
        id="1257786232978968579", text="नया पोस्ट", edit_history_tweet_ids=["1257786232978968579"]
    )
    fake.data.x_posts["2351222345"].append(newer)
    outcome = service.poll(PHILLY)
    assert (outcome.status, outcome.enqueued) == (OK, 1)
    assert sink.mentions[-1].text == "नया पोस्ट"
    assert cursors.states[PHILLY.key].cursor["since_id"] == "1257786232978968579"


def test_x_first_poll_takes_one_page_and_no_history(fake: FakePlatforms, clock: Clock) -> None:
    service, cursors, sink = _service({"x": _x(fake, clock, max_pages=5, page_size=5)}, clock)
    outcome = service.poll(PHILLY)
    assert outcome.enqueued == 5
    assert sink.mentions[0].key == "x#1257786232978968578"
    assert dict(cursors.states[PHILLY.key].cursor) == {"since_id": "1257786232978968578"}
    assert len(fake.paths("/2/users/")) == 1
    assert service.poll(PHILLY).enqueued == 0


def test_x_429_waits_until_the_reset_header(fake: FakePlatforms, clock: Clock) -> None:
    service, _cursors, sink = _service({"x": _x(fake, clock)}, clock)
    reset = int(NOW) + 900
    fake.inject("/2/users/", 429, x_rate_limit_reset=str(reset), x_rate_limit_remaining="0")
    outcome = service.poll(PHILLY)
    assert outcome.status == RATE_LIMITED
    assert outcome.state.next_due_at == reset
    assert outcome.state.failures == 0 and outcome.state.healthy
    assert dict(outcome.state.cursor) == {}
    assert sink.mentions == []
    assert service.due([PHILLY]) == []
    clock.now = reset + 1
    assert service.due([PHILLY]) == [PHILLY]
    assert service.poll(PHILLY).status == OK


def test_x_rate_limit_exhausted_by_the_server_itself(clock: Clock) -> None:
    with FakePlatforms(clock=clock, x_rate_limit=2) as fake:
        service, _, _ = _service({"x": _x(fake, clock, max_pages=1, page_size=5)}, clock)
        assert service.poll(PHILLY).status == OK
        outcome = service.poll(PHILLY)
        assert outcome.status == RATE_LIMITED
        assert outcome.state.next_due_at == int(NOW) + 900


def test_5xx_is_retried_by_the_transport(fake: FakePlatforms, clock: Clock) -> None:
    slept: list[float] = []
    transport = Urllib3Transport(timeout=5, attempts=3, sleep=slept.append, rand=lambda: 1.0)
    client = XClient(transport, X_TOKEN, base_url=fake.url, clock=clock)
    service, _, _sink = _service({"x": client}, clock)
    fake.inject("/2/users/", 503, times=2)
    outcome = service.poll(PHILLY)
    assert (outcome.status, outcome.enqueued) == (OK, 12)
    assert slept == [0.5, 1.0]
    assert len(fake.paths("/2/users/")) == 3


def test_an_account_that_keeps_failing_backs_off_and_turns_unhealthy(
    fake: FakePlatforms, clock: Clock
) -> None:
    service, cursors, _ = _service({"x": _x(fake, clock)}, clock)
    fake.inject("/2/users/", 502, times=5)
    delays = []
    for _ in range(5):
        outcome = service.poll(PHILLY)
        assert outcome.status == FAILED
        delays.append(outcome.state.next_due_at - clock.now)
        clock.now = outcome.state.next_due_at
    assert delays == [60, 120, 240, 480, 960]
    state = cursors.states[PHILLY.key]
    assert (state.failures, state.healthy) == (5, False)
    assert "502" in state.last_error
    # It keeps being polled, slowly, and one success makes it healthy again.
    recovered = service.poll(PHILLY)
    assert recovered.status == OK
    assert (recovered.state.failures, recovered.state.healthy) == (0, True)


def test_truncated_stream_line(fake: FakePlatforms, clock: Clock) -> None:
    result = _x(fake, clock).read_stream()
    assert len(result.mentions) == 3
    assert result.mentions[0].key == "x#1377650090978992134"
    assert result.truncated_tail.startswith('{"data": {"author_id": "1021159080151404544"')


class CrashingCursorStore(InMemoryCursorStore):
    """Fails the first save, as a Lambda timing out between enqueue and cursor save would."""

    def __init__(self) -> None:
        super().__init__()
        self.crashes_left = 1

    def save(self, account_key: str, state: PollState) -> None:
        if self.crashes_left:
            self.crashes_left -= 1
            raise UpstreamError("simulated crash before the cursor was saved")
        super().save(account_key, state)


class KeyedStore:
    """The store's contract: a conditional put on the mention key; a duplicate is a no-op."""

    def __init__(self) -> None:
        self.items: dict[str, Mention] = {}
        self.tasks: list[str] = []

    def enqueue(self, mentions: Sequence[Mention]) -> None:
        for m in mentions:
            if m.key not in self.items:
                self.items[m.key] = m
                self.tasks.append(m.key)


def test_crash_between_enqueue_and_cursor_save_gives_a_harmless_duplicate(
    fake: FakePlatforms, clock: Clock
) -> None:
    cursors = CrashingCursorStore()
    sink = InMemoryMentionSink()
    service, _, _ = _service({"x": _x(fake, clock)}, clock, cursors=cursors, sink=sink)
    with pytest.raises(UpstreamError):
        service.poll(PHILLY)
    assert len(sink.mentions) == 12
    assert cursors.get(PHILLY.key) is None  # the cursor did not move
    service.poll(PHILLY)
    assert len(sink.mentions) == 24  # at-least-once: the same posts came again...
    first, second = sink.mentions[:12], sink.mentions[12:]
    assert [m.key for m in first] == [m.key for m in second]
    assert first == second  # ...identical, keys included
    store = KeyedStore()
    store.enqueue(sink.mentions)
    assert len(store.tasks) == 12  # ...so downstream it is one mention, one task each


def test_rss_conditional_get_gives_304_until_the_feed_changes(
    fake: FakePlatforms, clock: Clock
) -> None:
    clients = demo_clients(fake.url, Urllib3Transport(timeout=5), clock)
    service, _cursors, sink = _service(clients, clock)
    toi = WatchedAccount("rss", "/feeds/toi.xml")
    first = service.poll(toi)
    assert (first.status, first.enqueued) == (OK, 48)
    assert set(first.state.cursor) == {"etag", "last_modified"}
    second = service.poll(toi)
    assert (second.status, second.enqueued) == (NOT_MODIFIED, 0)
    _, _, sent = fake.requests[-1]
    assert sent["if-none-match"] == first.state.cursor["etag"]
    item = (
        b"<item><title>New story</title><guid>new-1</guid>"
        b"<pubDate>Tue, 01 Apr 2025 09:00:00 +0530</pubDate></item>"
    )
    body = fake.data.feeds["toi"].body.replace(b"<item>", item + b"<item>", 1)
    fake.data.feeds["toi"] = Feed(body, last_modified="Tue, 01 Apr 2025 10:00:00 GMT")
    third = service.poll(toi)
    assert (third.status, third.enqueued) == (OK, 49)
    assert "rss#new-1" in {m.key for m in sink.mentions}


@pytest.mark.parametrize(
    ("account", "first_count", "first_key", "cursor_key"),
    [
        (
            # The uploads playlist: 4 recorded uploads and 2 recorded playlist items.
            WatchedAccount("youtube", "UC_x5XG1OV2P6uZZ5FSM9Ttw"),
            6,
            "youtube#Du7E0okmNlk",
            "playlist_after",
        ),
        (
            WatchedAccount("bluesky", "did:plc:tvaritleader0000000000a"),
            2,
            "bluesky#at://did:plc:tvaritleader0000000000a/app.bsky.feed.post/3mmq2example1",
            "newest",
        ),
        (
            WatchedAccount("mastodon", "1"),
            1,
            "mastodon#https://mastodon.social/users/Gargron/statuses/103270115826048975",
            "min_id",
        ),
        (WatchedAccount("telegram", "bot"), 3, "telegram#1241558182:21", "offset"),
        (WatchedAccount("facebook", "4"), 5, "facebook#4_10113477241177441", "since"),
    ],
)
def test_each_platform_polls_then_finds_nothing_new(
    fake: FakePlatforms,
    clock: Clock,
    account: WatchedAccount,
    first_count: int,
    first_key: str,
    cursor_key: str,
) -> None:
    clients = demo_clients(fake.url, Urllib3Transport(timeout=5), clock)
    service, _cursors, sink = _service(clients, clock)
    first = service.poll(account)
    assert (first.status, first.enqueued) == (OK, first_count)
    assert sink.mentions[0].key == first_key
    assert cursor_key in first.state.cursor
    second = service.poll(account)
    new_keys = {m.key for m in sink.mentions[first_count:]}
    # YouTube's playlist cursor is inclusive: at most the newest video comes again, same key.
    assert new_keys <= {first_key}
    assert second.status == OK


def test_mastodon_fetches_only_statuses_after_min_id(fake: FakePlatforms, clock: Clock) -> None:
    clients = demo_clients(fake.url, Urllib3Transport(timeout=5), clock)
    service, _, sink = _service(clients, clock)
    gargron = WatchedAccount("mastodon", "1")
    service.poll(gargron)
    newer = copy.deepcopy(fake.data.mastodon_statuses["1"][0])
    newer.update(
        id="103270115826048999",
        uri="https://mastodon.social/users/Gargron/statuses/999",
        content="<p>मोदी &amp; राहुल</p>",
    )
    fake.data.mastodon_statuses["1"].append(newer)
    outcome = service.poll(gargron)
    assert outcome.enqueued == 1
    assert sink.mentions[-1].text == "मोदी & राहुल"
    assert "min_id=103270115826048975" in fake.paths("/api/v1/accounts/1/statuses")[-1]


def test_youtube_daily_budget_stops_polling_without_counting_a_failure(
    fake: FakePlatforms, clock: Clock
) -> None:
    clients = demo_clients(fake.url, Urllib3Transport(timeout=5), clock)
    budget = WindowBudget({"youtube": (2, 86400.0)})
    service, _, _ = _service(clients, clock, budget=budget)
    channel = WatchedAccount("youtube", "UC_x5XG1OV2P6uZZ5FSM9Ttw")
    assert [service.poll(channel).status for _ in range(3)] == [OK, OK, OVER_BUDGET]
    clock.now += 86400
    assert service.poll(channel).status == OK


def test_demo_accounts_all_poll_cleanly(fake: FakePlatforms, clock: Clock) -> None:
    clients = demo_clients(fake.url, Urllib3Transport(timeout=5), clock)
    service, _, sink = _service(clients, clock)
    outcomes = [service.poll(a) for a in service.due(demo_accounts())]
    assert {o.status for o in outcomes} == {OK}
    platforms = {m.platform for m in sink.mentions}
    assert platforms == {"x", "youtube", "rss", "bluesky", "mastodon"}


def test_wrong_credentials_are_a_failure_not_a_crash(fake: FakePlatforms, clock: Clock) -> None:
    client = XClient(Urllib3Transport(timeout=5), "wrong", base_url=fake.url, clock=clock)
    service, _, _ = _service({"x": client}, clock)
    outcome = service.poll(PHILLY)
    assert outcome.status == FAILED
    assert "401" in outcome.state.last_error


def test_bluesky_follows_indexed_at_so_a_backdated_post_is_not_missed(
    fake: FakePlatforms, clock: Clock
) -> None:
    clients = demo_clients(fake.url, Urllib3Transport(timeout=5), clock)
    service, _, sink = _service(clients, clock)
    leader = WatchedAccount("bluesky", "did:plc:tvaritleader0000000000a")
    assert service.poll(leader).enqueued == 2
    item = copy.deepcopy(fake.data.bluesky_feeds[leader.account_id][0])
    item["post"]["uri"] = item["post"]["uri"].replace("3mmq2example1", "3mmq3backdated")
    item["post"]["record"]["createdAt"] = "2020-01-01T00:00:00.000Z"  # the client's claim
    item["post"]["indexedAt"] = "2026-05-26T00:00:00.000Z"  # when the AppView saw it
    fake.data.bluesky_feeds[leader.account_id].append(item)
    outcome = service.poll(leader)
    assert outcome.enqueued == 1
    assert sink.mentions[-1].native_id.endswith("/3mmq3backdated")
    assert outcome.state.cursor["newest"] == "2026-05-26T00:00:00.000000Z"
