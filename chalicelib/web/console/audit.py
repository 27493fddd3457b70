"""``/console/audit``: who changed what and when, each change's before/after as rows of the
fields that differ, read through the same use case and scope rule as ``GET /audit``."""

from __future__ import annotations

from urllib.parse import urlencode

from chalice import Response

from chalicelib.domain.json_diff import changes
from chalicelib.domain.states import STATES
from chalicelib.services.ports import AuditRecord
from chalicelib.web.console.shell import (
    Page,
    console_html,
    console_view,
    console_web,
    head,
    header_row,
    select,
)
from chalicelib.web.console_scope import states_of
from chalicelib.web.pages import _param, when
from chalicelib.web.render import Messages, Safe, esc
from chalicelib.wiring import container

PAGE_SIZE = 25
MAX_ROWS = 40  # changed fields shown per record (a team of 500 members, created)


def _record(m: Messages, r: AuditRecord) -> str:
    from datetime import datetime

    at = datetime.fromisoformat(r.at)
    rows = changes(r.before, r.after)
    cells = "".join(
        f"<tr><td><code>{esc(c.path)}</code></td>"
        f'<td><span class="diff-del">{esc(c.before)}</span></td>'
        f'<td><span class="diff-add">{esc(c.after)}</span></td></tr>'
        for c in rows[:MAX_ROWS]
    )
    more = m("audit_more_fields", n=len(rows) - MAX_ROWS) if len(rows) > MAX_ROWS else ""
    table = (
        f'<table class="table">{header_row(m, "audit_field", "audit_before", "audit_after")}'
        f'<tbody>{cells}</tbody></table><p class="hint">{more}</p>'
        if rows
        else f'<p class="hint">{m("audit_no_change")}</p>'
    )
    action = str(r.action)
    action_text = m("audit_action_" + action) if m.has("audit_action_" + action) else esc(action)
    return (
        f'<section class="card"><h2 class="card-title">{esc(r.entity)} '
        f"<code>{esc(r.entity_id)}</code></h2>"
        f'<p class="card-meta">{action_text} · {esc(r.actor)} · {esc(when(m, at))}</p>'
        f"{table}</section>"
    )


@console_web.route("/console/audit", methods=["GET"])
@console_view
def audit_page(page: Page) -> Response:
    from chalicelib.services.config_admin import read_audit

    m = page.m
    p = head(page)
    scopes = [("national", str(m("console_scope_national")))]
    scopes += [(s, STATES[s]) for s in states_of(p)]
    asked = _param(page.request, "scope") or p.state or "national"
    scope = asked if asked in dict(scopes) else (p.state or "national")
    cursor = _param(page.request, "cursor") or None
    records, next_cursor = read_audit(container().config_repo, p, scope, PAGE_SIZE, cursor)
    picker = (
        f'<form method="get" action="/console/audit" class="action">'
        f'<label class="label" for="scope">{m("audit_scope")}</label>'
        f"{select('scope', scopes, scope)} "
        f'<button class="button button-secondary" type="submit">{m("console_show")}</button>'
        "</form>"
    )
    listing = "".join(_record(m, r) for r in records)
    listing = listing or f'<p class="hint">{m("audit_none")}</p>'
    older = ""
    if next_cursor:
        href = "/console/audit?" + urlencode({"scope": scope, "cursor": next_cursor})
        older = f'<p><a href="{esc(href)}">{m("audit_older")}</a></p>'
    body = Safe(
        f'<h1>{m("console_nav_audit")}</h1><p class="lead">{m("audit_intro")}</p>'
        f"{picker}{listing}{older}"
    )
    return console_html(page, "audit", m("console_nav_audit"), body)
