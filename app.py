"""Chalice entry point: creates the app and registers blueprints and middleware. No logic."""

from __future__ import annotations

from chalice import Chalice

from chalicelib.api.admin import admin_api
from chalicelib.api.auth import authenticate
from chalicelib.api.chat_links import chat_links_api
from chalicelib.api.console_api import console_api
from chalicelib.api.console_data import console_data_api
from chalicelib.api.health import health_api
from chalicelib.api.http import known_query, utf8_json
from chalicelib.api.ingest import ingest_api
from chalicelib.api.openapi import openapi_api
from chalicelib.api.push import push_api
from chalicelib.api.tasks import tasks_api
from chalicelib.event_app import EVENT_BLUEPRINTS
from chalicelib.observability import observe
from chalicelib.web.console import console_web
from chalicelib.web.pages import web

app = Chalice(app_name="tvarit")
app.register_middleware(observe, "all")
app.register_middleware(utf8_json, "http")  # outermost of "http": it sees every answer
app.register_middleware(authenticate, "http")
app.register_middleware(known_query, "http")
app.register_blueprint(health_api)
app.register_blueprint(ingest_api)
app.register_blueprint(push_api)
app.register_blueprint(tasks_api)
app.register_blueprint(admin_api)
app.register_blueprint(openapi_api)
app.register_blueprint(console_api)
app.register_blueprint(web)
app.register_blueprint(chat_links_api)
app.register_blueprint(console_web)
app.register_blueprint(console_data_api)
for blueprint in EVENT_BLUEPRINTS:  # the event functions (chalicelib/event_app.py)
    app.register_blueprint(blueprint)
