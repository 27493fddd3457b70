"""The event functions' Chalice app: the event blueprints and the middleware they run under.

Lambda enters every SQS, schedule and stream function through ``lambda_entry``, which needs an
app with these blueprints registered (their middleware, aws/chalice#1566). Importing ``app.py``
for that also imported every HTTP blueprint (API, pages, console) that an event function never
calls: about a third of a cold start's import (issue 17). ``app.py`` registers the same
blueprints (``EVENT_BLUEPRINTS``) with the same middleware; ``tests/functional/test_event_app.py``
keeps the two apps' event functions and middleware equal.
"""

from __future__ import annotations

from chalice import Chalice

from chalicelib.events import events
from chalicelib.observability import observe
from chalicelib.rollup_events import rollup_events
from chalicelib.whatsapp_events import whatsapp_events

# The event blueprints' one list: app.py registers these too (the API's app deploys them).
EVENT_BLUEPRINTS = (events, whatsapp_events, rollup_events)

app = Chalice(app_name="tvarit")
app.register_middleware(observe, "all")
for blueprint in EVENT_BLUEPRINTS:
    app.register_blueprint(blueprint)
