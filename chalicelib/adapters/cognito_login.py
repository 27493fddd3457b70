"""Cognito's token endpoint: exchange an authorization code (and its PKCE verifier) for tokens."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from chalicelib.errors import AuthenticationError, UpstreamError


class CognitoCodeExchange:
    """``POST {domain}/oauth2/token`` as a public app client (no secret; PKCE instead)."""

    def __init__(self, domain: str, client_id: str, timeout: float = 5.0) -> None:
        self._url = f"{domain.rstrip('/')}/oauth2/token"
        self._client_id = client_id
        self._timeout = timeout

    def exchange(self, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
        if not self._url.startswith("https://"):
            raise UpstreamError("the Cognito domain must be https")
        body = urlencode(
            {
                "grant_type": "authorization_code",
                "client_id": self._client_id,
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310 (https only, checked above)
            self._url,
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                tokens: dict[str, Any] = json.loads(response.read().decode())
        except urllib.error.HTTPError as err:
            # 400 invalid_grant: a used, expired or forged code; the body names no secret.
            raise AuthenticationError("the sign-in code was refused") from err
        except (OSError, ValueError) as err:
            raise UpstreamError("the sign-in service did not answer") from err
        return tokens
