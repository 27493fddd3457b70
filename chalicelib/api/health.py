"""Liveness: ``GET /health``."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.wire import Health

health_api = Blueprint(__name__)


@health_api.route("/health", methods=["GET"])
def health() -> Health:
    return {"status": "ok"}
