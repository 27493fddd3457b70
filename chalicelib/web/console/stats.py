"""``/console/stats``: tasks per day, time to acknowledge and to complete, who responds.

Drawn from the daily rollup only (``services.rollup.stats_series``): no task is read, so a
state of 5,000 teams renders from a few rollup queries (``make bench-pages`` measures it).
Every chart has its numbers in a table beside it.
"""

from __future__ import annotations

from datetime import date

from chalice import Response

from chalicelib.domain.rollup import IST, DayPoint, TeamTotals
from chalicelib.domain.states import STATES
from chalicelib.web import charts
from chalicelib.web.console.shell import (
    Page,
    console_html,
    console_view,
    console_web,
    head,
    header_row,
    select,
)
from chalicelib.web.console_scope import default_state, states_of
from chalicelib.web.pages import _param
from chalicelib.web.render import Messages, Safe, esc
from chalicelib.wiring import container

DAY_CHOICES = ("7", "30", "90")
WORST = 25  # teams listed by name; the rest are counted


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _num(value: float | int | None) -> str:
    if value is None:
        return "–"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _table(m: Messages, caption: Safe, keys: tuple[str, ...], rows: list[list[str]]) -> str:
    def cell(i: int, value: str) -> str:
        return f'<td class="num">{esc(value)}</td>' if i else f"<td>{esc(value)}</td>"

    body = "".join("<tr>" + "".join(cell(i, c) for i, c in enumerate(r)) + "</tr>" for r in rows)
    return (
        f'<details class="chart-data"><summary>{m("stats_show_numbers")}</summary>'
        f'<table class="table"><caption>{caption}</caption>{header_row(m, *keys)}'
        f"<tbody>{body}</tbody></table></details>"
    )


def _figure(chart_id: str, heading: Safe, svg: str, legend: str, table: str) -> str:
    return (
        f'<figure class="figure" aria-labelledby="{chart_id}-h">'
        f'<h2 id="{chart_id}-h">{heading}</h2>{svg}{legend}{table}</figure>'
    )


def _charts(m: Messages, days: list[DayPoint]) -> str:
    labels = [f"{d.day[8:10]}.{d.day[5:7]}" for d in days]
    span = m("stats_span", first=labels[0], last=labels[-1])
    tasks = [float(d.tasks) for d in days]
    done = [float(d.completed) for d in days]
    names = [str(m("stats_tasks")), str(m("stats_completed"))]
    figure1 = _figure(
        "tasks",
        m("stats_tasks_heading"),
        charts.bars(
            "tasks",
            str(m("stats_tasks_heading")),
            str(span),
            labels,
            [(names[0], tasks), (names[1], done)],
        ),
        charts.legend(names),
        _table(
            m,
            m("stats_tasks_heading"),
            (
                "stats_day",
                "stats_tasks:num",
                "stats_acknowledged:num",
                "stats_completed:num",
                "stats_declined:num",
            ),
            [
                [lab, _num(d.tasks), _num(d.acknowledged), _num(d.completed), _num(d.declined)]
                for lab, d in zip(labels, days, strict=True)
            ],
        ),
    )
    out = [figure1]
    for key, p50, p90 in (
        ("ack", [d.ack_p50_s for d in days], [d.ack_p90_s for d in days]),
        ("complete", [d.complete_p50_s for d in days], [d.complete_p90_s for d in days]),
    ):
        heading = m(f"stats_{key}_heading")
        series = [
            (str(m("stats_p50")), [_minutes(v) for v in p50]),
            (str(m("stats_p90")), [_minutes(v) for v in p90]),
        ]
        out.append(
            _figure(
                key,
                heading,
                charts.lines(
                    key, str(heading), str(span), labels, series, " " + str(m("stats_min"))
                ),
                charts.legend([name for name, _ in series]),
                _table(
                    m,
                    heading,
                    ("stats_day", "stats_p50_min:num", "stats_p90_min:num"),
                    [
                        [lab, _num(_minutes(a)), _num(_minutes(b))]
                        for lab, a, b in zip(labels, p50, p90, strict=True)
                    ],
                ),
            )
        )
    return "".join(out)


def _rate(t: TeamTotals) -> int:
    return round(100 * (t.acked + t.declined) / t.tasks) if t.tasks else 0


TEAM_COLUMNS = (
    "teams_id",
    "teams_district",
    "stats_tasks:num",
    "stats_acknowledged:num",
    "stats_completed:num",
    "stats_declined:num",
    "stats_rate:num",
)


def _teams(m: Messages, teams: list[TeamTotals]) -> str:
    silent = sum(t.never_responds for t in teams)
    rows = "".join(
        f"<tr><td><code>{esc(t.team_id)}</code>"
        + (f' <strong class="bad">{m("stats_never")}</strong>' if t.never_responds else "")
        + f'</td><td>{esc(t.district or "–")}</td><td class="num">{t.tasks}</td>'
        f'<td class="num">{t.acked}</td><td class="num">{t.completed}</td>'
        f'<td class="num">{t.declined}</td>'
        f'<td class="num">{_rate(t)} %</td></tr>'
        for t in teams[:WORST]
    )
    table = (
        f'<table class="table"><caption>{m("stats_teams_caption", n=min(WORST, len(teams)))}'
        f"</caption>{header_row(m, *TEAM_COLUMNS)}"
        f"<tbody>{rows}</tbody></table>"
        if teams
        else f'<p class="hint">{m("stats_no_teams")}</p>'
    )
    return (
        f'<section aria-labelledby="who-h"><h2 id="who-h">{m("stats_who_heading")}</h2>'
        f'<p class="lead">{m("stats_silent", silent=silent, n=len(teams))}</p>{table}</section>'
    )


def render_stats(page: Page, today: date | None = None) -> Response:
    from chalicelib.services.rollup import stats_series

    m = page.m
    p = head(page)
    c = container()
    state = default_state(p, _param(page.request, "state"))
    days_text = _param(page.request, "days")
    days = int(days_text) if days_text in DAY_CHOICES else 30
    today = today or c.clock().astimezone(IST).date()
    s = stats_series(c.rollups, p, state, today, days)
    where = STATES.get(state, state) + (f" · {s.district}" if s.district else "")
    states = [(x, STATES[x]) for x in states_of(p)]
    picker = (
        '<form method="get" action="/console/stats" class="action">'
        + (
            f'<label class="label" for="pick-state">{m("console_state")}</label>'
            f"{select('state', states, state, id_='pick-state')} "
            if len(states) > 1
            else f'<input type="hidden" name="state" value="{esc(state)}">'
        )
        + f'<label class="label" for="days">{m("stats_days")}</label>'
        f"{select('days', [(d, str(m('stats_days_n', n=d))) for d in DAY_CHOICES], str(days))} "
        f'<button class="button button-secondary" type="submit">{m("console_show")}</button></form>'
    )
    body = Safe(
        f"<h1>{m('console_nav_stats')}</h1>"
        f'<p class="lead">{m("stats_intro", where=where, n=days)}</p>{picker}'
        f"{_charts(m, s.days)}{_teams(m, s.teams)}"
    )
    return console_html(page, "stats", m("console_nav_stats"), body)


@console_web.route("/console/stats", methods=["GET"])
@console_view
def stats_page(page: Page) -> Response:
    return render_stats(page)
