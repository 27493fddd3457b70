"""Liveness: ``GET /health``."""

from __future__ import annotations

from chalice import Blueprint

health_api = Blueprint(__name__)


@health_api.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    return {"status": "ok"}
