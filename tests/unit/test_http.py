from __future__ import annotations

from collections.abc import Mapping

import pytest

from chalicelib.adapters.platforms.http import (
    HttpResponse,
    RetryingTransport,
    UrllibTransport,
    check_status,
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


class Script:
    def __init__(self, answers: list[int | Exception]) -> None:
        self.answers = answers
        self.calls = 0

    def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> HttpResponse:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return HttpResponse(answer)


@pytest.mark.parametrize(
    ("answers", "status", "calls", "sleeps"),
    [
        ([200], 200, 1, []),
        ([503, 200], 200, 2, [0.5]),
        ([UpstreamError("reset"), 502, 200], 200, 3, [0.5, 1.0]),
        ([503, 503, 503], 503, 3, [0.5, 1.0]),
        ([429], 429, 1, []),  # a 429 is the caller's to schedule, not to hammer
    ],
)
def test_retrying_transport(
    answers: list[int | Exception], status: int, calls: int, sleeps: list[float]
) -> None:
    slept: list[float] = []
    inner = Script(answers)
    resp = RetryingTransport(inner, attempts=3, sleep=slept.append).send("GET", "https://a")
    assert (resp.status, inner.calls, slept) == (status, calls, sleeps)


def test_retrying_transport_reraises_the_last_network_error() -> None:
    inner = Script([UpstreamError("a"), UpstreamError("b")])
    with pytest.raises(UpstreamError):
        RetryingTransport(inner, attempts=2, sleep=lambda _s: None).send("GET", "https://a")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://x/y", "no-scheme"])
def test_urllib_transport_refuses_other_schemes(url: str) -> None:
    with pytest.raises(UpstreamError):
        UrllibTransport().send("GET", url)
