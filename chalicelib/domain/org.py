"""The organisation: watched leaders and their accounts, teams and members."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Account:
    """A public account of a watched leader on one platform."""

    platform: str
    handle: str
    platform_id: str = ""


@dataclass(frozen=True)
class Leader:
    """A watched public figure. ``state`` decides which state's teams respond."""

    id: str
    name: str
    state: str
    party: str = ""
    accounts: tuple[Account, ...] = ()
    reach: int = 0
    district: str = ""


@dataclass(frozen=True)
class Member:
    """A warrior or office-bearer."""

    id: str
    name: str
    team_id: str
    role: str = "warrior"  # warrior | lead | district_head | state_head
    languages: tuple[str, ...] = ()  # preferred first; decides the delivery language
    # push | sms | email: sms and email each make a subscription (services/contacts.py)
    channels: tuple[str, ...] = ("push",)
    quiet_hours: str = ""  # "22:00-07:00", local time (IST); honoured by the app on device
    min_severity: int = 1  # the subscription filter drops tasks below this
    # Personal data, stored only with consent (domain.contacts): E.164 phone, e-mail address.
    phone: str = field(default="", repr=False)
    email: str = field(default="", repr=False)
    contact_consent: bool = False
    contact_consent_at: str = ""  # ISO time the cell head recorded the consent
    contact_consent_by: str = ""  # who recorded it (their sub)
    # WhatsApp needs the member's own opt-in (domain.whatsapp): how, when, by whom; withdrawal.
    whatsapp_opt_in: bool = False
    whatsapp_opt_in_source: str = ""
    whatsapp_opt_in_at: str = ""
    whatsapp_opt_in_by: str = ""
    whatsapp_opt_out_at: str = ""
    whatsapp_opt_out_by: str = ""


@dataclass(frozen=True)
class Team:
    """A team of warriors in one state (and optionally one district)."""

    id: str
    name: str
    state: str
    district: str = ""
    lead_id: str = ""
    members: tuple[Member, ...] = ()
    quiet_hours: str = ""  # "22:00-07:00" IST: the team's pages go to a digest meanwhile
    # Paging limits: a token bucket of ``burst`` pages refilled at ``rate_per_hour``; beyond
    # it, new incidents wait in a digest sent at most every ``digest_minutes``.
    rate_per_hour: float = 6.0
    burst: int = 3
    digest_minutes: int = 30
    sms_audience: str = "leads"  # leads | everyone: who may get SMS (it costs per message)


def account_index_key(platform: str, handle: str) -> str:
    """How an account is looked up: handles are case-insensitive on every platform we watch."""
    return f"{platform}#{handle.lstrip('@').casefold()}"


def account_id_key(platform: str, platform_id: str) -> str:
    """How an account is looked up by the platform's own id (exact; ids are case-sensitive)."""
    return f"{platform}#id#{platform_id}"


def leader_to_dict(leader: Leader) -> dict[str, Any]:
    return dataclasses.asdict(leader)


def leader_from_dict(data: dict[str, Any]) -> Leader:
    accounts = tuple(Account(**a) for a in data.get("accounts", ()))
    return Leader(**{**data, "accounts": accounts})


def team_to_dict(team: Team) -> dict[str, Any]:
    return dataclasses.asdict(team)


def team_from_dict(data: dict[str, Any]) -> Team:
    members = tuple(
        Member(
            **{
                **m,
                "languages": tuple(m.get("languages", ())),
                "channels": tuple(m.get("channels", ("push",))),
            }
        )
        for m in data.get("members", ())
    )
    return Team(**{**data, "members": members})
