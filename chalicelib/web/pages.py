"""The ``web`` blueprint: warriors' task page, inbox, language switch, sign-in, static files.

Pages are server-rendered and work before any script loads: forms post, the server answers
with a redirect (303) or the same page with its errors summarised at the top. Every action
calls the same use case as the JSON API (:mod:`chalicelib.services.task_flow`). The session is
a cookie (:mod:`chalicelib.web.session`), checked here rather than by the API's bearer-token
middleware, which leaves :data:`chalicelib.web.paths.PAGE_ROUTES` alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import wraps
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode

from chalice import Blueprint, Response

from chalicelib.domain.access import (
    CLAIM_DISTRICT,
    CLAIM_ROLE,
    CLAIM_STATE,
    CLAIM_TEAM,
    Principal,
    Role,
    principal_from_claims,
)
from chalicelib.domain.highlight import highlight_segments
from chalicelib.domain.links import task_page_path
from chalicelib.domain.tasks import (
    TERMINAL,
    Task,
    TaskAction,
    TaskEvent,
    TaskStatus,
    task_id_for,
)
from chalicelib.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    TvaritError,
)
from chalicelib.observability import logger
from chalicelib.web import assets, session
from chalicelib.web.render import LANGUAGES, Messages, Safe, esc, render
from chalicelib.wiring import container

if TYPE_CHECKING:
    from chalicelib.domain.org import Team
    from chalicelib.services.task_page import TaskPage

web = Blueprint(__name__)
FORM = ["application/x-www-form-urlencoded"]
IST = timezone(timedelta(hours=5, minutes=30))
_ACTIONS = {"ack": TaskAction.ACK, "done": TaskAction.COMPLETE, "decline": TaskAction.DECLINE}
_ROLE_OF_MEMBER = {
    "lead": Role.TEAM_LEAD,
    "warrior": Role.WARRIOR,
    "district_head": Role.DISTRICT_HEAD,
    "state_head": Role.STATE_HEAD,
}


# --- Request context ------------------------------------------------------------------------


class Page:
    """One page request: who asks (if signed in), in which language, with which cookies."""

    def __init__(self, request: Any) -> None:
        self.request = request
        self.headers = request.headers or {}
        self.cookies = session.cookies(self.headers)
        self.token = self.cookies.get(session.SESSION_COOKIE, "")
        self.principal: Principal | None = None
        self.claims: dict[str, Any] = {}
        if self.token:
            try:
                self.claims = container().token_verifier.verify(self.token)
                self.principal = principal_from_claims(self.claims)
            except AuthenticationError:
                self.principal = None  # expired or forged: sign in again
        self.member_langs: tuple[str, ...] = ()
        self.name = str(self.claims.get("name") or "")

    @property
    def path(self) -> str:
        """This page's own path (to come back to), rebuilt from the route: no stage prefix."""
        ctx = getattr(self.request, "context", {}) or {}
        path = str(ctx.get("resourcePath") or "/t")
        for name, value in (self.request.uri_params or {}).items():
            path = path.replace("{" + name + "}", quote(str(value), safe=""))
        query = self.request.query_params or {}
        if query:
            path += "?" + urlencode(dict(query))
        return path

    @property
    def lang(self) -> str:
        chosen = self.cookies.get(session.LANG_COOKIE, "")
        if chosen in LANGUAGES:
            return chosen
        for lang in self.member_langs:
            if lang in LANGUAGES:
                return lang
        accept = str(self.headers.get("accept-language") or "")
        for part in accept.split(","):
            code = part.split(";")[0].strip().lower()[:2]
            if code in LANGUAGES:
                return code
        return LANGUAGES[0]

    @property
    def m(self) -> Messages:
        return Messages(self.lang)

    @property
    def csrf(self) -> str:
        return session.csrf_token(self.token) if self.token else ""

    @property
    def secure(self) -> bool:
        return secure_cookies()


def _param(request: Any, name: str) -> str:
    params: dict[str, Any] = dict(request.query_params or {})
    return str(params.get(name) or "")


def secure_cookies() -> bool:
    """Secure cookies everywhere but a plain-http local stack (browsers drop them there)."""
    return not container().settings.public_base_url.startswith("http://")


def _security_headers(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    s = container().settings
    form_action = "'self'" + (f" {s.cognito_domain}" if s.cognito_domain else "")
    headers: dict[str, Any] = {
        # No inline script or style anywhere: everything comes from our own /static.
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            "connect-src 'self'; manifest-src 'self'; worker-src 'self'; "
            f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    headers.update(extra or {})
    return headers


def html(
    page: Page,
    title: Safe,
    body: Safe,
    status: int = 200,
    extra_head: str = "",
    home: str = "/t",
    **headers: Any,
) -> Response:
    """A whole page; ``extra_head``: more of our own CSS/JS (the console's), ``home``: where
    the service name links."""
    m = page.m
    other = LANGUAGES[1] if page.lang == LANGUAGES[0] else LANGUAGES[0]
    account = Safe("")
    if page.principal is not None:
        who = page.name.split()[0] if page.name else page.principal.sub
        account = render("account.html", m, who=m("signed_in_as", name=who), csrf=page.csrf)
    nav = render(
        "nav.html",
        m,
        switch_href=f"/lang/{other}?{urlencode({'next': page.path})}",
        switch_lang=other,
        account=account,
    )
    text = render(
        "layout.html",
        m,
        lang=page.lang,
        title=title,
        css=assets.url_of("app.css"),
        js=assets.url_of("app.js"),
        extra_head=Safe(extra_head),
        home=home,
        nav=nav,
        body=body,
    )
    return Response(
        body=text,
        status_code=status,
        headers=_security_headers(
            {
                "Content-Type": "text/html; charset=utf-8",
                "Cache-Control": "no-store",  # personal, and changes with every action
                "Vary": "Cookie",
                **headers,
            }
        ),
    )


def message_page(
    page: Page, status: int, heading: str, text: str, href: str, link: str
) -> Response:
    m = page.m
    body = render("message.html", m, heading=m(heading), text=m(text), href=href, link=m(link))
    return html(page, m(heading), body, status)


def redirect(location: str, *cookies: str) -> Response:
    headers: dict[str, Any] = {"Location": location, "Cache-Control": "no-store"}
    if cookies:
        headers["Set-Cookie"] = list(cookies)
    return Response(body="", status_code=303, headers=_security_headers(headers))


def to_login(page: Page) -> Response:
    return redirect("/auth/login?" + urlencode({"next": page.path}))


def page_view(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Signed-in pages: no session goes to sign-in; errors become pages, never JSON."""

    @wraps(handler)
    def wrapper(**kwargs: Any) -> Response:
        page = Page(web.current_request)
        if page.principal is None:
            return to_login(page)
        try:
            return handler(page, **kwargs)
        except NotFoundError:
            return message_page(page, 404, "not_found_heading", "not_found_text", "/t", "to_inbox")
        except AuthenticationError:
            return to_login(page)
        except TvaritError as err:
            from chalicelib.api.problems import STATUS_TABLE

            logger.warning("page failed", extra={"error": type(err).__name__})
            status = next((s for cls, s, *_ in STATUS_TABLE if isinstance(err, cls)), 500)
            return message_page(page, status, "failed_heading", "failed_text", "/t", "to_inbox")

    return wrapper


# --- Formatting -----------------------------------------------------------------------------


def when(m: Messages, at: datetime | None) -> str:
    if at is None:
        return ""
    local = at.astimezone(IST)
    return str(m("time_format", date=local.strftime("%d.%m.%Y"), time=local.strftime("%H:%M")))


def lang_name(m: Messages, code: str) -> Safe:
    key = f"lang_{code}"
    return m(key) if m.has(key) else esc(code)


def platform_name(m: Messages, key: str) -> Safe:
    platform = key.split("#", 1)[0]
    return m(f"platform_{platform}") if m.has(f"platform_{platform}") else esc(platform)


def first_name(team: Team | None, actor: str) -> str:
    for member in team.members if team else ():
        if member.id == actor:
            return str(member.name.split()[0]) if member.name.strip() else actor
    return actor


def row(m: Messages, key: str, value: Any) -> Safe:
    return render("summary_row.html", m, key=m(key), value=value)


# --- Task page ------------------------------------------------------------------------------


def _post(m: Messages, view: TaskPage) -> Safe:
    mention = view.mention
    task: Task = view.task
    if mention is None or not mention.text:
        return Safe(f'<p class="hint">{m("post_gone")}</p>')
    spans = [span for match in mention.matches for span in match.spans]
    pieces = "".join(
        f"<mark>{esc(text)}</mark>" if hit else str(esc(text))
        for text, hit in highlight_segments(mention.text, spans)
    )
    lang = mention.lang or task.lang
    attr = f' lang="{esc(lang)}"' if lang and lang != "und" else ""
    return Safe(f'<blockquote class="post-text"{attr}>{pieces}</blockquote>')


def _terms(view: TaskPage) -> str:
    mention = view.mention
    terms: list[str] = []
    for match in mention.matches if mention else ():
        terms += [t for t in match.terms if t not in terms]
    return ", ".join(terms)


_URL = re.compile(r"https://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def _linked(text: str) -> Safe:
    """Escaped text whose https links (a brief's "links to facts") can be followed."""
    out, at = [], 0
    for match in _URL.finditer(text):
        url = match.group(0)
        out.append(f"{esc(text[at : match.start()])}")
        out.append(f'<a href="{esc(url)}" rel="noopener noreferrer">{esc(url)}</a>')
        at = match.end()
    out.append(str(esc(text[at:])))
    return Safe("".join(out))


def _brief(m: Messages, lang: str, briefs: dict[str, list[str]]) -> Safe:
    texts = briefs.get(lang) or next((briefs[k] for k in LANGUAGES if briefs.get(k)), None)
    texts = texts or next(iter(briefs.values()), None)
    if not texts:
        return Safe(f'<p class="hint">{m("brief_none")}</p>')
    shown_lang = next(k for k, v in briefs.items() if v is texts)
    paragraphs = "".join(
        f"<p>{_linked(p)}</p>" for text in texts for p in text.split("\n") if p.strip()
    )
    note = "" if shown_lang == lang else f'<p class="hint">{m("brief_other_lang")}</p>'
    return Safe(f'{note}<div class="brief" lang="{esc(shown_lang)}">{paragraphs}</div>')


_EVENT_KEYS = {
    TaskAction.ACK: "progress_ack",
    TaskAction.COMPLETE: "progress_done",
    TaskAction.DECLINE: "progress_decline",
}


def _progress(m: Messages, events: list[TaskEvent], team: Team | None) -> Safe:
    items = []
    for event in events:
        key = _EVENT_KEYS.get(event.action)
        if key is None:
            continue
        text = m(key, name=first_name(team, event.actor), time=when(m, event.at))
        extra = ""
        if event.detail.get("response_url"):
            url = event.detail["response_url"]
            extra = f' <a href="{esc(url)}" rel="noopener noreferrer">{m("progress_link")}</a>'
        elif event.detail.get("reason"):
            extra = f" <q>{esc(event.detail['reason'])}</q>"
        items.append(f"<li>{text}{extra}</li>")
    if not items:
        return Safe(f'<p class="hint">{m("progress_none")}</p>')
    return Safe(f'<ul class="progress">{"".join(items)}</ul>')


def _field_error(m: Messages, field: str, key: str) -> Safe:
    return render("field_error.html", m, id=f"{field}-error", text=m(key))


def _actions(page: Page, task: Task, errors: dict[str, str], values: dict[str, str]) -> Safe:
    m = page.m
    if task.status in TERMINAL:
        return Safe(f'<p class="hint" id="respond">{m("finished_" + task.status.value)}</p>')
    base = task_page_path(task.task_id)
    done_err = errors.get("response_url")
    decline_err = errors.get("reason")
    return render(
        "actions.html",
        m,
        csrf=page.csrf,
        done_action=f"{base}/done",
        done_error_class=" group-error" if done_err else "",
        done_error=_field_error(m, "response_url", done_err) if done_err else Safe(""),
        done_value=values.get("response_url", ""),
        done_describedby="response_url-hint" + (" response_url-error" if done_err else ""),
        decline_open=Safe(" open") if decline_err else Safe(""),
        decline_action=f"{base}/decline",
        decline_error_class=" group-error" if decline_err else "",
        decline_error=_field_error(m, "reason", decline_err) if decline_err else Safe(""),
        decline_value=values.get("reason", ""),
        decline_describedby="reason-error" if decline_err else "",
    )


def _ack(page: Page, task: Task) -> Safe:
    """Acknowledge sits right under the post, above the fold on a phone: the second tap."""
    if task.status in TERMINAL or task.status is TaskStatus.ACKNOWLEDGED:
        return Safe("")
    action = f"{task_page_path(task.task_id)}/ack"
    return render("ack.html", page.m, action=action, csrf=page.csrf)


def _error_summary(m: Messages, errors: dict[str, str]) -> Safe:
    if not errors:
        return Safe("")
    items = "".join(f'<li><a href="#{esc(f)}">{m(k)}</a></li>' for f, k in errors.items())
    return render("errors.html", m, items=Safe(items))


def render_task(
    page: Page,
    task_id: str,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    from chalicelib.services.task_page import member_of, task_page

    c = container()
    assert page.principal is not None
    view = task_page(c.tasks, c.mentions, c.config_repo, page.principal, task_id)
    me = member_of(view.team, page.principal.sub)
    if me is not None:
        page.member_langs = me.languages
        page.name = page.name or me.name
    m = page.m
    task = view.task
    errors = errors or {}
    mention = view.mention
    platform = platform_name(m, task.mention_key)
    summary = [
        row(m, "field_leader", task.leader_name or task.leader_id),
        row(m, "field_platform", platform),
        row(m, "field_posted", when(m, mention.created_at if mention else task.created_at)),
        row(m, "field_post_lang", lang_name(m, (mention.lang if mention else "") or task.lang)),
        row(m, "field_terms", _terms(view) or "–"),
        row(m, "field_severity", m("severity_value", n=task.severity)),
        row(m, "field_priority", f"{task.priority:.1f}"),
        row(m, "field_mentions", m("mentions_value", n=task.mention_count)),
    ]
    url = (mention.url if mention else "") or task.url
    original = (
        Safe(f'<a href="{esc(url)}" rel="noopener noreferrer">{m("open_original")}</a>')
        if url
        else Safe("")
    )
    key = c.settings.web_push_key
    heading = m("task_heading", leader=task.leader_name or task.leader_id, platform=platform)
    body = render(
        "task.html",
        m,
        errors=_error_summary(m, errors),
        caption=m("task_caption", category=task.category or "–"),
        heading=heading,
        status=task.status.value,
        status_text=m("status_" + task.status.value),
        post=_post(m, view),
        original=original,
        ack=_ack(page, task),
        summary=Safe("".join(summary)),
        brief=_brief(m, page.lang, view.briefs),
        progress=_progress(m, view.events, view.team),
        actions=_actions(page, task, errors, values or {}),
        notify=render("notify.html", m, csrf=page.csrf, key=key),
    )
    title = Safe((m("error_title_prefix") + " " if errors else "") + heading)
    return html(page, Safe(title), body, status)


_SHORT_REF = re.compile(r"[0-9a-f]{6,23}")


def _resolve_short_ref(page: Page, ref: str) -> str:
    """``/t/<the first hex digits of a task id>`` (short enough for an SMS): the caller's own
    open task with that prefix, if exactly one; costs one listing of the team's tasks."""
    from chalicelib.services.task_page import inbox

    assert page.principal is not None
    if not page.principal.team or not _SHORT_REF.fullmatch(ref):
        return ""
    found = [t.task_id for t in inbox(container().tasks, page.principal)]
    found = [t for t in found if t.startswith("t_" + ref)]
    return found[0] if len(found) == 1 else ""


@web.route("/t/{task_id}", methods=["GET"])
@page_view
def task_view(page: Page, task_id: str) -> Response:
    if task_id.startswith("t_"):
        return render_task(page, task_id)
    full = _resolve_short_ref(page, task_id)
    if not full:
        raise NotFoundError("no such task")
    return redirect(task_page_path(full))


def _own_task_of_incident(page: Page, incident_key: str) -> str:
    """The caller's own task of an incident (task ids derive from team and incident), or
    :class:`NotFoundError` exactly like a foreign task: the link reveals nothing else."""
    assert page.principal is not None
    team = page.principal.team
    # Chalice hands path parameters over percent-encoded (API Gateway decodes them); incident
    # keys hold no "%", so decoding either is safe.
    task_id = task_id_for(team, unquote(incident_key)) if team else ""
    if not task_id or container().tasks.get(task_id) is None:
        raise NotFoundError("no such task")
    return task_id


@web.route("/i/{incident_key}", methods=["GET"])
@page_view
def incident_view(page: Page, incident_key: str) -> Response:
    """The link every notice of an incident carries: one message serves many teams."""
    return redirect(task_page_path(_own_task_of_incident(page, incident_key)))


@web.route("/i/{incident_key}/ack", methods=["POST"], content_types=FORM)
@page_view
def incident_ack(page: Page, incident_key: str) -> Response:
    """The service worker's one-tap acknowledge posts to ``<notice link>/ack``."""
    return _act(page, _own_task_of_incident(page, incident_key), "ack")


def _act(page: Page, task_id: str, verb: str) -> Response:
    form = session.form_of(page.request.raw_body)
    if not session.csrf_ok(page.token, form, page.headers):
        return message_page(page, 403, "csrf_heading", "csrf_text", task_page_path(task_id), "back")
    assert page.principal is not None
    action = _ACTIONS[verb]
    url, reason = form.get("response_url", "").strip(), form.get("reason", "").strip()
    if action is TaskAction.COMPLETE and not url:
        return render_task(page, task_id, {"response_url": "err_url_missing"}, form, 422)
    if action is TaskAction.DECLINE and not reason:
        return render_task(page, task_id, {"reason": "err_reason_missing"}, form, 422)
    if len(url) > 2048 or len(reason) > 500:
        field = "response_url" if len(url) > 2048 else "reason"
        return render_task(page, task_id, {field: "err_too_long"}, form, 422)
    from chalicelib.services import task_flow

    c = container()
    try:
        task_flow.act_on_task(c.tasks, page.principal, task_id, action, c.clock(), url, reason)
    except InvalidInputError as err:
        field = err.problems[0].loc if err.problems else "response_url"
        return render_task(page, task_id, {field: "err_url_platform"}, form, 422)
    except ConflictError:
        return render_task(page, task_id, {"respond": "err_conflict"}, form, 409)
    if str(page.headers.get(session.SCRIPT_HEADER) or "") == session.SCRIPT_VALUE:
        return Response(body="", status_code=204, headers=_security_headers())
    return redirect(task_page_path(task_id))


@web.route("/t/{task_id}/ack", methods=["POST"], content_types=FORM)
@page_view
def task_ack(page: Page, task_id: str) -> Response:
    return _act(page, task_id, "ack")


@web.route("/t/{task_id}/done", methods=["POST"], content_types=FORM)
@page_view
def task_done(page: Page, task_id: str) -> Response:
    return _act(page, task_id, "done")


@web.route("/t/{task_id}/decline", methods=["POST"], content_types=FORM)
@page_view
def task_decline(page: Page, task_id: str) -> Response:
    return _act(page, task_id, "decline")


# --- Inbox ----------------------------------------------------------------------------------


@web.route("/t", methods=["GET"])
@page_view
def inbox_view(page: Page) -> Response:
    from chalicelib.services.task_page import inbox, member_of, team_of

    c = container()
    assert page.principal is not None
    team = team_of(c.config_repo, page.principal.team) if page.principal.team else None
    me = member_of(team, page.principal.sub)
    if me is not None:
        page.member_langs = me.languages
        page.name = page.name or me.name
    m = page.m
    if not page.principal.team:
        return message_page(page, 403, "no_team_heading", "no_team_text", "/auth/login", "back")
    tasks = inbox(c.tasks, page.principal)
    items = "".join(
        render(
            "inbox_item.html",
            m,
            href=task_page_path(t.task_id),
            title=m(
                "task_heading",
                leader=t.leader_name or t.leader_id,
                platform=platform_name(m, t.mention_key),
            ),
            severity=t.severity,
            severity_text=m("severity_value", n=t.severity),
            status=t.status.value,
            status_text=m("status_" + t.status.value),
            meta=m("inbox_meta", time=when(m, t.created_at), n=t.mention_count),
            post_lang=t.lang if t.lang != "und" else page.lang,
            excerpt=t.excerpt,
        )
        for t in tasks
    )
    intro = m("inbox_intro", team=team.name if team else page.principal.team, n=len(tasks))
    listing = Safe(f'<ul class="cards">{items}</ul>') if tasks else m("inbox_empty")
    body = render("inbox.html", m, intro=intro, items=listing)
    return html(page, m("inbox_heading"), body)


# --- Language -------------------------------------------------------------------------------


@web.route("/lang/{lang}", methods=["GET"])
def switch_language(lang: str) -> Response:
    request = web.current_request
    target = session.safe_next(_param(request, "next"))
    if lang not in LANGUAGES:
        return redirect(target)
    cookie = session.set_cookie(
        session.LANG_COOKIE, lang, secure_cookies(), session.LANG_MAX_AGE, http_only=False
    )
    return redirect(target, cookie)


# --- Sign-in --------------------------------------------------------------------------------


def dev_login_enabled() -> bool:
    """Only on a stack whose token issuer is the local dev issuer, with its key at hand."""
    from chalicelib.adapters.jwt_tokens import DEV_ISSUER

    s = container().settings
    return bool(s.dev_signing_key) and s.jwt_issuer == DEV_ISSUER


def _redirect_uri() -> str:
    from chalicelib.web.oauth import CALLBACK_PATH

    return container().settings.public_base_url + CALLBACK_PATH


@web.route("/auth/login", methods=["GET"])
def login() -> Response:
    from chalicelib.web.oauth import FLOW_MAX_AGE, PendingLogin, authorize_url

    request = web.current_request
    target = session.safe_next(_param(request, "next"))
    if dev_login_enabled():
        return redirect("/dev/login?" + urlencode({"next": target}))
    s = container().settings
    if not (s.cognito_domain and s.jwt_audience and s.public_base_url):
        page = Page(request)
        return message_page(page, 503, "no_login_heading", "no_login_text", "/t", "to_inbox")
    pending = PendingLogin.new(target)
    cookie = session.set_cookie(
        session.OAUTH_COOKIE, pending.cookie_value(), secure_cookies(), FLOW_MAX_AGE, "/auth"
    )
    location = authorize_url(s.cognito_domain, s.jwt_audience, _redirect_uri(), pending)
    return redirect(location, cookie)


def _session_cookie(id_token: str, claims: dict[str, Any]) -> str:
    now = container().clock().timestamp()
    max_age = int(float(claims.get("exp", now)) - now)
    return session.set_cookie(session.SESSION_COOKIE, id_token, secure_cookies(), max_age)


@web.route("/auth/callback", methods=["GET"])
def login_callback() -> Response:
    import hmac

    from chalicelib.web.oauth import PendingLogin

    request = web.current_request
    page = Page(request)
    pending = PendingLogin.from_cookie(page.cookies.get(session.OAUTH_COOKIE, ""))
    state, code = _param(request, "state"), _param(request, "code")
    if pending is None or not code or not hmac.compare_digest(state, pending.state):
        return message_page(page, 400, "login_failed_heading", "login_failed_text", "/t", "retry")
    c = container()
    try:
        tokens = c.login_exchange.exchange(code, pending.verifier, _redirect_uri())
        id_token = str(tokens.get("id_token") or "")
        claims = c.token_verifier.verify(id_token)
        principal_from_claims(claims)
    except TvaritError as err:
        logger.warning("sign-in refused", extra={"error": type(err).__name__})
        return message_page(page, 400, "login_failed_heading", "login_failed_text", "/t", "retry")
    done = session.clear_cookie(session.OAUTH_COOKIE, secure_cookies(), "/auth")
    return redirect(session.safe_next(pending.next_path), _session_cookie(id_token, claims), done)


@web.route("/auth/logout", methods=["POST"], content_types=FORM)
def logout() -> Response:
    from chalicelib.web.oauth import logout_url

    page = Page(web.current_request)
    form = session.form_of(page.request.raw_body)
    if page.token and not session.csrf_ok(page.token, form, page.headers):
        return message_page(page, 403, "csrf_heading", "csrf_text", "/t", "back")
    gone = session.clear_cookie(session.SESSION_COOKIE, secure_cookies())
    s = container().settings
    if s.cognito_domain and not dev_login_enabled():
        return redirect(
            logout_url(s.cognito_domain, s.jwt_audience, s.public_base_url + "/t"), gone
        )
    return redirect("/auth/login", gone)


def _not_found(page: Page) -> Response:
    return message_page(page, 404, "not_found_heading", "not_found_text", "/t", "to_inbox")


def _all_teams() -> list[Any]:
    from chalicelib.domain.org import team_from_dict
    from chalicelib.domain.states import STATE_CODES

    repo = container().config_repo
    return [
        team_from_dict(r.data) for state in STATE_CODES for r in repo.list_items(f"TEAMS#{state}")
    ]


@web.route("/dev/login", methods=["GET"])
def dev_login() -> Response:
    page = Page(web.current_request)
    if not dev_login_enabled():
        return _not_found(page)
    m = page.m
    target = session.safe_next(_param(page.request, "next"))
    blocks = []
    for team in _all_teams():
        people = "".join(
            render(
                "devlogin_person.html",
                m,
                id=member.id,
                next=target,
                name=member.name,
                role=m(f"role_{member.role}") if m.has(f"role_{member.role}") else member.role,
            )
            for member in team.members
        )
        blocks.append(render("devlogin_team.html", m, team=team.name, people=Safe(people)))
    blocks.insert(0, _dev_heads_block(m, target))
    body = render("devlogin.html", m, teams=Safe("".join(blocks)))
    return html(page, m("dev_login_heading"), body)


@web.route("/dev/login", methods=["POST"], content_types=FORM)
def dev_login_as() -> Response:
    from chalicelib.adapters.jwt_tokens import DevIssuer

    page = Page(web.current_request)
    if not dev_login_enabled():
        return _not_found(page)
    form = session.form_of(page.request.raw_body)
    if form.get("head"):
        return _dev_login_head(form)
    for team in _all_teams():
        member = next((x for x in team.members if x.id == form.get("member")), None)
        if member is not None:
            break
    else:
        return _not_found(page)
    c = container()
    role = _ROLE_OF_MEMBER.get(member.role, Role.WARRIOR)
    claims: dict[str, Any] = {"sub": member.id, "name": member.name, CLAIM_ROLE: role.value}
    claims[CLAIM_STATE] = team.state
    if team.district:
        claims[CLAIM_DISTRICT] = team.district
    if role in (Role.TEAM_LEAD, Role.WARRIOR):
        claims[CLAIM_TEAM] = team.id
    from pathlib import Path

    issuer = DevIssuer.load(Path(c.settings.dev_signing_key))
    token = issuer.mint(claims, c.clock(), audience=c.settings.jwt_audience)
    verified = c.token_verifier.verify(token)
    return redirect(session.safe_next(form.get("next")), _session_cookie(token, verified))


def _dev_heads_block(m: Messages, target: str) -> Safe:
    """The demo cell heads (national, state, district), who sign in to the console."""
    from chalicelib.web.console_scope import DEV_HEADS

    people = "".join(
        render(
            "devlogin_head.html",
            m,
            id=h.id,
            next=target,
            name=h.name,
            role=m(f"dev_head_{h.role.value}", state=h.state, district=h.district),
        )
        for h in DEV_HEADS
    )
    return render("devlogin_team.html", m, team=m("dev_login_heads"), people=Safe(people))


def _dev_login_head(form: dict[str, str]) -> Response:
    from pathlib import Path

    from chalicelib.adapters.jwt_tokens import DevIssuer
    from chalicelib.web.console_scope import dev_head

    head = dev_head(form.get("head", ""))
    if head is None:
        return _not_found(Page(web.current_request))
    c = container()
    issuer = DevIssuer.load(Path(c.settings.dev_signing_key))
    token = issuer.mint(head.claims(), c.clock(), audience=c.settings.jwt_audience)
    verified = c.token_verifier.verify(token)
    target = session.safe_next(form.get("next"), "/console")
    return redirect(target if target != "/t" else "/console", _session_cookie(token, verified))


# --- Notifications: device registration from the page ---------------------------------------


@web.route("/web/devices", methods=["POST"], content_types=FORM)
@page_view
def register_web_device(page: Page) -> Response:
    """The page's "turn on notifications": the same use case as ``POST /me/devices``."""
    from chalicelib.services import devices

    form = session.form_of(page.request.raw_body)
    if not session.csrf_ok(page.token, form, page.headers):
        return Response(body="", status_code=403, headers=_security_headers())
    token = form.get("token", "")
    if not 8 <= len(token) <= 4096:
        return Response(body="", status_code=422, headers=_security_headers())
    c = container()
    assert page.principal is not None
    devices.register_device(
        c.config_repo, c.devices, c.settings.state_topic_arn, page.principal, "fcm", token
    )
    return Response(body="", status_code=204, headers=_security_headers())


# --- Static files ---------------------------------------------------------------------------


@web.route("/static/{name}", methods=["GET"])
def static_file(name: str) -> Response:
    asset = assets.assets().get(name)
    if asset is None:
        return Response(body="", status_code=404, headers=_security_headers())
    return Response(
        body=asset.body,
        status_code=200,
        headers=_security_headers(
            {"Content-Type": asset.content_type, "Cache-Control": assets.IMMUTABLE}
        ),
    )


@web.route("/sw.js", methods=["GET"])
def service_worker() -> Response:
    # One stable URL at the root, so its scope covers every page; browsers re-check it.
    return Response(
        body=assets.service_worker(),
        status_code=200,
        headers=_security_headers(
            {
                "Content-Type": "text/javascript; charset=utf-8",
                "Cache-Control": "no-cache",
                "Service-Worker-Allowed": "/",
            }
        ),
    )


@web.route("/manifest.webmanifest", methods=["GET"])
def manifest() -> Response:
    import json

    lang = Page(web.current_request).lang
    m = Messages(lang)
    body = {
        "name": str(m("service")),
        "short_name": str(m("service")),
        "lang": lang,
        "start_url": "/t",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b0c0c",
        "icons": [{"src": assets.url_of("icon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }
    return Response(
        body=json.dumps(body, ensure_ascii=False),
        status_code=200,
        headers=_security_headers(
            {"Content-Type": "application/manifest+json", "Cache-Control": "no-cache"}
        ),
    )


__all__ = ["web"]
