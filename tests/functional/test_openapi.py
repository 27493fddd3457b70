"""The OpenAPI document matches the routes the app registers, and is valid OpenAPI 3.1."""

from __future__ import annotations

from chalice.test import Client

from chalicelib.api.openapi import OPERATIONS, document


def test_every_registered_route_is_documented_and_nothing_else(client: Client) -> None:
    from app import app
    from chalicelib.web.paths import PAGE_ROUTES

    # The pages (HTML for people, chalicelib/web) are not part of the JSON API.
    registered = {
        (path, method.lower())
        for path, methods in app.routes.items()
        for method in methods
        if path not in PAGE_ROUTES
    }
    documented = {(path, method) for path, ops in document()["paths"].items() for method in ops}
    assert documented == registered


def test_operation_ids_are_unique() -> None:
    ids = [op.op_id for op in OPERATIONS]
    assert len(ids) == len(set(ids))


def test_the_document_is_served_and_valid(client: Client) -> None:
    from openapi_spec_validator import validate

    response = client.http.get("/openapi.json")
    assert response.status_code == 200
    assert response.json_body["openapi"] == "3.1.0"
    validate(response.json_body)


def test_the_routes_without_a_bearer_token_are_exactly_those_documented_public() -> None:
    from chalicelib.api.auth import PUBLIC_ROUTES
    from chalicelib.api.openapi import OPERATIONS

    assert {op.path for op in OPERATIONS if op.public} == PUBLIC_ROUTES


def test_every_link_names_a_real_operation_and_its_parameters() -> None:
    from chalicelib.api.openapi import LINKS

    by_id = {op["operationId"]: op for ops in document()["paths"].values() for op in ops.values()}
    assert LINKS, "the stateful phase of schemathesis has nothing to follow"
    for source, links in LINKS.items():
        assert source in by_id, source
        for _name, target, params in links:
            names = {f"{p['in']}.{p['name']}" for p in by_id[target]["parameters"]}
            assert set(params) <= names, (source, target, set(params) - names)


def test_every_503_documents_its_retry_after_header() -> None:
    doc = document()
    answers = [
        op["responses"]["503"]
        for path in doc["paths"].values()
        for op in path.values()
        if isinstance(op, dict) and "503" in op.get("responses", {})
    ]
    assert answers  # the webhook and every write can be 503
    assert all(a["headers"]["Retry-After"]["schema"]["type"] == "integer" for a in answers)
