"""X (Twitter): API v2 responses, filtered-stream lines, v1.1 statuses and compliance events.

``parse_x`` accepts any of the recorded shapes; ``XClient`` polls a user timeline with
``since_id`` and pagination. Ids stay strings from the wire to the key: numbers are parsed
exactly (never through a float) and a lossy float id is refused.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from chalicelib.adapters.http_stream import OpenStream, StreamingResponse, urllib3_stream_opener
from chalicelib.adapters.platforms._common import (
    Json,
    as_dict,
    as_id,
    as_list,
    as_time,
    counts,
    decode_text,
    deletion_marker,
    fail,
    load_json,
    opt_dict,
    opt_list,
    opt_str,
    req,
    req_id,
)
from chalicelib.adapters.platforms.http import (
    HttpResponse,
    HttpTransport,
    Urllib3Transport,
    check_status,
    retry_at,
    with_query,
)
from chalicelib.domain.mention import Author, Mention, Reference
from chalicelib.errors import ParseError, PlatformStatusError, RateLimitedError, UpstreamError
from chalicelib.services.polling import CursorStore, FetchResult, PollState
from chalicelib.services.streams import StreamBatch, StreamContext, StreamRun

PLATFORM = "x"
API_BASE = "https://api.x.com"
# Snowflake ids carry their creation time: milliseconds since this epoch, shifted by 22 bits.
_TWITTER_EPOCH_MS = 1288834974657
_REFERENCE_KINDS = {"replied_to": "reply", "quoted": "quote", "retweeted": "repost"}
_V2_METRICS = {
    "like_count": "likes",
    "retweet_count": "reposts",
    "reply_count": "replies",
    "quote_count": "quotes",
    "impression_count": "views",
    "bookmark_count": "bookmarks",
}
_V1_METRICS = {"favorite_count": "likes", "retweet_count": "reposts", "reply_count": "replies"}
# Platform "languages" that say nothing about the language.
_NO_LANGUAGE = frozenset({"und", "zxx", "qme", "qht", "qam", "qct", "qst"})


def parse_x(raw: bytes | str) -> list[Mention]:
    """Mentions in any recorded X payload: v2 response, stream lines, v1.1, compliance."""
    text = decode_text(raw, "x")
    try:
        doc = load_json(text, "x")
    except ParseError as whole:
        # Several JSON documents, one per line, is what the filtered stream delivers.
        if text.strip().count("\n") >= 1 and text.lstrip().startswith("{"):
            try:
                return parse_x_stream(text).mentions
            except ParseError:
                raise whole from None  # not a stream either: report the document's error
        raise
    return _parse_document(doc, "")


@dataclass(frozen=True)
class StreamParse:
    """The mentions of a stream capture, and the unterminated tail it ended with (if any)."""

    mentions: list[Mention]
    truncated_tail: str = ""
    matching_rules: tuple[tuple[str, ...], ...] = ()


def parse_x_stream(text: str) -> StreamParse:
    """Filtered/compliance stream lines; a cut-off last line is returned, not raised."""
    decoder = StreamDecoder()
    documents = decoder.feed(text)
    tail = decoder.pending
    if tail.strip():
        # A complete message that merely lacks its final newline is still a message.
        try:
            documents.append((decoder.line_number + 1, json.loads(tail)))
            tail = ""
        except json.JSONDecodeError:
            pass
    mentions: list[Mention] = []
    rules: list[tuple[str, ...]] = []
    for line_number, doc in documents:
        loc = f"line {line_number}"
        if isinstance(doc, dict) and "matching_rules" in doc:
            rules.append(rule_ids(doc, loc))
        mentions.extend(_parse_document(doc, loc))
    return StreamParse(mentions, tail, tuple(rules))


class StreamDecoder:
    """Splits a byte/text stream into JSON lines, keeping a partial line until it completes.

    X sends ``\\r\\n`` keep-alives between messages; a connection that drops mid-message leaves
    a fragment that is kept in :attr:`pending` instead of being parsed as garbage.
    """

    def __init__(self) -> None:
        self.pending = ""
        self.line_number = 0

    def feed(self, chunk: str | bytes) -> list[tuple[int, Json]]:
        """The complete JSON messages in ``pending + chunk`` with their line numbers."""
        if isinstance(chunk, bytes):
            chunk = decode_text(chunk, "x stream")
        buffer = self.pending + chunk
        *complete, self.pending = buffer.split("\n")
        out: list[tuple[int, Json]] = []
        for line in complete:
            self.line_number += 1
            if not line.strip():
                continue  # keep-alive
            out.append((self.line_number, load_json(line, f"x stream line {self.line_number}")))
        return out


def rule_ids(doc: Mapping[str, Json], loc: str) -> tuple[str, ...]:
    """The ids of the filtered-stream rules a message matched (number or string on the wire)."""
    out: list[str] = []
    for i, rule in enumerate(opt_list(doc, "matching_rules", loc)):
        out.append(
            req_id(as_dict(rule, f"{loc}/matching_rules/{i}"), "id", f"{loc}/matching_rules/{i}")
        )
    return tuple(out)


def _parse_document(doc: Json, loc: str) -> list[Mention]:
    if isinstance(doc, list):
        # v1.1 search/timeline: a bare array of statuses.
        return [_v1_status(as_dict(s, f"{loc}/{i}"), f"{loc}/{i}") for i, s in enumerate(doc)]
    obj = as_dict(doc, loc or "/")
    if "request" in obj and "body" in obj:
        # A recorded exchange (request, status, headers, body): the body is the payload.
        return _parse_document(obj["body"], f"{loc}/body")
    if "statuses" in obj:
        statuses = as_list(obj["statuses"], f"{loc}/statuses")
        return [
            _v1_status(as_dict(s, f"{loc}/statuses/{i}"), f"{loc}/statuses/{i}")
            for i, s in enumerate(statuses)
        ]
    if "delete" in obj:
        return [_v1_delete(as_dict(obj["delete"], f"{loc}/delete"), f"{loc}/delete")]
    if obj.get("action") == "delete":
        return [_compliance_job_line(obj, loc)]
    if "id_str" in obj and "user" in obj:
        return [_v1_status(obj, loc)]
    if "data" not in obj:
        if "meta" in obj or "errors" in obj:
            return []  # an empty page (result_count 0) or a page of errors only
        raise fail(loc or "/", "not an X payload: no data, statuses or delete member")
    data = obj["data"]
    includes = opt_dict(obj, "includes", loc)
    users = _users_by_id(includes, f"{loc}/includes")
    texts = _texts_by_id(includes, f"{loc}/includes")
    if isinstance(data, dict):
        if "delete" in data:
            return [
                _v2_compliance_delete(
                    as_dict(data["delete"], f"{loc}/data/delete"), f"{loc}/data/delete"
                )
            ]
        return [_v2_tweet(data, users, f"{loc}/data", texts)]
    tweets = as_list(data, f"{loc}/data")
    return [
        _v2_tweet(as_dict(t, f"{loc}/data/{i}"), users, f"{loc}/data/{i}", texts)
        for i, t in enumerate(tweets)
    ]


def _users_by_id(includes: Mapping[str, Json], loc: str) -> dict[str, Author]:
    users: dict[str, Author] = {}
    for i, raw in enumerate(opt_list(includes, "users", loc)):
        uloc = f"{loc}/users/{i}"
        user = as_dict(raw, uloc)
        uid = req_id(user, "id", uloc)
        metrics = opt_dict(user, "public_metrics", uloc)
        followers = metrics.get("followers_count")
        users[uid] = Author(
            id=uid,
            handle=opt_str(user, "username", uloc),
            name=opt_str(user, "name", uloc),
            followers=None
            if followers is None
            else counts(metrics, {"followers_count": "f"}, uloc)["f"],
        )
    return users


def _texts_by_id(includes: Mapping[str, Json], loc: str) -> dict[str, str]:
    """Full texts of the referenced posts that came along in ``includes.tweets``."""
    texts: dict[str, str] = {}
    for i, raw in enumerate(opt_list(includes, "tweets", loc)):
        tloc = f"{loc}/tweets/{i}"
        tweet = as_dict(raw, tloc)
        note = opt_dict(tweet, "note_tweet", tloc)
        text = opt_str(note, "text", f"{tloc}/note_tweet") or opt_str(tweet, "text", tloc)
        if tweet.get("id") is not None and text:
            texts[as_id(tweet["id"], f"{tloc}/id")] = text
    return texts


def snowflake_time(tweet_id: str) -> datetime | None:
    """The creation time encoded in a snowflake id (posts since November 2010), or None."""
    if not tweet_id.isdigit():
        return None
    value = int(tweet_id)
    if value < 1 << 32:
        return None  # a pre-snowflake sequential id carries no time
    ms = (value >> 22) + _TWITTER_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _v2_tweet(
    tweet: Mapping[str, Json],
    users: Mapping[str, Author],
    loc: str,
    texts: Mapping[str, str] | None = None,
) -> Mention:
    tid = req_id(tweet, "id", loc)
    author_id = (
        as_id(tweet["author_id"], f"{loc}/author_id") if tweet.get("author_id") is not None else ""
    )
    author = users.get(author_id) or Author(id=author_id, handle="")
    if tweet.get("created_at") is not None:
        created = as_time(tweet["created_at"], f"{loc}/created_at")
    else:
        # Default fields carry no created_at; the id itself says when the post was made.
        snow = snowflake_time(tid)
        if snow is None:
            raise fail(f"{loc}/created_at", "required (and the id carries no time)")
        created = snow
    note = opt_dict(tweet, "note_tweet", loc)
    body = opt_str(note, "text", f"{loc}/note_tweet") or opt_str(tweet, "text", loc)
    if "text" not in tweet and not body:
        raise fail(f"{loc}/text", "required")
    entities = opt_dict(tweet, "entities", loc)
    eloc = f"{loc}/entities"
    refs = []
    for i, ref in enumerate(opt_list(tweet, "referenced_tweets", loc)):
        rloc = f"{loc}/referenced_tweets/{i}"
        r = as_dict(ref, rloc)
        kind = _REFERENCE_KINDS.get(opt_str(r, "type", rloc))
        if kind:
            refs.append(Reference(kind, req_id(r, "id", rloc)))
    # A repost's own text is cut at 140 characters ("RT @a: ...…"); the original's full
    # text, when it came in includes, is what keyword matching needs.
    original = next((r.id for r in refs if r.kind == "repost"), None)
    if original and texts and original in texts and body.startswith("RT @"):
        prefix = body.split(": ", 1)[0]
        body = f"{prefix}: {texts[original]}"
    lang = opt_str(tweet, "lang", loc) or None
    withheld = opt_dict(tweet, "withheld", loc)
    return Mention(
        platform=PLATFORM,
        native_id=tid,
        author=author,
        created_at=created,
        # X escapes &, < and > in post text.
        text=html.unescape(body),
        url=_status_url(author.handle, tid),
        lang_hint=None if lang in _NO_LANGUAGE else lang,
        urls=tuple(
            _entity_str(u, ("unwound_url", "expanded_url", "url"), f"{eloc}/urls/{i}")
            for i, u in enumerate(opt_list(entities, "urls", eloc))
        ),
        hashtags=tuple(
            _entity_str(h, ("tag",), f"{eloc}/hashtags/{i}")
            for i, h in enumerate(opt_list(entities, "hashtags", eloc))
        ),
        mentions=tuple(
            _entity_str(m, ("username",), f"{eloc}/mentions/{i}")
            for i, m in enumerate(opt_list(entities, "mentions", eloc))
        ),
        references=tuple(refs),
        metrics=counts(
            opt_dict(tweet, "public_metrics", loc), _V2_METRICS, f"{loc}/public_metrics"
        ),
        withheld_in=tuple(str(c) for c in opt_list(withheld, "country_codes", f"{loc}/withheld")),
        edit_ids=tuple(
            as_id(e, f"{loc}/edit_history_tweet_ids/{i}")
            for i, e in enumerate(opt_list(tweet, "edit_history_tweet_ids", loc))
        ),
    )


def _entity_str(entity: Json, keys: tuple[str, ...], loc: str) -> str:
    obj = as_dict(entity, loc)
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
    raise fail(f"{loc}/{keys[-1]}", "required")


def _status_url(handle: str, tid: str) -> str:
    if handle:
        return f"https://x.com/{handle}/status/{tid}"
    return f"https://x.com/i/web/status/{tid}"


def _v1_time(value: Json, loc: str) -> datetime:
    if not isinstance(value, str):
        raise fail(loc, "expected a timestamp string")
    try:
        return datetime.strptime(value, "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)
    except ValueError:
        return as_time(value, loc)


def _v1_status(status: Mapping[str, Json], loc: str) -> Mention:
    # id_str is authoritative: the numeric id was lossy for JavaScript clients in v1.1.
    sid = req_id(status, "id_str", loc) if "id_str" in status else req_id(status, "id", loc)
    user = as_dict(req(status, "user", loc), f"{loc}/user")
    uloc = f"{loc}/user"
    uid = req_id(user, "id_str", uloc) if "id_str" in user else req_id(user, "id", uloc)
    author = Author(
        id=uid,
        handle=opt_str(user, "screen_name", uloc),
        name=opt_str(user, "name", uloc),
        followers=counts(user, {"followers_count": "f"}, uloc).get("f"),
    )
    extended = opt_dict(status, "extended_tweet", loc)
    body = (
        opt_str(extended, "full_text", f"{loc}/extended_tweet")
        or opt_str(status, "full_text", loc)
        or opt_str(status, "text", loc)
    )
    entities = opt_dict(extended, "entities", loc) or opt_dict(status, "entities", loc)
    eloc = f"{loc}/entities"
    refs: list[Reference] = []
    if status.get("in_reply_to_status_id_str"):
        refs.append(Reference("reply", as_id(status["in_reply_to_status_id_str"], loc)))
    if status.get("quoted_status_id_str"):
        refs.append(Reference("quote", as_id(status["quoted_status_id_str"], loc)))
    if status.get("retweeted_status"):
        rt = as_dict(status["retweeted_status"], f"{loc}/retweeted_status")
        refs.append(Reference("repost", req_id(rt, "id_str", f"{loc}/retweeted_status")))
    metadata = opt_dict(status, "metadata", loc)
    lang = opt_str(status, "lang", loc) or opt_str(metadata, "iso_language_code", loc) or None
    return Mention(
        platform=PLATFORM,
        native_id=sid,
        author=author,
        created_at=_v1_time(req(status, "created_at", loc), f"{loc}/created_at"),
        text=html.unescape(body),
        url=_status_url(author.handle, sid),
        lang_hint=None if lang in _NO_LANGUAGE else lang,
        urls=tuple(
            _entity_str(u, ("expanded_url", "url"), f"{eloc}/urls/{i}")
            for i, u in enumerate(opt_list(entities, "urls", eloc))
        ),
        hashtags=tuple(
            _entity_str(h, ("text",), f"{eloc}/hashtags/{i}")
            for i, h in enumerate(opt_list(entities, "hashtags", eloc))
        ),
        mentions=tuple(
            _entity_str(m, ("screen_name",), f"{eloc}/user_mentions/{i}")
            for i, m in enumerate(opt_list(entities, "user_mentions", eloc))
        ),
        references=tuple(refs),
        metrics=counts(status, _V1_METRICS, loc),
        withheld_in=tuple(str(c) for c in opt_list(status, "withheld_in_countries", loc)),
    )


def _v2_compliance_delete(delete: Mapping[str, Json], loc: str) -> Mention:
    tweet = as_dict(req(delete, "tweet", loc), f"{loc}/tweet")
    tid = req_id(tweet, "id", f"{loc}/tweet")
    author_id = (
        as_id(tweet["author_id"], f"{loc}/tweet/author_id") if tweet.get("author_id") else ""
    )
    at = (
        as_time(delete["event_at"], f"{loc}/event_at")
        if delete.get("event_at")
        else snowflake_time(tid)
    )
    if at is None:
        raise fail(f"{loc}/event_at", "required")
    return deletion_marker(PLATFORM, tid, Author(id=author_id, handle=""), at)


def _v1_delete(delete: Mapping[str, Json], loc: str) -> Mention:
    status = as_dict(req(delete, "status", loc), f"{loc}/status")
    sloc = f"{loc}/status"
    tid = req_id(status, "id_str", sloc) if "id_str" in status else req_id(status, "id", sloc)
    uid_key = "user_id_str" if "user_id_str" in status else "user_id"
    uid = as_id(status[uid_key], f"{sloc}/{uid_key}") if status.get(uid_key) else ""
    if delete.get("timestamp_ms") is not None:
        ms = int(as_id(delete["timestamp_ms"], f"{loc}/timestamp_ms"))
        at: datetime | None = datetime.fromtimestamp(ms / 1000, tz=UTC)
    else:
        at = snowflake_time(tid)
    if at is None:
        raise fail(f"{loc}/timestamp_ms", "required")
    return deletion_marker(PLATFORM, tid, Author(id=uid, handle=""), at)


def _compliance_job_line(line: Mapping[str, Json], loc: str) -> Mention:
    """A line of a batch compliance job result: ``{"id", "action": "delete", "redacted_at"}``."""
    tid = req_id(line, "id", loc)
    stamp = line.get("redacted_at") or line.get("created_at")
    at = as_time(stamp, f"{loc}/redacted_at") if stamp else snowflake_time(tid)
    if at is None:
        raise fail(f"{loc}/redacted_at", "required")
    return deletion_marker(PLATFORM, tid, Author(id="", handle=""), at)


# --- client -------------------------------------------------------------------------------

TWEET_FIELDS = (
    "id,text,author_id,created_at,lang,entities,public_metrics,referenced_tweets,"
    "withheld,edit_history_tweet_ids,note_tweet,conversation_id"
)
USER_FIELDS = "id,username,name,public_metrics"


@dataclass(frozen=True)
class TimelinePage:
    """One page of a user timeline: its mentions, newest id, and the next page's token."""

    mentions: list[Mention]
    newest_id: str | None
    next_token: str | None
    result_count: int


class XClient:
    """User-timeline polling against API v2 with a bearer token and an injected transport."""

    platform = PLATFORM
    # X bills per post read; a request that returns nothing still costs a request slot.
    min_cost = 1

    def __init__(
        self,
        transport: HttpTransport,
        bearer_token: str,
        base_url: str = API_BASE,
        clock: Callable[[], float] | None = None,
        max_pages: int = 5,
        page_size: int = 100,
    ) -> None:
        self._transport = transport
        self._token = bearer_token
        self._base = base_url.rstrip("/")
        self._clock = clock or _zero
        self._max_pages = max_pages
        self._page_size = page_size

    def timeline_page(
        self, user_id: str, since_id: str | None, pagination_token: str | None
    ) -> TimelinePage:
        """GET /2/users/:id/tweets for one page."""
        url = with_query(
            f"{self._base}/2/users/{user_id}/tweets",
            {
                "max_results": self._page_size,
                "since_id": since_id,
                "pagination_token": pagination_token,
                "tweet.fields": TWEET_FIELDS,
                "expansions": "author_id,referenced_tweets.id",
                "user.fields": USER_FIELDS,
            },
        )
        resp = self._transport.send("GET", url, {"Authorization": f"Bearer {self._token}"})
        check_status(resp, f"x timeline {user_id}", self._clock())
        doc = as_dict(load_json(resp.body, "x timeline"), "/")
        meta = opt_dict(doc, "meta", "")
        return TimelinePage(
            mentions=_parse_document(doc, ""),
            newest_id=as_id(meta["newest_id"], "/meta/newest_id")
            if meta.get("newest_id")
            else None,
            next_token=opt_str(meta, "next_token", "/meta") or None,
            result_count=counts(meta, {"result_count": "n"}, "/meta").get("n", 0),
        )

    def fetch(self, account_id: str, cursor: Mapping[str, str]) -> FetchResult:
        """New posts since ``cursor['since_id']``, up to ``max_pages`` pages per call.

        When more pages remain, the cursor keeps the page token and the newest id seen, so
        the next poll resumes where this one stopped instead of leaving a gap.
        """
        since_id = cursor.get("since_id") or None
        token = cursor.get("pagination_token") or None
        newest = cursor.get("pending_newest") or None
        mentions: list[Mention] = []
        units = 0
        # A first poll takes one page and starts from there: walking back through the
        # 3,200-post timeline would be billed per post for history nobody acts on.
        first_poll = since_id is None and token is None
        for _ in range(1 if first_poll else self._max_pages):
            page = self.timeline_page(account_id, since_id, token)
            units += max(1, page.result_count)
            mentions.extend(page.mentions)
            newest = _max_id(newest, page.newest_id)
            token = page.next_token
            if not token:
                break
        new_cursor: dict[str, str] = {}
        if first_poll:
            token = None
        if token:
            new_cursor["pagination_token"] = token
            if since_id:
                new_cursor["since_id"] = since_id
            if newest:
                new_cursor["pending_newest"] = newest
        elif newest or since_id:
            new_cursor["since_id"] = _max_id(newest, since_id) or ""
        return FetchResult(mentions=mentions, cursor=new_cursor, units=units)

    def read_stream(self, path: str = "/2/tweets/search/stream") -> StreamParse:
        """Read a filtered-stream connection until it closes; a cut last line is reported.

        Lambda cannot hold a stream open; this reads what a short-lived connection delivers
        (a long-running consumer feeds :class:`StreamDecoder` chunk by chunk instead).
        """
        url = with_query(
            self._base + path,
            {
                "tweet.fields": TWEET_FIELDS,
                "expansions": "author_id,referenced_tweets.id",
                "user.fields": USER_FIELDS,
            },
        )
        resp = self._transport.send("GET", url, {"Authorization": f"Bearer {self._token}"})
        check_status(resp, "x filtered stream", self._clock())
        return parse_x_stream(decode_text(resp.body, "x stream"))


def _max_id(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    # Compare as integers (exact, unbounded), never as floats and never as strings.
    return a if int(a) >= int(b) else b


def _zero() -> float:
    return 0.0


def make_client(
    base_url: str, secrets: Mapping[str, str], transport: HttpTransport, clock: Callable[[], float]
) -> XClient:
    """The poller's client, as the registry builds it from the platform descriptor."""
    return XClient(transport, secrets["x_bearer_token"], base_url=base_url, clock=clock)


def truncated_tail(raw: bytes) -> str:
    """The cut-off last line of a stream capture (``tvarit parse`` warns about it), or ""."""
    text = raw.decode("utf-8", errors="replace")
    if text.count("\n") < 1:
        return ""
    try:
        json.loads(text)
        return ""
    except json.JSONDecodeError:
        return parse_x_stream(text).truncated_tail


# --- filtered stream (the descriptor's stream) --------------------------------------------
#
# A scheduled run syncs the rules with the watchlist (only when it changed), then reads
# GET /2/tweets/search/stream until just before its deadline, handing each post to the
# mentions queue like a poll does. X keeps no cursor: what a run misses between its end and
# the next run's start comes back only through ``backfill_minutes`` (Enterprise); without it
# the timeline poller is the safety net (docs/platforms.md, "Streams").

STREAM_KEY = f"{PLATFORM}#filtered-stream"
RULES_KEY = f"{PLATFORM}#filtered-stream-rules"
STREAM_PATH = "/2/tweets/search/stream"
RULES_PATH = "/2/tweets/search/stream/rules"
# Our rules carry this tag; rules with another tag belong to someone else and are left alone.
RULE_TAG = "tvarit watchlist"
MAX_BACKFILL_MINUTES = 5
# X sends a keep-alive every 20 s; this much silence is a stalled connection (reconnect).
STALL_SECONDS = 30.0
# Rules per POST (X validates a request as a whole; a smaller request fails smaller).
RULES_PER_REQUEST = 100
_ACCOUNT = re.compile(r"[A-Za-z0-9_]{1,20}")


@dataclass(frozen=True)
class Plan:
    """What an X API plan allows of the filtered stream (X's pricing pages, 2025)."""

    stream: bool
    max_rules: int = 0
    rule_length: int = 0
    backfill: bool = False


PLANS: Mapping[str, Plan] = {
    "basic": Plan(stream=False),
    "pro": Plan(stream=True, max_rules=1000, rule_length=1024),
    "enterprise": Plan(stream=True, max_rules=25_000, rule_length=2048, backfill=True),
}


def linear_backoff(attempt: int, step: float, cap: float) -> float:
    """``step`` more per attempt, at most ``cap``."""
    return min(cap, step * max(1, attempt))


def exponential_backoff(attempt: int, start: float, cap: float) -> float:
    """``start``, doubled per attempt, at most ``cap``."""
    return min(cap, start * float(2 ** min(max(1, attempt) - 1, 32)))


def reconnect_delay(failures: int, error: UpstreamError) -> float:
    """X's documented reconnect backoff for the ``failures``-th failure in a row.

    Network errors: linear from 250 ms to 16 s. HTTP errors: exponential from 5 s to 320 s.
    429: exponential from 1 minute (X names no cap; ours is 64 minutes).
    """
    if isinstance(error, RateLimitedError):
        return exponential_backoff(failures, 60.0, 3840.0)
    if isinstance(error, PlatformStatusError):
        return exponential_backoff(failures, 5.0, 320.0)
    return linear_backoff(failures, 0.25, 16.0)


@dataclass(frozen=True)
class StreamRule:
    """One filtered-stream rule as X lists it."""

    id: str
    value: str
    tag: str = ""


@dataclass(frozen=True)
class RuleChanges:
    """What a rules sync sends: values to add, rule ids to delete, accounts left out."""

    add: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()
    # Watched accounts no rule holds: the plan's rule count is used up, or not an X account.
    left_out: tuple[str, ...] = ()


def rule_account(watched: str) -> str | None:
    """The ``from:`` operand of a watched account (user id or username), None if it is not one."""
    name = watched.strip().removeprefix("@")
    return name if _ACCOUNT.fullmatch(name) else None


def pack_from_rules(accounts: Sequence[str], max_length: int) -> list[str]:
    """``from:a OR from:b ...`` rules, filled greedily in sorted order, each ≤ ``max_length``."""
    rules: list[str] = []
    current = ""
    for account in sorted(set(accounts)):
        clause = f"from:{account}"
        if len(clause) > max_length:
            raise ValueError(f"{clause!r} is longer than a rule may be ({max_length})")
        joined = f"{current} OR {clause}" if current else clause
        if len(joined) <= max_length:
            current = joined
        else:
            rules.append(current)
            current = clause
    if current:
        rules.append(current)
    return rules


def rule_accounts(value: str) -> frozenset[str] | None:
    """The accounts of a rule we write (``from:`` clauses joined by OR); None for another rule."""
    accounts: list[str] = []
    for part in value.split(" OR "):
        operand = part.removeprefix("from:")
        if operand == part or not _ACCOUNT.fullmatch(operand):
            return None
        accounts.append(operand)
    return frozenset(accounts)


def plan_rules(
    current: Sequence[StreamRule], watched: Sequence[str], plan: Plan, tag: str = RULE_TAG
) -> RuleChanges:
    """The least change that makes our rules cover exactly the watched accounts.

    A rule of ours is kept while every account in it is still watched (and no kept rule
    holds it already); any other rule of ours is deleted and its still-watched accounts are
    packed, with the new ones, into new rules. Rules with another tag are not ours: kept,
    but they count against the plan's number of rules.
    """
    wanted: set[str] = set()
    invalid: list[str] = []
    for w in watched:
        account = rule_account(w)
        if account is None:
            invalid.append(w)
        else:
            wanted.add(account)
    covered: set[str] = set()
    delete: list[str] = []
    for rule in current:
        if rule.tag != tag:
            continue
        accounts = rule_accounts(rule.value)
        if (
            accounts is None
            or len(rule.value) > plan.rule_length
            or not accounts <= wanted
            or accounts & covered
        ):
            delete.append(rule.id)
        else:
            covered |= accounts
    new = pack_from_rules(sorted(wanted - covered), plan.rule_length) if plan.rule_length else []
    room = max(0, plan.max_rules - (len(current) - len(delete)))
    left_out = sorted({a for rule in new[room:] for a in rule_accounts(rule) or ()} | set(invalid))
    return RuleChanges(tuple(new[:room]), tuple(delete), tuple(left_out))


def rules_digest(watched: Sequence[str], plan: Plan, tag: str = RULE_TAG) -> str:
    """What a rules sync depends on: the watched accounts, the plan's limits and our tag."""
    doc = json.dumps([sorted(set(watched)), plan.max_rules, plan.rule_length, tag])
    return hashlib.sha256(doc.encode()).hexdigest()[:32]


class StreamRules:
    """GET/POST /2/tweets/search/stream/rules with the app's bearer token."""

    def __init__(
        self,
        transport: HttpTransport,
        bearer_token: str,
        base_url: str = API_BASE,
        clock: Callable[[], float] = _zero,
    ) -> None:
        self._transport = transport
        self._token = bearer_token
        self._url = base_url.rstrip("/") + RULES_PATH
        self._clock = clock

    def _send(self, method: str, body: Json | None = None) -> Mapping[str, Json]:
        headers = {"Authorization": f"Bearer {self._token}"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        resp = self._transport.send(method, self._url, headers, data)
        check_status(resp, f"x stream rules {method}", self._clock())
        return as_dict(load_json(resp.body, "x stream rules"), "/")

    def list(self) -> list[StreamRule]:
        """Every rule of the app's stream."""
        doc = self._send("GET")
        out: list[StreamRule] = []
        for i, raw in enumerate(opt_list(doc, "data", "")):
            loc = f"/data/{i}"
            rule = as_dict(raw, loc)
            out.append(
                StreamRule(
                    req_id(rule, "id", loc), opt_str(rule, "value", loc), opt_str(rule, "tag", loc)
                )
            )
        return out

    def add(self, values: Sequence[str], tag: str = RULE_TAG) -> None:
        """Add rules; X's ``DuplicateRule`` (already there) is not a failure."""
        for start in range(0, len(values), RULES_PER_REQUEST):
            chunk = values[start : start + RULES_PER_REQUEST]
            doc = self._send("POST", {"add": [{"value": v, "tag": tag} for v in chunk]})
            _raise_rule_errors(doc, "add")

    def delete(self, ids: Sequence[str]) -> None:
        """Delete rules by id."""
        for start in range(0, len(ids), RULES_PER_REQUEST):
            doc = self._send(
                "POST", {"delete": {"ids": list(ids[start : start + RULES_PER_REQUEST])}}
            )
            _raise_rule_errors(doc, "delete")


def _raise_rule_errors(doc: Mapping[str, Json], action: str) -> None:
    titles = []
    for i, raw in enumerate(opt_list(doc, "errors", "")):
        title = opt_str(as_dict(raw, f"/errors/{i}"), "title", f"/errors/{i}")
        if title != "DuplicateRule":
            titles.append(title or "error")
    if titles:
        raise UpstreamError(f"x stream rules {action}: refused ({', '.join(sorted(set(titles)))})")


@dataclass
class RuleSync:
    """What keeping the rules in step did in one run."""

    synced: bool = False  # False: the watchlist had not changed (or the sync failed)
    changes: RuleChanges = RuleChanges()
    error: str = ""


def sync_rules(
    api: StreamRules,
    store: CursorStore | None,
    watched: Sequence[str],
    plan: Plan,
    wall_clock: Callable[[], float],
) -> RuleSync:
    """Add missing and delete stale rules, only when the watchlist changed since the last sync.

    The digest of the last successful sync is kept in the poll-state store; a failed sync
    saves nothing, so the next run tries again (the stream keeps the rules it has meanwhile).
    """
    digest = rules_digest(watched, plan)
    saved = store.get(RULES_KEY) if store is not None else None
    if saved is not None and saved.cursor.get("digest") == digest:
        return RuleSync()
    try:
        current = api.list()
        changes = plan_rules(current, watched, plan)
        # Deletes first: they free the room the adds may need under the plan's rule count.
        if changes.delete:
            api.delete(changes.delete)
        if changes.add:
            api.add(changes.add)
    except (UpstreamError, ParseError) as err:
        return RuleSync(error=err.detail)
    if store is not None:
        ours = sum(1 for r in current if r.tag == RULE_TAG) - len(changes.delete) + len(changes.add)
        store.save(
            RULES_KEY,
            PollState(
                cursor={
                    "digest": digest,
                    "rules": str(ours),
                    "left_out": str(len(changes.left_out)),
                },
                last_success_at=wall_clock(),
            ),
        )
    return RuleSync(True, changes)


def stream_url(base_url: str, backfill_minutes: int = 0) -> str:
    """The stream with the timeline poller's fields and expansions (one parser for both)."""
    return with_query(
        base_url.rstrip("/") + STREAM_PATH,
        {
            "tweet.fields": TWEET_FIELDS,
            "expansions": "author_id,referenced_tweets.id",
            "user.fields": USER_FIELDS,
            "backfill_minutes": backfill_minutes or None,
        },
    )


def backfill_minutes(plan: Plan, seen_at: float | None, now: float) -> int:
    """Minutes to ask back on connect: the time since the stream was last heard, 1 to 5.

    0 on a plan without backfill. A first connection (nothing heard yet) asks for one minute,
    so posts made while the consumer was being deployed are not lost.
    """
    if not plan.backfill:
        return 0
    if seen_at is None:
        return 1
    return max(1, min(MAX_BACKFILL_MINUTES, math.ceil((now - seen_at) / 60)))


class FilteredStreamSource:
    """GET /2/tweets/search/stream read until the run's deadline, a batch per arrival.

    The cursor holds ``seen_at``: when the stream was last heard (a post or a keep-alive), so
    a reconnect, in this run or the next, asks ``backfill_minutes`` to cover the time since.
    Backfill repeats posts already delivered; this run skips the ones it delivered, and the
    mention key makes any other repeat a no-op downstream.
    """

    key = STREAM_KEY

    def __init__(
        self,
        base_url: str,
        bearer_token: str,
        plan: Plan,
        open_stream: OpenStream,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        stall_seconds: float = STALL_SECONDS,
        save_every: float = 20.0,
    ) -> None:
        self._base = base_url
        self._token = bearer_token
        self._plan = plan
        self._open = open_stream
        self._clock = clock
        self._wall = wall_clock
        self._stall = stall_seconds
        self._save_every = save_every
        self.delivered: set[str] = set()
        self.backfills: list[int] = []  # backfill_minutes asked per connection

    def backoff(self, failures: int, error: UpstreamError) -> float:
        """X's documented backoff (:func:`reconnect_delay`)."""
        return reconnect_delay(failures, error)

    def read(self, cursor: Mapping[str, str], until: float) -> Iterator[StreamBatch]:
        """Batches of post mentions as they arrive; raises UpstreamError on a drop or refusal."""
        seen_at = _float(cursor.get("seen_at", ""))
        minutes = backfill_minutes(self._plan, seen_at, self._wall())
        self.backfills.append(minutes)
        resp = self._open(
            stream_url(self._base, minutes), {"Authorization": f"Bearer {self._token}"}
        )
        try:
            if resp.status != 200:
                raise _stream_refusal(resp, self._wall())
            # Connected: the stream covers us from now on (this also resets the backoff).
            yield StreamBatch([], _stream_cursor(self._wall()), 0)
            saved = heard = self._clock()
            pending = bytearray()  # an unfinished line, kept as bytes: a chunk may end mid-letter
            while True:
                now = self._clock()
                if now >= until:
                    yield StreamBatch([], _stream_cursor(self._wall()), 0)
                    return
                chunk = resp.read(min(until, heard + self._stall) - now)
                if chunk is None:
                    if self._clock() >= until:
                        continue  # the deadline: save where we are, above
                    raise UpstreamError(
                        f"x filtered stream stalled: silent for {self._stall:.0f} s"
                    )
                if not chunk:
                    raise UpstreamError("x filtered stream: closed by the server")
                heard = self._clock()
                pending += chunk
                *lines, rest = bytes(pending).split(b"\n")
                pending[:] = rest
                mentions, events = self._mentions(lines)
                if mentions or events or heard - saved >= self._save_every:
                    yield StreamBatch(mentions, _stream_cursor(self._wall()), events)
                    saved = heard
        finally:
            resp.close()

    def _mentions(self, lines: Sequence[bytes]) -> tuple[list[Mention], int]:
        out: list[Mention] = []
        events = 0
        for line in lines:
            if not line.strip():
                continue  # keep-alive
            events += 1
            try:
                found = _parse_document(json.loads(line), "")
            except (ValueError, ParseError):
                continue  # one malformed message must not stop the stream
            for mention in found:
                if mention.native_id not in self.delivered:
                    self.delivered.add(mention.native_id)
                    out.append(mention)
        return out, events


def _float(value: str) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _stream_cursor(seen_at: float) -> dict[str, str]:
    return {"seen_at": f"{seen_at:.3f}"}


def _stream_refusal(resp: StreamingResponse, now: float) -> UpstreamError:
    body = resp.rest()
    headers = {
        name: value
        for name in ("x-rate-limit-reset", "retry-after")
        if (value := resp.header(name)) is not None
    }
    if resp.status == 429:
        # X answers 429 both for the rate limit and for TooManyConnections (a connection of
        # an earlier run not yet closed on X's side): both back off from a minute.
        return RateLimitedError(
            "x filtered stream: rate limited (429)",
            retry_at=retry_at(HttpResponse(429, body, headers), now),
        )
    return PlatformStatusError(f"x filtered stream: refused with {resp.status}", status=resp.status)


def consume_filtered_stream(ctx: StreamContext) -> StreamRun:
    """One scheduled run: rules in step with the watchlist, then the stream until the deadline."""
    plan_name = ctx.setting("x_plan") or "basic"
    plan = PLANS.get(plan_name, PLANS["basic"])
    if not plan.stream:
        return StreamRun(
            STREAM_KEY,
            notes=[f"the {plan_name} plan has no filtered stream: the timeline poller reads X"],
        )
    token = ctx.secret("x_bearer_token")
    watched = sorted({w for w in ctx.watched_ids if rule_account(w)})
    if not token or not watched:
        # No token: nothing to connect with; no account: no rule, and nothing would match.
        reason = "no bearer token" if not token else "no watched account"
        return StreamRun(STREAM_KEY, notes=[f"filtered stream not read: {reason}"])
    started = ctx.wall_clock()
    api = StreamRules(Urllib3Transport(timeout=8.0), token, ctx.base_url, ctx.wall_clock)
    rules = sync_rules(api, ctx.cursors, ctx.watched_ids, plan, ctx.wall_clock)
    source = FilteredStreamSource(
        ctx.base_url, token, plan, urllib3_stream_opener(), wall_clock=ctx.wall_clock
    )
    # The rules sync came out of the run's time: the whole invocation stays in Lambda's limit.
    spent = min(ctx.seconds, max(0.0, ctx.wall_clock() - started))
    run = ctx.consumer.run(source, ctx.seconds - spent)
    return annotate(run, rules, plan, source.backfills)


def annotate(run: StreamRun, rules: RuleSync, plan: Plan, backfills: Sequence[int]) -> StreamRun:
    """Say what the run could not cover, and who covers it."""
    if rules.error:
        run.errors.insert(0, f"rules not synced: {rules.error}")
    if rules.changes.left_out:
        run.notes.append(
            f"{len(rules.changes.left_out)} watched account(s) in no rule (the plan's "
            f"{plan.max_rules} rules are used up, or not an X account): polled only"
        )
    if not plan.backfill:
        run.notes.append(
            "no backfill on this plan: posts between runs and across reconnects come from the "
            "timeline poller"
        )
    elif backfills and max(backfills) >= MAX_BACKFILL_MINUTES:
        run.notes.append(
            f"asked the most backfill ({MAX_BACKFILL_MINUTES} min): a longer gap is the "
            "timeline poller's to cover"
        )
    return run
