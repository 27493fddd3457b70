"""``/console/queries``: keyword queries, and an editor that checks the syntax as the head
types (``services.query_check``: the saving parser, its error column), previews matches over
recent stored mentions and over pasted posts with the matched words marked
(``services.preview``), lists what each term also matches, and saves through the use case of
``POST``/``PUT /keyword-queries`` with the version read as If-Match.

Without JavaScript the buttons post the form and the same fragments come back in the page;
``console.js`` fetches them (``/console/queries/check`` and ``/preview``) as the head types.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from chalice import Response

from chalicelib.domain.highlight import highlight_segments
from chalicelib.domain.keywords.model import KeywordQuery
from chalicelib.domain.query_variants import VARIANTS
from chalicelib.domain.states import STATES
from chalicelib.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
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
    problems_by_field,
    select,
    text_input,
)
from chalicelib.web.console_scope import states_of
from chalicelib.web.pages import _security_headers
from chalicelib.web.render import Messages, Safe, esc
from chalicelib.wiring import container

FIELDS = {
    "id": "query_id",
    "name": "name",
    "query": "query",
    "category": "category",
    "severity": "severity",
    "scope": "scope",
    "brief.hi": "brief_hi",
    "brief.en": "brief_en",
    "brief": "brief_hi",
    "body": "query",
}
MAX_PASTED = 20  # posts previewed from the paste box
PREVIEW_ITEMS = 20


def may_write(page: Page) -> bool:
    from chalicelib.domain.access import Verb, may

    return may(head(page), "keyword_query", Verb.WRITE)


# --- Fragments: the syntax check and the preview (also served alone to console.js) ----------


def marked(text: str, spans: Any) -> str:
    """``text`` escaped, the matched spans in ``<mark>``."""
    return "".join(
        f"<mark>{esc(piece)}</mark>" if hit else str(esc(piece))
        for piece, hit in highlight_segments(text, [tuple(s) for s in spans])
    )


def _also(m: Messages, t: Any) -> Safe:
    if t.how != VARIANTS:
        return m(f"query_variants_{t.how}")
    parts: list[Safe] = []
    others = [s for s in t.spellings if s != t.spellings[0]]
    if others:
        parts.append(m("query_also_spellings", words=", ".join(others)))
    if t.roman_key:
        example = m("query_example", word=t.example) if t.example else ""
        parts.append(m("query_also_roman", roman=t.roman_key, example=example))
    if t.reaches_devanagari:
        parts.append(m("query_also_devanagari", roman=t.roman_key))
    return Safe("; ".join(parts)) if parts else m("query_variants_short")


def error_span(line: str, column: int) -> tuple[str, str, str]:
    """``line`` split around the word at 1-based ``column``: (before, word, after).

    The word is marked in place rather than pointed at by a caret on the line below: a caret
    padded with spaces drifts under Devanagari, whose vowel signs and nukta take no column of
    their own. A column past the end (a missing ')') marks an empty word at the end.
    """
    start = min(max(column - 1, 0), len(line))
    end = start
    while end < len(line) and not line[end].isspace():
        end += 1
    return line[:start], line[start:end], line[end:]


def check_fragment(m: Messages, query: str, exact: bool, variants: bool, p: Any) -> Safe:
    """The syntax line (the column of an error under the query) and the variants table."""
    from chalicelib.services.query_check import check_query

    result = check_query(p, query, exact, variants)
    if not result.valid:
        col = result.column or 1
        before, at, after = error_span(query.replace("\n", " "), col)
        return Safe(
            f'<div data-valid="false"><p class="syntax syntax-bad" id="query-error">'
            f"{m('query_error_at', column=col, message=result.message)}</p>"
            f'<pre class="pre" aria-hidden="true">{esc(before)}<mark class="caret">'
            f"{esc(at) if at else '&nbsp;'}</mark>{esc(after)}</pre></div>"
        )
    rows = "".join(
        f'<tr><td lang="{"hi" if any("ऀ" <= ch <= "ॿ" for ch in t.term) else "en"}">'
        f"<code>{esc(t.term)}</code></td><td>{esc(_also(m, t))}</td></tr>"
        for t in result.terms
    )
    table = (
        f'<table class="table"><caption>{m("query_variants_caption")}</caption>'
        f"{header_row(m, 'query_term', 'query_also')}<tbody>{rows}</tbody></table>"
    )
    return Safe(
        f'<div data-valid="true"><p class="syntax syntax-ok">{m("query_ok")}</p>{table}</div>'
    )


def pasted_posts(text: str) -> list[str]:
    """Posts pasted into the box: separated by blank lines, at most ``MAX_PASTED``."""
    posts = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n")]
    return [p for p in posts if p][:MAX_PASTED]


def preview_fragment(m: Messages, form: dict[str, str], p: Any) -> Safe:
    """Matches of the draft over recent stored mentions and over the pasted posts."""
    from chalicelib.domain.keywords import compile_queries
    from chalicelib.domain.language.detector import detect
    from chalicelib.services.preview import preview_query

    query = form.get("query", "")
    exact, variants = bool(form.get("exact")), bool(form.get("variants"))
    draft = {"query": query, "exact": exact, "variants": variants, "limit": PREVIEW_ITEMS}
    try:
        found = preview_query(container().mentions, p, draft)
    except InvalidInputError:
        return Safe(f'<p class="hint">{m("query_preview_fix_first")}</p>')
    stored = "".join(
        f'<li class="card"><p class="excerpt" lang="{esc(h["lang"])}">'
        f'{marked(h["text"], h["spans"])}</p><p class="card-meta">{esc(h["key"])}</p></li>'
        for h in found["items"]
    )
    summary = m("query_preview_stored", matched=found["matched"], scanned=found["scanned"])
    out = f"<h3>{m('query_preview_stored_heading')}</h3><p>{summary}</p>"
    out += f'<ul class="cards">{stored}</ul>' if stored else ""
    posts = pasted_posts(form.get("posts", ""))
    if posts:
        matcher = compile_queries([KeywordQuery("draft", query, exact=exact, variants=variants)])
        items = []
        for n, text in enumerate(posts, 1):
            hits = matcher.match(text, lang=detect(text).lang)
            spans = [s for h in hits for s in h.spans]
            verdict = m("query_pasted_match") if hits else m("query_pasted_no_match")
            items.append(
                f'<li class="card"><p class="card-meta">{m("query_pasted_n", n=n)} · '
                f'<strong class="{"good" if hits else "hint"}">{verdict}</strong></p>'
                f'<p class="excerpt">{marked(text, spans)}</p></li>'
            )
        out += (
            f'<h3>{m("query_preview_pasted_heading")}</h3><ul class="cards">{"".join(items)}</ul>'
        )
    return Safe(out)


# --- The list ------------------------------------------------------------------------------


@console_web.route("/console/queries", methods=["GET"])
@console_view
def queries_page(page: Page) -> Response:
    from chalicelib.domain.config_kinds import QUERIES
    from chalicelib.services.config_admin import ConfigAdmin

    m = page.m
    p = head(page)
    records, _ = ConfigAdmin(container().config_repo).list(QUERIES, p, None, 100)
    rows = "".join(
        f'<tr><td><a href="/console/queries/{quote(r.id, safe="")}">'
        f"{esc(r.data.get('name') or r.id)}</a></td>"
        f"<td>{esc(_scope_name(m, str(r.data.get('scope', 'national'))))}</td>"
        f"<td>{esc(r.data.get('category', ''))}</td>"
        f'<td class="num">{esc(r.data.get("severity", 3))}</td>'
        f"<td><code>{esc(r.data.get('query', ''))}</code></td></tr>"
        for r in records
    )
    cols = ("query_name", "query_scope", "query_category", "query_severity:num", "query_text")
    table = (
        f'<table class="table">{header_row(m, *cols)}<tbody>{rows}</tbody></table>'
        if rows
        else f'<p class="hint">{m("query_none")}</p>'
    )
    new = ""
    if may_write(page):
        new = f'<p><a class="button" href="/console/queries/new">{m("query_new")}</a></p>'
    body = Safe(
        f'<h1>{m("console_nav_queries")}</h1><p class="lead">{m("query_intro")}</p>{new}{table}'
    )
    return console_html(page, "queries", m("console_nav_queries"), body)


def _scope_name(m: Messages, scope: str) -> Safe:
    return m("console_scope_national") if scope == "national" else esc(STATES.get(scope, scope))


# --- The editor ----------------------------------------------------------------------------


def _values_of(data: dict[str, Any], version: int) -> dict[str, str]:
    brief = data.get("brief") or {}
    return {
        "query_id": str(data["id"]),
        "name": str(data.get("name", "")),
        "query": str(data.get("query", "")),
        "category": str(data.get("category", "general")),
        "severity": str(data.get("severity", 3)),
        "scope": str(data.get("scope", "national")),
        "variants": "on" if data.get("variants", True) else "",
        "exact": "on" if data.get("exact", False) else "",
        "brief_hi": str(brief.get("hi", "")),
        "brief_en": str(brief.get("en", "")),
        "version": str(version),
    }


def render_editor(
    page: Page,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
    show_results: bool = False,
    notice: str = "",
) -> Response:
    m = page.m
    p = head(page)
    errors = errors or {}
    editing = bool(values.get("version"))
    v = values.get

    def text(name: str, label: str, hint: str = "", **attrs: str) -> Safe:
        err = errors.get(name, "")
        control = text_input(name, v(name, ""), err, bool(hint), **attrs)
        return field(m, name, m(label), control, err, m(hint) if hint else "")

    def area(
        name: str, label: str, rows: int, hint: str = "", cls: str = "input", **attrs: str
    ) -> Safe:
        err = errors.get(name, "")
        extra = "".join(f' {k.replace("_", "-")}="{esc(a)}"' for k, a in attrs.items())
        described = " ".join(
            ([f"{name}-hint"] if hint else []) + ([f"{name}-error"] if err else [])
        )
        control = (
            f'<textarea class="{cls}" id="{name}" name="{name}" rows="{rows}"'
            f"{f' aria-describedby={chr(34)}{described}{chr(34)}' if described else ''}{extra}>"
            f"{esc(v(name, ''))}</textarea>"
        )
        return field(m, name, m(label), control, err, m(hint) if hint else "")

    scopes = [(s, _scope_name(m, s)) for s in ("national", *states_of(p))]
    if p.state:
        scopes = [(s, n) for s, n in scopes if s == p.state or v("scope") == s]
    severities = [(str(n), m("severity_value", n=n)) for n in range(1, 6)]

    def box(name: str, label: str) -> str:
        checked = " checked" if v(name) else ""
        return (
            f'<div class="group"><input type="checkbox" id="{name}" name="{name}"{checked}> '
            f'<label for="{name}">{m(label)}</label></div>'
        )

    ident = (
        f'<input type="hidden" name="query_id" value="{esc(v("query_id", ""))}">'
        f'<input type="hidden" name="version" value="{esc(v("version", ""))}">'
        if editing
        else str(text("query_id", "query_id", "query_id_hint", spellcheck="false"))
    )
    check = preview = Safe("")
    if show_results or v("query"):
        check = check_fragment(m, v("query", ""), bool(v("exact")), bool(v("variants")), p)
    if show_results:
        preview = preview_fragment(m, values, p)
    save = (
        f'<button class="button" type="submit" name="do" value="save">{m("query_save")}</button>'
        if may_write(page)
        else f'<p class="hint">{m("query_read_only")}</p>'
    )
    fields = "".join(
        [
            ident,
            text("name", "query_name"),
            area(
                "query",
                "query_text",
                3,
                "query_text_hint",
                cls="input code",
                spellcheck="false",
                autocomplete="off",
            ),
            '<div id="query-check" class="query-check" role="status" aria-live="polite">'
            f"{check}</div>",
            box("variants", "query_variants_label"),
            box("exact", "query_exact_label"),
            str(field(m, "scope", m("query_scope"), select("scope", scopes, v("scope", "")))),
            text("category", "query_category"),
            str(
                field(
                    m,
                    "severity",
                    m("query_severity"),
                    select("severity", severities, v("severity", "3")),
                )
            ),
            area("brief_hi", "query_brief_hi", 4, lang="hi"),
            area("brief_en", "query_brief_en", 4, lang="en"),
            f"<h2>{m('query_preview_heading')}</h2>",
            area("posts", "query_posts", 5, "query_posts_hint"),
        ]
    )
    heading = (
        m("query_edit_heading", name=v("name") or v("query_id")) if editing else m("query_new")
    )
    form = (
        f'<form method="post" action="/console/queries" novalidate class="action" id="query-form">'
        f"{csrf_field(page)}{fields}"
        f'<button class="button button-secondary" type="submit" name="do" value="preview">'
        f"{m('query_preview_button')}</button> {save}"
        f'<div id="query-preview" aria-live="polite">{preview}</div></form>'
    )
    summary = error_summary(m, list(errors.items()))
    body = Safe(
        f'{summary}<a href="/console/queries" class="back">{m("query_back")}</a>'
        f"<h1>{heading}</h1>"
        + (f'<div class="notice" role="status"><p>{esc(notice)}</p></div>' if notice else "")
        + form
    )
    prefix = str(m("error_title_prefix")) + " " if errors else ""
    return console_html(page, "queries", Safe(prefix + heading), body, status, script=True)


@console_web.route("/console/queries/new", methods=["GET"])
@console_view
def new_query(page: Page) -> Response:
    p = head(page)
    scope = p.state or "national"
    return render_editor(
        page, {"variants": "on", "severity": "3", "scope": scope, "category": "general"}
    )


@console_web.route("/console/queries/{query_id}", methods=["GET"])
@console_view
def edit_query(page: Page, query_id: str) -> Response:
    from chalicelib.domain.config_kinds import QUERIES
    from chalicelib.services.config_admin import ConfigAdmin

    record = ConfigAdmin(container().config_repo).get(QUERIES, head(page), query_id)
    saved = page.m("query_saved") if page.request.query_params else ""
    return render_editor(page, _values_of(record.data, record.version), notice=saved)


def query_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The ``POST /keyword-queries`` body a filled-in editor stands for."""
    severity = form.get("severity", "3")
    brief = {k: form.get(f"brief_{k}", "").strip() for k in ("hi", "en")}
    return {
        "id": form.get("query_id", "").strip(),
        "name": form.get("name", "").strip(),
        "query": form.get("query", "").strip(),
        "category": form.get("category", "").strip() or "general",
        "severity": int(severity) if severity.isdigit() and len(severity) < 3 else severity,
        "scope": form.get("scope", "national"),
        "variants": bool(form.get("variants")),
        "exact": bool(form.get("exact")),
        "brief": {k: t for k, t in brief.items() if t},
    }


@console_web.route("/console/queries", methods=["POST"], content_types=FORM)
@console_view
def save_query(page: Page) -> Response:
    from chalicelib.api import schemas
    from chalicelib.domain.config_kinds import QUERIES
    from chalicelib.services.config_admin import ConfigAdmin, IfMatch

    form = posted_form(page)
    if form is None:
        return csrf_refused(page)
    if form.get("do") != "save":
        return render_editor(page, form, show_results=True)
    m = page.m
    p = head(page)
    admin = ConfigAdmin(container().config_repo)
    version = form.get("version", "")
    try:
        data = schemas.validate(schemas.MODELS["KeywordQuery"], query_from_form(form))
        if version:
            expected: IfMatch = int(version) if version.isdigit() and len(version) < 13 else "*"
            record = admin.replace(QUERIES, p, data["id"], data, expected)
        else:
            record = admin.create(QUERIES, p, data)
    except ConflictError:
        return render_editor(page, form, {"query_id": m("query_err_taken")}, 409)
    except PreconditionFailedError:
        return render_editor(page, form, {"query": m("query_err_changed")}, 412)
    except ForbiddenError:
        return render_editor(page, form, {"scope": m("query_err_scope")}, 403)
    except InvalidInputError as err:
        return render_editor(page, form, problems_by_field(err, FIELDS), 422, True)
    return back_to(f"/console/queries/{quote(record.id, safe='')}?saved=1")


# --- Fragments for console.js ---------------------------------------------------------------


def _fragment(body: Safe, status: int = 200) -> Response:
    return Response(
        body=str(body),
        status_code=status,
        headers=_security_headers(
            {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
        ),
    )


@console_web.route("/console/queries/check", methods=["POST"], content_types=FORM)
@console_view
def check_query_fragment(page: Page) -> Response:
    form = posted_form(page)
    if form is None:
        return _fragment(Safe(""), 403)
    query = form.get("query", "")
    return _fragment(
        check_fragment(
            page.m, query, bool(form.get("exact")), bool(form.get("variants")), head(page)
        )
    )


@console_web.route("/console/queries/preview", methods=["POST"], content_types=FORM)
@console_view
def preview_query_fragment(page: Page) -> Response:
    form = posted_form(page)
    if form is None:
        return _fragment(Safe(""), 403)
    return _fragment(preview_fragment(page.m, form, head(page)))
