"""Before/after of a configuration change as rows a person reads: one per changed leaf."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MISSING = object()


@dataclass(frozen=True)
class Change:
    """``path`` (``members[1].name``) went from ``before`` to ``after`` (JSON text; "" absent)."""

    path: str
    before: str
    after: str


def _leaves(value: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key in value:
            _leaves(value[key], f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, item in enumerate(value):
            # Members and steps are lists of objects: name each by its id where it has one.
            label = f"{path}[{item.get('id', i)}]" if isinstance(item, dict) else f"{path}[{i}]"
            _leaves(item, label, out)
    else:
        out[path] = value


def _text(value: Any) -> str:
    if value is MISSING:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def changes(before: Any, after: Any) -> list[Change]:
    """The leaves that differ between two JSON values, in the order they appear."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    if before is not None:
        _leaves(before, "", old)
    if after is not None:
        _leaves(after, "", new)
    paths = list(dict.fromkeys([*old, *new]))
    return [
        Change(p, _text(old.get(p, MISSING)), _text(new.get(p, MISSING)))
        for p in paths
        if old.get(p, MISSING) != new.get(p, MISSING)
    ]
