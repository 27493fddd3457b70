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
    form = session.form_of(page.request.raw_body)
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
