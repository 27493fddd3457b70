"""Bearer tokens: what Cognito issues passes; every kind of forgery or misuse is refused."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from chalicelib.adapters.jwt_tokens import DEV_AUDIENCE, DevIssuer, JwtVerifier
from chalicelib.errors import AuthenticationError

NOW = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
ISSUER = DevIssuer.generate()
OTHER = DevIssuer(DevIssuer.generate().private_pem, ISSUER.kid)  # same kid, another key
CLAIMS = {"sub": "u-1", "custom:role": "state_head", "custom:state": "RJ"}


def verifier(now: datetime = NOW) -> JwtVerifier:
    return JwtVerifier(ISSUER.issuer, DEV_AUDIENCE, json.dumps(ISSUER.jwks()), lambda: now)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _unsigned(alg: str) -> str:
    payload = {**CLAIMS, "iss": ISSUER.issuer, "aud": DEV_AUDIENCE, "token_use": "id"}
    payload["exp"] = int(NOW.timestamp()) + 600
    return f"{_b64({'alg': alg, 'kid': ISSUER.kid})}.{_b64(payload)}."


def _hs256_with_public_key() -> str:
    # The classic algorithm confusion: HMAC keyed with the published public key.
    jwk = ISSUER.jwks()["keys"][0]
    payload = {**CLAIMS, "iss": ISSUER.issuer, "aud": DEV_AUDIENCE, "token_use": "id"}
    payload["exp"] = int(NOW.timestamp()) + 600
    header = _b64({"alg": "HS256", "kid": ISSUER.kid, "typ": "JWT"})
    import hashlib
    import hmac

    signing_input = f"{header}.{_b64(payload)}"
    sig = hmac.new(jwk["n"].encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(sig).decode().rstrip('=')}"


def test_an_id_token_from_the_issuer_passes() -> None:
    claims = verifier().verify(ISSUER.mint(CLAIMS, NOW))
    assert claims["sub"] == "u-1" and claims["custom:role"] == "state_head"


def test_an_access_token_is_checked_on_client_id() -> None:
    token = ISSUER.mint(CLAIMS, NOW, token_use="access")
    assert verifier().verify(token)["client_id"] == DEV_AUDIENCE
    wrong = ISSUER.mint(CLAIMS, NOW, token_use="access", audience="other-app")
    with pytest.raises(AuthenticationError):
        verifier().verify(wrong)


LATER = int(NOW.timestamp()) + 600
# Time claims that are not finite JSON numbers of seconds; NaN and Infinity are JSON literals
# that Python's parser (and PyJWT's) accept, and a string was never compared at all.
ODD_TIMES: list[tuple[str, Any]] = [
    ("as a string", str(LATER)),
    ("as an empty string", ""),
    ("NaN", float("nan")),
    ("Infinity", float("inf")),
    ("-Infinity", float("-inf")),
    ("true", True),
    ("false", False),
    ("a list", [LATER]),
    ("an object", {"t": LATER}),
]


def _with(claim: str, value: Any) -> Callable[[], str]:
    # exp must stay valid while another claim is the odd one (nbf/iat of "now" are fine).
    return lambda: ISSUER.mint({**CLAIMS, claim: value}, NOW)


REFUSED: list[tuple[str, Callable[[], str], str]] = [
    ("forged signature", lambda: OTHER.mint(CLAIMS, NOW), "signature"),
    ("expired", lambda: ISSUER.mint(CLAIMS, NOW - timedelta(hours=2)), "exp"),
    (
        "wrong issuer",
        lambda: DevIssuer(ISSUER.private_pem, ISSUER.kid, "https://evil").mint(CLAIMS, NOW),
        "iss",
    ),
    ("wrong audience", lambda: ISSUER.mint(CLAIMS, NOW, audience="other-app"), "aud"),
    ("alg none", lambda: _unsigned("none"), "alg"),
    ("alg none, capitalised", lambda: _unsigned("None"), "alg"),
    ("HS256 keyed with the public key", _hs256_with_public_key, "alg"),
    (
        "refresh token_use",
        lambda: ISSUER.mint({**CLAIMS, "token_use": "refresh"}, NOW),
        "token_use",
    ),
    ("no exp", lambda: ISSUER.mint({**CLAIMS, "exp": None}, NOW), "exp"),
    (
        "not yet valid",
        lambda: ISSUER.mint({**CLAIMS, "nbf": int(NOW.timestamp()) + 3600}, NOW),
        "nbf",
    ),
    *[
        (f"{claim} {label}", _with(claim, value), claim)
        for claim in ("exp", "nbf", "iat")
        for label, value in ODD_TIMES
    ],
    ("unknown kid", lambda: DevIssuer(ISSUER.private_pem, "k-unknown").mint(CLAIMS, NOW), "kid"),
    ("not a JWT", lambda: "not-a-token", "authorization"),
    ("tampered payload", lambda: _tamper(ISSUER.mint(CLAIMS, NOW)), "signature"),
]


def _tamper(token: str) -> str:
    header, payload, sig = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["custom:role"] = "national_admin"
    return f"{header}.{_b64(data)}.{sig}"


@pytest.mark.parametrize(("case", "make", "loc"), REFUSED, ids=[r[0] for r in REFUSED])
def test_bad_tokens_are_refused(case: str, make: Callable[[], str], loc: str) -> None:
    with pytest.raises(AuthenticationError) as info:
        verifier().verify(make())
    assert [p.loc for p in info.value.problems] == [loc]


GOOD_TIMES: list[tuple[str, Any]] = [
    ("integer nbf", int(NOW.timestamp())),
    ("fractional nbf", NOW.timestamp() - 0.5),
    ("integer iat", int(NOW.timestamp())),
    ("fractional iat", NOW.timestamp() + 0.25),
]


@pytest.mark.parametrize(("case", "value"), GOOD_TIMES, ids=[g[0] for g in GOOD_TIMES])
def test_finite_numeric_times_pass(case: str, value: Any) -> None:
    claim = case.split()[1]
    assert verifier().verify(ISSUER.mint({**CLAIMS, claim: value}, NOW))["sub"] == "u-1"


def test_a_fractional_exp_expires_like_an_integer_one() -> None:
    token = ISSUER.mint({**CLAIMS, "exp": NOW.timestamp() + 0.5}, NOW)
    verifier(NOW + timedelta(seconds=30)).verify(token)
    with pytest.raises(AuthenticationError):
        verifier(NOW + timedelta(seconds=31)).verify(token)


def test_expiry_allows_a_little_clock_skew_and_no_more() -> None:
    token = ISSUER.mint(CLAIMS, NOW, ttl_seconds=60)
    verifier(NOW + timedelta(seconds=85)).verify(token)
    with pytest.raises(AuthenticationError):
        verifier(NOW + timedelta(seconds=95)).verify(token)


def test_an_unconfigured_verifier_refuses_everything() -> None:
    with pytest.raises(AuthenticationError):
        JwtVerifier("", "", "", lambda: NOW).verify(ISSUER.mint(CLAIMS, NOW))


def test_the_key_file_round_trips(tmp_path: Any) -> None:
    path = tmp_path / "key.pem"
    ISSUER.save(path)
    loaded = DevIssuer.load(path)
    assert loaded.kid == ISSUER.kid and loaded.issuer == ISSUER.issuer
    assert verifier().verify(loaded.mint(CLAIMS, NOW))["sub"] == "u-1"
    assert jwt.get_unverified_header(loaded.mint(CLAIMS, NOW))["kid"] == ISSUER.kid


@pytest.mark.parametrize("jwks", ["not json", '{"keys": [{"kty": "nope"}]}', '{"keys": 5}'])
def test_a_broken_key_set_refuses_every_token(jwks: str) -> None:
    verifier = JwtVerifier(ISSUER.issuer, DEV_AUDIENCE, jwks, lambda: NOW)
    with pytest.raises(AuthenticationError):
        verifier.verify(ISSUER.mint(CLAIMS, NOW))


class FakeIssuerSite:
    """The issuer's JWKS endpoint, counting fetches; serves whatever key set it holds."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.fetches = 0
        self.down = False

    def __call__(self, url: str) -> str:
        assert url == "https://issuer.example/pool/.well-known/jwks.json"
        self.fetches += 1
        if self.down:
            raise OSError("connection refused")
        return json.dumps(self.jwks)


def test_keys_are_fetched_from_the_issuer_once_and_again_on_rotation() -> None:
    from chalicelib.adapters.jwt_tokens import jwks_url_for

    issuer = "https://issuer.example/pool"
    first = DevIssuer(ISSUER.private_pem, "k1", issuer)
    site = FakeIssuerSite(first.jwks())
    clock = {"t": 0.0}
    v = JwtVerifier(
        issuer, DEV_AUDIENCE, "", lambda: NOW, jwks_url_for(issuer), site, lambda: clock["t"]
    )
    v.verify(first.mint(CLAIMS, NOW))
    v.verify(first.mint(CLAIMS, NOW))
    assert site.fetches == 1
    rotated = DevIssuer(DevIssuer.generate().private_pem, "k2", issuer)
    site.jwks = rotated.jwks()
    with pytest.raises(AuthenticationError):  # within a minute of the last fetch: no refetch
        v.verify(rotated.mint(CLAIMS, NOW))
    assert site.fetches == 1
    clock["t"] = 61.0
    assert v.verify(rotated.mint(CLAIMS, NOW))["sub"] == "u-1"
    assert site.fetches == 2
    site.down = True
    clock["t"] = 200.0
    with pytest.raises(AuthenticationError):  # an unknown kid while the site is down: refused
        v.verify(DevIssuer(ISSUER.private_pem, "k3", issuer).mint(CLAIMS, NOW))
    assert v.verify(rotated.mint(CLAIMS, NOW))["sub"] == "u-1"  # known keys keep working
