"""``/console/teams``: teams in scope, searchable and paged; members CSV export and import.

The import is two steps, as the API's: the file is checked and every bad row named (line,
column, reason) before anything is written; then the head applies the good rows. Both steps
call the API's own use case (``api.console_data.run_import``), so a page imports exactly what
``POST /imports/members`` would.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode

from chalice import Response

from chalicelib.domain.config_kinds import TEAMS
from chalicelib.domain.member_csv import MAX_BYTES
from chalicelib.domain.states import STATES
from chalicelib.errors import InvalidInputError, TvaritError
from chalicelib.web import session
from chalicelib.web.console.shell import (
    Page,
    back_to,
    console_html,
    console_view,
    console_web,
    csrf_field,
    csrf_refused,
    head,
    header_row,
    state_picker,
)
from chalicelib.web.console_scope import default_state, states_of
from chalicelib.web.pages import _param
from chalicelib.web.render import Messages, Safe, esc
from chalicelib.wiring import container

PAGE_SIZE = 50
TEAM_COLUMNS = ("teams_id", "teams_name", "teams_district", "teams_members:num", "teams_lead")
IMPORT_FORM = ["application/x-www-form-urlencoded"]


def _admin() -> Any:
    from chalicelib.services.config_admin import ConfigAdmin

    c = container()
    return ConfigAdmin(c.config_repo, c.contact_sync, c.device_sync)


def _team_row(m: Messages, data: dict[str, Any], telegram: frozenset[str] | None) -> str:
    members = data.get("members", [])
    lead = next((x["name"] for x in members if x["id"] == data.get("lead_id")), "")
    lead = lead or next((x["name"] for x in members if x.get("role") == "lead"), "–")
    chat = ""
    if telegram is not None:  # only where the stage runs the Telegram channel
        linked = data["id"] in telegram
        chat = f"<td>{m('teams_telegram_linked' if linked else 'teams_telegram_unlinked')}</td>"
    return (
        f"<tr><td><code>{esc(data['id'])}</code></td><td>{esc(data.get('name', ''))}</td>"
        f"<td>{esc(data.get('district', '') or '–')}</td>"
        f'<td class="num">{len(members)}</td><td>{esc(lead)}</td>{chat}</tr>'
    )


def _telegram_groups(team_ids: list[str]) -> frozenset[str] | None:
    """The teams with a linked Telegram group, or None where the channel is off."""
    import time

    from chalicelib.services.telegram_bot import TeamChats

    c = container()
    if not c.settings.telegram_delivery:
        return None
    # Read afresh (no cache): a head who just linked a group expects to see it.
    chats = TeamChats(c.config_repo, c.config.state_of_team, time.monotonic, ttl=0.0)
    return chats.reachable(team_ids)


def _import_form(page: Page, text: str = "") -> str:
    m = page.m
    return (
        f'<h2 id="import">{m("teams_import_heading")}</h2>'
        f'<p class="hint">{m("teams_import_hint")}</p>'
        f'<form method="post" action="/console/teams/import" class="action" novalidate>'
        f"{csrf_field(page)}"
        # A file chooser for heads whose members are in a spreadsheet: console.js shows it and
        # reads the chosen file into the text area (no upload of its own; without script the
        # text area alone takes a paste).
        f'<div class="group" id="csv-file-group" hidden>'
        f'<label class="label" for="csv-file">{m("teams_import_file")}</label>'
        f'<div id="csv-file-hint" class="hint">{m("teams_import_file_hint")}</div>'
        f'<input class="file" type="file" id="csv-file" accept=".csv,text/csv" '
        f'aria-describedby="csv-file-hint"></div>'
        f'<div class="group"><label class="label" for="csv">{m("teams_import_label")}</label>'
        f'<div id="csv-hint" class="hint">{m("teams_import_columns")}</div>'
        f'<textarea class="input code" id="csv" name="csv" rows="8" spellcheck="false" '
        f'aria-describedby="csv-hint">'
        f"{esc(text)}</textarea></div>"
        f'<button class="button" type="submit">{m("teams_import_check")}</button></form>'
    )


@console_web.route("/console/teams", methods=["GET"])
@console_view
def teams_page(page: Page) -> Response:
    from chalicelib.services.team_roster import search_teams

    m = page.m
    p = head(page)
    state = default_state(p, _param(page.request, "state"))
    q = _param(page.request, "q")[:100]
    cursor = _param(page.request, "cursor") or None
    if q:
        records, next_cursor = search_teams(_admin(), p, state, q, PAGE_SIZE, cursor)
    else:
        records, next_cursor = _admin().list(TEAMS, p, state, PAGE_SIZE, cursor)
    telegram = _telegram_groups([r.data["id"] for r in records])
    rows = "".join(_team_row(m, r.data, telegram) for r in records)
    columns = TEAM_COLUMNS if telegram is None else (*TEAM_COLUMNS, "teams_telegram")
    if rows:
        table = (
            f'<table class="table"><caption class="visually-hidden">{m("teams_caption")}'
            f"</caption>{header_row(m, *columns)}"
            f"<tbody>{rows}</tbody></table>"
        )
    else:
        table = f'<p class="hint">{m("teams_none_found" if q else "teams_none")}</p>'
    more = ""
    if next_cursor:
        href = "/console/teams?" + urlencode({"state": state, "q": q, "cursor": next_cursor})
        more = f'<p><a href="{esc(href)}">{m("console_more")}</a></p>'
    notice = ""
    done = _param(page.request, "imported")
    if done:
        created, _, updated = done.partition(".")
        notice = (
            f'<div class="notice" role="status"><p>'
            f"{m('teams_imported', created=created or '0', updated=updated or '0')}</p></div>"
        )
    search = (
        f'<form method="get" action="/console/teams" class="action" role="search">'
        f'<input type="hidden" name="state" value="{esc(state)}">'
        f'<label class="label" for="q">{m("teams_search")}</label>'
        f'<div id="q-hint" class="hint">{m("teams_search_hint")}</div>'
        f'<input class="input" id="q" name="q" type="search" value="{esc(q)}" '
        f'aria-describedby="q-hint"> '
        f'<button class="button button-secondary" type="submit">{m("teams_search_button")}'
        f"</button></form>"
    )
    export = (
        f'<p><a href="/console/teams/export?{urlencode({"state": state})}" download>'
        f"{m('teams_export', state=STATES.get(state, state))}</a></p>"
    )
    body = Safe(
        f"<h1>{m('console_nav_teams')}</h1>{notice}"
        f'<p class="lead">{m("teams_intro", state=STATES.get(state, state))}</p>'
        f"{state_picker(m, '/console/teams', states_of(p), state)}{search}{table}{more}"
        f"{export}{_import_form(page)}"
    )
    return console_html(page, "teams", m("console_nav_teams"), body, script=True)


@console_web.route("/console/teams/export", methods=["GET"])
@console_view
def teams_export(page: Page) -> Response:
    from chalicelib.domain import member_csv
    from chalicelib.services.team_roster import all_teams

    p = head(page)
    state = default_state(p, _param(page.request, "state"))
    text = member_csv.export(all_teams(_admin(), p, state))
    return Response(
        body=text,
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="tvarit-members-{state}.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _big_form(raw: bytes | str | None) -> dict[str, str]:
    """The import form: larger than other forms (a CSV of thousands of rows)."""
    if raw is None:
        return {}
    data = raw if isinstance(raw, bytes) else raw.encode()
    if len(data) > 3 * MAX_BYTES:  # urlencoding triples a byte at most
        return {}
    text = data.decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}


def _report(page: Page, text: str, report: Any) -> Response:
    m = page.m
    bad = report["invalid"]
    items = "".join(
        f"<li>{m('teams_bad_row', line=r['line'], member=r['member_id'] or r['team_id'] or '–')}"
        "<ul>"
        + "".join(f"<li><code>{esc(e['loc'])}</code>: {esc(e['msg'])}</li>" for e in r["errors"])
        + "</ul></li>"
        for r in bad
    )
    summary = (
        f'<div class="error-summary" role="alert" tabindex="-1"><h2 class="error-summary-title">'
        f'{m("teams_bad_rows", n=len(bad))}</h2><ol class="list">{items}</ol></div>'
        if bad
        else ""
    )
    counts = m(
        "teams_check_counts",
        rows=report["rows"],
        valid=report["valid"],
        created=len(report["created"]),
        updated=len(report["updated"]),
        unchanged=len(report["unchanged"]),
    )
    apply = ""
    if report["created"] or report["updated"]:
        apply = (
            f'<form method="post" action="/console/teams/import" class="action">'
            f'{csrf_field(page)}<input type="hidden" name="apply" value="yes">'
            f'<input type="hidden" name="csv" value="{esc(text)}">'
            f'<button class="button" type="submit">{m("teams_apply", n=report["valid"])}'
            "</button></form>"
        )
    else:
        # "Already as the file says" only when the file had good rows: with none, the rows
        # above are what to mend.
        nothing = "teams_nothing_good" if bad and not report["valid"] else "teams_nothing_to_apply"
        apply = f'<p class="hint">{m(nothing)}</p>'
    body = Safe(
        f'{summary}<h1>{m("teams_check_heading")}</h1><p class="lead">{counts}</p>{apply}'
        f'<p><a href="/console/teams">{m("teams_back")}</a></p>'
    )
    return console_html(page, "teams", m("teams_check_heading"), body, 200)


@console_web.route("/console/teams/import", methods=["POST"], content_types=IMPORT_FORM)
@console_view
def teams_import(page: Page) -> Response:
    from chalicelib.api.console_data import run_import

    form = _big_form(page.request.raw_body)
    if not session.csrf_ok(page.token, form, page.headers):
        return csrf_refused(page)
    text = form.get("csv", "")
    apply = form.get("apply") == "yes"
    try:
        report = run_import(head(page), text.encode("utf-8"), apply)
    except InvalidInputError as err:
        m = page.m
        problems = "".join(
            f"<li><code>{esc(f.loc)}</code>: {esc(f.msg)}</li>" for f in err.problems
        )
        body = Safe(
            f'<div class="error-summary" role="alert" tabindex="-1">'
            f'<h2 class="error-summary-title">{m("teams_bad_file")}</h2>'
            f'<p>{esc(err.detail)}</p><ul class="list">{problems}</ul></div>'
            f"<h1>{m('console_nav_teams')}</h1>{_import_form(page, text)}"
        )
        return console_html(page, "teams", m("teams_bad_file"), body, 422, script=True)
    except TvaritError:
        raise
    if apply:
        done = f"{len(report['created'])}.{len(report['updated'])}"
        return back_to("/console/teams?" + urlencode({"imported": done}))
    return _report(page, text, report)
