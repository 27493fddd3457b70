"""A warrior's devices: registering a push token subscribes it to their state's topic.

The filter policy comes from the member and team as stored now; a later change of team or
languages needs the device registered again (the app does so at start).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from chalicelib.domain.access import Principal, Scope, Verb, authorize
from chalicelib.domain.org import team_from_dict
from chalicelib.domain.subscriptions import filter_policy
from chalicelib.errors import ForbiddenError, NotFoundError
from chalicelib.services.config_cache import TEAM_INDEX
from chalicelib.services.ports import ConfigRecord, ConfigStore, DeviceRegistry

DEVICES = "DEVICES#"
# A pointer from an SNS endpoint ARN to its device, for the push events that retire it.
ENDPOINTS = "ENDPOINT"
EVENTS_ACTOR = "system:sns-events"


def _where(data: dict[str, Any], member: str) -> list[Scope]:
    """The device's scope for its audit record; none for devices stored without a district."""
    if "district" not in data:
        return []
    return [Scope(str(data["state"]), str(data["district"]), str(data["team_id"]), member)]


def device_id_for(platform: str, token: str) -> str:
    return "d_" + hashlib.sha256(f"{platform}\x1f{token}".encode()).hexdigest()[:20]


def _my_team(store: ConfigStore, p: Principal) -> ConfigRecord:
    if not p.team:
        raise ForbiddenError("devices belong to team members; your token names no team")
    pointer = store.get_item(TEAM_INDEX, p.team)
    team = store.get_item(str(pointer.data["pk"]), p.team) if pointer else None
    if team is None:
        raise NotFoundError("the team your token names does not exist")
    return team


def register_device(
    store: ConfigStore,
    registry: DeviceRegistry,
    topic_arn_for: Callable[[str], str],
    p: Principal,
    platform: str,
    token: str,
) -> tuple[ConfigRecord, bool]:
    """The stored device and whether it is new."""
    record = _my_team(store, p)
    team = team_from_dict(record.data)
    scope = Scope(team.state, team.district, team.id, member=p.sub)
    authorize(p, "device", Verb.WRITE, scope, creating=True)
    member = next((m for m in team.members if m.id == p.sub), None)
    if member is None:
        raise NotFoundError(f"you are not a member of team {team.id}")
    policy = filter_policy(member, team)
    endpoint, subscription = registry.register(
        platform, token, topic_arn_for(team.state), policy, p.sub
    )
    device_id = device_id_for(platform, token)
    before = store.get_item(f"{DEVICES}{p.sub}", device_id)
    data: dict[str, Any] = {
        "id": device_id,
        "platform": platform,
        "team_id": team.id,
        "state": team.state,
        "district": team.district,  # where the audit log shows it (domain.access.may_read_audit)
        "endpoint_arn": endpoint,
        "subscription_arn": subscription,
        "filter_policy": policy,
    }
    saved = store.write_item(
        f"{DEVICES}{p.sub}",
        device_id,
        "device",
        data,
        team.state,
        p.sub,
        None if before is None else before.version,
        [(ENDPOINTS, endpoint, {"pk": f"{DEVICES}{p.sub}", "sk": device_id})],
        objects=_where(data, p.sub),
    )
    assert saved is not None
    return saved, before is None


def my_devices(store: ConfigStore, p: Principal) -> list[ConfigRecord]:
    authorize(p, "device", Verb.READ, Scope(team=p.team, member=p.sub))
    return store.list_items(f"{DEVICES}{p.sub}")


def remove_device(
    store: ConfigStore, registry: DeviceRegistry, p: Principal, device_id: str
) -> None:
    record = store.get_item(f"{DEVICES}{p.sub}", device_id)
    if record is None:
        raise NotFoundError("no such device")
    authorize(p, "device", Verb.WRITE, Scope(team=p.team, member=p.sub))
    registry.unregister(record.data["endpoint_arn"], record.data["subscription_arn"])
    store.write_item(
        f"{DEVICES}{p.sub}",
        device_id,
        "device",
        None,
        record.data["state"],
        p.sub,
        record.version,
        [(ENDPOINTS, record.data["endpoint_arn"], None)],
        objects=_where(record.data, p.sub),
    )


def retire_endpoint(store: ConfigStore, registry: DeviceRegistry, endpoint_arn: str) -> bool:
    """A push endpoint SNS reports dead: unsubscribe and delete it, forget the device (audited).

    Idempotent: a second event for the same endpoint finds nothing and does nothing.
    """
    pointer = store.get_item(ENDPOINTS, endpoint_arn)
    if pointer is None:
        return False
    pk, sk = str(pointer.data["pk"]), str(pointer.data["sk"])
    record = store.get_item(pk, sk)
    if record is None:
        return False  # removed meanwhile; its pointer is harmless
    registry.unregister(endpoint_arn, str(record.data.get("subscription_arn", "")))
    store.write_item(
        pk,
        sk,
        "device",
        None,
        str(record.data.get("state", "national")),
        EVENTS_ACTOR,
        record.version,
        [(ENDPOINTS, endpoint_arn, None)],
        objects=_where(record.data, pk.removeprefix(DEVICES)),
    )
    return True
