"""A small HTTP port for the platform clients, with a stdlib ``urllib`` adapter.

Clients never import ``urllib`` themselves: they take an :class:`HttpTransport`, so tests replay
recorded payloads through the real client code (the idea of httpx's ``BaseTransport``).
A transport returns every HTTP status as a response; only network failures raise.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

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


class UrllibTransport:
    """:class:`HttpTransport` over ``urllib.request``; only http and https URLs."""

    def __init__(self, timeout: float = 10.0, user_agent: str = USER_AGENT) -> None:
        self._timeout = timeout
        self._user_agent = user_agent

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
        request = urllib.request.Request(url, data=body, headers=all_headers, method=method)  # noqa: S310 (scheme checked above)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as resp:  # noqa: S310
                return HttpResponse(
                    status=resp.status,
                    body=resp.read(),
                    headers=_lower(resp.headers.items()),
                    url=resp.url,
                )
        except urllib.error.HTTPError as err:
            # 304, 4xx and 5xx land here; they are answers, not failures of the transport.
            with err:
                data = err.read()
            return HttpResponse(
                status=err.code, body=data, headers=_lower(err.headers.items()), url=url
            )
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as err:
            raise UpstreamError(f"{method} {redact(url)} failed: {err}") from err


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


class RetryingTransport:
    """Retries 5xx answers and network errors a few times with exponential backoff."""

    def __init__(
        self,
        inner: HttpTransport,
        attempts: int = 3,
        base_delay: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._inner = inner
        self._attempts = max(1, attempts)
        self._base_delay = base_delay
        self._sleep = sleep

    def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> HttpResponse:
        """Send, retrying while the answer is 5xx or the network fails."""
        attempt = 0
        while True:
            last = attempt >= self._attempts - 1
            try:
                resp = self._inner.send(method, url, headers, body)
            except UpstreamError:
                if last:
                    raise
            else:
                if resp.status < 500 or last:
                    return resp
            self._sleep(self._base_delay * (2**attempt))
            attempt += 1
