"""Cognito managed login for the pages: the OAuth 2.0 authorization code flow with PKCE.

The browser goes to the user pool's ``/oauth2/authorize`` with a fresh ``state`` and the
SHA-256 challenge of a fresh code verifier; both wait in a short-lived HttpOnly cookie scoped
to ``/auth``. Cognito sends the browser back to ``/auth/callback`` with a one-time code (never
a token); the app exchanges code + verifier for tokens server to server, verifies the ID token
like any bearer token, and keeps it as the session cookie.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

CALLBACK_PATH = "/auth/callback"
SCOPES = "openid phone profile"
FLOW_MAX_AGE = 600  # seconds a sign-in may take between leaving and coming back


def challenge_of(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class PendingLogin:
    """What the browser holds between leaving for Cognito and coming back."""

    state: str
    verifier: str
    next_path: str

    @classmethod
    def new(cls, next_path: str) -> PendingLogin:
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(48), next_path)

    def cookie_value(self) -> str:
        nxt = base64.urlsafe_b64encode(self.next_path.encode()).decode().rstrip("=")
        return f"{self.state}.{self.verifier}.{nxt}"

    @classmethod
    def from_cookie(cls, value: str) -> PendingLogin | None:
        parts = value.split(".")
        if len(parts) != 3 or not all(parts[:2]):
            return None
        try:
            nxt = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        return cls(parts[0], parts[1], nxt)


def authorize_url(domain: str, client_id: str, redirect_uri: str, pending: PendingLogin) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "state": pending.state,
            "code_challenge": challenge_of(pending.verifier),
            "code_challenge_method": "S256",
        }
    )
    return f"{domain}/oauth2/authorize?{query}"


def logout_url(domain: str, client_id: str, logout_uri: str) -> str:
    return f"{domain}/logout?{urlencode({'client_id': client_id, 'logout_uri': logout_uri})}"
