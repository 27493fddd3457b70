"""Configuration is loaded once per container and version (issue 17): past the cache's ttl one
GetItem of the version decides whether anything is read again."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.services.config_cache import CachedConfig
from tests.factories import make_leader, make_query, make_team
from tests.fakes import InMemoryConfigRepository
from tests.seeding import seed


@dataclass
class CountingStore:
    """The in-memory store, counting reads (each is one DynamoDB call in production)."""

    inner: InMemoryConfigRepository
    reads: list[str] = field(default_factory=list)

    def get_item(self, pk: str, sk: str) -> Any:
        self.reads.append(f"get {pk}")
        return self.inner.get_item(pk, sk)

    def list_items(self, pk: str, limit: int | None = None, after: str | None = None) -> Any:
        self.reads.append(f"list {pk}")
        return self.inner.list_items(pk, limit, after)


def make_cache() -> tuple[CachedConfig, CountingStore, list[float]]:
    inner = InMemoryConfigRepository()
    seed(inner, make_leader(), make_query(), make_team())
    store = CountingStore(inner)
    now = [0.0]
    return CachedConfig(store, 10.0, lambda: now[0]), store, now  # type: ignore[arg-type]


def test_an_unchanged_version_keeps_everything_for_another_ttl() -> None:
    cache, store, now = make_cache()
    first = cache.watch_config()
    teams = cache.teams_in_state("DL")
    loaded = len(store.reads)
    assert loaded >= 5  # version, leaders, queries, chains, routes, teams ...
    now[0] = 5.0
    assert cache.watch_config() is first and cache.teams_in_state("DL") is teams
    assert len(store.reads) == loaded  # within the ttl: nothing read
    now[0] = 11.0
    assert cache.watch_config() is first and cache.teams_in_state("DL") is teams
    assert store.reads[loaded:] == ["get META"]  # past it: the version alone
    now[0] = 15.0
    cache.watch_config()
    assert store.reads[loaded:] == ["get META"]  # and that check starts another ttl


def test_a_new_version_reloads_past_the_ttl() -> None:
    cache, store, now = make_cache()
    first = cache.watch_config()
    seed(store.inner, make_query(id="q-cbi", query="CBI"))
    now[0] = 5.0
    assert cache.watch_config() is first  # within the ttl the cache stands, as before
    now[0] = 11.0
    second = cache.watch_config()
    assert second is not first and second.version != first.version
    assert "q-cbi" in second.queries
