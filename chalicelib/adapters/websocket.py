"""A minimal WebSocket client (RFC 6455) on the standard library, for reading streams.

Why not a library: the stream consumers only read text messages from one server, answer its
pings and close; that is the handshake, unmasked server frames and masked control frames, about
a hundred lines. A library would be a new dependency in the Lambda package and on the cold path
(websocket-client imports more than this module does), and the consumer needs what this gives
directly: every read bounded by the run's deadline. No extensions (no permessage-deflate), no
subprotocols, no proxies; ``ws://`` and ``wss://`` (TLS with the default context).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import socket
import ssl
import struct
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping

from chalicelib.errors import UpstreamError

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MAX_MESSAGE = 4 * 1024 * 1024  # Jetstream's default maxMessageSizeBytes is unlimited; we are not


def accept_key(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` a server must answer to ``key``."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()  # noqa: S324 (the protocol's hash)


class Closed(UpstreamError):
    """The connection ended (a close frame, EOF or a reset) before the reader stopped."""


class WebSocket:
    """One client connection; iterate :meth:`messages` until a deadline."""

    def __init__(self, sock: socket.socket, buffered: bytes = b"") -> None:
        self._sock = sock
        self._buf = buffered
        self.closed = False

    @classmethod
    def connect(
        cls,
        url: str,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        new_key: Callable[[], bytes] = lambda: os.urandom(16),
    ) -> WebSocket:
        """Open the TCP (and TLS) connection and do the opening handshake."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise UpstreamError(f"not a WebSocket URL: {parts.scheme}://{parts.hostname}")
        port = parts.port or (443 if parts.scheme == "wss" else 80)
        try:
            sock = socket.create_connection((parts.hostname, port), timeout=timeout)
            if parts.scheme == "wss":
                sock = ssl.create_default_context().wrap_socket(
                    sock, server_hostname=parts.hostname
                )
        except OSError as err:
            raise UpstreamError(f"connecting to {parts.hostname}:{port} failed: {err}") from err
        key = base64.b64encode(new_key()).decode()
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        lines = [
            f"GET {target} HTTP/1.1",
            f"Host: {parts.netloc}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{k}: {v}" for k, v in (headers or {}).items()),
        ]
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            head, rest = _read_head(sock)
        except OSError as err:
            sock.close()
            raise UpstreamError(f"WebSocket handshake with {parts.hostname} failed: {err}") from err
        status_line, _, header_text = head.partition("\r\n")
        fields = {
            k.strip().lower(): v.strip()
            for k, _, v in (ln.partition(":") for ln in header_text.split("\r\n") if ln)
        }
        status = status_line.split(" ")[1] if " " in status_line else ""
        if status != "101" or fields.get("sec-websocket-accept") != accept_key(key):
            sock.close()
            raise UpstreamError(
                f"WebSocket handshake with {parts.hostname} refused: {status_line[:80]!r}"
            )
        return cls(sock, rest)

    def messages(
        self, deadline: float, clock: Callable[[], float] = time.monotonic
    ) -> Iterator[str]:
        """Text messages until ``deadline`` (by ``clock``); pings are answered on the way.

        Raises :class:`Closed` if the server ends the connection first.
        """
        parts: list[bytes] = []
        while True:
            left = deadline - clock()
            if left <= 0:
                return
            self._sock.settimeout(left)
            try:
                fin, opcode, payload = self._frame()
            except TimeoutError:
                return
            except OSError as err:
                self.closed = True
                raise Closed(f"stream connection lost: {err}") from err
            if opcode == OP_PING:
                self._send(OP_PONG, payload)
            elif opcode == OP_CLOSE:
                self.closed = True
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                raise Closed(f"stream closed by the server (code {code})")
            elif opcode in (OP_TEXT, OP_BINARY, OP_CONT):
                parts.append(payload)
                if sum(len(p) for p in parts) > MAX_MESSAGE:
                    raise Closed("stream message too large")
                if fin:
                    text = b"".join(parts).decode("utf-8", errors="replace")
                    parts = []
                    yield text

    def close(self) -> None:
        """Send a close frame (best effort) and close the socket."""
        if not self.closed:
            with contextlib.suppress(OSError):
                self._send(OP_CLOSE, struct.pack("!H", 1000))
        self.closed = True
        self._sock.close()

    # --- frames -----------------------------------------------------------------------------

    def _need(self, n: int) -> None:
        # Fill the buffer without consuming it: a timeout mid-frame leaves the frame whole.
        while len(self._buf) < n:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("EOF")
            self._buf += chunk

    def _frame(self) -> tuple[bool, int, bytes]:
        self._need(2)
        b0, b1 = self._buf[0], self._buf[1]
        length, at = b1 & 0x7F, 2
        if length == 126:
            self._need(4)
            length, at = struct.unpack("!H", self._buf[2:4])[0], 4
        elif length == 127:
            self._need(10)
            length, at = struct.unpack("!Q", self._buf[2:10])[0], 10
        if length > MAX_MESSAGE:
            raise ConnectionResetError(f"frame of {length} bytes")
        masked = bool(b1 & 0x80)
        self._need(at + (4 if masked else 0) + length)
        mask = self._buf[at : at + 4] if masked else b""
        at += len(mask)
        payload = self._buf[at : at + length]
        self._buf = self._buf[at + length :]
        if mask:
            payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def _send(self, opcode: int, payload: bytes) -> None:
        # Client frames are always masked (RFC 6455 section 5.3).
        mask = os.urandom(4)
        head = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        self._sock.sendall(head + mask + masked)


def _read_head(sock: socket.socket) -> tuple[str, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionResetError("EOF during the handshake")
        data += chunk
        if len(data) > 65536:
            raise ConnectionResetError("handshake answer too long")
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest
