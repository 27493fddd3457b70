"""Signed generic webhook: HMAC-SHA256 over ``"{timestamp}.{body}"`` (Stripe-style).

Headers: ``X-Tvarit-Timestamp`` (Unix seconds) and ``X-Tvarit-Signature: sha256=<hex>``.
The timestamp must be within ``tolerance`` of now, so a captured request cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac

from chalicelib.errors import AuthenticationError, FieldProblem

TIMESTAMP_HEADER = "x-tvarit-timestamp"
SIGNATURE_HEADER = "x-tvarit-signature"
SCHEME = "sha256="
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def verify(
    secret: str,
    timestamp_header: str | None,
    signature_header: str | None,
    body: bytes,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Raise :class:`AuthenticationError` unless the request is signed and fresh."""
    if not secret:
        raise AuthenticationError("webhook secret is not configured; refusing all requests")
    if not timestamp_header:
        raise _missing(TIMESTAMP_HEADER)
    if not signature_header:
        raise _missing(SIGNATURE_HEADER)
    try:
        timestamp = int(timestamp_header.strip())
    except ValueError:
        raise AuthenticationError(
            "timestamp header is not an integer",
            [FieldProblem(f"header:{TIMESTAMP_HEADER}", "expected Unix seconds")],
        ) from None
    if abs(now - timestamp) > tolerance:
        raise AuthenticationError(
            f"timestamp is more than {tolerance} seconds from the server's clock",
            [FieldProblem(f"header:{TIMESTAMP_HEADER}", "stale or future timestamp")],
        )
    expected = sign(secret, timestamp, body)
    # Constant-time compare over bytes; any scheme other than sha256= simply fails.
    if not hmac.compare_digest(expected.encode(), signature_header.strip().encode()):
        raise AuthenticationError(
            "signature does not match the body",
            [FieldProblem(f"header:{SIGNATURE_HEADER}", "HMAC-SHA256 mismatch")],
        )


def _missing(header: str) -> AuthenticationError:
    return AuthenticationError(
        f"missing {header} header", [FieldProblem(f"header:{header}", "required")]
    )
