from __future__ import annotations

import pytest
from urllib3.exceptions import ProtocolError

from chalicelib.adapters.platforms.http import (
    HttpResponse,
    Urllib3Transport,
    check_status,
    jitter_retry,
    redact,
    retry_at,
    with_query,
)
from chalicelib.errors import RateLimitedError, UpstreamError

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-rate-limit-reset": "1700000900"}, 1_700_000_900.0),  # X: epoch seconds
        ({"ratelimit-reset": "30"}, NOW + 30),  # IETF draft: a delta
        ({"ratelimit-reset": "1700000600"}, 1_700_000_600.0),  # Bluesky: epoch seconds
        ({"x-ratelimit-reset": "2023-11-14T22:18:20.000Z"}, 1_700_000_300.0),  # Mastodon: ISO
        ({"x-ratelimit-reset": "garbage", "retry-after": "5"}, NOW + 5),
        ({"retry-after": "120"}, NOW + 120),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, NOW + 60),  # unread: default wait
        ({}, NOW + 60),
    ],
)
def test_retry_at(headers: dict[str, str], expected: float) -> None:
    assert retry_at(HttpResponse(429, headers=headers), NOW) == expected


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (200, None),
        (304, None),
        (429, RateLimitedError),
        (500, UpstreamError),
        (503, UpstreamError),
        (401, UpstreamError),
        (404, UpstreamError),
    ],
)
def test_check_status(status: int, error: type[Exception] | None) -> None:
    resp = HttpResponse(status, headers={"x-rate-limit-reset": "1700000900"})
    if error is None:
        check_status(resp, "t", NOW)
    else:
        with pytest.raises(error):
            check_status(resp, "t", NOW)


@pytest.mark.parametrize(
    ("base", "params", "expected"),
    [
        ("https://a/b", {"x": 1, "y": None, "z": ""}, "https://a/b?x=1"),
        ("https://a/b?k=v", {"x": "न"}, "https://a/b?k=v&x=%E0%A4%A8"),
        ("https://a/b", {}, "https://a/b"),
    ],
)
def test_with_query(base: str, params: dict[str, str | int | None], expected: str) -> None:
    assert with_query(base, params) == expected


def test_redact_drops_the_query_with_its_secrets() -> None:
    assert redact("https://g.example/v3/videos?key=SECRET&id=1") == "https://g.example/v3/videos"


@pytest.mark.parametrize(
    ("rand", "expected"),
    [
        (0.0, [0.25, 0.5, 1.0, 2.0]),  # half of factor * 2**(n-1) at least
        (1.0, [0.5, 1.0, 2.0, 4.0]),  # the whole of it at most
        (0.5, [0.375, 0.75, 1.5, 3.0]),
    ],
)
def test_jitter_retry_backs_off_exponentially_within_bounds(
    rand: float, expected: list[float]
) -> None:
    retry = jitter_retry(attempts=5, base_delay=0.5, rand=lambda: rand)
    waits = []
    for _ in range(4):
        retry = retry.increment("GET", "/", error=ProtocolError("reset"))
        waits.append(retry.get_backoff_time())
    assert waits == expected


def test_jitter_retry_spreads_real_waits() -> None:
    waits = set()
    for _ in range(20):
        retry = jitter_retry(attempts=3, base_delay=1.0)
        retry = retry.increment("GET", "/", error=ProtocolError("reset"))
        waits.add(retry.get_backoff_time())
    assert all(0.5 <= w <= 1.0 for w in waits)
    assert len(waits) > 1  # not in step


@pytest.mark.parametrize("attempts", [1, 2, 3])
def test_jitter_retry_counts_attempts_and_leaves_429_to_the_poller(attempts: int) -> None:
    retry = jitter_retry(attempts=attempts, base_delay=0.5)
    assert retry.total == attempts - 1
    assert retry.is_retry("GET", 503)
    assert not retry.is_retry("GET", 429)
    assert not retry.is_retry("POST", 503)  # not idempotent: never sent twice


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://x/y", "no-scheme"])
def test_urllib3_transport_refuses_other_schemes(url: str) -> None:
    with pytest.raises(UpstreamError):
        Urllib3Transport().send("GET", url)


def test_urllib3_transport_turns_a_refused_connection_into_upstream_error() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    slept: list[float] = []
    transport = Urllib3Transport(timeout=1, attempts=2, sleep=slept.append, rand=lambda: 0.0)
    with pytest.raises(UpstreamError, match=r"127\.0\.0\.1") as err:
        transport.send("GET", f"http://127.0.0.1:{port}/x?key=SECRET")
    assert "SECRET" not in str(err.value)
    assert slept == [0.25]  # one retry, with its backoff
