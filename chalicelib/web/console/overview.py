"""``/console``: the head's landing page: who they are, what they look after, where to go."""

from __future__ import annotations

from chalice import Response

from chalicelib.web.console.shell import NAV, Page, console_html, console_view, console_web, head
from chalicelib.web.console_scope import states_of
from chalicelib.web.render import Safe, esc


@console_web.route("/console", methods=["GET"])
@console_view
def overview(page: Page) -> Response:
    m = page.m
    p = head(page)
    cards = "".join(
        f'<li class="card"><h2 class="card-title"><a href="{path}">{m("console_nav_" + key)}'
        f'</a></h2><p class="card-meta">{m("console_about_" + key)}</p></li>'
        for key, path in NAV
    )
    n = len(states_of(p))
    body = Safe(
        f"<h1>{m('console_heading')}</h1>"
        f'<p class="lead">{m("console_intro", name=page.name or p.sub, n=n)}</p>'
        f'<ul class="cards console-cards">{cards}</ul>'
        f'<p class="hint">{m("console_role_" + p.role.value)} · {esc(p.sub)}</p>'
    )
    return console_html(page, "", m("console_heading"), body)
