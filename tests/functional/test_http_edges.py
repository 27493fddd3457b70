"""What every answer shares: UTF-8 JSON, and unknown routes answered like the deployed API."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from chalice.test import Client

from tests.functional.conftest import World, auth, token

NAME = "अरविंद केजरीवाल"  # Devanagari: three UTF-8 bytes a letter, six as a \u escape


def test_devanagari_goes_out_as_raw_utf8(client: Client, world: World) -> None:
    leader = {"id": "l-hindi", "name": NAME, "state": "DL"}
    created = client.http.post("/leaders", headers=auth("national_admin"), body=json.dumps(leader))
    assert created.status_code == 201
    for response in (created, client.http.get("/leaders/l-hindi", headers=auth("state_head"))):
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        assert NAME.encode("utf-8") in response.body
        assert b"\\u" not in response.body
        assert json.loads(response.body.decode("utf-8"))["name"] == NAME


def test_lists_and_problems_are_utf8_too(client: Client, world: World) -> None:
    client.http.post(
        "/leaders",
        headers=auth("national_admin"),
        body=json.dumps({"id": "l-hindi", "name": NAME, "state": "DL"}),
    )
    listed = client.http.get("/leaders?state=DL", headers=auth("national_admin"))
    assert NAME.encode() in listed.body and b"\\u" not in listed.body
    problem = client.http.post(
        "/leaders",
        headers=auth("national_admin"),
        body=json.dumps({"id": "l-2", "name": NAME, "state": "DL", NAME: 1}),
    )
    assert problem.status_code == 422
    assert problem.headers["Content-Type"] == "application/problem+json"
    assert NAME.encode() in problem.body and b"\\u" not in problem.body


@pytest.fixture(scope="module")
def local_api() -> Iterator[str]:
    """The API as the local stack serves it (``local.gateway.ProblemRequestHandler``)."""
    from chalice.config import Config
    from chalice.local import LocalDevServer

    from app import app
    from local.gateway import ProblemRequestHandler

    config = Config.create(chalice_stage="local", app_name="tvarit", chalice_app=app)
    dev = LocalDevServer(app, config, "127.0.0.1", 0, handler_cls=ProblemRequestHandler)
    host, port = dev.server.server_address[:2]
    threading.Thread(target=dev.server.serve_forever, daemon=True).start()
    yield f"http://{host}:{port}"
    dev.shutdown()
    dev.server.server_close()


@pytest.mark.parametrize("path", ["/nope", "/teams/DL-1/nope", "/leaders/x/y/z", "/"])
def test_an_unknown_path_is_a_404_problem_that_echoes_nothing(
    local_api: str, world: World, path: str
) -> None:
    bearer = token("national_admin")
    request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1 of the fixture)
        local_api + path, headers={"Authorization": f"Bearer {bearer}"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    answer = caught.value
    raw = answer.read()
    assert answer.code == 404
    assert answer.headers["Content-Type"] == "application/problem+json"
    body = json.loads(raw)
    assert body.pop("instance").startswith("urn:tvarit:request:")
    assert body == {
        "type": "/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "no such route",
    }
    assert bearer.encode() not in raw and b"Bearer" not in raw


def test_a_known_path_still_reaches_the_app(local_api: str, world: World) -> None:
    with urllib.request.urlopen(local_api + "/health", timeout=10) as answer:  # noqa: S310
        assert answer.status == 200
        assert json.loads(answer.read()) == {"status": "ok"}
