"""``/console/feed``: the newest mentions of the head's leaders (matched first), and the
incidents they made with each team's task and its progress; it refreshes itself.

``/console/feed/items`` answers the feed's items alone (HTML): ``static/feed.js`` fetches it
every 15 s (same origin, so the Content-Security-Policy's ``connect-src 'self'`` allows it).
Without the script the page has a link that reloads it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from chalice import Response

from chalicelib.domain.states import STATES
from chalicelib.domain.tasks import TaskStatus
from chalicelib.services.ports import MentionRecord
from chalicelib.web import assets
from chalicelib.web.console.shell import (
    HOME,
    NAV,
    Page,
    console_view,
    console_web,
    head,
    scope_text,
    state_picker,
)
from chalicelib.web.console_scope import default_state, states_of
from chalicelib.web.pages import _param, html, platform_name, when
from chalicelib.web.render import Messages, Safe, esc, render
from chalicelib.wiring import container

EXCERPT = 280
DONE = (TaskStatus.COMPLETED, TaskStatus.DECLINED, TaskStatus.EXPIRED)


def _link(m: Messages, url: str) -> str:
    if not url.startswith(("https://", "http://")):
        return ""
    return f' · <a href="{esc(url)}" rel="noopener noreferrer">{m("feed_original")}</a>'


def _mention(m: Messages, x: MentionRecord) -> str:
    text = x.text if len(x.text) <= EXCERPT else x.text[: EXCERPT - 1] + "…"
    queries = ", ".join(dict.fromkeys(q.query_id for q in x.matches))
    tags = f' · <span class="tag">{esc(queries)}</span>' if queries else ""
    return (
        f'<li class="feed-item"><p class="hint">{esc(when(m, x.ingested_at))} · '
        f"{platform_name(m, x.platform)} · {esc(x.leader_id or x.author_handle)}{tags}"
        f"{_link(m, x.url)}</p>"
        f'<p lang="{esc(x.lang.split("-")[0] or "und")}">{esc(text)}</p></li>'
    )


def items(page: Page, state: str) -> Safe:
    """The feed's changing part: incidents with per-team progress, then mentions."""
    from chalicelib.services.feed import live_feed

    m = page.m
    c = container()
    feed = live_feed(c.mentions, c.tasks, head(page), state)
    blocks = []
    for inc in feed.incidents:
        done = sum(t.status in DONE for t in inc.tasks)
        acked = sum(t.status is TaskStatus.ACKNOWLEDGED for t in inc.tasks)
        rows = "".join(
            f"<tr><td><code>{esc(t.team_id)}</code></td><td>{esc(t.district or '–')}</td>"
            f'<td><span class="status status-{esc(t.status.value)}">'
            f"{m('feed_status_' + t.status.value)}</span></td>"
            f"<td>{esc(when(m, t.updated_at) or '–')}</td></tr>"
            for t in inc.tasks
        )
        blocks.append(
            f'<section class="feed-incident"><h3>{esc(inc.mention.leader_id)}: '
            f"{esc(inc.mention.text[:120])}</h3>"
            f'<p class="hint">{m("feed_progress", done=done, acked=acked, n=len(inc.tasks))}'
            f"{_link(m, inc.mention.url)}</p>"
            f'<table class="table"><caption class="visually-hidden">{m("feed_teams_of")}'
            f'</caption><thead><tr><th scope="col">{m("teams_id")}</th>'
            f'<th scope="col">{m("teams_district")}</th><th scope="col">{m("feed_status")}</th>'
            f'<th scope="col">{m("feed_updated")}</th></tr></thead><tbody>{rows}</tbody></table>'
            "</section>"
        )
    incidents = "".join(blocks) or f'<p class="hint">{m("feed_no_incidents")}</p>'
    matched = "".join(_mention(m, x) for x in feed.matched)
    other = "".join(_mention(m, x) for x in feed.other)
    return Safe(
        f"<h2>{m('feed_incidents')}</h2>{incidents}"
        f"<h2>{m('feed_matched')}</h2>"
        + (
            f'<ol class="feed">{matched}</ol>'
            if matched
            else f'<p class="hint">{m("feed_none")}</p>'
        )
        + f"<h2>{m('feed_other')}</h2>"
        + (f'<ol class="feed">{other}</ol>' if other else f'<p class="hint">{m("feed_none")}</p>')
    )


def _page(page: Page, title: Safe, body: Safe) -> Response:
    """The console's frame (as ``shell.console_html``) with the feed's own script."""
    m = page.m
    current = ' aria-current="page"'
    nav = "".join(
        f'<li><a href="{path}"{current if key == "feed" else ""}>{m("console_nav_" + key)}</a></li>'
        for key, path in NAV
    )
    shell = render("console.html", m, nav=Safe(nav), scope=scope_text(m, head(page)), body=body)
    extra = (
        f'<link rel="stylesheet" href="{assets.url_of("console.css")}">\n'
        f'<script src="{assets.url_of("feed.js")}" defer></script>'
    )
    return html(page, title, shell, 200, extra_head=extra, home=HOME)


@console_web.route("/console/feed", methods=["GET"])
@console_view
def feed_page(page: Page) -> Response:
    m = page.m
    p = head(page)
    state = default_state(p, _param(page.request, "state"))
    query = urlencode({"state": state})
    body = Safe(
        f"<h1>{m('console_nav_feed')}</h1>"
        f'<p class="lead">{m("feed_intro", state=STATES.get(state, state))}</p>'
        f"{state_picker(m, '/console/feed', states_of(p), state)}"
        f'<p id="feed-status" role="status" data-live="{m("feed_live")}">'
        f'<a href="/console/feed?{esc(query)}">{m("feed_refresh")}</a></p>'
        f'<div id="feed-items" aria-live="polite" data-src="/console/feed/items?{esc(query)}">'
        f"{items(page, state)}</div>"
    )
    return _page(page, m("console_nav_feed"), body)


@console_web.route("/console/feed/items", methods=["GET"])
@console_view
def feed_items(page: Page) -> Response:
    state = default_state(head(page), _param(page.request, "state"))
    return Response(
        body=str(items(page, state)),
        status_code=200,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
