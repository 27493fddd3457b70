"""``/console/routes``: the route tree as JSON in an editor, validated exactly as ``PUT /routes``
and ``tvarit route`` validate it, and "which teams would this mention reach" for a chosen
stored mention or typed labels (``services.route_preview``). Saving (national admins: the
tree is national) goes through the same use case as ``PUT /routes`` with If-Match."""

from __future__ import annotations

import json
from typing import Any

from chalice import Response

from chalicelib.domain.states import STATES
from chalicelib.errors import ForbiddenError, InvalidInputError, PreconditionFailedError
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
    select,
)
from chalicelib.web.console_scope import default_state
from chalicelib.web.render import Messages, Safe, esc
from chalicelib.wiring import container

MAX_LABELS = 20


def may_write(page: Page) -> bool:
    from chalicelib.domain.access import Verb, may

    return may(head(page), "routes", Verb.WRITE)


def parse_labels(text: str) -> dict[str, str]:
    """``NAME=VALUE`` lines (as ``tvarit route --label``); InvalidInputError names the line."""
    from chalicelib.errors import FieldProblem
    from chalicelib.services.route_preview import check_labels

    labels: dict[str, str] = {}
    lines = [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]
    for n, line in enumerate(lines[:MAX_LABELS], 1):
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise InvalidInputError(
                "labels are NAME=VALUE", [FieldProblem("labels", f"line {n}: NAME=VALUE")]
            )
        labels[name.strip()] = value.strip()
    return check_labels(labels)


def _mention_options(page: Page) -> list[tuple[str, str]]:
    """Recent matched mentions of the head's state to choose from."""
    from chalicelib.services.monitoring import mentions_of_state

    p = head(page)
    state = default_state(p)
    found, _ = mentions_of_state(container().mentions, p, state or None, 20, None, True)
    m = page.m
    options = [("", str(m("routes_no_mention")))]
    for record in found:
        text = record.text if len(record.text) <= 70 else record.text[:69] + "…"
        options.append((record.key, f"{record.author_handle}: {text}"))
    return options


def _result(m: Messages, preview: Any) -> str:
    routes = "".join(
        f"<li><code>{esc(path)}</code> {esc(name)}</li>" for path, name in preview.routes
    )
    labels = ", ".join(f"{k}={v}" for k, v in preview.labels.items() if v)
    rows = "".join(
        f"<tr><td>{esc(STATES.get(r.state, r.state))}</td>"
        f"<td>{esc(', '.join(r.team_ids)) if r.team_ids else ''}"
        f"{m('routes_hidden', n=r.count - len(r.team_ids)) if r.count > len(r.team_ids) else ''}"
        f'</td><td class="num">{r.count}</td><td>{esc(", ".join(r.route_paths))}</td></tr>'
        for r in preview.reached
    )
    cols = ("routes_state", "routes_teams", "routes_count:num", "routes_route")
    table = (
        f'<table class="table">{header_row(m, *cols)}<tbody>{rows}</tbody></table>'
        if rows
        else f'<p class="bad">{m("routes_reaches_nobody")}</p>'
    )
    total = sum(r.count for r in preview.reached)
    which = m("routes_draft") if preview.draft else m("routes_in_force")
    return (
        f'<section id="reach" aria-live="polite"><h2>{m("routes_reach_heading")}</h2>'
        f'<p class="lead">{m("routes_reach_summary", n=total, which=which)}</p>'
        f'<p class="hint">{m("routes_labels", labels=labels)}</p>'
        f"<h3>{m('routes_matched')}</h3><ul>{routes}</ul>{table}</section>"
    )


def render_routes(
    page: Page,
    values: dict[str, str] | None = None,
    errors: list[tuple[str, str]] | None = None,
    result: str = "",
    status: int = 200,
    notice: str = "",
) -> Response:
    from chalicelib.domain.analysis import DEFAULT_ROUTE_CONFIG
    from chalicelib.services.config_admin import ConfigAdmin

    m = page.m
    p = head(page)
    errors = errors or []
    if values is None:
        record = ConfigAdmin(container().config_repo).get_routes(p)
        config = record.data if record else DEFAULT_ROUTE_CONFIG
        values = {
            "config": json.dumps(config, ensure_ascii=False, indent=2),
            "version": str(record.version) if record else "",
        }
    first = {f: e for f, e in reversed(errors)}
    config_err, labels_err = first.get("config", ""), first.get("labels", "")
    described = (
        ' aria-describedby="config-hint config-error"'
        if config_err
        else (' aria-describedby="config-hint"')
    )
    config_area = (
        f'<textarea class="input code" id="config" name="config" rows="18" spellcheck="false"'
        f"{described}>{esc(values.get('config', ''))}</textarea>"
    )
    labels_area = (
        f'<textarea class="input code" id="labels" name="labels" rows="3" spellcheck="false"'
        f' aria-describedby="labels-hint">{esc(values.get("labels", ""))}</textarea>'
    )
    mention = select("mention_key", _mention_options(page), values.get("mention_key", ""))
    save = (
        f'<button class="button" type="submit" name="do" value="save">{m("routes_save")}</button>'
        if may_write(page)
        else f'<p class="hint">{m("routes_read_only")}</p>'
    )
    config_field = field(
        m, "config", m("routes_config"), config_area, config_err, m("routes_config_hint")
    )
    labels_field = field(
        m, "labels", m("routes_labels_field"), labels_area, labels_err, m("routes_labels_hint")
    )
    form = (
        f'<form method="post" action="/console/routes#reach" novalidate class="action">'
        f"{csrf_field(page)}"
        f'<input type="hidden" name="version" value="{esc(values.get("version", ""))}">'
        f"{config_field}<h2>{m('routes_try_heading')}</h2>"
        f"{field(m, 'mention_key', m('routes_mention'), mention)}{labels_field}"
        f'<button class="button button-secondary" type="submit" name="do" value="preview">'
        f"{m('routes_preview_button')}</button> {save}</form>"
    )
    notice_html = f'<div class="notice" role="status"><p>{esc(notice)}</p></div>' if notice else ""
    body = Safe(
        f"{error_summary(m, errors)}<h1>{m('console_nav_routes')}</h1>{notice_html}"
        f'<p class="lead">{m("routes_intro")}</p>{result}{form}'
    )
    prefix = str(m("error_title_prefix")) + " " if errors else ""
    return console_html(page, "routes", Safe(prefix + str(m("console_nav_routes"))), body, status)


@console_web.route("/console/routes", methods=["GET"])
@console_view
def routes_page(page: Page) -> Response:
    saved = page.m("routes_saved") if page.request.query_params else ""
    return render_routes(page, notice=saved)


def _problems(err: InvalidInputError, field_name: str) -> list[tuple[str, str]]:
    """Every problem of a route config with its path, as ``tvarit route`` prints them."""
    if not err.problems:
        return [(field_name, err.detail)]
    return [(field_name, f"{p.loc}: {p.msg}" if p.loc else p.msg) for p in err.problems]


@console_web.route("/console/routes", methods=["POST"], content_types=FORM)
@console_view
def routes_post(page: Page) -> Response:
    from chalicelib.services.config_admin import ConfigAdmin
    from chalicelib.services.route_preview import preview_routes

    form = posted_form(page)
    if form is None:
        return csrf_refused(page)
    m = page.m
    p = head(page)
    try:
        config = json.loads(form.get("config", ""))
    except ValueError as err:
        where = m("routes_err_json", line=getattr(err, "lineno", 1), col=getattr(err, "colno", 1))
        return render_routes(page, form, [("config", where)], status=422)
    c = container()
    if form.get("do") == "save":
        version = form.get("version", "")
        try:
            ConfigAdmin(c.config_repo).put_routes(
                p, config, int(version) if version.isdigit() and len(version) < 13 else None
            )
        except InvalidInputError as err:
            return render_routes(page, form, _problems(err, "config"), status=422)
        except PreconditionFailedError:
            return render_routes(page, form, [("config", m("routes_err_changed"))], status=412)
        except ForbiddenError:
            return render_routes(page, form, [("config", m("routes_read_only"))], status=403)
        return back_to("/console/routes?saved=1")
    try:
        labels = parse_labels(form.get("labels", "")) if form.get("labels", "").strip() else None
    except InvalidInputError as err:
        return render_routes(page, form, _problems(err, "labels"), status=422)
    key = form.get("mention_key", "")
    if not key and not labels:
        return render_routes(page, form, [("mention_key", m("routes_err_what"))], status=422)
    try:
        preview = preview_routes(c.config_repo, c.mentions, p, config, labels, key)
    except InvalidInputError as err:
        name = "mention_key" if err.problems and err.problems[0].loc == "mention_key" else "config"
        return render_routes(page, form, _problems(err, name), status=422)
    return render_routes(page, form, result=_result(m, preview))
