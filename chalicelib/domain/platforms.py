"""One descriptor per platform: every fact about a source that more than its own adapter reads.

The registry (which clients to build, from which secrets), the schedule (default poll
intervals, which accounts need a platform id), the quota budget, ``tvarit parse``, the push
routes (and their OpenAPI entries), the URL check of completions and the fake platform server
all read :data:`PLATFORMS`. Code lives in the adapter module named by ``adapter``; it is only
named here (a dotted path), so this module stays pure and importing it imports no adapter.

A new source is: a row here, its adapter module (parser, ``make_client``, push handlers), and
its routes on the fake server (``local/fake_platforms.py``). ``tests/unit/test_platform_
descriptors.py`` counts the files that name each platform.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PushEndpoint:
    """One HTTP route a platform pushes to; documented in the OpenAPI document from these fields.

    ``handler`` is a function of the adapter module taking (PushRequest, PushContext) and
    returning a PushReply (``chalicelib/services/push.py``).
    """

    method: str
    path: str
    op_id: str
    summary: str
    handler: str
    ok: int = 200
    response: str = "Accepted"
    body: str = ""
    headers: tuple[str, ...] = ()
    query: tuple[str, ...] = ()
    errors: tuple[int, ...] = ()
    content_types: tuple[str, ...] = ("application/json",)
    response_media: str = "application/json"
    body_media: str = "application/json"
    strict_query: bool = True


@dataclass(frozen=True)
class Stream:
    """A streaming consumer run by a schedule for a bounded time (docs/platforms.md)."""

    name: str  # the scheduled function is ``consume-<name>``
    consumer: str  # a function of the adapter module: (StreamContext) -> StreamRun
    base_url: str  # production's stream root
    local_path: str = ""  # under the fake server's root (as ws://)
    every_minutes: int = 1
    # A WebSocket (Jetstream); False: a long-lived HTTP response (X's filtered stream).
    websocket: bool = True


@dataclass(frozen=True)
class Job:
    """A scheduled chore of a platform (renewing WebSub leases); the function is ``name``."""

    name: str  # the scheduled function (``renew-websub``); its handler is name with "_"
    function: str  # a function of the adapter module: (JobContext) -> dict of counts
    base_url: str  # the production endpoint it calls
    local_path: str = ""  # the same endpoint under the fake server's root
    every_minutes: int = 360


@dataclass(frozen=True)
class Platform:
    """What the rest of the system knows about one source."""

    name: str
    # Web hosts where a warrior's response can live (a host and its subdomains).
    hosts: tuple[str, ...] = ()
    # Default seconds between polls of one account; None: never polled.
    poll_interval: int | None = None
    # Documented quota: (units, window seconds); None: no budget kept.
    quota: tuple[int, float] | None = None
    # The API takes the account's platform id (user id, channel id); else the handle will do.
    needs_platform_id: bool = False
    # Secrets (Settings field names) the client needs; no client unless all are set.
    secrets: tuple[str, ...] = ()
    # A Settings flag that must also be on (an API behind an app review).
    enabled_by: str = ""
    # Production API base URL, a Settings field that overrides it, and the path of the API
    # under the fake server's root (the local stack points every client there).
    base_url: str = ""
    base_url_setting: str = ""
    local_path: str = ""
    adapter: str = ""  # dotted module path; "" for a source with no adapter (webhook)
    parser: str = ""  # function of the adapter: bytes -> list[Mention] (``tvarit parse``)
    stream_tail: str = ""  # function of the adapter: bytes -> a capture's cut-off last line
    pollable: bool = False  # the adapter has make_client(base_url, secrets, transport, clock)
    push: tuple[PushEndpoint, ...] = ()
    streams: tuple[Stream, ...] = ()
    jobs: tuple[Job, ...] = ()
    # What the poller's cursor holds, for docs and operators.
    cursor: tuple[str, ...] = field(default=())


_ADAPTERS = "chalicelib.adapters.platforms"
_WEBSUB_ERRORS = (400, 401, 413, 415, 503)

# In the order the HTTP API's enum has always listed them.
PLATFORMS: tuple[Platform, ...] = (
    Platform(
        "x",
        hosts=("x.com", "twitter.com"),
        poll_interval=360,
        # Billed per post read, 2M/month cap.
        quota=(2_000_000, 30 * 86400.0),
        needs_platform_id=True,
        secrets=("x_bearer_token",),
        base_url="https://api.x.com",
        adapter=f"{_ADAPTERS}.x",
        parser="parse_x",
        stream_tail="truncated_tail",
        pollable=True,
        # The filtered stream: only on plans that have it (TVARIT_X_PLAN, docs/platforms.md).
        streams=(
            Stream(
                "filtered-stream", "consume_filtered_stream", "https://api.x.com", websocket=False
            ),
        ),
        cursor=("since_id",),
    ),
    Platform(
        "youtube",
        hosts=("youtube.com", "youtu.be"),
        poll_interval=900,
        quota=(10_000, 86400.0),
        needs_platform_id=True,
        secrets=("youtube_api_key",),
        base_url="https://www.googleapis.com/youtube/v3",
        local_path="/youtube/v3",
        adapter=f"{_ADAPTERS}.youtube",
        parser="parse_youtube",
        pollable=True,
        push=(
            PushEndpoint(
                "GET",
                "/ingest/websub/youtube",
                "verifyYoutubeWebsub",
                "WebSub subscription verification: echoes hub.challenge for watched channels only",
                handler="websub_verification",
                response="Text",
                query=("hub.mode", "hub.topic", "hub.challenge", "hub.lease_seconds"),
                errors=(400, 401, 503),
                content_types=(),
                response_media="text/plain",
                strict_query=False,
            ),
            PushEndpoint(
                "POST",
                "/ingest/websub/youtube",
                "notifyYoutubeWebsub",
                "YouTube upload notification (Atom), HMAC-signed with the subscription's secret",
                handler="websub_notification",
                ok=202,
                body="Text",
                headers=("X-Hub-Signature",),
                errors=_WEBSUB_ERRORS,
                content_types=("application/atom+xml", "application/xml", "text/xml"),
                body_media="application/atom+xml",
            ),
        ),
        # WebSub leases last 5 days; a schedule renews them two days ahead.
        jobs=(
            Job(
                "renew-websub",
                "renew_websub_leases",
                "https://pubsubhubbub.appspot.com/subscribe",
                local_path="/subscribe",
            ),
        ),
        cursor=("published_after", "playlist_after"),
    ),
    Platform(
        "facebook",
        hosts=("facebook.com", "fb.com", "fb.watch"),
        poll_interval=900,
        needs_platform_id=True,
        secrets=("facebook_access_token",),
        enabled_by="facebook_enabled",
        base_url="https://graph.facebook.com/v19.0",
        local_path="/v19.0",
        adapter=f"{_ADAPTERS}.facebook",
        parser="parse_facebook",
        pollable=True,
        cursor=("since",),
    ),
    Platform(
        "telegram",
        hosts=("t.me", "telegram.me"),
        secrets=("telegram_bot_token",),
        base_url="https://api.telegram.org",
        adapter=f"{_ADAPTERS}.telegram",
        parser="parse_telegram",
        pollable=True,
        push=(
            PushEndpoint(
                "POST",
                "/ingest/telegram",
                "ingestTelegram",
                "Telegram bot updates of channels the bot administers (secret token header)",
                handler="bot_update",
                body="Object",
                headers=("X-Telegram-Bot-Api-Secret-Token",),
                errors=(400, 401, 413, 415, 503),
            ),
        ),
        cursor=("offset",),
    ),
    Platform(
        "bluesky",
        hosts=("bsky.app",),
        poll_interval=120,
        # 3,000 requests per 5 minutes per IP.
        quota=(3_000, 300.0),
        base_url="https://public.api.bsky.app",
        adapter=f"{_ADAPTERS}.bluesky",
        parser="parse_bluesky",
        pollable=True,
        streams=(
            Stream("jetstream", "consume_jetstream", "wss://jetstream2.us-east.bsky.network"),
        ),
        cursor=("newest",),
    ),
    Platform(
        "mastodon",
        # Federated: its big instances.
        hosts=("mastodon.social", "mastodon.online", "mstdn.social"),
        poll_interval=600,
        quota=(300, 300.0),
        needs_platform_id=True,
        base_url="https://mastodon.social",
        base_url_setting="mastodon_url",
        adapter=f"{_ADAPTERS}.mastodon",
        parser="parse_mastodon",
        pollable=True,
        cursor=("min_id",),
    ),
    Platform(
        "rss",
        poll_interval=300,
        adapter=f"{_ADAPTERS}.rss",
        parser="parse_rss",
        pollable=True,
        cursor=("etag", "last_modified"),
    ),
    # Signed posts from a listening tool (POST /ingest/webhook): a source, not an adapter.
    Platform("webhook"),
)

BY_NAME: Mapping[str, Platform] = {p.name: p for p in PLATFORMS}
NAMES: tuple[str, ...] = tuple(p.name for p in PLATFORMS)


def platform(name: str) -> Platform:
    """The descriptor of ``name``; KeyError for an unknown source."""
    return BY_NAME[name]


def poll_intervals() -> dict[str, int]:
    """Default poll interval per polled platform."""
    return {p.name: p.poll_interval for p in PLATFORMS if p.poll_interval is not None}


def quotas() -> dict[str, tuple[int, float]]:
    """Documented quota per platform that has one."""
    return {p.name: p.quota for p in PLATFORMS if p.quota is not None}


def web_hosts() -> dict[str, tuple[str, ...]]:
    """Hosts per platform where a response can live."""
    return {p.name: p.hosts for p in PLATFORMS if p.hosts}


def stream_keys() -> list[str]:
    """Where each stream's cursor is saved: ``<platform>#<stream>`` (with the poll states)."""
    return [f"{p.name}#{st.name}" for p in PLATFORMS for st in p.streams]


def push_endpoints() -> list[tuple[Platform, PushEndpoint]]:
    """Every push route with its platform, in descriptor order."""
    return [(p, e) for p in PLATFORMS for e in p.push]
