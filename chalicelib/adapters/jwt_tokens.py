"""Bearer tokens as Amazon Cognito issues them: verified here, on every request (PyJWT).

Cognito signs with RS256 and publishes its keys as a JWKS; an ID token names the app client in
``aud``, an access token in ``client_id``; ``token_use`` says which it is. The clock is passed
in, so expiry is checked against the same time as everything else (PyJWT's own time checks
are turned off and done here). :class:`DevIssuer` is the local stack's stand-in for a user pool.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt

from chalicelib.errors import AuthenticationError, FieldProblem, MalformedInputError
from chalicelib.observability import logger

ALGORITHM = "RS256"  # what Cognito signs with; anything else (and "none") is refused
LEEWAY_SECONDS = 30  # clock skew between the issuer and Lambda
REFETCH_SECONDS = 60.0
TOKEN_USES = ("id", "access")
DEV_ISSUER = "https://tvarit.local/dev-issuer"
DEV_AUDIENCE = "tvarit-local"


def _fetch_url(url: str) -> str:
    import urllib.request

    if not url.startswith("https://"):
        raise OSError("the JWKS URL must be https")
    with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 (https only)
        return str(response.read().decode())


def jwks_url_for(issuer: str) -> str:
    """Where an OpenID issuer (a Cognito user pool) publishes its keys."""
    return f"{issuer.rstrip('/')}/.well-known/jwks.json" if issuer.startswith("https://") else ""


def _numeric_date(claims: Mapping[str, Any], name: str) -> int | float | None:
    """A time claim as RFC 7519 defines it (seconds, a JSON number), or None when absent.

    Anything else is refused rather than skipped: a string ``nbf`` would otherwise never be
    compared, and a NaN or infinite ``exp`` never expires (JSON parsers accept both literals).
    """
    if name not in claims:
        return None
    value = claims[name]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise _refuse(f"the token's {name} is not a finite number", name, "not a finite number")


def _refuse(detail: str, loc: str = "authorization", msg: str = "") -> AuthenticationError:
    return AuthenticationError(detail, [FieldProblem(loc, msg or detail)])


class JwtVerifier:
    """Verifies signature (JWKS), ``exp``/``nbf``, ``iss``, ``aud``/``client_id``, ``token_use``."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks_json: str,
        clock: Callable[[], datetime],
        jwks_url: str = "",
        fetch: Callable[[str], str] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._issuer = issuer
        self._audience = audience
        self._clock = clock
        self._keys: dict[str, Any] = self._parse(jwks_json) if jwks_json else {}
        # Without inline keys, fetch the issuer's JWKS (Cognito publishes it) once per
        # container, and again when a token names a key we do not know (key rotation), at
        # most once per REFETCH_SECONDS so forged kids cannot make us hammer the issuer.
        self._jwks_url = "" if jwks_json else jwks_url
        self._fetch = fetch or _fetch_url
        self._monotonic = monotonic
        self._fetched_at: float | None = None

    @staticmethod
    def _parse(jwks_json: str) -> dict[str, Any]:
        try:
            keys = jwt.PyJWKSet.from_dict(json.loads(jwks_json)).keys
        except (ValueError, TypeError, jwt.PyJWTError):
            # A broken key set refuses every token (401) rather than failing each request
            # with a 500; the log says why.
            logger.error("the JWKS is not a valid key set; refusing all tokens")
            return {}
        return {k.key_id: k for k in keys if k.key_id}

    def _key(self, kid: str) -> Any:
        if kid not in self._keys and self._jwks_url:
            now = self._monotonic()
            if self._fetched_at is None or now - self._fetched_at >= REFETCH_SECONDS:
                self._fetched_at = now
                try:
                    self._keys = self._parse(self._fetch(self._jwks_url)) or self._keys
                except OSError:
                    logger.error("fetching the JWKS failed", extra={"url": self._jwks_url})
        return self._keys.get(kid)

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; AuthenticationError for anything not exactly right."""
        if not (self._keys or self._jwks_url) or not self._issuer or not self._audience:
            raise _refuse("token verification is not configured")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _refuse("the bearer token is not a JWT") from None
        if header.get("alg") != ALGORITHM:
            raise _refuse(f"tokens must be signed with {ALGORITHM}", "alg", "algorithm refused")
        key = self._key(str(header.get("kid", "")))
        if key is None:
            raise _refuse("the token was signed with an unknown key", "kid", "unknown key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "require": ["exp", "iss", "sub", "token_use"],
                },
            )
        except jwt.InvalidSignatureError:
            raise _refuse("the token's signature is not valid", "signature", "invalid") from None
        except jwt.InvalidIssuerError:
            raise _refuse("the token is from another issuer", "iss", "wrong issuer") from None
        except jwt.MissingRequiredClaimError as err:
            raise _refuse(f"the token lacks {err.claim}", err.claim, "required") from None
        except jwt.PyJWTError:
            raise _refuse("the token could not be verified") from None
        self._check_times(claims)
        self._check_client(claims)
        return claims

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now = self._clock().timestamp()
        exp = _numeric_date(claims, "exp")
        nbf = _numeric_date(claims, "nbf")
        _numeric_date(claims, "iat")  # not compared (Cognito's clock), but typed all the same
        if exp is None:
            raise _refuse("the token lacks exp", "exp", "required")
        if now > exp + LEEWAY_SECONDS:
            raise _refuse("the token has expired", "exp", "expired")
        if nbf is not None and now + LEEWAY_SECONDS < nbf:
            raise _refuse("the token is not valid yet", "nbf", "in the future")

    def _check_client(self, claims: Mapping[str, Any]) -> None:
        use = claims.get("token_use")
        if use not in TOKEN_USES:
            raise _refuse("the token is neither an ID nor an access token", "token_use", "refused")
        name = "aud" if use == "id" else "client_id"
        got = claims.get(name)
        ok = got == self._audience or (isinstance(got, list) and self._audience in got)
        if not ok:
            raise _refuse("the token is for another application", name, "wrong audience")


class DevIssuer:
    """A local user pool: an RSA key pair the app trusts (its JWKS), minting Cognito tokens."""

    def __init__(self, private_pem: bytes, kid: str, issuer: str = DEV_ISSUER) -> None:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        self._key: Any = load_pem_private_key(private_pem, password=None)
        self.private_pem = private_pem
        self.kid = kid
        self.issuer = issuer

    @classmethod
    def generate(cls, issuer: str = DEV_ISSUER) -> DevIssuer:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cls(pem, f"dev-{secrets.token_hex(4)}", issuer)

    @classmethod
    def load(cls, path: Path) -> DevIssuer:
        """Read a key file written by :meth:`save` (the kid and issuer ride in its header).

        MalformedInputError when the file cannot be read or is not such a key file.
        """
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
            raise MalformedInputError(f"{path}: cannot read: {reason}") from None
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

        meta, _, pem = text.partition("\n")
        try:
            info = json.loads(meta.removeprefix("# "))
            issuer = cls(pem.encode(), str(info["kid"]), str(info["issuer"]))
        except (ValueError, TypeError, KeyError, UnsupportedAlgorithm):  # not what save wrote
            issuer = None
        if issuer is None or not isinstance(issuer._key, RSAPrivateKey):
            raise MalformedInputError(
                f"{path}: not a development issuer key (the file the local stack writes)"
            )
        return issuer

    def save(self, path: Path) -> None:
        meta = json.dumps({"kid": self.kid, "issuer": self.issuer})
        path.write_text(f"# {meta}\n{self.private_pem.decode()}")
        path.chmod(0o600)

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}]}

    def mint(
        self,
        claims: Mapping[str, Any],
        now: datetime,
        ttl_seconds: int = 3600,
        audience: str = DEV_AUDIENCE,
        token_use: str = "id",  # noqa: S107 (a claim value)
    ) -> str:
        """A signed token with Cognito's standard claims; ``claims`` override them."""
        iat = int(now.timestamp())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "token_use": token_use,
            "iat": iat,
            "auth_time": iat,
            "exp": iat + ttl_seconds,
        }
        claim = "aud" if token_use == "id" else "client_id"  # noqa: S105 (a claim value)
        payload[claim] = audience
        payload.update(claims)
        return jwt.encode(payload, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})
