"""The watchlist as cell heads see it: leaders with their accounts, and each account's poll
health (last poll, last error, unhealthy flag, quota units spent in the platform's window).

Leaders come through the configuration use case (scope-checked and paginated exactly as
``GET /leaders``); poll states are one query of the ``POLL`` partition per request.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.access import Principal
from chalicelib.domain.config_kinds import LEADERS, validate_leader
from chalicelib.domain.org import Account, Leader
from chalicelib.domain.pagination import DEFAULT_LIMIT
from chalicelib.services.config_admin import ConfigAdmin
from chalicelib.services.polling import (
    DEFAULT_QUOTAS,
    CursorStore,
    PollState,
    quota_window,
    watched_account,
)
from chalicelib.services.ports import ConfigRecord, ConfigStore


@dataclass(frozen=True)
class AccountHealth:
    """One account of a leader and how its polling goes.

    ``account_key`` is "" when the account is not polled (a pushed platform such as Telegram,
    or no platform id where the platform's API needs one); ``polled`` says whether a poll has
    been attempted yet.
    """

    account: Account
    account_key: str
    state: PollState | None
    units_used: int
    quota_units: int | None  # the platform's quota per window (shared by every account)
    quota_window_seconds: float

    @property
    def polled(self) -> bool:
        return self.state is not None and self.state.last_polled_at is not None


@dataclass(frozen=True)
class WatchedLeader:
    leader: Leader
    version: int
    accounts: tuple[AccountHealth, ...]


def account_health(account: Account, states: dict[str, PollState], now: float) -> AccountHealth:
    """What the watchlist shows of one account, from the saved poll states."""
    watched = watched_account(account)
    window = quota_window(account.platform)
    quota = DEFAULT_QUOTAS.get(account.platform)
    if watched is None:
        return AccountHealth(account, "", None, 0, quota[0] if quota else None, window)
    state = states.get(watched.key)
    used = 0
    if state is not None and now - state.units_window_start < window:
        used = state.units_used  # spent in the window still running
    return AccountHealth(account, watched.key, state, used, quota[0] if quota else None, window)


def watchlist(
    store: ConfigStore,
    cursors: CursorStore,
    p: Principal,
    now: float,
    state: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> tuple[list[WatchedLeader], str | None]:
    """One page of the leaders the caller may see, each account with its poll health."""
    records, next_cursor = ConfigAdmin(store).list(LEADERS, p, state, limit, cursor)
    states = cursors.all() if records else {}
    return [_watched(r, states, now) for r in records], next_cursor


def _watched(record: ConfigRecord, states: dict[str, PollState], now: float) -> WatchedLeader:
    leader = validate_leader(record.data)
    return WatchedLeader(
        leader,
        record.version,
        tuple(account_health(a, states, now) for a in leader.accounts),
    )
