"""Bluesky: public AppView ``getAuthorFeed`` (polling, no auth) and Jetstream events.

A post's native id is its AT URI (``at://<did>/app.bsky.feed.post/<rkey>``), which both the
AppView and Jetstream give, so a post seen both ways is one mention. A Jetstream delete of a
post becomes a deletion marker; likes, follows and other collections are ignored.
"""

from __future__ import annotations

import hashlib
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from chalicelib.adapters.platforms._common import (
    Json,
    as_count,
    as_dict,
    as_time,
    counts,
    decode_text,
    deletion_marker,
    fail,
    find_hashtags,
    find_mentions,
    find_urls,
    load_json,
    opt_dict,
    opt_list,
    opt_str,
    req,
    req_str,
    req_time,
)
from chalicelib.adapters.platforms.http import HttpTransport, check_status, with_query
from chalicelib.adapters.websocket import WebSocket
from chalicelib.domain.mention import Author, Mention, Reference
from chalicelib.errors import ParseError, UpstreamError
from chalicelib.services.polling import FetchResult
from chalicelib.services.streams import StreamBatch, StreamContext, StreamRun

PLATFORM = "bluesky"
APPVIEW_BASE = "https://public.api.bsky.app"
POST_COLLECTION = "app.bsky.feed.post"
_METRICS = {
    "likeCount": "likes",
    "repostCount": "reposts",
    "replyCount": "replies",
    "quoteCount": "quotes",
}


def post_uri(did: str, rkey: str) -> str:
    """The AT URI of a post."""
    return f"at://{did}/{POST_COLLECTION}/{rkey}"


def post_url(uri: str, handle: str = "") -> str:
    """The bsky.app link of a post URI."""
    parts = uri.removeprefix("at://").split("/")
    if len(parts) != 3:
        return ""
    return f"https://bsky.app/profile/{handle or parts[0]}/post/{parts[2]}"


def parse_bluesky(raw: bytes | str) -> list[Mention]:
    """Mentions in a getAuthorFeed response, one Jetstream event, or Jetstream JSON lines."""
    text = decode_text(raw, "bluesky")
    stripped = text.strip()
    if not stripped:
        raise fail("bluesky", "empty input")
    if "\n" in stripped and not stripped.startswith(("{\n", "{\r")):
        lines = [ln for ln in stripped.splitlines() if ln.strip()]
        if len(lines) > 1 and all(ln.lstrip().startswith("{") for ln in lines):
            out: list[Mention] = []
            for n, line in enumerate(lines, 1):
                out.extend(parse_jetstream_event(load_json(line, f"bluesky line {n}"), f"line {n}"))
            return out
    doc = as_dict(load_json(text, "bluesky"), "/")
    if "feed" in doc:
        return parse_author_feed(doc)
    if "kind" in doc and "did" in doc:
        return parse_jetstream_event(doc, "")
    if "post" in doc or "uri" in doc:
        return [_post_view(as_dict(doc.get("post", doc), "/post"), "/post")]
    raise fail("/", "not a Bluesky payload: expected feed (getAuthorFeed) or a Jetstream event")


def parse_author_feed(doc: Mapping[str, Json]) -> list[Mention]:
    """The posts of a ``getAuthorFeed`` page; reposts by the author are skipped."""
    return [m for _, m in author_feed_items(doc)]


def author_feed_items(doc: Mapping[str, Json]) -> list[tuple[str, Mention]]:
    """``(indexedAt, mention)`` per post of a feed page, reposts skipped.

    ``indexedAt`` is the AppView's clock; ``createdAt`` is whatever the author's client
    wrote (it can be backdated), so the polling cursor follows ``indexedAt``.
    """
    out: list[tuple[str, Mention]] = []
    for i, raw in enumerate(opt_list(doc, "feed", "")):
        loc = f"/feed/{i}"
        item = as_dict(raw, loc)
        reason = opt_dict(item, "reason", loc)
        if opt_str(reason, "$type", f"{loc}/reason").endswith("#reasonRepost"):
            continue  # the original author's post, not the watched account's
        post = as_dict(req(item, "post", loc), f"{loc}/post")
        mention = _post_view(post, f"{loc}/post")
        indexed = opt_str(post, "indexedAt", f"{loc}/post")
        stamp = (
            _stamp(as_time(indexed, f"{loc}/post/indexedAt"))
            if indexed
            else _stamp(mention.created_at)
        )
        out.append((stamp, mention))
    return out


def _post_view(post: Mapping[str, Json], loc: str) -> Mention:
    uri = req_str(post, "uri", loc)
    author_obj = as_dict(req(post, "author", loc), f"{loc}/author")
    aloc = f"{loc}/author"
    author = Author(
        id=req_str(author_obj, "did", aloc),
        handle=opt_str(author_obj, "handle", aloc),
        name=opt_str(author_obj, "displayName", aloc),
        followers=(
            as_count(author_obj["followersCount"], f"{aloc}/followersCount")
            if author_obj.get("followersCount") is not None
            else None
        ),
    )
    record = as_dict(req(post, "record", loc), f"{loc}/record")
    mention = _record_mention(uri, author, record, f"{loc}/record")
    return replace(mention, metrics=counts(post, _METRICS, loc))


def _record_mention(uri: str, author: Author, record: Mapping[str, Json], loc: str) -> Mention:
    text = opt_str(record, "text", loc)
    urls: list[str] = []
    hashtags: list[str] = []
    mentions: list[str] = []
    for i, facet in enumerate(opt_list(record, "facets", loc)):
        floc = f"{loc}/facets/{i}"
        for j, feature in enumerate(opt_list(as_dict(facet, floc), "features", floc)):
            f = as_dict(feature, f"{floc}/features/{j}")
            kind = opt_str(f, "$type", f"{floc}/features/{j}")
            if kind.endswith("#link") and f.get("uri"):
                urls.append(str(f["uri"]))
            elif kind.endswith("#tag") and f.get("tag"):
                hashtags.append(str(f["tag"]))
            elif kind.endswith("#mention") and f.get("did"):
                mentions.append(str(f["did"]))
    refs: list[Reference] = []
    reply = opt_dict(record, "reply", loc)
    if reply:
        parent = as_dict(req(reply, "parent", f"{loc}/reply"), f"{loc}/reply/parent")
        refs.append(Reference("reply", req_str(parent, "uri", f"{loc}/reply/parent")))
    embed = opt_dict(record, "embed", loc)
    quoted = opt_dict(embed, "record", f"{loc}/embed")
    if "record" in quoted:  # recordWithMedia nests the quoted record one level deeper
        quoted = opt_dict(quoted, "record", f"{loc}/embed/record")
    if quoted.get("uri"):
        refs.append(Reference("quote", str(quoted["uri"])))
    langs = opt_list(record, "langs", loc)
    return Mention(
        platform=PLATFORM,
        native_id=uri,
        author=author,
        created_at=req_time(record, "createdAt", loc),
        text=text,
        url=post_url(uri, author.handle),
        lang_hint=str(langs[0]) if langs else None,
        urls=tuple(dict.fromkeys(urls or find_urls(text))),
        hashtags=tuple(dict.fromkeys(hashtags or find_hashtags(text))),
        mentions=tuple(dict.fromkeys(mentions or find_mentions(text))),
        references=tuple(refs),
    )


def parse_jetstream_event(event: Json, loc: str = "") -> list[Mention]:
    """A post create/update becomes a mention, a post delete a deletion marker, else nothing."""
    ev = as_dict(event, loc or "/")
    if ev.get("kind") != "commit":
        return []  # identity and account events
    did = req_str(ev, "did", loc)
    commit = as_dict(req(ev, "commit", loc), f"{loc}/commit")
    cloc = f"{loc}/commit"
    if opt_str(commit, "collection", cloc) != POST_COLLECTION:
        return []
    rkey = req_str(commit, "rkey", cloc)
    operation = req_str(commit, "operation", cloc)
    uri = post_uri(did, rkey)
    author = Author(id=did, handle="")
    if operation == "delete":
        micros = as_count(req(ev, "time_us", loc), f"{loc}/time_us")
        at = datetime.fromtimestamp(micros / 1_000_000, tz=UTC)
        return [deletion_marker(PLATFORM, uri, author, at)]
    if operation not in ("create", "update"):
        raise fail(f"{cloc}/operation", f"unknown operation {operation!r}")
    record = as_dict(req(commit, "record", cloc), f"{cloc}/record")
    return [_record_mention(uri, author, record, f"{cloc}/record")]


# --- client -------------------------------------------------------------------------------


class BlueskyClient:
    """Polls ``app.bsky.feed.getAuthorFeed`` on the public AppView (no credentials)."""

    platform = PLATFORM
    min_cost = 1

    def __init__(
        self,
        transport: HttpTransport,
        base_url: str = APPVIEW_BASE,
        clock: Callable[[], float] | None = None,
        max_pages: int = 3,
        page_size: int = 50,
    ) -> None:
        self._transport = transport
        self._base = base_url.rstrip("/")
        self._clock = clock or (lambda: 0.0)
        self._max_pages = max_pages
        self._page_size = page_size

    def fetch(self, account_id: str, cursor: Mapping[str, str]) -> FetchResult:
        """Posts indexed after ``cursor['newest']``, newest first, paging until caught up."""
        newest_seen = cursor.get("newest", "")
        page_cursor: str | None = None
        mentions: list[Mention] = []
        newest = newest_seen
        units = 0
        for _ in range(self._max_pages):
            url = with_query(
                f"{self._base}/xrpc/app.bsky.feed.getAuthorFeed",
                {
                    "actor": account_id,
                    "limit": self._page_size,
                    "filter": "posts_with_replies",
                    "cursor": page_cursor,
                },
            )
            resp = self._transport.send("GET", url, {"Accept": "application/json"})
            units += 1
            check_status(resp, f"bluesky feed {account_id}", self._clock())
            doc = as_dict(load_json(resp.body, "bluesky getAuthorFeed"), "/")
            items = author_feed_items(doc)
            fresh = [(s, m) for s, m in items if not newest_seen or s > newest_seen]
            mentions.extend(m for _, m in fresh)
            newest = max([newest, *(s for s, _ in fresh)])
            page_cursor = opt_str(doc, "cursor", "") or None
            # The feed runs newest to oldest: once a page reaches what we saw, stop. The
            # first poll takes one page only (no backfill).
            if not page_cursor or len(fresh) < len(items) or not newest_seen:
                break
        new_cursor = dict(cursor)
        if newest:
            new_cursor["newest"] = newest
        return FetchResult(mentions=mentions, cursor=new_cursor, units=units)


def _stamp(dt: datetime) -> str:
    # Fixed-width UTC text compares in time order.
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_client(
    base_url: str, secrets: Mapping[str, str], transport: HttpTransport, clock: Callable[[], float]
) -> BlueskyClient:
    """The poller's client, as the registry builds it from the platform descriptor."""
    return BlueskyClient(transport, base_url=base_url, clock=clock)


# --- Jetstream (the descriptor's stream) ----------------------------------------------------

JETSTREAM_KEY = f"{PLATFORM}#jetstream"
# Jetstream takes at most 10,000 wantedDids (and the whole query in one URL).
MAX_WANTED_DIDS = 10_000


def jetstream_url(base_url: str, dids: Sequence[str], cursor: int | None) -> str:
    """``/subscribe`` for posts of ``dids``, from ``cursor`` (time_us) when there is one."""
    params: list[tuple[str, str]] = [("wantedCollections", POST_COLLECTION)]
    params += [("wantedDids", d) for d in dids[:MAX_WANTED_DIDS]]
    if cursor is not None:
        params.append(("cursor", str(cursor)))
    return base_url.rstrip("/") + "/subscribe?" + urllib.parse.urlencode(params)


class JetstreamSource:
    """Jetstream's ``/subscribe`` for the watched DIDs, resuming from a saved ``time_us``.

    The cursor holds ``time_us`` (the last event delivered) and ``seen`` (digests of the events
    delivered at exactly that microsecond). A reconnect asks from ``time_us`` itself, not
    after it: events sharing the microsecond are not skipped, and the ones already delivered
    are recognised by their digest, so a resume has no gap and no repeat.
    """

    key = JETSTREAM_KEY

    def __init__(
        self,
        base_url: str,
        dids: Sequence[str],
        connect: Callable[[str], WebSocket] = WebSocket.connect,
        clock: Callable[[], float] = time.monotonic,
        flush_seconds: float = 0.5,
        max_batch: int = 100,
        wall_clock: Callable[[], float] = time.time,
        lookback_seconds: float = 60.0,
    ) -> None:
        self._wall = wall_clock
        self._lookback = lookback_seconds
        self._base = base_url
        self._dids = list(dids)
        self._connect = connect
        self._clock = clock
        self._flush = flush_seconds
        self._max_batch = max_batch

    def backoff(self, failures: int, error: UpstreamError) -> float:
        """1 s, 2 s, 4 s ... up to 16 s between reconnects."""
        return float(min(16, 2 ** (failures - 1)))

    def read(self, cursor: Mapping[str, str], until: float) -> Iterator[StreamBatch]:
        """Batches of post mentions (every ``flush_seconds`` or ``max_batch`` events)."""
        last = int(cursor["time_us"]) if cursor.get("time_us", "").isdigit() else None
        seen = set(cursor.get("seen", "").split())
        # A first run (no saved position) looks back a little: posts made while the
        # consumer was being deployed are not lost. Jetstream replays from any time_us.
        start = last if last is not None else int((self._wall() - self._lookback) * 1_000_000)
        ws = self._connect(jetstream_url(self._base, self._dids, start))
        mentions: list[Mention] = []
        events = 0
        try:
            if last is None:
                # Save where the first run started, so a run with no events still leaves a
                # position for the next one (whatever the time between runs).
                last = start
                yield StreamBatch([], _jetstream_cursor(last, seen), 0)
            while self._clock() < until:
                flush_at = min(until, self._clock() + self._flush)
                try:
                    for text in ws.messages(flush_at, self._clock):
                        event = as_dict(load_json(text, "jetstream event"), "/")
                        at = as_count(req(event, "time_us", ""), "/time_us")
                        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
                        if last is not None and (at < last or (at == last and digest in seen)):
                            continue  # delivered before this connection
                        if at != last:
                            last, seen = at, set()
                        seen.add(digest)
                        events += 1
                        mentions.extend(_jetstream_mentions(event))
                        if events >= self._max_batch:
                            break
                except UpstreamError:
                    if events:
                        yield StreamBatch(mentions, _jetstream_cursor(last, seen), events)
                    raise
                if events:
                    yield StreamBatch(mentions, _jetstream_cursor(last, seen), events)
                    mentions, events = [], 0
        finally:
            ws.close()


def _jetstream_mentions(event: Mapping[str, Json]) -> list[Mention]:
    try:
        return parse_jetstream_event(event, "")
    except ParseError:
        return []  # one malformed record must not stop the stream; its position still counts


def _jetstream_cursor(last: int | None, seen: set[str]) -> dict[str, str]:
    if last is None:
        return {}
    return {"time_us": str(last), "seen": " ".join(sorted(seen))}


def consume_jetstream(ctx: StreamContext) -> StreamRun:
    """One scheduled run: the watched accounts' DIDs (handles cannot be filtered on)."""
    dids = sorted({d for d in ctx.watched_ids if d.startswith("did:")})
    if not dids:
        return StreamRun(JETSTREAM_KEY)  # without wantedDids Jetstream sends the whole network
    source = JetstreamSource(ctx.base_url, dids, wall_clock=ctx.wall_clock)
    return ctx.consumer.run(source, ctx.seconds)
