"""Chalice entry point: creates the app and registers blueprints and middleware. No logic."""

from __future__ import annotations

from chalice import Chalice

from chalicelib.api.health import health_api

app = Chalice(app_name="tvarit")
app.register_blueprint(health_api)
