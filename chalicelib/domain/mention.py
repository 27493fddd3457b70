"""The normalized mention: one public post from any platform, in one shape."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.platforms import NAMES, web_hosts

PLATFORMS = frozenset(NAMES)

# Where a warrior's response can live: the web hosts of the platforms we watch (a host and its
# subdomains), from each platform's descriptor. RSS and webhooks are sources only.
PLATFORM_HOSTS: dict[str, tuple[str, ...]] = web_hosts()


def platform_of_url(url: str) -> str | None:
    """The platform an https(s) URL points at, or None for any other site."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").casefold().rstrip(".")
    except ValueError:
        return None
    if parts.scheme not in ("https", "http") or not host:
        return None
    for platform, hosts in PLATFORM_HOSTS.items():
        if any(host == h or host.endswith("." + h) for h in hosts):
            return platform
    return None


def mention_key(platform: str, native_id: str) -> str:
    """The stable key of a post: ``platform#native_id``; ids are strings, always."""
    return f"{platform}#{native_id}"


@dataclass(frozen=True)
class Author:
    """Who posted, as the platform knows them."""

    id: str
    handle: str
    name: str = ""
    followers: int | None = None


@dataclass(frozen=True)
class Reference:
    """A link to another post: ``kind`` is reply, quote or repost."""

    kind: str
    id: str


@dataclass(frozen=True)
class Mention:
    """One public post, normalized. ``created_at`` is timezone-aware UTC."""

    platform: str
    native_id: str
    author: Author
    created_at: datetime
    text: str
    url: str = ""
    lang_hint: str | None = None
    urls: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()
    metrics: Mapping[str, int] = field(default_factory=dict)
    withheld_in: tuple[str, ...] = ()
    edit_ids: tuple[str, ...] = ()
    # A deletion marker: the platform removed this post, so our copy must go too. Only the
    # key, author and time are meaningful on a marker; text is empty.
    deleted: bool = False

    @property
    def key(self) -> str:
        return mention_key(self.platform, self.native_id)

    def with_text(self, text: str) -> Mention:
        return replace(self, text=text)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(value: str) -> datetime:
    """Parse an ISO-8601 timestamp into aware UTC; a naive one is taken as UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def mention_to_dict(m: Mention) -> dict[str, Any]:
    """The wire form of a mention (the body of a mentions-queue message)."""
    return {
        "platform": m.platform,
        "native_id": m.native_id,
        "author": {
            "id": m.author.id,
            "handle": m.author.handle,
            "name": m.author.name,
            "followers": m.author.followers,
        },
        "created_at": _iso(m.created_at),
        "text": m.text,
        "url": m.url,
        "lang_hint": m.lang_hint,
        "urls": list(m.urls),
        "hashtags": list(m.hashtags),
        "mentions": list(m.mentions),
        "references": [{"kind": r.kind, "id": r.id} for r in m.references],
        "metrics": dict(m.metrics),
        "withheld_in": list(m.withheld_in),
        "edit_ids": list(m.edit_ids),
        "deleted": m.deleted,
    }


def mention_from_dict(d: Mapping[str, Any]) -> Mention:
    """Inverse of :func:`mention_to_dict`; raises KeyError/TypeError/ValueError on bad input."""
    a = d["author"]
    return Mention(
        platform=str(d["platform"]),
        native_id=str(d["native_id"]),
        author=Author(
            id=str(a["id"]),
            handle=str(a["handle"]),
            name=str(a.get("name") or ""),
            followers=None if a.get("followers") is None else int(a["followers"]),
        ),
        created_at=parse_timestamp(str(d["created_at"])),
        text=str(d["text"]),
        url=str(d.get("url") or ""),
        lang_hint=d.get("lang_hint"),
        urls=tuple(d.get("urls") or ()),
        hashtags=tuple(d.get("hashtags") or ()),
        mentions=tuple(d.get("mentions") or ()),
        references=tuple(
            Reference(str(r["kind"]), str(r["id"])) for r in d.get("references") or ()
        ),
        metrics={str(k): int(v) for k, v in (d.get("metrics") or {}).items()},
        withheld_in=tuple(d.get("withheld_in") or ()),
        edit_ids=tuple(str(x) for x in d.get("edit_ids") or ()),
        deleted=bool(d.get("deleted", False)),
    )
