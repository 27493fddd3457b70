"""Members' WhatsApp opt-ins: checked and stamped before a team write, indexed after it.

Called by :class:`services.contacts.ContactSync` (the config use case's hook for members'
contact details), so an opt-in is written like the SMS/e-mail consent: through ConfigAdmin,
audited, by the API, seeding and the console alike. After the write, each opted-in number gets
a pointer ``("WAPHONE", phone key)`` -> (member, team, state): how an inbound WhatsApp message
finds its member without the number being stored anywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.domain.org import team_from_dict
from chalicelib.domain.whatsapp import check_whatsapp, phone_key, phone_pointers, stamp_whatsapp
from chalicelib.errors import FieldProblem
from chalicelib.services.ports import ConfigStore

PHONES = "WAPHONE"
POINTER_KIND = "whatsapp_phone"


def whatsapp_problems(
    store: ConfigStore, after: Mapping[str, Any], enabled: bool
) -> list[FieldProblem]:
    """Problems of the team's opt-ins, including a number opted in for someone else."""
    problems = check_whatsapp(after, enabled)
    if problems or not enabled:
        return problems
    for i, m in enumerate(after.get("members", ())):
        if not (m.get("whatsapp_opt_in") and m.get("phone")):
            continue
        pointer = store.get_item(PHONES, phone_key(str(m["phone"])))
        if pointer is not None and pointer.data.get("member_id") != m.get("id"):
            problems.append(
                FieldProblem(f"members[{i}].phone", "opted in to WhatsApp for another member")
            )
    return problems


def stamp(
    after: dict[str, Any], before: Mapping[str, Any] | None, actor: str, now_iso: str
) -> dict[str, Any]:
    members = stamp_whatsapp(
        after.get("members", []), (before or {}).get("members", []), actor, now_iso
    )
    return {**after, "members": members}


def sync_pointers(
    store: ConfigStore,
    actor: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    """Make the phone pointers match the team as written (``after`` None: deleted)."""
    old = phone_pointers(team_from_dict(dict(before)) if before else None)
    new = phone_pointers(team_from_dict(dict(after)) if after else None)
    for key in sorted(set(old) | set(new)):
        if old.get(key) == new.get(key):
            continue
        current = store.get_item(PHONES, key)
        if key not in new:
            if current is not None and current.data.get("member_id") == old[key]["member_id"]:
                store.write_item(
                    PHONES, key, POINTER_KIND, None, old[key]["state"], actor, current.version
                )
            continue
        store.write_item(
            PHONES,
            key,
            POINTER_KIND,
            {"id": key, **new[key]},
            new[key]["state"],
            actor,
            None if current is None else current.version,
        )
