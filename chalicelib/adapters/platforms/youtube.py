"""YouTube: Data API v3 list responses, WebSub push notifications, and a quota-aware client.

Videos (``videos.list``, ``search.list``, ``activities.list`` uploads) become mentions keyed by
the video id, so a video seen through push, search and lookup is one mention. Comments
(``commentThreads.list``) are keyed by the comment id and reference their video as a reply.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import feedparser  # type: ignore[import-untyped]
import regex

from chalicelib.adapters.platforms._common import (
    Json,
    as_dict,
    as_list,
    counts,
    decode_text,
    deletion_marker,
    fail,
    find_hashtags,
    find_mentions,
    find_urls,
    html_to_text_and_links,
    load_json,
    opt_dict,
    opt_list,
    opt_str,
    req_id,
    req_str,
    req_time,
)
from chalicelib.adapters.platforms.http import HttpTransport, check_status, with_query
from chalicelib.domain.mention import Author, Mention, Reference, mention_to_dict, parse_timestamp
from chalicelib.errors import AuthenticationError, FieldProblem, RateLimitedError, UpstreamError
from chalicelib.services.polling import FetchResult, PollState
from chalicelib.services.push import PushContext, PushRequest, PushResult, check_size
from chalicelib.services.streams import JobContext

PLATFORM = "youtube"
API_BASE = "https://www.googleapis.com/youtube/v3"
_VIDEO_METRICS = {
    "viewCount": "views",
    "likeCount": "likes",
    "commentCount": "comments",
    "favoriteCount": "favorites",
}
# Quota units per call (developers.google.com/youtube/v3/determine_quota_cost).
UNITS = {
    "videos.list": 1,
    "activities.list": 1,
    "playlistItems.list": 1,
    "commentThreads.list": 1,
    "search.list": 100,
}


def parse_youtube(raw: bytes | str) -> list[Mention]:
    """Mentions in a Data API list response (JSON) or a WebSub notification (Atom XML)."""
    text = decode_text(raw, "youtube")
    if text.lstrip().startswith("<"):
        return parse_websub_notification(text)
    doc = as_dict(load_json(text, "youtube"), "/")
    kind = opt_str(doc, "kind", "")
    items = as_list(doc.get("items", []), "/items")
    parse_item = _ITEM_PARSERS.get(kind)
    if parse_item is None:
        raise fail("/kind", f"not a supported YouTube list response: {kind or 'missing'}")
    out: list[Mention] = []
    for i, item in enumerate(items):
        mention = parse_item(as_dict(item, f"/items/{i}"), f"/items/{i}")
        if mention is not None:
            out.append(mention)
    return out


def _video_mention(
    video_id: str,
    snippet: Mapping[str, Json],
    loc: str,
    statistics: Mapping[str, Json] | None = None,
) -> Mention:
    sloc = f"{loc}/snippet"
    # search.list escapes &, <, > in titles and descriptions; the others send them plain.
    title = html.unescape(req_str(snippet, "title", sloc))
    description = html.unescape(opt_str(snippet, "description", sloc))
    text = f"{title}\n\n{description}".strip() if description else title
    channel_id = req_id(snippet, "channelId", sloc)
    lang = opt_str(snippet, "defaultLanguage", sloc) or opt_str(
        snippet, "defaultAudioLanguage", sloc
    )
    return Mention(
        platform=PLATFORM,
        native_id=video_id,
        author=Author(id=channel_id, handle=opt_str(snippet, "channelTitle", sloc)),
        created_at=req_time(snippet, "publishedAt", sloc),
        text=text,
        url=f"https://www.youtube.com/watch?v={video_id}",
        lang_hint=lang or None,
        urls=find_urls(description),
        hashtags=find_hashtags(text),
        mentions=find_mentions(description),
        metrics=counts(statistics or {}, _VIDEO_METRICS, f"{loc}/statistics"),
    )


def _video(item: Mapping[str, Json], loc: str) -> Mention:
    return _video_mention(
        req_id(item, "id", loc),
        as_dict(item.get("snippet"), f"{loc}/snippet"),
        loc,
        opt_dict(item, "statistics", loc),
    )


def _search_result(item: Mapping[str, Json], loc: str) -> Mention | None:
    ident = as_dict(item.get("id"), f"{loc}/id")
    if opt_str(ident, "kind", f"{loc}/id") != "youtube#video":
        return None  # channels and playlists are not posts
    return _video_mention(
        req_id(ident, "videoId", f"{loc}/id"), as_dict(item.get("snippet"), f"{loc}/snippet"), loc
    )


def _activity(item: Mapping[str, Json], loc: str) -> Mention | None:
    snippet = as_dict(item.get("snippet"), f"{loc}/snippet")
    if opt_str(snippet, "type", f"{loc}/snippet") != "upload":
        return None  # likes, subscriptions, playlist items: not the channel's own post
    details = opt_dict(opt_dict(item, "contentDetails", loc), "upload", f"{loc}/contentDetails")
    video_id = opt_str(details, "videoId", f"{loc}/contentDetails/upload")
    if not video_id:
        # Without part=contentDetails the id survives only in the thumbnail path /vi/<id>/.
        video_id = _video_id_from_thumbnails(opt_dict(snippet, "thumbnails", f"{loc}/snippet"))
    if not video_id:
        raise fail(f"{loc}/contentDetails/upload/videoId", "required (request part=contentDetails)")
    return _video_mention(video_id, snippet, loc)


def _playlist_item(item: Mapping[str, Json], loc: str) -> Mention | None:
    """An uploads-playlist entry (``playlistItems.list``) as its video's mention.

    With ``part=contentDetails`` the item has the video's own publish time; the snippet's
    ``publishedAt`` is when it was added to the playlist (the same moment for uploads).
    """
    sloc = f"{loc}/snippet"
    snippet = as_dict(item.get("snippet"), sloc)
    resource = opt_dict(snippet, "resourceId", sloc)
    if opt_str(resource, "kind", f"{sloc}/resourceId") not in ("", "youtube#video"):
        return None
    details = opt_dict(item, "contentDetails", loc)
    video_id = opt_str(details, "videoId", f"{loc}/contentDetails") or opt_str(
        resource, "videoId", f"{sloc}/resourceId"
    )
    if not video_id:
        raise fail(f"{sloc}/resourceId/videoId", "required")
    published = opt_str(details, "videoPublishedAt", f"{loc}/contentDetails")
    if not published and opt_str(snippet, "title", sloc) in ("Private video", "Deleted video"):
        return None  # listed in the playlist, but nothing we may read
    owner = opt_str(snippet, "videoOwnerChannelId", sloc)
    fields = dict(snippet)
    if published:
        fields["publishedAt"] = published
    if owner:
        # The playlist's channel and the video's are one for uploads; the owner is the author.
        fields["channelId"] = owner
        fields["channelTitle"] = opt_str(snippet, "videoOwnerChannelTitle", sloc) or opt_str(
            snippet, "channelTitle", sloc
        )
    return _video_mention(video_id, fields, loc)


def uploads_playlist_id(channel_id: str) -> str:
    """A channel's uploads playlist: its id with ``UC`` turned into ``UU``."""
    return "UU" + channel_id[2:] if channel_id.startswith("UC") else channel_id


def _video_id_from_thumbnails(thumbnails: Mapping[str, Json]) -> str:
    for thumb in thumbnails.values():
        url = thumb.get("url") if isinstance(thumb, dict) else None
        if isinstance(url, str) and "/vi/" in url:
            candidate = url.split("/vi/", 1)[1].split("/", 1)[0]
            if candidate:
                return candidate
    return ""


def _comment_thread(item: Mapping[str, Json], loc: str) -> Mention:
    snippet = as_dict(item.get("snippet"), f"{loc}/snippet")
    top = as_dict(snippet.get("topLevelComment"), f"{loc}/snippet/topLevelComment")
    tloc = f"{loc}/snippet/topLevelComment"
    comment_id = req_id(top, "id", tloc)
    cs = as_dict(top.get("snippet"), f"{tloc}/snippet")
    csloc = f"{tloc}/snippet"
    video_id = opt_str(cs, "videoId", csloc) or opt_str(snippet, "videoId", f"{loc}/snippet")
    author_channel = opt_dict(cs, "authorChannelId", csloc)
    # textOriginal is the author's plain text; textDisplay is HTML and is the fallback.
    display_text, links = html_to_text_and_links(opt_str(cs, "textDisplay", csloc))
    text = opt_str(cs, "textOriginal", csloc) or display_text
    metrics = counts(cs, {"likeCount": "likes"}, csloc)
    metrics.update(counts(snippet, {"totalReplyCount": "replies"}, f"{loc}/snippet"))
    edits: tuple[str, ...] = ()
    published = req_time(cs, "publishedAt", csloc)
    return Mention(
        platform=PLATFORM,
        native_id=comment_id,
        author=Author(
            id=opt_str(author_channel, "value", f"{csloc}/authorChannelId"),
            handle=opt_str(cs, "authorDisplayName", csloc),
            name=opt_str(cs, "authorDisplayName", csloc),
        ),
        created_at=published,
        text=text,
        url=f"https://www.youtube.com/watch?v={video_id}&lc={comment_id}" if video_id else "",
        urls=tuple(dict.fromkeys((*find_urls(text), *(u for u in links if "/results?" not in u)))),
        hashtags=find_hashtags(text),
        mentions=find_mentions(text),
        references=(Reference("reply", video_id),) if video_id else (),
        metrics=metrics,
        edit_ids=edits,
    )


_ITEM_PARSERS: dict[str, Callable[[Mapping[str, Json], str], Mention | None]] = {
    "youtube#videoListResponse": _video,
    "youtube#searchListResponse": _search_result,
    "youtube#activityListResponse": _activity,
    "youtube#commentThreadListResponse": _comment_thread,
    "youtube#playlistItemListResponse": _playlist_item,
}


# --- WebSub (PubSubHubbub) push ----------------------------------------------------------


def parse_websub_notification(xml: bytes | str) -> list[Mention]:
    """The videos announced in a WebSub Atom notification (new or updated uploads).

    A notification carries no description or statistics; the analyze stage may look the video
    up with ``videos.list`` (1 unit) when a title alone is not enough.
    """
    text = decode_text(xml, "youtube websub")
    try:
        feed = feedparser.parse(text)
    except (ValueError, LookupError) as err:
        raise fail("youtube websub", f"unreadable notification: {err}") from None
    if feed.get("bozo") and not feed.entries:
        raise fail("youtube websub", f"not an Atom feed: {feed.get('bozo_exception')}")
    out: list[Mention] = []
    for i, entry in enumerate(feed.entries):
        loc = f"/feed/entry/{i}"
        video_id = entry.get("yt_videoid") or _strip_prefix(entry.get("id", ""), "yt:video:")
        if not video_id:
            raise fail(f"{loc}/yt:videoId", "required")
        channel_id = entry.get("yt_channelid", "")
        if not channel_id:
            raise fail(f"{loc}/yt:channelId", "required")
        stamp = entry.get("published") or entry.get("updated")
        if not stamp:
            raise fail(f"{loc}/published", "required")
        try:
            created = parse_timestamp(stamp)
        except ValueError:
            raise fail(f"{loc}/published", f"not an ISO-8601 timestamp: {stamp!r}") from None
        title = entry.get("title", "")
        author = entry.get("author_detail") or {}
        out.append(
            Mention(
                platform=PLATFORM,
                native_id=video_id,
                author=Author(id=channel_id, handle=str(author.get("name", ""))),
                created_at=created,
                text=title,
                url=entry.get("link") or f"https://www.youtube.com/watch?v={video_id}",
                hashtags=find_hashtags(title),
            )
        )
    deletions = _deleted_entries(text)
    if not out and not deletions:
        raise fail("youtube websub", "no entry or deleted-entry in the notification")
    return out + deletions


_DELETED = regex.compile(
    r"<(?:\w+:)?deleted-entry\b([^>]*)>(.*?)</(?:\w+:)?deleted-entry>", regex.S
)
_ATTR = regex.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CHANNEL_URI = regex.compile(r"/channel/([\w-]+)")


def _deleted_entries(text: str) -> list[Mention]:
    """Tombstones (RFC 6721 ``at:deleted-entry``) for deleted videos, as deletion markers."""
    out: list[Mention] = []
    for i, match in enumerate(_DELETED.finditer(text)):
        loc = f"/feed/deleted-entry/{i}"
        attrs = {m.group(1): m.group(2) or m.group(3) or "" for m in _ATTR.finditer(match.group(1))}
        video_id = _strip_prefix(attrs.get("ref", ""), "yt:video:")
        if not video_id:
            raise fail(f"{loc}/ref", "expected yt:video:<id>")
        try:
            when = parse_timestamp(attrs.get("when", ""))
        except ValueError:
            raise fail(f"{loc}/when", f"not an ISO-8601 timestamp: {attrs.get('when')!r}") from None
        channel = _CHANNEL_URI.search(match.group(2))
        author = Author(id=channel.group(1) if channel else "", handle="")
        out.append(deletion_marker(PLATFORM, video_id, author, when))
    return out


def _strip_prefix(value: str, prefix: str) -> str:
    return value[len(prefix) :] if value.startswith(prefix) else ""


def websub_challenge(params: Mapping[str, str], expected_topics: Mapping[str, str]) -> str:
    """Answer a hub's verification GET: echo ``hub.challenge`` if we asked for this topic.

    ``expected_topics`` maps topic URL to the mode we requested (subscribe/unsubscribe); a
    verification for anything else is refused so nobody can subscribe us to a firehose.
    """
    mode = params.get("hub.mode", "")
    topic = params.get("hub.topic", "")
    challenge = params.get("hub.challenge", "")
    if not challenge:
        raise AuthenticationError(
            "missing hub.challenge", [FieldProblem("query:hub.challenge", "required")]
        )
    if mode not in ("subscribe", "unsubscribe") or expected_topics.get(topic) != mode:
        raise AuthenticationError(
            "verification for a subscription we did not request",
            [FieldProblem("query:hub.topic", f"unexpected {mode or 'missing mode'} for topic")],
        )
    return challenge


def verify_websub_signature(secret: str, signature_header: str | None, body: bytes) -> None:
    """Check ``X-Hub-Signature: sha1=<hex>`` (or sha256=) over the raw body."""
    if not secret:
        raise AuthenticationError("WebSub secret is not configured; refusing all notifications")
    if not signature_header or "=" not in signature_header:
        raise AuthenticationError(
            "missing X-Hub-Signature", [FieldProblem("header:x-hub-signature", "required")]
        )
    algo, _, received = signature_header.strip().partition("=")
    digests: dict[str, Any] = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
    digest = digests.get(algo.lower())
    if digest is None:
        raise AuthenticationError(
            f"unsupported signature algorithm {algo}",
            [FieldProblem("header:x-hub-signature", "expected sha1= or sha256=")],
        )
    expected = hmac.new(secret.encode(), body, digest).hexdigest()
    if not hmac.compare_digest(expected.encode(), received.lower().encode()):
        raise AuthenticationError(
            "signature does not match the body",
            [FieldProblem("header:x-hub-signature", "HMAC mismatch")],
        )


# --- client -------------------------------------------------------------------------------


class YouTubeClient:
    """Data API v3 with an API key: uploads via ``activities.list``, lookups, comments."""

    platform = PLATFORM
    min_cost = 1

    def __init__(
        self,
        transport: HttpTransport,
        api_key: str,
        base_url: str = API_BASE,
        clock: Callable[[], float] | None = None,
        max_pages: int = 3,
    ) -> None:
        self._transport = transport
        self._key = api_key
        self._base = base_url.rstrip("/")
        self._clock = clock or (lambda: 0.0)
        self._max_pages = max_pages

    def _get(self, method: str, params: Mapping[str, str | int | None]) -> dict[str, Json]:
        resource = method.split(".")[0]
        url = with_query(f"{self._base}/{resource}", {**params, "key": self._key})
        resp = self._transport.send("GET", url, {"Accept": "application/json"})
        now = self._clock()
        if resp.status == 403 and (
            b"quotaExceeded" in resp.body or b"rateLimitExceeded" in resp.body
        ):
            raise RateLimitedError(
                f"youtube {method}: daily quota exceeded", retry_at=quota_reset_after(now)
            )
        check_status(resp, f"youtube {method}", now)
        return as_dict(load_json(resp.body, f"youtube {method}"), "/")

    def videos(self, video_ids: list[str]) -> list[Mention]:
        """``videos.list`` for up to 50 ids (1 unit), with statistics."""
        doc = self._get(
            "videos.list",
            {"part": "snippet,statistics", "id": ",".join(video_ids[:50]), "maxResults": 50},
        )
        return [
            _video(as_dict(it, f"/items/{i}"), f"/items/{i}")
            for i, it in enumerate(opt_list(doc, "items", ""))
        ]

    def comment_threads(
        self, video_id: str, page_token: str | None = None
    ) -> tuple[list[Mention], str | None]:
        """One page of ``commentThreads.list`` for a video (1 unit), newest first."""
        doc = self._get(
            "commentThreads.list",
            {
                "part": "snippet",
                "videoId": video_id,
                "maxResults": 100,
                "order": "time",
                "textFormat": "plainText",
                "pageToken": page_token,
            },
        )
        items = opt_list(doc, "items", "")
        mentions = [
            _comment_thread(as_dict(it, f"/items/{i}"), f"/items/{i}") for i, it in enumerate(items)
        ]
        return mentions, opt_str(doc, "nextPageToken", "") or None

    def fetch(self, account_id: str, cursor: Mapping[str, str]) -> FetchResult:
        """A channel's new uploads, from its uploads playlist (1 unit a page), newest first.

        The playlist cannot be asked for "after", so paging stops at the first video not newer
        than ``cursor['playlist_after']`` (a cursor saved by the older activities.list poller,
        ``published_after``, serves the same purpose). A first poll takes one page only.
        """
        after = cursor.get("playlist_after") or cursor.get("published_after") or ""
        threshold = parse_timestamp(after) if after else None
        mentions: list[Mention] = []
        token: str | None = None
        units = 0
        for _ in range(self._max_pages):
            doc = self._get(
                "playlistItems.list",
                {
                    "part": "snippet,contentDetails",
                    "playlistId": uploads_playlist_id(account_id),
                    "maxResults": 50,
                    "pageToken": token,
                },
            )
            units += UNITS["playlistItems.list"]
            reached_seen = False
            for i, it in enumerate(opt_list(doc, "items", "")):
                mention = _playlist_item(as_dict(it, f"/items/{i}"), f"/items/{i}")
                if mention is None:
                    continue
                if threshold is not None and mention.created_at < threshold:
                    reached_seen = True
                    continue
                mentions.append(mention)
            token = opt_str(doc, "nextPageToken", "") or None
            if not token or reached_seen or threshold is None:
                break
        new_cursor = {k: v for k, v in cursor.items() if k != "published_after"}
        newest = max((m.created_at for m in mentions), default=threshold)
        if newest is not None:
            new_cursor["playlist_after"] = _rfc3339(newest)
        return FetchResult(mentions=mentions, cursor=new_cursor, units=units)

    def activities(self, account_id: str, after: str | None = None) -> list[Mention]:
        """A channel's uploads through ``activities.list`` (1 unit), published after ``after``."""
        doc = self._get(
            "activities.list",
            {
                "part": "snippet,contentDetails",
                "channelId": account_id,
                "maxResults": 50,
                "publishedAfter": after,
            },
        )
        out = []
        for i, it in enumerate(opt_list(doc, "items", "")):
            mention = _activity(as_dict(it, f"/items/{i}"), f"/items/{i}")
            if mention is not None:
                out.append(mention)
        return out


def quota_reset_after(now: float) -> float:
    """When YouTube's daily quota resets: midnight Pacific, taken as 08:00 UTC.

    08:00 UTC is midnight in PST and 01:00 in PDT, so in summer this waits an hour longer
    than needed rather than polling into a still-exhausted quota.
    """
    day = 86400.0
    reset_today = (now // day) * day + 8 * 3600
    return reset_today if reset_today > now else reset_today + day


def _rfc3339(dt: datetime) -> str:
    # publishedAfter is inclusive at the second; the newest video is fetched again once and
    # deduplicated by its key, which is cheaper than risking a missed upload.
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_client(
    base_url: str, secrets: Mapping[str, str], transport: HttpTransport, clock: Callable[[], float]
) -> YouTubeClient:
    """The poller's client, as the registry builds it from the platform descriptor."""
    return YouTubeClient(transport, secrets["youtube_api_key"], base_url=base_url, clock=clock)


# --- push (the descriptor's WebSub endpoints) -----------------------------------------------

WEBSUB_SIGNATURE_HEADER = "x-hub-signature"
YOUTUBE_TOPIC = "https://www.youtube.com/xml/feeds/videos.xml?channel_id="


def websub_notification(req: PushRequest, ctx: PushContext) -> PushResult:
    """A WebSub notification: check the HMAC, enqueue new videos and deletions."""
    check_size(req.body)
    verify_websub_signature(
        ctx.secret("websub_secret"), req.headers.get(WEBSUB_SIGNATURE_HEADER), req.body
    )
    mentions = parse_websub_notification(req.body)
    ctx.mention_queue.send([mention_to_dict(m) for m in mentions])
    return PushResult(tuple(m.key for m in mentions))


def websub_verification(req: PushRequest, ctx: PushContext) -> PushResult:
    """The challenge to echo: subscribe for watched channels, unsubscribe for the others."""
    expected = {f"{YOUTUBE_TOPIC}{c}": "subscribe" for c in ctx.watched_ids(PLATFORM)}
    topic = req.query.get("hub.topic", "")
    if topic.startswith(YOUTUBE_TOPIC) and topic not in expected:
        expected[topic] = "unsubscribe"
    return PushResult(text=websub_challenge(req.query, expected))


# --- WebSub lease renewal (the descriptor's renew-websub job) ------------------------------

# YouTube's hub grants at most about 5 days (432,000 s); renewing 2 days ahead leaves a
# 6-hourly schedule several tries before a lease runs out.
LEASE_SECONDS = 432_000
RENEW_BEFORE_SECONDS = 2 * 86_400
WEBSUB_PATH = "/ingest/websub/youtube"


def lease_key(channel_id: str) -> str:
    """Where a channel's lease is remembered (with the poll states)."""
    return f"{PLATFORM}#websub:{channel_id}"


def renew_websub_leases(ctx: JobContext) -> dict[str, int]:
    """Subscribe every watched channel whose lease ends within two days (or is unknown).

    The hub answers 202 and verifies asynchronously by calling our callback, which echoes the
    challenge only for watched channels; the lease is taken as granted from the 202 on.
    """
    now = ctx.wall_clock()
    if not ctx.public_base_url.startswith(("https://", "http://")):
        return {"renewed": 0, "current": 0, "failed": 0, "skipped": len(ctx.watched_ids)}
    callback = ctx.public_base_url.rstrip("/") + WEBSUB_PATH
    secret = ctx.secret("websub_secret")
    counts = {"renewed": 0, "current": 0, "failed": 0, "skipped": 0}
    for channel in sorted({c for c in ctx.watched_ids if c.startswith("UC")}):
        key = lease_key(channel)
        state = ctx.cursors.get(key) or PollState()
        until = float(state.cursor.get("lease_until", "0") or 0)
        if until - now > RENEW_BEFORE_SECONDS:
            counts["current"] += 1
            continue
        form = {
            "hub.callback": callback,
            "hub.topic": YOUTUBE_TOPIC + channel,
            "hub.mode": "subscribe",
            "hub.verify": "async",
            "hub.lease_seconds": str(LEASE_SECONDS),
        }
        if secret:
            form["hub.secret"] = secret
        body = urllib.parse.urlencode(form).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        try:
            resp = ctx.transport.send("POST", ctx.base_url, headers, body)
            ok, error = resp.status in (202, 204), f"hub answered {resp.status}"
        except UpstreamError as err:
            ok, error = False, err.detail
        if ok:
            cursor = {"lease_until": str(int(now + LEASE_SECONDS))}
            ctx.cursors.save(key, PollState(cursor=cursor, last_success_at=now))
            counts["renewed"] += 1
        else:
            failures = state.failures + 1
            ctx.cursors.save(
                key,
                replace(state, failures=failures, healthy=until > now, last_error=error),
            )
            counts["failed"] += 1
    return counts
