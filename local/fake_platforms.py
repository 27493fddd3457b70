"""A local HTTP server that speaks the platforms' APIs, serving recorded payloads.

Paths are the real ones (``/2/users/:id/tweets``, ``/youtube/v3/activities``, ``/xrpc/
app.bsky.feed.getAuthorFeed``, ``/api/v1/accounts/:id/statuses``, ``/bot<token>/getUpdates``,
``/v19.0/:page/posts``, ``/feeds/<name>.xml``, ``/2/tweets/search/stream``), so the real
clients run unchanged against ``http://127.0.0.1:<port>``. It paginates, honours ``since_id``/
``min_id``/``publishedAfter``, answers conditional GETs with 304, and can be told to fail:
:meth:`FakePlatforms.inject` queues 429s (with reset headers) or 5xx for a path prefix.

Run it alone with ``python -m local.fake_platforms --port 8765``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import hashlib
import json
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from chalicelib import settings as cfg
from chalicelib.adapters.platforms.http import HttpTransport
from chalicelib.adapters.platforms.registry import build_clients, credentials_from
from chalicelib.adapters.websocket import accept_key
from chalicelib.domain.org import Account, Leader
from chalicelib.domain.platforms import platform
from chalicelib.services.polling import PlatformClient, WatchedAccount

EVENTS = Path(__file__).resolve().parent.parent / "tests" / "events"
X_RULES_PATH = "/2/tweets/search/stream/rules"
X_TOKEN = "fake-x-bearer"  # noqa: S105 (a fake credential for the fake server)
YOUTUBE_KEY = "fake-youtube-key"
TELEGRAM_TOKEN = "123:fake"  # noqa: S105
FACEBOOK_TOKEN = "fake-fb-token"  # noqa: S105
FEED_LAST_MODIFIED = "Mon, 31 Mar 2025 10:00:00 GMT"
# The environment that gives the local stack's pollers the fake credentials.
FAKE_ENV: Mapping[str, str] = {
    cfg.ENV_X_BEARER_TOKEN: X_TOKEN,
    cfg.ENV_YOUTUBE_API_KEY: YOUTUBE_KEY,
}


@dataclass
class Fault:
    """One canned answer for the next request whose path starts with ``prefix``."""

    prefix: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"title": "injected fault"}'


@dataclass
class Feed:
    """A feed's current body and validators."""

    body: bytes
    last_modified: str = FEED_LAST_MODIFIED

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@dataclass
class Dataset:
    """What the fake platforms currently hold; tests mutate it between polls."""

    x_posts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    x_users: dict[str, dict[str, Any]] = field(default_factory=dict)
    x_stream: bytes = b""
    # The filtered stream's posts, each ``{"at": <fake clock seconds>, "tweet": {...v2 post}}``
    # in time order; tests append "live" ones. A connection sends those at or after its start
    # (its connect time, less ``backfill_minutes``) whose author a rule names.
    x_stream_posts: list[dict[str, Any]] = field(default_factory=list)
    youtube_activities: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    youtube_videos: dict[str, dict[str, Any]] = field(default_factory=dict)
    youtube_comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    youtube_playlists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    bluesky_feeds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    mastodon_statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    telegram_updates: list[dict[str, Any]] = field(default_factory=list)
    facebook_posts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    feeds: dict[str, Feed] = field(default_factory=dict)
    # Jetstream events in the recorded shape, in time_us order; tests append "live" ones.
    jetstream_events: list[dict[str, Any]] = field(default_factory=list)


def _load(platform: str, name: str) -> Any:
    return json.loads((EVENTS / platform / name).read_bytes())


def recorded_dataset() -> Dataset:
    """The recorded payloads of ``tests/events`` arranged per account."""
    data = Dataset()
    timeline = _load("x", "user_timeline.json")
    for user in timeline["includes"]["users"]:
        data.x_users[user["id"]] = user
    for tweet in timeline["data"]:
        data.x_posts.setdefault(tweet["author_id"], []).append(tweet)
    lookup = _load("x", "tweet_lookup_withheld_IN.json")
    for user in lookup["includes"]["users"]:
        data.x_users[user["id"]] = user
    for tweet in lookup["data"]:
        data.x_posts.setdefault(tweet["author_id"], []).append(tweet)
    data.x_stream = (EVENTS / "x" / "filtered_stream_truncated.jsonl").read_bytes()
    for item in _load("youtube", "activities_list.json")["items"]:
        data.youtube_activities.setdefault(item["snippet"]["channelId"], []).append(item)
    data.youtube_playlists = uploads_playlists(data.youtube_activities)
    for item in _load("youtube", "videos_list.json")["items"]:
        data.youtube_videos[item["id"]] = item
    for item in _load("youtube", "commentThreads_list.json")["items"]:
        data.youtube_comments.setdefault(item["snippet"]["videoId"], []).append(item)
    for item in _load("bluesky", "getAuthorFeed_constructed.json")["feed"]:
        actor = (item.get("reason") or {}).get("by", item["post"]["author"])
        data.bluesky_feeds.setdefault(actor["did"], []).append(item)
    for status in _load("mastodon", "account_statuses_constructed.json"):
        data.mastodon_statuses.setdefault(status["account"]["id"], []).append(status)
    for name in (
        "bot_getUpdates_channel_post_2018_author_signature.json",
        "bot_getUpdates_channel_post_2023.json",
        "bot_getUpdates_supergroup_message_2023.json",
    ):
        data.telegram_updates.extend(_load("telegram", name)["result"])
    for post in _load("facebook", "page_posts_fields.json")["data"]:
        data.facebook_posts.setdefault(post["id"].split("_")[0], []).append(post)
    data.feeds["toi"] = Feed((EVENTS / "rss" / "timesofindia_topstories.xml").read_bytes())
    data.jetstream_events = jetstream_dataset(data.bluesky_feeds)
    return data


def uploads_playlists(
    activities: Mapping[str, list[dict[str, Any]]],
) -> dict[str, list[dict[str, Any]]]:
    """Each channel's uploads playlist (``UU…``): its recorded upload activities in the shape
    of ``playlistItems.list`` items, plus the recorded playlist items of that channel; newest
    first, as YouTube lists uploads."""
    recorded = _load("youtube", "playlistItems_list.json")["items"]
    out: dict[str, list[dict[str, Any]]] = {}
    for channel, items in activities.items():
        playlist = "UU" + channel[2:]
        entries = [copy.deepcopy(i) for i in recorded if i["snippet"]["channelId"] == channel]
        for n, act in enumerate(i for i in items if i["snippet"]["type"] == "upload"):
            snippet = {k: v for k, v in act["snippet"].items() if k != "type"}
            video_id = snippet["thumbnails"]["default"]["url"].split("/vi/")[1].split("/")[0]
            snippet.update(
                playlistId=playlist,
                position=n,
                resourceId={"kind": "youtube#video", "videoId": video_id},
                videoOwnerChannelId=channel,
                videoOwnerChannelTitle=snippet.get("channelTitle", ""),
            )
            entries.append(
                {
                    "kind": "youtube#playlistItem",
                    "id": f"{playlist}.{video_id}",
                    "snippet": snippet,
                    "contentDetails": {
                        "videoId": video_id,
                        "videoPublishedAt": snippet["publishedAt"],
                    },
                }
            )
        out[playlist] = sorted(entries, key=lambda e: e["snippet"]["publishedAt"], reverse=True)
    return out


def jetstream_dataset(
    feeds: Mapping[str, list[dict[str, Any]]], now: float | None = None
) -> list[dict[str, Any]]:
    """The recorded Jetstream events (other accounts, other collections), then a post commit for
    each post of the fake AppView's feeds, so one post reaches us by poll and by stream under
    one key (its AT URI). Commits take the recorded commit's shape; they are stamped just
    before ``now`` (a consumer's first run looks back a minute), in indexedAt order, and the
    last two share a microsecond, as Jetstream allows."""
    recorded = [
        json.loads(line)
        for line in (EVENTS / "bluesky" / "jetstream_events.jsonl").read_text().splitlines()
        if line.strip()
    ]
    shape = _load("bluesky", "jetstream_post_commit.json")
    posts = sorted(
        (
            (item["post"]["indexedAt"], did, item["post"])
            for did, items in feeds.items()
            for item in items
            # A repost shows on Jetstream as a repost record, not as the post.
            if not item.get("reason") and item["post"]["uri"].startswith(f"at://{did}/")
        ),
        key=lambda t: t[0],
    )
    base_us = int((time.time() if now is None else now) * 1_000_000) - 1000 * (len(posts) + 1)
    made = []
    for i, (_, did, post) in enumerate(posts):
        event = copy.deepcopy(shape)
        event["did"] = did
        event["time_us"] = base_us + 1000 * min(i, len(posts) - 2 if len(posts) > 1 else i)
        event["commit"]["rkey"] = post["uri"].rsplit("/", 1)[1]
        event["commit"]["record"] = copy.deepcopy(post["record"])
        event["commit"]["cid"] = post.get("cid", event["commit"]["cid"])
        made.append(event)
    return sorted(recorded, key=lambda e: int(e["time_us"])) + made


Reply = tuple[int, dict[str, str], bytes]


def _json(doc: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
    out = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    return status, out, json.dumps(doc, ensure_ascii=False).encode()


def _int_id(value: str) -> int:
    return int(value) if value.isdigit() else -1


class FakePlatforms:
    """The server: start it, point clients at :attr:`url`, stop it (or use ``with``)."""

    def __init__(
        self,
        dataset: Dataset | None = None,
        port: int = 0,
        clock: Callable[[], float] = time.time,
        x_rate_limit: int = 1500,
        x_rule_length: int = 1024,
        x_keepalive: float = 0.2,
    ) -> None:
        self.data = dataset if dataset is not None else recorded_dataset()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        # (path, client port) per request: one port for many requests is one reused connection.
        self.client_ports: list[tuple[str, int]] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._clock = clock
        self._x_rate_limit = x_rate_limit
        self._x_remaining = x_rate_limit
        self.jetstream_connections: list[dict[str, Any]] = []
        # X's filtered stream: its rules (id, value, tag), what each connection asked, cuts.
        self.x_rules: list[dict[str, str]] = []
        self.x_stream_connections: list[dict[str, Any]] = []
        self.x_stream_drops: list[int] = []
        self._x_rule_length = x_rule_length
        self._x_keepalive = x_keepalive  # X sends one every 20 s; tests want them sooner
        self._x_next_rule = 1_585_000_000_000_000_000
        self.jetstream_drops: list[int] = []
        # Form fields of each WebSub (un)subscription request the fake hub accepted.
        self.websub_requests: list[dict[str, str]] = []
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakePlatforms:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakePlatforms:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def inject(self, prefix: str, status: int, times: int = 1, **headers: str) -> None:
        """Answer the next ``times`` requests under ``prefix`` with ``status`` (and headers)."""
        hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
        with self._lock:
            self._faults.extend(Fault(prefix, status, dict(hdrs)) for _ in range(times))

    def paths(self, prefix: str = "") -> list[str]:
        """Paths (with query) requested so far, optionally under ``prefix``."""
        with self._lock:
            return [p for _, p, _ in self.requests if p.startswith(prefix)]

    # --- dispatch ------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                fake._serve(self)

            def do_POST(self) -> None:
                fake._serve_post(self)

            def log_message(self, format: str, *args: Any) -> None:
                return None  # quiet: tests assert on fake.requests instead

        return Handler

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if path.startswith(fault.prefix):
                    return self._faults.pop(i)
        return None

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            self.requests.append(("GET", handler.path, headers))
            self.client_ports.append((handler.path, int(handler.client_address[1])))
        parts = urllib.parse.urlsplit(handler.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query).items()}
        fault = self._take_fault(parts.path)
        if fault is not None:
            reply: Reply = (
                fault.status,
                {"Content-Type": "application/json", **fault.headers},
                fault.body,
            )
        elif parts.path == "/2/tweets/search/stream" and not self.x_rules:
            self._stream(handler)  # no rules: the recorded capture, for ``read_stream``
            return
        elif parts.path == "/2/tweets/search/stream":
            self._x_live(handler, query, headers)
            return
        elif parts.path == "/subscribe" and headers.get("upgrade", "").lower() == "websocket":
            self._jetstream(handler, urllib.parse.parse_qs(parts.query), headers)
            return
        else:
            try:
                reply = self._route(parts.path, query, headers)
            except KeyError as err:
                reply = _json({"title": "Not Found", "detail": str(err)}, 404)
        status, reply_headers, body = reply
        handler.send_response(status)
        for name, value in reply_headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if status != 304:
            handler.wfile.write(body)

    def _route(self, path: str, q: Mapping[str, str], headers: Mapping[str, str]) -> Reply:
        segs = [s for s in path.split("/") if s]
        if len(segs) == 4 and segs[:2] == ["2", "users"] and segs[3] == "tweets":
            return self._x_timeline(segs[2], q, headers)
        if path == X_RULES_PATH:
            return self._x_rules_get(headers)
        # Where an API lives under the server's root is its descriptor's ``local_path``.
        youtube = platform("youtube").local_path + "/"
        if path.startswith(youtube) and "/" not in path[len(youtube) :]:
            return self._youtube(path[len(youtube) :], q)
        if segs == ["xrpc", "app.bsky.feed.getAuthorFeed"]:
            return self._bluesky(q)
        if len(segs) == 5 and segs[:3] == ["api", "v1", "accounts"] and segs[4] == "statuses":
            return self._mastodon(segs[3], q)
        if len(segs) == 2 and segs[0].startswith("bot") and segs[1] == "getUpdates":
            return self._telegram(segs[0][3:], q)
        graph = [s for s in platform("facebook").local_path.split("/") if s]
        if len(segs) == 3 and segs[:1] == graph and segs[2] == "posts":
            return self._facebook(segs[1], q)
        if len(segs) == 2 and segs[0] == "feeds" and segs[1].endswith(".xml"):
            return self._feed(segs[1][:-4], headers)
        raise KeyError(path)

    # --- X -------------------------------------------------------------------------------

    def _x_timeline(self, user_id: str, q: Mapping[str, str], headers: Mapping[str, str]) -> Reply:
        if headers.get("authorization") != f"Bearer {X_TOKEN}":
            return _json({"title": "Unauthorized", "status": 401}, 401)
        reset = str(int(self._clock()) + 900)
        with self._lock:
            self._x_remaining = max(0, self._x_remaining - 1)
            remaining = self._x_remaining
        rate = {
            "x-rate-limit-limit": str(self._x_rate_limit),
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": reset,
        }
        if remaining == 0:
            return _json({"title": "Too Many Requests", "status": 429}, 429, rate)
        posts = sorted(self.data.x_posts.get(user_id, []), key=lambda t: -_int_id(t["id"]))
        since = _int_id(q.get("since_id", "")) if q.get("since_id") else None
        if since is not None:
            posts = [t for t in posts if _int_id(t["id"]) > since]
        size = max(5, min(100, int(q.get("max_results", "10"))))
        start = int(q["pagination_token"][1:]) if q.get("pagination_token") else 0
        page = posts[start : start + size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"] = page[0]["id"]
            meta["oldest_id"] = page[-1]["id"]
        if start + size < len(posts):
            meta["next_token"] = f"p{start + size}"
        doc: dict[str, Any] = {"meta": meta}
        if page:
            doc["data"] = copy.deepcopy(page)
            authors = {t["author_id"] for t in page}
            doc["includes"] = {
                "users": [self.data.x_users[a] for a in authors if a in self.data.x_users]
            }
        return _json(doc, 200, rate)

    def _stream(self, handler: BaseHTTPRequestHandler) -> None:
        # Lines separated by keep-alive \r\n, then the connection drops mid-message.
        body = self.data.x_stream.replace(b"\n", b"\r\n\r\n")
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    # --- X filtered stream: rules and the live stream ----------------------------------

    def drop_x_stream_after(self, *counts: int) -> None:
        """Cut the next stream connections (one count each) that many posts in, mid-message."""
        with self._lock:
            self.x_stream_drops.extend(counts)

    def _x_sent(self) -> str:
        return datetime.fromtimestamp(self._clock(), tz=UTC).isoformat(timespec="milliseconds")

    def _x_rules_get(self, headers: Mapping[str, str]) -> Reply:
        if headers.get("authorization") != f"Bearer {X_TOKEN}":
            return _json({"title": "Unauthorized", "status": 401}, 401)
        with self._lock:
            rules = [dict(r) for r in self.x_rules]
        doc: dict[str, Any] = {"meta": {"sent": self._x_sent(), "result_count": len(rules)}}
        if rules:
            doc["data"] = rules
        return _json(doc)

    def _x_rules_post(self, body: bytes, headers: Mapping[str, str]) -> Reply:
        # X's shapes: {"add": [{"value", "tag"}]} answers 201 with the created rules and a
        # summary; {"delete": {"ids": [...]}} answers 200 with a summary; per-rule problems
        # come in "errors" (DuplicateRule, or an invalid rule such as one too long).
        if headers.get("authorization") != f"Bearer {X_TOKEN}":
            return _json({"title": "Unauthorized", "status": 401}, 401)
        try:
            doc = json.loads(body)
        except ValueError:
            return _json({"title": "Invalid Request", "detail": "body is not JSON"}, 400)
        errors: list[dict[str, Any]] = []
        sent = self._x_sent()
        if isinstance(doc.get("add"), list):
            created: list[dict[str, str]] = []
            with self._lock:
                for rule in doc["add"]:
                    value, tag = str(rule.get("value", "")), str(rule.get("tag", ""))
                    same = next((r for r in self.x_rules if r["value"] == value), None)
                    if same is not None:
                        errors.append(
                            {
                                "value": value,
                                "id": same["id"],
                                "title": "DuplicateRule",
                                "type": "https://api.twitter.com/2/problems/duplicate-rules",
                            }
                        )
                    elif not value or len(value) > self._x_rule_length:
                        errors.append(
                            {
                                "value": value,
                                "details": [
                                    f"Rules must be 1 to {self._x_rule_length} characters long"
                                ],
                                "title": "Invalid Rule",
                                "type": "https://api.twitter.com/2/problems/invalid-rules",
                            }
                        )
                    else:
                        self._x_next_rule += 1
                        new = {"id": str(self._x_next_rule), "value": value, "tag": tag}
                        self.x_rules.append(new)
                        created.append(dict(new))
            summary = {
                "created": len(created),
                "not_created": len(doc["add"]) - len(created),
                "valid": len(doc["add"]) - sum(e["title"] != "DuplicateRule" for e in errors),
                "invalid": sum(e["title"] != "DuplicateRule" for e in errors),
            }
            out: dict[str, Any] = {"meta": {"sent": sent, "summary": summary}}
            if created:
                out["data"] = created
            if errors:
                out["errors"] = errors
            return _json(out, 201)
        if isinstance(doc.get("delete"), dict):
            ids = [str(i) for i in doc["delete"].get("ids", [])]
            with self._lock:
                known = {r["id"] for r in self.x_rules}
                self.x_rules = [r for r in self.x_rules if r["id"] not in ids]
            missing = [i for i in ids if i not in known]
            errors = [
                {
                    "value": i,
                    "detail": "Rule does not exist",
                    "title": "Invalid Request",
                    "type": "https://api.twitter.com/2/problems/invalid-request",
                }
                for i in missing
            ]
            summary = {"deleted": len(ids) - len(missing), "not_deleted": len(missing)}
            out = {"meta": {"sent": sent, "summary": summary}}
            if errors:
                out["errors"] = errors
            return _json(out)
        return _json({"title": "Invalid Request", "detail": "one of add or delete"}, 400)

    def _x_live(
        self, handler: BaseHTTPRequestHandler, q: Mapping[str, str], headers: Mapping[str, str]
    ) -> None:
        if headers.get("authorization") != f"Bearer {X_TOKEN}":
            _reply(handler, _json({"title": "Unauthorized", "status": 401}, 401))
            return
        raw = q.get("backfill_minutes", "0") or "0"
        if not raw.isdigit() or int(raw) > 5:
            problem = {"title": "Invalid Request", "detail": "backfill_minutes: 1 to 5"}
            _reply(handler, _json(problem, 400))
            return
        backfill = int(raw)
        now = self._clock()
        start = now - 60 * backfill
        with self._lock:
            self.x_stream_connections.append({**q, "backfill_minutes": backfill, "at": now})
            drop = self.x_stream_drops.pop(0) if self.x_stream_drops else None
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        handler.close_connection = True
        position = sent = 0
        keepalive_at = time.monotonic() + self._x_keepalive
        try:
            while not self._stopping.is_set():
                with self._lock:
                    pending = self.data.x_stream_posts[position:]
                    rules = [dict(r) for r in self.x_rules]
                for item in pending:
                    position += 1
                    if float(item["at"]) < start:
                        continue  # before this connection (and its backfill): the gap
                    message = self._x_message(item["tweet"], rules)
                    if message is None:
                        continue
                    if drop is not None and sent >= drop:
                        _chunk(handler, message[: len(message) // 2])
                        handler.connection.settimeout(0.05)
                        _drop(handler.connection)
                        return
                    _chunk(handler, message)
                    sent += 1
                if time.monotonic() >= keepalive_at:
                    _chunk(handler, b"\r\n")
                    keepalive_at = time.monotonic() + self._x_keepalive
                time.sleep(0.02)
        except OSError:
            return  # the client hung up

    def _x_message(self, tweet: Mapping[str, Any], rules: list[dict[str, str]]) -> bytes | None:
        author = str(tweet.get("author_id", ""))
        user = self.data.x_users.get(author, {})
        names = {f"from:{author}", f"from:{user.get('username', '')}".lower()}
        matched = [
            {"id": r["id"], "tag": r["tag"]}
            for r in rules
            if any(c.lower() in names for c in r["value"].split(" OR "))
        ]
        if not matched:
            return None
        doc: dict[str, Any] = {"data": tweet, "matching_rules": matched}
        if user:
            doc["includes"] = {"users": [user]}
        return json.dumps(doc, ensure_ascii=False).encode() + b"\r\n"

    # --- the WebSub hub (POST /subscribe, as pubsubhubbub.appspot.com) -------------------

    def _serve_post(self, handler: BaseHTTPRequestHandler) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        length = int(headers.get("content-length", "0") or 0)
        body = handler.rfile.read(length) if length else b""
        with self._lock:
            self.requests.append(("POST", handler.path, headers))
        path = urllib.parse.urlsplit(handler.path).path
        fault = self._take_fault(path)
        if fault is None and path == X_RULES_PATH:
            code, out_headers, doc = self._x_rules_post(body, headers)
            handler.send_response(code)
            for name, value in out_headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(doc)))
            handler.end_headers()
            handler.wfile.write(doc)
            return
        if fault is not None:
            status, reply = fault.status, fault.body
        elif path == "/subscribe":
            status, reply = self._hub(body, headers)
        else:
            status, reply = 404, b"not found"
        handler.send_response(status)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", str(len(reply)))
        handler.end_headers()
        handler.wfile.write(reply)

    def _hub(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        if "application/x-www-form-urlencoded" not in headers.get("content-type", ""):
            return 400, b"Invalid request: expected a form"
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        missing = [f for f in ("hub.callback", "hub.topic", "hub.mode") if not form.get(f)]
        if missing or form["hub.mode"] not in ("subscribe", "unsubscribe"):
            return 400, f"Invalid request: {', '.join(missing) or 'hub.mode'}".encode()
        with self._lock:
            self.websub_requests.append(form)
        return 202, b""  # verification of intent would follow, asynchronously

    # --- Bluesky Jetstream (WebSocket) ---------------------------------------------------

    def drop_jetstream_after(self, *counts: int) -> None:
        """Cut the next connections (one count each) after that many messages, mid-stream."""
        with self._lock:
            self.jetstream_drops.extend(counts)

    def _jetstream(
        self,
        handler: BaseHTTPRequestHandler,
        q: Mapping[str, list[str]],
        headers: Mapping[str, str],
    ) -> None:
        # Jetstream: GET /subscribe?wantedCollections=..&wantedDids=..&cursor=<time_us>;
        # each message is one JSON event (text frame); playback from the cursor, inclusive.
        key = headers.get("sec-websocket-key", "")
        handler.send_response(101, "Switching Protocols")
        handler.send_header("Upgrade", "websocket")
        handler.send_header("Connection", "Upgrade")
        handler.send_header("Sec-WebSocket-Accept", accept_key(key))
        handler.end_headers()
        handler.wfile.flush()
        handler.close_connection = True
        dids = set(q.get("wantedDids", []))
        collections = q.get("wantedCollections", [])
        cursor = int(q["cursor"][-1]) if q.get("cursor", [""])[-1].isdigit() else None
        with self._lock:
            self.jetstream_connections.append({"dids": sorted(dids), "cursor": cursor})
            drop = self.jetstream_drops.pop(0) if self.jetstream_drops else None
        sock = handler.connection
        sock.settimeout(0.05)
        _ws_send(handler, 0x9, b"keepalive")  # a ping first: the client must answer
        sent, position = 0, 0
        last = cursor if cursor is not None else int(self._clock() * 1_000_000)
        while not self._stopping.is_set():
            with self._lock:
                pending = self.data.jetstream_events[position:]
            for event in pending:
                position += 1
                at = int(event["time_us"])
                if at < last:
                    continue
                if dids and event["did"] not in dids:
                    continue
                coll = (event.get("commit") or {}).get("collection")
                if collections and event["kind"] == "commit" and coll not in collections:
                    continue
                if drop is not None and sent >= drop:
                    _drop(sock)
                    return
                _ws_send(handler, 0x1, json.dumps(event, ensure_ascii=False).encode())
                sent += 1
            try:
                data = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data or data[0] & 0x0F == 0x8:
                return  # the client closed

    # --- YouTube -------------------------------------------------------------------------

    def _youtube(self, resource: str, q: Mapping[str, str]) -> Reply:
        if q.get("key") != YOUTUBE_KEY:
            return _json({"error": {"code": 400, "message": "API key not valid"}}, 400)
        if resource == "activities":
            items = self.data.youtube_activities.get(q.get("channelId", ""), [])
            after = q.get("publishedAfter")
            if after:
                items = [i for i in items if i["snippet"]["publishedAt"] >= after]
            items = sorted(items, key=lambda i: i["snippet"]["publishedAt"], reverse=True)
            return self._youtube_page("youtube#activityListResponse", items, q)
        if resource == "videos":
            ids = [v for v in q.get("id", "").split(",") if v]
            found = [self.data.youtube_videos[v] for v in ids if v in self.data.youtube_videos]
            return self._youtube_page("youtube#videoListResponse", found, q)
        if resource == "playlistItems":
            playlist = self.data.youtube_playlists.get(q.get("playlistId", ""))
            if playlist is None:
                message = "The playlist identified with the request's playlistId cannot be found."
                return _json({"error": {"code": 404, "message": message}}, 404)
            return self._youtube_page("youtube#playlistItemListResponse", playlist, q)
        if resource == "commentThreads":
            items = self.data.youtube_comments.get(q.get("videoId", ""), [])
            return self._youtube_page("youtube#commentThreadListResponse", items, q)
        raise KeyError(resource)

    def _youtube_page(self, kind: str, items: list[dict[str, Any]], q: Mapping[str, str]) -> Reply:
        size = max(1, min(50, int(q.get("maxResults", "5"))))
        start = int(q["pageToken"][1:]) if q.get("pageToken") else 0
        doc: dict[str, Any] = {
            "kind": kind,
            "pageInfo": {"totalResults": len(items), "resultsPerPage": size},
            "items": items[start : start + size],
        }
        if start + size < len(items):
            doc["nextPageToken"] = f"p{start + size}"
        return _json(doc)

    # --- Bluesky, Mastodon, Telegram, Facebook ------------------------------------------

    def _bluesky(self, q: Mapping[str, str]) -> Reply:
        actor = q.get("actor", "")
        items = self.data.bluesky_feeds.get(actor)
        if items is None:
            return _json({"error": "InvalidRequest", "message": "Profile not found"}, 400)
        items = sorted(items, key=lambda i: i["post"]["indexedAt"], reverse=True)
        size = max(1, min(100, int(q.get("limit", "50"))))
        start = int(q["cursor"]) if q.get("cursor", "").isdigit() else 0
        doc: dict[str, Any] = {"feed": items[start : start + size]}
        if start + size < len(items):
            doc["cursor"] = str(start + size)
        return _json(doc, 200, {"ratelimit-limit": "3000", "ratelimit-policy": "3000;w=300"})

    def _mastodon(self, account_id: str, q: Mapping[str, str]) -> Reply:
        statuses = sorted(
            self.data.mastodon_statuses.get(account_id, []), key=lambda s: _int_id(s["id"])
        )
        limit = max(1, min(40, int(q.get("limit", "20"))))
        if q.get("min_id"):
            newer = [s for s in statuses if _int_id(s["id"]) > _int_id(q["min_id"])]
            page = newer[:limit]  # the ones just after min_id
        else:
            page = statuses[-limit:]
        page = list(reversed(page))  # newest first, as Mastodon returns them
        reset = datetime.fromtimestamp(self._clock() + 300, tz=UTC).isoformat()
        return _json(page, 200, {"x-ratelimit-limit": "300", "x-ratelimit-reset": reset})

    def _telegram(self, token: str, q: Mapping[str, str]) -> Reply:
        if token != TELEGRAM_TOKEN:
            return _json({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
        offset = int(q.get("offset", "0") or 0)
        result = [u for u in self.data.telegram_updates if u["update_id"] >= offset]
        return _json({"ok": True, "result": result})

    def _facebook(self, page_id: str, q: Mapping[str, str]) -> Reply:
        if q.get("access_token") != FACEBOOK_TOKEN:
            return _json({"error": {"message": "Invalid OAuth access token.", "code": 190}}, 400)
        posts = self.data.facebook_posts.get(page_id, [])
        if q.get("since"):
            since = int(q["since"])
            posts = [p for p in posts if parsedate_to_datetime_iso(p["created_time"]) >= since]
        return _json({"data": posts, "paging": {}})

    # --- feeds ---------------------------------------------------------------------------

    def _feed(self, name: str, headers: Mapping[str, str]) -> Reply:
        feed = self.data.feeds[name]
        validators = {"ETag": feed.etag, "Last-Modified": feed.last_modified}
        if headers.get("if-none-match") == feed.etag:
            return 304, validators, b""
        since = headers.get("if-modified-since")
        if since and "if-none-match" not in headers:
            try:
                if parsedate_to_datetime(since) >= parsedate_to_datetime(feed.last_modified):
                    return 304, validators, b""
            except (TypeError, ValueError):
                pass
        return 200, {"Content-Type": "application/rss+xml; charset=utf-8", **validators}, feed.body


def _drop(sock: Any) -> None:
    """End a connection with no close frame, after what was sent (a network drop).

    Unread input (the client's pong) is drained first: closing over it would send a reset,
    and a reset may discard frames the client has not read yet, making tests depend on timing.
    """
    try:
        while sock.recv(4096):
            pass
    except OSError:
        pass
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)


def _chunk(handler: BaseHTTPRequestHandler, data: bytes) -> None:
    """One piece of a chunked body (HTTP/1.1), sent at once."""
    handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    handler.wfile.flush()


def _reply(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    status, headers, body = reply
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _ws_send(handler: BaseHTTPRequestHandler, opcode: int, payload: bytes) -> None:
    # Server frames are unmasked (RFC 6455 section 5.1).
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 126]) + struct.pack("!H", n)
    else:
        head = bytes([0x80 | opcode, 127]) + struct.pack("!Q", n)
    handler.wfile.write(head + payload)
    handler.wfile.flush()


def parsedate_to_datetime_iso(value: str) -> int:
    """Unix seconds of a Graph API time (``2021-07-04T19:50:58+0000``)."""
    return int(datetime.fromisoformat(value).timestamp())


def demo_accounts() -> list[WatchedAccount]:
    """The accounts of the recorded dataset, one or more per platform, for ``make run``."""
    return [
        WatchedAccount("x", "2351222345", 60),
        WatchedAccount("x", "1175047638", 60),
        WatchedAccount("youtube", "UC_x5XG1OV2P6uZZ5FSM9Ttw", 300),
        WatchedAccount("rss", "/feeds/toi.xml", 120),
        WatchedAccount("bluesky", "did:plc:tvaritleader0000000000a", 60),
        WatchedAccount("mastodon", "1", 60),
        WatchedAccount("mastodon", "464472", 60),
    ]


# The fake credentials per secret name, as the registry asks for them.
FAKE_SECRETS: Mapping[str, str] = {
    "x_bearer_token": X_TOKEN,
    "youtube_api_key": YOUTUBE_KEY,
    "telegram_bot_token": TELEGRAM_TOKEN,
    "facebook_access_token": FACEBOOK_TOKEN,
}


def demo_clients(
    base_url: str, transport: HttpTransport, clock: Callable[[], float] = time.time
) -> dict[str, PlatformClient]:
    """The real platform clients, built by the registry from the descriptors, at this server."""
    return build_clients(
        credentials_from(FAKE_SECRETS),
        transport,
        clock,
        flag=lambda _: True,
        local_base=base_url,
    )


# Real X user ids of the demo leaders (public), so the fake timeline paths look like X's.
DEMO_X_USER_IDS: Mapping[str, str] = {"narendramodi": "18839785", "ArvindKejriwal": "405427035"}
# Recorded accounts of the fake dataset, given to a demo leader so every platform is polled.
EXTRA_ACCOUNTS: Sequence[Account] = (
    Account("youtube", "Google Developers", "UC_x5XG1OV2P6uZZ5FSM9Ttw"),
    Account("bluesky", "leader.example.in", "did:plc:tvaritleader0000000000a"),
    Account("mastodon", "Gargron", "1"),
)


def demo_dataset(posts: Iterable[Mapping[str, Any]]) -> Dataset:
    """The recorded dataset plus the demo posts as X API v2 timelines of their authors."""
    data = recorded_dataset()
    for post in posts:
        handle = str(post["author"]["handle"])
        user_id = DEMO_X_USER_IDS.get(handle)
        if user_id is None or post.get("platform", "x") != "x":
            continue
        data.x_users.setdefault(
            user_id,
            {
                "id": user_id,
                "username": handle,
                "name": str(post["author"].get("name", handle)),
                "public_metrics": {"followers_count": 0},
            },
        )
        data.x_posts.setdefault(user_id, []).append(
            {
                "id": str(post["id"]),
                "text": str(post["text"]),
                "author_id": user_id,
                "created_at": str(post["created_at"]),
                "edit_history_tweet_ids": [str(post["id"])],
            }
        )
    return data


def stream_from_timelines(data: Dataset, at: float, newest: int = 5) -> None:
    """The ``newest`` X timeline posts of each account also on the filtered stream, at ``at``.

    The first poll reads these too: the stream shows one post coming by two paths.
    """
    for tweets in data.x_posts.values():
        for tweet in sorted(tweets, key=lambda t: _int_id(t["id"]))[-newest:]:
            data.x_stream_posts.append({"at": at, "tweet": copy.deepcopy(tweet)})


def pollable_leaders(leaders: Iterable[Leader], feed_url: str) -> list[Leader]:
    """The demo leaders with X user ids filled in; the first also gets the other platforms."""
    out: list[Leader] = []
    for i, leader in enumerate(leaders):
        accounts = [
            dataclasses.replace(a, platform_id=DEMO_X_USER_IDS.get(a.handle, a.platform_id))
            if a.platform == "x"
            else a
            for a in leader.accounts
        ]
        if i == 0:
            accounts += [*EXTRA_ACCOUNTS, Account("rss", feed_url)]
        out.append(dataclasses.replace(leader, accounts=tuple(accounts)))
    return out


def main(argv: list[str] | None = None) -> int:
    """Serve the recorded dataset until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    server = FakePlatforms(port=args.port).start()
    print(f"fake platforms on {server.url}", flush=True)  # a command-line tool
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
