"""Seed configuration the way users write it: through the admin use cases the API calls.

There is no repository back door: a test's leaders, queries, teams, chains and routes are
validated, scope-checked and audited like the API's (the audit names ``SEEDER``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from chalicelib.domain.config_kinds import CHAINS, LEADERS, QUERIES, ROUTES, TEAMS
from chalicelib.domain.keywords import KeywordQuery
from chalicelib.domain.org import Leader, Team
from chalicelib.services.config_admin import ConfigAdmin, system_principal
from chalicelib.services.ports import ConfigRecord, ConfigStore

SEEDER = system_principal("seed:tests")


def seed(store: ConfigStore, *objects: Leader | KeywordQuery | Team | dict[str, Any]) -> None:
    """Write each object (a chain or a route config as a dict) as a national admin would."""
    for obj in objects:
        put(store, obj)


def put(store: ConfigStore, obj: Leader | KeywordQuery | Team | dict[str, Any]) -> ConfigRecord:
    admin = ConfigAdmin(store)
    if isinstance(obj, Leader):
        return admin.put(LEADERS, SEEDER, dataclasses.asdict(obj))
    if isinstance(obj, KeywordQuery):
        return admin.put(QUERIES, SEEDER, dataclasses.asdict(obj))
    if isinstance(obj, Team):
        return admin.put(TEAMS, SEEDER, dataclasses.asdict(obj))
    if "route" in obj:
        return admin.put(ROUTES, SEEDER, obj)
    return admin.put(CHAINS, SEEDER, obj)
