"""Small server-rendered SVG charts: no script, no library, drawn from numbers the page has.

Colours and strokes are SVG presentation attributes (the Content-Security-Policy allows no
inline style). Each chart is an ``<svg role="img">`` with a title and a description naming its
range; the page puts the same numbers in a table beside it for screen readers and for anyone
who would rather read them.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 64, 8, 10, 24
PALETTE = ("#1d70b8", "#d4351c", "#00703c", "#6f72af")


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= value:
        step *= 10
    for m in (1, 2, 5, 10):
        if m * step >= value:
            return float(m * step)
    return float(10 * step)  # unreachable


def _frame(
    chart_id: str, title: str, desc: str, top: float, unit: str, labels: Sequence[str]
) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    for i in range(5):  # grid lines with their values
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#b1b4b6" stroke-width="{1 if i == 0 else 0.5}"/>'
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#505a5f">{escape(_short(value))}{escape(unit)}</text>'
        )
    n = len(labels)
    every = max(1, n // 8)
    for i, label in enumerate(labels):
        if i % every == 0 or i == n - 1:
            x = _x(i, n)
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="middle" font-size="11" '
                f'fill="#505a5f">{escape(label)}</text>'
            )
    return parts


def _short(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _x(i: int, n: int) -> float:
    plot_w = WIDTH - LEFT - RIGHT
    return LEFT + plot_w * (i + 0.5) / max(1, n)


def _y(value: float, top: float) -> float:
    plot_h = HEIGHT - TOP - BOTTOM
    return TOP + plot_h - plot_h * (value / top if top else 0)


def bars(
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
) -> str:
    """Grouped bars: one group per label, one bar per series (name, values)."""
    # Counts: at least 0..4, so the grid's five lines fall on whole numbers.
    top = _nice_max(max([4.0, *(v for _, values in series for v in values)]))
    parts = _frame(chart_id, title, desc, top, "", labels)
    n = len(labels)
    plot_w = WIDTH - LEFT - RIGHT
    group = plot_w / max(1, n) * 0.8
    width = group / max(1, len(series))
    for s, (_, values) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        for i, value in enumerate(values):
            if value <= 0:
                continue
            x = _x(i, n) - group / 2 + s * width
            y = _y(value, top)
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width - 1, 1):.1f}" '
                f'height="{HEIGHT - BOTTOM - y:.1f}" fill="{colour}"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def lines(
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    unit: str = "",
) -> str:
    """Lines with a dot per known value; a day without a value breaks the line."""
    known = [v for _, values in series for v in values if v is not None]
    top = _nice_max(max(known, default=0.0))
    parts = _frame(chart_id, title, desc, top, unit, labels)
    n = len(labels)
    for s, (_, values) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        run: list[str] = []
        for i, value in enumerate([*values, None]):
            if value is None:
                if len(run) > 1:
                    dash = "" if s == 0 else ' stroke-dasharray="6 3"'
                    points = " ".join(run)
                    parts.append(
                        f'<polyline points="{points}" fill="none" stroke="{colour}" '
                        f'stroke-width="2"{dash}/>'
                    )
                run = []
                continue
            x, y = _x(i, n), _y(value, top)
            run.append(f"{x:.1f},{y:.1f}")
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>')
    parts.append("</svg>")
    return "".join(parts)


def legend(names: Sequence[str]) -> str:
    """The series' names with their colours (a list, read in order by screen readers)."""
    items = "".join(
        f'<li><svg width="14" height="14" aria-hidden="true"><rect width="14" height="14" '
        f'fill="{PALETTE[i % len(PALETTE)]}"/></svg> {escape(name)}</li>'
        for i, name in enumerate(names)
    )
    return f'<ul class="legend">{items}</ul>'
