"""A small HTTP port for the platform clients, with an adapter on urllib3.

Clients never import ``urllib`` themselves: they take an :class:`HttpTransport`, so tests replay
recorded payloads through the real client code (the idea of httpx's ``BaseTransport``).
A transport returns every HTTP status as a response; only network failures raise.
"""

from __future__ import annotations

import random
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from urllib3 import BaseHTTPResponse, PoolManager, Timeout
from urllib3.exceptions import HTTPError
from urllib3.util import Retry

from chalicelib.domain.mention import parse_timestamp
from chalicelib.errors import RateLimitedError, UpstreamError

USER_AGENT = "tvarit-ingest/0.1"


@dataclass(frozen=True)
class HttpResponse:
    """Status, lower-cased headers and the raw body of one response."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    url: str = ""

    def header(self, name: str) -> str | None:
        """A header's value by case-insensitive name, or None."""
        return self.headers.get(name.lower())


class HttpTransport(Protocol):
    """Sends one request and returns the response, whatever its status."""

    def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> HttpResponse: ...


# Statuses worth a second try inside one poll; 429 is not one: the poller schedules it from
# the platform's reset header (retry_at), which urllib3's Retry does not know how to read.
RETRY_STATUSES = frozenset({500, 502, 503, 504})


class JitterRetry(Retry):
    """urllib3's Retry with "equal jitter": the n-th retry waits between half and all of
    ``backoff_factor * 2**(n-1)``, so pollers that failed together do not retry in step.

    ``sleeper`` and ``rand`` are class attributes because Retry copies itself through
    ``type(self)(**params)`` on every attempt; :func:`jitter_retry` makes a subclass per
    transport when a test injects them.
    """

    sleeper: Callable[[float], None] = staticmethod(time.sleep)
    rand: Callable[[], float] = staticmethod(random.random)

    def get_backoff_time(self) -> float:
        """Half the exponential backoff, plus up to the other half at random."""
        n = len(self.history)
        if n < 1 or self.backoff_factor <= 0:
            return 0.0
        full = min(self.backoff_max, self.backoff_factor * 2 ** (n - 1))
        return float(full / 2 + self.rand() * full / 2)

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        """Wait the jittered backoff (never a Retry-After: 429 is not retried here)."""
        backoff = self.get_backoff_time()
        if backoff > 0:
            self.sleeper(backoff)


def jitter_retry(
    attempts: int,
    base_delay: float,
    sleep: Callable[[float], None] | None = None,
    rand: Callable[[], float] | None = None,
) -> JitterRetry:
    """A Retry for ``attempts`` tries in all (connect, read and 5xx failures alike)."""
    cls: type[JitterRetry] = JitterRetry
    if sleep is not None or rand is not None:
        members: dict[str, object] = {}
        if sleep is not None:
            members["sleeper"] = staticmethod(sleep)
        if rand is not None:
            members["rand"] = staticmethod(rand)
        cls = type("InjectedJitterRetry", (JitterRetry,), members)
    return cls(
        total=max(0, attempts - 1),
        redirect=3,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=base_delay,
        raise_on_status=False,  # the last 5xx comes back as a response, as before
        raise_on_redirect=False,
        respect_retry_after_header=False,
    )


class Urllib3Transport:
    """:class:`HttpTransport` over urllib3 (shipped in every Lambda with botocore).

    One ``PoolManager`` per container keeps TCP+TLS connections to each platform host open
    between polls; retries are urllib3's ``Retry`` with jitter (:class:`JitterRetry`).
    """

    def __init__(
        self,
        timeout: float = 10.0,
        attempts: int = 1,
        base_delay: float = 0.5,
        user_agent: str = USER_AGENT,
        sleep: Callable[[float], None] | None = None,
        rand: Callable[[], float] | None = None,
        pool: PoolManager | None = None,
    ) -> None:
        self._timeout = Timeout(connect=min(timeout, 5.0), read=timeout)
        self._retries = jitter_retry(attempts, base_delay, sleep, rand)
        self._user_agent = user_agent
        self._pool = pool or PoolManager(num_pools=16, maxsize=2)

    def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> HttpResponse:
        """Send the request; HTTP error statuses come back as responses, not exceptions."""
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme not in ("http", "https"):
            raise UpstreamError(f"refusing a {scheme or 'schemeless'} URL: {redact(url)}")
        all_headers = {"User-Agent": self._user_agent, "Accept-Encoding": "identity"}
        all_headers.update(headers or {})
        try:
            resp = self._pool.request(
                method,
                url,
                body=body,
                headers=all_headers,
                timeout=self._timeout,
                retries=self._retries,
            )
        except HTTPError as err:
            # Connection refused, timeouts, retries used up on network errors, TLS failures.
            raise UpstreamError(f"{method} {redact(url)} failed: {type(err).__name__}") from err
        return HttpResponse(
            status=resp.status,
            body=resp.data,
            headers=_lower(resp.headers.items()),
            url=resp.url or url,
        )

    def clear(self) -> None:
        """Close every pooled connection."""
        self._pool.clear()


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in items}


def redact(url: str) -> str:
    """The URL without its query (which may carry an API key or access token)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def with_query(base: str, params: Mapping[str, str | int | None]) -> str:
    """``base`` with ``params`` (None and empty values dropped) appended as a query string."""
    kept = {k: str(v) for k, v in params.items() if v is not None and v != ""}
    if not kept:
        return base
    sep = "&" if urllib.parse.urlsplit(base).query else "?"
    return base + sep + urllib.parse.urlencode(kept)


def retry_at(resp: HttpResponse, now: float, default_wait: float = 60.0) -> float:
    """When a 429 may be retried, from whichever reset header the platform sends.

    X: ``x-rate-limit-reset`` (epoch); Bluesky: ``ratelimit-reset`` (epoch); Mastodon:
    ``x-ratelimit-reset`` (ISO time); anyone: ``Retry-After`` (seconds).
    """
    reset = resp.header("x-rate-limit-reset") or resp.header("ratelimit-reset")
    if reset and reset.strip().isdigit():
        value = float(reset.strip())
        # X, Bluesky and Mastodon send epoch seconds; the IETF draft header sends a delta.
        return value if value > 1_000_000_000 else now + value
    iso = resp.header("x-ratelimit-reset")  # Mastodon: an ISO-8601 time
    if iso:
        try:
            return parse_timestamp(iso).timestamp()
        except ValueError:
            pass
    after = resp.header("retry-after")
    if after and after.strip().isdigit():
        return now + float(after.strip())
    return now + default_wait


def check_status(resp: HttpResponse, what: str, now: float) -> None:
    """Raise the error tree's view of a status other than 2xx and 304."""
    if resp.status == 429:
        raise RateLimitedError(f"{what}: rate limited (429)", retry_at=retry_at(resp, now))
    if resp.status >= 500 or resp.status == 408:
        raise UpstreamError(f"{what}: platform error {resp.status}")
    if resp.status >= 400:
        # 401/403/404 will not fix themselves by retrying soon; the poller counts them as
        # failures so the account ends up unhealthy and a cell head looks at it.
        raise UpstreamError(f"{what}: refused with {resp.status}")
