"""Facebook Graph API page posts (``/{page}/posts`` or ``/feed``), behind a config flag.

Reading another page's posts needs Meta's app review (Page Public Content Access), so the
client refuses to run unless enabled; the parser works on any captured response.
The post id ``<page id>_<post id>`` is already global and is the native id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from chalicelib.adapters.platforms._common import (
    Json,
    as_count,
    as_dict,
    as_list,
    decode_text,
    fail,
    find_hashtags,
    find_urls,
    load_json,
    opt_dict,
    opt_list,
    opt_str,
    req_id,
    req_time,
)
from chalicelib.adapters.platforms.http import HttpTransport, check_status, with_query
from chalicelib.domain.mention import Author, Mention, Reference
from chalicelib.errors import UpstreamError
from chalicelib.services.polling import FetchResult

PLATFORM = "facebook"
API_BASE = "https://graph.facebook.com/v19.0"
FIELDS = (
    "id,message,story,created_time,updated_time,permalink_url,from,message_tags,shares,"
    "parent_id,comments.summary(true).limit(0),reactions.summary(true).limit(0)"
)


def parse_facebook(raw: bytes | str) -> list[Mention]:
    """Mentions in a page posts/feed response (``{"data": [...]}``) or a single post."""
    doc = as_dict(load_json(decode_text(raw, "facebook"), "facebook"), "/")
    if "error" in doc:
        err = opt_dict(doc, "error", "")
        raise fail("/error", f"the Graph API refused: {opt_str(err, 'message', '')}")
    if "data" in doc:
        posts = as_list(doc["data"], "/data")
        return [parse_post(as_dict(p, f"/data/{i}"), f"/data/{i}") for i, p in enumerate(posts)]
    if "id" in doc and "created_time" in doc:
        return [parse_post(doc, "")]
    raise fail("/", "not a Graph API page posts response: no data member")


def parse_post(post: Mapping[str, Json], loc: str) -> Mention:
    """One page post as a mention."""
    post_id = req_id(post, "id", loc)
    page_id, _, story_id = post_id.partition("_")
    sender = opt_dict(post, "from", loc)
    author = Author(
        id=req_id(sender, "id", f"{loc}/from") if sender else page_id,
        handle=opt_str(sender, "name", f"{loc}/from"),
        name=opt_str(sender, "name", f"{loc}/from"),
    )
    text = opt_str(post, "message", loc) or opt_str(post, "story", loc)
    metrics: dict[str, int] = {}
    shares = opt_dict(post, "shares", loc)
    if shares.get("count") is not None:
        metrics["shares"] = as_count(shares["count"], f"{loc}/shares/count")
    for field, name in (("comments", "comments"), ("reactions", "reactions"), ("like", "likes")):
        summary = opt_dict(opt_dict(post, field, loc), "summary", f"{loc}/{field}")
        if summary.get("total_count") is not None:
            metrics[name] = as_count(summary["total_count"], f"{loc}/{field}/summary/total_count")
    tagged = tuple(
        opt_str(as_dict(t, f"{loc}/message_tags/{i}"), "name", f"{loc}/message_tags/{i}")
        for i, t in enumerate(opt_list(post, "message_tags", loc))
    )
    refs = (Reference("repost", req_id(post, "parent_id", loc)),) if post.get("parent_id") else ()
    url = opt_str(post, "permalink_url", loc)
    if not url and story_id:
        url = f"https://www.facebook.com/{page_id}/posts/{story_id}"
    edits: tuple[str, ...] = ()
    if post.get("updated_time") and post.get("updated_time") != post.get("created_time"):
        edits = (f"updated:{opt_str(post, 'updated_time', loc)}",)
    return Mention(
        platform=PLATFORM,
        native_id=post_id,
        author=author,
        created_at=req_time(post, "created_time", loc),
        text=text,
        url=url,
        urls=find_urls(text),
        hashtags=find_hashtags(text),
        mentions=tuple(t for t in tagged if t),
        references=refs,
        metrics=metrics,
        edit_ids=edits,
    )


class FacebookPageClient:
    """Polls ``/{page-id}/posts`` with a page or app access token, when enabled."""

    platform = PLATFORM
    min_cost = 1

    def __init__(
        self,
        transport: HttpTransport,
        access_token: str,
        enabled: bool = False,
        base_url: str = API_BASE,
        clock: Callable[[], float] | None = None,
        max_pages: int = 3,
    ) -> None:
        self._transport = transport
        self._token = access_token
        self._enabled = enabled
        self._base = base_url.rstrip("/")
        self._clock = clock or (lambda: 0.0)
        self._max_pages = max_pages

    def fetch(self, account_id: str, cursor: Mapping[str, str]) -> FetchResult:
        """Posts created after ``cursor['since']`` (Unix seconds), following ``paging.next``."""
        if not self._enabled or not self._token:
            raise UpstreamError(
                "Facebook polling is disabled: it needs an app-reviewed access token"
            )
        url: str | None = with_query(
            f"{self._base}/{account_id}/posts",
            {
                "fields": FIELDS,
                "limit": 50,
                "since": cursor.get("since"),
                "access_token": self._token,
            },
        )
        mentions: list[Mention] = []
        units = 0
        for _ in range(self._max_pages):
            if url is None:
                break
            resp = self._transport.send("GET", url)
            units += 1
            check_status(resp, f"facebook posts {account_id}", self._clock())
            doc = as_dict(load_json(resp.body, "facebook posts"), "/")
            page = parse_facebook(resp.body)
            if not page:
                break
            mentions.extend(page)
            nxt = opt_str(opt_dict(doc, "paging", ""), "next", "/paging")
            url = nxt or None
        new_cursor = dict(cursor)
        if mentions:
            newest = max(m.created_at for m in mentions)
            new_cursor["since"] = str(int(newest.timestamp()) + 1)
        return FetchResult(mentions=mentions, cursor=new_cursor, units=units)


def make_client(
    base_url: str, secrets: Mapping[str, str], transport: HttpTransport, clock: Callable[[], float]
) -> FacebookPageClient:
    """The poller's client, as the registry builds it from the platform descriptor."""
    return FacebookPageClient(
        transport,
        secrets["facebook_access_token"],
        enabled=True,
        base_url=base_url,
        clock=clock,
    )
