"""Routing: which teams get a task for a matched mention.

This first version sends a task to every team in the watched leader's state; issue #6 turns
it into an Alertmanager-style route tree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chalicelib.domain.org import Team


def route(labels: Mapping[str, str], teams: Sequence[Team]) -> list[Team]:
    """The teams that should respond to a mention carrying ``labels``."""
    state = labels.get("state", "")
    return [t for t in teams if t.state == state]
