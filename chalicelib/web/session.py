"""The pages' session: a cookie holding the ID token, re-verified on every request.

The cookie is the token Cognito (or the local dev issuer) signed, so the pages trust exactly
what the API trusts, through the same verifier, and keep no session store. It is HttpOnly,
SameSite=Lax and Secure wherever the pages are served over https; it never appears in a URL
or a log line. Form posts carry a CSRF token derived from the session (an HMAC keyed by the
token itself: unguessable without the cookie, the same for the whole session, no server state).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs

SESSION_COOKIE = "tvarit_session"
LANG_COOKIE = "tvarit_lang"
OAUTH_COOKIE = "tvarit_oauth"
CSRF_FIELD = "csrf"
# A script of ours (the service worker's one-tap Acknowledge) says so with this header; a
# cross-site page cannot send it without a CORS preflight, which the pages never grant.
SCRIPT_HEADER = "x-requested-with"
SCRIPT_VALUE = "tvarit-sw"
LANG_MAX_AGE = 365 * 24 * 3600
MAX_FORM_BYTES = 8 * 1024


def cookies(headers: Mapping[str, Any]) -> dict[str, str]:
    raw = str(headers.get("cookie") or "")
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def set_cookie(
    name: str,
    value: str,
    secure: bool,
    max_age: int | None = None,
    path: str = "/",
    http_only: bool = True,
) -> str:
    """A Set-Cookie value; SameSite=Lax keeps it off cross-site form posts."""
    parts = [f"{name}={value}", f"Path={path}", "SameSite=Lax"]
    if max_age is not None:
        parts.append(f"Max-Age={max(0, max_age)}")
    if http_only:
        parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def clear_cookie(name: str, secure: bool, path: str = "/") -> str:
    return set_cookie(name, "", secure, max_age=0, path=path)


def csrf_token(session: str) -> str:
    """The session's CSRF token: ``HMAC(session, "csrf")``, 32 URL-safe characters."""
    mac = hmac.new(session.encode(), b"tvarit-csrf", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode()[:32]


def csrf_ok(session: str, form: Mapping[str, str], headers: Mapping[str, Any]) -> bool:
    """A form post carries the session's token; our service worker's fetch says it is ours."""
    if not session:
        return False
    sent = form.get(CSRF_FIELD, "")
    if sent and hmac.compare_digest(sent, csrf_token(session)):
        return True
    return (
        str(headers.get(SCRIPT_HEADER) or "") == SCRIPT_VALUE
        and str(headers.get("sec-fetch-site") or "") == "same-origin"
    )


def form_of(raw: bytes | str | None, limit: int = MAX_FORM_BYTES) -> dict[str, str]:
    """An urlencoded form body (first value of each field); oversized bodies read as empty."""
    if raw is None:
        return {}
    if isinstance(raw, bytes):
        if len(raw) > limit:
            return {}
        raw = raw.decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def safe_next(value: str | None, default: str = "/t") -> str:
    """A local path to return to after sign-in; anything else (another site) is the default."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(c) < 0x21 for c in value):
        return default
    return value
