"""A long-lived HTTP response read piece by piece, each read bounded by a timeout.

X's filtered stream is one GET whose chunked body never ends: messages, and a keep-alive
``\\r\\n`` every 20 seconds. A scheduled run must stop at its deadline and notice a stall, so
every read waits at most the time it is given (the socket's timeout, set per read). A read
that times out leaves the response mid-chunk: the connection is done with then, which is
what the caller wants anyway (its run is over, or the stream stalled and it reconnects).
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from urllib3 import BaseHTTPResponse, PoolManager, Timeout
from urllib3.exceptions import HTTPError, ReadTimeoutError

from chalicelib.adapters.platforms.http import USER_AGENT, redact
from chalicelib.errors import UpstreamError

READ_SIZE = 64 * 1024


class StreamingResponse(Protocol):
    """An open response: its status and headers now, its body as it arrives."""

    status: int

    def header(self, name: str) -> str | None:
        """A header's value by case-insensitive name, or None."""
        ...

    def rest(self, limit: int = READ_SIZE) -> bytes:
        """Up to ``limit`` bytes of what is left (an error response's body)."""
        ...

    def read(self, timeout: float) -> bytes | None:
        """What arrived within ``timeout`` seconds; None if nothing did; b"" at the end."""
        ...

    def close(self) -> None: ...


OpenStream = Callable[[str, Mapping[str, str]], StreamingResponse]


class Urllib3StreamingResponse:
    """:class:`StreamingResponse` over a urllib3 response opened without preloading."""

    def __init__(self, resp: BaseHTTPResponse, url: str) -> None:
        self._resp = resp
        self._url = url
        self.status = resp.status

    def header(self, name: str) -> str | None:
        value = self._resp.headers.get(name)
        return None if value is None else str(value)

    def rest(self, limit: int = READ_SIZE) -> bytes:
        try:
            return self._resp.read(limit)
        except HTTPError:
            return b""

    def read(self, timeout: float) -> bytes | None:
        conn = self._resp.connection
        sock = getattr(conn, "sock", None)
        if sock is not None:
            sock.settimeout(max(0.001, timeout))
        try:
            return self._resp.read1(READ_SIZE)
        except ReadTimeoutError:
            return None
        except (HTTPError, OSError) as err:
            # A reset, or the body cut before its last chunk: a network drop.
            raise UpstreamError(f"{redact(self._url)} cut: {type(err).__name__}") from err

    def close(self) -> None:
        # Not back to the pool: a stream left mid-body cannot carry another request.
        with contextlib.suppress(Exception):
            conn = self._resp.connection
            self._resp.close()
            if conn is not None:
                conn.close()


def urllib3_stream_opener(
    connect_timeout: float = 5.0, read_timeout: float = 30.0, pool: PoolManager | None = None
) -> OpenStream:
    """An :data:`OpenStream` on urllib3 (the transport every Lambda already has)."""
    manager = pool or PoolManager(num_pools=2, maxsize=1)

    def open_stream(url: str, headers: Mapping[str, str]) -> StreamingResponse:
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme not in ("http", "https"):
            raise UpstreamError(f"refusing a {scheme or 'schemeless'} URL: {redact(url)}")
        all_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **headers}
        try:
            resp = manager.request(
                "GET",
                url,
                headers=all_headers,
                preload_content=False,
                retries=False,
                timeout=Timeout(connect=connect_timeout, read=read_timeout),
            )
        except HTTPError as err:
            raise UpstreamError(f"GET {redact(url)} failed: {type(err).__name__}") from err
        return Urllib3StreamingResponse(resp, url)

    return open_stream


class ScriptedStreamingResponse:
    """A :class:`StreamingResponse` that plays back a script of reads (the fake beside the port).

    Each entry is what one read returns (bytes, or None for a read that timed out) or raises
    (an exception); after the script, every read times out.
    """

    def __init__(
        self,
        reads: Sequence[bytes | Exception | None] = (),
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        self.status = status
        self._reads = list(reads)
        self._headers = {k.lower(): v for k, v in (headers or {}).items()}
        self._body = body
        self.closed = False

    def header(self, name: str) -> str | None:
        return self._headers.get(name.lower())

    def rest(self, limit: int = READ_SIZE) -> bytes:
        return self._body[:limit]

    def read(self, timeout: float) -> bytes | None:
        if not self._reads:
            return None
        step = self._reads.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    def close(self) -> None:
        self.closed = True
