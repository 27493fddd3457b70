"""A warrior's devices: registering a push token subscribes it to their state's topic.

The filter policy comes from the member and team as stored. Every later write of the team
re-derives it (:class:`DeviceSync`): a member whose role, languages, severity floor or
district changed gets the new policy on their subscriptions at once, and a member who left
the team (or a team deleted) loses their devices, so a demoted lead stops receiving the
escalations of their old role.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.access import Principal, Scope, Verb, authorize
from chalicelib.domain.config_kinds import validate_team
from chalicelib.domain.org import Team, team_from_dict
from chalicelib.domain.subscriptions import filter_policy
from chalicelib.errors import ForbiddenError, NotFoundError
from chalicelib.services.config_cache import team_record
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
    team = team_record(store, p.team)
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
    team = validate_team(record.data)
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


def _team(data: Mapping[str, Any] | None) -> Team | None:
    if not data:
        return None
    members = [{**m, "team_id": data.get("id")} for m in data.get("members", [])]
    return team_from_dict({**data, "members": members})


@dataclass
class DeviceSync:
    """Keeps members' device subscriptions in step with their team as written."""

    store: ConfigStore
    registry: DeviceRegistry

    def sync(
        self, actor: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
    ) -> None:
        """After a team write: new policies for changed members, no devices for departed ones.

        Reads the devices of only those members whose policy changed or who left (a team of
        50 renamed costs no read).
        """
        old = _team(before)
        if old is None:
            return  # a new team: its members register their devices afterwards
        new = _team(after)
        now = {m.id: m for m in new.members} if new else {}
        for member in old.members:
            policy: dict[str, Any] | None = None
            kept = now.get(member.id)
            if kept is not None and new is not None and new.state == old.state:
                policy = filter_policy(kept, new)
                if policy == filter_policy(member, old):
                    continue
            for record in self.store.list_items(f"{DEVICES}{member.id}"):
                if record.data.get("team_id") != old.id:
                    continue  # a device registered with another team since
                self._apply(actor, member.id, record, policy, new)

    def _apply(
        self,
        actor: str,
        member_id: str,
        record: ConfigRecord,
        policy: dict[str, Any] | None,
        team: Team | None,
    ) -> None:
        data = record.data
        if policy is None:
            self.registry.unregister(
                str(data.get("endpoint_arn", "")), str(data.get("subscription_arn", ""))
            )
            self.store.write_item(
                f"{DEVICES}{member_id}",
                record.id,
                "device",
                None,
                str(data.get("state", "national")),
                actor,
                record.version,
                [(ENDPOINTS, str(data.get("endpoint_arn", "")), None)],
                objects=_where(data, member_id),
            )
            return
        assert team is not None
        self.registry.set_filter_policy(str(data.get("subscription_arn", "")), policy)
        changed = {**data, "filter_policy": policy, "district": team.district}
        self.store.write_item(
            f"{DEVICES}{member_id}",
            record.id,
            "device",
            changed,
            team.state,
            actor,
            record.version,
            objects=_distinct_scopes(_where(data, member_id) + _where(changed, member_id)),
        )


def _distinct_scopes(scopes: list[Scope]) -> list[Scope]:
    return list(dict.fromkeys(scopes))
