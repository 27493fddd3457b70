"""The urllib3 transport against the fake platform server: reuse, retries, reset headers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.adapters.platforms.http import Urllib3Transport
from chalicelib.adapters.platforms.x import XClient
from chalicelib.errors import RateLimitedError
from chalicelib.services.polling import (
    RATE_LIMITED,
    InMemoryCursorStore,
    InMemoryMentionSink,
    PollingService,
    WatchedAccount,
    WindowBudget,
)
from local.fake_platforms import X_TOKEN, FakePlatforms, demo_accounts, demo_clients

NOW = 1_750_000_000.0
PHILLY = WatchedAccount("x", "2351222345", interval_seconds=60)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakePlatforms]:
    with FakePlatforms(clock=lambda: NOW) as server:
        yield server


def _ports(fake: FakePlatforms, since: int) -> list[int]:
    return [port for _, port in fake.client_ports[since:]]


def test_polls_of_one_host_reuse_one_connection(fake: FakePlatforms) -> None:
    transport = Urllib3Transport(timeout=5)
    clients = demo_clients(fake.url, transport, lambda: NOW)
    service = PollingService(
        clients, InMemoryCursorStore(), InMemoryMentionSink(), WindowBudget(), lambda: NOW
    )
    before = len(fake.client_ports)
    for account in demo_accounts():
        service.poll(account)
    ports = _ports(fake, before)
    assert len(ports) >= len(demo_accounts())
    assert len(set(ports)) == 1  # every request of every platform on one TCP connection


def test_a_transport_per_request_would_open_a_connection_each(fake: FakePlatforms) -> None:
    # The control: what the old urllib client did (a new connection per request).
    before = len(fake.client_ports)
    for _ in range(3):
        Urllib3Transport(timeout=5).send("GET", f"{fake.url}/feeds/toi.xml")
    assert len(set(_ports(fake, before))) == 3


def test_5xx_is_retried_on_the_same_connection_with_jittered_waits(fake: FakePlatforms) -> None:
    slept: list[float] = []
    transport = Urllib3Transport(timeout=5, attempts=3, sleep=slept.append, rand=lambda: 0.5)
    fake.inject("/feeds/", 503, times=2)
    before = len(fake.client_ports)
    resp = transport.send("GET", f"{fake.url}/feeds/toi.xml")
    assert resp.status == 200
    assert slept == [0.375, 0.75]
    assert len(_ports(fake, before)) == 3
    assert len(set(_ports(fake, before))) == 1


def test_a_429_is_not_retried_and_its_reset_header_schedules_the_next_poll(
    fake: FakePlatforms,
) -> None:
    slept: list[float] = []
    transport = Urllib3Transport(timeout=5, attempts=3, sleep=slept.append)
    client = XClient(transport, X_TOKEN, base_url=fake.url, clock=lambda: NOW)
    reset = str(int(NOW) + 321)
    fake.inject("/2/users/", 429, x_rate_limit_reset=reset, retry_after="5")
    before = len(fake.paths("/2/users/"))
    with pytest.raises(RateLimitedError) as err:
        client.fetch(PHILLY.account_id, {})
    assert err.value.retry_at == NOW + 321  # X's epoch header, not Retry-After
    assert (slept, len(fake.paths("/2/users/")) - before) == ([], 1)
    fake.inject("/2/users/", 429, x_rate_limit_reset=reset)
    service = PollingService(
        {"x": client}, InMemoryCursorStore(), InMemoryMentionSink(), WindowBudget(), lambda: NOW
    )
    outcome = service.poll(PHILLY)
    assert (outcome.status, outcome.state.next_due_at) == (RATE_LIMITED, NOW + 321)
