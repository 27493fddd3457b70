"""The console's frame: its blueprint, layout (navigation, the head's scope), sign-in gate,
form checks and error pages. The pages themselves live in the sibling modules.

Same machinery as the warriors' pages (:mod:`chalicelib.web.pages`): the session cookie, CSRF
token, message catalogue, templates and Content-Security-Policy. The gate admits cell heads
only (:func:`chalicelib.web.console_scope.require_head`); every read and write then goes
through the API's use cases, which check each object's scope again.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from chalice import Blueprint, Response

from chalicelib.domain.access import Principal
from chalicelib.domain.states import STATES
from chalicelib.errors import AuthenticationError, NotFoundError, TvaritError
from chalicelib.observability import logger
from chalicelib.web import assets, session
from chalicelib.web.console_scope import is_head
from chalicelib.web.pages import FORM, Page, html, message_page, redirect, to_login
from chalicelib.web.render import Messages, Safe, esc, render

console_web = Blueprint(__name__)
HOME = "/console"
# A query's briefs in two languages and pasted posts: Devanagari is 9 bytes a letter encoded.
CONSOLE_FORM_BYTES = 256 * 1024

# (key, path): the catalogue names each as console_nav_<key>. Teams, Feed and Stats are built
# in their own modules (branch console-data); their entries stay here so the frame is one.
NAV: tuple[tuple[str, str], ...] = (
    ("watchlist", "/console/watchlist"),
    ("queries", "/console/queries"),
    ("teams", "/console/teams"),
    ("routes", "/console/routes"),
    ("chains", "/console/chains"),
    ("feed", "/console/feed"),
    ("stats", "/console/stats"),
    ("audit", "/console/audit"),
)

__all__ = ["FORM", "HOME", "NAV", "Page", "console_html", "console_view", "console_web"]


def head(page: Page) -> Principal:
    """The signed-in head of a console page (the gate has admitted them)."""
    assert page.principal is not None
    return page.principal


def scope_text(m: Messages, p: Principal) -> Safe:
    """ "Rajasthan · jaipur", "Rajasthan" or "all of India": what this head looks after."""
    if not p.state:
        return m("console_scope_national")
    state = STATES.get(p.state, p.state)
    if p.district:
        return m("console_scope_district", state=state, district=p.district)
    return m("console_scope_state", state=state)


def console_html(
    page: Page, active: str, title: Safe, body: Safe, status: int = 200, script: bool = False
) -> Response:
    """A console page: the frame's navigation (``active`` marked) around ``body``."""
    m = page.m
    current = ' aria-current="page"'
    items = "".join(
        f'<li><a href="{path}"{current if key == active else ""}>{m("console_nav_" + key)}</a></li>'
        for key, path in NAV
    )
    shell = render(
        "console.html",
        m,
        nav=Safe(items),
        scope=scope_text(m, head(page)),
        body=body,
    )
    extra = f'<link rel="stylesheet" href="{assets.url_of("console.css")}">'
    if script:
        extra += f'\n<script src="{assets.url_of("console.js")}" defer></script>'
    return html(page, title, shell, status, extra_head=extra, home=HOME)


def console_message(page: Page, status: int, heading: str, text: str) -> Response:
    return message_page(page, status, heading, text, HOME, "console_back")


def console_view(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Console pages: sign-in first, heads only; our errors become pages, never JSON."""

    @wraps(handler)
    def wrapper(**kwargs: Any) -> Response:
        page = Page(console_web.current_request)
        if page.principal is None:
            return to_login(page)
        if not is_head(page.principal):
            return message_page(
                page, 403, "console_heads_only_heading", "console_heads_only_text", "/t", "to_inbox"
            )
        try:
            return handler(page, **kwargs)
        except NotFoundError:
            return console_message(page, 404, "not_found_heading", "console_not_found_text")
        except AuthenticationError:
            return to_login(page)
        except TvaritError as err:
            from chalicelib.api.problems import STATUS_TABLE

            logger.warning("console page failed", extra={"error": type(err).__name__})
            status = next((s for cls, s, *_ in STATUS_TABLE if isinstance(err, cls)), 500)
            key = "console_forbidden_text" if status == 403 else "failed_text"
            return console_message(page, status, "failed_heading", key)

    return wrapper


def posted_form(page: Page) -> dict[str, str] | None:
    """The form of a POST, or None when its CSRF token is missing or wrong."""
    form = session.form_of(page.request.raw_body, CONSOLE_FORM_BYTES)
    return form if session.csrf_ok(page.token, form, page.headers) else None


def csrf_refused(page: Page) -> Response:
    return message_page(page, 403, "csrf_heading", "csrf_text", HOME, "back")


def back_to(path: str) -> Response:
    """After a successful post: see the result (303, so a reload does not post again)."""
    return redirect(path)


def error_summary(m: Messages, errors: list[tuple[str, Safe | str]]) -> Safe:
    """GOV.UK's summary: each problem links to its field (``field``, text)."""
    if not errors:
        return Safe("")
    items = "".join(f'<li><a href="#{esc(f)}">{esc(text)}</a></li>' for f, text in errors)
    return render("errors.html", m, items=Safe(items))


def field(
    m: Messages,
    name: str,
    label: Safe,
    control: str,
    error: str = "",
    hint: Safe | str = "",
) -> Safe:
    """One labelled form field with its hint and error, GOV.UK-style (the control is built by
    the caller with ``id=name``)."""
    err = (
        f'<p id="{name}-error" class="error-message"><span class="visually-hidden">'
        f"{m('error_prefix')}</span> {esc(error)}</p>"
        if error
        else ""
    )
    hint_html = f'<div id="{name}-hint" class="hint">{esc(hint)}</div>' if hint else ""
    group = "group group-error" if error else "group"
    return Safe(
        f'<div class="{group}"><label class="label" for="{name}">{label}</label>'
        f"{hint_html}{err}{control}</div>"
    )


def described(name: str, error: str = "", hint: bool = False) -> str:
    """The ``aria-describedby`` attribute of a control with a hint and/or an error."""
    ids = ([f"{name}-hint"] if hint else []) + ([f"{name}-error"] if error else [])
    return f' aria-describedby="{" ".join(ids)}"' if ids else ""


def text_input(name: str, value: str, error: str = "", hint: bool = False, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{esc(v)}"' for k, v in attrs.items())
    return (
        f'<input class="input" id="{name}" name="{name}" value="{esc(value)}"'
        f"{described(name, error, hint)}{extra}>"
    )


def select(
    name: str, options: list[tuple[str, str]], chosen: str, error: str = "", id_: str = ""
) -> str:
    opts = "".join(
        f'<option value="{esc(v)}"{" selected" if v == chosen else ""}>{esc(t)}</option>'
        for v, t in options
    )
    ident = id_ or name
    return (
        f'<select class="input" id="{ident}" name="{name}"{described(ident, error)}>{opts}</select>'
    )


def header_row(m: Messages, *keys: str) -> str:
    """A table's header row from catalogue keys (a key ending in ``:num`` is right-aligned)."""
    cells = []
    for key in keys:
        name, _, kind = key.partition(":")
        cls = ' class="num"' if kind == "num" else ""
        cells.append(f'<th scope="col"{cls}>{m(name)}</th>')
    return f"<thead><tr>{''.join(cells)}</tr></thead>"


def state_picker(m: Messages, action: str, states: tuple[str, ...], chosen: str) -> str:
    """A GET form choosing the state a page shows (only when there is a choice)."""
    if len(states) < 2:
        return ""
    options = [(s, STATES[s]) for s in states]
    return (
        f'<form method="get" action="{action}" class="action">'
        f'<label class="label" for="pick-state">{m("console_state")}</label>'
        f"{select('state', options, chosen, id_='pick-state')} "
        f'<button class="button button-secondary" type="submit">{m("console_show")}</button>'
        "</form>"
    )


def csrf_field(page: Page) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(page.csrf)}">'


def problems_by_field(err: Any, fields: dict[str, str]) -> dict[str, str]:
    """An InvalidInputError's problems on the form's fields: the first whose location starts
    with one of ``fields``' keys (a wire location like ``accounts[0].handle``) wins."""
    out: dict[str, str] = {}
    for problem in getattr(err, "problems", ()) or ():
        loc = problem.loc
        name = next((f for prefix, f in fields.items() if loc.startswith(prefix)), "")
        name = name or next(iter(fields.values()))
        out.setdefault(name, f"{problem.msg}" if name != loc else problem.msg)
    if not out:
        out[next(iter(fields.values()))] = str(getattr(err, "detail", ""))
    return out
