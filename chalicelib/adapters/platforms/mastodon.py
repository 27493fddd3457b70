"""Mastodon: Status entities (account statuses, streaming ``update`` events), HTML stripped.

Status ids are local to the instance that served them, so the native id is the status
``uri`` (its global ActivityPub id); the local ``id`` is only the polling cursor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from chalicelib.adapters.platforms._common import (
    Json,
    as_count,
    as_dict,
    as_list,
    counts,
    decode_text,
    fail,
    find_hashtags,
    html_to_text_and_links,
    load_json,
    opt_dict,
    opt_list,
    opt_str,
    req,
    req_id,
    req_str,
    req_time,
)
from chalicelib.adapters.platforms.http import HttpTransport, check_status, with_query
from chalicelib.domain.mention import Author, Mention, Reference
from chalicelib.services.polling import FetchResult

PLATFORM = "mastodon"
_METRICS = {
    "favourites_count": "likes",
    "reblogs_count": "reposts",
    "replies_count": "replies",
    "quotes_count": "quotes",
}


def parse_mastodon(raw: bytes | str) -> list[Mention]:
    """Mentions in a Status, an array of Statuses, or a streaming (SSE) capture."""
    text = decode_text(raw, "mastodon")
    if text.lstrip().startswith(("event:", "data:", ":")):
        return parse_streaming(text)
    doc = load_json(text, "mastodon")
    if isinstance(doc, list):
        return [parse_status(as_dict(s, f"/{i}"), f"/{i}") for i, s in enumerate(doc)]
    return [parse_status(as_dict(doc, "/"), "")]


def parse_streaming(text: str) -> list[Mention]:
    """``update`` and ``status.update`` events of a server-sent-events capture; ``delete`` marks."""
    out: list[Mention] = []
    event = ""
    data: list[str] = []
    n = 0
    for n, line in enumerate([*text.splitlines(), ""], 1):
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
        elif not line.strip():
            if event in ("update", "status.update") and data:
                status = as_dict(load_json("\n".join(data), f"event ending line {n}"), f"line {n}")
                out.append(parse_status(status, f"line {n}"))
            event, data = "", []
    if n and not out and "event:" not in text:
        raise fail("mastodon stream", "no events found")
    return out


def parse_status(status: Mapping[str, Json], loc: str) -> Mention:
    """One Status entity as a mention (a reblog keeps the booster as author)."""
    account = as_dict(req(status, "account", loc), f"{loc}/account")
    aloc = f"{loc}/account"
    author = Author(
        id=req_id(account, "id", aloc),
        handle=req_str(account, "acct", aloc),
        name=opt_str(account, "display_name", aloc),
        followers=(
            as_count(account["followers_count"], f"{aloc}/followers_count")
            if account.get("followers_count") is not None
            else None
        ),
    )
    refs: list[Reference] = []
    body = status
    if status.get("reblog") is not None:
        body = as_dict(status["reblog"], f"{loc}/reblog")
        refs.append(Reference("repost", req_str(body, "uri", f"{loc}/reblog")))
    if status.get("in_reply_to_id") is not None:
        refs.append(Reference("reply", req_id(status, "in_reply_to_id", loc)))
    quote = opt_dict(status, "quote", loc)
    quoted = opt_dict(quote, "quoted_status", f"{loc}/quote") or quote
    if quoted.get("uri"):
        refs.append(Reference("quote", str(quoted["uri"])))
    text, links = html_to_text_and_links(opt_str(body, "content", loc))
    spoiler = opt_str(body, "spoiler_text", loc)
    if spoiler:
        text = f"{spoiler}\n\n{text}"
    tags = tuple(
        str(as_dict(t, f"{loc}/tags/{i}").get("name", ""))
        for i, t in enumerate(opt_list(body, "tags", loc))
    )
    mentioned = tuple(
        req_str(as_dict(m, f"{loc}/mentions/{i}"), "acct", f"{loc}/mentions/{i}")
        for i, m in enumerate(opt_list(body, "mentions", loc))
    )
    mention_urls = {
        str(as_dict(m, f"{loc}/mentions/{i}").get("url", ""))
        for i, m in enumerate(opt_list(body, "mentions", loc))
    }
    urls = tuple(
        u for u in links if u not in mention_urls and "/tags/" not in u and "/tag/" not in u
    )
    edited = opt_str(status, "edited_at", loc)
    return Mention(
        platform=PLATFORM,
        native_id=req_str(status, "uri", loc),
        author=author,
        created_at=req_time(status, "created_at", loc),
        text=text,
        url=opt_str(status, "url", loc) or req_str(status, "uri", loc),
        lang_hint=opt_str(body, "language", loc) or None,
        urls=urls,
        hashtags=tuple(t for t in tags if t) or find_hashtags(text),
        mentions=mentioned,
        references=tuple(refs),
        metrics=counts(body, _METRICS, loc),
        # Mastodon keeps one id across edits; the edit time marks that the text changed.
        edit_ids=(f"edited:{edited}",) if edited else (),
    )


# --- client -------------------------------------------------------------------------------


class MastodonClient:
    """Polls ``GET /api/v1/accounts/:id/statuses`` on one instance (public, no token)."""

    platform = PLATFORM
    min_cost = 1

    def __init__(
        self,
        transport: HttpTransport,
        instance_url: str,
        clock: Callable[[], float] | None = None,
        max_pages: int = 3,
        page_size: int = 40,
    ) -> None:
        self._transport = transport
        self._base = instance_url.rstrip("/")
        self._clock = clock or (lambda: 0.0)
        self._max_pages = max_pages
        self._page_size = page_size

    def fetch(self, account_id: str, cursor: Mapping[str, str]) -> FetchResult:
        """Statuses after ``cursor['min_id']``, paging forward in time."""
        min_id = cursor.get("min_id") or None
        mentions: list[Mention] = []
        units = 0
        for _ in range(self._max_pages):
            url = with_query(
                f"{self._base}/api/v1/accounts/{account_id}/statuses",
                {"limit": self._page_size, "min_id": min_id},
            )
            resp = self._transport.send("GET", url, {"Accept": "application/json"})
            units += 1
            check_status(resp, f"mastodon statuses {account_id}", self._clock())
            page = as_list(load_json(resp.body, "mastodon statuses"), "/")
            ids = [req_id(as_dict(s, f"/{i}"), "id", f"/{i}") for i, s in enumerate(page)]
            mentions.extend(parse_status(as_dict(s, f"/{i}"), f"/{i}") for i, s in enumerate(page))
            if not ids:
                break
            # With min_id the server returns the page just after it; its newest id is the
            # next min_id. Ids are numeric strings; compare them as integers.
            min_id = max(ids, key=_id_order)
            if len(page) < self._page_size or cursor.get("min_id") is None:
                break  # caught up (or the first poll: no backfill of old statuses)
        new_cursor = dict(cursor)
        if min_id:
            new_cursor["min_id"] = min_id
        return FetchResult(mentions=mentions, cursor=new_cursor, units=units)


def _id_order(value: str) -> tuple[int, str]:
    return (int(value), value) if value.isdigit() else (0, value)


def make_client(
    base_url: str, secrets: Mapping[str, str], transport: HttpTransport, clock: Callable[[], float]
) -> MastodonClient:
    """The poller's client, as the registry builds it from the platform descriptor."""
    return MastodonClient(transport, base_url, clock=clock)
