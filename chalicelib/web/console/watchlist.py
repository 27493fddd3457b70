"""``/console/watchlist``: the leaders a head watches, their accounts and each account's poll
health; a form adds a leader with an account through the same use case as ``POST /leaders``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from chalice import Response

from chalicelib.domain.platforms import BY_NAME, NAMES
from chalicelib.domain.states import STATES
from chalicelib.errors import ConflictError, InvalidInputError
from chalicelib.web.console.shell import (
    FORM,
    Page,
    back_to,
    console_html,
    console_view,
    console_web,
    csrf_field,
    csrf_refused,
    error_summary,
    field,
    head,
    header_row,
    posted_form,
    problems_by_field,
    select,
    state_picker,
    text_input,
)
from chalicelib.web.console_scope import default_state, states_of
from chalicelib.web.pages import _param, platform_name, when
from chalicelib.web.render import Messages, Safe, esc
from chalicelib.wiring import container

PLATFORMS = NAMES  # the platform descriptors' order, as the API's enum
# Wire locations of the leader's fields -> the form's fields.
FIELDS = {
    "id": "leader_id",
    "name": "name",
    "state": "state",
    "district": "district",
    "party": "party",
    "reach": "reach",
    "accounts[0].platform_id": "platform_id",
    "accounts[0].platform": "platform",
    "accounts[0].handle": "handle",
    "accounts": "handle",
    "body": "leader_id",
}
COLUMNS = (
    "field_platform",
    "watch_handle",
    "watch_last_poll",
    "watch_last_success",
    "watch_health",
    "watch_last_error",
    "watch_quota_used:num",
)


def _at(m: Messages, ts: float | None) -> str:
    if ts is None or ts <= 0:
        return "–"
    return when(m, datetime.fromtimestamp(ts, UTC))


def _status(m: Messages, a: Any) -> Safe:
    if not a.account_key:
        # A source that only pushes (no poll interval) is never polled; the others wait for
        # an id to poll by.
        desc = BY_NAME.get(a.account.platform)
        pushed = desc is not None and bool(desc.push) and desc.poll_interval is None
        key = "watch_pushed" if pushed else "watch_not_polled"
        return Safe(f'<span class="hint">{m(key)}</span>')
    if not a.polled:
        return Safe(f'<span class="hint">{m("watch_waiting")}</span>')
    if a.state.healthy:
        return Safe(f'<strong class="good">{m("watch_healthy")}</strong>')
    return Safe(f'<strong class="bad">{m("watch_unhealthy", n=a.state.failures)}</strong>')


def _quota(m: Messages, a: Any) -> Safe:
    if not a.account_key:
        return Safe("–")
    if a.quota_units is None:
        return m("watch_units", n=a.units_used)
    days = a.quota_window_seconds / 86400
    if days >= 1:
        window = m("watch_window_days", n=f"{days:g}")
    else:
        window = m("watch_window_minutes", n=f"{a.quota_window_seconds / 60:g}")
    return m("watch_quota", n=a.units_used, limit=f"{a.quota_units:,}", window=window)


def _row(m: Messages, a: Any) -> str:
    s = a.state
    cells = [
        str(platform_name(m, a.account.platform)),
        str(esc(a.account.handle)),
        str(esc(_at(m, s.last_polled_at if s else None))),
        str(esc(_at(m, s.last_success_at if s else None))),
        str(_status(m, a)),
        str(esc(s.last_error if s and s.last_error else "–")),
    ]
    tds = "".join(f"<td>{c}</td>" for c in cells)
    return f'<tr>{tds}<td class="num">{_quota(m, a)}</td></tr>'


def _leader_block(m: Messages, w: Any) -> str:
    leader = w.leader
    where = STATES.get(leader.state, leader.state)
    where += f" · {leader.district}" if leader.district else ""
    meta = " · ".join(x for x in (leader.party, where) if x)
    if w.accounts:
        caption = m("watch_accounts_of", name=leader.name)
        rows = "".join(_row(m, a) for a in w.accounts)
        table = (
            f'<table class="table"><caption class="visually-hidden">{caption}</caption>'
            f"{header_row(m, *COLUMNS)}<tbody>{rows}</tbody></table>"
        )
    else:
        table = f'<p class="hint">{m("watch_no_accounts")}</p>'
    return (
        f'<section id="leader-{esc(leader.id)}"><h2>{esc(leader.name)}</h2>'
        f'<p class="hint">{esc(meta)}</p>{table}</section>'
    )


def _add_form(page: Page, values: dict[str, str], errors: dict[str, str]) -> str:
    m = page.m
    p = head(page)
    states = [(s, f"{STATES[s]} ({s})") for s in states_of(p)]
    platforms = [(x, platform_name(m, x)) for x in PLATFORMS]

    def text(name: str, label: str, hint: str = "", **attrs: str) -> Safe:
        err = errors.get(name, "")
        control = text_input(name, values.get(name, ""), err, bool(hint), **attrs)
        return field(m, name, m(label), control, err, m(hint) if hint else "")

    def choice(name: str, label: str, options: Sequence[tuple[str, str]], default: str) -> Safe:
        err = errors.get(name, "")
        control = select(name, options, values.get(name, "") or default, err)
        return field(m, name, m(label), control, err)

    values = {"reach": "0", "district": p.district, **values}
    fields = [
        text("name", "watch_name", autocomplete="off"),
        text("leader_id", "watch_id", "watch_id_hint", spellcheck="false", autocomplete="off"),
        choice("state", "watch_state", states, default_state(p)),
        text("district", "watch_district"),
        text("party", "watch_party"),
        text("reach", "watch_reach", "watch_reach_hint", inputmode="numeric"),
        choice("platform", "watch_platform", platforms, NAMES[0]),
        text("handle", "watch_handle", spellcheck="false", autocomplete="off"),
        text("platform_id", "watch_platform_id", "watch_platform_id_hint", spellcheck="false"),
    ]
    return (
        f'<h2 id="add">{m("watch_add_heading")}</h2>'
        f'<form method="post" action="/console/watchlist" novalidate class="action">'
        f"{csrf_field(page)}{''.join(fields)}"
        f'<button class="button" type="submit">{m("watch_add_button")}</button></form>'
    )


def render_watchlist(
    page: Page,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    from chalicelib.services.watchlist import watchlist

    m = page.m
    p = head(page)
    c = container()
    asked = _param(page.request, "state") or (values or {}).get("state", "")
    # A national admin without a chosen state sees every state's leaders.
    state = default_state(p, asked) if asked or p.state else ""
    leaders, cursor = watchlist(
        c.config_repo,
        c.cursor_store,
        p,
        c.wall_time(),
        state or None,
        50,
        _param(page.request, "cursor") or None,
    )
    added = _param(page.request, "added")
    notice = ""
    if added and not errors:
        notice = f'<div class="notice" role="status"><p>{m("watch_added", id=added)}</p></div>'
    more = ""
    if cursor:
        href = "/console/watchlist?" + urlencode({"state": state, "cursor": cursor})
        more = f'<p><a href="{esc(href)}">{m("console_more")}</a></p>'
    listing = "".join(_leader_block(m, w) for w in leaders)
    listing = listing or f'<p class="hint">{m("watch_none")}</p>'
    summary = error_summary(m, list((errors or {}).items()))
    where = STATES.get(state, state) if state else m("console_scope_national")
    intro = m("watch_intro", state=where)
    body = Safe(
        f'{summary}<h1>{m("console_nav_watchlist")}</h1>{notice}<p class="lead">{intro}</p>'
        f"{state_picker(m, '/console/watchlist', states_of(p), state)}{listing}{more}"
        f"{_add_form(page, values or {}, errors or {})}"
    )
    title = (str(m("error_title_prefix")) + " " if errors else "") + str(m("console_nav_watchlist"))
    return console_html(page, "watchlist", Safe(title), body, status)


@console_web.route("/console/watchlist", methods=["GET"])
@console_view
def watchlist_page(page: Page) -> Response:
    return render_watchlist(page)


def leader_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The ``POST /leaders`` body a filled-in form stands for."""
    reach_text = form.get("reach", "").strip() or "0"
    reach: Any = int(reach_text) if reach_text.isdigit() and len(reach_text) < 13 else reach_text
    data: dict[str, Any] = {
        "id": form.get("leader_id", "").strip(),
        "name": form.get("name", "").strip(),
        "state": form.get("state", "").strip(),
        "district": form.get("district", "").strip(),
        "party": form.get("party", "").strip(),
        "reach": reach,
        "accounts": [],
    }
    handle, platform = form.get("handle", "").strip(), form.get("platform", "").strip()
    if handle:
        account = {"platform": platform, "handle": handle}
        if form.get("platform_id", "").strip():
            account["platform_id"] = form["platform_id"].strip()
        data["accounts"] = [account]
    return data


@console_web.route("/console/watchlist", methods=["POST"], content_types=FORM)
@console_view
def add_leader(page: Page) -> Response:
    from chalicelib.api import schemas
    from chalicelib.domain.config_kinds import LEADERS
    from chalicelib.services.config_admin import ConfigAdmin

    form = posted_form(page)
    if form is None:
        return csrf_refused(page)
    m = page.m
    if not form.get("handle", "").strip():
        return render_watchlist(page, form, {"handle": m("watch_err_handle")}, 422)
    c = container()
    try:
        data = schemas.validate(schemas.MODELS["Leader"], leader_from_form(form))
        admin = ConfigAdmin(c.config_repo, c.contact_sync, c.device_sync)
        admin.create(LEADERS, head(page), data)
    except ConflictError:
        return render_watchlist(page, form, {"leader_id": m("watch_err_taken")}, 409)
    except InvalidInputError as err:
        return render_watchlist(page, form, problems_by_field(err, FIELDS), 422)
    target = urlencode({"state": data["state"], "added": data["id"]})
    return back_to(f"/console/watchlist?{target}#leader-{data['id']}")
