"""Members' SMS and e-mail channels: checked before a team write, subscribed after it.

``Member.channels`` naming ``sms`` or ``email`` makes an SNS ``sms`` / ``email`` subscription on
the state topic with the member's device filter policy. The config use case calls
:meth:`ContactSync.prepare` before it writes a team (refusing channels the stage does not offer,
contact details without consent, SMS outside the team's audience) and :meth:`ContactSync.sync`
after it. Subscriptions are remembered as ``("CONTACTS#<member>", channel)`` config items that
hold the subscription ARN and policy, never the phone number or address. A failed subscribe
after the team write leaves the member stored; repeating the same PUT subscribes what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.contacts import (
    SNS_PROTOCOL,
    check_contacts,
    desired_contacts,
    raise_problems,
    stamp_consent,
)
from chalicelib.domain.org import team_from_dict
from chalicelib.errors import FieldProblem
from chalicelib.services import whatsapp_optin
from chalicelib.services.ports import Clock, ConfigStore, ContactSubscriber

CONTACTS = "CONTACTS#"


@dataclass
class ContactSync:
    store: ConfigStore
    subscriber: ContactSubscriber
    topic_arn_for: Callable[[str], str]
    enabled: frozenset[str]
    clock: Clock

    def prepare(
        self,
        actor: str,
        after: dict[str, Any],
        before: Mapping[str, Any] | None,
        member_id: str = "",
    ) -> dict[str, Any]:
        """The team to write, consent stamped; InvalidInputError listing every problem.

        ``member_id``: the write is that one member's (its body is the member, so its problems
        are named by the member's own fields; other members' by their place in the team).
        """
        problems = check_contacts(after, self.enabled)
        problems += whatsapp_optin.whatsapp_problems(self.store, after, "whatsapp" in self.enabled)
        if member_id:
            at = next(
                (i for i, m in enumerate(after.get("members", [])) if m.get("id") == member_id),
                -1,
            )
            prefix = f"members[{at}]."
            problems = [
                FieldProblem(p.loc.removeprefix(prefix), p.msg) if p.loc.startswith(prefix) else p
                for p in problems
            ]
        raise_problems(problems)
        members = stamp_consent(
            after.get("members", []),
            (before or {}).get("members", []),
            actor,
            self.clock().isoformat(),
        )
        return whatsapp_optin.stamp(
            {**after, "members": members}, before, actor, self.clock().isoformat()
        )

    def sync(
        self, actor: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
    ) -> None:
        """Make the SNS subscriptions match the team as written (``after`` None: deleted)."""
        whatsapp_optin.sync_pointers(self.store, actor, before, after)
        old = desired_contacts(team_from_dict(dict(before)) if before else None)
        new = desired_contacts(team_from_dict(dict(after)) if after else None)
        # Only members with a contact before or after can hold subscriptions: the others cost
        # no read (a team of 50 warriors without SMS writes without 50 queries).
        member_ids = {member_id for member_id, _ in (*old, *new)}
        state = str((after or before or {}).get("state", "national"))
        team_id = str((after or before or {}).get("id", ""))
        for member_id in sorted(member_ids):
            stored = {r.id: r for r in self.store.list_items(f"{CONTACTS}{member_id}")}
            for channel, record in stored.items():
                key = (member_id, channel)
                if key in new and old.get(key) == new[key]:
                    continue  # unchanged: keep the subscription
                self.subscriber.unsubscribe(str(record.data.get("subscription_arn", "")))
                self.store.write_item(
                    f"{CONTACTS}{member_id}",
                    channel,
                    "contact",
                    None,
                    str(record.data.get("state", state)),
                    actor,
                    record.version,
                )
            kept = {
                c
                for c in stored
                if (member_id, c) in new and old.get((member_id, c)) == new[(member_id, c)]
            }
            for (mid, channel), (endpoint, policy) in sorted(new.items()):
                if mid != member_id or channel in kept:
                    continue
                arn = self.subscriber.subscribe(
                    self.topic_arn_for(state), SNS_PROTOCOL[channel], endpoint, policy
                )
                self.store.write_item(
                    f"{CONTACTS}{member_id}",
                    channel,
                    "contact",
                    {
                        "id": channel,
                        "member_id": member_id,
                        "team_id": team_id,
                        "state": state,
                        "subscription_arn": arn,
                        "filter_policy": policy,
                    },
                    state,
                    actor,
                    None,
                )
