"""Members' phone numbers and e-mail addresses: validation, consent, who gets SMS, masking.

A phone number or e-mail address is personal data: it is stored only when the cell head
records the member's consent (``contact_consent``; the use case stamps when and by whom), it
never appears in logs, and audit records keep it masked (``+91******3210``, ``a***@x.in``):
enough to see that it changed, not enough to call anyone.

SMS costs money per message and per segment (at 500,000 warriors a state-wide incident would be
tens of thousands of SMS), so each team says who may have it (``sms_audience``): ``leads`` (the
default: the team lead and district/state heads, who also receive the escalations) or
``everyone``. E-mail is cheap and open to every member. An SMS or e-mail subscription carries
the same filter policy as the member's devices (``subscriptions.filter_policy``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import regex

from chalicelib.domain.org import Member, Team, team_from_dict
from chalicelib.domain.subscriptions import filter_policy, role_tokens
from chalicelib.errors import FieldProblem, InvalidInputError

CONTACT_CHANNELS = ("sms", "email")  # push goes through devices (POST /me/devices)
SMS_AUDIENCES = ("leads", "everyone")
DEFAULT_SMS_AUDIENCE = "leads"
SNS_PROTOCOL = {"sms": "sms", "email": "email"}

_E164 = regex.compile(r"^\+[1-9][0-9]{6,14}$")
_INDIA = regex.compile(r"^\+91[6-9][0-9]{9}$")  # mobile numbers: 10 digits starting 6-9
_SEPARATORS = regex.compile(r"[\s\-().]")
# Deliberately plain: one @, a dot in the domain, no spaces; the mailbox is the real test.
_EMAIL = regex.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")


def normalize_phone(raw: str) -> str:
    """E.164 (``+919876543210``); spaces, dashes, dots and brackets are dropped. Raises ValueError.

    India (+91): exactly 10 digits after the country code, a mobile number (6-9 first).
    """
    phone = _SEPARATORS.sub("", raw)
    if not _E164.match(phone):
        raise ValueError("an E.164 number: + then country code and number, e.g. +919876543210")
    if phone.startswith("+91") and not _INDIA.match(phone):
        raise ValueError("an Indian mobile number: +91 then 10 digits starting with 6-9")
    return phone


def normalize_email(raw: str) -> str:
    """The address with its domain lower-cased. Raises ValueError."""
    email = raw.strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValueError("an e-mail address such as name@example.in")
    local, domain = email.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def mask_phone(phone: str) -> str:
    """``+919876543210`` -> ``+91******3210`` (country code and last four)."""
    if len(phone) <= 7:
        return "*" * len(phone)
    head = 3 if phone.startswith("+91") else 2
    return phone[:head] + "*" * (len(phone) - head - 4) + phone[-4:]


def mask_email(email: str) -> str:
    """``asha@example.in`` -> ``a***@example.in``."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def redact_contacts(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A copy of a stored object with members' phone numbers and e-mail addresses masked."""
    if data is None:
        return None
    out = dict(data)

    def masked(m: Mapping[str, Any]) -> dict[str, Any]:
        m = dict(m)
        if m.get("phone"):
            m["phone"] = mask_phone(str(m["phone"]))
        if m.get("email"):
            m["email"] = mask_email(str(m["email"]))
        return m

    if isinstance(out.get("members"), list):
        out["members"] = [masked(m) if isinstance(m, Mapping) else m for m in out["members"]]
    return masked(out) if "phone" in out or "email" in out else out


def may_have_sms(member: Member, team: Team) -> bool:
    """Whether the team's SMS audience includes this member."""
    audience = team.sms_audience or DEFAULT_SMS_AUDIENCE
    return audience == "everyone" or bool(role_tokens(member, team))


def _endpoint(member: Member, channel: str) -> str:
    return member.phone if channel == "sms" else member.email


def check_contacts(
    team_data: Mapping[str, Any], enabled: frozenset[str], path: str = "members"
) -> list[FieldProblem]:
    """Every problem with the members' contact channels of one team (wire paths)."""
    problems: list[FieldProblem] = []
    audience = team_data.get("sms_audience", DEFAULT_SMS_AUDIENCE)
    if audience not in SMS_AUDIENCES:
        problems.append(FieldProblem("sms_audience", f"one of {', '.join(SMS_AUDIENCES)}"))
        return problems
    team = team_from_dict(dict(team_data))
    for i, m in enumerate(team.members):
        here = f"{path}[{i}]"
        if (m.phone or m.email) and not m.contact_consent:
            problems.append(
                FieldProblem(
                    f"{here}.contact_consent",
                    "a phone number or e-mail address is stored only with the member's consent",
                )
            )
        for channel in CONTACT_CHANNELS:
            if channel not in m.channels:
                continue
            if channel not in enabled:
                problems.append(
                    FieldProblem(f"{here}.channels", f"{channel} is not offered on this stage")
                )
            elif not _endpoint(m, channel):
                field_name = "phone" if channel == "sms" else "email"
                problems.append(FieldProblem(f"{here}.{field_name}", f"required for {channel}"))
            elif channel == "sms" and not may_have_sms(m, team):
                problems.append(
                    FieldProblem(
                        f"{here}.channels",
                        f"sms goes to {audience} in this team (sms_audience); this member is a "
                        f"{m.role}",
                    )
                )
    return problems


def stamp_consent(
    members: Sequence[Mapping[str, Any]],
    before: Sequence[Mapping[str, Any]],
    actor: str,
    now_iso: str,
) -> list[dict[str, Any]]:
    """Record who recorded consent and when; kept while the contact details stay the same."""
    earlier = {str(m.get("id")): m for m in before}
    out: list[dict[str, Any]] = []
    for m in members:
        m = dict(m)
        old = earlier.get(str(m.get("id")), {})
        has_contact = bool(m.get("phone") or m.get("email"))
        if not (m.get("contact_consent") and has_contact):
            for key in ("contact_consent_at", "contact_consent_by"):
                m.pop(key, None)
        elif (
            old.get("contact_consent")
            and old.get("phone", "") == m.get("phone", "")
            and old.get("email", "") == m.get("email", "")
            and old.get("contact_consent_at")
        ):
            m["contact_consent_at"] = old["contact_consent_at"]
            m["contact_consent_by"] = old.get("contact_consent_by", "")
        else:
            m["contact_consent_at"] = now_iso
            m["contact_consent_by"] = actor
        out.append(m)
    return out


def desired_contacts(team: Team | None) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """(member id, channel) -> (endpoint, filter policy) for every contact subscription wanted."""
    if team is None:
        return {}
    wanted: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for m in team.members:
        if not m.contact_consent:
            continue
        for channel in CONTACT_CHANNELS:
            endpoint = _endpoint(m, channel)
            if channel not in m.channels or not endpoint:
                continue
            if channel == "sms" and not may_have_sms(m, team):
                continue
            wanted[(m.id, channel)] = (endpoint, filter_policy(m, team))
    return wanted


def raise_problems(problems: list[FieldProblem]) -> None:
    if problems:
        raise InvalidInputError(f"{len(problems)} invalid field(s)", problems)
