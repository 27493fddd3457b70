"""The stats page's SVG charts: accessible, no inline style, values placed on their scale."""

from __future__ import annotations

import re

import pytest

from chalicelib.web import charts


@pytest.mark.parametrize(
    ("value", "top"),
    [(0, 1), (0.3, 1), (1, 1), (3, 5), (7, 10), (11, 20), (480, 500), (501, 1000)],
)
def test_axis_maxima_are_round(value: float, top: float) -> None:
    assert charts._nice_max(value) == top


def test_bars_are_drawn_to_scale_with_a_title_and_no_style() -> None:
    svg = charts.bars(
        "t", "Tasks <per> day", "01.11 to 03.11", ["01", "02", "03"], [("Tasks", [0, 4, 2])]
    )
    assert svg.startswith('<svg class="chart"') and 'role="img"' in svg
    assert '<title id="t-title">Tasks &lt;per&gt; day</title>' in svg
    assert "style=" not in svg
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([0-9.]+)"', svg)]
    assert len(heights) == 2 and heights[0] == pytest.approx(2 * heights[1], rel=0.01)


def test_lines_break_at_days_without_a_value() -> None:
    svg = charts.lines("a", "Ack", "", ["1", "2", "3", "4"], [("p50", [60.0, None, 30.0, 45.0])])
    assert svg.count("<circle") == 3
    assert svg.count("<polyline") == 1  # days 3-4; day 1 stands alone
