"""Every protected route refuses bad tokens with a 401 problem+json; public routes need none."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.adapters.jwt_tokens import DevIssuer
from tests.functional.conftest import CLAIMS, ISSUER, World, token

OTHER = DevIssuer(DevIssuer.generate().private_pem, ISSUER.kid)
NOW = datetime.now(UTC)
SH = CLAIMS["state_head"]


def _b64(data: dict[str, Any]) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def alg_none() -> str:
    payload = {**SH, "iss": ISSUER.issuer, "aud": "tvarit-local", "token_use": "id"}
    payload["exp"] = int(NOW.timestamp()) + 600
    return f"{_b64({'alg': 'none', 'kid': ISSUER.kid})}.{_b64(payload)}."


BAD = [
    ("no header", None, "authorization"),
    ("not bearer", "Basic dXNlcjpwYXNz", "authorization"),
    ("forged", f"Bearer {OTHER.mint(SH, NOW)}", "signature"),
    ("expired", f"Bearer {ISSUER.mint(SH, NOW - timedelta(hours=3))}", "exp"),
    ("wrong audience", f"Bearer {ISSUER.mint(SH, NOW, audience='another-app')}", "aud"),
    ("alg none", f"Bearer {alg_none()}", "alg"),
    ("wrong token_use", f"Bearer {ISSUER.mint({**SH, 'token_use': 'refresh'}, NOW)}", "token_use"),
    ("no role", f"Bearer {ISSUER.mint({'sub': 'x'}, NOW)}", "custom:role"),
]


@pytest.mark.parametrize(("case", "header", "loc"), BAD, ids=[b[0] for b in BAD])
@pytest.mark.parametrize("route", ["/me/tasks", "/tasks/t_1"])
def test_bad_tokens_get_401_problem_json(
    client: Client, world: World, case: str, header: str | None, loc: str, route: str
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = client.http.get(route, headers=headers)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    body = response.json_body
    assert body["type"] == "/problems/unauthenticated" and body["status"] == 401
    assert [e["loc"] for e in body["errors"]] == [loc]
    assert "Traceback" not in response.body.decode()


def test_public_routes_need_no_token(client: Client) -> None:
    assert client.http.get("/health").status_code == 200


def test_a_good_token_gets_through(client: Client, world: World) -> None:
    response = client.http.get("/me/tasks", headers={"Authorization": f"Bearer {token('warrior')}"})
    assert response.status_code == 200


def test_chalice_own_errors_become_problem_json(client: Client, world: World) -> None:
    response = client.http.put("/me/tasks", headers={"Authorization": f"Bearer {token('warrior')}"})
    assert response.status_code == 405
    assert response.json_body["type"] == "/problems/method-not-allowed"
    response = client.http.post(
        "/tasks/t_1/ack",
        headers={"Authorization": f"Bearer {token('warrior')}", "Content-Type": "text/plain"},
        body="x",
    )
    assert response.status_code == 415
    assert response.headers["Content-Type"] == "application/problem+json"
