"""RSS 2.0 and Atom feeds (news sites, YouTube channel feeds), parsed with feedparser.

An item's native id is its guid (else its link, else a hash of title and date), so the same
story seen on two polls is one mention. The client does conditional GETs with the saved ETag
and Last-Modified, so an unchanged feed costs one 304 and no parsing.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser  # type: ignore[import-untyped]
import regex

from chalicelib.adapters.platforms._common import (
    fail,
    find_hashtags,
    find_urls,
    html_to_text_and_links,
)
from chalicelib.adapters.platforms.http import HttpTransport, check_status, redact
from chalicelib.domain.mention import Author, Mention
from chalicelib.services.polling import FetchResult

PLATFORM = "rss"
# Keys of DynamoDB items stay short and printable; longer ids are hashed.
_MAX_ID_LENGTH = 400


def parse_rss(
    raw: bytes | str, feed_url: str = "", default_time: datetime | None = None
) -> list[Mention]:
    """Mentions of every item in an RSS/Atom document.

    ``feed_url`` names the author when given; ``default_time`` (the fetch time) dates an item
    that has no readable date, otherwise such an item is a ParseError.
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if not raw.strip():
        raise fail("rss", "empty input")
    # feedparser never fetches when given bytes; it only parses.
    try:
        feed = feedparser.parse(raw, sanitize_html=False, resolve_relative_uris=False)
    except (ValueError, LookupError) as err:
        # feedparser raises on some broken encodings (a bad declaration, NUL bytes).
        raise fail("rss", f"unreadable feed encoding: {err}") from None
    version = feed.get("version", "")
    if not version:
        reason = feed.get("bozo_exception") or "no <rss>, <feed> or <rdf:RDF> root"
        raise fail("rss", f"not an RSS or Atom feed: {reason}")
    channel = feed.get("feed", {})
    author = Author(
        id=feed_url or _self_link(channel) or str(channel.get("link", "")) or "unknown-feed",
        handle=str(channel.get("title", "")),
        name=str(channel.get("title", "")),
    )
    lang = _language(str(channel.get("language", "")))
    out: dict[str, Mention] = {}
    for i, entry in enumerate(feed.entries):
        mention = _entry(entry, author, lang, f"/item/{i}", default_time)
        out.setdefault(mention.native_id, mention)  # a feed repeating a guid is one story
    return list(out.values())


def _self_link(channel: Mapping[str, Any]) -> str:
    for link in channel.get("links", []) or []:
        if link.get("rel") == "self" and link.get("href"):
            return str(link["href"]).strip()
    return ""


def _language(value: str) -> str | None:
    # en-gb -> en: the hint is a language, the region is noise for matching.
    return value.split("-")[0].strip().lower() or None


def _entry(
    entry: Mapping[str, Any],
    author: Author,
    lang: str | None,
    loc: str,
    default_time: datetime | None,
) -> Mention:
    link = str(entry.get("link", "")).strip()
    title = _clean(str(entry.get("title", "")))
    summary_html = str(entry.get("summary", "") or entry.get("description", ""))
    summary, hrefs = html_to_text_and_links(summary_html)
    created = _entry_time(entry, loc, default_time)
    native = str(entry.get("id", "")).strip() or link
    if not native:
        if not title:
            raise fail(loc, "an item needs a guid, a link or a title")
        native = "sha256:" + hashlib.sha256(f"{title}|{created.isoformat()}".encode()).hexdigest()
    if len(native) > _MAX_ID_LENGTH:
        native = "sha256:" + hashlib.sha256(native.encode()).hexdigest()
    text = f"{title}\n\n{summary}".strip() if summary else title
    creator = str(entry.get("author", "")).strip()
    return Mention(
        platform=PLATFORM,
        native_id=native,
        author=author if not creator else Author(author.id, author.handle, creator),
        created_at=created,
        text=text,
        url=link,
        lang_hint=_language(str(entry.get("language", ""))) or lang,
        urls=tuple(dict.fromkeys((*hrefs, *find_urls(summary)))),
        hashtags=find_hashtags(text),
    )


def _clean(text: str) -> str:
    # Titles wrap across lines in some feeds ("...at Eid\n                event").
    return " ".join(text.split())


def _entry_time(entry: Mapping[str, Any], loc: str, default: datetime | None) -> datetime:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = _raw_get(entry, key)
        if parsed:
            # feedparser normalises to a UTC struct_time; timegm reads it as UTC.
            return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    for key in ("published", "updated", "created"):
        raw = _raw_get(entry, key)
        if raw:
            lenient = lenient_rfc822(str(raw))
            if lenient is not None:
                return lenient
            if default is None:
                raise fail(f"{loc}/pubDate", f"unreadable date {raw!r}")
    if default is not None:
        return default
    raise fail(f"{loc}/pubDate", "required (no pubDate, published or updated date)")


_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
# Real feeds drop spaces ("30Mar 2025", "Mon,31 Mar", "202510:50:41"); read the parts anyway.
_LOOSE_DATE = regex.compile(
    r"(\d{1,2})\s*([A-Za-z]{3})[A-Za-z]*\.?\s*(\d{4})\s*(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"\s*(?:([+-])(\d{2}):?(\d{2})|(GMT|UTC|UT|Z))?"
)


def lenient_rfc822(value: str) -> datetime | None:
    """An RFC 822 date with missing spaces, as aware UTC; None when it cannot be read."""
    m = _LOOSE_DATE.search(value)
    if m is None:
        return None
    day, mon, year, hour, minute, second, sign, oh, om, _zone = m.groups()
    month = _MONTHS.get(mon.lower())
    if month is None:
        return None
    offset = timedelta(0)
    if sign:
        offset = timedelta(hours=int(oh), minutes=int(om)) * (1 if sign == "+" else -1)
    try:
        local = datetime(int(year), month, int(day), int(hour), int(minute), int(second or 0))
    except ValueError:
        return None
    return (local - offset).replace(tzinfo=UTC)


# --- client -------------------------------------------------------------------------------


class FeedClient:
    """Conditional GET of one feed URL; the cursor keeps ``etag`` and ``last_modified``."""

    platform = PLATFORM
    min_cost = 0

    def __init__(
        self,
        transport: HttpTransport,
        clock: Callable[[], float] | None = None,
        base_url: str = "",
    ) -> None:
        self._transport = transport
        self._clock = clock or (lambda: 0.0)
        # Feed "accounts" are URLs; against the fake server they may be paths under its root.
        self._base = base_url.rstrip("/")

    def fetch(self, account_id: str, cursor: Mapping[str, str]) -> FetchResult:
        """The feed's items, or nothing on 304 Not Modified."""
        if self._base and "://" not in account_id:
            account_id = self._base + account_id
        headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9"}
        if cursor.get("etag"):
            headers["If-None-Match"] = cursor["etag"]
        if cursor.get("last_modified"):
            headers["If-Modified-Since"] = cursor["last_modified"]
        resp = self._transport.send("GET", account_id, headers)
        if resp.status == 304:
            return FetchResult(mentions=[], cursor=dict(cursor), units=1, not_modified=True)
        check_status(resp, f"feed {redact(account_id)}", self._clock())
        now = self._clock()
        mentions = parse_rss(
            resp.body, feed_url=account_id, default_time=datetime.fromtimestamp(now, tz=UTC)
        )
        new_cursor = dict(cursor)
        for header, key in (("etag", "etag"), ("last-modified", "last_modified")):
            value = resp.header(header)
            if value:
                new_cursor[key] = value
            else:
                new_cursor.pop(key, None)
        return FetchResult(mentions=mentions, cursor=new_cursor, units=1)


def _raw_get(entry: Mapping[str, Any], key: str) -> Any:
    # FeedParserDict is a dict; reading it as a plain dict skips its deprecated aliasing.
    return dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)


def make_client(
    base_url: str, secrets: Mapping[str, str], transport: HttpTransport, clock: Callable[[], float]
) -> FeedClient:
    """The poller's client, as the registry builds it from the platform descriptor."""
    return FeedClient(transport, clock=clock, base_url=base_url)
