"""Builds the platform clients the poller needs, from the platform descriptors.

Only platforms whose secrets (and flag) are present get a client; an account on any other
platform polls as ``unsupported`` instead of failing. Each descriptor names its adapter module,
which has ``make_client(base_url, secrets, transport, clock)``; modules are imported only for
the platforms that get a client. Reading secrets is the composition root's job.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import ModuleType

from chalicelib.adapters.platforms.http import HttpTransport
from chalicelib.domain.platforms import PLATFORMS, Platform
from chalicelib.services.polling import PlatformClient

Lookup = Callable[[str], str]


def adapter_module(p: Platform) -> ModuleType:
    """The adapter module a descriptor names."""
    return importlib.import_module(p.adapter)


def adapter_function(p: Platform, name: str) -> Callable[..., object]:
    """A function of a platform's adapter module, by name."""
    func: Callable[..., object] = getattr(adapter_module(p), name)
    return func


def base_url_of(p: Platform, local_base: str = "", setting: Lookup | None = None) -> str:
    """The API base a client of ``p`` talks to: the fake server's, a setting's, or production."""
    if local_base:
        return local_base.rstrip("/") + p.local_path
    if p.base_url_setting and setting is not None:
        return setting(p.base_url_setting)
    return p.base_url


def build_clients(
    secret: Lookup,
    transport: HttpTransport,
    clock: Callable[[], float],
    *,
    flag: Callable[[str], bool] = lambda _: False,
    setting: Lookup | None = None,
    local_base: str = "",
) -> dict[str, PlatformClient]:
    """One client per configured platform (RSS, Bluesky and Mastodon need no secret).

    ``secret`` and ``setting`` read Settings fields by name; ``flag`` a boolean one;
    ``local_base`` points every client at the fake platform server.
    """
    clients: dict[str, PlatformClient] = {}
    for p in PLATFORMS:
        if not p.pollable:
            continue
        if p.enabled_by and not flag(p.enabled_by):
            continue
        secrets = {name: secret(name) for name in p.secrets}
        if not all(secrets.values()):
            continue
        base = base_url_of(p, local_base, setting)
        if p.base_url and not base:
            continue  # a platform whose base URL was configured away (an empty setting)
        make = adapter_function(p, "make_client")
        client = make(base, secrets, transport, clock)
        clients[p.name] = client  # type: ignore[assignment]
    return clients


def credentials_from(values: Mapping[str, str]) -> Lookup:
    """A lookup over a plain mapping (tests, the fake server)."""
    return lambda name: values.get(name, "")
