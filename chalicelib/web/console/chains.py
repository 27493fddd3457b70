"""``/console/chains``: escalation chains per team, state and default, each with a preview of
its timeline (``EscalationChain.schedule``: who is told how long after a task is created while
nobody acknowledges), which chain each of the state's teams follows, and an editor that saves
through the use case of ``POST``/``PUT /escalation-chains`` with If-Match."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from chalice import Response

from chalicelib.domain.escalation import DEFAULT_CHAIN, EscalationChain, chain_for, parse_chain
from chalicelib.domain.states import STATES
from chalicelib.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
)
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
    text_input,
)
from chalicelib.web.console_scope import default_state
from chalicelib.web.pages import _param
from chalicelib.web.render import Messages, Safe, esc
from chalicelib.wiring import container

TEAMS_SHOWN = 50  # teams listed with their chain; the rest are counted


def _duration(m: Messages, seconds: float) -> str:
    seconds = int(seconds)
    if seconds == 0:
        return str(m("chain_at_once"))
    if seconds % 3600 == 0:
        return str(m("chain_after_hours", n=seconds // 3600))
    if seconds % 60 == 0:
        return str(m("chain_after_minutes", n=seconds // 60))
    return str(m("chain_after_seconds", n=seconds))


def timeline(m: Messages, chain: EscalationChain) -> Safe:
    """The chain's notify steps on one time line, every pass."""
    items = "".join(
        f"<li><strong>{esc(_duration(m, offset.total_seconds()))}</strong>: "
        f"{m('chain_level_' + level.value)}"
        f"{m('chain_pass', n=n + 1) if chain.repeat else ''}</li>"
        for offset, level, n in chain.schedule()
    )
    return Safe(f'<ol class="timeline">{items}</ol>')


def _owner(m: Messages, chain: EscalationChain) -> str:
    if chain.scope == "default":
        return str(m("chain_scope_default"))
    if chain.scope == "state":
        return str(m("chain_scope_state", state=STATES.get(chain.owner, chain.owner)))
    return str(m("chain_scope_team", team=chain.owner))


def _card(m: Messages, chain: EscalationChain, version: int | None, editable: bool) -> str:
    edit = ""
    if editable and version is not None:
        href = f"/console/chains?edit={quote(chain.id, safe='')}#edit"
        edit = f' <a href="{href}">{m("chain_edit")}</a>'
    built_in = f' <span class="hint">{m("chain_built_in")}</span>' if version is None else ""
    return (
        f'<section class="card" id="chain-{esc(chain.id)}"><h3 class="card-title">'
        f"{esc(chain.id)}{built_in}{edit}</h3>"
        f'<p class="card-meta">{esc(_owner(m, chain))}</p>{timeline(m, chain)}</section>'
    )


def steps_text(chain_data: dict[str, Any]) -> str:
    """A chain's steps as the editor's lines: ``wait 15m`` / ``notify team_lead``."""
    lines = []
    for step in chain_data.get("steps", []):
        if "wait" in step:
            lines.append(f"wait {step['wait']}")
        elif "notify" in step:
            lines.append(f"notify {step['notify']}")
    return "\n".join(lines)


def chain_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The ``POST /escalation-chains`` body the editor stands for."""
    steps: list[dict[str, str]] = []
    for line in form.get("steps", "").splitlines():
        verb, _, rest = line.strip().partition(" ")
        if not verb:
            continue
        steps.append({verb.lower(): rest.strip()})
    repeat = form.get("repeat", "0").strip()
    return {
        "id": form.get("chain_id", "").strip(),
        "scope": form.get("scope", "state"),
        "owner": "" if form.get("scope") == "default" else form.get("owner", "").strip(),
        "repeat": int(repeat) if repeat.isdigit() and len(repeat) < 3 else repeat,
        "steps": steps,
    }


def _editor(page: Page, values: dict[str, str], errors: dict[str, str], preview: Safe) -> str:
    m = page.m
    v = values.get
    scopes = [(s, str(m("chain_kind_" + s))) for s in ("team", "state", "default")]
    err = errors.get

    def text(name: str, label: str, hint: str = "") -> Safe:
        control = text_input(name, v(name, ""), err(name, ""), bool(hint), spellcheck="false")
        return field(m, name, m(label), control, err(name, ""), m(hint) if hint else "")

    steps_area = (
        f'<textarea class="input code" id="steps" name="steps" rows="6" spellcheck="false"'
        f' aria-describedby="steps-hint">{esc(v("steps", ""))}</textarea>'
    )
    ident = (
        f'<input type="hidden" name="chain_id" value="{esc(v("chain_id", ""))}">'
        f'<input type="hidden" name="version" value="{esc(v("version", ""))}">'
        if v("version")
        else str(text("chain_id", "chain_id"))
    )
    heading = m("chain_edit_heading", id=v("chain_id")) if v("version") else m("chain_new")
    steps_field = field(
        m, "steps", m("chain_steps"), steps_area, err("steps", ""), m("chain_steps_hint")
    )
    return (
        f'<h2 id="edit">{heading}</h2>'
        f'<form method="post" action="/console/chains#edit" novalidate class="action">'
        f"{csrf_field(page)}{ident}"
        f"{field(m, 'scope', m('chain_scope'), select('scope', scopes, v('scope', 'state')))}"
        f"{text('owner', 'chain_owner', 'chain_owner_hint')}"
        f"{text('repeat', 'chain_repeat', 'chain_repeat_hint')}"
        f"{steps_field}"
        f'<button class="button button-secondary" type="submit" name="do" value="preview">'
        f"{m('chain_preview_button')}</button> "
        f'<button class="button" type="submit" name="do" value="save">{m("chain_save")}</button>'
        f"</form>{preview}"
    )


def render_chains(
    page: Page,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    preview: Safe = Safe(""),  # noqa: B008 (immutable)
    status: int = 200,
) -> Response:
    from chalicelib.domain.access import Verb, may
    from chalicelib.domain.config_kinds import CHAINS
    from chalicelib.services.config_admin import ConfigAdmin
    from chalicelib.services.config_cache import load_teams

    m = page.m
    p = head(page)
    c = container()
    admin = ConfigAdmin(c.config_repo)
    records, _ = admin.list(CHAINS, p, None, 100)
    chains = [(parse_chain(r.data), r.version) for r in records]
    writable = may(p, "escalation_chain", Verb.WRITE)
    groups = []
    for scope in ("team", "state", "default"):
        cards = [_card(m, ch, ver, writable) for ch, ver in chains if ch.scope == scope]
        if scope == "default" and not any(ch.scope == "default" for ch, _ in chains):
            cards.append(_card(m, DEFAULT_CHAIN, None, False))
        listing = "".join(cards) or f'<p class="hint">{m("chain_none")}</p>'
        groups.append(f"<h2>{m('chain_group_' + scope)}</h2>{listing}")
    state = default_state(p, _param(page.request, "state"))
    teams = load_teams(c.config_repo, state) if state else []
    from chalicelib.domain.access import Scope, visible

    teams = [t for t in teams if visible(p, Scope(t.state, t.district, t.id))]
    rows = "".join(
        f"<tr><td>{esc(t.name)}</td><td>{esc(chain_for(t, [ch for ch, _ in chains]).id)}</td></tr>"
        for t in teams[:TEAMS_SHOWN]
    )
    more = m("chain_more_teams", n=len(teams) - TEAMS_SHOWN) if len(teams) > TEAMS_SHOWN else ""
    follows = (
        f"<h2>{m('chain_follows_heading', state=STATES.get(state, state))}</h2>"
        f'<table class="table">{header_row(m, "chain_team", "chain_chain")}'
        f'<tbody>{rows}</tbody></table><p class="hint">{more}</p>'
        if rows
        else ""
    )
    editor = _editor(page, values or {"scope": "state", "owner": p.state}, errors or {}, preview)
    body = Safe(
        f"{error_summary(m, list((errors or {}).items()))}<h1>{m('console_nav_chains')}</h1>"
        f'<p class="lead">{m("chain_intro")}</p>{"".join(groups)}{follows}'
        f"{editor if writable else ''}"
    )
    prefix = str(m("error_title_prefix")) + " " if errors else ""
    return console_html(page, "chains", Safe(prefix + str(m("console_nav_chains"))), body, status)


@console_web.route("/console/chains", methods=["GET"])
@console_view
def chains_page(page: Page) -> Response:
    from chalicelib.domain.config_kinds import CHAINS
    from chalicelib.services.config_admin import ConfigAdmin

    wanted = _param(page.request, "edit")
    if not wanted:
        return render_chains(page)
    record = ConfigAdmin(container().config_repo).get(CHAINS, head(page), wanted)
    data = record.data
    values = {
        "chain_id": str(data["id"]),
        "scope": str(data.get("scope", "state")),
        "owner": str(data.get("owner", "")),
        "repeat": str(data.get("repeat", 0)),
        "steps": steps_text(data),
        "version": str(record.version),
    }
    return render_chains(page, values, preview=_preview_of(page.m, data))


def _preview_of(m: Messages, data: dict[str, Any]) -> Safe:
    chain = parse_chain(data)
    return Safe(f"<h3>{m('chain_timeline_heading')}</h3>{timeline(m, chain)}")


def _errors(err: InvalidInputError) -> dict[str, str]:
    out: dict[str, str] = {}
    for problem in err.problems or ():
        loc = problem.loc.removeprefix("chain.")
        name = {"id": "chain_id", "owner": "owner", "repeat": "repeat", "scope": "scope"}.get(
            loc, "steps" if loc.startswith("steps") else "chain_id"
        )
        out.setdefault(name, f"{problem.loc}: {problem.msg}")
    return out or {"steps": err.detail}


@console_web.route("/console/chains", methods=["POST"], content_types=FORM)
@console_view
def chains_post(page: Page) -> Response:
    from chalicelib.domain.config_kinds import CHAINS
    from chalicelib.services.config_admin import ConfigAdmin, IfMatch

    form = posted_form(page)
    if form is None:
        return csrf_refused(page)
    m = page.m
    data = chain_from_form(form)
    try:
        parse_chain(data)
    except InvalidInputError as err:
        return render_chains(page, form, _errors(err), status=422)
    if form.get("do") != "save":
        return render_chains(page, form, preview=_preview_of(m, data))
    admin = ConfigAdmin(container().config_repo)
    version = form.get("version", "")
    try:
        if version:
            expected: IfMatch = int(version) if version.isdigit() and len(version) < 13 else "*"
            admin.replace(CHAINS, head(page), data["id"], data, expected)
        else:
            admin.create(CHAINS, head(page), data)
    except ConflictError:
        return render_chains(page, form, {"chain_id": m("chain_err_taken")}, status=409)
    except PreconditionFailedError:
        return render_chains(page, form, {"steps": m("chain_err_changed")}, status=412)
    except (ForbiddenError, NotFoundError):
        return render_chains(page, form, {"owner": m("chain_err_scope")}, status=403)
    except InvalidInputError as err:
        return render_chains(page, form, _errors(err), status=422)
    return back_to(f"/console/chains#chain-{quote(data['id'], safe='')}")
