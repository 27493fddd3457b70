"""The SNS filter policy a warrior's device subscription gets on its state topic.

A subscription answers to its team id and to the tokens that stand for a whole district or
state (``@district:UP/LKO``, ``@state:UP``), plus role tokens for escalations (``@lead:<team>``,
``@dhead:UP/LKO``, ``@shead:UP``); a minimum severity (numeric matching) and exactly one
delivery language (so a warrior gets one of the per-language entries of a publish, not all).
``policy_matches`` evaluates a policy the way SNS does, so plans are testable without AWS.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.domain.notify import delivery_language
from chalicelib.domain.org import Member, Team
from chalicelib.errors import FieldProblem, InvalidInputError

MAX_KEYS = 5
MAX_COMBINATIONS = 150
MAX_POLICY_BYTES = 256 * 1024


def audience_tokens(team: Team) -> list[str]:
    """Every team-ids value that addresses this team."""
    tokens = [team.id]
    if team.district:
        tokens.append(f"@district:{team.state}/{team.district}")
    tokens.append(f"@state:{team.state}")
    return tokens


def role_tokens(member: Member, team: Team) -> list[str]:
    """Escalation addresses this member answers to, from their role."""
    tokens: list[str] = []
    if member.role == "lead" or (team.lead_id and member.id == team.lead_id):
        tokens.append(f"@lead:{team.id}")
    if member.role == "district_head" and team.district:
        tokens.append(f"@dhead:{team.state}/{team.district}")
    if member.role == "state_head":
        tokens.append(f"@shead:{team.state}")
    return tokens


def filter_policy(member: Member, team: Team, min_severity: int | None = None) -> dict[str, Any]:
    """The filter policy of one device subscription of ``member`` on ``team.state``'s topic."""
    if min_severity is None:
        min_severity = member.min_severity
    if not 1 <= min_severity <= 5:
        raise InvalidInputError(
            "minimum severity must be 1..5", [FieldProblem("min_severity", "1..5")]
        )
    lang = [delivery_language(team.state, member.languages)]
    tasks: dict[str, Any] = {"team_ids": audience_tokens(team)}
    if min_severity > 1:
        tasks["severity"] = [{"numeric": [">=", min_severity]}]
    roles = role_tokens(member, team)
    if not roles:
        policy: dict[str, Any] = {**tasks, "lang": lang}
    elif min_severity == 1:
        policy = {"team_ids": tasks["team_ids"] + roles, "lang": lang}
    else:
        # an escalation must reach the lead whatever severity floor they chose for tasks
        policy = {"lang": lang, "$or": [tasks, {"team_ids": roles, "kind": ["escalation"]}]}
    check_policy(policy)
    return policy


def _branches(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    base = {k: v for k, v in policy.items() if k != "$or"}
    if "$or" not in policy:
        return [base]
    return [{**base, **alt} for alt in policy["$or"]]


def combinations(policy: Mapping[str, Any]) -> int:
    """SNS's complexity measure: per branch, the product of the value counts of its keys."""
    total = 0
    for branch in _branches(policy):
        product = 1
        for values in branch.values():
            product *= len(values)
        total += product
    return total


def check_policy(policy: Mapping[str, Any]) -> None:
    """Raise if SNS would refuse the policy (keys, combinations, size)."""
    problems: list[FieldProblem] = []
    for i, branch in enumerate(_branches(policy)):
        if len(branch) > MAX_KEYS:
            problems.append(FieldProblem(f"filter_policy[{i}]", f"more than {MAX_KEYS} keys"))
    if combinations(policy) > MAX_COMBINATIONS:
        problems.append(FieldProblem("filter_policy", f"more than {MAX_COMBINATIONS} combinations"))
    if len(json.dumps(policy).encode()) > MAX_POLICY_BYTES:
        problems.append(FieldProblem("filter_policy", "larger than 256 KB"))
    if problems:
        raise InvalidInputError("filter policy would be refused by SNS", problems)


def _attr_values(attr: Mapping[str, str]) -> list[Any]:
    if attr["DataType"] == "String.Array":
        values = json.loads(attr["StringValue"])
        return values if isinstance(values, list) else [values]
    if attr["DataType"] == "Number":
        return [float(attr["StringValue"])]
    return [attr["StringValue"]]


def _value_matches(rule: Any, value: Any) -> bool:
    if isinstance(rule, dict) and "numeric" in rule:
        if isinstance(value, str | bool):
            return False
        ops = rule["numeric"]
        for op, bound in zip(ops[::2], ops[1::2], strict=True):
            ok = {
                "=": value == bound,
                ">": value > bound,
                ">=": value >= bound,
                "<": value < bound,
                "<=": value <= bound,
            }[op]
            if not ok:
                return False
        return True
    if isinstance(rule, dict) and "anything-but" in rule:
        banned = rule["anything-but"]
        return value not in (banned if isinstance(banned, list) else [banned])
    if isinstance(rule, dict) and "prefix" in rule:
        return isinstance(value, str) and value.startswith(rule["prefix"])
    return isinstance(value, str) and value == rule


def policy_matches(policy: Mapping[str, Any], attributes: Mapping[str, Mapping[str, str]]) -> bool:
    """Whether SNS would deliver a message with ``attributes`` to a subscription with ``policy``.

    Keys are ANDed, values in a key's list are ORed, a String.Array attribute matches when any
    element does, a missing attribute never matches, ``$or`` matches when any branch does.
    """

    def branch_ok(branch: Mapping[str, Sequence[Any]]) -> bool:
        for key, rules in branch.items():
            if key not in attributes:
                return False
            values = _attr_values(attributes[key])
            if not any(_value_matches(r, v) for r in rules for v in values):
                return False
        return True

    return any(branch_ok(b) for b in _branches(policy))
